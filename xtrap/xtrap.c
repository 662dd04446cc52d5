/* xtrap: one process-wide X error handler dispatching to per-thread traps. */
#include "xtrap.h"

#include <pthread.h>

static _Thread_local struct xtrap *current;
static void (*untrapped_hook)(Display *dpy, const XErrorEvent *ev);
static pthread_once_t once = PTHREAD_ONCE_INIT;

static int on_error(Display *dpy, XErrorEvent *ev) {
    for (struct xtrap *t = current; t; t = t->outer) {
        if (t->dpy == dpy && ev->serial >= t->serial) {
            if (!t->error)
                t->error = ev->error_code;
            return 0;
        }
    }
    if (untrapped_hook)
        untrapped_hook(dpy, ev);
    return 0;
}

static void install(void) {
    XSetErrorHandler(on_error);
}

void xtrap_set_hook(void (*hook)(Display *dpy, const XErrorEvent *ev)) {
    untrapped_hook = hook;
    pthread_once(&once, install);
}

void xtrap_begin(struct xtrap *t, Display *dpy) {
    pthread_once(&once, install);
    t->dpy = dpy;
    t->error = 0;
    t->serial = NextRequest(dpy);
    t->outer = current;
    current = t;
}

int xtrap_end(struct xtrap *t, bool sync) {
    if (sync)
        XSync(t->dpy, False);
    current = t->outer;
    return t->error;
}
