/*
 * x11: the window actions of x11.h: EWMH client messages to the window
 * manager, then a wait on the X events that make the change visible.
 *
 * Not libxdo (see the README): its activate leaks the _NET_SUPPORTED list
 * it reads three times a call, xdo_new leaks a keyboard map, its close is
 * XDestroyWindow (the window taken away under its client, no chance to
 * save), its move and resize are two ConfigureRequests in client coordinates
 * that a window manager ignores for a maximized window, and its minimize is
 * Xlib's XIconifyWindow, which we call ourselves.
 *
 * Not here: opening displays, locks, JSON.
 */
#include <X11/Xatom.h>
#include <X11/Xutil.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "x11.h"
#include "xtrap.h"

/* How long the frame must stay put before a geometry the WM changed counts as its answer. */
#define SETTLE_MS 200

/* _NET_WM_STATE's actions and the source indication of a pager. */
#define STATE_REMOVE 0
#define STATE_ADD    1
#define SOURCE_PAGER 2

static void client_message(
        Display *dpy, Window w, const char *type, long l0, long l1, long l2, long l3, long l4) {
    XEvent e = {0};
    e.xclient.type = ClientMessage;
    e.xclient.window = w;
    e.xclient.message_type = XInternAtom(dpy, type, False);
    e.xclient.format = 32;
    long l[5] = {l0, l1, l2, l3, l4};
    memcpy(e.xclient.data.l, l, sizeof l);
    XSendEvent(dpy, DefaultRootWindow(dpy), False,
            SubstructureRedirectMask | SubstructureNotifyMask, &e);
}

static void set_state(Display *dpy, Window w, long action, const char *a, const char *b) {
    client_message(dpy, w, "_NET_WM_STATE", action, (long)XInternAtom(dpy, a, False),
            b ? (long)XInternAtom(dpy, b, False) : 0, SOURCE_PAGER, 0);
}

/* True when w lists WM_DELETE_WINDOW in WM_PROTOCOLS. */
static bool takes_delete(Display *dpy, Window w, Atom del) {
    Atom *protos = NULL;
    int n = 0;
    bool yes = false;
    if (XGetWMProtocols(dpy, w, &protos, &n)) {
        for (int i = 0; i < n; i++)
            yes = yes || protos[i] == del;
        XFree(protos);
    }
    return yes;
}

static void close_by_delete(Display *dpy, Window w) {
    Atom del = XInternAtom(dpy, "WM_DELETE_WINDOW", False);
    if (!takes_delete(dpy, w, del))
        return;
    XEvent e = {0};
    e.xclient.type = ClientMessage;
    e.xclient.window = w;
    e.xclient.message_type = XInternAtom(dpy, "WM_PROTOCOLS", False);
    e.xclient.format = 32;
    e.xclient.data.l[0] = (long)del;
    e.xclient.data.l[1] = CurrentTime;
    XSendEvent(dpy, w, False, NoEventMask, &e);
}

/* The first item of a CARDINAL property, or -1. */
static long cardinal(Display *dpy, Window w, const char *name) {
    Atom type;
    int format;
    unsigned long n, after;
    unsigned char *data = NULL;
    long v = -1;
    if (XGetWindowProperty(dpy, w, XInternAtom(dpy, name, False), 0, 1, False, XA_CARDINAL, &type,
                &format, &n, &after, &data) == Success &&
            data && n == 1 && format == 32)
        v = *(long *)data;
    if (data)
        XFree(data);
    return v;
}

/* _NET_ACTIVE_WINDOW as a pager, after switching to the window's desktop when it is elsewhere. */
static void activate(Display *dpy, Window w) {
    long desk = cardinal(dpy, w, "_NET_WM_DESKTOP");
    if (desk >= 0 && desk != 0xffffffffL &&
            desk != cardinal(dpy, DefaultRootWindow(dpy), "_NET_CURRENT_DESKTOP"))
        client_message(
                dpy, DefaultRootWindow(dpy), "_NET_CURRENT_DESKTOP", desk, CurrentTime, 0, 0, 0);
    client_message(dpy, w, "_NET_ACTIVE_WINDOW", SOURCE_PAGER, CurrentTime, 0, 0, 0);
}

/* Sends the request; the window is as *now shows it. */
static void request(Display *dpy, Window w, enum x11_action act, const struct x11_rect *geom,
        const struct x11_window *now) {
    switch (act) {
    case X11_ACTIVATE:
        activate(dpy, w);
        break;
    case X11_CLOSE:
        client_message(dpy, w, "_NET_CLOSE_WINDOW", CurrentTime, SOURCE_PAGER, 0, 0, 0);
        break;
    case X11_MINIMIZE:
        XIconifyWindow(dpy, w, DefaultScreen(dpy));
        break;
    case X11_MAXIMIZE:
        set_state(
                dpy, w, STATE_ADD, "_NET_WM_STATE_MAXIMIZED_VERT", "_NET_WM_STATE_MAXIMIZED_HORZ");
        break;
    case X11_RESTORE:
        if (now->states & (X11_STATE(MINIMIZED) | X11_STATE(HIDDEN)))
            activate(dpy, w);
        if (now->states & X11_STATE_MAXIMIZED)
            set_state(dpy, w, STATE_REMOVE, "_NET_WM_STATE_MAXIMIZED_VERT",
                    "_NET_WM_STATE_MAXIMIZED_HORZ");
        if (now->states & X11_STATE(FULLSCREEN))
            set_state(dpy, w, STATE_REMOVE, "_NET_WM_STATE_FULLSCREEN", NULL);
        break;
    case X11_GEOMETRY: {
        /* The client's place in its frame, from where both are now. */
        XWindowAttributes wa;
        int cx = 0, cy = 0;
        Window child;
        if (!XGetWindowAttributes(dpy, w, &wa) ||
                !XTranslateCoordinates(dpy, w, DefaultRootWindow(dpy), 0, 0, &cx, &cy, &child))
            break;
        int left = cx - now->frame.x, top = cy - now->frame.y;
        int cw = geom->width - (now->frame.width - wa.width);
        int ch = geom->height - (now->frame.height - wa.height);
        /* StaticGravity: x, y are where the client itself goes. */
        long flags = StaticGravity | 0xf << 8 | (long)SOURCE_PAGER << 12;
        client_message(dpy, w, "_NET_MOVERESIZE_WINDOW", flags, geom->x + left, geom->y + top,
                cw > 1 ? cw : 1, ch > 1 ? ch : 1);
        break;
    }
    }
    XFlush(dpy);
}

static bool rect_eq(const struct x11_rect *a, const struct x11_rect *b) {
    return a->x == b->x && a->y == b->y && a->width == b->width && a->height == b->height;
}

/* Whether the change act asked for shows in now. */
static bool done(enum x11_action act, const struct x11_rect *geom, const struct x11_window *now) {
    unsigned s = now->states;
    switch (act) {
    case X11_ACTIVATE:
        return now->active;
    case X11_CLOSE:
        return false; /* done when the window is gone */
    case X11_MINIMIZE:
        return s & X11_STATE(MINIMIZED);
    case X11_MAXIMIZE:
        return (s & X11_STATE_MAXIMIZED) == X11_STATE_MAXIMIZED;
    case X11_RESTORE:
        return !(s & (X11_STATE(MINIMIZED) | X11_STATE(HIDDEN) | X11_STATE_MAXIMIZED |
                             X11_STATE(FULLSCREEN)));
    case X11_GEOMETRY:
        return rect_eq(&now->frame, geom);
    }
    return false;
}

/*
 * Waits for events on dpy until deadline; returns 1 when some arrived, 0 at
 * the deadline, -EIO when the connection failed.
 */
static int wait_events(Display *dpy, int64_t deadline) {
    bool any = false;
    while (XPending(dpy)) {
        XEvent ev;
        XNextEvent(dpy, &ev);
        any = true;
    }
    if (any)
        return 1;
    struct pollfd p = {.fd = ConnectionNumber(dpy), .events = POLLIN};
    int rc = poll(&p, 1, (int)util_ms_left(deadline));
    if (rc > 0 && (p.revents & (POLLHUP | POLLERR | POLLNVAL)))
        return -EIO;
    return rc > 0;
}

/* How long a shared connection is held at a time while waiting. */
#define SHARE_MS 100

/*
 * wait_events, on a shared connection for at most SHARE_MS, then handed to
 * the others and taken back: the caller looks at the window again. Events
 * meant for this wait may be read by the others meanwhile; the look after
 * each pause makes up for them. -ENOLINK: dpy is no longer this thread's to
 * use (not locked, or the server was replaced).
 */
static int breathe(Display *dpy, int64_t deadline, const struct x11_share *share) {
    if (!share)
        return wait_events(dpy, deadline);
    int64_t until = util_mono_ms() + SHARE_MS;
    int rc = wait_events(dpy, until < deadline ? until : deadline);
    if (rc < 0)
        return rc;
    share->unlock(share->arg);
    /* Another Display: the server was replaced, and w with it. */
    Display *again = share->lock(share->arg);
    return again == dpy ? rc : -ENOLINK;
}

static void select_events(Display *dpy, Window w, Window frame_of_w, long mask) {
    struct xtrap trap;
    xtrap_begin(&trap, dpy);
    XSelectInput(dpy, DefaultRootWindow(dpy), mask ? PropertyChangeMask : NoEventMask);
    XSelectInput(dpy, w, mask);
    if (frame_of_w != w)
        XSelectInput(dpy, frame_of_w, mask ? StructureNotifyMask : NoEventMask);
    xtrap_end(&trap, true);
}

/* The root's child holding w (the frame), or w. */
static Window frame_window(Display *dpy, Window w) {
    Window root = DefaultRootWindow(dpy), frame = w;
    for (int depth = 0; depth < 16; depth++) {
        Window r, parent = None, *kids = NULL;
        unsigned n;
        if (!XQueryTree(dpy, frame, &r, &parent, &kids, &n))
            break;
        if (kids)
            XFree(kids);
        if (parent == root || parent == None)
            break;
        frame = parent;
    }
    return frame;
}

/* Half the time gone: close asks the client itself, activate asks again. */
static void nudge(Display *dpy, Window w, enum x11_action act) {
    struct xtrap trap;
    xtrap_begin(&trap, dpy);
    if (act == X11_CLOSE)
        close_by_delete(dpy, w);
    else if (act == X11_ACTIVATE)
        activate(dpy, w);
    XFlush(dpy);
    xtrap_end(&trap, true);
}

/*
 * Waits until the change shows. Returns 1 with the window in *out, 0 when it
 * is gone (for close, done), or a negative errno.
 */
static int await(Display *dpy, Window w, enum x11_action act, const struct x11_rect *geom,
        const struct x11_rect *start, int64_t deadline, int timeout_ms,
        const struct x11_share *share, struct x11_window *out) {
    struct x11_rect last = *start;
    int64_t settled_at = 0; /* geometry: when the frame last changed away from where it was */
    int64_t nudge_at = deadline - timeout_ms / 2;
    bool nudged = false;
    for (;;) {
        struct x11_window now;
        int got = x11_window_get(dpy, w, &now);
        if (got == -ENOENT || got == -ENOTDIR)
            return act == X11_CLOSE ? 0 : -ENOENT;
        if (got < 0)
            return got;
        bool ok = done(act, geom, &now);
        if (act == X11_GEOMETRY && !ok && !rect_eq(&now.frame, &last)) {
            last = now.frame;
            settled_at = util_mono_ms();
        }
        /* The window manager put it elsewhere (the screen, its size hints) and left it there. */
        ok = ok || (settled_at && util_mono_ms() - settled_at >= SETTLE_MS);
        if (ok) {
            *out = now;
            return 1;
        }
        x11_windows_free(&now, 1);
        if (!nudged && util_ms_left(nudge_at) == 0) {
            nudged = true;
            nudge(dpy, w, act);
        }
        if (util_ms_left(deadline) == 0)
            return -ETIMEDOUT;
        int64_t until = nudged ? deadline : nudge_at;
        if (settled_at && settled_at + SETTLE_MS < until)
            until = settled_at + SETTLE_MS;
        int ev = breathe(dpy, until, share);
        if (ev < 0)
            return ev;
    }
}

/*
 * Waits until neither w nor its frame had an event for SETTLE_MS / 2 (at
 * most until deadline) and reads w then: a window manager sets a state
 * before it has put the frame where that state wants it.
 */
static int settle(Display *dpy, Window w, int64_t deadline, const struct x11_share *share,
        struct x11_window *out) {
    struct xtrap trap;
    xtrap_begin(&trap, dpy);
    Window frame = frame_window(dpy, w);
    XSelectInput(dpy, w, PropertyChangeMask | StructureNotifyMask);
    if (frame != w)
        XSelectInput(dpy, frame, StructureNotifyMask);
    xtrap_end(&trap, true);
    int rc;
    do {
        int64_t until = util_mono_ms() + SETTLE_MS / 2;
        rc = breathe(dpy, until < deadline ? until : deadline, share);
    } while (rc > 0 && util_ms_left(deadline) > 0);
    if (rc < 0)
        return rc;
    select_events(dpy, w, frame, NoEventMask);
    while (XPending(dpy)) {
        XEvent ev;
        XNextEvent(dpy, &ev);
    }
    return rc < 0 ? rc : x11_window_get(dpy, w, out);
}

int x11_window_act(Display *dpy, Window w, enum x11_action act, const struct x11_rect *geom,
        int timeout_ms, const struct x11_share *share, struct x11_window *out) {
    struct x11_window before;
    int rc = x11_window_get(dpy, w, &before);
    if (rc < 0)
        return rc;
    int64_t deadline = util_mono_ms() + timeout_ms;
    /* A maximized, fullscreen or iconic window is restored first: the window manager keeps
     * the size of those states, and the frame's borders differ in them. */
    if (act == X11_GEOMETRY && !done(X11_RESTORE, NULL, &before)) {
        x11_windows_free(&before, 1);
        if ((rc = x11_window_act(dpy, w, X11_RESTORE, NULL, timeout_ms, share, &before)) < 0)
            return rc;
        x11_windows_free(&before, 1);
        if ((rc = settle(dpy, w, deadline, share, &before)) < 0)
            return rc == -ENOLINK ? -EIO : rc;
    }
    struct xtrap trap;
    xtrap_begin(&trap, dpy);
    Window frame = frame_window(dpy, w);
    xtrap_end(&trap, false);
    select_events(dpy, w, frame, PropertyChangeMask | StructureNotifyMask);
    xtrap_begin(&trap, dpy);
    request(dpy, w, act, geom, &before);
    xtrap_end(&trap, true);
    rc = await(dpy, w, act, geom, &before.frame, deadline, timeout_ms, share, out);
    if (rc == -ENOLINK) {
        x11_windows_free(&before, 1);
        return -EIO;
    }
    select_events(dpy, w, frame, NoEventMask);
    while (XPending(dpy)) {
        XEvent ev;
        XNextEvent(dpy, &ev);
    }
    if (rc == 1 && (act == X11_MAXIMIZE || act == X11_RESTORE) &&
            rect_eq(&out->frame, &before.frame)) {
        /* The window manager may set the state before it gives the frame its new size (seen
         * with xfwm4: a maximize answered with the old width): the answer waits for the frame
         * to settle too. */
        x11_windows_free(out, 1);
        rc = settle(dpy, w, deadline, share, out);
        rc = rc < 0 ? rc : 1;
    }
    if (rc == 0)
        *out = before; /* closed: the window as it was */
    else
        x11_windows_free(&before, 1);
    return rc == -ENOLINK ? -EIO : rc < 0 ? rc : 0;
}

int x11_poll_window(Display *dpy, int (*match)(long pid, void *arg), void *arg, int wait_ms,
        struct x11_window *out) {
    struct x11_window *wins = calloc(X11_WINDOWS_MAX, sizeof *wins);
    if (!wins)
        return -ENOMEM;
    int64_t deadline = util_mono_ms() + wait_ms;
    /* Selected before the windows are listed, so a window mapped after the list wakes the wait;
     * and only for this call: unread events would pile up between waits. */
    struct xtrap trap;
    xtrap_begin(&trap, dpy);
    XSelectInput(dpy, DefaultRootWindow(dpy), PropertyChangeMask);
    xtrap_end(&trap, true);
    int rc = x11_windows(dpy, wins, X11_WINDOWS_MAX);
    if (rc >= 0) {
        int n = rc, found = -1, stop = 0;
        for (int i = 0; i < n && found < 0 && stop >= 0; i++) {
            int m = match(wins[i].pid, arg);
            found = m > 0 ? i : -1;
            stop = m < 0 ? m : 0;
        }
        if (found < 0 && stop == 0)
            stop = match(0, arg) < 0 ? -1 : 0; /* the program may be gone without a window */
        if (found >= 0) {
            *out = wins[found];
            wins[found].title = NULL;
        }
        x11_windows_free(wins, n);
        rc = found >= 0 ? 0 : stop < 0 ? -ESRCH : -EAGAIN;
    }
    if (rc == -EAGAIN && wait_ms > 0) {
        int ev = wait_events(dpy, deadline);
        rc = ev < 0 ? ev : -EAGAIN;
    }
    xtrap_begin(&trap, dpy);
    XSelectInput(dpy, DefaultRootWindow(dpy), NoEventMask);
    xtrap_end(&trap, true);
    while (XPending(dpy)) {
        XEvent ev;
        XNextEvent(dpy, &ev);
    }
    free(wins);
    return rc;
}
