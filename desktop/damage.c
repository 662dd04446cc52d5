/*
 * damage: XDamage on the root window, frame ids and waiting (see damage.h).
 *
 * Two locks: the xconn's (the Display; whoever holds it reads events) and
 * d->mu (frames, history, screen size; waiters sleep on d->cond with it).
 * Order: the xconn lock, then mu; waiters take mu alone. Every holder of the
 * connection reads what Xlib has queued before letting go, so an event that
 * Xlib read while waiting for some reply is never left in its queue unseen
 * while the worker sleeps in poll() on an empty socket.
 *
 * Not here: HTTP and JSON (api-screen.c), pixels (shots.c, capture/).
 */
#define _GNU_SOURCE /* pipe2 */
#include "damage.h"

#include <X11/Xlib.h>
#include <X11/extensions/Xdamage.h>
#include <X11/extensions/Xfixes.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"
#include "xconn.h"

/* A cursor image fits in this box around its hotspot (Xcursor themes go up to 64 px). */
#define CURSOR_REACH 64
/* Between attempts to reach a display that is not there. */
#define RETRY_MS 200

struct entry {
    uint64_t frame;
    int64_t t_ms; /* when deskd learnt of it, CLOCK_MONOTONIC */
    struct space_rect r;
    bool cursor;
};

struct damage {
    struct xconn *xc;
    pthread_t thread;
    int wake[2]; /* a pipe: ends the worker's poll */

    /* On the connection, under its lock. */
    bool have_damage, have_fixes;
    int damage_event, fixes_event;

    pthread_mutex_t mu;
    pthread_cond_t cond; /* new damage, a connection, or quit */
    bool quit;
    bool ever_connected; /* frames mean something only once the screen was seen */
    uint64_t frame;
    uint64_t lost_frame; /* since < this: the history does not reach back */
    int screen_w, screen_h;
    bool have_pointer;
    int pointer_x, pointer_y;
    struct entry ring[DAMAGE_HISTORY];
    size_t head, count;
};

static uint64_t wall_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Under mu. */
static uint64_t next_frame(struct damage *d) {
    uint64_t now = wall_us();
    d->frame = now > d->frame ? now : d->frame + 1;
    return d->frame;
}

/* Under mu: remembers r as changed in frame. */
static void push(struct damage *d, uint64_t frame, int64_t t, struct space_rect r, bool cursor) {
    struct entry *e = &d->ring[d->head];
    if (d->count == DAMAGE_HISTORY) {
        if (e->frame > d->lost_frame)
            d->lost_frame = e->frame;
    } else {
        d->count++;
    }
    *e = (struct entry){frame, t, r, cursor};
    d->head = (d->head + 1) % DAMAGE_HISTORY;
}

static struct space_rect screen_rect(const struct damage *d) {
    return (struct space_rect){0, 0, d->screen_w, d->screen_h};
}

static struct space_rect cursor_box(int x, int y) {
    return (struct space_rect){
            x - CURSOR_REACH, y - CURSOR_REACH, 2 * CURSOR_REACH, 2 * CURSOR_REACH};
}

/* Under mu: the whole screen changed (a connection, a resize, no XDamage to ask). */
static void push_whole(struct damage *d) {
    push(d, next_frame(d), util_mono_ms(), screen_rect(d), false);
}

static int conn_open(Display *dpy, void *data) {
    struct damage *d = data;
    int err_base;
    Window root = DefaultRootWindow(dpy);
    d->have_damage = XDamageQueryExtension(dpy, &d->damage_event, &err_base);
    if (d->have_damage)
        XDamageCreate(dpy, root, XDamageReportRawRectangles);
    else
        log_msg(LOG_WARN, "the X server has no DAMAGE extension: every frame counts as changed");
    d->have_fixes = XFixesQueryExtension(dpy, &d->fixes_event, &err_base);
    if (d->have_fixes)
        XFixesSelectCursorInput(dpy, root, XFixesDisplayCursorNotifyMask);
    XSelectInput(dpy, root, StructureNotifyMask);
    XWindowAttributes wa;
    if (!XGetWindowAttributes(dpy, root, &wa))
        return -EIO;
    pthread_mutex_lock(&d->mu);
    d->screen_w = wa.width;
    d->screen_h = wa.height;
    d->ever_connected = true;
    d->have_pointer = false;
    /* Whatever happened before is unknown: the screen changed, and older ids see it all. */
    push_whole(d);
    d->lost_frame = d->frame;
    pthread_cond_broadcast(&d->cond);
    pthread_mutex_unlock(&d->mu);
    return 0;
}

/* Under the connection lock: reads every event the server sent and records them as one frame. */
static void drain(struct damage *d, Display *dpy) {
    struct space_rect rects[64];
    int n = 0;
    bool whole = false, cursor = false;
    int w = 0, h = 0;
    for (;;) {
        bool more = XEventsQueued(dpy, QueuedAfterReading) > 0;
        if (more) {
            XEvent ev;
            XNextEvent(dpy, &ev);
            if (d->have_damage && ev.type == d->damage_event + XDamageNotify) {
                const XDamageNotifyEvent *de = (const XDamageNotifyEvent *)&ev;
                rects[n++] = (struct space_rect){
                        de->area.x, de->area.y, de->area.width, de->area.height};
            } else if (ev.type == ConfigureNotify &&
                       ev.xconfigure.window == DefaultRootWindow(dpy)) {
                whole = true;
                w = ev.xconfigure.width;
                h = ev.xconfigure.height;
            } else if (d->have_fixes && ev.type == d->fixes_event + XFixesCursorNotify) {
                cursor = true;
            }
            if (n < (int)(sizeof rects / sizeof rects[0]))
                continue;
        }
        if (n || whole || cursor) {
            pthread_mutex_lock(&d->mu);
            uint64_t frame = next_frame(d);
            int64_t t = util_mono_ms();
            if (whole) {
                d->screen_w = w;
                d->screen_h = h;
                push(d, frame, t, screen_rect(d), false);
            }
            for (int i = 0; i < n; i++)
                push(d, frame, t, rects[i], false);
            if (cursor && d->have_pointer)
                push(d, frame, t, cursor_box(d->pointer_x, d->pointer_y), true);
            pthread_cond_broadcast(&d->cond);
            pthread_mutex_unlock(&d->mu);
            n = 0;
            whole = cursor = false;
        }
        if (!more)
            return;
    }
}

static void *worker(void *arg) {
    struct damage *d = arg;
    for (;;) {
        pthread_mutex_lock(&d->mu);
        bool quit = d->quit;
        pthread_mutex_unlock(&d->mu);
        if (quit)
            return NULL;
        Display *dpy = xconn_lock(d->xc, NULL, 0);
        int timeout = RETRY_MS, fd = -1;
        if (dpy) {
            drain(d, dpy);
            fd = ConnectionNumber(dpy);
            timeout = -1;
        }
        if (dpy)
            xconn_unlock(d->xc);
        struct pollfd p[2] = {{d->wake[0], POLLIN, 0}, {fd, POLLIN, 0}};
        if (poll(p, fd >= 0 ? 2 : 1, timeout) > 0 && (p[0].revents & POLLIN)) {
            char buf[64];
            while (read(d->wake[0], buf, sizeof buf) > 0) {
            }
        }
    }
}

struct damage *damage_new(const char *display_name) {
    struct damage *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    pthread_mutex_init(&d->mu, NULL);
    util_cond_init_monotonic(&d->cond);
    d->frame = wall_us();
    d->wake[0] = d->wake[1] = -1;
    if (pipe2(d->wake, O_CLOEXEC | O_NONBLOCK) < 0)
        goto fail;
    d->xc = xconn_new(display_name, "damage", conn_open, NULL, d);
    if (!d->xc)
        goto fail;
    int rc = pthread_create(&d->thread, NULL, worker, d);
    if (rc == 0)
        return d;
    errno = rc;
fail:
    xconn_destroy(d->xc);
    if (d->wake[0] >= 0) {
        close(d->wake[0]);
        close(d->wake[1]);
    }
    pthread_cond_destroy(&d->cond);
    pthread_mutex_destroy(&d->mu);
    free(d);
    return NULL;
}

void damage_destroy(struct damage *d) {
    if (!d)
        return;
    pthread_mutex_lock(&d->mu);
    d->quit = true;
    pthread_cond_broadcast(&d->cond);
    pthread_mutex_unlock(&d->mu);
    ssize_t w = write(d->wake[1], "q", 1);
    (void)w;
    pthread_join(d->thread, NULL);
    xconn_destroy(d->xc);
    close(d->wake[0]);
    close(d->wake[1]);
    pthread_cond_destroy(&d->cond);
    pthread_mutex_destroy(&d->mu);
    free(d);
}

int damage_now(struct damage *d, struct damage_now *out, char *err, size_t errlen) {
    Display *dpy = xconn_lock(d->xc, err, errlen);
    if (!dpy)
        return -ENXIO;
    drain(d, dpy);
    Window root, child;
    int x = 0, y = 0, wx, wy;
    unsigned mask;
    bool ok = XQueryPointer(dpy, DefaultRootWindow(dpy), &root, &child, &x, &y, &wx, &wy, &mask);
    /* The reply may have brought events in behind it. */
    drain(d, dpy);
    bool dead = xconn_dead(d->xc), have_damage = d->have_damage;
    xconn_unlock(d->xc);
    if (dead || !ok) {
        if (err)
            snprintf(err, errlen, "the X display went away");
        return -ENXIO;
    }

    pthread_mutex_lock(&d->mu);
    bool moved = d->have_pointer && (x != d->pointer_x || y != d->pointer_y);
    if (!have_damage || moved) {
        uint64_t frame = next_frame(d);
        int64_t t = util_mono_ms();
        if (!have_damage)
            push(d, frame, t, screen_rect(d), false);
        if (moved) {
            push(d, frame, t, cursor_box(d->pointer_x, d->pointer_y), true);
            push(d, frame, t, cursor_box(x, y), true);
        }
        pthread_cond_broadcast(&d->cond);
    }
    d->have_pointer = true;
    d->pointer_x = x;
    d->pointer_y = y;
    *out = (struct damage_now){d->frame, d->screen_w, d->screen_h, x, y};
    pthread_mutex_unlock(&d->mu);
    return 0;
}

int damage_frame(struct damage *d, uint64_t *frame) {
    pthread_mutex_lock(&d->mu);
    bool ok = d->ever_connected;
    *frame = d->frame;
    pthread_mutex_unlock(&d->mu);
    return ok ? 0 : -ENXIO;
}

static bool intersect(struct space_rect a, struct space_rect b, struct space_rect *out) {
    long x0 = a.x > b.x ? a.x : b.x, y0 = a.y > b.y ? a.y : b.y;
    long x1 = (long)a.x + a.width < (long)b.x + b.width ? (long)a.x + a.width : (long)b.x + b.width;
    long y1 = (long)a.y + a.height < (long)b.y + b.height ? (long)a.y + a.height
                                                          : (long)b.y + b.height;
    if (x1 <= x0 || y1 <= y0)
        return false;
    if (out)
        *out = (struct space_rect){(int)x0, (int)y0, (int)(x1 - x0), (int)(y1 - y0)};
    return true;
}

static struct space_rect bbox(struct space_rect a, struct space_rect b) {
    int x0 = a.x < b.x ? a.x : b.x, y0 = a.y < b.y ? a.y : b.y;
    int x1 = a.x + a.width > b.x + b.width ? a.x + a.width : b.x + b.width;
    int y1 = a.y + a.height > b.y + b.height ? a.y + a.height : b.y + b.height;
    return (struct space_rect){x0, y0, x1 - x0, y1 - y0};
}

/* Overlapping, or sharing a piece of an edge (not only a corner). */
static bool touch(struct space_rect a, struct space_rect b) {
    int ox = (a.x + a.width < b.x + b.width ? a.x + a.width : b.x + b.width) -
             (a.x > b.x ? a.x : b.x);
    int oy = (a.y + a.height < b.y + b.height ? a.y + a.height : b.y + b.height) -
             (a.y > b.y ? a.y : b.y);
    return ox >= 0 && oy >= 0 && (ox > 0 || oy > 0);
}

static void add_merged(struct damage_changes *c, struct space_rect r) {
    for (int i = 0; i < c->n;) {
        if (touch(c->rects[i], r)) {
            r = bbox(r, c->rects[i]);
            c->rects[i] = c->rects[--c->n];
            i = 0; /* the grown rectangle may now touch one seen before */
        } else {
            i++;
        }
    }
    if (c->n == DAMAGE_MAX_RECTS) {
        for (int i = 0; i < c->n; i++)
            r = bbox(r, c->rects[i]);
        c->n = 0;
    }
    c->rects[c->n++] = r;
}

static int by_position(const void *a, const void *b) {
    const struct space_rect *p = a, *q = b;
    return p->y != q->y ? (p->y > q->y) - (p->y < q->y) : (p->x > q->x) - (p->x < q->x);
}

/*
 * Under mu: the changes inside clip after frame since; also the time of the
 * last of them in *last_t (unchanged when none).
 */
static void collect(const struct damage *d, uint64_t since, struct space_rect clip, bool cursor,
        struct damage_changes *out, int64_t *last_t) {
    memset(out, 0, sizeof *out);
    out->frame = d->frame;
    out->complete = since >= d->lost_frame;
    struct space_rect area;
    if (!intersect(clip, screen_rect(d), &area))
        return;
    for (size_t i = 0; i < d->count; i++) {
        const struct entry *e = &d->ring[i];
        struct space_rect r;
        if (e->frame <= since || (e->cursor && !cursor) || !intersect(e->r, area, &r))
            continue;
        if (last_t && e->t_ms > *last_t)
            *last_t = e->t_ms;
        if (out->complete)
            add_merged(out, r);
    }
    if (!out->complete) {
        out->n = 1;
        out->rects[0] = area;
    }
    out->changed = out->n > 0;
    qsort(out->rects, (size_t)out->n, sizeof out->rects[0], by_position);
}

int damage_changes(struct damage *d, uint64_t since, const struct space_rect *clip, bool cursor,
        struct damage_changes *out) {
    pthread_mutex_lock(&d->mu);
    int rc = 0;
    if (!d->ever_connected)
        rc = -ENXIO;
    else if (since > d->frame)
        rc = -EINVAL;
    else
        collect(d, since, clip ? *clip : screen_rect(d), cursor, out, NULL);
    pthread_mutex_unlock(&d->mu);
    return rc;
}

int damage_wait(struct damage *d, const struct damage_wait_spec *spec,
        struct damage_wait_result *out, char *err, size_t errlen) {
    int64_t t0 = util_mono_ms();
    struct damage_now now;
    int rc = damage_now(d, &now, err, errlen);
    if (rc < 0)
        return rc;
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&d->mu);
    if (spec->has_since && spec->since > d->frame) {
        snprintf(err, errlen,
                "since must be a frame id this server gave out (at most %llu), got %llu",
                (unsigned long long)d->frame, (unsigned long long)spec->since);
        pthread_mutex_unlock(&d->mu);
        return -EINVAL;
    }
    uint64_t start = now.frame;
    uint64_t since = spec->until == DAMAGE_UNTIL_CHANGED && spec->has_since ? spec->since : start;
    int64_t deadline = t0 + spec->timeout_ms;
    for (;;) {
        struct space_rect clip = spec->region ? *spec->region : screen_rect(d);
        int64_t last = t0, t = util_mono_ms();
        collect(d, since, clip, false, &out->changes, &last);
        int64_t wake = deadline;
        if (spec->until == DAMAGE_UNTIL_CHANGED) {
            if (out->changes.changed) {
                out->changed = true;
                break;
            }
        } else {
            out->changed = out->changes.changed;
            if (t - last >= spec->stable_ms) {
                out->stable = true;
                break;
            }
            if (last + spec->stable_ms < wake)
                wake = last + spec->stable_ms;
        }
        if (t >= deadline) {
            out->timed_out = true;
            break;
        }
        if (d->quit || (spec->cancelled && spec->cancelled(spec->arg))) {
            out->cancelled = true;
            break;
        }
        if (t + DAMAGE_CANCEL_CHECK_MS < wake)
            wake = t + DAMAGE_CANCEL_CHECK_MS;
        struct timespec ts = util_abstime(CLOCK_MONOTONIC, wake - t);
        pthread_cond_timedwait(&d->cond, &d->mu, &ts);
    }
    out->frame = d->frame;
    pthread_mutex_unlock(&d->mu);
    out->waited_ms = util_mono_ms() - t0;
    return 0;
}
