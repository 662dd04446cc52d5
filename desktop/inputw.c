/*
 * inputw: the input worker thread and its FIFO (see inputw.h).
 *
 * One mutex guards the queue, the worker role (w->run: the job running, if
 * any), the running job's start and the quit flag; the worker thread waits on
 * `work`, requesters on `done` (broadcast: few wait at once). Whoever holds
 * the role is the only thread using the input connection and struct input.
 * The worker thread runs the queued jobs; a request that finds the role free
 * and the queue empty takes the role and runs its own job on its thread, as
 * the worker would, which spares a click two context switches. Jobs keep
 * their arrival order either way: the role is taken only with nothing queued,
 * and the queue is served in order. The role holder takes the connection's
 * lock only without the queue's mutex, so the two are never held together.
 *
 * Not here: request parsing, replies, key names (the routes and input/).
 */
#include "inputw.h"

#include <X11/XKBlib.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "log.h"
#include "util.h"
#include "xconn.h"

enum { JOB_QUEUED, JOB_RUNNING, JOB_DONE };

struct inputw {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t work; /* a job was queued, or quit */
    pthread_cond_t done; /* a job finished */
    struct inputw_job *head, *tail;
    long queued_ms;                 /* the cost of every queued job */
    struct inputw_job *run;         /* the running job, or NULL */
    long run_cost_ms, run_start_ms; /* the running job's */
    bool quit;
    long hold_timeout_ms; /* 0: none */
    bool holding;         /* the down routes hold something */
    long last_job_ms;     /* when the last job ended */

    /* The worker's alone. */
    struct xconn *xc;
    struct input *in; /* lives on xc, made and destroyed by its callbacks */
    int xkb_event;    /* XKB's event type on xc, or -1 */
    bool sticky;      /* StickyKeys is on (modifiers latch), as the events say */
    const atomic_bool *stopping;
    long wait_max_ms;
};

static long now_ms(void) {
    return (long)util_mono_ms();
}

static bool conn_dead(void *arg) {
    struct inputw *w = arg;
    return xconn_dead(w->xc);
}

static int conn_open(Display *dpy, void *data) {
    struct inputw *w = data;
    w->in = input_new(dpy);
    if (!w->in)
        return -ENOTSUP;
    input_set_dead_check(w->in, conn_dead, w);
    /* Told when a control is switched: what a job may change beyond its own keys (see
     * undo_side_effects). Not StateNotify: selecting it upsets the keymap updates that typing
     * relies on; latches are read when they can happen instead. */
    int opcode, error, major = XkbMajorVersion, minor = XkbMinorVersion;
    w->xkb_event = -1;
    w->sticky = false;
    if (XkbQueryExtension(dpy, &opcode, &w->xkb_event, &error, &major, &minor)) {
        XkbSelectEvents(dpy, XkbUseCoreKbd, XkbControlsNotifyMask, XkbControlsNotifyMask);
        XkbDescPtr xkb = XkbAllocKeyboard();
        if (xkb && XkbGetControls(dpy, XkbControlsEnabledMask, xkb) == Success)
            w->sticky = xkb->ctrls->enabled_ctrls & XkbStickyKeysMask;
        XkbFreeKeyboard(xkb, 0, True);
    }
    return 0;
}

/* Drops the XKB events queued on dpy: changes made by others, or by our own undoing. */
static void drain_xkb_events(struct inputw *w, Display *dpy) {
    XEvent ev;
    while (w->xkb_event >= 0 && XCheckTypedEvent(dpy, w->xkb_event, &ev)) {
        const XkbEvent *xe = (const XkbEvent *)&ev;
        if (xe->any.xkb_type == XkbControlsNotify)
            w->sticky = xe->ctrls.enabled_ctrls & XkbStickyKeysMask;
    }
}

/*
 * After a job: the XKB controls it switched (StickyKeys, SlowKeys, MouseKeys:
 * through a key the desktop's keymap binds to such an action) are switched
 * back, and modifiers or a group left latched (StickyKeys latches them) are
 * unlatched, so that no later request or user inherits them. The events say
 * what changed; the first event about a control gives its value before the
 * job.
 */
static void undo_side_effects(struct inputw *w, Display *dpy) {
    unsigned changed = 0, before = 0;
    XEvent ev;
    while (w->xkb_event >= 0 && XCheckTypedEvent(dpy, w->xkb_event, &ev)) {
        const XkbEvent *xe = (const XkbEvent *)&ev;
        if (xe->any.xkb_type == XkbControlsNotify) {
            unsigned now_changed = xe->ctrls.enabled_ctrl_changes & ~changed;
            before |= ~xe->ctrls.enabled_ctrls & now_changed;
            changed |= now_changed;
        }
    }
    XkbStateRec st;
    bool latched = (changed || w->sticky) && XkbGetState(dpy, XkbUseCoreKbd, &st) == Success &&
                   (st.latched_mods || st.latched_group);
    if (!changed && !latched)
        return;
    if (changed)
        XkbChangeEnabledControls(dpy, XkbUseCoreKbd, changed, before);
    if (latched) {
        XkbLatchModifiers(dpy, XkbUseCoreKbd, 0xff, 0);
        XkbLatchGroup(dpy, XkbUseCoreKbd, 0);
    }
    XSync(dpy, False);
    drain_xkb_events(w, dpy);
    log_msg(LOG_INFO, "input: undid what a request changed beyond its keys (controls %#x%s)",
            changed, latched ? ", latches" : "");
}

static void conn_close(Display *dpy, void *data) {
    (void)dpy;
    struct inputw *w = data;
    input_destroy(w->in);
    w->in = NULL;
}

/* input_type's cancel hook: the requester gave up, or deskd is stopping. */
static int job_cancelled(void *arg) {
    struct inputw_job *job = arg;
    return atomic_load(job->owner->stopping) || (job->gone && job->gone(job->gone_arg));
}

/* On the worker, with no lock held: sets job->result as inputw_run returns it. */
static void run_job(struct inputw *w, struct inputw_job *job) {
    /* A requester that gave up while waiting must not act later on a screen it no longer expects.
     */
    if (job->gone && job->gone(job->gone_arg)) {
        job->result = -ECANCELED;
        return;
    }
    Display *dpy = xconn_lock(w->xc, job->err, job->errlen);
    if (!dpy) {
        job->result = -ENXIO;
        return;
    }
    drain_xkb_events(w, dpy);
    input_set_cancel(w->in, job_cancelled, job);
    job->rc = job->fn(w->in, job->arg);
    input_set_cancel(w->in, NULL, NULL);
    if (!xconn_dead(w->xc))
        undo_side_effects(w, dpy);
    job->dead = xconn_dead(w->xc);
    /* input releases what it pressed on every path; this is the safety net after a failure. */
    if (job->rc < 0 && !job->dead)
        input_release_all(w->in);
    job->holding = w->in && input_sticky_any(w->in);
    xconn_unlock(w->xc);
    job->result = 0;
}

/*
 * Called with the lock held and the role free: takes the role, runs job
 * without the lock, gives the role back and returns with the lock held.
 */
static void run_as_worker(struct inputw *w, struct inputw_job *job) {
    w->run = job;
    w->run_cost_ms = job->cost_ms;
    w->run_start_ms = now_ms();
    job->state = JOB_RUNNING;
    pthread_mutex_unlock(&w->lock);
    run_job(w, job);
    pthread_mutex_lock(&w->lock);
    w->run = NULL;
    job->state = JOB_DONE;
    if (job->result == 0)
        w->holding = job->holding;
    if (w->holding)
        pthread_cond_signal(&w->work); /* the worker has a deadline to keep (see idle_wait) */
    if (!job->reads_only)
        w->last_job_ms = now_ms();
}

static int release_held_fn(struct input *in, void *arg) {
    (void)arg;
    return input_release_sticky(in, NULL);
}

/*
 * With the lock held and the worker idle: waits for work, or when the down
 * routes hold something, until the hold timeout, and then releases it.
 */
static void idle_wait(struct inputw *w) {
    if (!w->holding || w->hold_timeout_ms <= 0) {
        pthread_cond_wait(&w->work, &w->lock);
        return;
    }
    long left = w->last_job_ms + w->hold_timeout_ms - now_ms();
    if (left > 0) {
        struct timespec ts = util_abstime(CLOCK_MONOTONIC, left);
        pthread_cond_timedwait(&w->work, &w->lock, &ts);
        return;
    }
    struct inputw_job job = {.fn = release_held_fn, .cost_ms = INPUTW_JOB_BASE_MS, .owner = w};
    char err[128];
    job.err = err;
    job.errlen = sizeof err;
    run_as_worker(w, &job);
    if (job.result != 0)
        w->holding = false; /* no display: nothing is held on it any more */
    pthread_cond_broadcast(&w->done);
}

void inputw_set_hold_timeout(struct inputw *w, long ms) {
    pthread_mutex_lock(&w->lock);
    w->hold_timeout_ms = ms;
    pthread_cond_signal(&w->work);
    pthread_mutex_unlock(&w->lock);
}

static void *worker(void *arg) {
    struct inputw *w = arg;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        struct inputw_job *job = w->head;
        if (!job || w->run) {
            if (!job && w->quit)
                break;
            if (w->run)
                pthread_cond_wait(&w->work, &w->lock);
            else
                idle_wait(w);
            continue;
        }
        w->head = job->next;
        if (!w->head)
            w->tail = NULL;
        w->queued_ms -= job->cost_ms;
        run_as_worker(w, job);
        pthread_cond_broadcast(&w->done);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

struct inputw *inputw_new(const char *display_name, const atomic_bool *stopping, long wait_max_ms) {
    struct inputw *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->stopping = stopping;
    w->wait_max_ms = wait_max_ms;
    pthread_mutex_init(&w->lock, NULL);
    util_cond_init_monotonic(&w->work);
    util_cond_init_monotonic(&w->done);
    w->xc = xconn_new(display_name, "input", conn_open, conn_close, w);
    int rc = w->xc ? pthread_create(&w->thread, NULL, worker, w) : ENOMEM;
    if (rc != 0) {
        xconn_destroy(w->xc);
        pthread_mutex_destroy(&w->lock);
        pthread_cond_destroy(&w->work);
        pthread_cond_destroy(&w->done);
        free(w);
        errno = rc;
        return NULL;
    }
    return w;
}

void inputw_destroy(struct inputw *w) {
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->quit = true;
    pthread_cond_signal(&w->work);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    xconn_destroy(w->xc);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->work);
    pthread_cond_destroy(&w->done);
    free(w);
}

/*
 * Under the lock: how long a job queued now would wait, at worst, in ms. A
 * running job whose requester has gone stops at its next character: it counts
 * as nothing left.
 */
static long wait_ahead_ms(const struct inputw *w, long now) {
    const struct inputw_job *run = w->run;
    long left = run ? w->run_cost_ms - (now - w->run_start_ms) : 0;
    if (run && run->gone && run->gone(run->gone_arg))
        left = 0;
    return w->queued_ms + (left > 0 ? left : 0);
}

/* Under the lock: in how many seconds a job would wait no more than the limit (>= 1). */
static long retry_after_s(const struct inputw *w, long now) {
    long over = wait_ahead_ms(w, now) - w->wait_max_ms;
    return over > 0 ? (over + 999) / 1000 : 1;
}

static void unlink_job(struct inputw *w, struct inputw_job *job) {
    struct inputw_job **p = &w->head, *prev = NULL;
    while (*p && *p != job)
        prev = *p, p = &(*p)->next;
    if (!*p)
        return;
    *p = job->next;
    if (w->tail == job)
        w->tail = prev;
    w->queued_ms -= job->cost_ms;
}

int inputw_run(struct inputw *w, struct inputw_job *job, long *retry_s, char *err, size_t errlen) {
    long start = now_ms();
    if (errlen)
        err[0] = '\0';
    *job = (struct inputw_job){.fn = job->fn,
            .arg = job->arg,
            .cost_ms = job->cost_ms,
            .gone = job->gone,
            .gone_arg = job->gone_arg,
            .reads_only = job->reads_only,
            .owner = w,
            .err = err,
            .errlen = errlen};
    pthread_mutex_lock(&w->lock);
    if (wait_ahead_ms(w, start) > w->wait_max_ms) {
        if (retry_s)
            *retry_s = retry_after_s(w, start);
        pthread_mutex_unlock(&w->lock);
        return -EBUSY;
    }
    if (!w->run && !w->head) {
        /* Nothing ahead: run it here rather than wake the worker thread and wait to be woken
         * (two context switches, 10-30% of a click on a loaded machine). The queued jobs that
         * came meanwhile go to the worker thread. */
        run_as_worker(w, job);
        if (w->head)
            pthread_cond_signal(&w->work);
        pthread_mutex_unlock(&w->lock);
        return job->result;
    }
    if (w->tail)
        w->tail->next = job;
    else
        w->head = job;
    w->tail = job;
    w->queued_ms += job->cost_ms;
    pthread_cond_signal(&w->work);

    struct timespec ts = util_abstime(CLOCK_MONOTONIC, w->wait_max_ms);
    while (job->state == JOB_QUEUED) {
        if (pthread_cond_timedwait(&w->done, &w->lock, &ts) == ETIMEDOUT &&
                job->state == JOB_QUEUED) {
            /* The jobs ahead took longer than they said: give up rather than wait on. */
            unlink_job(w, job);
            if (retry_s)
                *retry_s = retry_after_s(w, now_ms());
            pthread_mutex_unlock(&w->lock);
            return -EBUSY;
        }
    }
    while (job->state != JOB_DONE)
        pthread_cond_wait(&w->done, &w->lock);
    pthread_mutex_unlock(&w->lock);
    return job->result;
}
