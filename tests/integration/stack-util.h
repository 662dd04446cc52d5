/*
 * stack-util (integration tests): what the tests of the supervised desktop
 * share: a free display and free ports, deskd requests with a token, waits on
 * the process routes, and /proc scans for what a deskd started (its children
 * carry DESK_SERVICE=<deskd pid>.<random>:<name> in their environment).
 */
#ifndef DESK_TEST_STACK_UTIL_H
#define DESK_TEST_STACK_UTIL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "deskproc.h"
#include "image.h"

#define SU_TOKEN "integration-token-5a1f"

/* A display number with neither a socket nor a lock file (from 200 + pid % 400 up). */
int su_free_display(void);
/* A TCP port that was free a moment ago (bound to port 0, then closed). */
int su_free_port(void);
int64_t su_ms(void);

/*
 * A request to deskd with the test token. Returns the status (0 on transport
 * failure); *json gets the parsed body when json is not NULL (NULL if not JSON).
 * content_type may be NULL.
 */
long su_call(const struct deskd_proc *d, const char *method, const char *path, const char *body,
        const char *content_type, json_t **json);
/* GET /computeruse/status: "active", "partial", "inactive" (static), or "" on error. */
const char *su_status(const struct deskd_proc *d);
/* POST /computeruse/start (idempotent) and the pid of name from its status map; 0 on failure. */
pid_t su_pid_of(const struct deskd_proc *d, const char *name);
/* Waits until status is want; returns the milliseconds waited, or -1 after timeout_ms. */
long su_wait_status(const struct deskd_proc *d, const char *want, int timeout_ms);

/* Pids of live processes (not zombies) whose environment marks them as owner's. */
int su_marked(pid_t owner, pid_t *pids, int max);
/* How many of them are called comm (/proc/PID/comm). */
int su_marked_comm(pid_t owner, const char *comm);
/* The first of them called comm, or 0. */
pid_t su_marked_pid(pid_t owner, const char *comm);
/* A live process but exclude with an argument equal to needle (or containing it: !exact), or 0. */
pid_t su_cmdline_has(const char *needle, bool exact, pid_t exclude);
/*
 * A full screenshot as PNG (the [ext] binary form, with the token), decoded.
 * Returns the HTTP status (200 when img was filled); err gets the error body.
 */
long su_screenshot(const struct deskd_proc *d, struct image *img, char *err, size_t errlen);
/*
 * How many of a browser's canvas samples ([x, y, r, g, b] each, as the live-view
 * scripts report them) match deskd's screenshot within a colour distance of 90
 * (VNC may encode lossily). *total gets the number of samples; -1 when the
 * screenshot failed.
 */
long su_canvas_matches(const struct deskd_proc *d, json_t *samples, size_t *total);
/* True when /proc/pid/environ contains needle anywhere. */
bool su_environ_has(pid_t pid, const char *needle);
/* Removes a directory tree. */
void su_rm_rf(const char *dir);
/* Makes a fresh temporary directory; returns 0 or -1. */
int su_tmpdir(char *out, size_t len, const char *what);

/*
 * Runs argv (argv[0] looked up in PATH) with stdout to a pipe and returns what
 * it printed (NUL-terminated, to free) once it closed stdout, or NULL after
 * timeout_ms (then it is killed). *status gets its exit status, -1 when it did
 * not exit normally; *outlen (may be NULL) how many bytes it printed.
 */
char *su_run(const char *const *argv, int timeout_ms, int *status, size_t *outlen);

/* A supervised desktop of the test's own: where it runs and where it writes. */
struct su_desktop {
    char dpy[16], vnc[16], novnc[16]; /* ":N" and two free ports, as deskd's flags take them */
    char top[256];                    /* a fresh directory, removed by the test when it passed */
    char state[300], home[300];       /* top/state for --state-dir, top/home made and set as HOME */
};
/*
 * Picks a free display and two free ports, makes the directories, sets HOME to
 * home and DESK_ATTACH=0 (the test kit's deskd attaches by default). Returns 0
 * or -1 after a failed check.
 */
int su_desktop_prepare(struct su_desktop *s, const char *what);

#endif
