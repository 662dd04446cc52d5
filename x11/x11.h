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

/*
 * EWMH window types (_NET_WM_WINDOW_TYPE_*), by their API names: the first
 * type the window lists that we know; without one, dialog for a transient
 * window and normal otherwise (EWMH's rule).
 */
#define X11_WINDOW_TYPES(X)                                                                        \
    X(NORMAL, "normal")                                                                            \
    X(DIALOG, "dialog")                                                                            \
    X(UTILITY, "utility")                                                                          \
    X(DOCK, "dock")                                                                                \
    X(DESKTOP, "desktop")                                                                          \
    X(SPLASH, "splash")                                                                            \
    X(MENU, "menu")                                                                                \
    X(TOOLBAR, "toolbar")                                                                          \
    X(NOTIFICATION, "notification")                                                                \
    X(DROPDOWN_MENU, "dropdown_menu")                                                              \
    X(POPUP_MENU, "popup_menu")                                                                    \
    X(TOOLTIP, "tooltip")                                                                          \
    X(COMBO, "combo")                                                                              \
    X(DND, "dnd")
#define X11_TYPE_ENUM_(id, name) X11_TYPE_##id,
enum x11_window_type { X11_WINDOW_TYPES(X11_TYPE_ENUM_) X11_TYPES_N };
#undef X11_TYPE_ENUM_
/* The API name of a type ("normal"); the type called name, or -1. */
const char *x11_type_name(enum x11_window_type t);
int x11_type_parse(const char *name);

/*
 * Window states, a bit each: minimized is ICCCM's WM_STATE IconicState, the
 * others are the _NET_WM_STATE_* atoms of the same (lowercase) name. The API
 * reports maximized_vert and maximized_horz together as "maximized".
 */
#define X11_WINDOW_STATES(X)                                                                       \
    X(MINIMIZED, "minimized")                                                                      \
    X(MAXIMIZED_VERT, "maximized_vert")                                                            \
    X(MAXIMIZED_HORZ, "maximized_horz")                                                            \
    X(FULLSCREEN, "fullscreen")                                                                    \
    X(HIDDEN, "hidden")                                                                            \
    X(ABOVE, "above")                                                                              \
    X(BELOW, "below")                                                                              \
    X(STICKY, "sticky")                                                                            \
    X(SHADED, "shaded")                                                                            \
    X(MODAL, "modal")                                                                              \
    X(SKIP_TASKBAR, "skip_taskbar")                                                                \
    X(SKIP_PAGER, "skip_pager")                                                                    \
    X(DEMANDS_ATTENTION, "demands_attention")                                                      \
    X(FOCUSED, "focused")
#define X11_STATE_BIT_(id, name) X11_STATE_BIT_##id,
enum { X11_WINDOW_STATES(X11_STATE_BIT_) X11_STATES_N };
#undef X11_STATE_BIT_
#define X11_STATE(id)       (1u << X11_STATE_BIT_##id)
#define X11_STATE_MAXIMIZED (X11_STATE(MAXIMIZED_VERT) | X11_STATE(MAXIMIZED_HORZ))
/* The name of state bit i (0 <= i < X11_STATES_N). */
const char *x11_state_name(int i);

struct x11_window {
    Window id;             /* the client window, as listed in _NET_CLIENT_LIST */
    char *title;           /* UTF-8 (invalid bytes become U+FFFD), never NULL; owned, see below */
    struct x11_rect frame; /* the window manager's frame, border included, root coordinates */
    bool active;           /* it is _NET_ACTIVE_WINDOW */
    long pid;              /* _NET_WM_PID, else the X resource extension's client pid, else 0 */
    enum x11_window_type type;
    unsigned states; /* X11_STATE() bits */
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
 * Reads the managed window w into *out (free its title with
 * x11_windows_free(out, 1)). Returns 0; -ENOENT when no such window exists;
 * -ENOTDIR when it exists but is not in _NET_CLIENT_LIST (a frame, a child, an
 * unmanaged window); -EIO, -ENOMEM.
 */
int x11_window_get(Display *dpy, Window w, struct x11_window *out);

/* What x11_window_act asks the window manager for. */
enum x11_action { X11_ACTIVATE, X11_CLOSE, X11_MINIMIZE, X11_MAXIMIZE, X11_RESTORE, X11_GEOMETRY };

/*
 * A connection others wait for too: a long wait (x11_window_act) holds it
 * for at most 100 ms at a time, then calls unlock and lock, which gives the
 * Display back, or NULL when the connection is gone (then the wait ends with
 * -EIO and the lock is not held: the caller keeps track).
 */
struct x11_share {
    void (*unlock)(void *arg);
    Display *(*lock)(void *arg);
    void *arg;
};

/*
 * Asks the window manager to act on the managed window w and waits, at most
 * timeout_ms, until the change is visible to any client: activate until it
 * is _NET_ACTIVE_WINDOW; close until it left _NET_CLIENT_LIST; minimize until
 * it is iconic; maximize until both _NET_WM_STATE_MAXIMIZED_* are set;
 * restore until it is neither iconic, hidden, maximized nor fullscreen;
 * geometry until its frame is *geom (frame rectangle, root coordinates), or
 * the window manager moved it elsewhere and made no change for 200 ms (it
 * kept the window on the screen or within its size hints).
 *
 * How: activate with _NET_ACTIVE_WINDOW as a pager (after switching to the
 * window's desktop), sent again after half the time; minimize with ICCCM's
 * WM_CHANGE_STATE; close with _NET_CLOSE_WINDOW and, when the window is still
 * there after half the time, WM_DELETE_WINDOW sent to the client itself;
 * maximize and restore with _NET_WM_STATE (restore also activates an iconic
 * window); geometry with one _NET_MOVERESIZE_WINDOW, after a restore of a
 * maximized, fullscreen or iconic window. Waits on the X events of the change
 * (PropertyNotify, ConfigureNotify), not by polling; selects them on dpy for
 * the wait only. With share (may be NULL), others may use dpy between two
 * looks at the window (at least every 100 ms).
 *
 * Returns 0 with the window as it is then in *out (for close: as it was
 * before; free with x11_windows_free(out, 1)); -ENOENT when w does not
 * exist or vanished (except by close); -ENOTDIR when it is not a managed
 * window; -ETIMEDOUT; -EIO when the connection failed; -ENOMEM.
 */
int x11_window_act(Display *dpy, Window w, enum x11_action act, const struct x11_rect *geom,
        int timeout_ms, const struct x11_share *share, struct x11_window *out);
/*
 * One look for a managed window whose pid match() accepts (match(pid, arg)
 * > 0; < 0: the program is gone): when none is there yet, waits at most
 * wait_ms for a change of the root's properties (_NET_CLIENT_LIST) and
 * returns. A caller waits longer by calling it again, and can let others use
 * the connection in between. Returns 0 with the window in *out (free with
 * x11_windows_free(out, 1)), -EAGAIN (not yet), -ESRCH (match said stop),
 * -EIO or -ENOMEM.
 */
int x11_poll_window(Display *dpy, int (*match)(long pid, void *arg), void *arg, int wait_ms,
        struct x11_window *out);

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
