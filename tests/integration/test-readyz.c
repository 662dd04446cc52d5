/*
 * GET /readyz, the readiness probe of API.md §17, as an orchestrator sees it:
 * asked with no token while deskd requires one.
 *
 *   - attached to a private Xvfb: 200 {"status":"ready"}; once the X server
 *     is gone, 503 "degraded" with every process in the map; 200 again when an
 *     X server is back on the display.
 *   - supervising the real desktop with --no-start: 503 "starting" with the
 *     processes not running; 200 after POST /computeruse/start; after a
 *     kill -9 of xfce4, 503 "degraded" naming xfce4 as not running while xvfb
 *     runs, then 200 once the supervisor has it back; after a stop, "starting".
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "deskproc.h"
#include "http.h"
#include "stack-util.h"
#include "xserver.h"

static const char *const names[] = {"xvfb", "xfce4", "x11vnc", "novnc"};

/* GET /readyz with no token: the status, and the body in *json (may be NULL). */
static long readyz(const struct deskd_proc *d, json_t **json) {
    char url[128];
    snprintf(url, sizeof url, "%s/readyz", d->url);
    struct http_resp r;
    http_get(url, &r);
    long st = r.status;
    char type[64];
    if (st == 200 || st == 503)
        CHECK(http_header(&r, "Content-Type", type, sizeof type) &&
                        strstr(type, "application/json"),
                "a JSON reply: %s", r.headers ? r.headers : "");
    *json = http_json(&r);
    http_resp_free(&r);
    return st;
}

static const char *status_of(json_t *j) {
    const char *s = json_string_value(json_object_get(j, "status"));
    return s ? s : "(none)";
}

/* Polls until /readyz answers want (200 or 503); returns ms waited or -1; *json the last body. */
static long wait_readyz(const struct deskd_proc *d, long want, int timeout_ms, json_t **json) {
    int64_t t0 = su_ms();
    *json = NULL;
    for (;;) {
        json_decref(*json);
        long st = readyz(d, json);
        if (st == want)
            return (long)(su_ms() - t0);
        if (su_ms() - t0 > timeout_ms)
            return -1;
    }
}

/* The 503 body: status, and a map with the processes, running as expected. */
static void check_not_ready(json_t *j, const char *status, const bool running[4]) {
    CHECK_STR(status_of(j), status);
    json_t *map = json_object_get(j, "processes");
    CHECK(json_is_object(map) && json_object_size(map) == 5,
            "a map of the four processes and atspi");
    for (int i = 0; i < 4; i++) {
        json_t *p = json_object_get(map, names[i]);
        json_t *run = json_object_get(p, "running");
        CHECK(json_is_boolean(run) && json_is_true(run) == running[i], "%s running is %s", names[i],
                running[i] ? "true" : "false");
        CHECK(json_is_integer(json_object_get(p, "priority")), "%s has a priority", names[i]);
    }
}

static void attached_loses_display(const struct deskd_proc *d, struct xserver *xs);

static void test_attached(void) {
    struct xserver xs;
    if (xserver_start_xvfb_own(&xs, 640, 480) < 0) { /* restarted on its number later */
        CHECK(0, "Xvfb started");
        return;
    }
    struct deskd_proc d;
    const char *args[] = {"--attach", "--token", SU_TOKEN, NULL};
    if (deskd_start(&d, xs.name, args) < 0) {
        CHECK(0, "deskd --attach started");
        xserver_stop(&xs);
        return;
    }
    json_t *j = NULL;
    CHECK_INT(readyz(&d, &j), 200);
    CHECK_STR(status_of(j), "ready");
    CHECK(!json_object_get(j, "processes"), "no process map when ready");
    json_decref(j);
    /* The token is really required elsewhere: /readyz is the exception. */
    char url[128];
    snprintf(url, sizeof url, "%s/computeruse/status", d.url);
    struct http_resp r;
    http_get(url, &r);
    CHECK_INT(r.status, 401);
    http_resp_free(&r);
    attached_loses_display(&d, &xs);
    CHECK_INT(deskd_stop(&d), 0);
}

/* The X server goes: degraded; one comes back on the display: ready. */
static void attached_loses_display(const struct deskd_proc *d, struct xserver *xs) {
    json_t *j = NULL;
    xserver_stop(xs);
    long ms = wait_readyz(d, 503, 10000, &j);
    CHECK(ms >= 0, "503 once the X server is gone");
    static const bool none[4] = {false, false, false, false};
    check_not_ready(j, "degraded", none);
    json_decref(j);

    /* An X server back on the same display: ready again. */
    const char *argv[] = {"Xvfb", xs->name, "-screen", "0", "640x480x24", "-nolisten", "tcp", NULL};
    struct xserver xs2;
    CHECK_INT(xserver_start(&xs2, argv, NULL), 0);
    ms = wait_readyz(d, 200, 10000, &j);
    CHECK(ms >= 0, "200 once an X server is back (last: %s)", status_of(j));
    json_decref(j);
    xserver_stop(&xs2);
}

static void managed_kill_xfce4(const struct deskd_proc *dp);

static void test_managed(const char *top) {
    int display = su_free_display(), vnc = su_free_port(), novnc = su_free_port();
    char dpy[16], vnc_s[16], novnc_s[16], state[256], home[256];
    snprintf(dpy, sizeof dpy, ":%d", display);
    snprintf(vnc_s, sizeof vnc_s, "%d", vnc);
    snprintf(novnc_s, sizeof novnc_s, "%d", novnc);
    snprintf(state, sizeof state, "%.200s/state", top);
    snprintf(home, sizeof home, "%.200s/home", top);
    mkdir(home, 0700);
    setenv("HOME", home, 1);
    setenv("DESK_ATTACH", "0", 1);
    const char *args[] = {"--token", SU_TOKEN, "--display", dpy, "--vnc-port", vnc_s,
            "--novnc-port", novnc_s, "--state-dir", state, "--no-start", NULL};
    struct deskd_proc d;
    if (deskd_start(&d, dpy, args) < 0) {
        CHECK(0, "deskd --no-start started");
        return;
    }
    json_t *j = NULL;
    static const bool none[4] = {false, false, false, false};
    CHECK_INT(readyz(&d, &j), 503);
    check_not_ready(j, "starting", none);
    json_decref(j);

    CHECK_INT(su_call(&d, "POST", "/computeruse/start", NULL, NULL, NULL), 200);
    CHECK_INT(readyz(&d, &j), 200);
    CHECK_STR(status_of(j), "ready");
    json_decref(j);

    managed_kill_xfce4(&d);

    CHECK_INT(su_call(&d, "POST", "/computeruse/stop", NULL, NULL, NULL), 200);
    CHECK_INT(readyz(&d, &j), 503);
    check_not_ready(j, "starting", none);
    json_decref(j);
    CHECK_INT(deskd_stop(&d), 0);
    if (check_failed)
        deskd_dump_log(&d);
}

/* xfce4 dies: the desktop is degraded until the supervisor has it back. */
static void managed_kill_xfce4(const struct deskd_proc *dp) {
    const struct deskd_proc d = *dp;
    json_t *j = NULL;
    pid_t pid = su_pid_of(&d, "xfce4");
    CHECK(pid > 0, "xfce4 has a pid");
    if (pid > 0)
        kill(pid, SIGKILL);
    long ms = wait_readyz(&d, 503, 10000, &j);
    CHECK(ms >= 0, "503 after xfce4's kill -9");
    static const bool xfce4_down[4] = {true, false, true, true};
    check_not_ready(j, "degraded", xfce4_down);
    json_decref(j);
    ms = wait_readyz(&d, 200, 60000, &j);
    CHECK(ms >= 0, "ready again (last: %s)", status_of(j));
    printf("readyz: 200 again %ld ms after xfce4 was seen down\n", ms);
    json_decref(j);
}

int main(void) {
    check_timeout(150);
    static const char *const tools[] = {
            "Xvfb", "xfce4-session", "dbus-run-session", "x11vnc", "websockify"};
    for (int i = 0; i < 5; i++)
        check_require_tool(tools[i]);
    char top[256];
    if (su_tmpdir(top, sizeof top, "readyz") < 0)
        return 1;
    test_attached();
    test_managed(top);
    if (!check_failed)
        su_rm_rf(top);
    return check_finish();
}
