/*
 * apps: the launched programs of apps.h. A table of slots under one mutex;
 * a slot is taken before the job starts (its exit may be reported before
 * jobs_start returns) and given back by the job's exit callback, which runs
 * on the supervisor thread. Lock order: this module's mutex, then the job
 * layer's; jobs_start is called without the mutex (the exit callback takes
 * it).
 */
#define _GNU_SOURCE
#include "apps.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "jobs.h"
#include "log.h"
#include "stack.h"
#include "util.h"

/* How far up the parent chain a window's pid is looked for the launched program. */
#define ANCESTRY_MAX 32

struct slot {
    bool used, exited;
    int job; /* 0 until jobs_start returned */
    pid_t pid;
    int status;
    int64_t started_ms;
    unsigned long seq; /* launch order */
    char cmdline[512];
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t exited_cv = PTHREAD_COND_INITIALIZER; /* CLOCK_REALTIME */
static struct slot slots[APPS_MAX];
static unsigned long seq;

static int64_t realtime_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* On the supervisor thread: the program was reaped. */
static void on_exit_cb(void *data, int id, int status) {
    struct slot *s = &slots[(intptr_t)data];
    pthread_mutex_lock(&mu);
    s->exited = true;
    s->status = status;
    bool release = s->job == id;
    if (release) {
        log_msg(LOG_INFO, "launched program %d (%s) exited with %s %d", (int)s->pid, s->cmdline,
                WIFSIGNALED(status) ? "signal" : "status",
                WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
        s->used = false;
    }
    pthread_cond_broadcast(&exited_cv);
    pthread_mutex_unlock(&mu);
    if (release)
        jobs_release(id);
}

/* The session's environment with the caller's entries put over it; NULL on OOM. */
static char **merged_env(char *const *base, const char *const *extra) {
    size_t nb = 0, ne = 0;
    while (base[nb])
        nb++;
    while (extra && extra[ne])
        ne++;
    char **out = calloc(nb + ne + 1, sizeof *out);
    if (!out)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < nb; i++) {
        bool replaced = false;
        for (size_t j = 0; j < ne && !replaced; j++) {
            size_t n = strcspn(extra[j], "=") + 1;
            replaced = strncmp(base[i], extra[j], n) == 0;
        }
        if (!replaced)
            out[k++] = base[i];
    }
    for (size_t j = 0; j < ne; j++)
        out[k++] = (char *)extra[j];
    return out;
}

static void join_argv(const char *const *argv, char *out, size_t len) {
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; argv[i] && used + 1 < len; i++) {
        int n = snprintf(out + used, len - used, "%s%s", i ? " " : "", argv[i]);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

int apps_launch(const struct app_launch *l, pid_t *pid, char *err, size_t errlen) {
    struct stack_session sess;
    int rc = stack_session(&sess, err, errlen);
    if (rc < 0)
        return rc;
    char file[PATH_MAX];
    rc = proc_which(l->argv[0], sess.path, file, sizeof file);
    if (rc < 0) {
        snprintf(err, errlen,
                rc == -EACCES ? "argv[0] \"%s\" is not executable"
                              : "argv[0] \"%s\" is no executable on the desktop's PATH",
                l->argv[0]);
        stack_session_free(&sess);
        return rc;
    }
    struct stat st;
    if (l->cwd && (stat(l->cwd, &st) < 0 || !S_ISDIR(st.st_mode))) {
        snprintf(err, errlen, "cwd \"%s\" is not a directory", l->cwd);
        stack_session_free(&sess);
        return -ENOTDIR;
    }
    char **envp = merged_env(sess.envp, l->env);
    if (!envp) {
        stack_session_free(&sess);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    pthread_mutex_lock(&mu);
    int i = 0;
    while (i < APPS_MAX && slots[i].used)
        i++;
    if (i < APPS_MAX) {
        slots[i] = (struct slot){.used = true, .started_ms = realtime_ms(), .seq = ++seq};
        join_argv(l->argv, slots[i].cmdline, sizeof slots[i].cmdline);
    }
    pthread_mutex_unlock(&mu);
    if (i == APPS_MAX) {
        free(envp);
        stack_session_free(&sess);
        snprintf(err, errlen, "%d launched programs run already; kill one first", APPS_MAX);
        return -EAGAIN;
    }
    struct job_spec spec = {
            .file = file,
            .argv = l->argv,
            .envp = (const char *const *)envp,
            .dir = l->cwd ? l->cwd : sess.dir,
            .log = sess.log,
            .err_log = sess.err,
            .stop_grace_ms = APPS_KILL_GRACE_MS,
            .on_exit = on_exit_cb,
            .data = (void *)(intptr_t)i,
    };
    int job = 0;
    rc = jobs_start(&spec, &job, err, errlen);
    free(envp);
    stack_session_free(&sess);
    pthread_mutex_lock(&mu);
    if (rc < 0) {
        slots[i].used = false;
    } else {
        slots[i].job = job;
        slots[i].pid = *pid = jobs_pid(job);
        log_msg(LOG_INFO, "launched program %d: %s", (int)slots[i].pid, slots[i].cmdline);
    }
    /* It ended before we knew its job: the callback left the slot to us. */
    bool gone = rc == 0 && slots[i].exited;
    if (gone)
        slots[i].used = false;
    pthread_mutex_unlock(&mu);
    if (gone)
        jobs_release(job);
    return rc;
}

int apps_list(struct app_info out[APPS_MAX]) {
    int n = 0;
    pthread_mutex_lock(&mu);
    for (int i = 0; i < APPS_MAX; i++) {
        if (slots[i].used && slots[i].job && !slots[i].exited) {
            out[n] = (struct app_info){.pid = slots[i].pid, .started_ms = slots[i].started_ms};
            snprintf(out[n].cmdline, sizeof out[n].cmdline, "%s", slots[i].cmdline);
            n++;
        }
    }
    pthread_mutex_unlock(&mu);
    /* Launch order: the table reuses slots. */
    for (int a = 1; a < n; a++) {
        for (int b = a; b > 0 && out[b].started_ms < out[b - 1].started_ms; b--) {
            struct app_info t = out[b];
            out[b] = out[b - 1];
            out[b - 1] = t;
        }
    }
    return n;
}

/* The slot of running launched program pid, or -1. Under mu. */
static int find(pid_t pid) {
    for (int i = 0; i < APPS_MAX; i++) {
        if (slots[i].used && slots[i].job && !slots[i].exited && slots[i].pid == pid)
            return i;
    }
    return -1;
}

static pid_t parent_of(pid_t pid) {
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* "pid (comm) state ppid": comm may hold spaces and parentheses. */
    const char *p = strrchr(buf, ')');
    if (!p || strlen(p) < 5)
        return 0;
    long ppid = strtol(p + 4, NULL, 10);
    return ppid > 0 ? (pid_t)ppid : 0;
}

int apps_owns(pid_t root, pid_t pid) {
    pthread_mutex_lock(&mu);
    bool running = find(root) >= 0;
    pthread_mutex_unlock(&mu);
    if (!running)
        return -1;
    for (int depth = 0; pid > 1 && depth < ANCESTRY_MAX; depth++) {
        if (pid == root)
            return 1;
        pid = parent_of(pid);
    }
    return 0;
}

int apps_kill(pid_t pid, int *status) {
    pthread_mutex_lock(&mu);
    int i = find(pid);
    int job = i >= 0 ? slots[i].job : 0;
    unsigned long my_seq = i >= 0 ? slots[i].seq : 0;
    pthread_mutex_unlock(&mu);
    if (i < 0 || jobs_stop(job) < 0)
        return -ESRCH;
    /* jobs_stop sends SIGKILL after the grace period; the exit follows. */
    struct timespec until = util_abstime(CLOCK_REALTIME, APPS_KILL_GRACE_MS + 5000);
    pthread_mutex_lock(&mu);
    while (slots[i].seq == my_seq && !slots[i].exited) {
        if (pthread_cond_timedwait(&exited_cv, &mu, &until) == ETIMEDOUT)
            break;
    }
    /* A slot taken again by a newer launch means that this one's exit came and went. */
    bool done = slots[i].seq != my_seq || slots[i].exited;
    *status = slots[i].seq == my_seq ? slots[i].status : 0;
    pthread_mutex_unlock(&mu);
    return done ? 0 : -ETIMEDOUT;
}
