/*
 * api-screen: what changed on the screen and waiting for it (API.md §7, §8):
 * GET /computeruse/screen/changes and POST /computeruse/wait. Parses, asks
 * damage.c, answers.
 *
 * Not here: X, frames and the waiting itself (damage.c).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "bodies.h"
#include "deskd.h"
#include "params.h"

static json_t *rects_json(const struct damage_changes *c) {
    json_t *list = json_array();
    for (int i = 0; i < c->n; i++)
        json_array_append_new(
                list, json_pack("{s:i, s:i, s:i, s:i}", "x", c->rects[i].x, "y", c->rects[i].y,
                              "width", c->rects[i].width, "height", c->rects[i].height));
    return list;
}

static void api_screen_changes(struct req *r) {
    struct damage *dmg = req_deskd(r)->damage;
    const char *v = req_arg(r, "since");
    uint64_t since;
    if (!v) {
        reply_error(r, ERR_INVALID_PARAMETER,
                "since is required: a frame id from an earlier answer (frameId)");
        return;
    }
    if (param_frame(v, &since) < 0) {
        reply_error(r, ERR_INVALID_PARAMETER,
                "since must be a frame id (an integer from 0 to 2^63-1), got \"%.64s\"", v);
        return;
    }
    char err[256];
    struct damage_now now;
    if (damage_now(dmg, &now, err, sizeof err) < 0) {
        reply_no_display(r, err);
        return;
    }
    struct damage_changes c;
    int rc = damage_changes(dmg, since, NULL, false, &c);
    if (rc == -EINVAL) {
        reply_error(r, ERR_INVALID_PARAMETER,
                "since must be a frame id this server gave out (at most %llu), got %llu",
                (unsigned long long)now.frame, (unsigned long long)since);
        return;
    }
    if (rc < 0) {
        reply_no_display(r, "the X display is not available");
        return;
    }
    reply_json(r, 200,
            json_pack("{s:I, s:b, s:o, s:b}", "frameId", (json_int_t)c.frame, "changed", c.changed,
                    "regions", rects_json(&c), "complete", c.complete));
}

bool req_wait_cancelled(void *req) {
    struct req *r = req;
    return req_deskd(r)->stopping || req_client_gone(r);
}

json_t *wait_answer_json(const struct damage_wait_result *res) {
    return json_pack("{s:I, s:b, s:b, s:b, s:I, s:o}", "frameId", (json_int_t)res->frame, "changed",
            res->changed, "stable", res->stable, "timedOut", res->timed_out, "waitedMs",
            (json_int_t)res->waited_ms, "regions", rects_json(&res->changes));
}

static void api_wait(struct req *r) {
    char err[256];
    struct damage_wait_spec spec;
    struct space_rect region;
    if (wait_body_parse(r->json, &spec, &region, err, sizeof err) < 0) {
        reply_error(r, ERR_INVALID_PARAMETER, "%s", err);
        return;
    }
    spec.cancelled = req_wait_cancelled;
    spec.arg = r;
    struct damage_wait_result res;
    int rc = damage_wait(req_deskd(r)->damage, &spec, &res, err, sizeof err);
    if (rc == -EINVAL) {
        reply_error(r, ERR_INVALID_PARAMETER, "%s", err);
        return;
    }
    if (rc < 0) {
        reply_no_display(r, err);
        return;
    }
    if (res.cancelled) {
        /* Cut short: neither changed nor stable nor timed out would be true. */
        reply_error(r, ERR_CANCELLED, "the wait stopped after %lld ms: deskd is stopping",
                (long long)res.waited_ms);
        return;
    }
    reply_json(r, 200, wait_answer_json(&res));
}

const struct route api_screen_routes[] = {
        {"GET", "/computeruse/screen/changes", api_screen_changes, 0},
        {"POST", "/computeruse/wait", api_wait, ROUTE_JSON},
        {NULL, NULL, NULL, 0},
};
