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
#include <X11/keysym.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/*
 * A click on the window that does not have the focus, then at once a key:
 * xfwm4 freezes the pointer on that press (a synchronous grab, to focus the
 * window) and lets it through later, while the keyboard is not frozen. The
 * click must still reach the window before the key does, and the key must
 * reach that window, not the one that had the focus before.
 */
static void test_click_then_key(struct evproc *a, struct evproc *b) {
    const int n = 20;
    int in_order = 0;
    struct key_combo k = {XK_x, {0}, 0};
    for (int i = 0; i < n; i++) {
        struct evproc *e = i % 2 ? a : b;
        CHECK(wait_wm_idle(), "xfwm4 still grabs the pointer before click %d", i);
        struct geom g = geometry(e->window);
        CHECK_INT(input_click(in, g.x + g.w / 2, g.y + g.h / 2, 1, false), 0);
        CHECK_INT(input_key(in, &k), 0);
        /* What the clicked window received, in order, up to the key. */
        int press = -1, release = -1, key = -1;
        for (int line = 0; key < 0;) {
            char *l = evproc_line(e, WAIT_MS);
            if (!l)
                break;
            if (strncmp(l, "press ", 6) == 0 && press < 0)
                press = line;
            else if (strncmp(l, "release ", 8) == 0 && release < 0)
                release = line;
            else if (strncmp(l, "key ", 4) == 0)
                key = line;
            if (strncmp(l, "motion", 6) != 0)
                line++;
            free(l);
        }
        bool ok = press >= 0 && press < release && release < key;
        CHECK(ok, "click %d then key: press at %d, release at %d, key at %d in the clicked window",
                i, press, release, key);
        in_order += ok;
    }
    printf("clicks on an unfocused window whose key came after the click: %d/%d\n", in_order, n);
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
        static struct evproc ev2;
        if (evproc_start(&ev2, xs.name, 760, 200, 400, 250, "click me") == 0) {
            for (int waited = 0; geometry(ev2.window).title <= 0 && waited < 10000; waited += 10)
                sleep_ms(10);
            test_click_then_key(&ev, &ev2);
            evproc_stop(&ev2);
        } else {
            CHECK(false, "a second evlog started");
        }
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
