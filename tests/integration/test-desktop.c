/*
 * The supervised desktop, for real: deskd brings up Xvfb, xfce4, x11vnc and
 * noVNC on a free display and free ports, with a private HOME and state
 * directory, and the process routes of API.md §2 are checked against what
 * really runs (/proc), what the screen shows, and what an X client receives.
 *
 *   - --attach: nothing managed; status inactive, start/stop/restart 409.
 *   - a missing executable: start answers 503 naming it.
 *   - start returns once all five are ready (time printed); status active;
 *     the screenshot shows the xfce4 panel (its rectangle, from X, differs from
 *     the background next to it and has content); no screen saver, no DPMS.
 *   - the VNC password: only through GET /computeruse/vnc (token needed), on
 *     no command line, in no log, in no environment; nor is the API token.
 *   - logs hold the processes' whole output (errors within it, in order), errors
 *     their stderr; unknown names are 404s.
 *   - kill -9 of each process: it comes back and status is active again (times
 *     printed); after Xvfb's, screenshots and input work through the same deskd.
 *   - restart of one process; start and restart during a stop answer 409; the
 *     stop escalates to SIGKILL for a process that ignores SIGTERM.
 *   - stop, and deskd's own SIGTERM, leave no process of the stack (checked by
 *     environment mark, process group, and command line).
 */
#define _GNU_SOURCE
#include <X11/Xatom.h>
#include <X11/Xlib.h>
#include <X11/extensions/dpms.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "deskproc.h"
#include "evproc.h"
#include "http.h"
#include "shot.h"
#include "stack-util.h"

static int g_display, g_vnc, g_novnc;
static char g_dpy[16], g_vnc_s[16], g_novnc_s[16], g_state[256], g_home[256];

/* Every process group the stack had (leaders' pids): none may survive a stop. */
static pid_t g_pgids[256];
static int g_npgids;

static void remember(pid_t pid) {
    for (int i = 0; i < g_npgids; i++) {
        if (g_pgids[i] == pid)
            return;
    }
    if (pid > 0 && g_npgids < 256)
        g_pgids[g_npgids++] = pid;
}

static void remember_all(const struct deskd_proc *d) {
    static const char *const names[] = {"xvfb", "xfce4", "x11vnc", "novnc"};
    for (int i = 0; i < 4; i++)
        remember(su_pid_of(d, names[i]));
}

static int start_deskd(struct deskd_proc *d, const char *const *more) {
    const char *args[32] = {"--token", SU_TOKEN, "--display", g_dpy, "--vnc-port", g_vnc_s,
            "--novnc-port", g_novnc_s, "--state-dir", g_state};
    int n = 10;
    for (int i = 0; more && more[i] && n < 31; i++)
        args[n++] = more[i];
    args[n] = NULL;
    int rc = deskd_start(d, g_dpy, args);
    if (rc < 0)
        fprintf(stderr, "cannot start deskd\n");
    return rc;
}

static const char *err_text(json_t *j) {
    const char *s = json_string_value(json_object_get(j, "error"));
    return s ? s : "(no error sentence)";
}

static const char *err_code(json_t *j) {
    const char *s = json_string_value(json_object_get(j, "code"));
    return s ? s : "";
}

/* ---- what the screen shows ---- */

struct rect {
    int x, y, w, h;
};

/* The mapped dock windows (the panels), as the window manager placed them. */
static int panels(struct rect *out, int max) {
    Display *dpy = XOpenDisplay(g_dpy);
    if (!dpy)
        return 0;
    Atom list = XInternAtom(dpy, "_NET_CLIENT_LIST", True);
    Atom type = XInternAtom(dpy, "_NET_WM_WINDOW_TYPE", True);
    Atom dock = XInternAtom(dpy, "_NET_WM_WINDOW_TYPE_DOCK", True);
    int n = 0;
    Atom t;
    int fmt;
    unsigned long count = 0, after;
    unsigned char *data = NULL;
    if (list && type && dock &&
            XGetWindowProperty(dpy, DefaultRootWindow(dpy), list, 0, 1024, False, XA_WINDOW, &t,
                    &fmt, &count, &after, &data) == Success &&
            data) {
        Window *wins = (Window *)data;
        for (unsigned long i = 0; i < count && n < max; i++) {
            unsigned char *td = NULL;
            unsigned long tn = 0;
            bool is_dock = false;
            if (XGetWindowProperty(dpy, wins[i], type, 0, 16, False, XA_ATOM, &t, &fmt, &tn, &after,
                        &td) == Success &&
                    td) {
                for (unsigned long k = 0; k < tn; k++)
                    is_dock |= ((Atom *)td)[k] == dock;
                XFree(td);
            }
            XWindowAttributes wa;
            Window child;
            int rx, ry;
            if (!is_dock || !XGetWindowAttributes(dpy, wins[i], &wa) ||
                    wa.map_state != IsViewable ||
                    !XTranslateCoordinates(
                            dpy, wins[i], DefaultRootWindow(dpy), 0, 0, &rx, &ry, &child))
                continue;
            out[n++] = (struct rect){rx, ry, wa.width, wa.height};
        }
        XFree(data);
    }
    XCloseDisplay(dpy);
    return n;
}

static void mean_rgb(const struct image *img, struct rect r, double mean[3], double *sd) {
    double sum[3] = {0}, sq = 0;
    long n = 0;
    for (int y = r.y; y < r.y + r.h; y++) {
        for (int x = r.x; x < r.x + r.w; x++) {
            const uint8_t *p = image_px(img, x, y);
            for (int c = 0; c < 3; c++)
                sum[c] += p[c];
            double l = (p[0] + p[1] + p[2]) / 3.0;
            sq += l * l;
            n++;
        }
    }
    for (int c = 0; c < 3; c++)
        mean[c] = n ? sum[c] / (double)n : 0;
    double ml = (mean[0] + mean[1] + mean[2]) / 3.0;
    *sd = n ? sqrt(fabs(sq / (double)n - ml * ml)) : 0;
}

/* Clips r to the screen; false when nothing is left. */
static bool clip(struct rect *r, int w, int h) {
    int x0 = r->x < 0 ? 0 : r->x, y0 = r->y < 0 ? 0 : r->y;
    int x1 = r->x + r->w > w ? w : r->x + r->w, y1 = r->y + r->h > h ? h : r->y + r->h;
    *r = (struct rect){x0, y0, x1 - x0, y1 - y0};
    return r->w > 0 && r->h > 0;
}

/*
 * True when the screenshot shows a panel: some dock window's rectangle differs
 * clearly from the desktop right next to it and is not one flat colour, and
 * the frame as a whole is not black.
 */
static bool panel_visible(const struct deskd_proc *d, char *why, size_t len) {
    struct rect p[8];
    int n = panels(p, 8);
    if (n == 0) {
        snprintf(why, len, "no mapped dock window on %s", g_dpy);
        return false;
    }
    struct image img;
    char err[400];
    long status = su_screenshot(d, &img, err, sizeof err);
    if (status != 200) {
        snprintf(why, len, "screenshot failed (%ld): %s", status, err);
        return false;
    }
    bool ok = false;
    double all[3], sd;
    mean_rgb(&img, (struct rect){0, 0, img.width, img.height}, all, &sd);
    snprintf(why, len, "frame mean %.0f,%.0f,%.0f", all[0], all[1], all[2]);
    for (int i = 0; i < n && !ok; i++) {
        struct rect r = p[i];
        if (!clip(&r, img.width, img.height) || r.w * r.h < 100)
            continue;
        /* The background: a band as tall as the panel, beside it towards the middle. */
        struct rect bg = r;
        bg.y = r.y + r.h / 2 < img.height / 2 ? r.y + r.h + 8 : r.y - r.h - 8;
        if (!clip(&bg, img.width, img.height))
            continue;
        double pm[3], bm[3], psd, bsd;
        mean_rgb(&img, r, pm, &psd);
        mean_rgb(&img, bg, bm, &bsd);
        double diff = fabs(pm[0] - bm[0]) + fabs(pm[1] - bm[1]) + fabs(pm[2] - bm[2]);
        ok = diff > 60 && psd > 3 && (all[0] + all[1] + all[2]) > 45;
        snprintf(why, len,
                "panel %dx%d+%d+%d mean %.0f,%.0f,%.0f sd %.1f; beside it %.0f,%.0f,%.0f; "
                "difference %.0f; frame mean %.0f,%.0f,%.0f",
                r.w, r.h, r.x, r.y, pm[0], pm[1], pm[2], psd, bm[0], bm[1], bm[2], diff, all[0],
                all[1], all[2]);
    }
    image_free(&img);
    return ok;
}

static bool wait_panel(const struct deskd_proc *d, int timeout_ms, long *waited) {
    char why[512] = "";
    int64_t t0 = su_ms();
    while (su_ms() - t0 < timeout_ms) {
        bool seen = panel_visible(d, why, sizeof why);
        if (getenv("DESK_TEST_VERBOSE"))
            printf("  %lld ms: %s\n", (long long)(su_ms() - t0), why);
        if (seen) {
            *waited = (long)(su_ms() - t0);
            printf("panel visible: %s\n", why);
            return true;
        }
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    fprintf(stderr, "no panel on the screen after %d ms: %s\n", timeout_ms, why);
    return false;
}

/* ---- nothing left ---- */

/* The command line of pid, arguments joined by spaces (for messages). */
static const char *cmdline(pid_t pid) {
    static char buf[512];
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f)
        fclose(f);
    for (size_t i = 0; i < n; i++)
        buf[i] = buf[i] ? buf[i] : ' ';
    buf[n] = '\0';
    return buf;
}

static void check_nothing_left(pid_t owner, const char *after) {
    pid_t left[32];
    int n = su_marked(owner, left, 32);
    CHECK(n == 0, "after %s: %d processes of the stack still alive, the first pid %d: %s", after, n,
            n ? (int)left[0] : 0, n ? cmdline(left[0]) : "");
    for (int i = 0; i < g_npgids; i++) {
        errno = 0;
        CHECK(kill(-g_pgids[i], 0) < 0 && errno == ESRCH,
                "after %s: process group %d still has members", after, (int)g_pgids[i]);
    }
    char arg[64];
    snprintf(arg, sizeof arg, ":%d", g_display);
    pid_t p = su_cmdline_has(arg, true, owner);
    CHECK(p == 0, "after %s: pid %d still has %s on its command line: %s", after, (int)p, arg,
            p ? cmdline(p) : "");
    snprintf(arg, sizeof arg, "127.0.0.1:%d", g_vnc);
    p = su_cmdline_has(arg, true, owner);
    CHECK(p == 0, "after %s: pid %d still has %s on its command line: %s", after, (int)p, arg,
            p ? cmdline(p) : "");
}

/* ---- parts ---- */

static void test_attach(void) {
    struct deskd_proc d;
    const char *more[] = {"--attach", NULL};
    if (start_deskd(&d, more) < 0) {
        CHECK(0, "deskd --attach started");
        return;
    }
    json_t *j = NULL;
    CHECK_STR(su_status(&d), "inactive");
    CHECK_INT(su_call(&d, "POST", "/computeruse/start", NULL, NULL, &j), 409);
    CHECK_STR(err_code(j), "ATTACHED");
    CHECK(strstr(err_text(j), "attached"), "%s", err_text(j));
    json_decref(j);
    CHECK_INT(su_call(&d, "POST", "/computeruse/stop", NULL, NULL, NULL), 409);
    CHECK_INT(su_call(&d, "POST", "/computeruse/process/xvfb/restart", NULL, NULL, NULL), 409);
    CHECK_INT(su_call(&d, "GET", "/computeruse/vnc", NULL, NULL, NULL), 409);
    CHECK_INT(su_call(&d, "GET", "/computeruse/process/xvfb/status", NULL, NULL, &j), 200);
    CHECK(json_is_false(json_object_get(j, "running")), "not running");
    json_decref(j);
    CHECK_INT(su_call(&d, "GET", "/computeruse/process/xfce4/logs", NULL, NULL, &j), 200);
    CHECK_STR(json_string_value(json_object_get(j, "logs")), "");
    json_decref(j);
    CHECK_INT(deskd_stop(&d), 0);
}

/* A directory of links to everything on PATH but one executable. */
static void farm_without(const char *dir, const char *missing) {
    char path[4096];
    snprintf(path, sizeof path, "%s", getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
    for (char *save = NULL, *p = strtok_r(path, ":", &save); p; p = strtok_r(NULL, ":", &save)) {
        DIR *d = opendir(p);
        struct dirent *de;
        while (d && (de = readdir(d))) {
            if (de->d_name[0] == '.' || strcmp(de->d_name, missing) == 0)
                continue;
            char from[1024], to[1024];
            snprintf(from, sizeof from, "%s/%s", p, de->d_name);
            snprintf(to, sizeof to, "%s/%s", dir, de->d_name);
            if (symlink(from, to) < 0 && errno != EEXIST)
                break;
        }
        if (d)
            closedir(d);
    }
}

static void test_missing_executable(void) {
    char farm[256];
    if (su_tmpdir(farm, sizeof farm, "farm") < 0)
        return;
    farm_without(farm, "x11vnc");
    char *old_path = strdup(getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
    setenv("PATH", farm, 1);
    struct deskd_proc d;
    const char *more[] = {"--no-start", NULL};
    int rc = start_deskd(&d, more);
    setenv("PATH", old_path, 1);
    free(old_path);
    if (rc < 0) {
        CHECK(0, "deskd started");
        su_rm_rf(farm);
        return;
    }
    json_t *j = NULL;
    int64_t t0 = su_ms();
    CHECK_INT(su_call(&d, "POST", "/computeruse/start", NULL, NULL, &j), 503);
    long ms = (long)(su_ms() - t0);
    CHECK_STR(err_code(j), "NOT_READY");
    CHECK(strstr(err_text(j), "x11vnc: x11vnc is missing"), "names it: %s", err_text(j));
    CHECK(strstr(err_text(j), "novnc: waiting for x11vnc"), "and what waits for it: %s",
            err_text(j));
    printf("missing executable: 503 after %ld ms: %s\n", ms, err_text(j));
    json_decref(j);
    CHECK(ms < 10000, "a missing executable fails the start at once (%ld ms)", ms);
    CHECK(strcmp(su_status(&d), "active") != 0, "not active");
    CHECK_INT(su_call(&d, "POST", "/computeruse/stop", NULL, NULL, NULL), 200);
    CHECK_STR(su_status(&d), "inactive");
    pid_t owner = d.pid;
    CHECK_INT(deskd_stop(&d), 0);
    check_nothing_left(owner, "a failed start");
    su_rm_rf(farm);
}

static void check_status_map(json_t *j, bool running, const char *what) {
    static const char *const names[] = {"xvfb", "xfce4", "x11vnc", "novnc"};
    json_t *st = json_object_get(j, "status");
    CHECK(json_is_object(st) && json_object_size(st) == 5, "%s: status map of 5", what);
    /* Daytona's atspi: priority 250, never restarted by itself, no pid. */
    json_t *at = json_object_get(st, "atspi");
    CHECK(json_is_boolean(json_object_get(at, "running")) &&
                    json_boolean_value(json_object_get(at, "running")) == running &&
                    json_integer_value(json_object_get(at, "priority")) == 250 &&
                    json_is_false(json_object_get(at, "autoRestart")) &&
                    json_is_null(json_object_get(at, "pid")),
            "%s: atspi", what);
    for (int i = 0; i < 4; i++) {
        json_t *p = json_object_get(st, names[i]);
        CHECK(json_is_object(p), "%s: %s present", what, names[i]);
        CHECK(json_is_boolean(json_object_get(p, "running")) &&
                        json_boolean_value(json_object_get(p, "running")) == running,
                "%s: %s running %d", what, names[i], running);
        CHECK_INT(json_integer_value(json_object_get(p, "priority")), 100 * (i + 1));
        CHECK(json_is_true(json_object_get(p, "autoRestart")), "%s: autoRestart", what);
        json_t *pid = json_object_get(p, "pid");
        CHECK(running ? json_is_integer(pid) && json_integer_value(pid) > 0 : json_is_null(pid),
                "%s: %s pid", what, names[i]);
        /* Lowercase keys only (Daytona's own server sends them capitalised). */
        CHECK(!json_object_get(p, "Running") && !json_object_get(p, "Pid"), "%s: lowercase", what);
    }
}

static void test_before_start(const struct deskd_proc *d) {
    json_t *j = NULL;
    CHECK_STR(su_status(d), "inactive");
    CHECK_INT(su_call(d, "GET", "/computeruse/process-status", NULL, NULL, &j), 200);
    CHECK_STR(json_string_value(json_object_get(j, "status")), "inactive");
    json_decref(j);
    CHECK_INT(su_call(d, "GET", "/computeruse/process/novnc/status", NULL, NULL, &j), 200);
    CHECK_STR(json_string_value(json_object_get(j, "processName")), "novnc");
    CHECK(json_is_false(json_object_get(j, "running")), "not running");
    json_decref(j);
    /* Logs of a process that never ran. */
    CHECK_INT(su_call(d, "GET", "/computeruse/process/xvfb/logs", NULL, NULL, &j), 200);
    CHECK_STR(json_string_value(json_object_get(j, "logs")), "");
    json_decref(j);
    CHECK_INT(su_call(d, "GET", "/computeruse/process/xvfb/errors", NULL, NULL, &j), 200);
    CHECK_STR(json_string_value(json_object_get(j, "errors")), "");
    json_decref(j);
    /* Stopping nothing is fine. */
    CHECK_INT(su_call(d, "POST", "/computeruse/stop", NULL, NULL, &j), 200);
    check_status_map(j, false, "stop before start");
    json_decref(j);
    /* Unknown names, on each route. */
    static const char *const paths[][2] = {{"GET", "/computeruse/process/xorg/status"},
            {"POST", "/computeruse/process/Xvfb/restart"}, {"GET", "/computeruse/process/vnc/logs"},
            {"GET", "/computeruse/process/novnc%20/errors"}};
    for (int i = 0; i < 4; i++) {
        CHECK_INT(su_call(d, paths[i][0], paths[i][1], NULL, NULL, &j), 404);
        CHECK(strstr(err_text(j), "valid names: xvfb, xfce4, atspi, x11vnc, novnc"), "%s: %s",
                paths[i][1], err_text(j));
        json_decref(j);
    }
}

static void test_vnc_route(const struct deskd_proc *d, char *password, size_t len) {
    char url[256];
    snprintf(url, sizeof url, "%s/computeruse/vnc", d->url);
    struct http_resp r;
    http_get(url, &r);
    CHECK_INT(r.status, 401); /* token-protected */
    http_resp_free(&r);
    json_t *j = NULL;
    CHECK_INT(su_call(d, "GET", "/computeruse/vnc", NULL, NULL, &j), 200);
    const char *pw = json_string_value(json_object_get(j, "password"));
    const char *u = json_string_value(json_object_get(j, "url"));
    char want[128];
    snprintf(want, sizeof want, "http://127.0.0.1:%d/vnc.html", g_novnc);
    CHECK_STR(u, want);
    CHECK(pw && strlen(pw) == 8, "an 8-character password: %s", pw ? pw : "(none)");
    snprintf(password, len, "%s", pw ? pw : "");
    json_decref(j);
}

static void test_start(const struct deskd_proc *d) {
    json_t *j = NULL, *j2 = NULL;
    /* The TypeScript SDK sends an empty form body: ignored, as any body is. */
    int64_t t0 = su_ms();
    long st = su_call(d, "POST", "/computeruse/start", "", "application/x-www-form-urlencoded", &j);
    long ms = (long)(su_ms() - t0);
    CHECK_INT(st, 200);
    printf("start -> all five ready: %ld ms\n", ms);
    check_status_map(j, true, "start");
    CHECK(json_string_value(json_object_get(j, "message")), "a message");
    json_decref(j);
    CHECK_STR(su_status(d), "active");
    CHECK_INT(su_call(d, "GET", "/computeruse/process-status", NULL, NULL, &j), 200);
    CHECK_STR(json_string_value(json_object_get(j, "status")), "active");
    json_decref(j);
    /* Idempotent, with a JSON body of junk: same processes. */
    CHECK_INT(su_call(d, "POST", "/computeruse/start", "{\"x\":[1,2]}", "application/json", &j2),
            200);
    check_status_map(j2, true, "second start");
    json_decref(j2);
    static const char *const names[] = {"xvfb", "xfce4", "x11vnc", "novnc"};
    for (int i = 0; i < 4; i++) {
        char path[96];
        snprintf(path, sizeof path, "/computeruse/process/%s/status", names[i]);
        CHECK_INT(su_call(d, "GET", path, NULL, NULL, &j), 200);
        CHECK(json_is_true(json_object_get(j, "running")), "%s running", names[i]);
        json_decref(j);
    }
    remember_all(d);
    /* One of each, marked as this deskd's. */
    CHECK_INT(su_marked_comm(d->pid, "Xvfb"), 1);
    CHECK_INT(su_marked_comm(d->pid, "xfce4-session"), 1);
    CHECK_INT(su_marked_comm(d->pid, "x11vnc"), 1);
    CHECK_INT(su_marked_comm(d->pid, "websockify"), 1);
}

static void test_screen(const struct deskd_proc *d) {
    long waited = 0;
    CHECK(wait_panel(d, 15000, &waited), "the panel is on the screen");
    printf("panel in the screenshot %ld ms after start returned\n", waited);
    /* Ready means painted: the first screenshot after start already shows it. */
    CHECK(waited < 1000, "the panel took %ld ms to show after start returned", waited);

    Display *dpy = XOpenDisplay(g_dpy);
    CHECK(dpy, "open %s", g_dpy);
    if (!dpy)
        return;
    int timeout = -1, interval, blanking, exposures;
    XGetScreenSaver(dpy, &timeout, &interval, &blanking, &exposures);
    CHECK_INT(timeout, 0);
    int ev, er;
    if (DPMSQueryExtension(dpy, &ev, &er) && DPMSCapable(dpy)) {
        CARD16 level;
        BOOL on = True;
        DPMSInfo(dpy, &level, &on);
        CHECK(!on, "DPMS is off");
    }
    XCloseDisplay(dpy);
    static const char *const blankers[] = {
            "light-locker", "xscreensaver", "xfce4-screensaver", "xfce4-power-manager"};
    for (int i = 0; i < 4; i++)
        CHECK_INT(su_marked_comm(d->pid, blankers[i]), 0);
}

/*
 * True when every line of part appears in whole, in the same order: logs is
 * the whole output, stdout and stderr interleaved as they came, so errors
 * (stderr alone) is a subsequence of its lines.
 */
static bool lines_in_order(const char *part, const char *whole) {
    const char *at = whole;
    for (const char *p = part; *p;) {
        size_t n = strcspn(p, "\n");
        if (n > 0) {
            char line[2048];
            snprintf(line, sizeof line, "%.*s", (int)(n < sizeof line ? n : sizeof line - 1), p);
            const char *hit = strstr(at, line);
            if (!hit)
                return false;
            at = hit + strlen(line);
        }
        p += n;
        if (*p == '\n')
            p++;
    }
    return true;
}

static void test_secrets_and_logs(const struct deskd_proc *d, const char *password) {
    pid_t p = su_cmdline_has(password, false, 0);
    CHECK(p == 0, "the VNC password is on the command line of pid %d", (int)p);
    pid_t pids[512];
    int n = su_marked(d->pid, pids, 512);
    CHECK(n >= 4, "marked processes: %d", n);
    for (int i = 0; i < n && i < 512; i++) {
        CHECK(!su_environ_has(pids[i], password), "password in the environment of %d",
                (int)pids[i]);
        CHECK(!su_environ_has(pids[i], SU_TOKEN), "API token in the environment of %d",
                (int)pids[i]);
    }
    char pwfile[300];
    snprintf(pwfile, sizeof pwfile, "%s/vnc.passwd", g_state);
    CHECK(access(pwfile, F_OK) != 0, "x11vnc removed the password file after reading it");
    struct stat st;
    CHECK(stat(g_state, &st) == 0 && (st.st_mode & 0077) == 0, "state directory is private");

    static const char *const names[] = {"xvfb", "xfce4", "x11vnc", "novnc"};
    char *texts[8] = {0};
    for (int i = 0; i < 4; i++) {
        /* errors first: a line the process writes between the two requests is then in logs
         * only, never in errors only. */
        for (int e = 1; e >= 0; e--) {
            char path[96];
            snprintf(path, sizeof path, "/computeruse/process/%s/%s", names[i],
                    e ? "errors" : "logs");
            json_t *j = NULL;
            CHECK_INT(su_call(d, "GET", path, NULL, NULL, &j), 200);
            CHECK_STR(json_string_value(json_object_get(j, "processName")), names[i]);
            const char *t = json_string_value(json_object_get(j, e ? "errors" : "logs"));
            CHECK(t != NULL, "%s is a string", path);
            texts[i * 2 + e] = strdup(t ? t : "");
            CHECK(!strstr(texts[i * 2 + e], password), "the password is in %s", path);
            json_decref(j);
        }
    }
    char want[64];
    snprintf(want, sizeof want, "PORT=%d", g_vnc);
    CHECK(strstr(texts[4], want), "x11vnc's stdout says %s: %.200s", want, texts[4]);
    /* logs is everything: what errors holds is in it, in order (websockify writes only there).
     * The streams are joined by the chunk as read, so x11vnc's one stdout line can land
     * between the timestamp and the message of a stderr line (libvncserver writes the two
     * apart): it is taken out first. */
    char *port_line = strstr(texts[4], want);
    if (port_line) {
        size_t len = strlen(want) + (port_line[strlen(want)] == '\n');
        memmove(port_line, port_line + len, strlen(port_line + len) + 1);
    }
    for (int i = 0; i < 4; i++) {
        CHECK(lines_in_order(texts[i * 2 + 1], texts[i * 2]), "%s: errors within logs:\n%.300s",
                names[i], texts[i * 2 + 1]);
    }
    CHECK(strlen(texts[6]) > 0, "novnc's logs are not empty");
    CHECK(strstr(texts[6], "WebSocket server settings"), "novnc's logs have its banner: %.200s",
            texts[6]);
    CHECK(strlen(texts[5]) > 100, "x11vnc's stderr is kept (%zu bytes)", strlen(texts[5]));
    CHECK(strstr(texts[6], "WebSocket server settings") ||
                    strstr(texts[7], "WebSocket server settings"),
            "websockify's banner is kept");
    CHECK(strstr(texts[3], "xfce4") != NULL || strlen(texts[2]) + strlen(texts[3]) > 0,
            "xfce4's output is kept");
    for (int i = 0; i < 8; i++)
        free(texts[i]);
    /* deskd's own log neither. */
    FILE *f = fopen(d->log_path, "r");
    char line[1024];
    bool leaked = false;
    while (f && fgets(line, sizeof line, f))
        leaked |= strstr(line, password) != NULL;
    if (f)
        fclose(f);
    CHECK(!leaked, "the password is in deskd's log");
}

/* The comm of each process's leader, to find its pid in /proc without asking deskd. */
static const char *leader_comm(const char *name) {
    return strcmp(name, "xvfb") == 0     ? "Xvfb"
           : strcmp(name, "xfce4") == 0  ? "dbus-run-sessio"
           : strcmp(name, "x11vnc") == 0 ? "x11vnc"
                                         : "websockify";
}

/*
 * kill -9 of name's process; returns the milliseconds until a new one runs and
 * status is active again. Only read-only routes are polled meanwhile (a start
 * would forgive the backoff and so change what is measured).
 */
static long kill_and_recover(const struct deskd_proc *d, const char *name) {
    pid_t old = su_pid_of(d, name);
    CHECK(old > 0 && old == su_marked_pid(d->pid, leader_comm(name)), "%s has pid %d", name,
            (int)old);
    if (old <= 0)
        return -1;
    int64_t t0 = su_ms();
    kill(old, SIGKILL);
    pid_t now = old;
    bool active = false;
    while (!(active && now > 0 && now != old) && su_ms() - t0 < 60000) {
        now = su_marked_pid(d->pid, leader_comm(name));
        active = strcmp(su_status(d), "active") == 0;
    }
    long ms = (long)(su_ms() - t0);
    CHECK(active && now > 0 && now != old, "%s came back (pid %d -> %d)", name, (int)old, (int)now);
    CHECK_INT(su_pid_of(d, name), now);
    remember_all(d);
    return ms;
}

static void test_kills(const struct deskd_proc *d) {
    static const char *const order[] = {"novnc", "x11vnc", "xfce4", "xvfb"};
    long ms[4];
    for (int i = 0; i < 4; i++) {
        ms[i] = kill_and_recover(d, order[i]);
        printf("kill -9 %s: back and active after %ld ms\n", order[i], ms[i]);
        /* Exactly one of each: the old instance (and its group) is gone. websockify forks a
         * short-lived child per connection (a readiness probe, say), so the count is awaited. */
        static const char *const comms[] = {
                "Xvfb", "xfce4-session", "xfce4-panel", "x11vnc", "websockify"};
        for (size_t k = 0; k < sizeof comms / sizeof comms[0]; k++) {
            int64_t w0 = su_ms();
            int n = su_marked_comm(d->pid, comms[k]);
            while (n != 1 && su_ms() - w0 < 5000) {
                struct timespec ts = {0, 20 * 1000 * 1000};
                nanosleep(&ts, NULL);
                n = su_marked_comm(d->pid, comms[k]);
            }
            CHECK(n == 1, "after kill -9 %s: %d processes named %s", order[i], n, comms[k]);
        }
    }

    /* After Xvfb's death: the same deskd's screenshots come back... */
    int64_t t0 = su_ms();
    int refused = 0;
    for (;;) {
        struct image img;
        char err[400];
        long status = su_screenshot(d, &img, err, sizeof err);
        image_free(&img);
        if (status == 200)
            break;
        CHECK(status == 503, "a screenshot during recovery answers 503, not %ld", status);
        refused++;
        if (su_ms() - t0 > 10000 || status != 503)
            break;
    }
    printf("screenshots after the Xvfb restart: %d answered 503, then 200 after %lld ms\n", refused,
            (long long)(su_ms() - t0));
    CHECK(refused <= 1, "at most the request that finds the old connection dead fails (%d)",
            refused);
    long waited;
    CHECK(wait_panel(d, 15000, &waited), "the panel is back on the screen");

    /* ...and so does input, seen by an X client on the new server. */
    struct evproc ev;
    if (evproc_start(&ev, g_dpy, 300, 200, 240, 160, "recovered") < 0) {
        CHECK(0, "evlog started on the restarted display");
        return;
    }
    Display *dpy = XOpenDisplay(g_dpy);
    int rx = 0, ry = 0;
    Window child;
    if (dpy) {
        XTranslateCoordinates(dpy, ev.window, DefaultRootWindow(dpy), 120, 80, &rx, &ry, &child);
        XCloseDisplay(dpy);
    }
    char body[96], want[64];
    snprintf(body, sizeof body, "{\"x\": %d, \"y\": %d}", rx, ry);
    long st = 0;
    for (int k = 0; k < 3 && st != 200; k++)
        st = su_call(d, "POST", "/computeruse/mouse/click", body, "application/json", NULL);
    CHECK_INT(st, 200);
    snprintf(want, sizeof want, "press 1 %d %d ", rx, ry);
    bool pressed = false;
    char *line;
    while (!pressed && (line = evproc_line(&ev, 5000))) {
        pressed = strncmp(line, want, strlen(want)) == 0;
        free(line);
    }
    CHECK(pressed, "evlog saw the click at %d,%d", rx, ry);
    CHECK_INT(su_call(d, "POST", "/computeruse/keyboard/key", "{\"key\": \"q\"}",
                      "application/json", NULL),
            200);
    bool key = false;
    while (!key && (line = evproc_line(&ev, 5000))) {
        key = strncmp(line, "key q ", 6) == 0;
        free(line);
    }
    CHECK(key, "evlog saw the key q");
    evproc_stop(&ev);
}

static void test_restart_route(const struct deskd_proc *d) {
    pid_t old = su_pid_of(d, "x11vnc");
    json_t *j = NULL;
    int64_t t0 = su_ms();
    CHECK_INT(su_call(d, "POST", "/computeruse/process/x11vnc/restart", "junk", "text/plain", &j),
            200);
    printf("restart x11vnc: %lld ms\n", (long long)(su_ms() - t0));
    CHECK_STR(json_string_value(json_object_get(j, "processName")), "x11vnc");
    CHECK(json_string_value(json_object_get(j, "message")), "a message");
    json_decref(j);
    pid_t now = su_pid_of(d, "x11vnc");
    CHECK(now > 0 && now != old, "a new x11vnc (%d -> %d)", (int)old, (int)now);
    CHECK_STR(su_status(d), "active");
    remember_all(d);

    /* Restarting Xvfb restarts what runs on it; it answers once all of them are ready. */
    static const char *const names[] = {"xvfb", "xfce4", "x11vnc", "novnc"};
    pid_t before[4];
    for (int i = 0; i < 4; i++)
        before[i] = su_pid_of(d, names[i]);
    t0 = su_ms();
    CHECK_INT(su_call(d, "POST", "/computeruse/process/xvfb/restart", NULL, NULL, NULL), 200);
    printf("restart xvfb (and the three on it): %lld ms\n", (long long)(su_ms() - t0));
    CHECK_STR(su_status(d), "active");
    for (int i = 0; i < 4; i++) {
        pid_t after = su_pid_of(d, names[i]);
        CHECK(after > 0 && after != before[i], "%s restarted (%d -> %d)", names[i], (int)before[i],
                (int)after);
    }
    remember_all(d);
    long waited;
    CHECK(wait_panel(d, 15000, &waited), "the panel is back after the Xvfb restart");
}

struct stopper {
    const struct deskd_proc *d;
    long status;
    json_t *json;
    long ms;
};

static void *stop_in_thread(void *arg) {
    struct stopper *s = arg;
    int64_t t0 = su_ms();
    s->status = su_call(s->d, "POST", "/computeruse/stop", NULL, NULL, &s->json);
    s->ms = (long)(su_ms() - t0);
    return NULL;
}

static void *start_in_thread(void *arg) {
    struct stopper *s = arg;
    int64_t t0 = su_ms();
    s->status = su_call(s->d, "POST", "/computeruse/start", NULL, NULL, &s->json);
    s->ms = (long)(su_ms() - t0);
    return NULL;
}

static void test_stop_conflicts(const struct deskd_proc *d) {
    /* websockify, stopped first, ignores SIGTERM while it is itself stopped. */
    pid_t novnc = su_pid_of(d, "novnc");
    remember_all(d);
    CHECK_INT(kill(novnc, SIGSTOP), 0);
    struct stopper s = {d, 0, NULL, 0};
    pthread_t t;
    pthread_create(&t, NULL, stop_in_thread, &s);
    /* The stop is under way once novnc no longer counts as running. */
    json_t *j = NULL;
    bool stopping = false;
    int64_t t0 = su_ms();
    while (!stopping && su_ms() - t0 < 5000) {
        su_call(d, "GET", "/computeruse/process/novnc/status", NULL, NULL, &j);
        stopping = json_is_false(json_object_get(j, "running"));
        json_decref(j);
    }
    CHECK(stopping, "the stop began");
    CHECK_INT(su_call(d, "POST", "/computeruse/process/x11vnc/restart", NULL, NULL, &j), 409);
    CHECK_STR(err_code(j), "CONFLICT");
    CHECK(strstr(err_text(j), "a stop is in progress"), "%s", err_text(j));
    json_decref(j);
    CHECK_INT(su_call(d, "POST", "/computeruse/start", NULL, NULL, &j), 409);
    CHECK(strstr(err_text(j), "a stop is in progress"), "%s", err_text(j));
    json_decref(j);
    CHECK_STR(su_status(d), "partial");
    /* A second stop joins the first. */
    CHECK_INT(su_call(d, "POST", "/computeruse/stop", NULL, NULL, &j), 200);
    json_decref(j);
    pthread_join(t, NULL);
    CHECK_INT(s.status, 200);
    check_status_map(s.json, false, "stop");
    json_decref(s.json);
    printf("stop with a process ignoring SIGTERM: %ld ms (SIGKILL after the 3 s grace)\n", s.ms);
    CHECK(s.ms >= 3000, "the grace period was given (%ld ms)", s.ms);
    CHECK_STR(su_status(d), "inactive");
    check_nothing_left(d->pid, "stop");
    /* Logs stay readable after the stop. */
    CHECK_INT(su_call(d, "GET", "/computeruse/process/x11vnc/errors", NULL, NULL, NULL), 200);

    /* A stop during a start wins; the start answers 409; nothing is left. */
    struct stopper st = {d, 0, NULL, 0};
    pthread_create(&t, NULL, start_in_thread, &st);
    t0 = su_ms();
    pid_t xvfb = 0;
    while (!(xvfb = su_marked_pid(d->pid, "Xvfb")) && su_ms() - t0 < 10000)
        ;
    remember(xvfb);
    CHECK(xvfb > 0, "the start began");
    CHECK_INT(su_call(d, "POST", "/computeruse/stop", NULL, NULL, NULL), 200);
    pthread_join(t, NULL);
    CHECK_INT(st.status, 409);
    CHECK(strstr(err_text(st.json), "interrupted by a stop"), "%s", err_text(st.json));
    json_decref(st.json);
    CHECK_STR(su_status(d), "inactive");
    check_nothing_left(d->pid, "a stop during a start");
}

int main(void) {
    check_timeout(420);
    static const char *const tools[] = {
            "Xvfb", "xfce4-session", "dbus-run-session", "x11vnc", "websockify"};
    for (int i = 0; i < 5; i++)
        check_require_tool(tools[i]);
    if (access("/usr/share/novnc/vnc.html", R_OK) != 0) {
        printf("skipped: noVNC is not installed (/usr/share/novnc)\n");
        return 77;
    }
    g_display = su_free_display();
    g_vnc = su_free_port();
    g_novnc = su_free_port();
    CHECK(g_display > 0 && g_vnc > 0 && g_novnc > 0 && g_vnc != g_novnc, "free display and ports");
    snprintf(g_dpy, sizeof g_dpy, ":%d", g_display);
    snprintf(g_vnc_s, sizeof g_vnc_s, "%d", g_vnc);
    snprintf(g_novnc_s, sizeof g_novnc_s, "%d", g_novnc);
    char top[256];
    if (su_tmpdir(top, sizeof top, "desktop") < 0)
        return 1;
    snprintf(g_state, sizeof g_state, "%.200s/state", top);
    snprintf(g_home, sizeof g_home, "%.200s/home", top);
    mkdir(g_home, 0700);
    /* A fresh HOME: the desktop's own configuration is its first-run default. */
    /* The supervised desktop, not attached to an X server (the test kit's default). */
    setenv("DESK_ATTACH", "0", 1);
    setenv("HOME", g_home, 1);
    printf("display %s, VNC port %d, noVNC port %d, state %s\n", g_dpy, g_vnc, g_novnc, g_state);

    test_attach();
    test_missing_executable();

    struct deskd_proc d;
    const char *more[] = {"--no-start", NULL};
    if (start_deskd(&d, more) < 0)
        return 1;
    char password[32];
    test_before_start(&d);
    test_vnc_route(&d, password, sizeof password);
    test_start(&d);
    test_screen(&d);
    test_secrets_and_logs(&d, password);
    test_kills(&d);
    test_restart_route(&d);
    test_stop_conflicts(&d);

    /* Up again, then deskd's own SIGTERM takes everything down with it. */
    json_t *j = NULL;
    CHECK_INT(su_call(&d, "POST", "/computeruse/start", NULL, NULL, &j), 200);
    check_status_map(j, true, "start after stop");
    json_decref(j);
    remember_all(&d);
    pid_t owner = d.pid;
    int64_t t0 = su_ms();
    CHECK_INT(deskd_stop(&d), 0);
    printf("deskd SIGTERM with the desktop up: exited after %lld ms\n", (long long)(su_ms() - t0));
    check_nothing_left(owner, "deskd's SIGTERM");

    if (check_failed)
        deskd_dump_log(&d);
    else
        su_rm_rf(top);
    return check_finish();
}
