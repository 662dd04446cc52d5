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

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static size_t base64_encode(const uint8_t *in, size_t len, char *out) {
    char *o = out;
    size_t i = 0;
    for (; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        o[0] = b64chars[v >> 18];
        o[1] = b64chars[(v >> 12) & 63];
        o[2] = b64chars[(v >> 6) & 63];
        o[3] = b64chars[v & 63];
        o += 4;
    }
    if (i < len) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0);
        o[0] = b64chars[v >> 18];
        o[1] = b64chars[(v >> 12) & 63];
        o[2] = i + 1 < len ? b64chars[(v >> 6) & 63] : '=';
        o[3] = '=';
        o += 4;
    }
    return (size_t)(o - out);
}

static const char *arg_get(const void *ctx, const char *key) {
    return req_arg(ctx, key);
}

struct shot_result {
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

    if (sr->binary) {
        /* The cursor headers come last so that a NULL in their place ends the list. */
        const char *headers[] = {"X-Desk-Width", w, "X-Desk-Height", h, "X-Desk-Region", region,
                res->has_cursor_pos ? "X-Desk-Cursor-X" : NULL, cx, "X-Desk-Cursor-Y", cy, NULL};
        reply_bytes(r, 200, img_format_mime(sr->format), res->data, res->len, headers);
        return;
    }

    char cursor[96] = "";
    if (res->has_cursor_pos)
        snprintf(cursor, sizeof cursor, "\"cursorPosition\":{\"x\":%d,\"y\":%d},", res->cursor_x,
                res->cursor_y);
    char tail[384];
    int tn = snprintf(tail, sizeof tail,
            "\",%s\"sizeBytes\":%zu,\"width\":%d,\"height\":%d,\"format\":\"%s\","
            "\"region\":{\"x\":%d,\"y\":%d,\"width\":%d,\"height\":%d},\"size_bytes\":%zu}",
            cursor, res->len, res->width, res->height, img_format_name(sr->format), res->rx,
            res->ry, res->rw, res->rh, res->len);
    static const char head[] = "{\"screenshot\":\"";
    size_t cap = sizeof head + (res->len + 2) / 3 * 4 + (size_t)tn + 1;
    char *body = malloc(cap);
    if (!body) {
        reply_error(r, 500, "INTERNAL", "out of memory for a %zu-byte screenshot", res->len);
        return;
    }
    size_t n = sizeof head - 1;
    memcpy(body, head, n);
    n += base64_encode(res->data, res->len, body + n);
    memcpy(body + n, tail, (size_t)tn);
    n += (size_t)tn;
    reply_json_text(r, 200, body, n);
}

void reply_no_display(struct req *r, const char *err) {
    reply_error(r, 503, "DISPLAY_UNAVAILABLE", "%s; the desktop is not running", err);
}

struct shot_ctx {
    struct req *r;
    const struct shot_req *sr;
};

/* Called with the slot held: the image bytes are the slot's until this returns. */
static void shot_done(const struct shot_image *img, void *arg) {
    struct shot_ctx *c = arg;
    const struct shot_req *sr = c->sr;
    struct shot_result res = {.data = img->data,
            .len = img->len,
            .width = img->width,
            .height = img->height,
            .rx = img->rx,
            .ry = img->ry,
            .rw = img->rw,
            .rh = img->rh};
    if (!sr->compressed) {
        /* Daytona's full and region routes always carry it: the region origin without the
         * cursor. */
        res.has_cursor_pos = true;
        res.cursor_x = img->cursor_x;
        res.cursor_y = img->cursor_y;
    } else if (sr->cursor) {
        /* In the returned image's space: relative to the region, then scaled. */
        res.has_cursor_pos = true;
        res.cursor_x = (int)((long)(img->cursor_x - img->rx) * img->width / img->rw);
        res.cursor_y = (int)((long)(img->cursor_y - img->ry) * img->height / img->rh);
    }
    reply_shot(c->r, sr, &res);
}

static void screenshot(struct req *r, bool region, bool compressed) {
    struct shot_req sr;
    char err[256];
    if (shot_parse(&sr, region, compressed, arg_get, r, req_header(r, "Accept"), err, sizeof err) <
            0) {
        reply_error(r, 400, "INVALID_PARAMETER", "%s", err);
        return;
    }
    struct shot_spec spec = {.whole = !region,
            .x = sr.x,
            .y = sr.y,
            .width = sr.width,
            .height = sr.height,
            .cursor = sr.cursor,
            .scale = compressed ? sr.scale : 1.0,
            .format = sr.format,
            .quality = sr.quality};
    struct shot_ctx ctx = {r, &sr};
    const char *stage = "capture";
    int rc = shots_take(deskd.shots, &spec, shot_done, &ctx, &stage, err, sizeof err);
    if (rc == -ENXIO)
        reply_no_display(r, err);
    else if (rc == -EPIPE)
        reply_no_display(r, "the X display went away during the capture");
    else if (rc < 0 && strcmp(stage, "encode") == 0)
        reply_error(r, 500, "ENCODE_FAILED", "encoding the %s image failed: %s",
                img_format_name(sr.format), strerror(-rc));
    else if (rc < 0)
        reply_error(r, 500, "CAPTURE_FAILED", "the screen capture failed: %s", strerror(-rc));
}

void api_screenshot(struct req *r) {
    screenshot(r, false, false);
}

void api_screenshot_region(struct req *r) {
    screenshot(r, true, false);
}

void api_screenshot_compressed(struct req *r) {
    screenshot(r, false, true);
}

void api_screenshot_region_compressed(struct req *r) {
    screenshot(r, true, true);
}
