/*
 * api-screenshot: the four screenshot routes. A request takes a capture slot
 * (an SHM segment and an encoder, both kept between requests), grabs under the
 * capture connection's lock, then encodes outside it so that two screenshots
 * encode in parallel and the lock is held only for the grab itself.
 * The JSON form is written by hand: the base64 is most of the body and goes
 * straight into the response buffer, with no JSON library copy of it.
 */
#include <X11/Xlib.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "deskd.h"
#include "log.h"
#include "params.h"
#include "util.h"

#define SLOTS 2

struct slot {
    struct capture *cap; /* belongs to the X connection */
    struct encoder *enc; /* X-independent, lives as long as deskd */
    bool busy;
};

static struct slot slots[SLOTS];

int shots_open(Display *dpy, void *data) {
    (void)data;
    for (int i = 0; i < SLOTS; i++) {
        if (!slots[i].enc && !(slots[i].enc = encoder_new()))
            goto error;
        if (!(slots[i].cap = capture_new(dpy)))
            goto error;
    }
    log_msg(LOG_INFO, "capture through %s",
            capture_uses_shm(slots[0].cap) ? "MIT-SHM" : "XGetImage");
    return 0;
error:
    shots_close(dpy, NULL);
    return -ENOMEM;
}

void shots_close(Display *dpy, void *data) {
    (void)dpy;
    (void)data;
    for (int i = 0; i < SLOTS; i++) {
        capture_destroy(slots[i].cap);
        slots[i].cap = NULL;
    }
}

void shots_finish(void) {
    for (int i = 0; i < SLOTS; i++) {
        encoder_destroy(slots[i].enc);
        slots[i].enc = NULL;
    }
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

static void screenshot(struct req *r, bool region, bool compressed) {
    struct shot_req sr;
    char err[256];
    if (shot_parse(&sr, region, compressed, arg_get, r, req_header(r, "Accept"), err, sizeof err) <
            0) {
        reply_error(r, ERR_INVALID_PARAMETER, "%s", err);
        return;
    }

    struct xconn *xc = req_deskd(r)->xcap;
    struct slot *slot = NULL;
    Display *dpy;
    for (;;) {
        if (!(dpy = xconn_lock(xc, err, sizeof err))) {
            reply_no_display(r, err);
            return;
        }
        for (int i = 0; i < SLOTS && !slot; i++) {
            if (!slots[i].busy)
                slot = &slots[i];
        }
        if (slot)
            break;
        xconn_wait(xc);
        xconn_unlock(xc);
    }
    slot->busy = true;
    xconn_hold(xc);

    struct shot_result res = {0};
    struct frame f;
    int rc = 0;
    if (region) {
        res.rx = sr.x, res.ry = sr.y, res.rw = sr.width, res.rh = sr.height;
    } else {
        Window root;
        int gx, gy;
        unsigned gw, gh, border, depth;
        if (!XGetGeometry(dpy, DefaultRootWindow(dpy), &root, &gx, &gy, &gw, &gh, &border, &depth))
            rc = -EIO;
        res.rw = (int)gw, res.rh = (int)gh;
    }
    if (rc == 0)
        rc = capture_grab(slot->cap, res.rx, res.ry, res.rw, res.rh, &f);
    int px = res.rx, py = res.ry;
    if (rc == 0 && sr.cursor && capture_draw_cursor(dpy, &f, res.rx, res.ry, &px, &py) < 0) {
        /* No XFixes: the image goes without the cursor, the position is still right. */
        Window root, child;
        int wx, wy;
        unsigned mask;
        if (!XQueryPointer(dpy, DefaultRootWindow(dpy), &root, &child, &px, &py, &wx, &wy, &mask))
            rc = -EIO;
    }
    bool dead = xconn_dead(xc);
    xconn_unlock(xc);

    if (rc < 0) {
        xconn_release(xc, &slot->busy);
        if (dead)
            reply_no_display(r, "the X display went away during the capture");
        else
            reply_error(r, ERR_CAPTURE_FAILED, "the screen capture failed: %s", strerror(-rc));
        return;
    }

    res.width = compressed ? scale_length(f.width, sr.scale) : f.width;
    res.height = compressed ? scale_length(f.height, sr.scale) : f.height;
    rc = encoder_encode(
            slot->enc, &f, res.width, res.height, sr.format, sr.quality, &res.data, &res.len);
    if (rc < 0) {
        xconn_release(xc, &slot->busy);
        reply_error(r, ERR_ENCODE_FAILED, "encoding the %s image failed: %s",
                img_format_name(sr.format), strerror(-rc));
        return;
    }

    if (!compressed) {
        /* Daytona's full and region routes always carry it: the region origin without the cursor.
         */
        res.has_cursor_pos = true;
        res.cursor_x = px;
        res.cursor_y = py;
    } else if (sr.cursor) {
        /* In the returned image's space: relative to the region, then scaled. */
        res.has_cursor_pos = true;
        res.cursor_x = (int)((long)(px - res.rx) * res.width / res.rw);
        res.cursor_y = (int)((long)(py - res.ry) * res.height / res.rh);
    }
    reply_shot(r, &sr, &res);
    xconn_release(xc, &slot->busy);
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
