/*
 * evproc (tests): runs the tests' X client evlog (tests/x11/evlog.c) in a
 * window of known geometry and reads the events it reports, line by line.
 * Waits are on evlog's own output (poll with a timeout), never on sleeps.
 */
#ifndef DESK_TEST_EVPROC_H
#define DESK_TEST_EVPROC_H

#include <X11/Xlib.h>
#include <stdbool.h>
#include <sys/types.h>

#define EVPROC_MAX_LINES 4096

struct evproc {
    pid_t pid;
    int fd;
    char buf[1 << 16];
    size_t len;
    unsigned long window; /* from evlog's "ready" line */
    /* Lines gathered by evproc_collect, valid until the next call. */
    char *lines[EVPROC_MAX_LINES];
    int nlines;
};

/*
 * Starts evlog (next to the running test binary) on display with the window
 * at x, y, w x h, focused, and waits for its "ready" line. Returns 0 or -1.
 */
int evproc_start(
        struct evproc *e, const char *display, int x, int y, int w, int h, const char *title);
/* evproc_start with more evlog arguments (NULL-terminated, may be NULL). */
int evproc_start_args(struct evproc *e, const char *display, int x, int y, int w, int h,
        const char *title, const char *const *extra);
void evproc_stop(struct evproc *e);
/* The next line (without '\n'), malloc'd; NULL on timeout or end of output. */
char *evproc_line(struct evproc *e, int timeout_ms);
/*
 * Reads lines until one starts with marker (which is dropped) and keeps the
 * others in e->lines, except key releases ("keyup"). Returns false on timeout.
 */
bool evproc_collect(struct evproc *e, const char *marker, int timeout_ms);
/* The UTF-8 text of the collected key lines, decoded from evlog's hex; malloc'd. */
char *evproc_text(const struct evproc *e);
void evproc_free_lines(struct evproc *e);

/* CHECKs that the server sees no key and no pointer button down. */
void check_nothing_held(Display *dpy, const char *after);

#endif
