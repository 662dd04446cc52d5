/*
 * bench-util: the pieces the benchmarks share (see bench-util.h): messages, clocks and
 * percentiles, children that carry the run's marker, Xvfb and deskd start-up, libdesk handles
 * and their errors, and the supervisor that enforces the overall timeout and kills
 * everything of the run on every exit.
 */
#define _GNU_SOURCE
#include "bench-util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

const char *bench_name = "bench";
char tmpdir[64];
char marker[96];

void say(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", bench_name);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

void nap_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

bool in_path(const char *prog) {
    const char *path = getenv("PATH");
    char buf[4096];
    if (strchr(prog, '/'))
        return access(prog, X_OK) == 0;
    for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
        size_t n = strcspn(p, ":");
        if (n > 0 && snprintf(buf, sizeof buf, "%.*s/%s", (int)n, p, prog) < (int)sizeof buf &&
                access(buf, X_OK) == 0)
            return true;
        p += n;
        p += *p == ':';
    }
    return false;
}

int parse_int(const char *s, int min, int max, int *out) {
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end || v < min || v > max)
        return -1;
    *out = (int)v;
    return 0;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double percentile(const double *sorted, int n, double p) {
    double idx = p * (n - 1);
    int lo = (int)idx;
    if (lo >= n - 1)
        return sorted[n - 1];
    return sorted[lo] + (idx - lo) * (sorted[lo + 1] - sorted[lo]);
}

void percentiles(double *samples, int n, double *p50, double *p95) {
    qsort(samples, (size_t)n, sizeof *samples, cmp_double);
    *p50 = percentile(samples, n, 0.50);
    *p95 = percentile(samples, n, 0.95);
}

/* ---- processes ------------------------------------------------------------------------- */

pid_t spawn(const char *const *argv, char **env, const struct spawn_opts *so) {
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t none, dfl;
    const char *log = so->log ? so->log : "/dev/null";
    pid_t pid = -1;

    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (so->out_fd >= 0)
        posix_spawn_file_actions_adddup2(&fa, so->out_fd, 1);
    else
        posix_spawn_file_actions_adddup2(&fa, 2, 1);
    if (so->pass_fd >= 0)
        posix_spawn_file_actions_adddup2(&fa, so->pass_fd, 3);
    /* libdesk's sockets and our pipes must not leak into children. */
    posix_spawn_file_actions_addclosefrom_np(&fa, so->pass_fd >= 0 ? 4 : 3);

    /* The supervisor blocks signals and the worker may ignore some: children start clean. */
    posix_spawnattr_init(&at);
    sigemptyset(&none);
    sigemptyset(&dfl);
    sigaddset(&dfl, SIGINT);
    sigaddset(&dfl, SIGTERM);
    sigaddset(&dfl, SIGHUP);
    sigaddset(&dfl, SIGPIPE);
    sigaddset(&dfl, SIGCHLD);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &dfl);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                          (so->session ? POSIX_SPAWN_SETSID : 0));

    int err = posix_spawnp(&pid, argv[0], &fa, &at, (char *const *)argv, env);
    posix_spawnattr_destroy(&at);
    posix_spawn_file_actions_destroy(&fa);
    if (err) {
        say("cannot run %s: %s", argv[0], strerror(err));
        return -1;
    }
    return pid;
}

int wait_exit(pid_t pid) {
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Runs argv to completion with stdout captured in buf; returns the exit status or -1. */
int run_capture(const char *const *argv, char **env, char *buf, size_t cap) {
    int p[2];
    size_t len = 0;
    if (pipe2(p, O_CLOEXEC) < 0)
        return -1;
    struct spawn_opts so = {.out_fd = p[1], .pass_fd = -1};
    pid_t pid = spawn(argv, env, &so);
    close(p[1]);
    if (pid < 0) {
        close(p[0]);
        return -1;
    }
    for (;;) {
        char scratch[4096];
        char *dst = len + 1 < cap ? buf + len : scratch;
        size_t room = len + 1 < cap ? cap - 1 - len : sizeof scratch;
        ssize_t n = read(p[0], dst, room);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (dst != scratch)
            len += (size_t)n;
    }
    buf[len] = '\0';
    close(p[0]);
    return wait_exit(pid);
}

static struct kid kids[MAX_KIDS];
static int nkids;

struct kid *kid_spawn(
        const char *name, const char *const *argv, char **env, const struct spawn_opts *so) {
    if (nkids == MAX_KIDS)
        return NULL;
    pid_t pid = spawn(argv, env, so);
    if (pid < 0)
        return NULL;
    struct kid *k = &kids[nkids++];
    *k = (struct kid){.pid = pid};
    snprintf(k->name, sizeof k->name, "%s", name);
    return k;
}

struct kid *kid_start(
        const char *name, const char *const *argv, char **env, const char *log, int pass_fd) {
    struct spawn_opts so = {.log = log, .out_fd = -1, .pass_fd = pass_fd, .session = true};
    return kid_spawn(name, argv, env, &so);
}

bool kid_alive(struct kid *k) {
    int st;
    if (k->reaped)
        return false;
    pid_t r = waitpid(k->pid, &st, WNOHANG);
    if (r == 0)
        return true;
    k->reaped = true;
    k->status = r < 0 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return false;
}

/* Pids of live processes whose environment holds our marker (zombies have none). */
int marker_pids(pid_t *out, int max) {
    static char env[1 << 18];
    int n = 0;
    DIR *d = opendir("/proc");
    struct dirent *e;
    if (!d)
        return 0;
    while ((e = readdir(d)) && n < max) {
        char *end, path[64];
        long pid = strtol(e->d_name, &end, 10);
        if (*end || pid <= 0 || pid == getpid())
            continue;
        snprintf(path, sizeof path, "/proc/%ld/environ", pid);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        size_t len = 0;
        ssize_t r;
        while (len < sizeof env - 1 && (r = read(fd, env + len, sizeof env - 1 - len)) > 0)
            len += (size_t)r;
        close(fd);
        env[len] = '\0';
        for (size_t i = 0; i < len; i += strlen(env + i) + 1) {
            if (strcmp(env + i, marker) == 0) {
                out[n++] = (pid_t)pid;
                break;
            }
        }
    }
    closedir(d);
    return n;
}

void reap_any(void) {
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
}

/* TERM, then KILL, every process of this run that is still there. */
void sweep(void) {
    pid_t pids[256];
    for (int round = 0; round < 2; round++) {
        int n = marker_pids(pids, 256);
        if (n == 0)
            return;
        for (int i = 0; i < n; i++)
            kill(pids[i], round == 0 ? SIGTERM : SIGKILL);
        for (double end = now_ms() + 3000; now_ms() < end;) {
            reap_any();
            if (marker_pids(pids, 256) == 0)
                return;
            nap_ms(20);
        }
    }
    say("some processes of this run would not die");
}

/* Stops the kids' process groups (TERM, then KILL after 3 s), then sweeps the rest. */
void stop_kids(void) {
    for (int i = nkids - 1; i >= 0; i--)
        kill(-kids[i].pid, SIGTERM);
    for (double end = now_ms() + 3000; now_ms() < end;) {
        bool any = false;
        for (int i = 0; i < nkids; i++)
            any |= kid_alive(&kids[i]);
        if (!any)
            break;
        nap_ms(20);
    }
    for (int i = 0; i < nkids; i++) {
        kill(-kids[i].pid, SIGKILL);
        if (!kids[i].reaped) {
            wait_exit(kids[i].pid);
            kids[i].reaped = true;
        }
    }
    nkids = 0;
    sweep();
}

/* ---- environment and files ------------------------------------------------------------- */

/* The children's environment: ours, minus session variables, plus DISPLAY, XDG dirs in
 * tmpdir (nothing lands in the user's home) and the marker. */
char **env_build(const char *display) {
    static const char *const drop[] = {"DISPLAY=", "DBUS_SESSION_BUS_ADDRESS=", "SESSION_MANAGER=",
            "XDG_CONFIG_HOME=", "XDG_CACHE_HOME=", "XDG_DATA_HOME=", "XDG_RUNTIME_DIR=",
            "XDG_SESSION_", "XAUTHORITY=", MARKER_NAME "=", NULL};
    size_t n = 0, k = 0;
    while (environ[n])
        n++;
    char **env = calloc(n + 8, sizeof *env);
    if (!env)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        bool skip = false;
        for (const char *const *d = drop; *d && !skip; d++)
            skip = strncmp(environ[i], *d, strlen(*d)) == 0;
        if (!skip)
            env[k++] = strdup(environ[i]);
    }
    if (display && asprintf(&env[k++], "DISPLAY=%s", display) < 0)
        env[--k] = NULL;
    static const char *const xdg[][2] = {{"XDG_CONFIG_HOME", "config"}, {"XDG_CACHE_HOME", "cache"},
            {"XDG_DATA_HOME", "data"}, {"XDG_RUNTIME_DIR", "run"}};
    for (size_t i = 0; i < sizeof xdg / sizeof xdg[0]; i++)
        if (asprintf(&env[k++], "%s=%s/%s", xdg[i][0], tmpdir, xdg[i][1]) < 0)
            env[--k] = NULL;
    env[k++] = strdup(marker);
    for (size_t i = 0; i < k; i++) {
        if (!env[i]) {
            for (size_t j = 0; j < k; j++)
                free(env[j]);
            free(env);
            return NULL;
        }
    }
    return env;
}

void env_free(char **env) {
    for (size_t i = 0; env && env[i]; i++)
        free(env[i]);
    free(env);
}

int mkdirs(const char *path, mode_t mode) {
    char buf[512];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return mkdir(buf, mode) < 0 && errno != EEXIST ? -1 : 0;
}

int write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(text, f);
    return fclose(f);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

void print_file_tail(const char *path, size_t max) {
    FILE *f = fopen(path, "r");
    char buf[4096];
    if (!f)
        return;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, size > (long)max ? size - (long)max : 0, SEEK_SET);
    fprintf(stderr, "---- last lines of %s ----\n", path);
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        fwrite(buf, 1, n, stderr);
    fprintf(stderr, "---- end of %s ----\n", path);
    fclose(f);
}

long rss_kib(pid_t pid) {
    char path[64], line[256];
    long kib = -1;
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld", &kib) == 1)
            break;
    if (f)
        fclose(f);
    return kib;
}

/* ---- X and deskd ------------------------------------------------------------------------ */

struct kid *start_xvfb(int w, int h, char *display, size_t dlen) {
    int p[2], wfd;
    char geom[32], log[128];
    char num[16] = "";
    size_t len = 0;
    struct kid *xvfb;

    if (pipe2(p, O_CLOEXEC) < 0)
        return NULL;
    /* fd 3 in the child is made with dup2, which needs a source other than 3. */
    wfd = fcntl(p[1], F_DUPFD_CLOEXEC, 10);
    close(p[1]);
    snprintf(geom, sizeof geom, "%dx%dx24", w, h);
    snprintf(log, sizeof log, "%s/xvfb-%dx%d.log", tmpdir, w, h);
    const char *argv[] = {
            "Xvfb", "-displayfd", "3", "-screen", "0", geom, "-nolisten", "tcp", NULL};
    char **env = env_build(NULL);
    xvfb = env ? kid_start("Xvfb", argv, env, log, wfd) : NULL;
    env_free(env);
    close(wfd);
    /* Xvfb writes the display number once it accepts clients; EOF means it died. */
    for (double end = now_ms() + 20000; xvfb && !strchr(num, '\n') && now_ms() < end;) {
        struct pollfd pfd = {.fd = p[0], .events = POLLIN};
        if (poll(&pfd, 1, 200) <= 0)
            continue;
        ssize_t n = read(p[0], num + len, sizeof num - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
        num[len] = '\0';
        if (len == sizeof num - 1)
            break;
    }
    close(p[0]);
    if (!xvfb || !strchr(num, '\n')) {
        say("Xvfb did not start (log: %s)", log);
        print_file_tail(log, 2000);
        return NULL;
    }
    snprintf(display, dlen, ":%d", atoi(num));
    return xvfb;
}

struct kid *start_deskd(const char *deskd, const char *display, char **env, const char *log,
        char *url, size_t urllen) {
    const char *argv[] = {deskd, "--listen", "127.0.0.1:0", "--display", display, NULL};
    /* Attached: it drives the display we started and starts no desktop of its own. The
     * variable, unlike the --attach option, is also harmless to a deskd that predates it;
     * first in the list, it wins over one inherited from our environment. */
    size_t nenv = 0;
    while (env[nenv])
        nenv++;
    char **denv = calloc(nenv + 2, sizeof *denv);
    if (!denv)
        return NULL;
    denv[0] = (char *)"DESK_ATTACH=1";
    memcpy(denv + 1, env, nenv * sizeof *env);
    struct kid *k = kid_start("deskd", argv, denv, log, -1);
    free(denv);
    if (!k)
        return NULL;
    /* Its log is a file, not a pipe, so a chatty deskd can never block on us. */
    for (double end = now_ms() + 15000; now_ms() < end; nap_ms(20)) {
        char buf[8192];
        FILE *f = fopen(log, "r");
        size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
        if (f)
            fclose(f);
        buf[n] = '\0';
        const char *p = strstr(buf, "listening on http://");
        if (p && strchr(p, '\n')) {
            p += strlen("listening on ");
            snprintf(url, urllen, "%.*s", (int)strcspn(p, " \n"), p);
            return k;
        }
        if (!kid_alive(k)) {
            say("deskd exited with status %d before listening", k->status);
            print_file_tail(log, 3000);
            return NULL;
        }
    }
    say("deskd did not print its address within 15 s");
    print_file_tail(log, 3000);
    return NULL;
}

/* ---- deskd through libdesk ------------------------------------------------------------ */

desk_client *bench_client(const char *url) {
    desk_client *c = desk_client_new(url);
    if (!c) {
        say("cannot make a libdesk handle (out of memory, or libcurl failed to initialise)");
        return NULL;
    }
    if (desk_last_status(c) != DESK_OK || desk_client_set_timeouts(c, 5000, 30000) != DESK_OK) {
        char why[400];
        say("libdesk refuses %s: %s", url, bench_desk_error(c, why, sizeof why));
        desk_client_free(c);
        return NULL;
    }
    return c;
}

const char *bench_desk_error(const desk_client *c, char *buf, size_t len) {
    long http = desk_last_http_status(c);
    const char *name = desk_status_name(desk_last_status(c));
    if (http)
        snprintf(buf, len, "%s (HTTP %ld): %s", name, http, desk_last_error(c));
    else
        snprintf(buf, len, "%s: %s", name, desk_last_error(c));
    return buf;
}

/* ---- supervisor ------------------------------------------------------------------------- */

int bench_supervise(int (*worker)(void), int timeout_s, bool keep_tmp) {
    sigset_t set;
    int rc = 1;

    snprintf(tmpdir, sizeof tmpdir, "/tmp/desk-bench.XXXXXX");
    if (!mkdtemp(tmpdir)) {
        say("mkdtemp: %s", strerror(errno));
        return 1;
    }
    char run[160];
    snprintf(run, sizeof run, "%s/run", tmpdir);
    mkdir(run, 0700);
    snprintf(marker, sizeof marker, "%s=%d-%.0f", MARKER_NAME, (int)getpid(), now_ms() * 1e3);

    /* Orphans of the session re-parent to us, so they can be reaped after the sweep. */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, NULL);
    fflush(NULL);

    pid_t sup = getpid(), w = fork();
    if (w == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != sup)
            _exit(1);
        sigprocmask(SIG_UNBLOCK, &set, NULL);
        signal(SIGPIPE, SIG_IGN);
        int wrc = worker();
        fflush(NULL);
        _exit(wrc);
    }
    if (w < 0) {
        say("fork: %s", strerror(errno));
        goto out;
    }

    double deadline = now_ms() + timeout_s * 1e3;
    for (;;) {
        double left = deadline - now_ms();
        if (left <= 0) {
            say("overall timeout of %d s reached: stopping everything", timeout_s);
            kill(w, SIGKILL);
            wait_exit(w);
            rc = 124;
            break;
        }
        struct timespec ts = {(time_t)(left / 1e3), (long)fmod(left, 1e3) * 1000000L};
        siginfo_t si;
        int sig = sigtimedwait(&set, &si, &ts);
        if (sig == SIGCHLD) {
            int st;
            pid_t p;
            bool done = false;
            while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
                if (p == w) {
                    done = true;
                    rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
                }
            }
            if (done)
                break;
        } else if (sig > 0) {
            say("%s: stopping everything", strsignal(sig));
            kill(w, SIGKILL);
            wait_exit(w);
            rc = 128 + sig;
            break;
        }
    }
out:
    sweep();
    reap_any();
    if (rc == 0 && !keep_tmp)
        nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    else
        say("logs kept in %s", tmpdir);
    return rc;
}
