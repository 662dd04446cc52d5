/*
 * xconn: X connections that outlive X servers, and a watchdog for servers that
 * stop answering.
 *
 * A lost server. Xlib calls the process-wide I/O-error handler and then the
 * display's exit handler, whose default is exit(). libX11 >= 1.7 lets a
 * per-display exit handler return instead; every later call on that Display
 * fails fast, and we record the death so that the next locker closes the
 * Display and opens a fresh one. Two details make that safe:
 *  - Before calling the handlers, _XIOError takes the display's user lock
 *    (XLockDisplay's) and releases the internal display lock, expecting the
 *    process to exit. Its caller, which does not exit, then releases the
 *    internal lock once more. Our exit handler gives the user lock back and
 *    takes the internal lock again, so each unlock meets its lock.
 *  - XOpenDisplay installs the default exit handler itself and already makes
 *    requests (the resource database, XKB), so a server dying then would reach
 *    exit() before we could install ours. The process-wide handler, in place
 *    before any connection, jumps out of XOpenDisplay instead; see
 *    open_display for what becomes of that Display, and for libXext's part.
 *
 * A hung server (stopped, or livelocked) answers nothing, and Xlib waits
 * without a deadline. A watchdog thread probes the display with a connection
 * of its own (the X connection setup, which any live server answers, accepted
 * or not) whenever some connection has been held for a while. When the probe
 * is not answered in time, the display is marked unresponsive: the sockets of
 * the connections in use are shut down, so their waits end with an I/O error
 * (the death path above), and new lockers are refused at once until a probe
 * is answered again.
 */
#include "xconn.h"

#include <X11/Xlibint.h>
#include <X11/extensions/Xge.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

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

    /* Shared with the watchdog, under reg_lock. */
    struct xconn *next;
    int fd;             /* the Display's socket, -1 while none is open */
    int64_t held_since; /* util_mono_ms() when locked, 0 while unlocked */
    bool unresponsive;  /* the last probe of this display went unanswered */
};

/* Every xconn, for the watchdog. Taken for short moments, never while waiting on X. */
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct xconn *reg_head;
static pthread_once_t watchdog_once = PTHREAD_ONCE_INIT;

/* Set while this thread is inside XOpenDisplay (see the top of the file). */
static _Thread_local sigjmp_buf *opening_env;
static _Thread_local Display *opening_broken;

static int on_io_error(Display *dpy) {
    log_msg(LOG_WARN, "lost the connection to X display %s", DisplayString(dpy));
    if (opening_env) {
        opening_broken = dpy;
        XUnlockDisplay(dpy); /* the user lock _XIOError took */
        siglongjmp(*opening_env, 1);
    }
    return 0;
}

static void on_io_error_exit(Display *dpy, void *data) {
    struct xconn *xc = data;
    xc->dead = true;
    XUnlockDisplay(dpy);
    LockDisplay(dpy);
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

/* ---- the probe ---- */

enum probe { PROBE_ANSWERS, PROBE_SILENT, PROBE_ABSENT };

/* Connects to the local socket of display number n: the abstract one, else the file. */
static int connect_display(int n) {
    for (int abstract = 1; abstract >= 0; abstract--) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        int len = snprintf(sa.sun_path + abstract, sizeof sa.sun_path - 1, "/tmp/.X11-unix/X%d", n);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return -errno;
        socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + abstract + len);
        if (connect(fd, (struct sockaddr *)&sa, salen) == 0)
            return fd;
        int e = errno;
        close(fd);
        if (e == EAGAIN)
            return -EAGAIN; /* a full backlog: nobody accepts */
    }
    return -ENOENT;
}

/*
 * Sends the X connection setup to the local server of display name and waits
 * up to timeout_ms for any reply. Displays that are not local are assumed to
 * answer (nothing here can tell).
 */
static enum probe probe_display(const char *name, int timeout_ms) {
    const char *colon = strrchr(name, ':');
    if (!colon || (colon != name && strncmp(name, "unix:", 5) != 0))
        return PROBE_ANSWERS;
    char *end;
    long n = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || n < 0)
        return PROBE_ANSWERS;
    int fd = connect_display((int)n);
    if (fd == -EAGAIN)
        return PROBE_SILENT;
    if (fd < 0)
        return PROBE_ABSENT;
    /* Little-endian, protocol 11.0, no authorization. */
    static const unsigned char setup[12] = {'l', 0, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    enum probe res = PROBE_SILENT;
    if (write(fd, setup, sizeof setup) == (ssize_t)sizeof setup) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, timeout_ms) == 1)
            res = PROBE_ANSWERS; /* a reply, a refusal or a hang-up: someone is there */
    } else if (errno != EAGAIN) {
        res = PROBE_ABSENT;
    }
    close(fd);
    return res;
}

/* ---- the watchdog ---- */

/* Marks every connection to name (un)responsive; ends the waits of those in use. */
static void mark_display(const char *name, bool unresponsive) {
    int was = 0, cut = 0;
    pthread_mutex_lock(&reg_lock);
    for (struct xconn *xc = reg_head; xc; xc = xc->next) {
        if (strcmp(xc->name, name) != 0)
            continue;
        was += xc->unresponsive;
        xc->unresponsive = unresponsive;
        /* Under reg_lock the fd cannot be closed (close_display clears it first). */
        if (unresponsive && xc->held_since && xc->fd >= 0 && shutdown(xc->fd, SHUT_RDWR) == 0)
            cut++;
    }
    pthread_mutex_unlock(&reg_lock);
    if (unresponsive && !was)
        log_msg(LOG_WARN, "X display %s does not answer; cut %d connection(s) in use", name, cut);
    else if (!unresponsive && was)
        log_msg(LOG_INFO, "X display %s answers again", name);
}

static void *watchdog(void *arg) {
    (void)arg;
    int64_t last_probe = 0;
    for (;;) {
        struct timespec tick = {0, XCONN_TICK_MS * 1000000L};
        nanosleep(&tick, NULL);
        int64_t now = util_mono_ms();
        if (now - last_probe < XCONN_SUSPECT_MS)
            continue;
        /* The displays worth a probe: one held a while, or one found unresponsive. */
        char names[8][64];
        int n = 0;
        pthread_mutex_lock(&reg_lock);
        for (struct xconn *xc = reg_head; xc && n < 8; xc = xc->next) {
            bool suspect = xc->unresponsive ||
                           (xc->held_since && now - xc->held_since >= XCONN_SUSPECT_MS);
            bool listed = false;
            for (int i = 0; i < n; i++)
                listed |= strcmp(names[i], xc->name) == 0;
            if (suspect && !listed)
                snprintf(names[n++], sizeof names[0], "%s", xc->name);
        }
        pthread_mutex_unlock(&reg_lock);
        if (n)
            last_probe = now;
        for (int i = 0; i < n; i++)
            mark_display(names[i], probe_display(names[i], XCONN_PROBE_MS) == PROBE_SILENT);
    }
    return NULL;
}

/* With every signal blocked, so that none is delivered to it. */
static void watchdog_start(void) {
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_t th;
    if (pthread_create(&th, NULL, watchdog, NULL) == 0)
        pthread_detach(th);
    else
        log_msg(LOG_WARN, "no X watchdog thread: %s", strerror(errno));
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* ---- connections ---- */

struct xconn *xconn_new(const char *display_name, const char *purpose, xconn_open_fn open_cb,
        xconn_close_fn close_cb, void *data) {
    pthread_once(&watchdog_once, watchdog_start);
    struct xconn *xc = calloc(1, sizeof *xc);
    if (!xc)
        return NULL;
    pthread_mutex_init(&xc->lock, NULL);
    snprintf(xc->name, sizeof xc->name, "%s", display_name);
    snprintf(xc->purpose, sizeof xc->purpose, "%s", purpose);
    xc->open_cb = open_cb;
    xc->close_cb = close_cb;
    xc->data = data;
    xc->fd = -1;
    pthread_mutex_lock(&reg_lock);
    xc->next = reg_head;
    reg_head = xc;
    pthread_mutex_unlock(&reg_lock);
    return xc;
}

static void set_held(struct xconn *xc, bool held) {
    pthread_mutex_lock(&reg_lock);
    xc->held_since = held ? util_mono_ms() : 0;
    pthread_mutex_unlock(&reg_lock);
}

/* Under the lock. */
static void close_display(struct xconn *xc) {
    if (!xc->dpy)
        return;
    pthread_mutex_lock(&reg_lock);
    xc->fd = -1;
    pthread_mutex_unlock(&reg_lock);
    if (xc->close_cb)
        xc->close_cb(xc->dpy, xc->data);
    XCloseDisplay(xc->dpy);
    xc->dpy = NULL;
    xc->dead = false;
}

void xconn_destroy(struct xconn *xc) {
    if (!xc)
        return;
    pthread_mutex_lock(&reg_lock);
    for (struct xconn **p = &reg_head; *p; p = &(*p)->next) {
        if (*p == xc) {
            *p = xc->next;
            break;
        }
    }
    pthread_mutex_unlock(&reg_lock);
    pthread_mutex_lock(&xc->lock);
    close_display(xc);
    pthread_mutex_unlock(&xc->lock);
    pthread_mutex_destroy(&xc->lock);
    free(xc);
}

/*
 * Displays whose XOpenDisplay the server's death interrupted: not whole (a
 * screen may lack its GC), so Xlib cannot close them. Their socket is closed;
 * their memory is kept here, a few kilobytes per such death.
 */
static Display *half_open[256];
static int n_half_open;

static void abandon(Display *dpy) {
    close(ConnectionNumber(dpy));
    pthread_mutex_lock(&reg_lock);
    if (n_half_open < (int)(sizeof half_open / sizeof half_open[0]))
        half_open[n_half_open++] = dpy;
    int n = n_half_open;
    pthread_mutex_unlock(&reg_lock);
    log_msg(LOG_WARN, "the X server went away while a connection was being set up (%d so far)", n);
}

/*
 * XOpenDisplay, or NULL when it fails or the server dies while it works. Also
 * sets up libXext's Generic Event extension record, which libXext otherwise
 * makes on the first use of any extension: when its version query fails,
 * libXext 1.3 frees the record but leaves it on its list of displays, to be
 * freed again when the Display is closed and read by every later lookup. Here
 * a death during that query jumps out before the free, and the Display, whole
 * by then, is closed.
 */
static Display *open_display(struct xconn *xc) {
    sigjmp_buf env;
    static _Thread_local bool whole;
    if (sigsetjmp(env, 0)) {
        opening_env = NULL;
        Display *broken = opening_broken;
        opening_broken = NULL;
        if (!whole) {
            abandon(broken);
            return NULL;
        }
        /* Closing may meet the lost connection again: never with Xlib's exit(). */
        XSetIOErrorExitHandler(broken, on_io_error_exit, xc);
        XCloseDisplay(broken);
        xc->dead = false;
        return NULL;
    }
    whole = false;
    opening_env = &env;
    Display *dpy = XOpenDisplay(xc->name);
    if (dpy) {
        whole = true;
        XSetIOErrorExitHandler(dpy, on_io_error_exit, xc);
        int major, minor;
        XGEQueryVersion(dpy, &major, &minor);
    }
    opening_env = NULL;
    return dpy;
}

static bool is_unresponsive(struct xconn *xc) {
    pthread_mutex_lock(&reg_lock);
    bool u = xc->unresponsive;
    pthread_mutex_unlock(&reg_lock);
    return u;
}

/* Under the lock, with no Display: opens one. 0, or -1 with err filled. */
static int open_locked(struct xconn *xc, char *err, size_t errlen) {
    /* A server that does not answer its setup would hold XOpenDisplay forever. */
    if (probe_display(xc->name, XCONN_PROBE_MS) == PROBE_SILENT) {
        mark_display(xc->name, true);
        snprintf(err, errlen, "the X display %s does not answer (its server is stopped or hung)",
                xc->name);
        return -1;
    }
    Display *dpy = open_display(xc);
    if (!dpy) {
        snprintf(err, errlen, "the X display %s is not available", xc->name);
        return -1;
    }
    xc->dpy = dpy;
    xc->dead = false;
    pthread_mutex_lock(&reg_lock);
    xc->fd = ConnectionNumber(dpy);
    pthread_mutex_unlock(&reg_lock);
    int rc = xc->open_cb ? xc->open_cb(dpy, xc->data) : 0;
    if (rc < 0) {
        /* Nothing of the callback's to free: close without the close callback. */
        xconn_close_fn close_cb = xc->close_cb;
        xc->close_cb = NULL;
        close_display(xc);
        xc->close_cb = close_cb;
        snprintf(err, errlen, "cannot set up %s on X display %s: %s", xc->purpose, xc->name,
                strerror(-rc));
        return -1;
    }
    if (xc->dead) {
        close_display(xc);
        snprintf(err, errlen, "the X display %s went away while connecting", xc->name);
        return -1;
    }
    log_msg(LOG_INFO, "connected to X display %s for %s", xc->name, xc->purpose);
    return 0;
}

Display *xconn_lock(struct xconn *xc, char *err, size_t errlen) {
    char scratch[160];
    if (!err)
        err = scratch, errlen = sizeof scratch;
    struct timespec until = util_abstime(CLOCK_REALTIME, XCONN_WAIT_MS);
    int lrc;
    while ((lrc = pthread_mutex_timedlock(&xc->lock, &until)) == EINTR) {
    }
    if (lrc != 0) {
        snprintf(err, errlen, "the X display %s did not answer within %d ms", xc->name,
                XCONN_WAIT_MS);
        return NULL;
    }
    if (is_unresponsive(xc)) {
        pthread_mutex_unlock(&xc->lock);
        snprintf(err, errlen, "the X display %s does not answer (its server is stopped or hung)",
                xc->name);
        return NULL;
    }
    set_held(xc, true);
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
    if (open_locked(xc, err, errlen) < 0) {
        xconn_unlock(xc);
        return NULL;
    }
    return xc->dpy;
}

void xconn_unlock(struct xconn *xc) {
    set_held(xc, false);
    pthread_mutex_unlock(&xc->lock);
}

bool xconn_dead(const struct xconn *xc) {
    return xc->dead;
}

bool xconn_unresponsive(const char *display_name) {
    bool u = false;
    pthread_mutex_lock(&reg_lock);
    for (struct xconn *xc = reg_head; xc; xc = xc->next)
        u |= strcmp(xc->name, display_name) == 0 && xc->unresponsive;
    pthread_mutex_unlock(&reg_lock);
    return u;
}
