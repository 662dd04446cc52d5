/*
 * clipw: the clipboard thread of clipw.h.
 *
 * The thread holds its connection's lock while it works and releases it to
 * poll the connection and its wake-up eventfd; it alone reads the
 * connection's events. A request from another thread is a struct cmd on a
 * queue, run when the one before it finished: setting waits for a server
 * timestamp (a zero-length property append on our window, as ICCCM asks
 * owners to take ownership with a real time), reading waits for the owner's
 * SelectionNotify and its INCR chunks. Meanwhile SelectionRequests are
 * answered as they come.
 *
 * Outgoing INCR (ICCCM 2.7.2): the property gets type INCR and a size, the
 * requestor deletes it, and each PropertyNotify of that deletion writes the
 * next chunk, a zero-length one last. A transfer that makes no progress for
 * TRANSFER_IDLE_MS is dropped.
 */
#define _GNU_SOURCE
#include "clipw.h"

#include <X11/Xatom.h>
#include <X11/Xlib.h>
#include <X11/Xutil.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "util.h"
#include "xconn.h"
#include "xtrap.h"

/* Text above this size goes in INCR chunks of this size. */
#define INCR_CHUNK       ((size_t)256 * 1024)
#define TRANSFERS_MAX    32
#define TRANSFER_IDLE_MS 10000
/* How long taking ownership may wait for the server's timestamp. */
#define SET_WAIT_MS 2000

enum {
    AT_CLIPBOARD,
    AT_TARGETS,
    AT_TIMESTAMP,
    AT_UTF8,
    AT_TEXT_PLAIN,
    AT_TEXT,
    AT_COMPOUND,
    AT_INCR,
    AT_PROP,
    AT_STAMP,
    AT_N
};

/* Text and its length, shared by the owner and the transfers sending it; NUL-terminated. */
struct buf {
    int refs;
    size_t len;
    char data[];
};

struct transfer {
    bool active;
    enum clip_sel sel;
    Window requestor;
    Atom property, type;
    struct buf *b;
    size_t off;
    int64_t last;
};

enum cmd_kind { CMD_SET, CMD_CLEAR, CMD_GET };

struct cmd {
    enum cmd_kind kind;
    enum clip_sel sel;
    struct buf *b; /* CMD_SET: taken by the owner on success */
    int timeout_ms;
    int rc;
    char *text;
    size_t len;
    bool owned, done;
    char err[256];
    struct cmd *next;
};

struct clipw {
    struct xconn *xc;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int efd;
    bool quit;
    struct cmd *head, *tail;
    unsigned long served[2];
    unsigned long asked[2]; /* SelectionRequests for it, any target */

    /* The thread's (the connection's lock held, or the thread not running). */
    bool connected;
    Window win;
    Atom at[AT_N];
    struct buf *owned[2];
    Time owned_time[2];
    struct transfer tr[TRANSFERS_MAX];
    struct cmd *cur;
    int64_t deadline;
    bool incr;
    Atom tried;
    char *acc;
    size_t acc_len, acc_cap;
    Atom acc_type;
};

static struct buf *buf_new(const char *data, size_t len) {
    struct buf *b = malloc(sizeof *b + len + 1);
    if (!b)
        return NULL;
    b->refs = 1;
    b->len = len;
    memcpy(b->data, data, len);
    b->data[len] = '\0';
    return b;
}

static void buf_unref(struct buf *b) {
    if (b && --b->refs == 0)
        free(b);
}

static Atom sel_atom(const struct clipw *c, enum clip_sel sel) {
    return sel == CLIP_PRIMARY ? XA_PRIMARY : c->at[AT_CLIPBOARD];
}

/* ---- requests from other threads ---- */

static void finish(struct clipw *c, struct cmd *cmd, int rc, const char *err) {
    pthread_mutex_lock(&c->mu);
    cmd->rc = rc;
    if (err)
        snprintf(cmd->err, sizeof cmd->err, "%s", err);
    cmd->done = true;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

static int submit(struct clipw *c, struct cmd *cmd, char *err, size_t errlen) {
    pthread_mutex_lock(&c->mu);
    if (c->quit) {
        pthread_mutex_unlock(&c->mu);
        snprintf(err, errlen, "deskd is shutting down");
        return -ECANCELED;
    }
    if (c->tail)
        c->tail->next = cmd;
    else
        c->head = cmd;
    c->tail = cmd;
    pthread_mutex_unlock(&c->mu);
    uint64_t one = 1;
    if (write(c->efd, &one, sizeof one) < 0) {
        /* The counter is full: the thread is awake anyway. */
    }
    pthread_mutex_lock(&c->mu);
    while (!cmd->done)
        pthread_cond_wait(&c->cv, &c->mu);
    pthread_mutex_unlock(&c->mu);
    if (cmd->rc < 0 && err)
        snprintf(err, errlen, "%s", cmd->err);
    return cmd->rc;
}

int clipw_set(struct clipw *c, enum clip_sel sel, const char *text, size_t len, char *err,
        size_t errlen) {
    struct cmd cmd = {.kind = CMD_SET, .sel = sel, .b = buf_new(text, len)};
    if (!cmd.b)
        return -ENOMEM;
    int rc = submit(c, &cmd, err, errlen);
    buf_unref(cmd.b);
    return rc;
}

int clipw_clear(struct clipw *c, enum clip_sel sel, char *err, size_t errlen) {
    struct cmd cmd = {.kind = CMD_CLEAR, .sel = sel};
    return submit(c, &cmd, err, errlen);
}

int clipw_get(struct clipw *c, enum clip_sel sel, int timeout_ms, char **text, size_t *len,
        bool *owned, char *err, size_t errlen) {
    struct cmd cmd = {.kind = CMD_GET, .sel = sel, .timeout_ms = timeout_ms};
    int rc = submit(c, &cmd, err, errlen);
    if (rc < 0) {
        free(cmd.text);
        return rc;
    }
    *text = cmd.text;
    *len = cmd.len;
    *owned = cmd.owned;
    return 0;
}

unsigned long clipw_served(struct clipw *c, enum clip_sel sel) {
    pthread_mutex_lock(&c->mu);
    unsigned long n = c->served[sel];
    pthread_mutex_unlock(&c->mu);
    return n;
}

bool clipw_wait_served(struct clipw *c, enum clip_sel sel, unsigned long since, int timeout_ms) {
    struct timespec until = util_abstime(CLOCK_MONOTONIC, timeout_ms);
    pthread_mutex_lock(&c->mu);
    while (c->served[sel] <= since) {
        if (pthread_cond_timedwait(&c->cv, &c->mu, &until) == ETIMEDOUT)
            break;
    }
    bool ok = c->served[sel] > since;
    pthread_mutex_unlock(&c->mu);
    return ok;
}

void clipw_wait_quiet(struct clipw *c, enum clip_sel sel, int quiet_ms, int max_ms) {
    int64_t end = util_mono_ms() + max_ms;
    pthread_mutex_lock(&c->mu);
    for (;;) {
        unsigned long seen = c->asked[sel];
        int64_t until = util_mono_ms() + quiet_ms;
        if (until > end)
            until = end;
        struct timespec ts = util_abstime(CLOCK_MONOTONIC, util_ms_left(until));
        while (c->asked[sel] == seen) {
            if (pthread_cond_timedwait(&c->cv, &c->mu, &ts) == ETIMEDOUT)
                break;
        }
        if (c->asked[sel] == seen || util_ms_left(end) == 0)
            break;
    }
    pthread_mutex_unlock(&c->mu);
}

static void count_asked(struct clipw *c, enum clip_sel sel) {
    pthread_mutex_lock(&c->mu);
    c->asked[sel]++;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

static void count_served(struct clipw *c, enum clip_sel sel) {
    pthread_mutex_lock(&c->mu);
    c->served[sel]++;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

/* ---- the connection's state ---- */

static void drop_transfer(struct clipw *c, Display *dpy, struct transfer *t) {
    bool other = false;
    for (int i = 0; i < TRANSFERS_MAX; i++)
        other = other || (&c->tr[i] != t && c->tr[i].active && c->tr[i].requestor == t->requestor);
    if (!other && dpy) {
        struct xtrap trap;
        xtrap_begin(&trap, dpy);
        XSelectInput(dpy, t->requestor, NoEventMask);
        xtrap_end(&trap, false);
    }
    buf_unref(t->b);
    *t = (struct transfer){0};
}

/* Everything that belonged to the connection: the selections died with it. */
static void forget(struct clipw *c) {
    for (int s = 0; s < 2; s++) {
        buf_unref(c->owned[s]);
        c->owned[s] = NULL;
    }
    for (int i = 0; i < TRANSFERS_MAX; i++) {
        if (c->tr[i].active)
            drop_transfer(c, NULL, &c->tr[i]);
    }
    free(c->acc);
    c->acc = NULL;
    c->acc_len = c->acc_cap = 0;
}

static int on_open(Display *dpy, void *data) {
    struct clipw *c = data;
    static const char *const names[AT_N] = {"CLIPBOARD", "TARGETS", "TIMESTAMP", "UTF8_STRING",
            "text/plain;charset=utf-8", "TEXT", "COMPOUND_TEXT", "INCR", "_DESK_SELECTION",
            "_DESK_TIMESTAMP"};
    if (!XInternAtoms(dpy, (char **)names, AT_N, False, c->at))
        return -EIO;
    XSetWindowAttributes wa = {.event_mask = PropertyChangeMask};
    c->win = XCreateWindow(dpy, DefaultRootWindow(dpy), -10, -10, 1, 1, 0, CopyFromParent,
            InputOnly, CopyFromParent, CWEventMask, &wa);
    XStoreName(dpy, c->win, "deskd clipboard");
    forget(c);
    return 0;
}

static void on_close(Display *dpy, void *data) {
    (void)dpy;
    forget(data);
}

/* ---- serving other clients ---- */

/* Text converted to STRING (Latin-1) or TEXT (STRING or COMPOUND_TEXT) by Xlib. */
static struct buf *converted(
        Display *dpy, const struct buf *b, XICCEncodingStyle style, Atom *type) {
    char *list[1] = {(char *)b->data};
    XTextProperty tp = {0};
    if (Xutf8TextListToTextProperty(dpy, list, 1, style, &tp) < Success || !tp.value)
        return NULL;
    struct buf *out = buf_new((const char *)tp.value, tp.nitems);
    *type = tp.encoding;
    XFree(tp.value);
    return out;
}

/* Puts b on requestor's property as type, directly or by INCR. False when refused. */
static bool send_data(struct clipw *c, Display *dpy, const XSelectionRequestEvent *rq, Atom prop,
        enum clip_sel sel, struct buf *b, Atom type) {
    if (b->len <= INCR_CHUNK) {
        XChangeProperty(dpy, rq->requestor, prop, type, 8, PropModeReplace,
                (const unsigned char *)b->data, (int)b->len);
        count_served(c, sel);
        return true;
    }
    struct transfer *t = NULL;
    for (int i = 0; i < TRANSFERS_MAX && !t; i++)
        t = c->tr[i].active ? NULL : &c->tr[i];
    if (!t)
        return false;
    XSelectInput(dpy, rq->requestor, PropertyChangeMask);
    long size = (long)b->len;
    XChangeProperty(dpy, rq->requestor, prop, c->at[AT_INCR], 32, PropModeReplace,
            (const unsigned char *)&size, 1);
    b->refs++;
    *t = (struct transfer){true, sel, rq->requestor, prop, type, b, 0, util_mono_ms()};
    return true;
}

static void serve(struct clipw *c, Display *dpy, const XSelectionRequestEvent *rq) {
    XSelectionEvent n = {.type = SelectionNotify,
            .requestor = rq->requestor,
            .selection = rq->selection,
            .target = rq->target,
            .property = rq->property != None ? rq->property : rq->target,
            .time = rq->time};
    int sel = rq->selection == c->at[AT_CLIPBOARD] ? CLIP_CLIPBOARD
              : rq->selection == XA_PRIMARY        ? CLIP_PRIMARY
                                                   : -1;
    struct buf *b = sel >= 0 ? c->owned[sel] : NULL;
    if (sel >= 0)
        count_asked(c, (enum clip_sel)sel);
    struct xtrap trap;
    xtrap_begin(&trap, dpy);
    bool ok = b && (rq->time == CurrentTime || rq->time >= c->owned_time[sel]);
    if (!ok) {
        /* Not ours (any more), or asked about a time before we owned it. */
    } else if (rq->target == c->at[AT_TARGETS]) {
        Atom targets[] = {c->at[AT_TARGETS], c->at[AT_TIMESTAMP], c->at[AT_UTF8],
                c->at[AT_TEXT_PLAIN], XA_STRING, c->at[AT_TEXT]};
        XChangeProperty(dpy, rq->requestor, n.property, XA_ATOM, 32, PropModeReplace,
                (const unsigned char *)targets, (int)(sizeof targets / sizeof targets[0]));
    } else if (rq->target == c->at[AT_TIMESTAMP]) {
        long t = (long)c->owned_time[sel];
        XChangeProperty(dpy, rq->requestor, n.property, XA_INTEGER, 32, PropModeReplace,
                (const unsigned char *)&t, 1);
    } else if (rq->target == c->at[AT_UTF8] || rq->target == c->at[AT_TEXT_PLAIN]) {
        ok = send_data(c, dpy, rq, n.property, (enum clip_sel)sel, b, rq->target);
    } else if (rq->target == XA_STRING || rq->target == c->at[AT_TEXT]) {
        Atom type = None;
        struct buf *cb =
                converted(dpy, b, rq->target == XA_STRING ? XStringStyle : XStdICCTextStyle, &type);
        ok = cb && send_data(c, dpy, rq, n.property, (enum clip_sel)sel, cb, type);
        buf_unref(cb);
    } else {
        ok = false; /* MULTIPLE and other targets: refused */
    }
    if (!ok)
        n.property = None;
    char *tname = log_threshold >= LOG_DEBUG ? XGetAtomName(dpy, rq->target) : NULL;
    log_msg(LOG_DEBUG, "clipboard: %s of %s for 0x%lx at %lu (owned since %lu)",
            ok ? "served" : "refused", tname ? tname : "?", (unsigned long)rq->requestor,
            (unsigned long)rq->time, sel >= 0 ? (unsigned long)c->owned_time[sel] : 0UL);
    if (tname)
        XFree(tname);
    XSendEvent(dpy, rq->requestor, False, NoEventMask, (XEvent *)&n);
    if (xtrap_end(&trap, true) != 0)
        log_msg(LOG_DEBUG, "clipboard: requestor 0x%lx went away", (unsigned long)rq->requestor);
}

/* The requestor deleted the property: the next chunk, or the end. */
static void transfer_next(struct clipw *c, Display *dpy, struct transfer *t) {
    size_t n = t->b->len - t->off;
    if (n > INCR_CHUNK)
        n = INCR_CHUNK;
    struct xtrap trap;
    xtrap_begin(&trap, dpy);
    XChangeProperty(dpy, t->requestor, t->property, t->type, 8, PropModeReplace,
            (const unsigned char *)t->b->data + t->off, (int)n);
    bool failed = xtrap_end(&trap, true) != 0;
    t->last = util_mono_ms();
    log_msg(LOG_DEBUG, "clipboard: INCR chunk of %zu bytes at %zu to 0x%lx%s", n, t->off,
            (unsigned long)t->requestor, failed ? " failed" : "");
    if (n == 0 && !failed)
        count_served(c, t->sel);
    if (n == 0 || failed)
        drop_transfer(c, dpy, t);
    else
        t->off += n;
}

/* ---- reading other owners' selections ---- */

static void done_cur(struct clipw *c, int rc, const char *err) {
    struct cmd *cmd = c->cur;
    c->cur = NULL;
    free(c->acc);
    c->acc = NULL;
    c->acc_len = c->acc_cap = 0;
    c->incr = false;
    finish(c, cmd, rc, err);
}

/* Ends the read with acc converted to UTF-8 from acc_type. */
static void done_read(struct clipw *c, Display *dpy) {
    char *text = NULL;
    size_t len = 0;
    Atom t = c->acc_type;
    if (t == XA_STRING || t == c->at[AT_COMPOUND] || t == c->at[AT_TEXT]) {
        XTextProperty tp = {(unsigned char *)(c->acc ? c->acc : ""), t, 8, c->acc_len};
        char **list = NULL;
        int count = 0;
        if (Xutf8TextPropertyToTextList(dpy, &tp, &list, &count) >= Success && list) {
            size_t total = 0;
            for (int i = 0; i < count; i++)
                total += strlen(list[i]);
            char *joined = malloc(total + 1);
            if (joined) {
                size_t at = 0;
                for (int i = 0; i < count; i++) {
                    size_t n = strlen(list[i]);
                    memcpy(joined + at, list[i], n);
                    at += n;
                }
                text = util_utf8_clean(joined, total, &len);
                free(joined);
            }
            XFreeStringList(list);
        }
    } else {
        text = util_utf8_clean(c->acc ? c->acc : "", c->acc_len, &len);
    }
    if (!text) {
        done_cur(c, -ENOMEM, "out of memory for the selection's text");
        return;
    }
    c->cur->text = text;
    c->cur->len = len;
    c->cur->owned = true;
    done_cur(c, 0, NULL);
}

/* Appends the property's value (deleting it); false after ending the read with an error. */
static bool take_prop(struct clipw *c, Display *dpy, Atom *type, size_t *got) {
    Atom actual = None;
    int format = 0;
    unsigned long n = 0, after = 0;
    unsigned char *data = NULL;
    long units = (long)(CLIP_MAX / 4 + 1);
    if (XGetWindowProperty(dpy, c->win, c->at[AT_PROP], 0, units, True, AnyPropertyType, &actual,
                &format, &n, &after, &data) != Success) {
        done_cur(c, -EIO, "reading the selection's property failed");
        return false;
    }
    size_t bytes = format == 32 ? n * sizeof(long) : format == 16 ? n * 2 : n;
    *type = actual;
    *got = bytes;
    if (actual == c->at[AT_INCR] || bytes == 0) {
        if (data)
            XFree(data);
        return true;
    }
    if (after > 0 || c->acc_len + bytes > CLIP_MAX) {
        if (data)
            XFree(data);
        done_cur(c, -EFBIG, "the selection holds more than 16 MiB");
        return false;
    }
    if (c->acc_len + bytes + 1 > c->acc_cap) {
        /* Doubling: INCR text comes in many chunks. */
        size_t cap = c->acc_cap ? c->acc_cap : 65536;
        while (cap < c->acc_len + bytes + 1)
            cap *= 2;
        char *acc = realloc(c->acc, cap);
        if (!acc) {
            XFree(data);
            done_cur(c, -ENOMEM, "out of memory for the selection's text");
            return false;
        }
        c->acc = acc;
        c->acc_cap = cap;
    }
    memcpy(c->acc + c->acc_len, data, bytes);
    c->acc_len += bytes;
    c->acc_type = actual;
    XFree(data);
    return true;
}

static void on_notify(struct clipw *c, Display *dpy, const XSelectionEvent *n) {
    struct cmd *cmd = c->cur;
    if (!cmd || cmd->kind != CMD_GET || c->incr || n->selection != sel_atom(c, cmd->sel))
        return;
    if (n->property == None) {
        if (c->tried == c->at[AT_UTF8]) {
            c->tried = XA_STRING;
            XConvertSelection(dpy, n->selection, XA_STRING, c->at[AT_PROP], c->win, CurrentTime);
            return;
        }
        /* The owner has no text to give. */
        cmd->text = strdup("");
        cmd->owned = true;
        done_cur(c, cmd->text ? 0 : -ENOMEM, "out of memory");
        return;
    }
    Atom type;
    size_t got;
    if (!take_prop(c, dpy, &type, &got))
        return;
    if (type == c->at[AT_INCR]) {
        c->incr = true; /* deleting the property asked for the first chunk */
        c->deadline = util_mono_ms() + cmd->timeout_ms;
        return;
    }
    done_read(c, dpy);
}

static void on_incr_chunk(struct clipw *c, Display *dpy) {
    Atom type;
    size_t got;
    if (!take_prop(c, dpy, &type, &got))
        return;
    if (got == 0) {
        done_read(c, dpy);
        return;
    }
    c->deadline = util_mono_ms() + c->cur->timeout_ms;
}

/* ---- the thread ---- */

static void on_property(struct clipw *c, Display *dpy, const XPropertyEvent *p) {
    struct cmd *cmd = c->cur;
    if (p->window == c->win) {
        if (cmd && cmd->kind == CMD_SET && p->atom == c->at[AT_STAMP]) {
            Atom sel = sel_atom(c, cmd->sel);
            XSetSelectionOwner(dpy, sel, c->win, p->time);
            if (XGetSelectionOwner(dpy, sel) != c->win) {
                done_cur(c, -EIO, "the X server did not make deskd the selection's owner");
                return;
            }
            buf_unref(c->owned[cmd->sel]);
            c->owned[cmd->sel] = cmd->b;
            cmd->b = NULL;
            c->owned_time[cmd->sel] = p->time;
            done_cur(c, 0, NULL);
        } else if (cmd && cmd->kind == CMD_GET && c->incr && p->atom == c->at[AT_PROP] &&
                   p->state == PropertyNewValue) {
            on_incr_chunk(c, dpy);
        }
        return;
    }
    if (p->state != PropertyDelete)
        return;
    for (int i = 0; i < TRANSFERS_MAX; i++) {
        struct transfer *t = &c->tr[i];
        if (t->active && t->requestor == p->window && t->property == p->atom) {
            transfer_next(c, dpy, t);
            break;
        }
    }
}

static void handle(struct clipw *c, Display *dpy, XEvent *ev) {
    switch (ev->type) {
    case SelectionRequest:
        serve(c, dpy, &ev->xselectionrequest);
        break;
    case SelectionNotify:
        on_notify(c, dpy, &ev->xselection);
        break;
    case SelectionClear:
        for (int s = 0; s < 2; s++) {
            if (ev->xselectionclear.selection == sel_atom(c, (enum clip_sel)s) &&
                    ev->xselectionclear.time >= c->owned_time[s]) {
                buf_unref(c->owned[s]);
                c->owned[s] = NULL;
            }
        }
        break;
    case PropertyNotify:
        on_property(c, dpy, &ev->xproperty);
        break;
    default:
        break;
    }
}

static void start(struct clipw *c, Display *dpy, struct cmd *cmd) {
    c->cur = cmd;
    Atom sel = sel_atom(c, cmd->sel);
    switch (cmd->kind) {
    case CMD_SET:
        /* A zero-length append: its PropertyNotify carries the server's time. */
        XChangeProperty(dpy, c->win, c->at[AT_STAMP], XA_STRING, 8, PropModeAppend,
                (const unsigned char *)"", 0);
        c->deadline = util_mono_ms() + SET_WAIT_MS;
        break;
    case CMD_CLEAR:
        if (c->owned[cmd->sel]) {
            XSetSelectionOwner(dpy, sel, None, c->owned_time[cmd->sel]);
            buf_unref(c->owned[cmd->sel]);
            c->owned[cmd->sel] = NULL;
        }
        done_cur(c, 0, NULL);
        break;
    case CMD_GET:
        if (c->owned[cmd->sel] || XGetSelectionOwner(dpy, sel) == None) {
            const struct buf *b = c->owned[cmd->sel];
            cmd->text = strdup(b ? b->data : "");
            cmd->len = b ? b->len : 0;
            cmd->owned = b != NULL;
            done_cur(c, cmd->text ? 0 : -ENOMEM, "out of memory for the selection's text");
            break;
        }
        c->tried = c->at[AT_UTF8];
        c->incr = false;
        XDeleteProperty(dpy, c->win, c->at[AT_PROP]);
        XConvertSelection(dpy, sel, c->at[AT_UTF8], c->at[AT_PROP], c->win, CurrentTime);
        c->deadline = util_mono_ms() + cmd->timeout_ms;
        break;
    }
    XFlush(dpy);
}

/* One turn: events, timeouts, the next request. Returns the ms until the next deadline (-1: none).
 */
static int turn(struct clipw *c, Display *dpy) {
    for (;;) {
        while (XPending(dpy)) {
            XEvent ev;
            XNextEvent(dpy, &ev);
            handle(c, dpy, &ev);
        }
        if (xconn_dead(c->xc))
            return -1;
        if (c->cur && util_ms_left(c->deadline) == 0)
            done_cur(c, -ETIMEDOUT,
                    c->cur->kind == CMD_GET ? "the selection's owner did not answer in time"
                                            : "the X server did not answer in time");
        if (c->cur)
            break;
        pthread_mutex_lock(&c->mu);
        struct cmd *cmd = c->head;
        if (cmd && !(c->head = cmd->next))
            c->tail = NULL;
        pthread_mutex_unlock(&c->mu);
        if (!cmd)
            break;
        start(c, dpy, cmd);
    }
    int64_t now = util_mono_ms(), next = c->cur ? c->deadline : INT64_MAX;
    for (int i = 0; i < TRANSFERS_MAX; i++) {
        struct transfer *t = &c->tr[i];
        if (t->active && now - t->last >= TRANSFER_IDLE_MS)
            drop_transfer(c, dpy, t);
        else if (t->active && t->last + TRANSFER_IDLE_MS < next)
            next = t->last + TRANSFER_IDLE_MS;
    }
    /*
     * The last call before the thread sleeps in poll() must be XPending: a flush may read
     * what arrived into xcb's queue (it reads while it writes), and poll() would then sleep
     * on an empty socket with an event waiting. XPending flushes, reads and counts.
     */
    if (XPending(dpy))
        return 0;
    return next == INT64_MAX ? -1 : (int)(next > now ? next - now : 0);
}

/* Fails every queued request (and the running one) with rc. */
static void fail_all(struct clipw *c, int rc, const char *err) {
    if (c->cur)
        done_cur(c, rc, err);
    pthread_mutex_lock(&c->mu);
    struct cmd *q = c->head;
    c->head = c->tail = NULL;
    pthread_mutex_unlock(&c->mu);
    while (q) {
        struct cmd *next = q->next;
        finish(c, q, rc, err);
        q = next;
    }
}

static void *run(void *arg) {
    struct clipw *c = arg;
    for (;;) {
        pthread_mutex_lock(&c->mu);
        bool quit = c->quit, queued = c->head != NULL;
        pthread_mutex_unlock(&c->mu);
        if (quit)
            break;
        int fd = -1, timeout = -1;
        if (queued || c->connected) {
            char err[256];
            Display *dpy = xconn_lock(c->xc, err, sizeof err);
            if (!dpy) {
                c->connected = false;
                fail_all(c, -ENXIO, err);
            } else {
                c->connected = true;
                timeout = turn(c, dpy);
                if (xconn_dead(c->xc)) {
                    c->connected = false;
                    timeout = -1;
                    fail_all(c, -EIO, "the X display went away");
                } else {
                    fd = ConnectionNumber(dpy);
                }
                xconn_unlock(c->xc);
            }
        }
        struct pollfd p[2] = {{.fd = c->efd, .events = POLLIN}, {.fd = fd, .events = POLLIN}};
        if (poll(p, fd >= 0 ? 2 : 1, timeout) > 0 && (p[0].revents & POLLIN)) {
            uint64_t v;
            if (read(c->efd, &v, sizeof v) < 0) {
                /* EAGAIN: another turn drained it. */
            }
        }
    }
    fail_all(c, -ECANCELED, "deskd is shutting down");
    return NULL;
}

struct clipw *clipw_new(const char *display_name) {
    struct clipw *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    c->xc = xconn_new(display_name, "the clipboard", on_open, on_close, c);
    pthread_mutex_init(&c->mu, NULL);
    util_cond_init_monotonic(&c->cv);
    if (c->efd < 0 || !c->xc || pthread_create(&c->thread, NULL, run, c) != 0) {
        if (c->efd >= 0)
            close(c->efd);
        xconn_destroy(c->xc);
        pthread_cond_destroy(&c->cv);
        pthread_mutex_destroy(&c->mu);
        free(c);
        return NULL;
    }
    return c;
}

void clipw_destroy(struct clipw *c) {
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    c->quit = true;
    pthread_mutex_unlock(&c->mu);
    uint64_t one = 1;
    if (write(c->efd, &one, sizeof one) < 0) {
        /* Full: the thread wakes anyway. */
    }
    pthread_join(c->thread, NULL);
    xconn_destroy(c->xc);
    close(c->efd);
    pthread_cond_destroy(&c->cv);
    pthread_mutex_destroy(&c->mu);
    free(c);
}
