/*
 * xconn: X connections that outlive X servers. Xlib's default reaction to a
 * lost server is exit(); libX11 >= 1.7 lets a per-display exit handler return
 * instead, after which every call on that Display fails fast. We record the
 * death, and the next locker closes the Display and opens a fresh one.
 */
#include "xconn.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"
#include "xtrap.h"

struct xconn {
    pthread_mutex_t lock;
    Display *dpy;
    bool dead;
    char name[64];
    char purpose[32];
    xconn_open_fn open_cb;
    xconn_close_fn close_cb;
    void *data;
};

static int on_io_error(Display *dpy) {
    log_msg(LOG_WARN, "lost the connection to X display %s", DisplayString(dpy));
    return 0;
}

/*
 * Returning (instead of exiting) leaves the Display marked broken, and calls on
 * it return at once. But before calling us, Xlib took the display's user lock
 * (XLockDisplay) so that no other thread would use it while the process exits;
 * as we do not exit, that lock would make the next thread that touches the
 * Display (to free our SHM segments, or XCloseDisplay) wait forever. Undo it.
 */
static void on_io_error_exit(Display *dpy, void *data) {
    struct xconn *xc = data;
    xc->dead = true;
    XUnlockDisplay(dpy);
}

/* Errors of requests no module trapped: worth a line, never worth dying for. */
static void on_untrapped_error(Display *dpy, const XErrorEvent *ev) {
    char text[128];
    XGetErrorText(dpy, ev->error_code, text, sizeof text);
    log_msg(LOG_DEBUG, "X error on %s: %s (request %d.%d)", DisplayString(dpy), text,
            ev->request_code, ev->minor_code);
}

void xconn_global_init(void) {
    XInitThreads();
    XSetIOErrorHandler(on_io_error);
    xtrap_set_hook(on_untrapped_error);
}

struct xconn *xconn_new(const char *display_name, const char *purpose, xconn_open_fn open_cb,
        xconn_close_fn close_cb, void *data) {
    struct xconn *xc = calloc(1, sizeof *xc);
    if (!xc)
        return NULL;
    pthread_mutex_init(&xc->lock, NULL);
    snprintf(xc->name, sizeof xc->name, "%s", display_name);
    snprintf(xc->purpose, sizeof xc->purpose, "%s", purpose);
    xc->open_cb = open_cb;
    xc->close_cb = close_cb;
    xc->data = data;
    return xc;
}

/* Under the lock. */
static void close_display(struct xconn *xc) {
    if (!xc->dpy)
        return;
    if (xc->close_cb)
        xc->close_cb(xc->dpy, xc->data);
    XCloseDisplay(xc->dpy);
    xc->dpy = NULL;
    xc->dead = false;
}

void xconn_destroy(struct xconn *xc) {
    if (!xc)
        return;
    pthread_mutex_lock(&xc->lock);
    close_display(xc);
    pthread_mutex_unlock(&xc->lock);
    pthread_mutex_destroy(&xc->lock);
    free(xc);
}

Display *xconn_lock(struct xconn *xc, char *err, size_t errlen) {
    pthread_mutex_lock(&xc->lock);
    if (xc->dpy && !xc->dead && util_fd_hung_up(ConnectionNumber(xc->dpy))) {
        /* A server that went away between requests: let Xlib notice now (its I/O
         * error path marks the connection dead), so this request reconnects
         * instead of failing on the old connection. */
        XNoOp(xc->dpy);
        XSync(xc->dpy, False);
        xc->dead = true;
    }
    if (xc->dpy && !xc->dead)
        return xc->dpy;
    /* Dead: whoever used its resources held the lock, so none is in use now. */
    close_display(xc);
    Display *dpy = XOpenDisplay(xc->name);
    if (!dpy) {
        pthread_mutex_unlock(&xc->lock);
        if (err)
            snprintf(err, errlen, "the X display %s is not available", xc->name);
        return NULL;
    }
    XSetIOErrorExitHandler(dpy, on_io_error_exit, xc);
    int rc = xc->open_cb ? xc->open_cb(dpy, xc->data) : 0;
    if (rc < 0) {
        XCloseDisplay(dpy);
        pthread_mutex_unlock(&xc->lock);
        if (err)
            snprintf(err, errlen, "cannot set up %s on X display %s: %s", xc->purpose, xc->name,
                    strerror(-rc));
        return NULL;
    }
    xc->dpy = dpy;
    xc->dead = false;
    log_msg(LOG_INFO, "connected to X display %s for %s", xc->name, xc->purpose);
    return dpy;
}

void xconn_unlock(struct xconn *xc) {
    pthread_mutex_unlock(&xc->lock);
}

bool xconn_dead(const struct xconn *xc) {
    return xc->dead;
}
