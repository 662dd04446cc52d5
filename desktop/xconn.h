/*
 * xconn: one X connection that survives the X server, and the only place in
 * deskd that opens, closes or reconnects a Display. deskd keeps one per
 * owner: each capture slot, the input worker, and the window and monitor
 * queries, so that none waits behind another. A connection is opened on first
 * use, marked dead when Xlib reports an I/O error (the server went away), and
 * re-opened on the next xconn_lock. While the display cannot be opened,
 * xconn_lock returns NULL and routes answer 503.
 *
 * Resources that belong to a connection (SHM segments, input state) are made
 * by the open callback and destroyed by the close callback, both under the
 * lock; whoever uses them holds the lock for as long, so none can dangle.
 */
#ifndef DESK_XCONN_H
#define DESK_XCONN_H

#include <X11/Xlib.h>
#include <stdbool.h>

struct xconn;

/* open returns 0 or a negative errno (then the connection is closed again). */
typedef int (*xconn_open_fn)(Display *dpy, void *data);
typedef void (*xconn_close_fn)(Display *dpy, void *data);

/* Installs Xlib's process-wide handlers; call once before any xconn_new. */
void xconn_global_init(void);

struct xconn *xconn_new(const char *display_name, const char *purpose, xconn_open_fn open_cb,
        xconn_close_fn close_cb, void *data);
/* Closes the connection (waiting for holders) and frees xc. Accepts NULL. */
void xconn_destroy(struct xconn *xc);

/*
 * Locks the connection and returns its Display, opening it if needed.
 * Returns NULL, unlocked, when the display cannot be opened; then err (may be
 * NULL) receives a sentence saying why.
 */
Display *xconn_lock(struct xconn *xc, char *err, size_t errlen);
void xconn_unlock(struct xconn *xc);
/*
 * True when the connection died during the current lock (use under the lock):
 * deskd's one notion of a dead connection. Xlib then drops requests and makes
 * replies zero, so whatever was read during the lock is not to be believed.
 */
bool xconn_dead(const struct xconn *xc);

#endif
