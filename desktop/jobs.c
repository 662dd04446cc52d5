/*
 * jobs: the supervisor thread and the table of the jobs it owns (see jobs.h).
 *
 * One turn of the thread: fork what request threads asked for, reap every
 * child that exited and report the exits of jobs to their owners, send
 * SIGKILL where a stop's grace ran out, forget released jobs that are over,
 * run the tick hook, then poll the signalfd, the wake eventfd and every
 * job's output pipes until something happens or a deadline comes.
 *
 * It does not decide when a job should run (svc.c and the job's owner do)
 * and does not read logs back (proc_log_read does, from the files).
 *
 * Only this thread forks, waits, and opens, reads and closes output pipes,
 * so a pipe or a log needs no lock; the table's other fields are shared with
 * request threads under J.lock.
 */
#define _GNU_SOURCE
#include "jobs.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

enum job_state {
    JOB_FREE,
    JOB_QUEUED,   /* a request thread waits for the fork (or, failed, to free it) */
    JOB_RUNNING,  /* forked; not reaped yet */
    JOB_EXITED,   /* reaped; its exit not reported yet */
    JOB_REPORTED, /* its callback ran */
};

struct job {
    enum job_state state;
    int id;
    bool released;
    const struct job_spec *spec; /* QUEUED only: the requester's, borrowed while it waits */
    int start_rc;                /* QUEUED: 1 while pending, then the fork's result */
    char *start_err;
    size_t start_errlen;

    pid_t pid;
    int status;
    struct proc_log *log, *err_log;
    int out_rd, err_rd; /* -1 when closed */
    char marker[128];
    int stop_signal, stop_grace_ms, order;
    int64_t kill_at; /* a stop is under way: SIGKILL at this time unless reaped; 0: none */
    bool killed;
    void (*on_exit)(void *data, int id, int status);
    void *data;
};

static struct {
    bool running, quitting;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    int sig_fd, wake_fd;
    struct jobs_hooks hooks;
    struct job jobs[JOBS_MAX];
    int next_id;
} J = {.sig_fd = -1, .wake_fd = -1};

/* The job with handle id, or NULL (also once released). Under the lock. */
static struct job *find(int id) {
    for (int k = 0; k < JOBS_MAX && id > 0; k++) {
        if (J.jobs[k].state != JOB_FREE && !J.jobs[k].released && J.jobs[k].id == id)
            return &J.jobs[k];
    }
    return NULL;
}

void jobs_wake(void) {
    uint64_t one = 1;
    if (J.wake_fd >= 0) {
        ssize_t w = write(J.wake_fd, &one, sizeof one);
        (void)w;
    }
}

bool jobs_on_thread(void) {
    return J.running && pthread_equal(pthread_self(), J.thread);
}

/* ---- output ---- */

/* Reads what a pipe holds into the job's logs (stderr into both); closes it at end of file. */
static void pump(struct job *j, int *fd, bool is_err) {
    proc_pump(fd, j->log, is_err ? j->err_log : NULL);
}

static void close_pipes(struct job *j) {
    pump(j, &j->out_rd, false);
    pump(j, &j->err_rd, true);
    if (j->out_rd >= 0)
        close(j->out_rd);
    if (j->err_rd >= 0)
        close(j->err_rd);
    j->out_rd = j->err_rd = -1;
}

/* ---- forking, on this thread only ---- */

/* Forks j from spec; fills its pid and pipes. Not under the lock (j is ours: QUEUED). */
static int fork_job(struct job *j, const struct job_spec *spec, char *err, size_t errlen) {
    struct proc_spawn_args a = {
            .file = spec->file,
            .argv = spec->argv,
            .envp = spec->envp ? spec->envp : (const char *const *)environ,
            .dir = spec->dir,
            .in_fd = spec->stdin_fd,
    };
    int rc = proc_spawn_piped(&a, &j->pid, &j->out_rd, &j->err_rd, err, errlen);
    if (rc < 0)
        return rc;
    j->log = spec->log;
    j->err_log = spec->err_log;
    snprintf(j->marker, sizeof j->marker, "%s", spec->marker ? spec->marker : "");
    j->stop_signal = spec->stop_signal > 0 ? spec->stop_signal : SIGTERM;
    j->stop_grace_ms = spec->stop_grace_ms > 0 ? spec->stop_grace_ms : 3000;
    j->order = spec->order;
    j->on_exit = spec->on_exit;
    j->data = spec->data;
    return 0;
}

/* Forks the queued job j and wakes its requester. Called with the lock held; drops it meanwhile. */
static void serve(struct job *j) {
    const struct job_spec *spec = j->spec;
    char err[256] = "";
    pthread_mutex_unlock(&J.lock);
    int rc = fork_job(j, spec, err, sizeof err);
    pthread_mutex_lock(&J.lock);
    snprintf(j->start_err, j->start_errlen, "%s", err);
    j->spec = NULL;
    j->start_rc = rc;
    /* Running from now on: reap() must know its pid before the requester wakes. */
    if (rc == 0)
        j->state = JOB_RUNNING;
    pthread_cond_broadcast(&J.changed);
}

int jobs_start(const struct job_spec *spec, int *id, char *err, size_t errlen) {
    err[0] = '\0';
    pthread_mutex_lock(&J.lock);
    if (!J.running || J.quitting) {
        pthread_mutex_unlock(&J.lock);
        snprintf(err, errlen, "deskd is shutting down");
        return -ESHUTDOWN;
    }
    struct job *j = NULL;
    for (int k = 0; k < JOBS_MAX && !j; k++) {
        if (J.jobs[k].state == JOB_FREE)
            j = &J.jobs[k];
    }
    if (!j) {
        pthread_mutex_unlock(&J.lock);
        snprintf(err, errlen, "too many child processes (%d)", JOBS_MAX);
        return -EAGAIN;
    }
    *j = (struct job){.state = JOB_QUEUED,
            .id = ++J.next_id,
            .spec = spec,
            .start_rc = 1,
            .start_err = err,
            .start_errlen = errlen,
            .out_rd = -1,
            .err_rd = -1};
    if (J.next_id == INT32_MAX)
        J.next_id = 0;
    if (jobs_on_thread()) {
        serve(j);
    } else {
        jobs_wake();
        while (j->start_rc == 1)
            pthread_cond_wait(&J.changed, &J.lock);
    }
    int rc = j->start_rc;
    if (rc < 0)
        j->state = JOB_FREE;
    else
        *id = j->id;
    pthread_mutex_unlock(&J.lock);
    if (rc == 0)
        jobs_wake(); /* its pipes join the poll set */
    return rc;
}

/* ---- requests from any thread ---- */

/*
 * The group and the marker of job id, copied under the lock: the /proc scans
 * of proc_kill and proc_alive run without it. False for an unknown handle.
 */
static bool target(int id, pid_t *pgid, char *marker, size_t len) {
    struct job *j = find(id);
    if (!j || j->state == JOB_QUEUED)
        return false;
    *pgid = j->pid;
    snprintf(marker, len, "%s", j->marker);
    return true;
}

int jobs_signal(int id, int sig) {
    pid_t pgid;
    char marker[128];
    pthread_mutex_lock(&J.lock);
    bool found = target(id, &pgid, marker, sizeof marker);
    pthread_mutex_unlock(&J.lock);
    /* The group keeps its id while a member lives, reaped leader or not. */
    return found ? proc_kill(pgid, marker[0] ? marker : NULL, sig) : -ESRCH;
}

int jobs_stop(int id) {
    pid_t pgid;
    char marker[128];
    int sig = 0;
    pthread_mutex_lock(&J.lock);
    bool found = target(id, &pgid, marker, sizeof marker);
    struct job *j = found ? find(id) : NULL;
    if (j && j->state == JOB_RUNNING && j->kill_at == 0) {
        sig = j->stop_signal;
        j->kill_at = util_mono_ms() + j->stop_grace_ms;
    }
    pthread_mutex_unlock(&J.lock);
    if (!found)
        return -ESRCH;
    if (sig) {
        proc_kill(pgid, marker[0] ? marker : NULL, sig);
        jobs_wake(); /* the thread's next timeout must include kill_at */
    }
    return 0;
}

bool jobs_alive(int id) {
    pid_t pgid;
    char marker[128];
    pthread_mutex_lock(&J.lock);
    bool found = target(id, &pgid, marker, sizeof marker);
    pthread_mutex_unlock(&J.lock);
    return found && proc_alive(pgid, marker[0] ? marker : NULL);
}

pid_t jobs_pid(int id) {
    pthread_mutex_lock(&J.lock);
    struct job *j = find(id);
    pid_t pid = j ? j->pid : 0;
    pthread_mutex_unlock(&J.lock);
    return pid;
}

int jobs_wait(int id, int timeout_ms, int *status) {
    int64_t deadline = timeout_ms < 0 ? INT64_MAX : util_mono_ms() + timeout_ms;
    pthread_mutex_lock(&J.lock);
    int rc = 0;
    for (;;) {
        struct job *j = find(id);
        if (!j) {
            rc = -ESRCH;
            break;
        }
        if (j->state == JOB_REPORTED) {
            if (status)
                *status = j->status;
            break;
        }
        int64_t left = util_ms_left(deadline);
        if (left == 0) {
            rc = -ETIMEDOUT;
            break;
        }
        struct timespec ts = util_abstime(CLOCK_MONOTONIC, left > 1000 ? 1000 : left);
        pthread_cond_timedwait(&J.changed, &J.lock, &ts);
    }
    pthread_mutex_unlock(&J.lock);
    return rc;
}

void jobs_release(int id) {
    pthread_mutex_lock(&J.lock);
    struct job *j = find(id);
    if (j && j->state != JOB_QUEUED) {
        j->released = true;
        jobs_wake();
    }
    pthread_mutex_unlock(&J.lock);
}

/* ---- the thread ---- */

struct death {
    struct job *job;
    int status;
};

static int by_order(const void *a, const void *b) {
    const struct death *x = a, *y = b;
    return (x->job->order > y->job->order) - (x->job->order < y->job->order);
}

/*
 * Reaps every child that exited and reports the exits of jobs, those reaped
 * together in ascending order: when Xvfb dies its clients die of it a moment
 * later and may be reaped first, yet the owner must hear of Xvfb first.
 * Children that are no job (orphans of the desktop adopted by the subreaper)
 * are reaped and forgotten.
 */
static void reap(void) {
    for (bool more = true; more;) {
        struct death dead[JOBS_MAX];
        int n = 0;
        more = false;
        pthread_mutex_lock(&J.lock);
        for (;;) {
            int status;
            pid_t p = waitpid(-1, &status, WNOHANG);
            if (p <= 0)
                break;
            for (int k = 0; k < JOBS_MAX; k++) {
                struct job *j = &J.jobs[k];
                if (j->state == JOB_RUNNING && j->pid == p) {
                    j->state = JOB_EXITED;
                    j->status = status;
                    dead[n++] = (struct death){j, status};
                    break;
                }
            }
            if (n == JOBS_MAX) {
                more = true;
                break;
            }
        }
        pthread_mutex_unlock(&J.lock);
        qsort(dead, (size_t)n, sizeof dead[0], by_order);
        for (int k = 0; k < n; k++) {
            struct job *j = dead[k].job;
            /* Last words before the death: the owner may quote them. */
            pump(j, &j->out_rd, false);
            pump(j, &j->err_rd, true);
            if (j->on_exit)
                j->on_exit(j->data, j->id, dead[k].status);
            pthread_mutex_lock(&J.lock);
            j->state = JOB_REPORTED;
            pthread_cond_broadcast(&J.changed);
            pthread_mutex_unlock(&J.lock);
        }
    }
}

/* Forks queued jobs, escalates stops, forgets what is over; the earliest deadline. */
static int64_t housekeep(int64_t t) {
    int64_t next = INT64_MAX;
    pthread_mutex_lock(&J.lock);
    for (int k = 0; k < JOBS_MAX; k++) {
        struct job *j = &J.jobs[k];
        if (j->state == JOB_QUEUED && j->start_rc == 1 && j->spec) {
            serve(j);
        } else if (j->state == JOB_RUNNING && j->kill_at && !j->killed) {
            if (t >= j->kill_at) {
                proc_kill(j->pid, j->marker[0] ? j->marker : NULL, SIGKILL);
                j->killed = true;
            } else if (j->kill_at < next) {
                next = j->kill_at;
            }
        } else if (j->state == JOB_REPORTED && j->released) {
            close_pipes(j);
            j->state = JOB_FREE;
        }
    }
    pthread_mutex_unlock(&J.lock);
    return next;
}

static void drain(int fd) {
    char buf[256];
    while (read(fd, buf, sizeof buf) > 0)
        ;
}

/* Polls the supervisor's descriptors and every open pipe until next (or 1 s: a lost SIGCHLD). */
static void wait_events(int64_t next) {
    struct pollfd fds[2 + 2 * JOBS_MAX];
    struct job *owner[2 + 2 * JOBS_MAX];
    int nf = 0;
    fds[nf++] = (struct pollfd){.fd = J.sig_fd, .events = POLLIN};
    fds[nf++] = (struct pollfd){.fd = J.wake_fd, .events = POLLIN};
    /* Pipes change only on this thread; the lock guards the states others set. */
    pthread_mutex_lock(&J.lock);
    for (int k = 0; k < JOBS_MAX; k++) {
        struct job *j = &J.jobs[k];
        if (j->state == JOB_FREE || j->state == JOB_QUEUED)
            continue;
        if (j->out_rd >= 0) {
            owner[nf] = j;
            fds[nf++] = (struct pollfd){.fd = j->out_rd, .events = POLLIN};
        }
        if (j->err_rd >= 0) {
            owner[nf] = j;
            fds[nf++] = (struct pollfd){.fd = j->err_rd, .events = POLLIN};
        }
    }
    pthread_mutex_unlock(&J.lock);
    int64_t wait = next == INT64_MAX ? 1000 : next - util_mono_ms();
    int timeout = wait < 0 ? 0 : wait > 1000 ? 1000 : (int)wait;
    if (poll(fds, (nfds_t)nf, timeout) <= 0)
        return;
    if (fds[0].revents)
        drain(J.sig_fd);
    if (fds[1].revents)
        drain(J.wake_fd);
    /* Output in the order the pipes became readable, before the exits it precedes. */
    for (int k = 2; k < nf; k++) {
        if (!fds[k].revents)
            continue;
        struct job *j = owner[k];
        if (fds[k].fd == j->out_rd)
            pump(j, &j->out_rd, false);
        else if (fds[k].fd == j->err_rd)
            pump(j, &j->err_rd, true);
    }
}

static void *loop(void *arg) {
    (void)arg;
    for (;;) {
        reap();
        int64_t next = housekeep(util_mono_ms());
        pthread_mutex_lock(&J.lock);
        bool quit = J.quitting;
        pthread_mutex_unlock(&J.lock);
        if (quit)
            break;
        if (J.hooks.tick) {
            int64_t want = J.hooks.tick(J.hooks.ctx);
            if (want < next)
                next = want;
        }
        wait_events(next);
    }
    return NULL;
}

int jobs_init(const struct jobs_hooks *hooks, char *err, size_t errlen) {
    pthread_mutex_init(&J.lock, NULL);
    util_cond_init_monotonic(&J.changed);
    if (hooks)
        J.hooks = *hooks;
    for (int k = 0; k < JOBS_MAX; k++)
        J.jobs[k] = (struct job){.state = JOB_FREE, .out_rd = -1, .err_rd = -1};

    /* Orphans of our children come to us, not to init: we reap them and see them die. */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    pthread_sigmask(SIG_BLOCK, &chld, NULL);
    J.sig_fd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
    J.wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (J.sig_fd < 0 || J.wake_fd < 0) {
        int e = errno;
        snprintf(err, errlen, "cannot set up the supervisor: %s", strerror(e));
        return -e;
    }
    J.running = true;
    int rc = pthread_create(&J.thread, NULL, loop, NULL);
    if (rc != 0) {
        J.running = false;
        snprintf(err, errlen, "cannot start the supervisor thread: %s", strerror(rc));
        return -rc;
    }
    return 0;
}

void jobs_finish(void) {
    if (J.running) {
        pthread_mutex_lock(&J.lock);
        J.quitting = true;
        pthread_mutex_unlock(&J.lock);
        jobs_wake();
        pthread_join(J.thread, NULL);
        pthread_mutex_lock(&J.lock);
        J.running = false;
        /* A request that came as the thread ended is refused, not left waiting. */
        for (int k = 0; k < JOBS_MAX; k++) {
            struct job *j = &J.jobs[k];
            if (j->state == JOB_QUEUED && j->start_rc == 1) {
                snprintf(j->start_err, j->start_errlen, "deskd is shutting down");
                j->spec = NULL;
                j->start_rc = -ESHUTDOWN;
            }
        }
        pthread_cond_broadcast(&J.changed);
        pthread_mutex_unlock(&J.lock);
    }
    /*
     * Nobody reaps after us: what still runs is killed and collected here,
     * for 2 s at most (a process in uninterruptible sleep is left to init).
     */
    int running = 0;
    for (int k = 0; k < JOBS_MAX; k++) {
        struct job *j = &J.jobs[k];
        if (j->state == JOB_RUNNING) {
            proc_kill(j->pid, j->marker[0] ? j->marker : NULL, SIGKILL);
            running++;
        }
    }
    int64_t end = util_mono_ms() + 2000;
    while (running > 0 && util_mono_ms() < end) {
        int status;
        pid_t p = waitpid(-1, &status, WNOHANG);
        if (p < 0 && errno != EINTR)
            break;
        for (int k = 0; k < JOBS_MAX && p > 0; k++) {
            if (J.jobs[k].state == JOB_RUNNING && J.jobs[k].pid == p) {
                J.jobs[k].state = JOB_EXITED;
                running--;
            }
        }
        if (p == 0) {
            /* The thread is gone; its signalfd still says when a child exits. */
            struct pollfd pf = {.fd = J.sig_fd, .events = POLLIN};
            poll(&pf, 1, (int)util_ms_left(end));
            drain(J.sig_fd);
        }
    }
    for (int k = 0; k < JOBS_MAX; k++) {
        struct job *j = &J.jobs[k];
        if (j->state != JOB_FREE)
            close_pipes(j);
        j->state = JOB_FREE;
    }
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
    if (J.sig_fd >= 0)
        close(J.sig_fd);
    if (J.wake_fd >= 0)
        close(J.wake_fd);
    J.sig_fd = J.wake_fd = -1;
}
