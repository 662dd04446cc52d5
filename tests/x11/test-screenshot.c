/*
 * Screenshots end to end: a private Xvfb painted with a known pattern, a real
 * deskd attached to it, and real HTTP requests. The pixels that come back must
 * be the pattern's, exactly for lossless formats.
 */
#include <X11/Xlib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "deskproc.h"
#include "http.h"
#include "shot.h"
#include "xserver.h"

#define W 640
#define H 480

static const char *base;

/* Counts pixels of img (showing screen rect at ox, oy) that differ from the pattern. */
static long pattern_mismatches(const struct image *img, int ox, int oy, long *black_ok) {
    long bad = 0;
    for (int y = 0; y < img->height; y++) {
        for (int x = 0; x < img->width; x++) {
            const uint8_t *p = image_px(img, x, y);
            int sx = ox + x, sy = oy + y;
            unsigned char want[3] = {0, 0, 0};
            if (sx >= 0 && sy >= 0 && sx < W && sy < H)
                pattern_rgb(0, sx, sy, want);
            else if (black_ok)
                (*black_ok)++;
            if (memcmp(p, want, 3) != 0)
                bad++;
        }
    }
    return bad;
}

static double psnr_vs_pattern(const struct image *img) {
    double se = 0;
    for (int y = 0; y < img->height; y++) {
        for (int x = 0; x < img->width; x++) {
            unsigned char want[3];
            pattern_rgb(0, x, y, want);
            const uint8_t *p = image_px(img, x, y);
            for (int c = 0; c < 3; c++)
                se += (double)(p[c] - want[c]) * (p[c] - want[c]);
        }
    }
    double mse = se / ((double)img->width * img->height * 3);
    return mse == 0 ? 99 : 10 * log10(255.0 * 255.0 / mse);
}

static void test_full_and_region(Display *dpy) {
    struct shot s;
    /* cursorPosition is the pointer, without showCursor too. */
    XWarpPointer(dpy, None, DefaultRootWindow(dpy), 0, 0, 0, 0, 123, 45);
    XSync(dpy, False);
    if (shot_get(base, "/computeruse/screenshot", &s) == 0) {
        CHECK_INT(s.width, W);
        CHECK_INT(s.height, H);
        CHECK_STR(s.format, "png");
        CHECK(s.rx == 0 && s.ry == 0 && s.rw == W && s.rh == H, "region is the screen");
        CHECK(s.has_cursor && s.cursor_x == 123 && s.cursor_y == 45,
                "full route carries the pointer as cursorPosition without showCursor: %d,%d",
                s.cursor_x, s.cursor_y);
        CHECK_INT(pattern_mismatches(&s.img, 0, 0, NULL), 0);
    }
    shot_free(&s);

    if (shot_get(base, "/computeruse/screenshot/region?x=100&y=50&width=64&height=32", &s) == 0) {
        CHECK(s.width == 64 && s.height == 32, "region size %dx%d", s.width, s.height);
        CHECK(s.rx == 100 && s.ry == 50 && s.rw == 64 && s.rh == 32, "region echoed");
        CHECK(s.has_cursor && s.cursor_x == 123 && s.cursor_y == 45,
                "region route carries the pointer (screen coordinates) as cursorPosition: %d,%d",
                s.cursor_x, s.cursor_y);
        CHECK_INT(pattern_mismatches(&s.img, 100, 50, NULL), 0);
    }
    shot_free(&s);

    /* Half off screen, top right: black outside, the pattern inside. */
    if (shot_get(base, "/computeruse/screenshot/region?x=600&y=-10&width=80&height=40", &s) == 0) {
        long black = 0;
        CHECK(s.width == 80 && s.height == 40, "size %dx%d", s.width, s.height);
        CHECK_INT(pattern_mismatches(&s.img, 600, -10, &black), 0);
        CHECK(black == 80 * 40 - 40 * 30, "%ld pixels outside the screen", black);
    }
    shot_free(&s);

    /* Wholly off screen: all black, not an error. */
    if (shot_get(base, "/computeruse/screenshot/region?x=-500&y=2000&width=16&height=8", &s) == 0) {
        long black = 0;
        CHECK_INT(pattern_mismatches(&s.img, -500, 2000, &black), 0);
        CHECK_INT(black, 16 * 8);
    }
    shot_free(&s);
}

static void test_compressed(void) {
    struct shot s;
    if (shot_get(base, "/computeruse/screenshot/compressed", &s) == 0) {
        CHECK_STR(s.format, "png");
        CHECK(!s.has_cursor, "compressed routes carry cursorPosition only with showCursor");
        CHECK_INT(pattern_mismatches(&s.img, 0, 0, NULL), 0);
    }
    shot_free(&s);

    if (shot_get(base, "/computeruse/screenshot/compressed?format=jpeg&quality=75", &s) == 0) {
        CHECK_STR(s.format, "jpeg");
        CHECK(s.width == W && s.height == H, "jpeg size");
        double q = psnr_vs_pattern(&s.img);
        CHECK(q > 30, "jpeg q75 PSNR %.1f dB", q);
    }
    shot_free(&s);

    if (shot_get(base, "/computeruse/screenshot/compressed?format=WEBP&quality=80", &s) == 0) {
        CHECK_STR(s.format, "webp");
        double q = psnr_vs_pattern(&s.img);
        CHECK(q > 28, "webp q80 PSNR %.1f dB", q);
    }
    shot_free(&s);

    if (shot_get(base, "/computeruse/screenshot/compressed?format=webp&quality=100", &s) == 0)
        CHECK_INT(pattern_mismatches(&s.img, 0, 0, NULL), 0); /* quality 100 is lossless */
    shot_free(&s);

    /* Scale: floor(W*s) x floor(H*s), each pixel the mean of the area it covers. */
    if (shot_get(base, "/computeruse/screenshot/compressed?scale=0.5", &s) == 0) {
        CHECK(s.width == W / 2 && s.height == H / 2, "scaled size %dx%d", s.width, s.height);
        long bad = 0;
        for (int y = 0; y < s.height; y += 7) {
            for (int x = 0; x < s.width; x += 5) {
                int sum[3] = {0, 0, 0};
                for (int k = 0; k < 4; k++) {
                    unsigned char c[3];
                    pattern_rgb(0, 2 * x + (k & 1), 2 * y + (k >> 1), c);
                    for (int j = 0; j < 3; j++)
                        sum[j] += c[j];
                }
                const uint8_t *p = image_px(&s.img, x, y);
                for (int j = 0; j < 3; j++)
                    bad += abs(p[j] * 4 - sum[j]) > 4;
            }
        }
        CHECK_INT(bad, 0);
    }
    shot_free(&s);

    if (shot_get(base, "/computeruse/screenshot/compressed?scale=0.3&format=jpg", &s) == 0)
        CHECK(s.width == 192 && s.height == 144, "0.3 gives %dx%d", s.width, s.height);
    shot_free(&s);

    if (shot_get(base,
                "/computeruse/screenshot/region/compressed?x=10&y=20&width=101&height=51"
                "&scale=0.1&format=png",
                &s) == 0) {
        CHECK(s.width == 10 && s.height == 5, "region 101x51 at 0.1 gives %dx%d", s.width,
                s.height);
        CHECK(s.rx == 10 && s.ry == 20 && s.rw == 101 && s.rh == 51, "region echoed");
    }
    shot_free(&s);

    if (shot_get(base,
                "/computeruse/screenshot/region/compressed?x=0&y=0&width=5&height=5"
                "&scale=0.1",
                &s) == 0)
        CHECK(s.width == 1 && s.height == 1, "never below 1x1: %dx%d", s.width, s.height);
    shot_free(&s);
}

static void test_binary(void) {
    char url[256], buf[64];
    struct http_resp r;
    const char *png[] = {"Accept: image/png", NULL};
    snprintf(url, sizeof url, "%s/computeruse/screenshot/region?x=-5&y=3&width=20&height=10", base);
    http_request("GET", url, NULL, png, &r);
    CHECK_INT(r.status, 200);
    CHECK_STR(http_header(&r, "Content-Type", buf, sizeof buf), "image/png");
    CHECK_STR(http_header(&r, "X-Desk-Width", buf, sizeof buf), "20");
    CHECK_STR(http_header(&r, "X-Desk-Height", buf, sizeof buf), "10");
    CHECK_STR(http_header(&r, "X-Desk-Region", buf, sizeof buf), "-5,3,20,10");
    /* The pointer, where test_full_and_region put it. */
    CHECK_STR(http_header(&r, "X-Desk-Cursor-X", buf, sizeof buf), "123");
    CHECK_STR(http_header(&r, "X-Desk-Cursor-Y", buf, sizeof buf), "45");
    struct image img;
    if (image_decode((uint8_t *)r.body, r.len, &img) == 0) {
        CHECK(img.width == 20 && img.height == 10, "binary png %dx%d", img.width, img.height);
        long black = 0;
        CHECK_INT(pattern_mismatches(&img, -5, 3, &black), 0);
        CHECK_INT(black, 50);
        image_free(&img);
    } else {
        CHECK(0, "binary body is not an image");
    }
    http_resp_free(&r);

    /* Accept selects the format when format is absent. */
    const char *jpeg[] = {"Accept: image/jpeg", NULL};
    snprintf(url, sizeof url, "%s/computeruse/screenshot/compressed?scale=0.5", base);
    http_request("GET", url, NULL, jpeg, &r);
    CHECK_INT(r.status, 200);
    CHECK_STR(http_header(&r, "Content-Type", buf, sizeof buf), "image/jpeg");
    CHECK(image_decode((uint8_t *)r.body, r.len, &img) == 0 && img.width == W / 2,
            "binary jpeg decodes at half size");
    image_free(&img);
    http_resp_free(&r);

    /* A format that disagrees with Accept is refused. */
    snprintf(url, sizeof url, "%s/computeruse/screenshot/compressed?format=webp", base);
    http_request("GET", url, NULL, jpeg, &r);
    CHECK_INT(r.status, 400);
    CHECK(strstr(r.body, "format"), "names format: %s", r.body);
    http_resp_free(&r);
}

static void test_cursor(Display *dpy) {
    XWarpPointer(dpy, None, DefaultRootWindow(dpy), 0, 0, 0, 0, 300, 200);
    XSync(dpy, False);
    struct shot plain, with;
    int a = shot_get(base, "/computeruse/screenshot?showCursor=false", &plain);
    int b = shot_get(base, "/computeruse/screenshot?showCursor=true", &with);
    if (a == 0 && b == 0) {
        CHECK(with.cursor_x == 300 && with.cursor_y == 200, "cursorPosition %d,%d", with.cursor_x,
                with.cursor_y);
        long changed = 0, far = 0;
        for (int y = 0; y < H; y++) {
            for (int x = 0; x < W; x++) {
                if (memcmp(image_px(&plain.img, x, y), image_px(&with.img, x, y), 3) != 0) {
                    changed++;
                    if (abs(x - 300) > 64 || abs(y - 200) > 64)
                        far++;
                }
            }
        }
        CHECK(changed > 20, "the cursor changed %ld pixels", changed);
        CHECK_INT(far, 0);
        CHECK_INT(pattern_mismatches(&plain.img, 0, 0, NULL), 0);
    }
    shot_free(&plain);
    shot_free(&with);

    /* The alias wins over showCursor. */
    if (shot_get(base, "/computeruse/screenshot?showCursor=true&show_cursor=false", &plain) == 0)
        CHECK(plain.cursor_x == 300 && plain.cursor_y == 200 &&
                        pattern_mismatches(&plain.img, 0, 0, NULL) == 0,
                "show_cursor=false wins: no cursor drawn, the position all the same");
    shot_free(&plain);

    /* Compressed: position in the returned image's scaled space. */
    if (shot_get(base, "/computeruse/screenshot/compressed?showCursor=1&scale=0.5", &with) == 0)
        CHECK(with.has_cursor && with.cursor_x == 150 && with.cursor_y == 100,
                "scaled cursorPosition %d,%d", with.cursor_x, with.cursor_y);
    shot_free(&with);
    if (shot_get(base,
                "/computeruse/screenshot/region/compressed?showCursor=1&x=250&y=150"
                "&width=100&height=100",
                &with) == 0)
        CHECK(with.has_cursor && with.cursor_x == 50 && with.cursor_y == 50,
                "region cursorPosition %d,%d", with.cursor_x, with.cursor_y);
    shot_free(&with);
}

static void test_bad_input(void) {
    static const struct {
        const char *path, *needle;
    } bad[] = {
            {"/computeruse/screenshot/region?x=0&y=0&width=0&height=10", "width"},
            {"/computeruse/screenshot/region?y=0&width=10&height=10", "x is required"},
            {"/computeruse/screenshot/region?X=0&y=0&width=10&height=10", "x is required"},
            {"/computeruse/screenshot/compressed?quality=101", "quality"},
            {"/computeruse/screenshot/compressed?scale=1.5", "scale"},
            {"/computeruse/screenshot/compressed?format=gif", "format"},
            {"/computeruse/screenshot?showCursor=yes", "showCursor"},
            /* Not UTF-8: still the 400 that names the parameter, with the byte replaced. */
            {"/computeruse/screenshot/compressed?format=%FF", "format must be png"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct shot s;
        shot_try(base, bad[i].path, &s);
        CHECK(s.status == 400 && strstr(s.error, bad[i].needle), "%s: %ld \"%s\"", bad[i].path,
                s.status, s.error);
        shot_free(&s);
    }
    char url[256];
    struct http_resp r;
    snprintf(url, sizeof url, "%s/computeruse/nothing", base);
    http_get(url, &r);
    CHECK_INT(r.status, 404);
    http_resp_free(&r);
    snprintf(url, sizeof url, "%s/computeruse/screenshot", base);
    http_request("POST", url, "{}", NULL, &r);
    CHECK_INT(r.status, 405);
    http_resp_free(&r);
}

static void test_display_info(void) {
    char url[256];
    struct http_resp r;
    snprintf(url, sizeof url, "%s/computeruse/display/info", base);
    http_get(url, &r);
    CHECK_INT(r.status, 200);
    json_t *root = http_json(&r);
    json_t *d0 = json_array_get(json_object_get(root, "displays"), 0);
    json_t *p = json_object_get(root, "primary_display");
    CHECK_INT(json_integer_value(json_object_get(root, "total_displays")), 1);
    CHECK_INT(json_array_size(json_object_get(root, "displays")), 1);
    CHECK(json_equal(d0, p), "primary_display is displays[0]");
    CHECK_INT(json_integer_value(json_object_get(p, "id")), 0);
    CHECK_INT(json_integer_value(json_object_get(p, "x")), 0);
    CHECK_INT(json_integer_value(json_object_get(p, "width")), W);
    CHECK_INT(json_integer_value(json_object_get(p, "height")), H);
    CHECK(json_is_true(json_object_get(p, "isActive")), "isActive");
    json_decref(root);
    http_resp_free(&r);
}

int main(void) {
    check_timeout(120);
    check_require_tool("Xvfb");
    struct xserver xs;
    if (xserver_start_xvfb(&xs, W, H) < 0)
        return 1;
    Display *dpy = XOpenDisplay(xs.name);
    CHECK(dpy, "open %s", xs.name);
    if (!dpy)
        return check_finish();
    pattern_paint(dpy, 0);

    struct deskd_proc d;
    if (deskd_start(&d, xs.name, NULL) < 0) {
        xserver_stop(&xs);
        return 1;
    }
    base = d.url;
    test_full_and_region(dpy);
    test_compressed();
    test_binary();
    test_cursor(dpy);
    test_bad_input();
    test_display_info();
    CHECK(deskd_alive(&d), "deskd is still running");
    CHECK_INT(deskd_stop(&d), 0);
    if (check_failed)
        deskd_dump_log(&d);
    XCloseDisplay(dpy);
    xserver_stop(&xs);
    return check_finish();
}
