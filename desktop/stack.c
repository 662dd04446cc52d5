/*
 * stack: the desktop's operations for the process routes — start, stop and
 * restart, each run to its end by one operation runner that applies the
 * conflict rules — and what the routes read: the status snapshot, the logs,
 * the VNC access. It also sets the desktop up (stack_init) and takes it down
 * (stack_finish).
 *
 * It forks nothing and probes nothing: the supervisor thread (jobs.c,
 * supervisor.c) does, and an operation only changes what svc wants, wakes
 * that thread and waits on stk.changed until the desktop is where it asked.
 *
 * Conflict rules: start joins a start in progress; stop always runs and ends
 * a start or restart in progress (they answer CONFLICT); a start or restart
 * during a stop, or a restart during anything, answers CONFLICT.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "a11y-bus.h"
#include "jobs.h"
#include "log.h"
#include "stack-int.h"
#include "util.h"

#define START_TIMEOUT_MS   90000
#define STOP_TIMEOUT_MS    60000
#define RESTART_TIMEOUT_MS 60000
/* An operation gives up on a process after this many failed attempts (at once for spawn errors). */
#define OP_MAX_FAILS 3

struct stack_state stk;

int stack_init(const struct stack_config *c, char *err, size_t errlen) {
    stk.t_init = util_mono_ms();
    pthread_mutex_init(&stk.lock, NULL);
    pthread_mutex_init(&stk.status_lock, NULL);
    util_cond_init_monotonic(&stk.changed);
    snprintf(stk.display, sizeof stk.display, "%s", c->display ? c->display : ":1");
    for (int i = 0; i < services_n; i++) {
        size_t n = strlen(stk.names);
        snprintf(stk.names + n, sizeof stk.names - n, "%s%s", i ? ", " : "", services[i].name);
    }
    stk.managed = !c->attach;
    /* Attached, the job layer still runs deskd's own children (ffmpeg for recordings). */
    if (!stk.managed)
        return jobs_init(NULL, err, errlen) < 0 ? -1 : 0;
    if (stack_config_check(c, err, errlen) < 0 ||
            statedir_init(&stk.dir, c->state_dir, err, errlen) < 0 ||
            statedir_password(c->vnc_password, c->password_file, stk.password, err, errlen) < 0)
        return -1;
    snprintf(stk.path_env, sizeof stk.path_env, "%s",
            util_env_or("PATH", "/usr/local/bin:/usr/bin:/bin"));
    unsigned rnd = 0;
    if (getentropy(&rnd, sizeof rnd) < 0)
        rnd = (unsigned)util_mono_ms();
    snprintf(stk.stack_id, sizeof stk.stack_id, "%d.%08x", (int)getpid(), rnd);
    statedir_sweep_orphans();
    if (!(stk.gate = vnc_gate_start(stk.vnc.vnc_port, err, errlen)))
        return -1;
    stk.vnc.gate_port = vnc_gate_port(stk.gate);
    if (supervisor_init(c->autostart, err, errlen) < 0)
        return -1;
    log_msg(LOG_INFO, "supervising the desktop on %s (%dx%d), VNC port %d, noVNC port %d%s",
            stk.display, stk.width, stk.height, stk.vnc.vnc_port, stk.vnc.novnc_port,
            c->autostart ? "" : "; not started yet");
    return 0;
}

void stack_quiesce(void) {
    if (!stk.running)
        return;
    pthread_mutex_lock(&stk.lock);
    stk.quiescing = true;
    pthread_cond_broadcast(&stk.changed);
    pthread_mutex_unlock(&stk.lock);
}

void stack_finish(void) {
    if (!stk.running) {
        jobs_finish();
        return;
    }
    supervisor_finish();
    unsigned long failures = 0, refused = 0;
    vnc_gate_counts(stk.gate, &failures, &refused);
    if (failures)
        log_msg(LOG_INFO,
                "VNC gate: %lu failed VNC authentications, %lu connections refused for "
                "the rate limit",
                failures, refused);
    vnc_gate_stop(stk.gate);
    unlink(stk.dir.passwd_path);
    explicit_bzero(stk.password, sizeof stk.password);
    log_msg(LOG_INFO, "desktop stopped");
}

/* ---- operations for the routes ---- */

static const char *op_name(enum stack_op op) {
    static const char *const names[] = {[OP_NONE] = "nothing",
            [OP_START] = "a start",
            [OP_STOP] = "a stop",
            [OP_RESTART] = "a restart"};
    return names[op];
}

/* Waits for a change until deadline (monotonic ms). Under the lock. */
static void wait_change(int64_t deadline) {
    int64_t left = util_ms_left(deadline);
    if (left == 0)
        return;
    struct timespec ts = util_abstime(CLOCK_MONOTONIC, left > 1000 ? 1000 : left);
    pthread_cond_timedwait(&stk.changed, &stk.lock, &ts);
}

/* Appends "; " separated text to msg. */
static void append(char *msg, size_t len, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void append(char *msg, size_t len, const char *fmt, ...) {
    size_t used = strlen(msg);
    if (used + 3 >= len)
        return;
    if (used) {
        snprintf(msg + used, len - used, "; ");
        used += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + used, len - used, fmt, ap);
    va_end(ap);
}

/* Why each service of mask is not ready. Under the lock. */
static void describe(unsigned mask, char *msg, size_t len) {
    unsigned ready = svc_mask(&stk.sup, SVC_READY);
    for (int i = 0; i < services_n; i++) {
        const struct svc *v = &stk.sup.svcs[i];
        if (!(mask & (1u << i)) || v->state == SVC_READY)
            continue;
        unsigned blocked = v->def->after & ~ready;
        if (v->error[0]) {
            append(msg, len, "%s: %s", services[i].name, v->error);
        } else if (blocked) {
            char deps[64] = "";
            for (int j = 0; j < services_n; j++) {
                if (blocked & (1u << j))
                    snprintf(deps + strlen(deps), sizeof deps - strlen(deps), "%s%s",
                            deps[0] ? " and " : "", services[j].name);
            }
            append(msg, len, "%s: waiting for %s", services[i].name, deps);
        } else {
            append(msg, len, "%s: %s, not ready yet", services[i].name, svc_state_name(v->state));
        }
    }
}

/* True when a service of mask failed too often (or could not be spawned) during this operation. */
static bool gave_up(unsigned mask) {
    for (int i = 0; i < services_n; i++) {
        const struct svc *v = &stk.sup.svcs[i];
        if ((mask & (1u << i)) && v->state != SVC_READY &&
                ((v->fatal && v->op_fails > 0) || v->op_fails >= OP_MAX_FAILS))
            return true;
    }
    return false;
}

/* One operation in progress, as its runner sees it. */
struct op {
    enum stack_op kind;
    int target;      /* restart: the service */
    unsigned want;   /* start, restart: what must be ready at the end */
    unsigned starts; /* restart: the target's start count before it */
    unsigned gen;
    int64_t deadline;
};

/* 409 when o may not run now (the conflict rules above). Under the lock. */
static bool conflicts(const struct op *o, char *msg, size_t len) {
    enum stack_op cur = stk.op;
    bool busy = o->kind == OP_START     ? cur == OP_STOP || cur == OP_RESTART
                : o->kind == OP_RESTART ? cur != OP_NONE
                                        : false;
    if (!busy)
        return false;
    const char *of = cur == OP_RESTART ? services[stk.op_target].name : "";
    if (o->kind == OP_START)
        snprintf(msg, len, "cannot start now: %s is in progress%s%s; try again when it is done",
                op_name(cur), *of ? " of " : "", of);
    else
        snprintf(msg, len,
                "cannot restart %s now: %s%s%s is in progress; try again when it is done",
                services[o->target].name, op_name(cur), *of ? " of " : "", of);
    return true;
}

/* Makes svc want what o asks for (a start joins a start). Under the lock. */
static void begin(struct op *o) {
    if (o->kind == OP_START) {
        o->want = services_all();
        o->deadline = util_mono_ms() + START_TIMEOUT_MS;
        if (stk.op == OP_START)
            return;
        stk.op_gen++;
        svc_start(&stk.sup, o->want);
    } else if (o->kind == OP_STOP) {
        o->deadline = util_mono_ms() + STOP_TIMEOUT_MS;
        if (stk.op == OP_STOP)
            return;
        if (stk.op != OP_NONE)
            stk.preempted_gen = stk.op_gen;
        stk.op_gen++;
        svc_stop_all(&stk.sup);
    } else {
        int i = o->target;
        o->deadline = util_mono_ms() + RESTART_TIMEOUT_MS;
        o->starts = stk.sup.svcs[i].starts;
        stk.op_target = i;
        stk.op_gen++;
        /* What must be ready afterwards: it, what runs bound to it (transitively: atspi on
         * xfce4 on xvfb), and what it needs. */
        o->want = 1u << i;
        for (bool grew = true; grew;) {
            grew = false;
            for (int j = 0; j < services_n; j++) {
                const struct svc *v = &stk.sup.svcs[j];
                if (!(o->want & (1u << j)) && (v->def->bound & o->want) && v->wanted) {
                    o->want |= 1u << j;
                    grew = true;
                }
            }
        }
        svc_restart(&stk.sup, i);
        for (int j = 0; j < services_n; j++) {
            if (stk.sup.svcs[j].wanted && (stk.sup.svcs[i].def->after & (1u << j)))
                o->want |= 1u << j;
        }
    }
    stk.op = o->kind;
    jobs_wake();
}

/* True when o reached its end; res and msg say how. Under the lock. */
static bool finished(const struct op *o, enum stack_result *res, char *msg, size_t len) {
    const char *name = o->kind == OP_RESTART ? services[o->target].name : "";
    if (o->kind != OP_STOP && stk.preempted_gen == o->gen) {
        if (o->kind == OP_START)
            snprintf(msg, len, "the start was interrupted by a stop");
        else
            snprintf(msg, len, "the restart of %s was interrupted by a stop", name);
        *res = STACK_CONFLICT;
        return true;
    }
    unsigned ready = svc_mask(&stk.sup, SVC_READY);
    bool done = o->kind == OP_STOP    ? svc_alive_mask(&stk.sup) == 0
                : o->kind == OP_START ? ready == o->want
                                      : stk.sup.svcs[o->target].starts > o->starts &&
                                                (ready & o->want) == o->want;
    *res = STACK_OK;
    if (done)
        return true;
    if (stk.quiescing) {
        snprintf(msg, len, "deskd is shutting down");
        *res = STACK_SHUTDOWN;
        return true;
    }
    bool late = util_mono_ms() >= o->deadline;
    if (o->kind == OP_STOP && late) {
        snprintf(msg, len, "the desktop did not stop within %d s", STOP_TIMEOUT_MS / 1000);
        *res = STACK_NOT_READY;
        return true;
    }
    if (o->kind != OP_STOP && (late || gave_up(o->want))) {
        if (o->kind == OP_START)
            snprintf(msg, len, "the desktop did not become ready: ");
        else
            snprintf(msg, len, "%s did not become ready again: ", name);
        describe(o->want, msg + strlen(msg), len - strlen(msg));
        *res = STACK_NOT_READY;
        return true;
    }
    return false;
}

static enum stack_result run(enum stack_op kind, int target, char *msg, size_t len) {
    msg[0] = '\0';
    if (!stk.managed) {
        snprintf(msg, len,
                "deskd is attached to an existing display (--attach); it does not manage desktop "
                "processes");
        return STACK_ATTACHED;
    }
    pthread_mutex_lock(&stk.lock);
    if (stk.quiescing) {
        pthread_mutex_unlock(&stk.lock);
        snprintf(msg, len, "deskd is shutting down");
        return STACK_SHUTDOWN;
    }
    struct op o = {.kind = kind, .target = target};
    if (conflicts(&o, msg, len)) {
        pthread_mutex_unlock(&stk.lock);
        return STACK_CONFLICT;
    }
    begin(&o);
    o.gen = stk.op_gen;
    enum stack_result res;
    while (!finished(&o, &res, msg, len))
        wait_change(o.deadline);
    /* The operation ends unless a newer one took over. */
    if (stk.op_gen == o.gen)
        stk.op = OP_NONE;
    pthread_mutex_unlock(&stk.lock);
    return res;
}

enum stack_result stack_start(char *msg, size_t len) {
    return run(OP_START, -1, msg, len);
}

enum stack_result stack_stop(char *msg, size_t len) {
    return run(OP_STOP, -1, msg, len);
}

enum stack_result stack_restart(int i, char *msg, size_t len) {
    if (i < 0 || i >= services_n) {
        snprintf(msg, len, "no such process");
        return STACK_NOT_READY;
    }
    return run(OP_RESTART, i, msg, len);
}

/* ---- what the routes read ---- */

void stack_publish(void) {
    pthread_mutex_lock(&stk.status_lock);
    for (int i = 0; i < services_n; i++) {
        const struct svc *v = &stk.sup.svcs[i];
        stk.status[i] = (struct stack_status){services[i].name, v->def->priority,
                v->state == SVC_READY, !services[i].no_restart, v->pid};
    }
    pthread_mutex_unlock(&stk.status_lock);
}

int stack_snapshot(struct stack_status out[STACK_MAX]) {
    if (!stk.managed) {
        for (int i = 0; i < services_n; i++)
            out[i] = (struct stack_status){services[i].name, services[i].priority, false, false, 0};
        return services_n;
    }
    /* Not stk.lock: the supervisor holds that while it forks. */
    pthread_mutex_lock(&stk.status_lock);
    memcpy(out, stk.status, (size_t)services_n * sizeof out[0]);
    pthread_mutex_unlock(&stk.status_lock);
    /* Daytona's atspi: running is the bus's health (cached 2 s, 100 ms at most), no pid. */
    int a = services_find("atspi");
    if (a >= 0) {
        out[a].running = out[a].running && a11y_bus_healthy(stk.session_bus);
        out[a].pid = 0;
    }
    return services_n;
}

const char *stack_session_bus(void) {
    return stk.managed ? stk.session_bus : getenv("DBUS_SESSION_BUS_ADDRESS");
}

int stack_find(const char *name) {
    return services_find(name);
}

const char *stack_name(int i) {
    return i >= 0 && i < services_n ? services[i].name : "?";
}

const char *stack_names(void) {
    return stk.names;
}

char *stack_log(int i, bool errors, size_t *len) {
    if (!stk.managed || i < 0 || i >= services_n) {
        *len = 0;
        return strdup("");
    }
    const struct stack_proc *p = &stk.procs[i];
    return proc_log_read(errors ? p->err_path : p->log_path, 2 * STACK_LOG_CAP, len);
}

bool stack_rfb(int *vnc_port, char *password, size_t len, const char **web_dir) {
    if (!stk.managed)
        return false;
    snprintf(password, len, "%s", stk.password);
    *vnc_port = stk.vnc.vnc_port;
    *web_dir = stk.vnc.web_dir;
    return true;
}

bool stack_vnc(char *password, size_t len, int *novnc_port, const char **novnc_host) {
    if (!stk.managed)
        return false;
    snprintf(password, len, "%s", stk.password);
    *novnc_port = stk.vnc.novnc_port;
    *novnc_host = stk.novnc_host;
    return true;
}
