/*
 * api-apps: launching programs into the desktop session (API.md §12):
 * POST /computeruse/apps/launch, GET /computeruse/apps and
 * POST /computeruse/apps/{pid}/kill. The whole body is checked before
 * anything starts.
 *
 * Not here: processes (apps.c, the job layer), X (x11/).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>

#include "apps.h"
#include "bodies.h"
#include "deskd.h"
#include "util.h"
#include "x11.h"

#define WAIT_DEFAULT_MS 10000

static int owned_by(long pid, void *arg) {
    return apps_owns(*(pid_t *)arg, (pid_t)pid);
}

/* How long one look for the window may hold the connection: other launches share it. */
#define POLL_MS 100

/* Waits for the program's window and replies. */
static void reply_with_window(struct req *r, pid_t pid, int timeout_ms) {
    char err[256];
    struct deskd *d = req_deskd(r);
    struct x11_window w;
    int64_t deadline = util_mono_ms() + timeout_ms;
    int rc;
    bool dead;
    /* The lock is taken for each look, not for the whole wait: a second launch waiting for
     * its own window must not find the connection held for seconds (503). */
    do {
        Display *dpy = xconn_lock(d->xapps, err, sizeof err);
        if (!dpy) {
            reply_no_display(r, err);
            return;
        }
        int64_t left = util_ms_left(deadline);
        rc = x11_poll_window(dpy, owned_by, &pid, left < POLL_MS ? (int)left : POLL_MS, &w);
        dead = xconn_dead(d->xapps);
        xconn_unlock(d->xapps);
    } while (rc == -EAGAIN && !dead && util_ms_left(deadline) > 0);
    if (rc == -EAGAIN)
        rc = -ETIMEDOUT;
    if (rc == 0 && !dead) {
        reply_json(r, 200,
                json_pack("{s:I, s:o}", "pid", (json_int_t)pid, "window", deskd_window_json(&w)));
    } else if (dead || rc == -EIO) {
        reply_no_display(r, "the X display went away while waiting for the window");
    } else if (rc == -ESRCH) {
        reply_error(r, ERR_CONFLICT,
                "program %d exited before it showed a window (its output is in GET "
                "/computeruse/process/xfce4/logs)",
                (int)pid);
    } else if (rc == -ETIMEDOUT) {
        reply_error(r, ERR_WM_TIMEOUT,
                "no window of program %d (or of its children) appeared within %d ms; it still "
                "runs (GET /computeruse/apps)",
                (int)pid, timeout_ms);
    } else {
        reply_error(r, ERR_INTERNAL, "out of memory while waiting for the window");
    }
    if (rc == 0)
        x11_windows_free(&w, 1);
}

static void api_apps_launch(struct req *r) {
    char err[512];
    struct launch_req lr = {.timeout_ms = WAIT_DEFAULT_MS};
    int rc = launch_parse(r->json, &lr, err, sizeof err);
    if (rc == -EINVAL) {
        reply_error(r, ERR_INVALID_PARAMETER, "%s", err);
    } else if (rc < 0) {
        reply_error(r, ERR_INTERNAL, "out of memory");
    } else if (input_gate(r, "the launch")) {
        struct app_launch l = {.argv = lr.argv, .env = lr.env, .cwd = lr.cwd};
        pid_t pid = 0;
        rc = apps_launch(&l, &pid, err, sizeof err);
        if (rc == -ENOENT || rc == -EACCES || rc == -ENOTDIR)
            reply_error(r, ERR_INVALID_PARAMETER, "%s", err);
        else if (rc == -ENXIO)
            reply_no_display(r, err);
        else if (rc == -EAGAIN)
            reply_error(r, ERR_CONFLICT, "%s", err);
        else if (rc < 0)
            reply_error(r, ERR_INTERNAL, "cannot start %s: %s", lr.argv[0], err);
        else if (lr.wait)
            reply_with_window(r, pid, lr.timeout_ms);
        else
            reply_json(r, 200, json_pack("{s:I}", "pid", (json_int_t)pid));
    }
    launch_req_free(&lr);
}

static void api_apps_list(struct req *r) {
    struct app_info apps[APPS_MAX];
    int n = apps_list(apps);
    json_t *list = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(
                list, json_pack("{s:I, s:s, s:I}", "pid", (json_int_t)apps[i].pid, "command",
                              apps[i].cmdline, "startedAt", (json_int_t)apps[i].started_ms));
    reply_json(r, 200, json_pack("{s:o, s:i}", "apps", list, "count", n));
}

static void api_apps_kill(struct req *r) {
    long pid;
    if (util_parse_long(r->path_param, 1, 0x7fffffff, &pid) < 0) {
        reply_error(r, ERR_INVALID_PARAMETER,
                "the pid must be a decimal process id from GET /computeruse/apps (got \"%s\")",
                r->path_param);
        return;
    }
    if (!input_gate(r, "the kill"))
        return;
    int status = 0;
    int rc = apps_kill((pid_t)pid, &status);
    if (rc == -ESRCH) {
        reply_error(r, ERR_PROCESS_NOT_FOUND,
                "no running program %ld was launched through /computeruse/apps/launch", pid);
    } else if (rc < 0) {
        reply_error(r, ERR_INTERNAL, "program %ld did not end even after SIGKILL", pid);
    } else if (WIFSIGNALED(status)) {
        char sig[32];
        snprintf(sig, sizeof sig, "SIG%s", sigabbrev_np(WTERMSIG(status)));
        reply_json(r, 200,
                json_pack("{s:I, s:n, s:s}", "pid", (json_int_t)pid, "exitCode", "signal", sig));
    } else {
        reply_json(r, 200,
                json_pack("{s:I, s:i, s:n}", "pid", (json_int_t)pid, "exitCode",
                        WEXITSTATUS(status), "signal"));
    }
}

const struct route api_apps_routes[] = {
        {"POST", "/computeruse/apps/launch", api_apps_launch, ROUTE_JSON | ROUTE_ACTS},
        {"GET", "/computeruse/apps", api_apps_list, 0},
        {"POST", "/computeruse/apps/*/kill", api_apps_kill, ROUTE_ACTS},
        {NULL, NULL, NULL, 0},
};
