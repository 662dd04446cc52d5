/*
 * clipc: the tests' own selection client, an X client independent of deskd.
 *
 *   clipc get [primary] [TARGET]  prints the selection's bytes on stdout as
 *                                 converted to TARGET (default UTF8_STRING)
 *                                 and, on stderr, "type NAME incr 0|1"; exit
 *                                 1 when the owner refused, 2 on a timeout
 *   clipc own FILE                owns CLIPBOARD with FILE's bytes (as
 *                                 UTF8_STRING, INCR above 64 KiB), prints
 *                                 "owned" once it owns it, "served N" after
 *                                 each conversion and exits when it loses the
 *                                 selection
 *
 * Waits are X events with a 10 s limit (poll), never sleeps.
 */
#include <X11/Xatom.h>
#include <X11/Xlib.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK   (64 * 1024)
#define WAIT_MS 10000

static Display *dpy;
static Window win;

/* The next event for which want() holds; false after WAIT_MS without one. */
static bool next_event(XEvent *ev, bool (*want)(const XEvent *ev, void *arg), void *arg) {
    for (;;) {
        while (XPending(dpy)) {
            XNextEvent(dpy, ev);
            if (want(ev, arg))
                return true;
        }
        struct pollfd p = {.fd = ConnectionNumber(dpy), .events = POLLIN};
        if (poll(&p, 1, WAIT_MS) <= 0)
            return false;
    }
}

static bool is_notify(const XEvent *ev, void *arg) {
    (void)arg;
    return ev->type == SelectionNotify;
}

static bool is_new_value(const XEvent *ev, void *arg) {
    return ev->type == PropertyNotify && ev->xproperty.atom == *(Atom *)arg &&
           ev->xproperty.state == PropertyNewValue;
}

/* Reads and deletes prop; appends to buf. Returns its type and length. */
static Atom take(Atom prop, unsigned char **buf, size_t *len, size_t *got) {
    Atom type;
    int format;
    unsigned long n, after;
    unsigned char *data = NULL;
    XGetWindowProperty(dpy, win, prop, 0, 0x7fffffff / 4, True, AnyPropertyType, &type, &format, &n,
            &after, &data);
    size_t bytes = format == 32 ? n * sizeof(long) : format == 16 ? n * 2 : n;
    *got = bytes;
    if (data && type != XInternAtom(dpy, "INCR", False)) {
        *buf = realloc(*buf, *len + bytes + 1);
        memcpy(*buf + *len, data, bytes);
        *len += bytes;
    }
    if (data)
        XFree(data);
    return type;
}

static int get(Atom sel, Atom target) {
    Atom prop = XInternAtom(dpy, "CLIPC", False), incr_atom = XInternAtom(dpy, "INCR", False);
    XConvertSelection(dpy, sel, target, prop, win, CurrentTime);
    XEvent ev;
    if (!next_event(&ev, is_notify, NULL))
        return 2;
    if (ev.xselection.property == None)
        return 1;
    unsigned char *buf = NULL;
    size_t len = 0, got;
    Atom type = take(prop, &buf, &len, &got);
    bool incr = type == incr_atom;
    if (incr) {
        for (;;) {
            if (!next_event(&ev, is_new_value, &prop))
                return 2;
            type = take(prop, &buf, &len, &got);
            if (got == 0)
                break;
        }
    }
    fwrite(buf ? buf : (unsigned char *)"", 1, len, stdout);
    char *name = type ? XGetAtomName(dpy, type) : NULL;
    fprintf(stderr, "type %s incr %d\n", name ? name : "None", incr);
    XFree(name);
    free(buf);
    return 0;
}

struct transfer {
    Window requestor;
    Atom prop;
    size_t off;
    bool active;
};

static int own(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return 1;
    unsigned char *data = NULL;
    size_t len = 0, cap = 0, got;
    unsigned char chunk[65536];
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (len + got > cap)
            data = realloc(data, cap = (len + got) * 2);
        memcpy(data + len, chunk, got);
        len += got;
    }
    fclose(f);
    Atom clip = XInternAtom(dpy, "CLIPBOARD", False), utf8 = XInternAtom(dpy, "UTF8_STRING", False);
    Atom targets = XInternAtom(dpy, "TARGETS", False), incr = XInternAtom(dpy, "INCR", False);
    /* A server time for the ownership: a zero-length append's PropertyNotify. */
    Atom stamp = XInternAtom(dpy, "CLIPC_TIME", False);
    XChangeProperty(dpy, win, stamp, XA_STRING, 8, PropModeAppend, (const unsigned char *)"", 0);
    XEvent ev;
    if (!next_event(&ev, is_new_value, &stamp))
        return 2;
    XSetSelectionOwner(dpy, clip, win, ev.xproperty.time);
    if (XGetSelectionOwner(dpy, clip) != win)
        return 1;
    printf("owned\n");
    fflush(stdout);
    struct transfer t = {0};
    int served = 0;
    for (;;) {
        XNextEvent(dpy, &ev);
        if (ev.type == SelectionClear)
            return 0;
        if (ev.type == PropertyNotify && t.active && ev.xproperty.window == t.requestor &&
                ev.xproperty.atom == t.prop && ev.xproperty.state == PropertyDelete) {
            size_t k = len - t.off < CHUNK ? len - t.off : CHUNK;
            XChangeProperty(
                    dpy, t.requestor, t.prop, utf8, 8, PropModeReplace, data + t.off, (int)k);
            t.off += k;
            if (k == 0) {
                t.active = false;
                printf("served %d\n", ++served);
                fflush(stdout);
            }
            XFlush(dpy);
            continue;
        }
        if (ev.type != SelectionRequest)
            continue;
        XSelectionRequestEvent *rq = &ev.xselectionrequest;
        XSelectionEvent n = {.type = SelectionNotify,
                .requestor = rq->requestor,
                .selection = rq->selection,
                .target = rq->target,
                .property = rq->property,
                .time = rq->time};
        if (rq->target == targets) {
            Atom list[] = {targets, utf8};
            XChangeProperty(dpy, rq->requestor, rq->property, XA_ATOM, 32, PropModeReplace,
                    (const unsigned char *)list, 2);
        } else if (rq->target == utf8 && len <= CHUNK) {
            XChangeProperty(
                    dpy, rq->requestor, rq->property, utf8, 8, PropModeReplace, data, (int)len);
            printf("served %d\n", ++served);
            fflush(stdout);
        } else if (rq->target == utf8 && !t.active) {
            XSelectInput(dpy, rq->requestor, PropertyChangeMask);
            long size = (long)len;
            XChangeProperty(dpy, rq->requestor, rq->property, incr, 32, PropModeReplace,
                    (const unsigned char *)&size, 1);
            t = (struct transfer){
                    .requestor = rq->requestor, .prop = rq->property, .off = 0, .active = true};
        } else {
            n.property = None;
        }
        XSendEvent(dpy, rq->requestor, False, NoEventMask, (XEvent *)&n);
        XFlush(dpy);
    }
}

int main(int argc, char **argv) {
    if (argc < 2 || !(dpy = XOpenDisplay(NULL))) {
        fprintf(stderr, "usage: clipc get [primary] [TARGET] | clipc own FILE\n");
        return 64;
    }
    win = XCreateSimpleWindow(dpy, DefaultRootWindow(dpy), 0, 0, 1, 1, 0, 0, 0);
    XSelectInput(dpy, win, PropertyChangeMask);
    if (strcmp(argv[1], "own") == 0 && argc == 3)
        return own(argv[2]);
    if (strcmp(argv[1], "get") == 0) {
        int i = 2;
        Atom sel = XInternAtom(dpy, "CLIPBOARD", False);
        if (i < argc && strcmp(argv[i], "primary") == 0) {
            sel = XA_PRIMARY;
            i++;
        }
        Atom target = XInternAtom(dpy, i < argc ? argv[i] : "UTF8_STRING", False);
        return get(sel, target);
    }
    return 64;
}
