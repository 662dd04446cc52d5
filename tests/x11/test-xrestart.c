/*
 * The X server dies under a running deskd: requests answer 503 and deskd stays
 * up; a new X server on the same display brings screenshots back without a
 * deskd restart. Also: a display that never existed gives 503, not a crash.
 */
#include <X11/Xlib.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "check.h"
#include "deskproc.h"
#include "http.h"
#include "shot.h"
#include "xserver.h"

/* The root background pixmap outlives the client that set it. */
static void paint(const char *name, unsigned seed) {
    Display *dpy = XOpenDisplay(name);
    CHECK(dpy, "open %s", name);
    if (dpy) {
        pattern_paint(dpy, seed);
        XCloseDisplay(dpy);
    }
}

/* True when pixel (x, y) of a full screenshot matches pattern seed. */
static bool shows_pattern(const char *base, unsigned seed, long *status) {
    struct shot s;
    bool ok = false;
    if (shot_get(base, "/computeruse/screenshot/compressed?format=png", &s) == 0) {
        unsigned char want[3];
        pattern_rgb(seed, 123, 45, want);
        ok = memcmp(image_px(&s.img, 123, 45), want, 3) == 0;
    }
    *status = s.status;
    shot_free(&s);
    return ok;
}

/* A request to deskd; its status, and the body's "text" (when asked) copied into text. */
static long request(const struct deskd_proc *d, const char *method, const char *path,
        const char *body, char *text, size_t len) {
    char url[256];
    snprintf(url, sizeof url, "%s%s", d->url, path);
    struct http_resp r;
    http_request(method, url, body, NULL, &r);
    json_t *j = text ? http_json(&r) : NULL;
    if (text)
        snprintf(text, len, "%s", j ? json_string_value(json_object_get(j, "text")) : "(none)");
    json_decref(j);
    long status = r.status;
    http_resp_free(&r);
    return status;
}

int main(void) {
    check_timeout(120);
    check_require_tool("Xvfb");
    struct xserver xs;
    if (xserver_start_xvfb_own(&xs, 320, 240) < 0) /* restarted on its number later */
        return 1;
    paint(xs.name, 1);

    struct deskd_proc d;
    if (deskd_start(&d, xs.name, NULL) < 0) {
        CHECK(false, "deskd did not start");
        return check_finish();
    }
    long status = 0;
    CHECK(shows_pattern(d.url, 1, &status), "first server's pattern (status %ld)", status);
    /* The clipboard's and the window actions' connections live and die like the others. */
    CHECK_INT(
            request(&d, "POST", "/computeruse/clipboard", "{\"text\": \"before\"}", NULL, 0), 200);

    /* Kill the X server hard, as a crash would. */
    kill(xs.pid, SIGKILL);
    waitpid(xs.pid, NULL, 0);
    xs.pid = 0;

    struct shot s;
    for (int i = 0; i < 3; i++) {
        shot_try(d.url, "/computeruse/screenshot", &s);
        CHECK_INT(s.status, 503);
        CHECK(strstr(s.error, "display"), "503 names the display: %s", s.error);
        shot_free(&s);
    }
    char url[256];
    struct http_resp r;
    snprintf(url, sizeof url, "%s/computeruse/display/info", d.url);
    http_get(url, &r);
    CHECK_INT(r.status, 503);
    http_resp_free(&r);
    snprintf(url, sizeof url, "%s/healthz", d.url);
    http_get(url, &r);
    CHECK_INT(r.status, 200);
    http_resp_free(&r);
    CHECK_INT(request(&d, "GET", "/computeruse/clipboard", NULL, NULL, 0), 503);
    CHECK_INT(request(&d, "POST", "/computeruse/clipboard", "{\"text\": \"x\"}", NULL, 0), 503);
    CHECK_INT(request(&d, "POST", "/computeruse/windows/33554416/maximize", NULL, NULL, 0), 503);
    CHECK(deskd_alive(&d), "deskd survived the X server");

    /* A new server on the same display number. */
    char disp[16];
    snprintf(disp, sizeof disp, ":%d", xs.number);
    const char *argv[] = {
            "Xvfb", disp, "-screen", "0", "400x300x24", "-nolisten", "tcp", "-noreset", NULL};
    CHECK_INT(xserver_start(&xs, argv, NULL), 0);
    paint(xs.name, 2);
    CHECK(shows_pattern(d.url, 2, &status), "second server's pattern (status %ld)", status);
    if (shot_get(d.url, "/computeruse/screenshot", &s) == 0)
        CHECK(s.width == 400 && s.height == 300, "new screen size %dx%d", s.width, s.height);
    shot_free(&s);
    char text[64];
    CHECK_INT(request(&d, "GET", "/computeruse/clipboard", NULL, text, sizeof text), 200);
    CHECK_STR(text, ""); /* the selection died with the server */
    CHECK_INT(request(&d, "POST", "/computeruse/clipboard", "{\"text\": \"after\"}", NULL, 0), 200);
    CHECK_INT(request(&d, "GET", "/computeruse/clipboard", NULL, text, sizeof text), 200);
    CHECK_STR(text, "after");
    CHECK_INT(request(&d, "POST", "/computeruse/windows/33554416/maximize", NULL, NULL, 0), 404);

    CHECK_INT(deskd_stop(&d), 0);
    if (check_failed)
        deskd_dump_log(&d);
    xserver_stop(&xs);

    /* A display that does not exist. */
    CHECK(deskd_start(&d, ":987", NULL) == 0, "deskd starts without a display");
    if (d.pid > 0) {
        shot_try(d.url, "/computeruse/screenshot", &s);
        CHECK_INT(s.status, 503);
        shot_free(&s);
        CHECK_INT(deskd_stop(&d), 0);
    }
    return check_finish();
}
