/*
 * x11/ on its own, on a bare Xvfb where this test plays the window manager:
 * it sets the EWMH properties a window manager would (check window, client
 * list, active window, window types, pids) and checks what x11_wm_present,
 * x11_docks, x11_windows and x11_monitors make of them, including the cases
 * the HTTP tests cannot stage: a stale check window, an unmapped panel, a
 * title that is not UTF-8, a pid only the X resource extension knows.
 */
#include <X11/Xatom.h>
#include <X11/Xlib-xcb.h>
#include <X11/Xlib.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "x11.h"
#include "xserver.h"

static Display *dpy;
static Window root;

static Atom atom(const char *name) {
    return XInternAtom(dpy, name, False);
}

static void set_windows(Window w, const char *prop, Atom type, const Window *v, int n) {
    XChangeProperty(dpy, w, atom(prop), type, 32, PropModeReplace, (const unsigned char *)v, n);
}

static Window make_window(int x, int y, int w, int h, bool map) {
    Window win = XCreateSimpleWindow(dpy, root, x, y, (unsigned)w, (unsigned)h, 0, 0, 0);
    if (map)
        XMapWindow(dpy, win);
    return win;
}

static void test_no_wm(void) {
    struct x11_rect docks[X11_DOCKS_MAX];
    struct x11_window wins[4];
    CHECK(!x11_wm_present(XGetXCBConnection(dpy), DefaultRootWindow(dpy)),
            "no window manager on a bare Xvfb");
    CHECK_INT(x11_docks(XGetXCBConnection(dpy), DefaultRootWindow(dpy), docks), 0);
    CHECK_INT(x11_windows(dpy, wins, 4), 0);
}

static void test_monitors(void) {
    struct x11_monitor m[X11_MONITORS_MAX];
    int n = x11_monitors(dpy, m);
    CHECK_INT(n, 1);
    if (n == 1)
        CHECK(m[0].primary && m[0].r.x == 0 && m[0].r.y == 0 && m[0].r.width == 1024 &&
                        m[0].r.height == 768,
                "one primary monitor, the screen: %d,%d %dx%d", m[0].r.x, m[0].r.y, m[0].r.width,
                m[0].r.height);
}

static void test_wm_check(void) {
    Window check = make_window(-10, -10, 1, 1, false), other = make_window(-10, -10, 1, 1, false);
    set_windows(root, "_NET_SUPPORTING_WM_CHECK", XA_WINDOW, &check, 1);
    set_windows(check, "_NET_SUPPORTING_WM_CHECK", XA_WINDOW, &other, 1);
    XSync(dpy, False);
    CHECK(!x11_wm_present(XGetXCBConnection(dpy), DefaultRootWindow(dpy)),
            "a check window that names another is stale");
    set_windows(check, "_NET_SUPPORTING_WM_CHECK", XA_WINDOW, &check, 1);
    XSync(dpy, False);
    CHECK(x11_wm_present(XGetXCBConnection(dpy), DefaultRootWindow(dpy)),
            "a check window that names itself is a window manager");
    XDestroyWindow(dpy, check);
    XSync(dpy, False);
    CHECK(!x11_wm_present(XGetXCBConnection(dpy), DefaultRootWindow(dpy)),
            "a check window that is gone is no window manager");
    check = make_window(-10, -10, 1, 1, false);
    set_windows(root, "_NET_SUPPORTING_WM_CHECK", XA_WINDOW, &check, 1);
    set_windows(check, "_NET_SUPPORTING_WM_CHECK", XA_WINDOW, &check, 1);
    XSync(dpy, False);
}

static void check_windows(Window app) {
    struct x11_window w[8];
    int n = x11_windows(dpy, w, 8);
    CHECK_INT(n, 4);
    if (n == 4) {
        CHECK(w[2].id == app && strcmp(w[2].title, "caf\xc3\xa9 \xef\xbf\xbd!") == 0,
                "the UTF-8 title, its bad byte replaced: \"%s\"", w[2].title);
        CHECK(w[2].frame.x == 100 && w[2].frame.y == 120 && w[2].frame.width == 300 &&
                        w[2].frame.height == 200,
                "geometry of an unframed window: %d,%d %dx%d", w[2].frame.x, w[2].frame.y,
                w[2].frame.width, w[2].frame.height);
        CHECK(w[2].active && !w[3].active && !w[0].active, "only the active window is active");
        CHECK(w[2].pid == 4242, "the pid from _NET_WM_PID: %ld", w[2].pid);
        CHECK(strcmp(w[3].title, "caf\xc3\xa9") == 0, "a Latin-1 WM_NAME as UTF-8: \"%s\"",
                w[3].title);
        CHECK(w[3].pid == (long)getpid(), "the pid from the X resource extension: %ld (ours %ld)",
                w[3].pid, (long)getpid());
        CHECK(strcmp(w[1].title, "") == 0, "no title is empty, not NULL");
    }
    x11_windows_free(w, n > 0 ? n : 0);
}

static void check_docks(void) {
    struct x11_rect docks[X11_DOCKS_MAX];
    int nd = x11_docks(XGetXCBConnection(dpy), DefaultRootWindow(dpy), docks);
    CHECK_INT(nd, 1);
    if (nd == 1)
        CHECK(docks[0].x == 0 && docks[0].y == 740 && docks[0].width == 1024 &&
                        docks[0].height == 28,
                "the mapped panel in root coordinates: %d,%d %dx%d", docks[0].x, docks[0].y,
                docks[0].width, docks[0].height);
}

/* A listed window that is gone is left out; the cap is kept. */
static void check_gone(Window bare) {
    struct x11_window w[8];
    XDestroyWindow(dpy, bare);
    XSync(dpy, False);
    int n = x11_windows(dpy, w, 8);
    CHECK_INT(n, 3);
    x11_windows_free(w, n > 0 ? n : 0);
    n = x11_windows(dpy, w, 2);
    CHECK_INT(n, 2);
    x11_windows_free(w, n > 0 ? n : 0);
    CHECK(n < 1 || w[0].title == NULL, "x11_windows_free clears the titles");
}

static void test_docks_and_windows(void) {
    Window panel = make_window(0, 740, 1024, 28, true);
    Window hidden = make_window(0, 0, 1024, 28, false);
    Window app = make_window(100, 120, 300, 200, true);
    Window bare = make_window(500, 300, 50, 40, true);
    Atom dock = atom("_NET_WM_WINDOW_TYPE_DOCK");
    XChangeProperty(dpy, panel, atom("_NET_WM_WINDOW_TYPE"), XA_ATOM, 32, PropModeReplace,
            (unsigned char *)&dock, 1);
    XChangeProperty(dpy, hidden, atom("_NET_WM_WINDOW_TYPE"), XA_ATOM, 32, PropModeReplace,
            (unsigned char *)&dock, 1);
    static const char title[] = "caf\xc3\xa9 \xff!";
    XChangeProperty(dpy, app, atom("_NET_WM_NAME"), atom("UTF8_STRING"), 8, PropModeReplace,
            (const unsigned char *)title, (int)strlen(title));
    long pid = 4242;
    XChangeProperty(dpy, app, atom("_NET_WM_PID"), XA_CARDINAL, 32, PropModeReplace,
            (unsigned char *)&pid, 1);
    XStoreName(dpy, bare, "caf\xe9"); /* WM_NAME in Latin-1 */
    Window list[] = {panel, hidden, app, bare};
    set_windows(root, "_NET_CLIENT_LIST", XA_WINDOW, list, 4);
    set_windows(root, "_NET_ACTIVE_WINDOW", XA_WINDOW, &app, 1);
    XSync(dpy, False);

    check_docks();
    check_windows(app);

    check_gone(bare);
}

int main(void) {
    check_timeout(60);
    check_require_tool("Xvfb");
    struct xserver xs;
    if (xserver_start_xvfb(&xs, 1024, 768) < 0) {
        CHECK(false, "cannot start Xvfb");
        return check_finish();
    }
    dpy = XOpenDisplay(xs.name);
    CHECK(dpy != NULL, "cannot open %s", xs.name);
    if (dpy) {
        root = DefaultRootWindow(dpy);
        test_no_wm();
        test_monitors();
        test_wm_check();
        test_docks_and_windows();
        XCloseDisplay(dpy);
    }
    xserver_stop(&xs);
    return check_finish();
}
