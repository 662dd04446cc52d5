/*
 * svc: the supervisor's state machine. Services are described as data (name,
 * priority, dependencies, readiness timeout); the machine decides when to
 * start, probe, stop, kill and restart them. It owns no processes, clock or
 * thread: everything it does to the world goes through struct svc_ops, so the
 * unit tests drive it with fake processes and a fake clock, and the real
 * desktop (supervisor.c) with jobs, signals and readiness probes.
 *
 * Readiness probes are not among the ops: a probe can take hundreds of
 * milliseconds (a connection, an X round trip), and the caller must not hold
 * its lock that long. svc_tick marks the probes that are due; the caller runs
 * them with its lock released and reports each with svc_probed.
 *
 * Not thread-safe: the caller serialises every call (supervisor.c holds one lock).
 *
 * Life of a service:
 *
 *   DOWN --wanted--> WAITING --deps ready, backoff over--> STARTING --probe ok--> READY
 *     ^                 ^                                     |                     |
 *     |                 +------- group empty, wanted ---------+-- exit, failure, ---+
 *     |                                                        |  dependency down,
 *     +-------------- group empty, not wanted ------------ STOPPING <-- stop/restart
 *
 * STOPPING sends SIGTERM to everything the service started, SIGKILL after the
 * grace period, and ends only when nothing of it is left; a new instance never
 * overlaps an old one.
 */
#ifndef DESK_SVC_H
#define DESK_SVC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define SVC_MAX     8
#define SVC_ERR_LEN 256
#define SVC_HISTORY 8

enum svc_state {
    SVC_DOWN,     /* not wanted; nothing of it runs */
    SVC_WAITING,  /* wanted: waiting for its dependencies or for its backoff to pass */
    SVC_STARTING, /* spawned; its readiness check has not passed yet */
    SVC_READY,    /* running and ready */
    SVC_STOPPING, /* signalled; waiting until nothing of it is left */
};

struct svc_def {
    const char *name;
    int priority; /* services are kept in priority order; stop runs in reverse */
    /* Bit j set: service j must be READY before this one starts. */
    unsigned after;
    /* Bit j set: when service j goes down, this one is stopped too, and it
     * starts again once j is ready again. A subset of after. */
    unsigned bound;
    int64_t ready_timeout_ms;
    /* An exit of its own while ready leaves it down (not wanted) until a start or restart asks
     * for it again, as Daytona's atspi entry (autoRestart false). Losing a dependency it is
     * bound to still stops it and starts it again with that dependency. */
    bool no_restart;
};

/* Times in milliseconds. */
struct svc_policy {
    int64_t backoff_first_ms; /* delay after the first failure of a run of failures */
    int64_t backoff_base_ms;  /* after the second; doubled for each further one */
    int64_t backoff_max_ms;   /* the cap */
    int64_t min_interval_ms;  /* never two starts of one service closer than this (throttle) */
    int64_t stable_ms;        /* ready this long: the failure count starts over */
    int64_t stop_grace_ms;    /* SIGTERM, then SIGKILL after this */
    int64_t kill_grace_ms;    /* after SIGKILL, give up waiting after this */
    int64_t probe_interval_ms;
};

/* The defaults: 0 ms, 1 s doubling to 30 s, 1 s throttle, 10 s stable, 3 s grace. */
extern const struct svc_policy svc_default_policy;

enum svc_event {
    SVC_EV_SPAWNED, /* text: "" */
    SVC_EV_READY,
    SVC_EV_FAILED,  /* text: why; a retry follows when the service is still wanted */
    SVC_EV_EXITED,  /* text: how, for an exit the supervisor did not ask for */
    SVC_EV_STOPPED, /* nothing of it is left */
    SVC_EV_KILLED,  /* the grace period ran out; SIGKILL sent */
    SVC_EV_STUCK,   /* something survived SIGKILL; the supervisor stops waiting for it */
};

/*
 * What the machine does to the world; ctx is passed back. Every function is
 * required. Called only from svc_tick and the svc_* commands.
 */
struct svc_ops {
    void *ctx;
    int64_t (*now)(void *ctx);
    /*
     * Starts service i in a new process group. Returns 0 with *pid, or a
     * negative errno with a sentence in err (a missing executable: -ENOENT).
     */
    int (*spawn)(void *ctx, int i, pid_t *pid, char *err, size_t errlen);
    /* Sends sig to everything service i started: group pgid and any strays. */
    void (*kill)(void *ctx, int i, pid_t pgid, int sig);
    /* True while anything service i started is still alive (zombies included). */
    bool (*alive)(void *ctx, int i, pid_t pgid);
    /* Something worth a log line happened to service i. */
    void (*event)(void *ctx, int i, enum svc_event ev, const char *text);
};

struct svc_death {
    int64_t at;
    int status; /* wait status */
};

struct svc {
    const struct svc_def *def;
    enum svc_state state;
    bool wanted;
    bool restart;   /* a restart was asked: stop (after its dependents), then start at once */
    bool failing;   /* the current stop follows a failure */
    bool killed;    /* SIGKILL sent during this stop */
    bool fatal;     /* the last failure was a spawn error: retrying needs the world to change */
    bool probe_due; /* STARTING: a readiness probe is wanted and its result not yet reported */
    pid_t pid;      /* the process spawned, until reaped */
    pid_t pgid;     /* its process group, until nothing of it is left */
    int64_t started_at, ready_at, deadline, next_start, next_probe;
    int fails;    /* consecutive failures, for the backoff */
    int op_fails; /* failures since the last svc_start or svc_restart of it */
    unsigned starts;
    char error[SVC_ERR_LEN];              /* why the last attempt failed; "" after a success */
    struct svc_death deaths[SVC_HISTORY]; /* ring, newest at (ndeaths - 1) % SVC_HISTORY */
    unsigned ndeaths;
};

struct svc_sup {
    struct svc svcs[SVC_MAX];
    int n;
    struct svc_policy policy;
    struct svc_ops ops;
};

/* defs must be sorted by priority and outlive s; n <= SVC_MAX. */
void svc_init(struct svc_sup *s, const struct svc_def *defs, int n, const struct svc_policy *policy,
        const struct svc_ops *ops);

/* Wants the services in mask and what they need; clears their backoff. */
void svc_start(struct svc_sup *s, unsigned mask);
/* Stops every service, in reverse priority order, one after the other. */
void svc_stop_all(struct svc_sup *s);
/* Stops service i and what is bound to it, then starts them again (wanted from now on). */
void svc_restart(struct svc_sup *s, int i);
/* A child was reaped. Unknown pids are ignored. */
void svc_exited(struct svc_sup *s, pid_t pid, int status);
/*
 * Advances every service: spawns, asks for probes, escalates, finishes stops.
 * Returns the time at which it wants to be called again (INT64_MAX: only on
 * an event). A service whose probe is due is left alone (no readiness
 * timeout) until svc_probed reports it.
 */
int64_t svc_tick(struct svc_sup *s);
/* Bit i set for each service whose readiness probe is due (see svc_probed). */
unsigned svc_probes_due(const struct svc_sup *s);
/*
 * The probe of service i, run on the instance pid, answered rc: 1 ready, 0
 * not yet, negative: it cannot become ready (err says why; may be NULL). A
 * result for an instance that is gone or no longer starting is ignored. Call
 * svc_tick afterwards.
 */
void svc_probed(struct svc_sup *s, int i, pid_t pid, int rc, const char *err);

/* Bit i set for each service in the given state. */
unsigned svc_mask(const struct svc_sup *s, enum svc_state state);
/* Bit i set for each service with anything alive (STARTING, READY, STOPPING). */
unsigned svc_alive_mask(const struct svc_sup *s);
/* The delay before the retry that follows the fails-th consecutive failure. */
int64_t svc_backoff(const struct svc_policy *p, int fails);
const char *svc_state_name(enum svc_state st);
/* Describes a wait status: "exited with status 1", "was killed by signal 9 (Killed)". */
void svc_describe_status(int status, char *buf, size_t len);

#endif
