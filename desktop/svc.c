/*
 * svc: the supervisor's state machine (see svc.h for the states). Every
 * decision is made in svc_tick from the services' states and the clock, so a
 * command (start, stop, restart) only changes what is wanted, and the effects
 * follow on the next tick, in one place. Nothing here blocks or sleeps.
 *
 * Rules, in the order svc_tick applies them to each service:
 *   - an unwanted service stops only once every service after it has stopped,
 *     so a stop runs in reverse priority order, one service at a time;
 *   - a service stops when a service it is bound to is not ready, or is about
 *     to restart; a restarting service stops only once its dependents are gone;
 *   - a waiting service starts when everything it needs is ready, its backoff
 *     has passed and it did not start less than min_interval ago;
 *   - a starting service asks for a probe every probe_interval (the caller
 *     runs it and reports with svc_probed) until ready, until the probe says
 *     it never will be, or until its readiness timeout; a probe that is due
 *     holds the timeout until its answer comes;
 *   - a stopping service gets SIGKILL when the grace period ends, and is over
 *     when its process was reaped and nothing else of its group is alive.
 */
#define _GNU_SOURCE
#include "svc.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

const struct svc_policy svc_default_policy = {
        .backoff_first_ms = 0,
        .backoff_base_ms = 1000,
        .backoff_max_ms = 30000,
        .min_interval_ms = 1000,
        .stable_ms = 10000,
        .stop_grace_ms = 3000,
        .kill_grace_ms = 2000,
        .probe_interval_ms = 50,
};

static int64_t min64(int64_t a, int64_t b) {
    return a < b ? a : b;
}

static int64_t max64(int64_t a, int64_t b) {
    return a > b ? a : b;
}

static int64_t now(const struct svc_sup *s) {
    return s->ops.now(s->ops.ctx);
}

static void event(struct svc_sup *s, int i, enum svc_event ev, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static void event(struct svc_sup *s, int i, enum svc_event ev, const char *fmt, ...) {
    char text[SVC_ERR_LEN + 64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    s->ops.event(s->ops.ctx, i, ev, text);
}

static bool is_alive(const struct svc *v) {
    return v->state == SVC_STARTING || v->state == SVC_READY || v->state == SVC_STOPPING;
}

unsigned svc_mask(const struct svc_sup *s, enum svc_state state) {
    unsigned m = 0;
    for (int i = 0; i < s->n; i++) {
        if (s->svcs[i].state == state)
            m |= 1u << i;
    }
    return m;
}

unsigned svc_alive_mask(const struct svc_sup *s) {
    unsigned m = 0;
    for (int i = 0; i < s->n; i++) {
        if (is_alive(&s->svcs[i]))
            m |= 1u << i;
    }
    return m;
}

static unsigned restart_mask(const struct svc_sup *s) {
    unsigned m = 0;
    for (int i = 0; i < s->n; i++) {
        if (s->svcs[i].restart)
            m |= 1u << i;
    }
    return m;
}

/* mask plus everything its members need, transitively. */
static unsigned needs_closure(const struct svc_sup *s, unsigned mask) {
    for (bool grew = true; grew;) {
        grew = false;
        for (int i = 0; i < s->n; i++) {
            if ((mask & (1u << i)) && (s->svcs[i].def->after & ~mask)) {
                mask |= s->svcs[i].def->after;
                grew = true;
            }
        }
    }
    return mask;
}

/* The services bound to i, transitively (not i itself). */
static unsigned bound_dependents(const struct svc_sup *s, int i) {
    unsigned mask = 1u << i;
    for (bool grew = true; grew;) {
        grew = false;
        for (int j = 0; j < s->n; j++) {
            if (!(mask & (1u << j)) && (s->svcs[j].def->bound & mask)) {
                mask |= 1u << j;
                grew = true;
            }
        }
    }
    return mask & ~(1u << i);
}

int64_t svc_backoff(const struct svc_policy *p, int fails) {
    if (fails <= 1)
        return p->backoff_first_ms;
    int64_t d = p->backoff_base_ms;
    for (int k = 2; k < fails && d < p->backoff_max_ms; k++)
        d *= 2;
    return min64(d, p->backoff_max_ms);
}

const char *svc_state_name(enum svc_state st) {
    switch (st) {
    case SVC_DOWN:
        return "down";
    case SVC_WAITING:
        return "waiting";
    case SVC_STARTING:
        return "starting";
    case SVC_READY:
        return "ready";
    case SVC_STOPPING:
        return "stopping";
    }
    return "?";
}

void svc_describe_status(int status, char *buf, size_t len) {
    if (WIFEXITED(status)) {
        snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
    } else if (WIFSIGNALED(status)) {
        const char *abbrev = sigabbrev_np(WTERMSIG(status));
        if (abbrev)
            snprintf(buf, len, "was killed by SIG%s", abbrev);
        else
            snprintf(buf, len, "was killed by signal %d", WTERMSIG(status));
    } else {
        snprintf(buf, len, "ended with wait status 0x%x", (unsigned)status);
    }
}

void svc_init(struct svc_sup *s, const struct svc_def *defs, int n, const struct svc_policy *policy,
        const struct svc_ops *ops) {
    memset(s, 0, sizeof *s);
    s->n = n < SVC_MAX ? n : SVC_MAX;
    s->policy = *policy;
    s->ops = *ops;
    for (int i = 0; i < s->n; i++)
        s->svcs[i].def = &defs[i];
}

static void fail(struct svc_sup *s, int i, int64_t t, const char *why) {
    struct svc *v = &s->svcs[i];
    /* A service that was up for a while failed once, not once more. */
    if (v->state == SVC_READY && t - v->ready_at >= s->policy.stable_ms)
        v->fails = 0;
    v->fails++;
    v->op_fails++;
    snprintf(v->error, sizeof v->error, "%s", why);
    event(s, i, SVC_EV_FAILED, "%s", why);
}

static void begin_stop(struct svc_sup *s, int i, int64_t t, bool failing) {
    struct svc *v = &s->svcs[i];
    v->state = SVC_STOPPING;
    v->failing = failing;
    v->killed = false;
    v->deadline = t + s->policy.stop_grace_ms;
    v->probe_due = false;
    if (v->pgid > 0)
        s->ops.kill(s->ops.ctx, i, v->pgid, SIGTERM);
}

void svc_start(struct svc_sup *s, unsigned mask) {
    int64_t t = now(s);
    mask = needs_closure(s, mask);
    for (int i = 0; i < s->n; i++) {
        struct svc *v = &s->svcs[i];
        if (!(mask & (1u << i)))
            continue;
        v->wanted = true;
        v->op_fails = 0;
        if (v->state == SVC_DOWN || v->state == SVC_WAITING) {
            /* Asked for now: whatever backoff was pending is forgiven. */
            v->fails = 0;
            v->fatal = false;
            v->error[0] = '\0';
            v->next_start = t;
        }
    }
}

void svc_stop_all(struct svc_sup *s) {
    for (int i = 0; i < s->n; i++) {
        struct svc *v = &s->svcs[i];
        v->wanted = false;
        v->restart = false;
        if (v->state == SVC_WAITING)
            v->state = SVC_DOWN;
    }
}

void svc_restart(struct svc_sup *s, int i) {
    if (i < 0 || i >= s->n)
        return;
    struct svc *v = &s->svcs[i];
    if (is_alive(v)) {
        v->wanted = true;
        v->restart = true;
        v->op_fails = 0;
        /* Its dependencies must be wanted too, or it could not come back. */
        svc_start(s, s->svcs[i].def->after);
    } else {
        svc_start(s, 1u << i);
    }
    /* What is bound to it was running and will be again afterwards. */
    unsigned deps = bound_dependents(s, i);
    for (int j = 0; j < s->n; j++) {
        if ((deps & (1u << j)) && is_alive(&s->svcs[j]))
            s->svcs[j].op_fails = 0;
    }
}

void svc_exited(struct svc_sup *s, pid_t pid, int status) {
    if (pid <= 0)
        return;
    int i;
    for (i = 0; i < s->n; i++) {
        if (s->svcs[i].pid == pid)
            break;
    }
    if (i == s->n)
        return;
    struct svc *v = &s->svcs[i];
    int64_t t = now(s);
    v->deaths[v->ndeaths % SVC_HISTORY] = (struct svc_death){t, status};
    v->ndeaths++;
    v->pid = 0;
    if (v->state == SVC_STOPPING)
        return;

    char how[96], why[SVC_ERR_LEN];
    svc_describe_status(status, how, sizeof how);
    unsigned ready = svc_mask(s, SVC_READY);
    if (v->state == SVC_STARTING) {
        snprintf(why, sizeof why, "%s before it was ready", how);
        fail(s, i, t, why);
        begin_stop(s, i, t, true);
        return;
    }
    /* READY. Losing a dependency first is not this service's failure. */
    snprintf(why, sizeof why, "%s after %.1f s", how, (double)(t - v->ready_at) / 1000.0);
    if ((v->def->bound & ready) == v->def->bound && v->def->no_restart) {
        event(s, i, SVC_EV_EXITED, "%s; not restarted (it restarts on request)", why);
        v->wanted = false;
        begin_stop(s, i, t, false);
    } else if ((v->def->bound & ready) == v->def->bound) {
        fail(s, i, t, why);
        begin_stop(s, i, t, true);
    } else {
        event(s, i, SVC_EV_EXITED, "%s", why);
        begin_stop(s, i, t, false);
    }
}

/* True when no service after i (in priority order) has anything alive. */
static bool later_all_gone(const struct svc_sup *s, int i) {
    for (int j = i + 1; j < s->n; j++) {
        if (is_alive(&s->svcs[j]))
            return false;
    }
    return true;
}

static bool must_stop(const struct svc_sup *s, int i) {
    const struct svc *v = &s->svcs[i];
    if (!v->wanted)
        return later_all_gone(s, i);
    if (v->restart)
        return (bound_dependents(s, i) & svc_alive_mask(s)) == 0;
    unsigned bound = v->def->bound;
    return (bound & ~svc_mask(s, SVC_READY)) || (bound & restart_mask(s));
}

static void finish_stop(struct svc_sup *s, int i, int64_t t) {
    struct svc *v = &s->svcs[i];
    v->pgid = 0;
    v->killed = false;
    event(s, i, SVC_EV_STOPPED, "%s", "");
    if (!v->wanted) {
        v->state = SVC_DOWN;
        v->restart = false;
    } else if (v->restart) {
        v->state = SVC_WAITING;
        v->restart = false;
        v->next_start = t;
    } else {
        v->state = SVC_WAITING;
        /* The throttle holds for every automatic restart; the backoff for failures. */
        int64_t delay = v->failing ? svc_backoff(&s->policy, v->fails) : 0;
        v->next_start = max64(t + delay, v->started_at + s->policy.min_interval_ms);
    }
    v->failing = false;
}

/* A stopping service: over once nothing of it is left; SIGKILL when the grace ends. */
static bool step_stopping(struct svc_sup *s, int i, int64_t t, int64_t *next) {
    struct svc *v = &s->svcs[i];
    if (v->pid == 0 && (v->pgid <= 0 || !s->ops.alive(s->ops.ctx, i, v->pgid))) {
        finish_stop(s, i, t);
        return true;
    }
    if (t >= v->deadline) {
        if (!v->killed) {
            s->ops.kill(s->ops.ctx, i, v->pgid, SIGKILL);
            v->killed = true;
            v->deadline = t + s->policy.kill_grace_ms;
            event(s, i, SVC_EV_KILLED, "still alive %lld ms after SIGTERM",
                    (long long)s->policy.stop_grace_ms);
        } else {
            /* Unkillable (uninterruptible sleep, another user): stop waiting. */
            event(s, i, SVC_EV_STUCK, "still alive %lld ms after SIGKILL",
                    (long long)s->policy.kill_grace_ms);
            v->pid = 0;
            finish_stop(s, i, t);
            return true;
        }
    }
    /* Strays of the group die without telling us: look again soon. */
    *next = min64(*next, min64(v->deadline, t + s->policy.probe_interval_ms));
    return false;
}

/* One step of service i; true when its state changed. */
static bool step(struct svc_sup *s, int i, int64_t t, int64_t *next) {
    struct svc *v = &s->svcs[i];
    const struct svc_def *d = v->def;
    char err[SVC_ERR_LEN];

    switch (v->state) {
    case SVC_DOWN:
        if (!v->wanted)
            return false;
        v->state = SVC_WAITING;
        return true;

    case SVC_WAITING: {
        if (!v->wanted) {
            v->state = SVC_DOWN;
            return true;
        }
        unsigned blocked = ~svc_mask(s, SVC_READY) | restart_mask(s);
        if (d->after & blocked)
            return false; /* woken by the dependency's own change */
        if (t < v->next_start) {
            *next = min64(*next, v->next_start);
            return false;
        }
        pid_t pid = 0;
        err[0] = '\0';
        v->started_at = t;
        v->starts++;
        int rc = s->ops.spawn(s->ops.ctx, i, &pid, err, sizeof err);
        if (rc < 0) {
            fail(s, i, t, err[0] ? err : "cannot start it");
            v->fatal = true;
            v->next_start = t + max64(svc_backoff(&s->policy, v->fails), s->policy.min_interval_ms);
            *next = min64(*next, v->next_start);
            return false;
        }
        v->pid = pid;
        v->pgid = pid;
        v->state = SVC_STARTING;
        v->deadline = t + d->ready_timeout_ms;
        v->next_probe = t;
        event(s, i, SVC_EV_SPAWNED, "pid %d", (int)pid);
        return true;
    }

    case SVC_STARTING:
    case SVC_READY:
        if (must_stop(s, i)) {
            begin_stop(s, i, t, false);
            return true;
        }
        if (v->state == SVC_READY) {
            if (v->fails > 0) {
                if (t - v->ready_at >= s->policy.stable_ms)
                    v->fails = 0;
                else
                    *next = min64(*next, v->ready_at + s->policy.stable_ms);
            }
            return false;
        }
        if (v->probe_due)
            return false; /* its probe runs: the deadline waits for the answer */
        if (t >= v->next_probe) {
            v->probe_due = true;
            return true;
        }
        if (t >= v->deadline) {
            snprintf(err, sizeof err, "not ready %lld ms after its start",
                    (long long)(t - v->started_at));
            fail(s, i, t, err);
            begin_stop(s, i, t, true);
            return true;
        }
        *next = min64(*next, min64(v->next_probe, v->deadline));
        return false;

    case SVC_STOPPING:
        return step_stopping(s, i, t, next);
    }
    return false;
}

unsigned svc_probes_due(const struct svc_sup *s) {
    unsigned m = 0;
    for (int i = 0; i < s->n; i++) {
        if (s->svcs[i].state == SVC_STARTING && s->svcs[i].probe_due)
            m |= 1u << i;
    }
    return m;
}

void svc_probed(struct svc_sup *s, int i, pid_t pid, int rc, const char *err) {
    if (i < 0 || i >= s->n)
        return;
    struct svc *v = &s->svcs[i];
    if (v->state != SVC_STARTING || !v->probe_due || v->pid != pid || pid <= 0)
        return;
    int64_t t = now(s);
    v->probe_due = false;
    if (rc > 0) {
        v->state = SVC_READY;
        v->ready_at = t;
        v->error[0] = '\0';
        v->fatal = false;
        event(s, i, SVC_EV_READY, "%lld ms after its start", (long long)(t - v->started_at));
    } else if (rc < 0) {
        fail(s, i, t, err && err[0] ? err : "its readiness check failed");
        begin_stop(s, i, t, true);
    } else {
        v->next_probe = t + s->policy.probe_interval_ms;
    }
}

int64_t svc_tick(struct svc_sup *s) {
    int64_t t = now(s);
    int64_t next = INT64_MAX;
    /* A change can unblock a service before it (a stop) or after it (a start). */
    bool changed = true;
    for (int pass = 0; changed && pass < 4 * SVC_MAX; pass++) {
        changed = false;
        next = INT64_MAX;
        for (int i = 0; i < s->n; i++)
            changed |= step(s, i, t, &next);
    }
    /* Still settling (cannot happen with sane definitions): come back at once. */
    return changed ? t : next;
}
