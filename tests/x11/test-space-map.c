/*
 * Screenshot pixels and pointer coordinates share one mapping (API.md §10),
 * checked end to end as a property over many sizes: the screen (an odd,
 * prime size) shows flat colour blocks; for scaled screenshots of regions on
 * and off the origin, every sampled image pixel inside a block (its 3x3
 * neighbourhood one colour) is sent back as a pointer coordinate in that
 * image's space, and the screen pixel the pointer lands on must have the
 * image pixel's colour; the move's answer must be that image pixel again.
 * (Screenshots are sized by scale here; fit sizes them by the same mapping.)
 */
#include <X11/Xlib.h>
#include <X11/Xutil.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "deskproc.h"
#include "http.h"
#include "shot.h"
#include "xserver.h"

#define SCREEN_W 1283
#define SCREEN_H 727
#define BLOCK_W  61
#define BLOCK_H  47

static const char *base;

static void block_rgb(int x, int y, unsigned char rgb[3]) {
    int bx = x / BLOCK_W, by = y / BLOCK_H;
    rgb[0] = (unsigned char)(40 + bx * 37 % 200);
    rgb[1] = (unsigned char)(30 + by * 53 % 200);
    rgb[2] = (unsigned char)(20 + (bx * 7 + by * 11) * 29 % 220);
}

/* The root window's background: the blocks, through a pixmap (no window manager runs). */
static int paint_blocks(Display *dpy) {
    int scr = DefaultScreen(dpy);
    Window root = RootWindow(dpy, scr);
    Pixmap pm = XCreatePixmap(dpy, root, SCREEN_W, SCREEN_H, (unsigned)DefaultDepth(dpy, scr));
    GC gc = XCreateGC(dpy, pm, 0, NULL);
    for (int y = 0; y < SCREEN_H; y += BLOCK_H) {
        for (int x = 0; x < SCREEN_W; x += BLOCK_W) {
            unsigned char c[3];
            block_rgb(x, y, c);
            XSetForeground(dpy, gc, (unsigned long)c[0] << 16 | (unsigned long)c[1] << 8 | c[2]);
            XFillRectangle(dpy, pm, gc, x, y, BLOCK_W, BLOCK_H);
        }
    }
    XSetWindowBackgroundPixmap(dpy, root, pm);
    XClearWindow(dpy, root);
    XFreeGC(dpy, gc);
    XFreePixmap(dpy, pm);
    XSync(dpy, False);
    return 0;
}

static bool uniform(const struct image *im, int x, int y) {
    if (x < 1 || y < 1 || x >= im->width - 1 || y >= im->height - 1)
        return false;
    const uint8_t *c = image_px(im, x, y);
    for (int dy = -1; dy <= 1; dy++)
        for (int dx = -1; dx <= 1; dx++)
            if (memcmp(image_px(im, x + dx, y + dy), c, 3) != 0)
                return false;
    return true;
}

static long post(const char *path, const char *body, json_t **reply) {
    char url[256];
    snprintf(url, sizeof url, "%s%s", base, path);
    const char *headers[] = {"Content-Type: application/json", NULL};
    struct http_resp r;
    http_request("POST", url, body, headers, &r);
    long st = r.status;
    *reply = http_json(&r);
    http_resp_free(&r);
    return st;
}

static void position(int *x, int *y) {
    char url[256];
    snprintf(url, sizeof url, "%s/computeruse/mouse/position", base);
    struct http_resp r;
    http_get(url, &r);
    json_t *j = http_json(&r);
    *x = (int)json_integer_value(json_object_get(j, "x"));
    *y = (int)json_integer_value(json_object_get(j, "y"));
    json_decref(j);
    http_resp_free(&r);
}

static int checked;

static void map_case(double scale, int rx, int ry, int rw, int rh) {
    char q[256];
    snprintf(q, sizeof q,
            "/computeruse/screenshot/region/compressed?x=%d&y=%d&width=%d&height=%d&format=png&"
            "scale=%g",
            rx, ry, rw, rh, scale);
    struct shot s;
    if (shot_get(base, q, &s) < 0) {
        CHECK(false, "screenshot %s", q);
        return;
    }
    int w = s.img.width, h = s.img.height, samples = 0, wrong = 0;
    /* About 12 x 8 samples spread over the image, each moved to the nearest pure pixel. */
    for (int gy = 0; gy < 8; gy++) {
        for (int gx = 0; gx < 12; gx++) {
            int x0 = (2 * gx + 1) * w / 24, y0 = (2 * gy + 1) * h / 16, x = -1, y = -1;
            for (int dy = 0; dy < 8 && x < 0; dy++)
                for (int dx = 0; dx < 8 && x < 0; dx++)
                    if (uniform(&s.img, x0 + dx, y0 + dy))
                        x = x0 + dx, y = y0 + dy;
            if (x < 0)
                continue;
            char body[256];
            snprintf(body, sizeof body,
                    "{\"x\":%d,\"y\":%d,\"space\":{\"width\":%d,\"height\":%d},"
                    "\"region\":{\"x\":%d,\"y\":%d,\"width\":%d,\"height\":%d}}",
                    x, y, w, h, rx, ry, rw, rh);
            json_t *reply = NULL;
            long st = post("/computeruse/mouse/move", body, &reply);
            int ax = (int)json_integer_value(json_object_get(reply, "x"));
            int ay = (int)json_integer_value(json_object_get(reply, "y"));
            json_decref(reply);
            int sx, sy;
            position(&sx, &sy);
            unsigned char want[3];
            block_rgb(sx, sy, want);
            const uint8_t *got = image_px(&s.img, x, y);
            bool ok = st == 200 && ax == x && ay == y && memcmp(got, want, 3) == 0;
            if (!ok && wrong++ < 3)
                CHECK(false,
                        "scale %g region %d,%d %dx%d image %dx%d: pixel %d,%d (%02x%02x%02x) "
                        "went to screen %d,%d (%02x%02x%02x), answered %d,%d",
                        scale, rx, ry, rw, rh, w, h, x, y, got[0], got[1], got[2], sx, sy, want[0],
                        want[1], want[2], ax, ay);
            samples++;
        }
    }
    CHECK(samples >= 10, "scale %g region %dx%d: %d pure samples", scale, rw, rh, samples);
    CHECK(wrong == 0, "scale %g region %d,%d %dx%d: %d of %d samples wrong", scale, rx, ry, rw, rh,
            wrong, samples);
    checked += samples - wrong;
    shot_free(&s);
}

int main(void) {
    check_timeout(300);
    check_require_tool("Xvfb");
    struct xserver xs;
    if (xserver_start_xvfb(&xs, SCREEN_W, SCREEN_H) < 0)
        return 1;
    Display *dpy = XOpenDisplay(xs.name);
    struct deskd_proc d;
    if (!dpy || paint_blocks(dpy) < 0 || deskd_start(&d, xs.name, NULL) < 0) {
        CHECK(false, "set-up failed");
        xserver_stop(&xs);
        return check_finish();
    }
    base = d.url;
    static const double scales[] = {0.1, 0.13, 0.29, 0.37, 0.5, 0.61, 0.71, 0.83, 0.97, 1.0};
    static const int regions[][4] = {{0, 0, SCREEN_W, SCREEN_H}, {101, 53, 211, 173},
            {3, 7, 997, 613}, {641, 359, 641, 367}, {17, 401, 1009, 307}};
    for (size_t r = 0; r < sizeof regions / sizeof regions[0]; r++)
        for (size_t i = 0; i < sizeof scales / sizeof scales[0]; i++)
            map_case(scales[i], regions[r][0], regions[r][1], regions[r][2], regions[r][3]);
    printf("%d image pixels mapped onto screen pixels of their colour\n", checked);
    CHECK_INT(deskd_stop(&d), 0);
    if (check_failed)
        deskd_dump_log(&d);
    XCloseDisplay(dpy);
    xserver_stop(&xs);
    return check_finish();
}
