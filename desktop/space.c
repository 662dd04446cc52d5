/*
 * space: the screenshot-pixel <-> screen-pixel mapping of API.md §10 and the
 * sizes of fitted screenshots. Integral coordinates, the common case, map in
 * exact 64-bit integer arithmetic; only fractional ones go through doubles.
 */
#include "space.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "params.h"

int space_fit_named(const char *name, struct space_fit *fit) {
    static const struct {
        const char *name;
        int w, h;
    } named[] = {{"xga", 1024, 768}, {"wxga", 1280, 800}, {"fwxga", 1366, 768}};
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++) {
        if (strcmp(name, named[i].name) == 0) {
            memset(fit, 0, sizeof *fit);
            fit->max_width = named[i].w;
            fit->max_height = named[i].h;
            return 0;
        }
    }
    return -EINVAL;
}

bool space_fit_empty(const struct space_fit *fit) {
    return fit->max_width <= 0 && fit->max_height <= 0 && fit->max_long_edge <= 0 &&
           fit->max_pixels <= 0;
}

static bool fits(const struct space_fit *fit, int64_t w, int64_t h) {
    int64_t edge = w > h ? w : h;
    return (fit->max_width <= 0 || w <= fit->max_width) &&
           (fit->max_height <= 0 || h <= fit->max_height) &&
           (fit->max_long_edge <= 0 || edge <= fit->max_long_edge) &&
           (fit->max_pixels <= 0 || w * h <= fit->max_pixels);
}

/* The height of an image w wide showing a width x height region, floored, at least 1. */
static int64_t height_for(int64_t w, int width, int height) {
    int64_t h = w * height / width;
    return h < 1 ? 1 : h;
}

static int64_t width_for(int64_t h, int width, int height) {
    int64_t w = h * width / height;
    return w < 1 ? 1 : w;
}

void space_fit_size(const struct space_fit *fit, int width, int height, int *out_w, int *out_h) {
    /*
     * The widest image that fits: every bound is monotonic in the width, so
     * a binary search over the width finds it exactly, with no rounding in
     * the comparisons. When the region is taller than wide, search over the
     * height instead, so that the long side is the one chosen exactly.
     */
    bool by_width = width >= height;
    int64_t lo = 1, hi = by_width ? width : height;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo + 1) / 2;
        int64_t w = by_width ? mid : width_for(mid, width, height);
        int64_t h = by_width ? height_for(mid, width, height) : mid;
        if (fits(fit, w, h))
            lo = mid;
        else
            hi = mid - 1;
    }
    *out_w = (int)(by_width ? lo : width_for(lo, width, height));
    *out_h = (int)(by_width ? height_for(lo, width, height) : lo);
}

static int64_t floor_div(int64_t a, int64_t b) {
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int clamp_int(int64_t v) {
    return v < INT32_MIN ? INT32_MIN : v > INT32_MAX ? INT32_MAX : (int)v;
}

/* One axis of §10: origin + floor((v + 0.5) * extent / size). */
static int axis_to_screen(double v, int origin, int extent, int size) {
    if (v == floor(v) && fabs(v) < 1e15) {
        /* (2v + 1) * extent / (2 * size), exactly. */
        int64_t n = (2 * (int64_t)v + 1) * extent;
        return clamp_int(origin + floor_div(n, 2 * (int64_t)size));
    }
    return clamp_int(origin + (int64_t)floor((v + 0.5) * extent / size));
}

void space_to_screen(const struct space *s, double x, double y, int *sx, int *sy) {
    *sx = axis_to_screen(x, s->region.x, s->region.width, s->width);
    *sy = axis_to_screen(y, s->region.y, s->region.height, s->height);
}

static int axis_from_screen(int v, int origin, int extent, int size) {
    int64_t n = (2 * ((int64_t)v - origin) + 1) * size;
    return clamp_int(floor_div(n, 2 * (int64_t)extent));
}

void space_from_screen(const struct space *s, int sx, int sy, int *x, int *y) {
    *x = axis_from_screen(sx, s->region.x, s->region.width, s->width);
    *y = axis_from_screen(sy, s->region.y, s->region.height, s->height);
}

int space_parse_json(
        json_t *body, int screen_w, int screen_h, struct space *out, char *err, size_t errlen) {
    *out = (struct space){screen_w, screen_h, {0, 0, screen_w, screen_h}};
    json_t *sp = json_object_get(body, "space");
    json_t *rg = json_object_get(body, "region");
    if (!sp || json_is_null(sp)) {
        if (rg && !json_is_null(rg)) {
            snprintf(err, errlen,
                    "region needs space: give \"space\": {\"width\", \"height\"}, "
                    "the size of the image the coordinates are in");
            return -EINVAL;
        }
        return 0;
    }
    if (!json_is_object(sp)) {
        snprintf(err, errlen, "space must be an object {\"width\", \"height\"}");
        return -EINVAL;
    }
    char e[200];
    if (body_int(sp, "width", true, 1, SPACE_MAX_SIDE, &out->width, e, sizeof e) < 0 ||
            body_int(sp, "height", true, 1, SPACE_MAX_SIDE, &out->height, e, sizeof e) < 0) {
        snprintf(err, errlen, "space.%s", e);
        return -EINVAL;
    }
    if (rg && !json_is_null(rg)) {
        if (!json_is_object(rg)) {
            snprintf(err, errlen, "region must be an object {\"x\", \"y\", \"width\", \"height\"}");
            return -EINVAL;
        }
        struct space_rect *r = &out->region;
        if (body_int(rg, "x", true, -SHOT_MAX_COORD, SHOT_MAX_COORD, &r->x, e, sizeof e) < 0 ||
                body_int(rg, "y", true, -SHOT_MAX_COORD, SHOT_MAX_COORD, &r->y, e, sizeof e) < 0 ||
                body_int(rg, "width", true, 1, SHOT_MAX_SIDE, &r->width, e, sizeof e) < 0 ||
                body_int(rg, "height", true, 1, SHOT_MAX_SIDE, &r->height, e, sizeof e) < 0) {
            snprintf(err, errlen, "region.%s", e);
            return -EINVAL;
        }
    }
    return 1;
}
