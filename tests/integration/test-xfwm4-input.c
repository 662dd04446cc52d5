/*
 * test-xfwm4-input: xfwm4 as the receiver of struct input, on the test's
 * own Xvfb: 20 drags of a window's title bar move the window by the
 * requested delta, and 20 double clicks on a title bar maximize the window
 * (each followed by one that restores it). What is checked is what a user
 * sees: the window's position and size on the screen.
 *
 * Every wait is a poll of the window's geometry with a timeout.
 */
#define _GNU_SOURCE
#include <X11/Xatom.h>
#include <X11/Xlib.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "evproc.h"
#include "input.h"
#include "stack-util.h"
#include "xserver.h"

#define SCREEN_W 1280
#define SCREEN_H 720
#define WAIT_MS  3000

static Display *dpy;
static struct input *in;

struct geom {
    int x, y, w, h;        /* the client window on the screen */
    int fx, fy, fw, title; /* its frame: origin, width, title bar height */
};

static Window parent_of(Window w) {
    Window root, parent = None, *kids = NULL;
    unsigned n;
    if (XQueryTree(dpy, w, &root, &parent, &kids, &n) && kids)
        XFree(kids);
    return parent;
}

static struct geom geometry(Window client) {
    struct geom g = {0};
    Window root = DefaultRootWindow(dpy), child, frame = client, p;
    XWindowAttributes wa;
    while ((p = parent_of(frame)) != None && p != root)
        frame = p;
    XGetWindowAttributes(dpy, client, &wa);
    XTranslateCoordinates(dpy, client, root, 0, 0, &g.x, &g.y, &child);
    g.w = wa.width;
    g.h = wa.height;
    XGetWindowAttributes(dpy, frame, &wa);
    XTranslateCoordinates(dpy, frame, root, 0, 0, &g.fx, &g.fy, &child);
    g.fw = wa.width;
    g.title = g.y - g.fy;
    return g;
}

static void sleep_ms(int ms) {
    struct timespec ts = {0, ms * 1000000L};
    nanosleep(&ts, NULL);
}

/* Polls until the client is at (x, y), or WAIT_MS pass. */
static bool wait_at(Window w, int x, int y) {
    for (int waited = 0; waited < WAIT_MS; waited += 10) {
        struct geom g = geometry(w);
        if (g.x == x && g.y == y)
            return true;
        sleep_ms(10);
    }
    return false;
}

/* Polls until the client is (maximized) or is not (!maximized) as wide as the screen. */
static bool wait_maximized(Window w, bool maximized) {
    for (int waited = 0; waited < WAIT_MS; waited += 10) {
        struct geom g = geometry(w);
        if ((g.w >= SCREEN_W - 20) == maximized)
            return true;
        sleep_ms(10);
    }
    return false;
}

static bool wm_running(void) {
    Atom type;
    int format;
    unsigned long n, after;
    unsigned char *data = NULL;
    Atom check = XInternAtom(dpy, "_NET_SUPPORTING_WM_CHECK", False);
    bool ok = XGetWindowProperty(dpy, DefaultRootWindow(dpy), check, 0, 1, False, XA_WINDOW, &type,
                      &format, &n, &after, &data) == Success &&
              n == 1;
    if (data)
        XFree(data);
    return ok;
}

/*
 * Waits until xfwm4 holds no pointer grab: it grabs the pointer for a move
 * and while it counts the clicks of a double click, and a user acts again
 * only once the window manager has done with the last action.
 */
static bool wait_wm_idle(void) {
    Window root = DefaultRootWindow(dpy);
    for (int waited = 0; waited < WAIT_MS; waited += 5) {
        int r = XGrabPointer(
                dpy, root, False, 0, GrabModeAsync, GrabModeAsync, None, None, CurrentTime);
        if (r == GrabSuccess) {
            XUngrabPointer(dpy, CurrentTime);
            XSync(dpy, False);
            return true;
        }
        sleep_ms(5);
    }
    return false;
}

/* A point on the title bar, away from the buttons. */
static void title_point(const struct geom *g, int *x, int *y) {
    *x = g->fx + g->fw / 3;
    *y = g->fy + g->title / 2;
}

static void test_title_drags(Window w) {
    const int n = 20;
    int moved = 0;
    for (int i = 0; i < n; i++) {
        CHECK(wait_wm_idle(), "xfwm4 still grabs the pointer before drag %d", i);
        struct geom g = geometry(w);
        int d = i % 2 ? -100 : 100, x, y;
        title_point(&g, &x, &y);
        CHECK_INT(input_drag(in, x, y, x + d, y + d, 1), 0);
        bool ok = wait_at(w, g.x + d, g.y + d);
        struct geom after = geometry(w);
        CHECK(ok, "drag %d by %+d,%+d: window from %d,%d to %d,%d", i, d, d, g.x, g.y, after.x,
                after.y);
        moved += ok;
    }
    printf("title-bar drags that moved the window by the delta: %d/%d\n", moved, n);
}

static void test_title_double_clicks(Window w) {
    const int n = 20;
    int maximized = 0;
    for (int i = 0; i < n; i++) {
        CHECK(wait_wm_idle(), "xfwm4 still grabs the pointer before double click %d", i);
        struct geom g = geometry(w);
        int x, y;
        title_point(&g, &x, &y);
        CHECK_INT(input_click(in, x, y, 1, true), 0);
        bool ok = wait_maximized(w, true);
        CHECK(ok, "double click %d on the title bar did not maximize", i);
        maximized += ok;
        CHECK(wait_wm_idle(), "xfwm4 still grabs the pointer after double click %d", i);
        g = geometry(w);
        title_point(&g, &x, &y);
        CHECK_INT(input_click(in, x, y, 1, true), 0);
        CHECK(wait_maximized(w, false), "double click %d on the title bar did not restore", i);
    }
    printf("title-bar double clicks that maximized: %d/%d\n", maximized, n);
}

/* Starts xfwm4 on the display and waits until it manages the screen; its pid. */
static pid_t start_wm(const char *display) {
    pid_t wm = fork();
    if (wm == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        setenv("DISPLAY", display, 1);
        execlp("xfwm4", "xfwm4", "--compositor=off", "--sm-client-disable", (char *)NULL);
        _exit(127);
    }
    for (int waited = 0; wm > 0 && !wm_running() && waited < 15000; waited += 10)
        sleep_ms(10);
    CHECK(wm > 0 && wm_running(), "xfwm4 manages the screen");
    return wm;
}

int main(void) {
    check_timeout(120);
    check_require_tool("Xvfb");
    check_require_tool("xfwm4");
    struct xserver xs;
    if (xserver_start_xvfb(&xs, SCREEN_W, SCREEN_H) < 0) {
        CHECK(false, "cannot start Xvfb");
        return check_finish();
    }
    dpy = XOpenDisplay(xs.name);
    in = dpy ? input_new(dpy) : NULL;
    CHECK(in != NULL, "input on %s", xs.name);
    pid_t wm = in ? start_wm(xs.name) : -1;
    struct evproc ev;
    if (wm > 0 && evproc_start(&ev, xs.name, 300, 200, 400, 250, "drag me") == 0) {
        /* Managed: reparented into a frame with a title bar. */
        for (int waited = 0; geometry(ev.window).title <= 0 && waited < 10000; waited += 10)
            sleep_ms(10);
        CHECK(geometry(ev.window).title > 0, "the window got a title bar");
        int64_t t = su_ms();
        test_title_drags(ev.window);
        printf("drags: %lld ms\n", (long long)(su_ms() - t));
        t = su_ms();
        test_title_double_clicks(ev.window);
        printf("double clicks: %lld ms\n", (long long)(su_ms() - t));
        check_nothing_held(dpy, "the xfwm4 tests");
        evproc_stop(&ev);
    } else {
        CHECK(false, "xfwm4 and evlog started");
    }
    if (wm > 0) {
        kill(wm, SIGTERM);
        waitpid(wm, NULL, 0);
    }
    input_destroy(in);
    if (dpy)
        XCloseDisplay(dpy);
    xserver_stop(&xs);
    return check_finish();
}
