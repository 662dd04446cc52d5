/*
 * x11: what deskd asks the X server about the desktop, as plain C data:
 * monitors (RandR 1.5, Xinerama, the screen), the window manager's managed
 * windows (EWMH, with XRes for pids), and whether a window manager and its
 * panels are up (the xfce4 readiness probe, over xcb). Knows X; knows nothing of HTTP
 * or JSON, and never opens, closes or reconnects a Display.
 *
 * Threading: nothing here locks. Call with the caller's lock on the Display
 * held, as for capture/ and input/. X errors of windows that vanish while we
 * look are trapped (xtrap) and such windows are left out.
 *
 * Errors: 0 or a count on success; -EIO when the connection failed (the
 * display may be gone: ask the connection's owner); -ENOMEM.
 */
#ifndef DESK_X11_H
#define DESK_X11_H

#include <X11/Xlib.h>
#include <stdbool.h>
#include <xcb/xcb.h>

/* The most monitors and windows reported; more are left out. */
#define X11_MONITORS_MAX 16
#define X11_WINDOWS_MAX  1024
/* The most panels (dock windows) x11_docks reports. */
#define X11_DOCKS_MAX 8

/* A rectangle in root (screen) coordinates, pixels. */
struct x11_rect {
    int x, y, width, height;
};

struct x11_monitor {
    struct x11_rect r;
    bool primary;
};

/*
 * Fills out[0..X11_MONITORS_MAX) and returns how many: RandR 1.5 monitors;
 * Xinerama heads instead when there are more of them (a Xinerama server shows
 * RandR one monitor); else one monitor, the whole screen. The order is the
 * server's, exactly one is primary (RandR's primary, else the first).
 * Returns >= 1, or -EIO.
 */
int x11_monitors(Display *dpy, struct x11_monitor out[X11_MONITORS_MAX]);

struct x11_window {
    Window id;             /* the client window, as listed in _NET_CLIENT_LIST */
    char *title;           /* UTF-8 (invalid bytes become U+FFFD), never NULL; owned, see below */
    struct x11_rect frame; /* the window manager's frame, border included, root coordinates */
    bool active;           /* it is _NET_ACTIVE_WINDOW */
    long pid;              /* _NET_WM_PID, else the X resource extension's client pid, else 0 */
};

/*
 * Fills out[0..max) with the managed windows in _NET_CLIENT_LIST order (none
 * without a window manager) and returns how many; windows that vanish while
 * being read are left out. The titles are malloc'd: free them with
 * x11_windows_free(out, count), also after an error (then count is 0 and
 * nothing is left to free). Returns >= 0, -EIO or -ENOMEM.
 */
int x11_windows(Display *dpy, struct x11_window *out, int max);
/* Frees the titles of out[0..n) and sets them to NULL; out itself is the caller's. */
void x11_windows_free(struct x11_window *out, int n);

/*
 * The window-manager checks speak xcb, not Xlib: the xfce4 readiness probe
 * runs them on a short-lived connection of its own while the X server may be
 * going away, and xcb reports a lost server as an error where Xlib may end the
 * process. An Xlib user passes XGetXCBConnection(dpy), under its lock.
 */

/*
 * True when a window manager runs: _NET_SUPPORTING_WM_CHECK on root names a
 * window whose own _NET_SUPPORTING_WM_CHECK names itself (a stale property
 * left by a dead window manager fails this). Any X failure is false.
 */
bool x11_wm_present(xcb_connection_t *c, xcb_window_t root);

/*
 * Fills out[0..X11_DOCKS_MAX) with the viewable managed windows of type
 * _NET_WM_WINDOW_TYPE_DOCK (panels), in root coordinates and not clipped to
 * the screen, and returns how many (0 when there is no window manager).
 * Returns >= 0, -EIO (the connection failed) or -ENOMEM.
 */
int x11_docks(xcb_connection_t *c, xcb_window_t root, struct x11_rect out[X11_DOCKS_MAX]);

#endif
