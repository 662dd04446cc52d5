/*
 * xconn: one X connection that survives the X server, and the only place in
 * deskd that opens, closes or reconnects a Display. deskd keeps one per
 * owner: each capture slot, the input worker, and the window and monitor
 * queries, so that none waits behind another. A connection is opened on first
 * use, marked dead when Xlib reports an I/O error (the server went away), and
 * re-opened on the next xconn_lock. While the display cannot be opened,
 * xconn_lock returns NULL and routes answer 503.
 *
 * A server that stops answering (SIGSTOP, a livelock) is found by a watchdog
 * thread: a connection held for XCONN_SUSPECT_MS makes it probe the display,
 * and a probe unanswered for XCONN_PROBE_MS marks the display unresponsive.
 * Then the connections in use are cut (their X calls return as after a lost
 * server, xconn_dead is true) and xconn_lock refuses at once, until a probe is
 * answered again. So no X call waits more than about
 * XCONN_SUSPECT_MS + XCONN_TICK_MS + XCONN_PROBE_MS, and no xconn_lock more
 * than XCONN_WAIT_MS.
 *
 * Resources that belong to a connection (SHM segments, input state) are made
 * by the open callback and destroyed by the close callback, both under the
 * lock; whoever uses them holds the lock for as long, so none can dangle.
 */
#ifndef DESK_XCONN_H
#define DESK_XCONN_H

#include <X11/Xlib.h>
#include <stdbool.h>

/* The watchdog's timing, in milliseconds (see above). */
enum {
    XCONN_TICK_MS = 200,
    XCONN_SUSPECT_MS = 1000,
    XCONN_PROBE_MS = 1500,
    XCONN_WAIT_MS = 3000,
};

struct xconn;

/* open returns 0 or a negative errno (then the connection is closed again). */
typedef int (*xconn_open_fn)(Display *dpy, void *data);
typedef void (*xconn_close_fn)(Display *dpy, void *data);

/* Installs Xlib's process-wide handlers; call once, before any thread and any XOpenDisplay. */
void xconn_global_init(void);

struct xconn *xconn_new(const char *display_name, const char *purpose, xconn_open_fn open_cb,
        xconn_close_fn close_cb, void *data);
/* Closes the connection (waiting for holders) and frees xc. Accepts NULL. */
void xconn_destroy(struct xconn *xc);

/*
 * Locks the connection and returns its Display, opening it if needed.
 * Returns NULL, unlocked, when the display cannot be opened, does not answer,
 * or the lock was not free within XCONN_WAIT_MS; then err (may be NULL)
 * receives a sentence saying why.
 */
Display *xconn_lock(struct xconn *xc, char *err, size_t errlen);
void xconn_unlock(struct xconn *xc);
/*
 * True when the connection died during the current lock (use under the lock):
 * deskd's one notion of a dead connection. Xlib then drops requests and makes
 * replies zero, so whatever was read during the lock is not to be believed.
 */
bool xconn_dead(const struct xconn *xc);
/*
 * True while the watchdog finds the X display display_name (as given to
 * xconn_new) not answering: its server exists but is stopped or hung.
 */
bool xconn_unresponsive(const char *display_name);

#endif
