/* shot (tests): JSON screenshots fetched, shape-checked and decoded; the test pattern. */
#include "shot.h"

#include <X11/Xlib.h>
#include <X11/Xutil.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "http.h"

static int json_int(json_t *o, const char *key, int *out) {
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v))
        return -1;
    *out = (int)json_integer_value(v);
    return 0;
}

int shot_try(const char *base, const char *path_and_query, struct shot *s) {
    memset(s, 0, sizeof *s);
    char url[512];
    snprintf(url, sizeof url, "%s%s", base, path_and_query);
    struct http_resp r;
    http_get(url, &r);
    s->status = r.status;
    json_t *root = http_json(&r);
    int rc = -1;
    if (!root) {
        CHECK(root, "%s: body is not JSON: %.200s", path_and_query, r.body);
        goto out;
    }
    if (r.status != 200) {
        const char *e = json_string_value(json_object_get(root, "error"));
        const char *code = json_string_value(json_object_get(root, "code"));
        CHECK(e && code, "%s: error body has error and code: %.200s", path_and_query, r.body);
        snprintf(s->error, sizeof s->error, "%s", e ? e : "");
        goto out;
    }
    const char *b64 = json_string_value(json_object_get(root, "screenshot"));
    const char *fmt = json_string_value(json_object_get(root, "format"));
    json_t *region = json_object_get(root, "region");
    json_t *cursor = json_object_get(root, "cursorPosition");
    int size1 = -1, size2 = -2;
    bool shape = b64 && fmt && json_is_object(region) && json_int(root, "width", &s->width) == 0 &&
                 json_int(root, "height", &s->height) == 0 &&
                 json_int(root, "sizeBytes", &size1) == 0 &&
                 json_int(root, "size_bytes", &size2) == 0 && json_int(region, "x", &s->rx) == 0 &&
                 json_int(region, "y", &s->ry) == 0 && json_int(region, "width", &s->rw) == 0 &&
                 json_int(region, "height", &s->rh) == 0;
    CHECK(shape, "%s: response has every field: %.300s", path_and_query, r.body);
    if (!shape)
        goto out;
    snprintf(s->format, sizeof s->format, "%s", fmt);
    json_t *frame = json_object_get(root, "frameId");
    s->frame = json_is_integer(frame) ? (unsigned long long)json_integer_value(frame) : 0;
    if (cursor) {
        s->has_cursor = json_int(cursor, "x", &s->cursor_x) == 0 &&
                        json_int(cursor, "y", &s->cursor_y) == 0;
        CHECK(s->has_cursor, "%s: cursorPosition has integer x and y", path_and_query);
    }
    uint8_t *bytes = NULL;
    size_t len = 0;
    if (base64_decode(b64, strlen(b64), &bytes, &len) < 0) {
        CHECK(0, "%s: screenshot is not valid base64", path_and_query);
        goto out;
    }
    CHECK(size1 == (int)len && size2 == (int)len, "%s: sizeBytes %d, size_bytes %d, decoded %zu",
            path_and_query, size1, size2, len);
    if (image_decode(bytes, len, &s->img) < 0) {
        CHECK(0, "%s: the image does not decode", path_and_query);
    } else {
        CHECK_STR(s->img.format, fmt);
        CHECK(s->img.width == s->width && s->img.height == s->height,
                "%s: decoded %dx%d, JSON says %dx%d", path_and_query, s->img.width, s->img.height,
                s->width, s->height);
        rc = 0;
    }
    free(bytes);
out:
    json_decref(root);
    http_resp_free(&r);
    return rc;
}

int shot_get(const char *base, const char *path_and_query, struct shot *s) {
    int rc = shot_try(base, path_and_query, s);
    CHECK(s->status == 200, "%s: status %ld, expected 200: %s", path_and_query, s->status,
            s->error);
    return rc;
}

void shot_free(struct shot *s) {
    image_free(&s->img);
}

/*
 * Smooth enough for lossy codecs, yet every pixel of a 4096-pixel-wide screen
 * has its own colour, so an offset by even one pixel shows.
 */
void pattern_rgb(unsigned seed, int x, int y, unsigned char rgb[3]) {
    rgb[0] = (unsigned char)(x & 255);
    rgb[1] = (unsigned char)(y & 255);
    rgb[2] = (unsigned char)(((x >> 8) << 5) ^ ((y >> 8) << 3) ^ ((x / 64 + y / 64) & 1 ? 4 : 0) ^
                             (seed * 37u));
}

int pattern_paint(Display *dpy, unsigned seed) {
    int scr = DefaultScreen(dpy);
    Window root = RootWindow(dpy, scr);
    int w = DisplayWidth(dpy, scr), h = DisplayHeight(dpy, scr);
    XImage *img = XCreateImage(
            dpy, DefaultVisual(dpy, scr), 24, ZPixmap, 0, NULL, (unsigned)w, (unsigned)h, 32, 0);
    if (!img)
        return -1;
    img->data = malloc((size_t)img->bytes_per_line * (size_t)h);
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            unsigned char c[3];
            pattern_rgb(seed, x, y, c);
            XPutPixel(img, x, y, (unsigned long)c[0] << 16 | (unsigned long)c[1] << 8 | c[2]);
        }
    }
    Pixmap pm = XCreatePixmap(dpy, root, (unsigned)w, (unsigned)h, 24);
    GC gc = XCreateGC(dpy, pm, 0, NULL);
    XPutImage(dpy, pm, gc, img, 0, 0, 0, 0, (unsigned)w, (unsigned)h);
    /* A background pixmap survives exposes: the pattern stays without a client redrawing it. */
    XSetWindowBackgroundPixmap(dpy, root, pm);
    XClearWindow(dpy, root);
    XFreeGC(dpy, gc);
    XFreePixmap(dpy, pm);
    XDestroyImage(img);
    XSync(dpy, False);
    return 0;
}
