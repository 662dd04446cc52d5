/*
 * Human takeover: deskd brings the desktop up by itself (its default), and a
 * headless Chromium (Debian's chromium, driven by playwright-core through
 * takeover.js) opens the noVNC page, enters the VNC password that
 * GET /computeruse/vnc gave, and shows the desktop: the canvas matches deskd's
 * own screenshot at 144 points. A click and a key typed in the browser reach
 * the tests' X client evlog on the desktop.
 */
#define _GNU_SOURCE
#include <X11/Xlib.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "deskproc.h"
#include "evproc.h"
#include "nodeproc.h"
#include "shot.h"
#include "stack-util.h"

int main(void) {
    check_timeout(240);
    static const char *const tools[] = {
            "Xvfb", "xfce4-session", "dbus-run-session", "x11vnc", "websockify", "node"};
    for (int i = 0; i < 6; i++)
        check_require_tool(tools[i]);
    const char *chromium = getenv("DESK_CHROMIUM") ? getenv("DESK_CHROMIUM") : "/usr/bin/chromium";
    if (access(chromium, X_OK) != 0) {
        printf("skipped: %s is not installed\n", chromium);
        return 77;
    }
    char script[1024], module[1024];
    snprintf(script, sizeof script, "%s/tests/integration/takeover.js", DESK_SOURCE_DIR);
    snprintf(module, sizeof module,
            "%s/tests/integration/node_modules/playwright-core/package.json", DESK_SOURCE_DIR);
    if (access(module, R_OK) != 0) {
        printf("skipped: playwright-core is not installed (npm ci --prefix tests/integration)\n");
        return 77;
    }

    /* The supervised desktop, not attached to an X server (the test kit's default). */
    struct su_desktop sd;
    if (su_desktop_prepare(&sd, "takeover") < 0)
        return check_finish();
    const char *dpy = sd.dpy;

    /* No --no-start: the desktop comes up by itself. */
    struct deskd_proc d;
    const char *args[] = {"--token", SU_TOKEN, "--display", dpy, "--vnc-port", sd.vnc,
            "--novnc-port", sd.novnc, "--state-dir", sd.state, "--resolution", "1024x768", NULL};
    int64_t t0 = su_ms();
    if (deskd_start(&d, dpy, args) < 0)
        return 1;
    long ms = su_wait_status(&d, "active", 90000);
    CHECK(ms >= 0, "the desktop came up by itself");
    printf("deskd started -> status active: %lld ms\n", (long long)(su_ms() - t0));

    json_t *j = NULL;
    CHECK_INT(su_call(&d, "GET", "/computeruse/vnc", NULL, NULL, &j), 200);
    char url[256] = "", password[32] = "";
    snprintf(url, sizeof url, "%s", json_string_value(json_object_get(j, "url")));
    snprintf(password, sizeof password, "%s", json_string_value(json_object_get(j, "password")));
    json_decref(j);

    struct evproc ev;
    if (evproc_start(&ev, dpy, 200, 150, 300, 200, "takeover") < 0) {
        CHECK(0, "evlog started");
        deskd_stop(&d);
        return check_finish();
    }
    int cx = 0, cy = 0;
    Display *x = XOpenDisplay(dpy);
    if (x) {
        Window child;
        XTranslateCoordinates(x, ev.window, DefaultRootWindow(x), 150, 100, &cx, &cy, &child);
        XCloseDisplay(x);
    }

    char cxs[16], cys[16];
    snprintf(cxs, sizeof cxs, "%d", cx);
    snprintf(cys, sizeof cys, "%d", cy);
    const char *argv[] = {"node", script, url, password, cxs, cys, "q", NULL};
    struct nodeproc n;
    t0 = su_ms();
    CHECK_INT(nodeproc_start(&n, argv), 0);
    char *line = nodeproc_line(&n, 90000);
    CHECK(line != NULL, "the browser reported the canvas");
    printf("browser connected and drew the desktop in %lld ms\n", (long long)(su_ms() - t0));
    json_t *res = line ? json_loads(line, 0, NULL) : NULL;
    free(line);
    CHECK(res != NULL, "its report is JSON");

    if (res) {
        CHECK_INT(json_integer_value(json_object_get(res, "width")), 1024);
        CHECK_INT(json_integer_value(json_object_get(res, "height")), 768);
        /* The canvas shows what deskd's screenshot shows (VNC may encode lossily). */
        size_t total;
        long match = su_canvas_matches(&d, json_object_get(res, "samples"), &total);
        CHECK(match >= 0, "deskd's screenshot to compare with");
        printf("canvas vs screenshot: %ld of %zu samples match\n", match, total);
        CHECK(total == 144 && match * 100 >= (long)total * 85, "%ld of %zu samples match", match,
                total);
    }
    json_decref(res);

    /* What the browser did reached the X client. */
    char want[64];
    snprintf(want, sizeof want, "press 1 %d %d ", cx, cy);
    bool pressed = false, key = false;
    char *l;
    while (!(pressed && key) && (l = evproc_line(&ev, 15000))) {
        pressed |= strncmp(l, want, strlen(want)) == 0;
        key |= strncmp(l, "key q ", 6) == 0;
        free(l);
    }
    CHECK(pressed, "evlog saw the browser's click at %d,%d", cx, cy);
    CHECK(key, "evlog saw the key typed in the browser");
    CHECK_INT(nodeproc_finish(&n, "done", 30000), 0);
    evproc_stop(&ev);

    pid_t owner = d.pid;
    CHECK_INT(deskd_stop(&d), 0);
    pid_t left[8];
    CHECK_INT(su_marked(owner, left, 8), 0);
    if (check_failed)
        deskd_dump_log(&d);
    else
        su_rm_rf(sd.top);
    return check_finish();
}
