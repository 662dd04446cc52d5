/*
 * xtrap: X error traps that are safe with several threads and displays.
 * Xlib's error handler is process-wide and its default exits the process, so
 * one handler is installed once and stays: an error is given to the innermost
 * trap of the calling thread that covers its display and request; any other
 * error goes to the hook set with xtrap_set_hook (deskd logs it) and is ignored.
 * Swapping handlers per call would race between threads.
 */
#ifndef DESK_XTRAP_H
#define DESK_XTRAP_H

#include <X11/Xlib.h>
#include <stdbool.h>

struct xtrap {
    Display *dpy;
    unsigned long serial; /* first request covered */
    int error;            /* first X error code caught, 0 if none */
    struct xtrap *outer;  /* traps nest */
};

/* Called for errors no trap covers; NULL ignores them silently. */
void xtrap_set_hook(void (*hook)(Display *dpy, const XErrorEvent *ev));
/* Covers the requests made on dpy from now until xtrap_end, in this thread. */
void xtrap_begin(struct xtrap *t, Display *dpy);
/*
 * Ends the trap and returns the X error code caught (0: none). sync waits for
 * the server to process the requests first, needed when they have no reply.
 */
int xtrap_end(struct xtrap *t, bool sync);

#endif
