/*
 * proc: the process side of supervision. Spawns a child in a session (and so
 * a process group) of its own, with a clean signal state, no inherited
 * descriptors and a parent-death signal; signals and watches what a service
 * started, including strays that left its group, found by an environment
 * marker; keeps each child's output in log files of capped size.
 *
 * It does not decide anything (svc.c does) and does not reap (the job layer,
 * jobs.c, calls waitpid); only jobs.c calls proc_spawn.
 */
#ifndef DESK_PROC_H
#define DESK_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * Looks name up on the PATH given (or checks it, when it holds a '/').
 * Returns 0 with the full path in out, -ENOENT when there is none, -EACCES
 * when one exists but is not executable.
 */
int proc_which(const char *name, const char *path, char *out, size_t outlen);

struct proc_spawn_args {
    const char *file;        /* the executable's full path */
    const char *const *argv; /* argv[0] is the name shown in process listings */
    const char *const *envp; /* the whole environment */
    const char *dir;         /* working directory; NULL keeps ours */
    int out_fd, err_fd;      /* become stdout and stderr */
    int in_fd;               /* > 0: becomes stdin; else stdin is /dev/null */
};

/*
 * Forks and execs. The child calls setsid, gets SIGKILL when the calling
 * thread dies (PR_SET_PDEATHSIG: call this from a thread that lives as long
 * as the child should), has every signal unblocked and at its default action,
 * and keeps no descriptor beyond 0, 1 and 2. Returns 0 with *pid once the
 * exec succeeded, or a negative errno with a sentence in err; then the child
 * was reaped already.
 */
int proc_spawn(const struct proc_spawn_args *a, pid_t *pid, char *err, size_t errlen);
/*
 * proc_spawn with stdout and stderr on two new pipes (a's out_fd and err_fd
 * are ignored): on success *out_rd and *err_rd are their read ends,
 * non-blocking and close-on-exec, the caller's to close.
 */
int proc_spawn_piped(const struct proc_spawn_args *a, pid_t *pid, int *out_rd, int *err_rd,
        char *err, size_t errlen);

/*
 * Sends sig to process group pgid (when > 0) and to every process whose
 * environment holds the entry marker ("NAME=VALUE", exactly; may be NULL).
 * Returns how many marked processes outside the group were signalled.
 */
int proc_kill(pid_t pgid, const char *marker, int sig);
/* True while group pgid has a member (zombies included) or a marked process lives. */
bool proc_alive(pid_t pgid, const char *marker);
/*
 * Pids (up to max) of live processes with an environment entry that starts
 * with prefix; returns how many were found (possibly more than max).
 */
int proc_find_marked(const char *prefix, pid_t *pids, int max);
/* The value of environment entry name of process pid, into buf; -errno when absent. */
int proc_environ_get(pid_t pid, const char *name, char *buf, size_t len);

#define PROC_LOG_LINE 160

/*
 * A log file fed from a pipe: when a write would take it past cap bytes, it
 * becomes path.1 (replacing the previous one) and a new file starts, so the
 * pair never holds more than twice cap. The last lines that say something are
 * kept for error messages.
 */
struct proc_log {
    char path[512];
    int fd;
    size_t size, cap;
    char line[PROC_LOG_LINE]; /* the line being written */
    size_t line_len;
    char last[PROC_LOG_LINE]; /* the last meaningful lines, joined by " | " */
};

/*
 * Reads what the non-blocking pipe *fd holds into log and also into also
 * (either may be NULL: discarded); at end of file (or an error) closes it
 * and sets *fd to -1. Returns when the pipe is empty.
 */
void proc_pump(int *fd, struct proc_log *log, struct proc_log *also);
/* Creates (truncates) path and drops an old path.1. Returns 0 or -errno. */
int proc_log_open(struct proc_log *l, const char *path, size_t cap);
void proc_log_write(struct proc_log *l, const void *buf, size_t n);
/* Forgets the last line (a new instance of the process starts). */
void proc_log_mark(struct proc_log *l);
void proc_log_close(struct proc_log *l);
/*
 * The text of path.1 followed by path, at most cap bytes (the newest), with
 * invalid UTF-8 replaced by U+FFFD. Returns a malloc'd NUL-terminated string
 * ("" when neither file exists) with its length in *len, or NULL when out of
 * memory.
 */
char *proc_log_read(const char *path, size_t cap, size_t *len);

#endif
