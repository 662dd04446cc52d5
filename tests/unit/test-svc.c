/*
 * The services table (services.c): names, order, dependencies, command lines.
 * The supervisor's state machine (svc.c) with fake processes and a fake clock:
 * start order and readiness waits, readiness timeouts, backoff growth and cap,
 * the throttle, failure counts that start over after a stable run, dependency
 * restarts, restart requests, stop order and TERM -> KILL escalation, strays,
 * spawn errors. Then the real pieces that need no X: proc.c (spawn in a new
 * session, no leaked descriptors, exec errors, marker kills, capped logs,
 * UTF-8 cleaning) and vnc.c (command lines, passwords, readiness probes).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "proc.h"
#include "services.h"
#include "svc.h"
#include "util.h"
#include "vnc.h"

/* ---- the fake world ---- */

/* The indices of the real table (services.c); test_table checks they still hold. */
enum { XVFB, XFCE4, ATSPI, X11VNC, NOVNC, N };

static struct svc_def defs[SVC_MAX];

struct fproc {
    pid_t pid;
    bool alive;       /* the leader, until its exit is delivered */
    bool exit_queued; /* it died; svc_exited not called yet */
    int status;
    bool strays;   /* other members of its group still alive */
    bool deaf;     /* ignores SIGTERM */
    bool immortal; /* ignores SIGKILL too */
    bool crash_at_spawn;
    int64_t spawned_at;
    int64_t ready_after; /* probe says ready this long after the spawn; < 0: never */
    int probe_error;     /* the probe answers this (negative) instead */
    int spawn_error;     /* the spawn fails with this (negative) */
    int probes;
    int64_t spawn_times[64];
    int nspawn;
    int64_t ready_time, term_time, kill_time;
};

static struct fake {
    int64_t now;
    pid_t next_pid;
    struct fproc p[N];
    char trace[8192]; /* "spawn xvfb@0 ready xvfb@50 ..." */
    int events[8];
} F;

static void trace(const char *what, int i) {
    size_t n = strlen(F.trace);
    snprintf(F.trace + n, sizeof F.trace - n, "%s%s %s@%lld", n ? " " : "", what, defs[i].name,
            (long long)F.now);
}

static int64_t f_now(void *ctx) {
    (void)ctx;
    return F.now;
}

static int f_spawn(void *ctx, int i, pid_t *pid, char *err, size_t errlen) {
    (void)ctx;
    struct fproc *p = &F.p[i];
    if (p->spawn_error) {
        snprintf(err, errlen, "fake spawn error %d", p->spawn_error);
        trace("spawnfail", i);
        return p->spawn_error;
    }
    p->pid = *pid = F.next_pid++;
    p->alive = true;
    p->exit_queued = false;
    p->spawned_at = F.now;
    if (p->nspawn < 64)
        p->spawn_times[p->nspawn] = F.now;
    p->nspawn++;
    trace("spawn", i);
    if (p->crash_at_spawn) {
        p->exit_queued = true;
        p->status = 1 << 8; /* exited with status 1 */
    }
    return 0;
}

static void f_kill(void *ctx, int i, pid_t pgid, int sig) {
    (void)ctx;
    struct fproc *p = &F.p[i];
    CHECK(pgid == p->pid || !p->alive, "signals go to the group of %s (pgid %d, pid %d)",
            defs[i].name, (int)pgid, (int)p->pid);
    trace(sig == SIGKILL ? "KILL" : "TERM", i);
    if (sig == SIGTERM)
        p->term_time = F.now;
    else
        p->kill_time = F.now;
    if (p->immortal || (sig == SIGTERM && p->deaf))
        return;
    if (p->alive && !p->exit_queued) {
        p->exit_queued = true;
        p->status = sig; /* killed by sig */
    }
    p->strays = false;
}

static bool f_alive(void *ctx, int i, pid_t pgid) {
    (void)ctx;
    (void)pgid;
    return F.p[i].alive || F.p[i].strays;
}

static int f_ready(void *ctx, int i, pid_t pid, char *err, size_t errlen) {
    (void)ctx;
    struct fproc *p = &F.p[i];
    CHECK_INT(pid, p->pid);
    p->probes++;
    if (p->probe_error) {
        snprintf(err, errlen, "fake probe error");
        return p->probe_error;
    }
    if (p->ready_after < 0 || F.now - p->spawned_at < p->ready_after)
        return 0;
    p->ready_time = F.now;
    trace("ready", i);
    return 1;
}

static void f_event(void *ctx, int i, enum svc_event ev, const char *text) {
    (void)ctx;
    (void)i;
    (void)text;
    F.events[ev]++;
}

static const struct svc_ops fops = {NULL, f_now, f_spawn, f_kill, f_alive, f_event};

/*
 * svc_tick, then the probes it asks for and their reports, the way the
 * supervisor thread runs them (there with its lock released), until none is
 * due. Returns when the machine wants the next tick.
 */
static int64_t tick(struct svc_sup *s) {
    int64_t next = svc_tick(s);
    for (unsigned due; (due = svc_probes_due(s)) != 0;) {
        for (int i = 0; i < N; i++) {
            if (!(due & (1u << i)))
                continue;
            char err[SVC_ERR_LEN] = "";
            pid_t pid = s->svcs[i].pid;
            int rc = f_ready(NULL, i, pid, err, sizeof err);
            svc_probed(s, i, pid, rc, err);
        }
        next = svc_tick(s);
    }
    return next;
}

static void fake_reset(struct svc_sup *s) {
    memset(&F, 0, sizeof F);
    F.now = 0;
    F.next_pid = 1000;
    for (int i = 0; i < N; i++)
        F.p[i].ready_after = 50;
    services_defs(defs);
    svc_init(s, defs, N, &svc_default_policy, &fops);
}

/* Delivers queued deaths (leaders first reaped, like waitpid would). */
static void deliver(struct svc_sup *s) {
    for (int i = 0; i < N; i++) {
        struct fproc *p = &F.p[i];
        if (p->exit_queued) {
            p->exit_queued = false;
            p->alive = false;
            svc_exited(s, p->pid, p->status);
        }
    }
}

/* Runs the machine until pred holds or the fake clock passes limit. */
static bool run_until(struct svc_sup *s, bool (*pred)(struct svc_sup *), int64_t limit) {
    for (int guard = 0; guard < 100000; guard++) {
        deliver(s);
        int64_t next = tick(s);
        if (pred(s))
            return true;
        bool queued = false;
        for (int i = 0; i < N; i++)
            queued |= F.p[i].exit_queued;
        if (queued)
            continue;
        int64_t step = next == INT64_MAX ? 1000 : next - F.now;
        if (step > 1000)
            step = 1000;
        if (step < 1)
            step = 1;
        if (F.now >= limit)
            return false;
        F.now += step;
    }
    return false;
}

static bool all_ready(struct svc_sup *s) {
    return svc_mask(s, SVC_READY) == (1u << N) - 1;
}

static bool all_down(struct svc_sup *s) {
    return svc_mask(s, SVC_DOWN) == (1u << N) - 1;
}

static int target_i, target_count;
static bool spawned_n_times(struct svc_sup *s) {
    (void)s;
    return F.p[target_i].nspawn >= target_count;
}

static bool xvfb_ready(struct svc_sup *s) {
    return s->svcs[XVFB].state == SVC_READY;
}

static void crash(int i, int status) {
    F.p[i].exit_queued = true;
    F.p[i].status = status;
}

/* ---- the table ---- */

static void test_table(void) {
    CHECK_INT(services_n, N);
    CHECK_INT(services_find("xvfb"), XVFB);
    CHECK_INT(services_find("xfce4"), XFCE4);
    CHECK_INT(services_find("x11vnc"), X11VNC);
    CHECK_INT(services_find("novnc"), NOVNC);
    CHECK_INT(services_find("Xvfb"), -1);
    CHECK_INT(services_all(), (1u << N) - 1);
    struct svc_def d[SVC_MAX];
    services_defs(d);
    /* What the desktop's order rests on: xvfb first, novnc after x11vnc, all bound to xvfb. */
    CHECK_INT(d[XVFB].after, 0);
    CHECK_INT(d[XFCE4].after, 1u << XVFB);
    CHECK_INT(d[XFCE4].bound, 1u << XVFB);
    CHECK_INT(d[X11VNC].bound, 1u << XVFB);
    CHECK_INT(d[NOVNC].after, (1u << XVFB) | (1u << X11VNC));
    CHECK_INT(d[NOVNC].bound, 1u << XVFB);
    CHECK_INT(d[ATSPI].after, 1u << XFCE4);
    CHECK_INT(d[ATSPI].bound, 1u << XFCE4);
    CHECK(d[ATSPI].no_restart && !d[XFCE4].no_restart, "only atspi is not restarted");
    static const int prio[N] = {100, 200, 250, 300, 400};
    for (int i = 0; i < N; i++) {
        CHECK_INT(d[i].priority, prio[i]);
        CHECK(services[i].exe && services[i].package && services[i].argv && services[i].probe,
                "%s has an executable, a package, a command line and a probe", services[i].name);
        CHECK(d[i].ready_timeout_ms >= 15000, "%s: ready timeout", services[i].name);
    }
    CHECK_INT(d[XFCE4].ready_timeout_ms, 45000);

    /* The command lines, from the configuration. */
    struct vnc_config vc = {.display = ":7",
            .vnc_port = 5907,
            .novnc_port = 6087,
            .novnc_host = "",
            .web_dir = "/usr/share/novnc",
            .passwd_file = "/tmp/x"};
    struct service_env e = {.display = ":7",
            .display_num = 7,
            .width = 800,
            .height = 600,
            .vnc = &vc,
            .password = "abc"};
    struct service_argv a;
    services[XVFB].argv(&e, &a);
    char line[512] = "";
    for (int k = 0; a.argv[k]; k++)
        snprintf(line + strlen(line), sizeof line - strlen(line), "%s%s", k ? " " : "", a.argv[k]);
    CHECK_STR(line, "Xvfb :7 -screen 0 800x600x24 -nolisten tcp -noreset -s 0 -dpms");
    services[XFCE4].argv(&e, &a);
    CHECK_STR(a.argv[0], "dbus-run-session");
    CHECK_STR(a.argv[3], "xfce4-session");
    services[ATSPI].argv(&e, &a);
    CHECK_STR(a.argv[1], "--launch-immediately");
    services[NOVNC].argv(&e, &a);
    CHECK_STR(a.argv[0], "websockify");
}

/*
 * The machine asks for probes instead of running them: a probe that is due
 * holds the readiness timeout until it is reported, a stale report (an older
 * instance) is ignored, and a service being stopped drops its probe.
 */
static void test_probe_reports(void) {
    struct svc_sup s;
    fake_reset(&s);
    svc_start(&s, 1u << XVFB);
    svc_tick(&s);
    CHECK_INT(s.svcs[XVFB].state, SVC_STARTING);
    CHECK_INT(svc_probes_due(&s), 1u << XVFB);
    pid_t pid = s.svcs[XVFB].pid;
    /* A slow probe: the deadline passes while it runs, and waits for its answer. */
    F.now = 20000;
    svc_tick(&s);
    CHECK_INT(s.svcs[XVFB].state, SVC_STARTING);
    svc_probed(&s, XVFB, pid + 1, 1, NULL); /* not this instance */
    CHECK_INT(s.svcs[XVFB].state, SVC_STARTING);
    CHECK_INT(svc_probes_due(&s), 1u << XVFB);
    svc_probed(&s, XVFB, pid, 1, NULL);
    CHECK_INT(s.svcs[XVFB].state, SVC_READY);
    CHECK_INT(svc_probes_due(&s), 0);
    svc_probed(&s, XVFB, pid, -EPROTO, "late"); /* reported twice: ignored */
    CHECK_INT(s.svcs[XVFB].state, SVC_READY);

    /* A stop while a probe runs: the probe is dropped, its answer ignored. */
    fake_reset(&s);
    svc_start(&s, 1u << XVFB);
    svc_tick(&s);
    pid = s.svcs[XVFB].pid;
    svc_stop_all(&s);
    svc_tick(&s);
    CHECK_INT(s.svcs[XVFB].state, SVC_STOPPING);
    CHECK_INT(svc_probes_due(&s), 0);
    svc_probed(&s, XVFB, pid, 1, NULL);
    CHECK_INT(s.svcs[XVFB].state, SVC_STOPPING);
}

/* ---- state machine tests ---- */

static void test_start_order(void) {
    struct svc_sup s;
    fake_reset(&s);
    F.p[XVFB].ready_after = 500;
    F.p[X11VNC].ready_after = 300;
    svc_start(&s, 1u << NOVNC); /* novnc alone pulls in what it needs */
    CHECK(run_until(&s, all_ready, 60000) == false, "xfce4 is not needed by novnc");
    CHECK_INT(s.svcs[XFCE4].state, SVC_DOWN);
    CHECK_INT(svc_mask(&s, SVC_READY), (1u << XVFB) | (1u << X11VNC) | (1u << NOVNC));

    fake_reset(&s);
    F.p[XVFB].ready_after = 500;
    F.p[X11VNC].ready_after = 300;
    svc_start(&s, (1u << N) - 1);
    CHECK(run_until(&s, all_ready, 60000), "all ready: %s", F.trace);
    /* Readiness, not sleeps: each starts the moment what it needs is ready. */
    CHECK_INT(F.p[XVFB].spawn_times[0], 0);
    CHECK_INT(F.p[XVFB].ready_time, 500);
    CHECK_INT(F.p[XFCE4].spawn_times[0], 500);
    CHECK_INT(F.p[X11VNC].spawn_times[0], 500);
    CHECK_INT(F.p[X11VNC].ready_time, 800);
    CHECK_INT(F.p[NOVNC].spawn_times[0], 800);
    CHECK_INT(F.p[NOVNC].ready_time, 850);
    /* Probed every probe interval: 500 ms / 50 ms, plus the first at 0. */
    CHECK_INT(F.p[XVFB].probes, 11);
    CHECK_STR(F.trace, "spawn xvfb@0 ready xvfb@500 spawn xfce4@500 spawn x11vnc@500 ready "
                       "xfce4@550 spawn atspi@550 ready atspi@600 ready x11vnc@800 spawn "
                       "novnc@800 ready novnc@850");
    /* start is idempotent: nothing new happens. */
    int spawns = F.p[XVFB].nspawn + F.p[XFCE4].nspawn + F.p[X11VNC].nspawn + F.p[NOVNC].nspawn;
    svc_start(&s, (1u << N) - 1);
    F.now += 5000;
    tick(&s);
    CHECK_INT(
            F.p[XVFB].nspawn + F.p[XFCE4].nspawn + F.p[X11VNC].nspawn + F.p[NOVNC].nspawn, spawns);
}

static void test_ready_timeout(void) {
    struct svc_sup s;
    fake_reset(&s);
    F.p[XVFB].ready_after = -1; /* never */
    svc_start(&s, 1u << XVFB);
    target_i = XVFB;
    target_count = 2;
    CHECK(run_until(&s, spawned_n_times, 60000), "respawned after the timeout: %s", F.trace);
    CHECK_INT(F.p[XVFB].term_time, 15000);
    CHECK_INT(s.svcs[XVFB].fails, 1);
    CHECK(strstr(s.svcs[XVFB].error, "not ready 15000 ms after its start"), "error: %s",
            s.svcs[XVFB].error);
    /* First retry at once (the throttle of 1 s since its start has long passed). */
    CHECK_INT(F.p[XVFB].spawn_times[1], 15000);

    /* A probe that says "never" fails it at once. */
    fake_reset(&s);
    F.p[XVFB].probe_error = -EPROTO;
    svc_start(&s, 1u << XVFB);
    F.now = 0;
    tick(&s);
    CHECK_INT(s.svcs[XVFB].state, SVC_STOPPING);
    CHECK_STR(s.svcs[XVFB].error, "fake probe error");
}

static void test_backoff(void) {
    const struct svc_policy *p = &svc_default_policy;
    CHECK_INT(svc_backoff(p, 1), 0);
    CHECK_INT(svc_backoff(p, 2), 1000);
    CHECK_INT(svc_backoff(p, 3), 2000);
    CHECK_INT(svc_backoff(p, 4), 4000);
    CHECK_INT(svc_backoff(p, 6), 16000);
    CHECK_INT(svc_backoff(p, 7), 30000);
    CHECK_INT(svc_backoff(p, 50), 30000);

    /* A crash loop: it dies at once, every time. */
    struct svc_sup s;
    fake_reset(&s);
    F.p[XVFB].crash_at_spawn = true;
    svc_start(&s, 1u << XVFB);
    target_i = XVFB;
    target_count = 10;
    CHECK(run_until(&s, spawned_n_times, 600000), "ten attempts: %s", F.trace);
    /* Intervals: the 1 s throttle, then 1 s, 2 s, 4 s ... capped at 30 s. */
    static const int64_t want[] = {1000, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000};
    for (int k = 0; k < 9; k++) {
        int64_t d = F.p[XVFB].spawn_times[k + 1] - F.p[XVFB].spawn_times[k];
        CHECK(d == want[k], "interval %d is %lld ms, expected %lld", k, (long long)d,
                (long long)want[k]);
    }
    CHECK(s.svcs[XVFB].op_fails >= 9, "op_fails %d", s.svcs[XVFB].op_fails);
    CHECK(strstr(s.svcs[XVFB].error, "exited with status 1 before it was ready"), "error: %s",
            s.svcs[XVFB].error);

    /* An explicit start forgives the pending backoff. */
    F.p[XVFB].crash_at_spawn = false;
    deliver(&s);
    tick(&s);
    int64_t t = F.now;
    svc_start(&s, 1u << XVFB);
    CHECK(run_until(&s, xvfb_ready, t + 60000), "ready");
    CHECK(F.p[XVFB].spawn_times[F.p[XVFB].nspawn - 1] - t <= 1000, "restarted within 1 s");

    /* After a stable run the count starts over: the next crash restarts at once. */
    fake_reset(&s);
    svc_start(&s, 1u << XVFB);
    target_i = XVFB;
    target_count = 1;
    run_until(&s, spawned_n_times, 1000);
    F.p[XVFB].crash_at_spawn = true; /* two quick failures: fails = 2 */
    crash(XVFB, 1 << 8);
    target_count = 3;
    run_until(&s, spawned_n_times, 100000);
    CHECK_INT(s.svcs[XVFB].fails, 2);
    F.p[XVFB].crash_at_spawn = false;
    CHECK(run_until(&s, xvfb_ready, 100000), "ready again");
    F.now += 20000; /* ready for 20 s: stable */
    tick(&s);
    CHECK_INT(s.svcs[XVFB].state, SVC_READY);
    CHECK_INT(s.svcs[XVFB].fails, 0);
    int64_t crash_at = F.now;
    crash(XVFB, SIGKILL);
    target_count = 5;
    run_until(&s, spawned_n_times, crash_at + 60000);
    CHECK_INT(F.p[XVFB].spawn_times[4] - crash_at, 0);
    CHECK_INT(s.svcs[XVFB].fails, 1);
}

static bool xvfb_restarted_all_ready(struct svc_sup *s) {
    return F.p[XVFB].nspawn >= 2 && all_ready(s);
}

static void test_dependency_restart(void) {
    struct svc_sup s;
    fake_reset(&s);
    svc_start(&s, (1u << N) - 1);
    CHECK(run_until(&s, all_ready, 60000), "ready");
    F.now = 20000;
    tick(&s);
    F.trace[0] = '\0';
    F.p[XVFB].ready_after = 400;
    /* Xvfb dies; its clients die of it too, in the same batch. */
    crash(XVFB, SIGKILL);
    crash(XFCE4, 1 << 8);
    CHECK(run_until(&s, xvfb_restarted_all_ready, 80000), "back: %s", F.trace);
    /* Its dependents were stopped and came back only once it was ready again. */
    CHECK_INT(F.p[XFCE4].nspawn, 2);
    CHECK_INT(F.p[X11VNC].nspawn, 2);
    CHECK_INT(F.p[NOVNC].nspawn, 2);
    CHECK_INT(F.p[X11VNC].term_time, 20000);
    CHECK_INT(F.p[NOVNC].term_time, 20000);
    CHECK_INT(F.p[XVFB].spawn_times[1], 20000);
    CHECK_INT(F.p[XFCE4].spawn_times[1], 20400);
    CHECK_INT(F.p[X11VNC].spawn_times[1], 20400);
    CHECK(F.p[NOVNC].spawn_times[1] >= F.p[X11VNC].ready_time, "novnc after x11vnc");
    /* xfce4 died of Xvfb's death: not a failure of its own. */
    CHECK_INT(s.svcs[XFCE4].fails, 0);
    CHECK_INT(s.svcs[X11VNC].fails, 0);
    CHECK_INT(s.svcs[XVFB].fails, 1);

    /* x11vnc dies: novnc (after it, not bound to it) stays; Xvfb is untouched. */
    F.now += 20000;
    tick(&s);
    pid_t novnc_pid = F.p[NOVNC].pid, xvfb_pid = F.p[XVFB].pid;
    crash(X11VNC, SIGKILL);
    target_i = X11VNC;
    target_count = 3;
    CHECK(run_until(&s, spawned_n_times, F.now + 10000), "x11vnc back");
    run_until(&s, all_ready, F.now + 10000);
    CHECK_INT(F.p[NOVNC].pid, novnc_pid);
    CHECK_INT(F.p[XVFB].pid, xvfb_pid);
}

static void test_restart_request(void) {
    struct svc_sup s;
    fake_reset(&s);
    svc_start(&s, (1u << N) - 1);
    CHECK(run_until(&s, all_ready, 60000), "ready");
    F.now = 30000;
    F.trace[0] = '\0';
    svc_restart(&s, XVFB);
    CHECK(run_until(&s, xvfb_restarted_all_ready, 90000), "restarted: %s", F.trace);
    /* Dependents stop first (in parallel), then Xvfb, which starts again at once. */
    CHECK(strncmp(F.trace,
                  "TERM xfce4@30000 TERM atspi@30000 TERM x11vnc@30000 TERM novnc@30000 "
                  "TERM xvfb@30000 spawn xvfb@30000",
                  strlen("TERM xfce4@30000 TERM atspi@30000 TERM x11vnc@30000 TERM novnc@30000 "
                         "TERM xvfb@30000 "
                         "spawn xvfb@30000")) == 0,
            "trace: %s", F.trace);
    CHECK_INT(s.svcs[XVFB].fails, 0);

    /* Restart of a process that is down starts it and what it needs. */
    fake_reset(&s);
    svc_restart(&s, X11VNC);
    run_until(&s, all_ready, 5000);
    CHECK_INT(svc_mask(&s, SVC_READY), (1u << XVFB) | (1u << X11VNC));
}

static bool gone(struct svc_sup *s) {
    return svc_alive_mask(s) == 0;
}

static void test_stop(void) {
    struct svc_sup s;
    fake_reset(&s);
    svc_start(&s, (1u << N) - 1);
    CHECK(run_until(&s, all_ready, 60000), "ready");
    F.now = 10000;
    F.trace[0] = '\0';
    F.p[XFCE4].deaf = true;    /* ignores SIGTERM */
    F.p[X11VNC].strays = true; /* something of its group lives on after the leader */
    svc_stop_all(&s);
    CHECK(run_until(&s, all_down, 60000), "all down: %s", F.trace);
    /* Reverse order, one at a time; TERM, KILL after the 3 s grace. */
    CHECK_STR(F.trace, "TERM novnc@10000 TERM x11vnc@10000 TERM atspi@10000 TERM xfce4@10000 "
                       "KILL xfce4@13000 TERM xvfb@13000");
    CHECK_INT(F.events[SVC_EV_KILLED], 1);
    CHECK_INT(svc_alive_mask(&s), 0);
    for (int i = 0; i < N; i++)
        CHECK_INT(s.svcs[i].pid, 0);

    /* A stray that outlives its leader holds the stop until it is gone. */
    fake_reset(&s);
    svc_start(&s, 1u << XVFB);
    run_until(&s, all_ready, 1000);
    F.p[XVFB].immortal = true;
    F.p[XVFB].strays = true;
    svc_stop_all(&s);
    F.p[XVFB].exit_queued = true; /* the leader goes; the stray does not */
    F.p[XVFB].status = SIGTERM;
    run_until(&s, gone, F.now + 3500);
    CHECK_INT(s.svcs[XVFB].state, SVC_STOPPING);
    CHECK(F.p[XVFB].kill_time > 0, "SIGKILL sent to the group");
    /* Unkillable: the supervisor gives up after the kill grace, and says so. */
    CHECK(run_until(&s, gone, F.now + 5000), "gave up");
    CHECK_INT(F.events[SVC_EV_STUCK], 1);
    CHECK_INT(s.svcs[XVFB].state, SVC_DOWN);

    /* Stop during a start: what is waiting never starts. */
    fake_reset(&s);
    F.p[XVFB].ready_after = 1000;
    svc_start(&s, (1u << N) - 1);
    tick(&s);
    F.now = 100;
    svc_stop_all(&s);
    CHECK(run_until(&s, all_down, 10000), "down");
    CHECK_INT(F.p[XFCE4].nspawn, 0);
    CHECK_INT(F.p[XVFB].nspawn, 1);
}

/* atspi (Daytona's autoRestart false): an exit of its own leaves it down until asked for. */
static void test_no_restart(void) {
    struct svc_sup s;
    fake_reset(&s);
    svc_start(&s, (1u << N) - 1);
    CHECK(run_until(&s, all_ready, 60000), "ready");
    crash(ATSPI, 9);
    run_until(&s, all_down, F.now + 5000); /* returns false: the others stay up */
    CHECK_INT(s.svcs[ATSPI].state, SVC_DOWN);
    CHECK_INT(F.p[ATSPI].nspawn, 1);
    CHECK_INT(svc_mask(&s, SVC_READY), (1u << N) - 1 - (1u << ATSPI));
    svc_restart(&s, ATSPI);
    CHECK(run_until(&s, all_ready, F.now + 5000), "restarted on request: %s", F.trace);
    CHECK_INT(F.p[ATSPI].nspawn, 2);
    /* Its dependency's restart still takes it down and up again. */
    crash(XFCE4, 1 << 8);
    CHECK(run_until(&s, all_ready, F.now + 60000), "back with xfce4: %s", F.trace);
    CHECK_INT(F.p[ATSPI].nspawn, 3);
}

static void test_spawn_error(void) {
    struct svc_sup s;
    fake_reset(&s);
    F.p[X11VNC].spawn_error = -ENOENT;
    svc_start(&s, (1u << N) - 1);
    run_until(&s, all_ready, 5000);
    CHECK(s.svcs[X11VNC].fatal, "fatal");
    CHECK(s.svcs[X11VNC].op_fails >= 1, "counted");
    CHECK_STR(s.svcs[X11VNC].error, "fake spawn error -2");
    CHECK_INT(s.svcs[NOVNC].state, SVC_WAITING); /* it needs x11vnc */
    CHECK_INT(svc_mask(&s, SVC_READY), (1u << XVFB) | (1u << XFCE4) | (1u << ATSPI));
    /* Fixed: an explicit start tries again at once. */
    F.p[X11VNC].spawn_error = 0;
    svc_start(&s, (1u << N) - 1);
    CHECK(!s.svcs[X11VNC].fatal, "not fatal any more");
    CHECK(run_until(&s, all_ready, F.now + 2000), "ready: %s", F.trace);
}

/* ---- proc.c ---- */

static int64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_spawn(void) {
    char err[256], sh[256];
    CHECK_INT(proc_which("sh", getenv("PATH"), sh, sizeof sh), 0);
    CHECK_INT(proc_which("no-such-tool-here", "/usr/bin:/bin", err, sizeof err), -ENOENT);
    char plain[] = "/tmp/desk-test-noexec-XXXXXX";
    close(mkstemp(plain));
    chmod(plain, 0644); /* even root may not run a file without an x bit */
    CHECK_INT(proc_which(plain, NULL, err, sizeof err), -EACCES);
    unlink(plain);

    int leak = open("/dev/null", O_RDONLY); /* no O_CLOEXEC: the child must not get it */
    char script[256];
    snprintf(script, sizeof script,
            "echo out $MARK; echo err >&2; [ -e /proc/self/fd/%d ] && echo leaked; "
            "echo pgid $(cut -d' ' -f5 /proc/$$/stat) sid $(cut -d' ' -f6 /proc/$$/stat); exit 3",
            leak);
    const char *argv[] = {"sh", "-c", script, NULL};
    const char *envp[] = {"MARK=m1", "PATH=/usr/bin:/bin", NULL};
    int po[2], pe[2];
    CHECK_INT(pipe(po), 0);
    CHECK_INT(pipe(pe), 0);
    struct proc_spawn_args a = {sh, argv, envp, "/", po[1], pe[1], 0};
    pid_t pid = 0;
    CHECK_INT(proc_spawn(&a, &pid, err, sizeof err), 0);
    close(po[1]);
    close(pe[1]);
    close(leak);
    char out[512] = {0}, errs[64] = {0};
    size_t got = 0;
    ssize_t r;
    while ((r = read(po[0], out + got, sizeof out - 1 - got)) > 0)
        got += (size_t)r;
    r = read(pe[0], errs, sizeof errs - 1);
    close(po[0]);
    close(pe[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 3, "status 0x%x", status);
    CHECK(strstr(out, "out m1\n") != NULL, "environment passed: %s", out);
    CHECK(strstr(out, "leaked") == NULL, "no inherited descriptor: %s", out);
    char want[64];
    snprintf(want, sizeof want, "pgid %d sid %d", (int)pid, (int)pid);
    CHECK(strstr(out, want) != NULL, "own session and group (%s): %s", want, out);
    CHECK_STR(errs, "err\n");

    /* A failing exec is reported with its errno, the child already collected. */
    a.file = "/nonexistent/tool";
    a.out_fd = a.err_fd = open("/dev/null", O_WRONLY);
    CHECK_INT(proc_spawn(&a, &pid, err, sizeof err), -ENOENT);
    CHECK(strstr(err, "/nonexistent/tool"), "names it: %s", err);
    CHECK(waitpid(-1, NULL, WNOHANG) <= 0, "no zombie left");
    close(a.out_fd);

    char desc[96];
    svc_describe_status(9, desc, sizeof desc);
    CHECK_STR(desc, "was killed by SIGKILL");
    svc_describe_status(2 << 8, desc, sizeof desc);
    CHECK_STR(desc, "exited with status 2");
}

/* How many of pids have the command name comm. */
static int count_comm(const pid_t *pids, int n, const char *comm) {
    int count = 0;
    for (int i = 0; i < n; i++) {
        char path[64], name[64] = "";
        snprintf(path, sizeof path, "/proc/%d/comm", (int)pids[i]);
        FILE *f = fopen(path, "r");
        if (f && fgets(name, sizeof name, f))
            name[strcspn(name, "\n")] = '\0';
        if (f)
            fclose(f);
        count += strcmp(name, comm) == 0;
    }
    return count;
}

static void test_marker_kill(void) {
    char sh[256], err[256], marker[64];
    snprintf(marker, sizeof marker, "DESK_TEST_MARK=%d", (int)getpid());
    CHECK_INT(proc_which("sh", getenv("PATH"), sh, sizeof sh), 0);
    /* A child that puts a grandchild into a session of its own: it leaves the group. */
    const char *argv[] = {"sh", "-c", "setsid sleep 60 & sleep 60; true", NULL};
    /* Like deskd: orphans of the test's children come back to it to be reaped. */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    const char *envp[] = {marker, "PATH=/usr/bin:/bin", NULL};
    int devnull = open("/dev/null", O_WRONLY);
    struct proc_spawn_args a = {sh, argv, envp, NULL, devnull, devnull, 0};
    pid_t pid = 0;
    CHECK_INT(proc_spawn(&a, &pid, err, sizeof err), 0);
    close(devnull);
    pid_t found[8];
    int64_t deadline = mono_ms() + 5000;
    int n = 0;
    /* Until both sleeps run: setsid(1) leaves the group just before it execs sleep, so
     * before that it is still a member, not a stray. */
    while (((n = proc_find_marked(marker, found, 8)) < 3 || count_comm(found, n, "sleep") < 2) &&
            mono_ms() < deadline)
        usleep(10000);
    CHECK_INT(n, 3); /* sh, sleep, the escaped sleep */
    char val[64];
    CHECK_INT(proc_environ_get(pid, "DESK_TEST_MARK", val, sizeof val), 0);
    CHECK(proc_alive(pid, marker), "alive");
    int strays = proc_kill(pid, marker, SIGKILL);
    CHECK_INT(strays, 1);
    waitpid(pid, NULL, 0);
    deadline = mono_ms() + 5000;
    while (proc_alive(pid, marker) && mono_ms() < deadline) {
        while (waitpid(-1, NULL, WNOHANG) > 0)
            ;
        usleep(10000);
    }
    CHECK(!proc_alive(pid, marker), "nothing of it left");
}

static void test_logs(void) {
    char dir[] = "/tmp/desk-test-svc-XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    char path[256], old[300];
    snprintf(path, sizeof path, "%s/x.log", dir);
    snprintf(old, sizeof old, "%s.1", path);
    size_t len = 1;
    char *t = proc_log_read(path, 4096, &len);
    CHECK(t && len == 0 && t[0] == '\0', "never ran: empty");
    free(t);

    struct proc_log l;
    CHECK_INT(proc_log_open(&l, path, 1000), 0);
    char line[100];
    for (int k = 0; k < 50; k++) {
        int n = snprintf(
                line, sizeof line, "line %02d %s\n", k, "................................");
        proc_log_write(&l, line, (size_t)n);
    }
    struct stat st, st1;
    CHECK_INT(stat(path, &st), 0);
    CHECK_INT(stat(old, &st1), 0);
    CHECK(st.st_size <= 1000 && st1.st_size <= 1000, "capped: %ld + %ld", (long)st.st_size,
            (long)st1.st_size);
    CHECK_INT(st.st_mode & 0777, 0600);
    const char *tail =
            "line 48 ................................ | line 49 ................................";
    CHECK(strlen(l.last) >= strlen(tail) &&
                    strcmp(l.last + strlen(l.last) - strlen(tail), tail) == 0,
            "the last lines: %s", l.last);
    CHECK(strlen(l.last) < PROC_LOG_LINE, "bounded: %zu", strlen(l.last));
    t = proc_log_read(path, 100000, &len);
    CHECK(t && strstr(t, "line 49") && !strstr(t, "line 00"), "newest kept, oldest dropped");
    CHECK(t && len == (size_t)(st.st_size + st1.st_size), "both files: %zu", len);
    free(t);
    t = proc_log_read(path, 120, &len);
    CHECK(len <= 120 && t && strstr(t, "line 49"), "read cap keeps the newest: %zu", len);
    free(t);
    /* One huge write keeps its end. */
    char big[5000];
    memset(big, 'a', sizeof big);
    big[sizeof big - 2] = 'Z';
    big[sizeof big - 1] = '\n';
    proc_log_write(&l, big, sizeof big);
    CHECK_INT(stat(path, &st), 0);
    CHECK(st.st_size <= 1000, "capped: %ld", (long)st.st_size);
    /* Lines that say nothing are not last words. */
    proc_log_mark(&l);
    static const char xerr[] = "(EE) \nFatal server error:\n(EE) Server is already active for "
                               "display 7\n(EE) \n";
    proc_log_write(&l, xerr, sizeof xerr - 1);
    CHECK_STR(l.last, "Fatal server error: | (EE) Server is already active for display 7");
    proc_log_close(&l);
    unlink(path);
    unlink(old);
    rmdir(dir);

    /* UTF-8: valid text kept, each bad byte replaced. */
    const char in[] =
            "ok \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 bad \xff\xc3 \xed\xa0\x80 \xc0\xaf";
    size_t olen;
    char *o = util_utf8_clean(in, sizeof in - 1, &olen);
    CHECK_STR(o, "ok \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 bad \xef\xbf\xbd\xef\xbf\xbd "
                 "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd");
    free(o);
}

/* ---- vnc.c ---- */

struct server {
    int fd;
    const char *answer;
};

static void *serve_once(void *arg) {
    struct server *sv = arg;
    int c = accept(sv->fd, NULL, NULL);
    if (c >= 0) {
        char buf[256];
        if (strncmp(sv->answer, "HTTP", 4) == 0) {
            ssize_t r = read(c, buf, sizeof buf);
            (void)r;
        }
        ssize_t w = write(c, sv->answer, strlen(sv->answer));
        (void)w;
        close(c);
    }
    return NULL;
}

static int listener(int *port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(fd, (struct sockaddr *)&sa, sizeof sa);
    listen(fd, 4);
    socklen_t sl = sizeof sa;
    getsockname(fd, (struct sockaddr *)&sa, &sl);
    *port = ntohs(sa.sin_port);
    return fd;
}

static int probe_with(const char *answer, bool http, char *err, size_t errlen) {
    int port;
    struct server sv = {listener(&port), answer};
    pthread_t t;
    pthread_create(&t, NULL, serve_once, &sv);
    int rc = http ? vnc_probe_http("", port, 2000, err, errlen)
                  : vnc_probe_rfb(port, 2000, err, errlen);
    pthread_join(t, NULL);
    close(sv.fd);
    return rc;
}

static void test_vnc(void) {
    struct vnc_config c = {.display = ":7",
            .vnc_port = 5907,
            .novnc_port = 6087,
            .novnc_host = "",
            .web_dir = "/usr/share/novnc",
            .novnc_web = NULL,
            .passwd_file = "/tmp/state/vnc.passwd"};
    struct vnc_argv a;
    vnc_x11vnc_argv(&c, &a);
    char joined[1024] = "";
    for (int k = 0; a.argv[k]; k++)
        snprintf(joined + strlen(joined), sizeof joined - strlen(joined), "%s ", a.argv[k]);
    CHECK(strstr(joined, "-display :7 -rfbport 5907 -localhost ") != NULL, "%s", joined);
    CHECK(strstr(joined, "-passwdfile rm:/tmp/state/vnc.passwd ") != NULL, "%s", joined);
    vnc_novnc_argv(&c, &a);
    joined[0] = '\0';
    for (int k = 0; a.argv[k]; k++)
        snprintf(joined + strlen(joined), sizeof joined - strlen(joined), "%s ", a.argv[k]);
    CHECK_STR(joined, "websockify --web /usr/share/novnc 6087 127.0.0.1:5907 ");
    c.novnc_host = "::1";
    vnc_novnc_argv(&c, &a);
    CHECK_STR(a.argv[3], "[::1]:6087");
    c.novnc_web = "/tmp/state/novnc-web";
    vnc_novnc_argv(&c, &a);
    CHECK_STR(a.argv[2], "/tmp/state/novnc-web");

    char p1[VNC_PASSWORD_MAX + 1], p2[VNC_PASSWORD_MAX + 1], err[256];
    CHECK_INT(vnc_password_generate(p1), 0);
    CHECK_INT(vnc_password_generate(p2), 0);
    CHECK_INT(strlen(p1), VNC_PASSWORD_MAX);
    CHECK(strspn(p1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") == 8,
            "alphanumeric: %s", p1);
    CHECK(strcmp(p1, p2) != 0, "random");
    CHECK_INT(vnc_password_check(p1, err, sizeof err), 0);
    CHECK_INT(vnc_password_check("123456789", err, sizeof err), -EINVAL);
    CHECK(strstr(err, "1 to 8 characters"), "%s", err);
    CHECK_INT(vnc_password_check("ab cd", err, sizeof err), -EINVAL);
    CHECK_INT(vnc_password_check("", err, sizeof err), -EINVAL);

    char path[] = "/tmp/desk-test-pw-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    chmod(path, 0644);
    CHECK_INT(vnc_password_write(path, p1), 0);
    struct stat st;
    CHECK_INT(stat(path, &st), 0);
    CHECK_INT(st.st_mode & 0777, 0600);
    char buf[32] = {0};
    FILE *f = fopen(path, "r");
    CHECK(f && fgets(buf, sizeof buf, f), "read back");
    if (f)
        fclose(f);
    buf[strcspn(buf, "\n")] = '\0';
    CHECK_STR(buf, p1);
    unlink(path);

    /* Probes: nothing listening, the right banner, the wrong one. */
    int port;
    int lfd = listener(&port);
    close(lfd);
    CHECK_INT(vnc_probe_rfb(port, 300, err, sizeof err), 0);
    CHECK_INT(vnc_probe_http("", port, 300, err, sizeof err), 0);
    CHECK_INT(probe_with("RFB 003.008\n", false, err, sizeof err), 1);
    CHECK(probe_with("SSH-2.0-OpenSSH\r\n", false, err, sizeof err) < 0, "not RFB");
    CHECK(strstr(err, "not with an RFB banner"), "%s", err);
    CHECK_INT(probe_with("HTTP/1.1 200 OK\r\n\r\n", true, err, sizeof err), 1);
    CHECK(probe_with("HTTP/1.1 404 Not Found\r\n\r\n", true, err, sizeof err) < 0, "404");
    /* Accepts but says nothing: bounded by the timeout, not ready. */
    lfd = listener(&port);
    int64_t t0 = mono_ms();
    CHECK_INT(vnc_probe_rfb(port, 200, err, sizeof err), 0);
    CHECK(mono_ms() - t0 < 1000, "bounded: %lld ms", (long long)(mono_ms() - t0));
    CHECK_INT(vnc_port_busy("127.0.0.1", port), 1);
    close(lfd);
    CHECK_INT(vnc_port_busy("127.0.0.1", port), 0);
}

int main(void) {
    check_timeout(60);
    signal(SIGPIPE, SIG_IGN);
    test_table();
    test_probe_reports();
    test_start_order();
    test_ready_timeout();
    test_backoff();
    test_dependency_restart();
    test_restart_request();
    test_stop();
    test_spawn_error();
    test_no_restart();
    test_spawn();
    test_marker_kill();
    test_logs();
    test_vnc();
    return check_finish();
}
