/*
 * deskproc (tests): runs the real deskd built in this tree on a free port and
 * waits for its "listening on" line; stops it with SIGTERM and reports how it
 * exited. Its stderr is kept in a file for the test to read on failure.
 */
#ifndef DESK_TEST_DESKPROC_H
#define DESK_TEST_DESKPROC_H

#include <sys/types.h>

struct deskd_proc {
    pid_t pid;
    int port;
    char url[64];
    char log_path[128];
};

/*
 * Starts deskd with DISPLAY=display (may be NULL) plus the extra arguments
 * (NULL-terminated, may be NULL) and "--listen 127.0.0.1:0". Returns 0 or -1.
 */
int deskd_start(struct deskd_proc *d, const char *display, const char *const *extra);
/* SIGTERM, wait up to 15 s; returns the exit status, or -1 if it had to be killed. */
int deskd_stop(struct deskd_proc *d);
/* True while the process has not exited. */
int deskd_alive(struct deskd_proc *d);
/* Prints the log file to stderr (for failures). */
void deskd_dump_log(const struct deskd_proc *d);

#endif
