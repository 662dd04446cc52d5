/*
 * The job layer (jobs.c) with real short processes and no desktop: jobs
 * started and stopped from several request threads get their own exit
 * statuses; a job that ignores SIGTERM is killed after its grace and its
 * owner hears of it; a job whose requesting thread ended keeps running until
 * it ends by itself and its status still reaches its callback; output reaches
 * the logs in order, stderr also alone; nothing is left a zombie.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "jobs.h"
#include "proc.h"
#include "util.h"

/* What an exit callback saw. */
struct seen {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int calls, status, id;
    int64_t at;
    bool on_thread;
};

static void seen_init(struct seen *s) {
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
}

static void on_exit_cb(void *data, int id, int status) {
    struct seen *s = data;
    pthread_mutex_lock(&s->lock);
    s->calls++;
    s->status = status;
    s->id = id;
    s->at = util_mono_ms();
    s->on_thread = jobs_on_thread();
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

/* Waits until the callback ran, at most ms; true when it did. */
static bool seen_wait(struct seen *s, int ms) {
    struct timespec ts = util_abstime(CLOCK_REALTIME, ms);
    pthread_mutex_lock(&s->lock);
    while (s->calls == 0 && pthread_cond_timedwait(&s->cond, &s->lock, &ts) != ETIMEDOUT)
        ;
    bool ok = s->calls > 0;
    pthread_mutex_unlock(&s->lock);
    return ok;
}

static int start_sh(const char *script, struct seen *s, struct proc_log *log,
        struct proc_log *err_log, int grace_ms, int *id) {
    const char *argv[] = {"sh", "-c", script, NULL};
    struct job_spec spec = {
            .file = "/bin/sh",
            .argv = argv,
            .log = log,
            .err_log = err_log,
            .stop_grace_ms = grace_ms,
            .on_exit = s ? on_exit_cb : NULL,
            .data = s,
    };
    char err[256];
    int rc = jobs_start(&spec, id, err, sizeof err);
    CHECK(rc == 0, "jobs_start %s: %s", script, err);
    return rc;
}

/* ---- several request threads ---- */

struct req {
    int n;
    int status;
    int rc;
    pid_t pid;
};

/* Each thread runs a job that exits with its own status, and waits for it. */
static void *request_exit(void *arg) {
    struct req *r = arg;
    char script[64];
    snprintf(script, sizeof script, "sleep 0.1; exit %d", r->n);
    int id;
    if (start_sh(script, NULL, NULL, NULL, 0, &id) < 0)
        return NULL;
    r->pid = jobs_pid(id);
    r->rc = jobs_wait(id, 10000, &r->status);
    jobs_release(id);
    /* Jobs that end at once: their exit may be reaped before jobs_start returns. */
    for (int k = 0; k < 10 && r->rc == 0; k++) {
        int quick, status = -1;
        if (start_sh("exit 5", NULL, NULL, NULL, 0, &quick) < 0)
            break;
        CHECK_INT(jobs_wait(quick, 10000, &status), 0);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 5, "quick job: 0x%x", (unsigned)status);
        jobs_release(quick);
    }
    return NULL;
}

/* Each thread runs a long job and stops it: it ends by SIGTERM, at once. */
static void *request_stop(void *arg) {
    struct req *r = arg;
    int id;
    if (start_sh("exec sleep 30", NULL, NULL, NULL, 5000, &id) < 0)
        return NULL;
    int64_t t0 = util_mono_ms();
    CHECK_INT(jobs_stop(id), 0);
    r->rc = jobs_wait(id, 10000, &r->status);
    CHECK(util_mono_ms() - t0 < 3000, "a job that obeys SIGTERM ends before its grace");
    jobs_release(id);
    return NULL;
}

static void test_threads(void) {
    pthread_t t[8];
    struct req r[8];
    for (int k = 0; k < 8; k++) {
        r[k] = (struct req){.n = 10 + k, .rc = -1};
        pthread_create(&t[k], NULL, k % 2 ? request_stop : request_exit, &r[k]);
    }
    for (int k = 0; k < 8; k++)
        pthread_join(t[k], NULL);
    for (int k = 0; k < 8; k++) {
        CHECK_INT(r[k].rc, 0);
        if (k % 2) {
            CHECK(WIFSIGNALED(r[k].status) && WTERMSIG(r[k].status) == SIGTERM,
                    "stopped job %d: wait status 0x%x", k, (unsigned)r[k].status);
        } else {
            CHECK(WIFEXITED(r[k].status) && WEXITSTATUS(r[k].status) == 10 + k,
                    "job %d: wait status 0x%x", k, (unsigned)r[k].status);
            CHECK(r[k].pid > 0 && kill(r[k].pid, 0) < 0, "job %d's pid is gone", k);
        }
    }
}

/* ---- a job that ignores SIGTERM ---- */

/* Waits until path's text holds want, at most ms. */
static bool log_has(const char *path, const char *want, int ms) {
    int64_t end = util_mono_ms() + ms;
    for (;;) {
        size_t len;
        char *t = proc_log_read(path, 1 << 20, &len);
        bool ok = t && strstr(t, want);
        free(t);
        if (ok)
            return true;
        if (util_mono_ms() >= end)
            return false;
        /* The log is written by the supervisor thread: nothing to wait on here but the file. */
        struct timespec ts = {0, 5 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

static void test_deaf(const char *dir) {
    char path[512];
    snprintf(path, sizeof path, "%s/deaf.log", dir);
    struct proc_log log;
    CHECK_INT(proc_log_open(&log, path, 1 << 16), 0);
    /* Static: a callback that comes after a failed wait must still find it. */
    static struct seen s;
    seen_init(&s);
    int id;
    if (start_sh("trap '' TERM; echo ignoring; while :; do sleep 0.05; done", &s, &log, NULL, 400,
                &id) < 0)
        return;
    /* Only once the trap is set: a TERM before it would end the shell. */
    CHECK(log_has(path, "ignoring", 10000), "the job said it ignores SIGTERM");
    int64_t t0 = util_mono_ms();
    CHECK_INT(jobs_stop(id), 0);
    CHECK(seen_wait(&s, 10000), "the owner heard of the deaf job's end");
    int64_t took = s.at - t0;
    CHECK(WIFSIGNALED(s.status) && WTERMSIG(s.status) == SIGKILL, "killed by SIGKILL: 0x%x",
            (unsigned)s.status);
    /* The grace is 400 ms; the supervisor thread wakes for it, give or take a busy machine. */
    CHECK(took >= 400 && took < 1400, "SIGKILL %lld ms after the stop (grace 400 ms)",
            (long long)took);
    CHECK(s.on_thread, "exit callbacks run on the supervisor thread");
    CHECK_INT(s.id, id);
    int status = 0;
    CHECK_INT(jobs_wait(id, 1000, &status), 0);
    CHECK_INT(status, s.status);
    CHECK_INT(s.calls, 1);
    jobs_release(id);
    CHECK_INT(jobs_wait(id, 0, NULL), -ESRCH);
    CHECK_INT(jobs_stop(id), -ESRCH);
    /* Released and over: its slot is freed on the supervisor thread's next turn. */
    jobs_wake();
    CHECK_INT(jobs_stop(id + 1000), -ESRCH);
    proc_log_close(&log);
}

/* ---- a job that outlives the thread that asked for it ---- */

struct orphan_req {
    struct seen *seen;
    int id;
    int64_t started;
};

static void *request_and_leave(void *arg) {
    struct orphan_req *o = arg;
    o->started = util_mono_ms();
    if (start_sh("sleep 0.5; exit 7", o->seen, NULL, NULL, 0, &o->id) == 0)
        jobs_release(o->id); /* the owner does not wait: only its callback hears */
    return NULL;
}

static void test_orphan(void) {
    /* Static: a callback that comes after a failed wait must still find it. */
    static struct seen s;
    seen_init(&s);
    struct orphan_req o = {.seen = &s};
    pthread_t t;
    pthread_create(&t, NULL, request_and_leave, &o);
    pthread_join(t, NULL); /* the requesting thread is gone */
    CHECK(seen_wait(&s, 10000), "the callback of a job whose thread ended was called");
    CHECK(WIFEXITED(s.status) && WEXITSTATUS(s.status) == 7,
            "it ended by itself with status 7: 0x%x", (unsigned)s.status);
    CHECK(s.at - o.started >= 500, "it ran its whole 500 ms: %lld ms",
            (long long)(s.at - o.started));
    CHECK_INT(s.calls, 1);
}

/* ---- output ---- */

static void test_output(const char *dir) {
    char all[512], errp[512];
    snprintf(all, sizeof all, "%s/both.log", dir);
    snprintf(errp, sizeof errp, "%s/both.err.log", dir);
    struct proc_log log, err;
    CHECK_INT(proc_log_open(&log, all, 1 << 16), 0);
    CHECK_INT(proc_log_open(&err, errp, 1 << 16), 0);
    /* Static: a callback that comes after a failed wait must still find it. */
    static struct seen s;
    seen_init(&s);
    int id;
    /* Each line waits for the previous one to be logged: the order is the script's. */
    if (start_sh("echo out1; sleep 0.1; echo err1 >&2; sleep 0.1; echo out2; sleep 0.1; "
                 "echo err2 >&2; exit 0",
                &s, &log, &err, 0, &id) < 0)
        return;
    CHECK(seen_wait(&s, 10000), "the writer ended");
    size_t n;
    char *t = proc_log_read(all, 1 << 20, &n);
    CHECK_STR(t, "out1\nerr1\nout2\nerr2\n");
    free(t);
    t = proc_log_read(errp, 1 << 20, &n);
    CHECK_STR(t, "err1\nerr2\n");
    free(t);
    jobs_release(id);
    /* An executable that does not exist: an error, and nothing runs. */
    const char *argv[] = {"nothing", NULL};
    struct job_spec spec = {.file = "/nonexistent/nothing", .argv = argv};
    char msg[256];
    int bad = 0;
    CHECK_INT(jobs_start(&spec, &bad, msg, sizeof msg), -ENOENT);
    CHECK(strstr(msg, "/nonexistent/nothing") != NULL, "the error names it: %s", msg);
    proc_log_close(&log);
    proc_log_close(&err);
}

/* A job reads what its owner writes to its stdin (deskd stops ffmpeg with "q" there). */
static void test_stdin(void) {
    int in[2];
    CHECK_INT(pipe2(in, O_CLOEXEC), 0);
    const char *argv[] = {"sh", "-c", "read line; exit $line", NULL};
    struct job_spec spec = {.file = "/bin/sh", .argv = argv, .stdin_fd = in[0]};
    char err[256];
    int id = 0, status = -1;
    CHECK_INT(jobs_start(&spec, &id, err, sizeof err), 0);
    close(in[0]);
    CHECK_INT(write(in[1], "7\n", 2), 2);
    close(in[1]);
    CHECK_INT(jobs_wait(id, 10000, &status), 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 7, "it read 7: 0x%x", (unsigned)status);
    jobs_release(id);
    /* Without one, stdin is /dev/null: read sees its end at once. */
    const char *eof[] = {"sh", "-c", "if read line; then exit 1; fi; exit 3", NULL};
    struct job_spec none = {.file = "/bin/sh", .argv = eof};
    CHECK_INT(jobs_start(&none, &id, err, sizeof err), 0);
    CHECK_INT(jobs_wait(id, 10000, &status), 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 3, "stdin at its end: 0x%x",
            (unsigned)status);
    jobs_release(id);
}

/* Children of ours that are zombies (exited, not reaped). */
static int zombies(void) {
    DIR *d = opendir("/proc");
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char path[300], st[512];
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        FILE *f = fopen(path, "re");
        if (!f)
            continue;
        size_t r = fread(st, 1, sizeof st - 1, f);
        fclose(f);
        st[r] = '\0';
        /* "pid (comm) S ppid ...": the state and the parent follow the last ')'. */
        const char *paren = strrchr(st, ')');
        if (!paren || strlen(paren) < 5)
            continue;
        char state = paren[2];
        long ppid = strtol(paren + 4, NULL, 10);
        if (ppid == getpid() && state == 'Z')
            n++;
    }
    if (d)
        closedir(d);
    return n;
}

int main(void) {
    check_timeout(60);
    char dir[] = "/tmp/test-jobs-XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    char err[256];
    if (jobs_init(NULL, err, sizeof err) < 0) {
        CHECK(false, "jobs_init: %s", err);
        return check_finish();
    }
    test_threads();
    test_deaf(dir);
    test_orphan();
    test_output(dir);
    test_stdin();
    /*
     * Every job reported its exit, and the supervisor thread reaps the
     * orphans it adopted (the deaf shell's sleeps) as their SIGCHLD comes.
     */
    int64_t end = util_mono_ms() + 5000;
    while (zombies() > 0 && util_mono_ms() < end)
        nanosleep(&(struct timespec){0, 5 * 1000000L}, NULL);
    CHECK_INT(zombies(), 0);
    jobs_finish();
    CHECK_INT(jobs_stop(1), -ESRCH);
    static const char *const files[] = {"deaf.log", "both.log", "both.err.log"};
    for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) {
        char path[600];
        snprintf(path, sizeof path, "%s/%s", dir, files[k]);
        unlink(path);
    }
    CHECK_INT(rmdir(dir), 0);
    return check_finish();
}
