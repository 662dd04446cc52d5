/*
 * GET /computeruse/display/windows under a real window manager (xfwm4): the
 * windows of known UTF-8 titles and geometry come back with their real X ids,
 * titles (from _NET_WM_NAME, and from a Latin-1 WM_NAME), frame geometry that
 * contains the client area, the owning pid and the active flag.
 */
#include <X11/Xatom.h>
#include <X11/Xlib.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "deskproc.h"
#include "evproc.h"
#include "http.h"
#include "xserver.h"

static Display *dpy;

static void sleep_ms(int ms) {
    struct timespec ts = {0, (long)ms * 1000000L};
    nanosleep(&ts, NULL);
}

static Window window_prop(Window w, const char *name) {
    Atom type;
    int format;
    unsigned long n, after;
    unsigned char *data = NULL;
    Window v = None;
    if (XGetWindowProperty(dpy, w, XInternAtom(dpy, name, False), 0, 1, False, XA_WINDOW, &type,
                &format, &n, &after, &data) == Success &&
            data && n == 1)
        v = *(Window *)data;
    if (data)
        XFree(data);
    return v;
}

/* Polls a condition every 10 ms for up to ms; the condition is the point, not the time. */
#define WAIT_FOR(cond, ms)                                                                         \
    do {                                                                                           \
        for (int waited_ = 0; !(cond) && waited_ < (ms); waited_ += 10)                            \
            sleep_ms(10);                                                                          \
    } while (0)

static bool managed(Window w) {
    Atom type;
    int format;
    unsigned long n, after;
    unsigned char *data = NULL;
    bool found = false;
    if (XGetWindowProperty(dpy, DefaultRootWindow(dpy), XInternAtom(dpy, "_NET_CLIENT_LIST", False),
                0, 1024, False, XA_WINDOW, &type, &format, &n, &after, &data) == Success &&
            data) {
        for (unsigned long i = 0; i < n; i++)
            found = found || ((Window *)data)[i] == w;
    }
    if (data)
        XFree(data);
    return found;
}

static void activate(Window w) {
    XEvent e = {0};
    e.xclient.type = ClientMessage;
    e.xclient.window = w;
    e.xclient.message_type = XInternAtom(dpy, "_NET_ACTIVE_WINDOW", False);
    e.xclient.format = 32;
    e.xclient.data.l[0] = 2; /* a pager: the request is honoured */
    e.xclient.data.l[1] = CurrentTime;
    XSendEvent(dpy, DefaultRootWindow(dpy), False,
            SubstructureRedirectMask | SubstructureNotifyMask, &e);
    XFlush(dpy);
}

static json_t *find(json_t *windows, Window id) {
    size_t i;
    json_t *w;
    json_array_foreach(windows, i, w) {
        if ((Window)json_integer_value(json_object_get(w, "id")) == id)
            return w;
    }
    return NULL;
}

/* The frame deskd reports must contain the client area as X sees it, and be larger. */
static void check_frame(json_t *w, Window client) {
    XWindowAttributes wa;
    int cx, cy;
    Window child;
    XGetWindowAttributes(dpy, client, &wa);
    XTranslateCoordinates(dpy, client, DefaultRootWindow(dpy), 0, 0, &cx, &cy, &child);
    long fx = (long)json_integer_value(json_object_get(w, "x"));
    long fy = (long)json_integer_value(json_object_get(w, "y"));
    long fw = (long)json_integer_value(json_object_get(w, "width"));
    long fh = (long)json_integer_value(json_object_get(w, "height"));
    CHECK(fx <= cx && fy <= cy && fx + fw >= cx + wa.width && fy + fh >= cy + wa.height &&
                    fh > wa.height,
            "frame %ld,%ld %ldx%ld holds client %d,%d %dx%d with a title bar", fx, fy, fw, fh, cx,
            cy, wa.width, wa.height);
}

int main(void) {
    check_timeout(90);
    check_require_tool("Xvfb");
    check_require_tool("xfwm4");
    struct xserver xs;
    if (xserver_start_xvfb(&xs, 1280, 720) < 0)
        return 1;
    dpy = XOpenDisplay(xs.name);
    Window root = DefaultRootWindow(dpy);

    pid_t wm = fork();
    if (wm == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        setenv("DISPLAY", xs.name, 1);
        execlp("xfwm4", "xfwm4", "--compositor=off", "--sm-client-disable", (char *)NULL);
        _exit(127);
    }
    WAIT_FOR(window_prop(root, "_NET_SUPPORTING_WM_CHECK") != None, 15000);
    CHECK(window_prop(root, "_NET_SUPPORTING_WM_CHECK") != None, "xfwm4 manages the screen");

    struct evproc a, b;
    const char *title_a = "Grüße ✓ 日本語";
    int ra = evproc_start(&a, xs.name, 50, 60, 300, 200, title_a);
    int rb = evproc_start(&b, xs.name, 500, 300, 200, 100, "second window");
    CHECK(ra == 0 && rb == 0, "evlog windows started");

    /* A client that names itself only in Latin-1 WM_NAME. */
    Window c = XCreateSimpleWindow(dpy, root, 700, 50, 150, 80, 0, 0, 0xffffff);
    XStoreName(dpy, c, "Caf\xe9 latin1");
    XMapWindow(dpy, c);
    /* And one whose _NET_WM_NAME is not UTF-8 at all: listed all the same. */
    Window bad = XCreateSimpleWindow(dpy, root, 700, 300, 150, 80, 0, 0, 0xffffff);
    XChangeProperty(dpy, bad, XInternAtom(dpy, "_NET_WM_NAME", False),
            XInternAtom(dpy, "UTF8_STRING", False), 8, PropModeReplace,
            (const unsigned char *)"bad\xff", 4);
    XMapWindow(dpy, bad);
    XSync(dpy, False);
    WAIT_FOR(managed(a.window) && managed(b.window) && managed(c) && managed(bad), 10000);
    /* xfwm4 may still hand the focus to a window mapped just before (it focuses new
     * windows a moment after mapping them): ask again until b stays active. */
    for (int tries = 0; tries < 20; tries++) {
        activate(b.window);
        WAIT_FOR(window_prop(root, "_NET_ACTIVE_WINDOW") == b.window, 1000);
        sleep_ms(100);
        if (window_prop(root, "_NET_ACTIVE_WINDOW") == b.window)
            break;
    }
    CHECK(window_prop(root, "_NET_ACTIVE_WINDOW") == b.window, "second window active");

    struct deskd_proc d;
    int started = deskd_start(&d, xs.name, NULL);
    CHECK(started == 0, "deskd started");
    if (started == 0) {
        char url[256];
        struct http_resp r;
        snprintf(url, sizeof url, "%s/computeruse/display/windows", d.url);
        http_get(url, &r);
        CHECK_INT(r.status, 200);
        json_t *root_json = http_json(&r);
        json_t *list = json_object_get(root_json, "windows");
        CHECK(json_array_size(list) >= 4, "at least our four windows: %s", r.body);
        CHECK_INT(json_integer_value(json_object_get(root_json, "count")), json_array_size(list));

        json_t *wa = find(list, a.window), *wb = find(list, b.window), *wc = find(list, c);
        json_t *wbad = find(list, bad);
        CHECK(wbad != NULL, "a window with a title that is not UTF-8 is listed");
        if (wbad)
            CHECK_STR(json_string_value(json_object_get(wbad, "title")), "bad\xef\xbf\xbd");
        CHECK(wa && wb && wc, "our windows are listed by their X ids: %s", r.body);
        if (wa && wb && wc) {
            CHECK_STR(json_string_value(json_object_get(wa, "title")), title_a);
            CHECK_STR(json_string_value(json_object_get(wb, "title")), "second window");
            CHECK_STR(json_string_value(json_object_get(wc, "title")), "Café latin1");
            CHECK(json_is_false(json_object_get(wa, "isActive")), "first window not active");
            CHECK(json_is_true(json_object_get(wb, "isActive")), "second window active");
            CHECK_INT(json_integer_value(json_object_get(wa, "pid")), a.pid);
            CHECK_INT(json_integer_value(json_object_get(wb, "pid")), b.pid);
            CHECK_INT(json_integer_value(json_object_get(wc, "pid")), getpid());
            check_frame(wa, a.window);
            check_frame(wb, b.window);
        }
        size_t i;
        json_t *w;
        int active = 0;
        json_array_foreach(list, i, w) active += json_is_true(json_object_get(w, "isActive"));
        CHECK_INT(active, 1);
        json_decref(root_json);
        http_resp_free(&r);
        CHECK_INT(deskd_stop(&d), 0);
        if (check_failed)
            deskd_dump_log(&d);
    }
    evproc_stop(&a);
    evproc_stop(&b);
    kill(wm, SIGTERM);
    waitpid(wm, NULL, 0);
    XCloseDisplay(dpy);
    xserver_stop(&xs);
    return check_finish();
}
