/*
 * Two monitors: an Xephyr with two -screen options and +xinerama, nested in an
 * Xvfb, has two Xinerama heads side by side (Xvfb's own RandR ignores
 * `xrandr --setmonitor`). display/info must report both, primary first, and a
 * full screenshot must cover both.
 */
#include <stdio.h>

#include "check.h"
#include "deskproc.h"
#include "http.h"
#include "shot.h"
#include "xserver.h"

static void check_display(json_t *d, int id, int x, int w, int h) {
    CHECK_INT(json_integer_value(json_object_get(d, "id")), id);
    CHECK_INT(json_integer_value(json_object_get(d, "x")), x);
    CHECK_INT(json_integer_value(json_object_get(d, "y")), 0);
    CHECK_INT(json_integer_value(json_object_get(d, "width")), w);
    CHECK_INT(json_integer_value(json_object_get(d, "height")), h);
    CHECK(json_is_true(json_object_get(d, "isActive")), "display %d isActive", id);
}

int main(void) {
    check_timeout(90);
    check_require_tool("Xvfb");
    check_require_tool("Xephyr");
    struct xserver host, nested;
    if (xserver_start_xvfb(&host, 1400, 600) < 0)
        return 1;
    const char *argv[] = {"Xephyr", "-screen", "640x480", "-screen", "320x240", "+xinerama",
            "-nolisten", "tcp", "-noreset", NULL};
    if (xserver_start(&nested, argv, host.name) < 0) {
        xserver_stop(&host);
        return 1;
    }
    struct deskd_proc d;
    int started = deskd_start(&d, nested.name, NULL);
    CHECK(started == 0, "deskd started");
    if (started == 0) {
        char url[256];
        struct http_resp r;
        snprintf(url, sizeof url, "%s/computeruse/display/info", d.url);
        http_get(url, &r);
        CHECK_INT(r.status, 200);
        json_t *root = http_json(&r);
        json_t *list = json_object_get(root, "displays");
        CHECK_INT(json_integer_value(json_object_get(root, "total_displays")), 2);
        CHECK_INT(json_array_size(list), 2);
        check_display(json_array_get(list, 0), 0, 0, 640, 480);
        check_display(json_array_get(list, 1), 1, 640, 320, 240);
        CHECK(json_equal(json_object_get(root, "primary_display"), json_array_get(list, 0)),
                "primary_display is the first head");
        json_decref(root);
        http_resp_free(&r);

        struct shot s;
        if (shot_get(d.url, "/computeruse/screenshot/compressed?format=jpeg", &s) == 0)
            CHECK(s.width == 960 && s.height == 480, "both heads captured: %dx%d", s.width,
                    s.height);
        shot_free(&s);
        CHECK_INT(deskd_stop(&d), 0);
        if (check_failed)
            deskd_dump_log(&d);
    }
    xserver_stop(&nested);
    xserver_stop(&host);
    return check_finish();
}
