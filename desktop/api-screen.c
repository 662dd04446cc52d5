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

/* The optional "region" member: a rectangle of positive size, like the region screenshot's. */
static int parse_region(json_t *body, struct space_rect *out, char *err, size_t errlen) {
    json_t *reg = json_object_get(body, "region");
    if (!reg || json_is_null(reg))
        return 0;
    if (!json_is_object(reg)) {
        snprintf(err, errlen, "region must be an object {\"x\",\"y\",\"width\",\"height\"}");
        return -EINVAL;
    }
    char e[200];
    if (body_int(reg, "x", true, -SHOT_MAX_COORD, SHOT_MAX_COORD, &out->x, e, sizeof e) < 0 ||
            body_int(reg, "y", true, -SHOT_MAX_COORD, SHOT_MAX_COORD, &out->y, e, sizeof e) < 0 ||
            body_int(reg, "width", true, 1, SHOT_MAX_SIDE, &out->width, e, sizeof e) < 0 ||
            body_int(reg, "height", true, 1, SHOT_MAX_SIDE, &out->height, e, sizeof e) < 0) {
        snprintf(err, errlen, "region.%s", e);
        return -EINVAL;
    }
    return 1;
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
    struct damage_wait_spec spec = {.stable_ms = 300, .timeout_ms = 5000};
    const char *until;
    struct space_rect region;
    int has_region;
    if (body_string(r->json, "until", true, &until, NULL, err, sizeof err) < 0 ||
            body_int(r->json, "stableMs", false, DAMAGE_STABLE_MIN_MS, DAMAGE_STABLE_MAX_MS,
                    &spec.stable_ms, err, sizeof err) < 0 ||
            body_int(r->json, "timeoutMs", false, DAMAGE_TIMEOUT_MIN_MS, DAMAGE_TIMEOUT_MAX_MS,
                    &spec.timeout_ms, err, sizeof err) < 0 ||
            (has_region = parse_region(r->json, &region, err, sizeof err)) < 0) {
        reply_error(r, ERR_INVALID_PARAMETER, "%s", err);
        return;
    }
    if (strcmp(until, "stable") == 0) {
        spec.until = DAMAGE_UNTIL_STABLE;
    } else if (strcmp(until, "changed") == 0) {
        spec.until = DAMAGE_UNTIL_CHANGED;
    } else {
        reply_error(r, ERR_INVALID_PARAMETER,
                "until must be \"stable\" or \"changed\", got \"%.64s\"", until);
        return;
    }
    json_t *since = json_object_get(r->json, "since");
    if (since && !json_is_null(since)) {
        if (!json_is_integer(since) || json_integer_value(since) < 0) {
            reply_error(r, ERR_INVALID_PARAMETER,
                    "since must be a frame id (an integer from 0 to 2^63-1)");
            return;
        }
        spec.has_since = true;
        spec.since = (uint64_t)json_integer_value(since);
    }
    spec.region = has_region ? &region : NULL;
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
    reply_json(r, 200,
            json_pack("{s:I, s:b, s:b, s:b, s:I, s:o}", "frameId", (json_int_t)res.frame, "changed",
                    res.changed, "stable", res.stable, "timedOut", res.timed_out, "waitedMs",
                    (json_int_t)res.waited_ms, "regions", rects_json(&res.changes)));
}

const struct route api_screen_routes[] = {
        {"GET", "/computeruse/screen/changes", api_screen_changes, 0},
        {"POST", "/computeruse/wait", api_wait, ROUTE_JSON},
        {NULL, NULL, NULL, 0},
};
