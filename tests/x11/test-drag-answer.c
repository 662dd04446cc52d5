/*
 * mouse/drag answers where the pointer is after the release, in 1000 of 1000
 * drags, while a client plays a slow window manager: evlog grabs the buttons
 * synchronously (as xfwm4 does for click-to-focus), so the X server freezes
 * the pointer at every press, and on every 25th press it lets events through
 * only after 400 ms, longer than a drag's own motion. The motion then waits
 * in the server after deskd's XSync has returned; an answer read right after
 * the release would be the start point.
 */
#include <X11/Xlib.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "deskproc.h"
#include "evproc.h"
#include "http.h"
#include "xserver.h"

#define WIN_X 100
#define WIN_Y 50
#ifndef DRAGS
#define DRAGS 1000
#endif

int main(void) {
    check_timeout(900);
    check_require_tool("Xvfb");
    struct xserver xs;
    if (xserver_start_xvfb(&xs, 1280, 720) < 0)
        return 1;
    Display *dpy = XOpenDisplay(xs.name);
    struct evproc ev;
    struct deskd_proc d;
    const char *const freeze[] = {"--freeze", "400/25", NULL};
    if (!dpy || evproc_start_args(&ev, xs.name, WIN_X, WIN_Y, 800, 600, "drag", freeze) < 0 ||
            deskd_start(&d, xs.name, NULL) < 0) {
        CHECK(false, "set-up failed");
        xserver_stop(&xs);
        return check_finish();
    }
    char url[256], pos_url[256];
    snprintf(url, sizeof url, "%s/computeruse/mouse/drag", d.url);
    snprintf(pos_url, sizeof pos_url, "%s/computeruse/mouse/position", d.url);
    const char *headers[] = {"Content-Type: application/json", NULL};
    int right = 0, position_right = 0;
    for (int i = 0; i < DRAGS; i++) {
        int x1 = WIN_X + 20 + i % 50 * 5, y1 = WIN_Y + 20 + i % 7;
        int x2 = WIN_X + 400 + i % 37, y2 = WIN_Y + 300 + i % 23;
        char body[160];
        snprintf(body, sizeof body, "{\"startX\":%d,\"startY\":%d,\"endX\":%d,\"endY\":%d}", x1, y1,
                x2, y2);
        struct http_resp r;
        http_request("POST", url, body, headers, &r);
        json_t *j = http_json(&r);
        int x = (int)json_integer_value(json_object_get(j, "x"));
        int y = (int)json_integer_value(json_object_get(j, "y"));
        bool ok = r.status == 200 && x == x2 && y == y2 &&
                  json_integer_value(json_object_get(j, "from_x")) == x1 &&
                  json_integer_value(json_object_get(j, "to_y")) == y2;
        if (!ok && right == i)
            fprintf(stderr, "drag %d: %ld %s (expected %d,%d)\n", i, r.status, r.body, x2, y2);
        right += ok;
        json_decref(j);
        http_resp_free(&r);
        /* What the SDKs read next: the position. */
        http_get(pos_url, &r);
        j = http_json(&r);
        position_right += json_integer_value(json_object_get(j, "x")) == x2 &&
                          json_integer_value(json_object_get(j, "y")) == y2;
        json_decref(j);
        http_resp_free(&r);
        /* evlog blocks once its output pipe is full, and with it the grab: read what it said. */
        for (char *line; (line = evproc_line(&ev, 0));)
            free(line);
    }
    CHECK(right == DRAGS, "%d of %d drags answered their end point", right, DRAGS);
    CHECK(position_right == DRAGS, "%d of %d positions after a drag read its end point",
            position_right, DRAGS);
    check_nothing_held(dpy, "1000 drags");
    CHECK_INT(deskd_stop(&d), 0);
    if (check_failed)
        deskd_dump_log(&d);
    evproc_stop(&ev);
    XCloseDisplay(dpy);
    xserver_stop(&xs);
    return check_finish();
}
