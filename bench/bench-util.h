/*
 * bench-util: what the benchmarks share. Messages, clocks and percentiles; children started
 * with posix_spawn, each carrying the run's marker in its environment so that a supervisor
 * can find and kill whatever is left; Xvfb on a free display (-displayfd), deskd on a free
 * port; libdesk client handles made the same way and their errors as one line; the supervisor
 * itself (overall timeout, signals, clean-up of processes and of the temporary directory).
 */
#ifndef DESK_BENCH_UTIL_H
#define DESK_BENCH_UTIL_H

#include <desk/desk.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define MARKER_NAME "DESK_BENCH_RUN"
#define MAX_KIDS    16

extern const char *bench_name; /* prefix of every message, e.g. "bench-screenshot" */
extern char tmpdir[64];        /* this run's temporary directory */
extern char marker[96];        /* MARKER_NAME=VALUE, put in the environment of every child */

__attribute__((format(printf, 1, 2))) void say(const char *fmt, ...);
double now_ms(void);
void nap_ms(int ms);
bool in_path(const char *prog);
int parse_int(const char *s, int min, int max, int *out);

/* Sorts samples and gives their 50th and 95th percentiles (linear interpolation). */
void percentiles(double *samples, int n, double *p50, double *p95);
double percentile(const double *sorted, int n, double p);

/* ---- processes ---- */

struct spawn_opts {
    const char *log; /* stdout and stderr appended here; NULL: /dev/null */
    int out_fd;      /* when >= 0, stdout goes here instead (stderr still to log) */
    int pass_fd;     /* when >= 0, handed to the child as fd 3 */
    bool session;    /* setsid: own session and process group, so the group can be killed */
};

/* Returns the pid, or -1 with a message. */
pid_t spawn(const char *const *argv, char **env, const struct spawn_opts *so);
/* Waits for pid; returns its exit status, 128 + signal, or -1. */
int wait_exit(pid_t pid);
/* Runs argv to completion with stdout captured in buf; returns the exit status or -1. */
int run_capture(const char *const *argv, char **env, char *buf, size_t cap);

/* Long-lived children, each the leader of its own session. */
struct kid {
    pid_t pid;
    bool reaped;
    int status;
    char name[24];
};

struct kid *kid_start(
        const char *name, const char *const *argv, char **env, const char *log, int pass_fd);
struct kid *kid_spawn(
        const char *name, const char *const *argv, char **env, const struct spawn_opts *so);
bool kid_alive(struct kid *k);
/* Stops the kids' process groups (TERM, then KILL after 3 s), then sweeps the rest. */
void stop_kids(void);
/* TERM, then KILL, every process of this run that is still there. */
void sweep(void);
void reap_any(void);
/* Pids of live processes whose environment holds our marker (zombies have none). */
int marker_pids(pid_t *out, int max);
long rss_kib(pid_t pid);

/* ---- environment and files ---- */

/* The children's environment: ours, minus session variables, plus DISPLAY (when given), XDG
 * dirs in tmpdir (nothing lands in the user's home) and the marker. */
char **env_build(const char *display);
void env_free(char **env);
int mkdirs(const char *path, mode_t mode);
int write_file(const char *path, const char *text);
void print_file_tail(const char *path, size_t max);

/* ---- X and deskd ---- */

/* Starts Xvfb with one w x h x 24 screen on a free display, written to display (":N"). */
struct kid *start_xvfb(int w, int h, char *display, size_t dlen);
/* Starts deskd attached to display (DESK_ATTACH=1: it starts no desktop of its own) on a
 * free loopback port, logging to log; its base URL (as it printed it:
 * "http://127.0.0.1:PORT") goes to url. */
struct kid *start_deskd(const char *deskd, const char *display, char **env, const char *log,
        char *url, size_t urllen);

/* ---- deskd through libdesk ---- */

/* A libdesk handle for the deskd at url, with the benchmarks' timeouts (connect 5 s, a whole
 * call 30 s); it keeps its connection alive between calls and is used by one thread. NULL,
 * with a message, when it cannot be made. */
desk_client *bench_client(const char *url);
/* The last call's failure on c as one line, in buf: "DESK_ERR_... (HTTP n): sentence". */
const char *bench_desk_error(const desk_client *c, char *buf, size_t len);

/* ---- supervisor ---- */

/* Makes tmpdir and the marker, runs worker() in a child process and waits for it, at most
 * timeout_s seconds and until a signal; then kills everything that carries the marker.
 * Removes tmpdir unless the run failed or keep_tmp. Returns the exit status for main. */
int bench_supervise(int (*worker)(void), int timeout_s, bool keep_tmp);

#endif
