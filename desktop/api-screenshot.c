/*
 * api-screenshot: the four screenshot routes: parse, have a capture slot
 * (shots.c) grab and encode, reply. The JSON form is written by hand: the
 * base64 is most of the body and goes straight into the response buffer, with
 * no JSON library copy of it.
 *
 * Not here: X calls, slots and their connections (shots.c, capture/).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deskd.h"
#include "log.h"
#include "params.h"
#include "shots.h"
#include "space.h"
#include "util.h"

static const char *arg_get(const void *ctx, const char *key) {
    return req_arg(ctx, key);
}

struct shot_result {
    uint64_t frame;
    bool scaled; /* scale or fit was asked for: the answer carries its space */
    const uint8_t *data;
    size_t len;
    int width, height;   /* of the image */
    int rx, ry, rw, rh;  /* the captured screen rectangle */
    bool has_cursor_pos; /* compressed routes report it only with showCursor */
    int cursor_x, cursor_y;
};

static void reply_shot(struct req *r, const struct shot_req *sr, const struct shot_result *res) {
    char cx[16], cy[16], w[16], h[16], region[64];
    snprintf(w, sizeof w, "%d", res->width);
    snprintf(h, sizeof h, "%d", res->height);
    snprintf(cx, sizeof cx, "%d", res->cursor_x);
    snprintf(cy, sizeof cy, "%d", res->cursor_y);
    snprintf(region, sizeof region, "%d,%d,%d,%d", res->rx, res->ry, res->rw, res->rh);
    char frame[24];
    snprintf(frame, sizeof frame, "%llu", (unsigned long long)res->frame);

    if (sr->binary) {
        /* The cursor headers come last so that a NULL in their place ends the list. */
        const char *headers[] = {"X-Desk-Frame", frame, "X-Desk-Width", w, "X-Desk-Height", h,
                "X-Desk-Region", region, res->has_cursor_pos ? "X-Desk-Cursor-X" : NULL, cx,
                "X-Desk-Cursor-Y", cy, NULL};
        reply_bytes(r, 200, img_format_mime(sr->format), res->data, res->len, headers);
        return;
    }

    char cursor[96] = "";
    if (res->has_cursor_pos)
        snprintf(cursor, sizeof cursor, "\"cursorPosition\":{\"x\":%d,\"y\":%d},", res->cursor_x,
                res->cursor_y);
    char space[64] = "";
    if (res->scaled)
        snprintf(space, sizeof space, "\"space\":{\"width\":%d,\"height\":%d},", res->width,
                res->height);
    char tail[512];
    int tn = snprintf(tail, sizeof tail,
            "\",%s\"sizeBytes\":%zu,\"width\":%d,\"height\":%d,\"format\":\"%s\","
            "\"region\":{\"x\":%d,\"y\":%d,\"width\":%d,\"height\":%d},%s\"frameId\":%s,"
            "\"size_bytes\":%zu}",
            cursor, res->len, res->width, res->height, img_format_name(sr->format), res->rx,
            res->ry, res->rw, res->rh, space, frame, res->len);
    static const char head[] = "{\"screenshot\":\"";
    size_t cap = sizeof head + util_base64_len(res->len) + (size_t)tn + 1;
    char *body = malloc(cap);
    if (!body) {
        reply_error(r, ERR_INTERNAL, "out of memory for a %zu-byte screenshot", res->len);
        return;
    }
    size_t n = sizeof head - 1;
    memcpy(body, head, n);
    n += util_base64_encode(res->data, res->len, body + n);
    memcpy(body + n, tail, (size_t)tn);
    n += (size_t)tn;
    reply_json_text(r, 200, body, n);
}

void reply_no_display(struct req *r, const char *err) {
    reply_error(r, ERR_DISPLAY_UNAVAILABLE, "%s; the desktop is not running", err);
}

struct shot_ctx {
    struct req *r;
    const struct shot_req *sr;
};

/* Called with the slot held: the image bytes are the slot's until this returns. */
static void shot_done(const struct shot_image *img, void *arg) {
    struct shot_ctx *c = arg;
    const struct shot_req *sr = c->sr;
    if (img->unchanged) {
        char frame[24];
        snprintf(frame, sizeof frame, "%llu", (unsigned long long)img->frame);
        const char *headers[] = {"X-Desk-Frame", frame, NULL};
        reply_bytes(c->r, 304, NULL, NULL, 0, headers);
        return;
    }
    struct shot_result res = {.frame = img->frame,
            .scaled = sr->has_scale || !space_fit_empty(&sr->fit),
            .data = img->data,
            .len = img->len,
            .width = img->width,
            .height = img->height,
            .rx = img->rx,
            .ry = img->ry,
            .rw = img->rw,
            .rh = img->rh};
    if (!sr->compressed) {
        /* The full and region routes always carry the pointer's position, in screen
         * coordinates, with or without showCursor. */
        res.has_cursor_pos = true;
        res.cursor_x = img->cursor_x;
        res.cursor_y = img->cursor_y;
    } else if (sr->cursor) {
        /* In the returned image's space (§10), the mapping the pointer routes read back. */
        struct space sp = {img->width, img->height, {img->rx, img->ry, img->rw, img->rh}};
        res.has_cursor_pos = true;
        space_from_screen(&sp, img->cursor_x, img->cursor_y, &res.cursor_x, &res.cursor_y);
    }
    reply_shot(c->r, sr, &res);
}

static void screenshot(struct req *r, bool region, bool compressed) {
    struct shot_req sr;
    char err[256];
    if (shot_parse(&sr, region, compressed, arg_get, r, req_header(r, "Accept"), err, sizeof err) <
            0) {
        reply_error(r, ERR_INVALID_PARAMETER, "%s", err);
        return;
    }
    struct shot_spec spec = {.whole = !region,
            .x = sr.x,
            .y = sr.y,
            .width = sr.width,
            .height = sr.height,
            .cursor = sr.cursor,
            .scale = compressed ? sr.scale : 1.0,
            .fit = sr.fit,
            .format = sr.format,
            .quality = sr.quality,
            .if_changed = sr.if_changed,
            .since = sr.since};
    struct shot_ctx ctx = {r, &sr};
    const char *stage = "capture";
    int rc = shots_take(req_deskd(r)->shots, &spec, shot_done, &ctx, &stage, err, sizeof err);
    if (rc == -EINVAL) {
        reply_error(r, ERR_INVALID_PARAMETER, "%s", err);
    } else if (rc == -EBUSY) {
        r->retry_after_s = 1;
        reply_error(r, ERR_BUSY, "%s; retry later", err);
    } else if (rc == -ENXIO)
        reply_no_display(r, err);
    else if (rc == -EPIPE)
        reply_no_display(r, "the X display went away during the capture");
    else if (rc < 0 && strcmp(stage, "encode") == 0)
        reply_error(r, ERR_ENCODE_FAILED, "encoding the %s image failed: %s",
                img_format_name(sr.format), strerror(-rc));
    else if (rc < 0)
        reply_error(r, ERR_CAPTURE_FAILED, "the screen capture failed: %s", strerror(-rc));
}

static void api_screenshot(struct req *r) {
    screenshot(r, false, false);
}

static void api_screenshot_region(struct req *r) {
    screenshot(r, true, false);
}

static void api_screenshot_compressed(struct req *r) {
    screenshot(r, false, true);
}

static void api_screenshot_region_compressed(struct req *r) {
    screenshot(r, true, true);
}

const struct route api_screenshot_routes[] = {
        {"GET", "/computeruse/screenshot", api_screenshot, 0},
        {"GET", "/computeruse/screenshot/region", api_screenshot_region, 0},
        {"GET", "/computeruse/screenshot/compressed", api_screenshot_compressed, 0},
        {"GET", "/computeruse/screenshot/region/compressed", api_screenshot_region_compressed, 0},
        {NULL, NULL, NULL, 0},
};
