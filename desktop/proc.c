/*
 * proc: spawning, signalling and watching children, and their log files.
 *
 * Between fork and exec the child of a threaded process may only make
 * async-signal-safe calls, so everything it needs (the executable's path, the
 * environment) is prepared before the fork, and an exec failure is reported
 * through a close-on-exec pipe: the parent reads nothing when the exec worked,
 * the child's errno when it did not.
 */
#define _GNU_SOURCE
#include "proc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

int proc_which(const char *name, const char *path, char *out, size_t outlen) {
    if (strchr(name, '/')) {
        if (access(name, X_OK) == 0) {
            snprintf(out, outlen, "%s", name);
            return 0;
        }
        return access(name, F_OK) == 0 ? -EACCES : -ENOENT;
    }
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    int rc = -ENOENT;
    for (const char *p = path; *p;) {
        size_t n = strcspn(p, ":");
        char full[PATH_MAX];
        if (n > 0 && n + 1 + strlen(name) < sizeof full) {
            snprintf(full, sizeof full, "%.*s/%s", (int)n, p, name);
            struct stat st;
            if (stat(full, &st) == 0 && S_ISREG(st.st_mode)) {
                if (access(full, X_OK) == 0) {
                    snprintf(out, outlen, "%s", full);
                    return 0;
                }
                rc = -EACCES;
            }
        }
        p += n;
        if (*p == ':')
            p++;
    }
    return rc;
}

/* In the child: nothing but async-signal-safe calls. */
static void child(const struct proc_spawn_args *a, pid_t parent, int report) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    /* Ignored signals stay ignored across exec (deskd ignores SIGPIPE). */
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    for (int sig = 1; sig < NSIG; sig++)
        sigaction(sig, &dfl, NULL);
    if (setsid() < 0)
        goto fail;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    /* The parent may have died before the line above took effect. */
    if (getppid() != parent)
        _exit(127);
    int in = a->in_fd > 0 ? a->in_fd : open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (in < 0 || dup2(in, 0) < 0)
        goto fail;
    if (dup2(a->out_fd, 1) < 0 || dup2(a->err_fd, 2) < 0)
        goto fail;
    /* Nothing of ours (sockets, X connections, other children's pipes) leaks. */
    if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0) {
        struct rlimit rl;
        int max = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 65536 ? (int)rl.rlim_cur
                                                                            : 65536;
        for (int fd = 3; fd < max; fd++) {
            if (fd != report)
                fcntl(fd, F_SETFD, FD_CLOEXEC);
        }
    }
    if (a->dir && chdir(a->dir) < 0 && chdir("/") < 0)
        goto fail;
    execve(a->file, (char *const *)a->argv, (char *const *)a->envp);
fail:;
    int e = errno;
    ssize_t w = write(report, &e, sizeof e);
    (void)w;
    _exit(127);
}

int proc_spawn(const struct proc_spawn_args *a, pid_t *pid, char *err, size_t errlen) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0) {
        int e = errno;
        snprintf(err, errlen, "cannot make a pipe: %s", strerror(e));
        return -e;
    }
    pid_t parent = getpid();
    pid_t p = fork();
    if (p < 0) {
        int e = errno;
        close(fds[0]);
        close(fds[1]);
        snprintf(err, errlen, "cannot fork: %s", strerror(e));
        return -e;
    }
    if (p == 0)
        child(a, parent, fds[1]);
    close(fds[1]);
    int e = 0;
    ssize_t r;
    do
        r = read(fds[0], &e, sizeof e);
    while (r < 0 && errno == EINTR);
    close(fds[0]);
    if (r == (ssize_t)sizeof e) {
        /* The exec failed: the child is exiting; collect it here. */
        while (waitpid(p, NULL, 0) < 0 && errno == EINTR)
            ;
        snprintf(err, errlen, "cannot run %s: %s", a->file, strerror(e));
        return -e;
    }
    *pid = p;
    return 0;
}

static int open_pipe(int fds[2], char *err, size_t errlen) {
    if (pipe2(fds, O_CLOEXEC) == 0)
        return 0;
    int rc = -errno;
    snprintf(err, errlen, "cannot make a pipe: %s", strerror(errno));
    return rc;
}

int proc_spawn_piped(const struct proc_spawn_args *a, pid_t *pid, int *out_rd, int *err_rd,
        char *err, size_t errlen) {
    int po[2], pe[2];
    int rc = open_pipe(po, err, errlen);
    if (rc < 0)
        return rc;
    if ((rc = open_pipe(pe, err, errlen)) < 0) {
        close(po[0]);
        close(po[1]);
        return rc;
    }
    struct proc_spawn_args b = *a;
    b.out_fd = po[1];
    b.err_fd = pe[1];
    rc = proc_spawn(&b, pid, err, errlen);
    /* Only the child writes: the pipes end when it and what it started are gone. */
    close(po[1]);
    close(pe[1]);
    if (rc < 0) {
        close(po[0]);
        close(pe[0]);
        return rc;
    }
    fcntl(po[0], F_SETFL, O_NONBLOCK);
    fcntl(pe[0], F_SETFL, O_NONBLOCK);
    *out_rd = po[0];
    *err_rd = pe[0];
    return 0;
}

/* True when /proc/pid/environ has the entry marker, exactly (prefix: starts with it). */
static bool has_entry(pid_t pid, const char *marker, bool prefix) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/environ", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    /* Environments are small; 128 KiB covers any we start. */
    static const size_t cap = (size_t)128 * 1024;
    char *buf = malloc(cap + 1);
    size_t n = 0;
    ssize_t r;
    while (buf && n < cap && (r = read(fd, buf + n, cap - n)) > 0)
        n += (size_t)r;
    close(fd);
    if (!buf)
        return false;
    buf[n] = '\0';
    size_t ml = strlen(marker);
    bool found = false;
    for (size_t off = 0; off < n && !found;) {
        size_t el = strnlen(buf + off, n - off);
        found = prefix ? el >= ml && memcmp(buf + off, marker, ml) == 0
                       : el == ml && memcmp(buf + off, marker, ml) == 0;
        off += el + 1;
    }
    free(buf);
    return found;
}

/* Calls fn for each process (not us) carrying the marker; stops when fn returns false. */
static int each_marked(const char *marker, bool prefix, bool (*fn)(pid_t, void *), void *data) {
    DIR *d = opendir("/proc");
    if (!d)
        return 0;
    pid_t self = getpid();
    int count = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        char *end;
        long v = strtol(de->d_name, &end, 10);
        if (*end || v <= 0 || v == self)
            continue;
        if (!has_entry((pid_t)v, marker, prefix))
            continue;
        count++;
        if (fn && !fn((pid_t)v, data))
            break;
    }
    closedir(d);
    return count;
}

struct kill_ctx {
    pid_t pgid;
    int sig;
    int outside;
};

static bool kill_one(pid_t pid, void *data) {
    struct kill_ctx *k = data;
    if (k->pgid <= 0 || getpgid(pid) != k->pgid) {
        kill(pid, k->sig);
        k->outside++;
    }
    return true;
}

int proc_kill(pid_t pgid, const char *marker, int sig) {
    if (pgid > 0)
        kill(-pgid, sig);
    struct kill_ctx k = {pgid, sig, 0};
    if (marker)
        each_marked(marker, false, kill_one, &k);
    return k.outside;
}

static bool stop_at_first(pid_t pid, void *data) {
    (void)pid;
    (void)data;
    return false;
}

bool proc_alive(pid_t pgid, const char *marker) {
    /* EPERM: members exist that we may not signal. */
    if (pgid > 0 && (kill(-pgid, 0) == 0 || errno == EPERM))
        return true;
    return marker && each_marked(marker, false, stop_at_first, NULL) > 0;
}

struct find_ctx {
    pid_t *pids;
    int max, n;
};

static bool collect(pid_t pid, void *data) {
    struct find_ctx *f = data;
    if (f->n < f->max)
        f->pids[f->n] = pid;
    f->n++;
    return true;
}

int proc_find_marked(const char *prefix, pid_t *pids, int max) {
    struct find_ctx f = {pids, max, 0};
    each_marked(prefix, true, collect, &f);
    return f.n;
}

int proc_environ_get(pid_t pid, const char *name, char *buf, size_t len) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/environ", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return -errno;
    size_t nl = strlen(name);
    char *entry = NULL;
    size_t cap = 0;
    int rc = -ENOENT;
    while (getdelim(&entry, &cap, '\0', f) > 0) {
        if (strncmp(entry, name, nl) == 0 && entry[nl] == '=') {
            snprintf(buf, len, "%s", entry + nl + 1);
            rc = 0;
            break;
        }
    }
    free(entry);
    fclose(f);
    return rc;
}

void proc_pump(int *fd, struct proc_log *log, struct proc_log *also) {
    char buf[16384];
    while (*fd >= 0) {
        ssize_t r = read(*fd, buf, sizeof buf);
        if (r > 0) {
            if (log)
                proc_log_write(log, buf, (size_t)r);
            if (also)
                proc_log_write(also, buf, (size_t)r);
            continue;
        }
        if (r < 0 && errno == EINTR)
            continue;
        if (r == 0 || errno != EAGAIN) {
            close(*fd);
            *fd = -1;
        }
        return;
    }
}

int proc_log_open(struct proc_log *l, const char *path, size_t cap) {
    memset(l, 0, sizeof *l);
    l->fd = -1;
    l->cap = cap;
    if (snprintf(l->path, sizeof l->path, "%s", path) >= (int)sizeof l->path)
        return -ENAMETOOLONG;
    char old[sizeof l->path + 2];
    snprintf(old, sizeof old, "%s.1", path);
    unlink(old);
    l->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
    return l->fd < 0 ? -errno : 0;
}

static void rotate(struct proc_log *l) {
    char old[sizeof l->path + 2];
    snprintf(old, sizeof old, "%s.1", l->path);
    if (l->fd >= 0)
        close(l->fd);
    rename(l->path, old);
    l->fd = open(l->path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
    l->size = 0;
}

/* A line worth quoting: it says something (X servers end with bare "(EE) " lines). */
static bool meaningful(const char *line, size_t n) {
    size_t alnum = 0;
    for (size_t i = 0; i < n; i++)
        alnum += (line[i] >= 'a' && line[i] <= 'z') || (line[i] >= 'A' && line[i] <= 'Z') ||
                 (line[i] >= '0' && line[i] <= '9');
    return alnum >= 4;
}

/* Keeps the last meaningful lines, newest last, joined by " | ", within PROC_LOG_LINE. */
static void keep_line(struct proc_log *l) {
    if (!meaningful(l->line, l->line_len))
        return;
    size_t have = strlen(l->last), add = l->line_len;
    /* Drop the oldest lines until the new one fits; a line alone may be cut. */
    while (have && have + 3 + add >= sizeof l->last) {
        char *sep = strstr(l->last, " | ");
        if (!sep) {
            have = 0;
            break;
        }
        memmove(l->last, sep + 3, strlen(sep + 3) + 1);
        have = strlen(l->last);
    }
    if (have == 0)
        l->last[0] = '\0';
    else
        memcpy(l->last + have, " | ", 4), have += 3;
    if (add > sizeof l->last - 1 - have)
        add = sizeof l->last - 1 - have;
    memcpy(l->last + have, l->line, add);
    l->last[have + add] = '\0';
}

static void track_lines(struct proc_log *l, const char *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\n' || p[i] == '\r') {
            keep_line(l);
            l->line_len = 0;
        } else if (l->line_len < sizeof l->line - 1) {
            l->line[l->line_len++] = p[i];
        }
    }
}

void proc_log_write(struct proc_log *l, const void *buf, size_t n) {
    const char *p = buf;
    track_lines(l, p, n);
    if (n > l->cap) {
        p += n - l->cap;
        n = l->cap;
    }
    if (l->size + n > l->cap)
        rotate(l);
    if (l->fd < 0)
        return;
    while (n > 0) {
        ssize_t w = write(l->fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
        l->size += (size_t)w;
    }
}

void proc_log_mark(struct proc_log *l) {
    l->line_len = 0;
    l->last[0] = '\0';
}

void proc_log_close(struct proc_log *l) {
    if (l->fd >= 0)
        close(l->fd);
    l->fd = -1;
}

/* Appends up to the last `room` bytes of file path to *buf. */
static int read_tail(const char *path, char **buf, size_t *len, size_t room) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -errno;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        close(fd);
        return -errno;
    }
    size_t want = (size_t)st.st_size;
    if (want > room) {
        lseek(fd, (off_t)(want - room), SEEK_SET);
        want = room;
    }
    char *nb = realloc(*buf, *len + want + 1);
    if (!nb) {
        close(fd);
        return -ENOMEM;
    }
    *buf = nb;
    size_t got = 0;
    ssize_t r;
    while (got < want && (r = read(fd, nb + *len + got, want - got)) > 0)
        got += (size_t)r;
    close(fd);
    *len += got;
    return 0;
}

char *proc_log_read(const char *path, size_t cap, size_t *len) {
    char old[600];
    snprintf(old, sizeof old, "%s.1", path);
    struct stat st;
    size_t cur = stat(path, &st) == 0 ? (size_t)st.st_size : 0;
    char *raw = NULL;
    size_t n = 0;
    /* The older file only fills what the newer leaves of the cap. */
    if (cur < cap && read_tail(old, &raw, &n, cap - cur) < 0) {
        free(raw);
        raw = NULL;
        n = 0;
    }
    if (read_tail(path, &raw, &n, cap - n) < 0 && !raw)
        n = 0;
    char *clean = util_utf8_clean(raw ? raw : "", n, len);
    free(raw);
    return clean;
}
