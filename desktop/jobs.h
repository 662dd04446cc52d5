/*
 * jobs: the one owner of deskd's child processes. One thread of its own (the
 * supervisor thread) forks every child, reaps every child the moment it exits
 * (signalfd), feeds each child's output into its owner's log files, turns a
 * stop into SIGKILL when the grace period runs out, and hands every exit
 * status to the job's owner through its exit callback. Nothing else in deskd
 * forks or waits for a child.
 *
 * Why one thread forks: a child gets PR_SET_PDEATHSIG (SIGKILL when deskd
 * dies), and Linux ties that to the THREAD that forked it, so a child forked
 * by a request thread would be killed when that thread ends. A job started
 * from any thread is forked here and lives until it ends by itself or is
 * stopped, whatever becomes of the thread that asked for it.
 *
 * Thread model: every jobs_* function may be called from any thread once
 * jobs_init returned, except jobs_init and jobs_finish (the main thread).
 * Exit callbacks and the tick hook run on the supervisor thread with no lock
 * of this module held; they may call any jobs_* function but jobs_wait (it
 * would wait for itself) and jobs_finish. Lock order: a caller's lock, then
 * this module's; this module never calls out while holding its own. A thread
 * other than the supervisor's must not call jobs_start while it holds a lock
 * that the tick hook or an exit callback takes: jobs_start waits for the
 * supervisor thread, which would wait for that lock.
 *
 * Each job is a process group of its own (the child calls setsid): stop and
 * signal reach the whole group, and anything that left it but carries the
 * job's environment marker.
 */
#ifndef DESK_JOBS_H
#define DESK_JOBS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proc.h"

/* At most this many jobs exist at once (a started one until released). */
#define JOBS_MAX 64

struct job_spec {
    const char *file;        /* the executable's full path (see proc_which) */
    const char *const *argv; /* argv[0] is the name shown in process listings */
    const char *const *envp; /* the whole environment; NULL: deskd's own */
    const char *dir;         /* working directory; NULL keeps ours */
    /*
     * > 0: the child's stdin (a pipe's read end, say); the caller keeps its
     * own copy and closes it once jobs_start returned. 0: /dev/null.
     */
    int stdin_fd;
    /*
     * Where its output goes; NULL discards it. log gets stdout and stderr in
     * the order they arrived, err_log stderr alone. Both are borrowed: the
     * owner opens them, and closes them only after the job was released.
     * Only the supervisor thread writes them.
     */
    struct proc_log *log, *err_log;
    const char *marker; /* "NAME=VALUE" in the job's environment, to find strays; NULL: none */
    int stop_signal;    /* what jobs_stop sends first; 0: SIGTERM */
    int stop_grace_ms;  /* then SIGKILL after this long; 0: 3000 ms */
    int order;          /* exits reaped together are reported in ascending order */
    /*
     * Called once, on the supervisor thread, when the job's process was
     * reaped: status is its wait status. May be NULL.
     */
    void (*on_exit)(void *data, int id, int status);
    void *data;
};

/* What the supervisor thread also runs: the desktop's state machine. */
struct jobs_hooks {
    /*
     * Called on every turn of the supervisor thread (after exits were
     * reported); returns when it wants to be called again (CLOCK_MONOTONIC
     * ms; INT64_MAX: only on an event). May be NULL.
     */
    int64_t (*tick)(void *ctx);
    void *ctx;
};

/*
 * Blocks SIGCHLD for the process, makes deskd the subreaper of its
 * descendants (their orphans come to it, and are reaped here) and starts the
 * supervisor thread. Call from the main thread before any other thread
 * exists. hooks is copied; NULL: none. Returns 0, or a negative errno with a
 * sentence in err.
 */
int jobs_init(const struct jobs_hooks *hooks, char *err, size_t errlen);
/*
 * Ends the supervisor thread, then sends SIGKILL to every job still running
 * and reaps what is left. Exit callbacks of jobs that end here are not
 * called. Safe when jobs_init failed or never ran.
 */
void jobs_finish(void);
/* Makes the supervisor thread run its tick hook soon (after a change of what it should do). */
void jobs_wake(void);
/* True when called on the supervisor thread. */
bool jobs_on_thread(void);

/*
 * Starts a job: the supervisor thread forks and execs it (the caller waits
 * for that, not for the job). spec and everything it points to but the logs
 * is read before this returns. Returns 0 with a handle in *id (> 0), or a
 * negative errno with a sentence in err: -EAGAIN with JOBS_MAX jobs, -ESHUTDOWN
 * once jobs_finish began, the exec's errno when it failed (then nothing runs).
 */
int jobs_start(const struct job_spec *spec, int *id, char *err, size_t errlen);
/*
 * Sends the job's stop signal to its group and marked strays, and SIGKILL
 * when it is still running after its grace period. Returns 0 (also when it
 * ended already), or -ESRCH for an unknown or released handle.
 */
int jobs_stop(int id);
/*
 * Sends sig to the job's group and marked strays, also after its process was
 * reaped while the handle is held. Returns how many strays (marked processes
 * outside the group) were signalled, or -ESRCH.
 */
int jobs_signal(int id, int sig);
/* True while anything of the job is alive: its group (zombies included) or a marked stray. */
bool jobs_alive(int id);
/* The job's pid, also once reaped; 0 for an unknown handle. */
pid_t jobs_pid(int id);
/*
 * Waits until the job's exit was reported (its callback returned), at most
 * timeout_ms (< 0: no limit). Returns 0 with its wait status in *status (may
 * be NULL), -ETIMEDOUT, or -ESRCH for an unknown or released handle.
 */
int jobs_wait(int id, int timeout_ms, int *status);
/*
 * The owner gives the handle up. A running job keeps running and its
 * callback is still called; the job is forgotten once it was reaped and its
 * pipes are drained. Unknown handles are ignored.
 */
void jobs_release(int id);

#endif
