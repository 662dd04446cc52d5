/*
 * apps: programs launched into the desktop session (API.md §12), as jobs of
 * the job layer (jobs.c): no shell, the session's environment
 * (stack_session), their output in the session's logs, stopped with the
 * desktop. Remembers what it launched until it exits. Knows nothing of HTTP
 * or X.
 */
#ifndef DESK_APPS_H
#define DESK_APPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* At most this many launched programs run at once. */
#define APPS_MAX 32
/* How long kill waits after SIGTERM before SIGKILL. */
#define APPS_KILL_GRACE_MS 3000
/* The longest apps/launch waits for the first window (timeoutMs), in ms. */
#define APPS_WAIT_MAX_MS 60000

struct app_launch {
    const char *const *argv; /* argv[0]: looked up on the session's PATH unless it has a '/' */
    const char *const *env;  /* "NAME=VALUE" entries added to (replacing) the session's; NULL */
    const char *cwd;         /* NULL: the desktop's HOME */
};

/*
 * Starts the program. Returns 0 with its pid; -ENOENT or -EACCES (argv[0]
 * missing or not executable), -ENOTDIR (cwd), -ENXIO (the desktop is not
 * running), -EAGAIN (APPS_MAX reached), -ENOMEM, or the exec's errno; err
 * says which.
 */
int apps_launch(const struct app_launch *l, pid_t *pid, char *err, size_t errlen);

/* A launched program that still runs. */
struct app_info {
    pid_t pid;
    char cmdline[512];  /* argv joined by spaces (shortened) */
    int64_t started_ms; /* CLOCK_REALTIME ms */
};
/* Fills out[0..APPS_MAX) with the running programs in launch order; returns how many. */
int apps_list(struct app_info out[APPS_MAX]);

/*
 * 1 when pid is a running launched program or one of its descendants, -1
 * when launched pid has exited, 0 otherwise (root: the launched program).
 */
int apps_owns(pid_t root, pid_t pid);

/*
 * Ends a launched program: SIGTERM to its process group, SIGKILL after
 * APPS_KILL_GRACE_MS. Returns 0 once it exited, with its wait status in
 * *status; -ESRCH when pid is no running launched program.
 */
int apps_kill(pid_t pid, int *status);

#endif
