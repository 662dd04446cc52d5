/*
 * api-actions: POST /computeruse/actions (API.md §9): many input actions in
 * one request, validated in full before any is sent, run in order as one
 * job of the input worker (so no other request's input comes between them),
 * stopped at the first failure with everything the batch pressed released,
 * then optionally a wait until the screen is still (observe.settle, §8, on
 * damage events: damage_wait) and a screenshot (any size of §10's fit).
 *
 * Not here: one action's fields and how it runs (acts.c), X calls (input/).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acts.h"
#include "deskd.h"
#include "params.h"
#include "util.h"

#define BATCH_MAX 1000
/* The longest one batch may take by its actions' worst cases, as one type request may. */
#define BATCH_TIME_MAX_MS (10L * 60 * 1000)

struct batch {
    struct act *acts;
    int n;
    int done; /* out: the actions that succeeded */
};

/* On the worker: every action in order; at the first failure, what the batch holds is let go. */
static int batch_job(struct input *in, void *arg) {
    struct batch *b = arg;
    struct input_sticky before;
    input_sticky_get(in, &before);
    int rc = 0;
    input_run_begin(in);
    for (b->done = 0; b->done < b->n; b->done++)
        if ((rc = act_run(in, &b->acts[b->done], true)) < 0)
            break;
    /*
     * The run's closing round trip comes back behind every pointer answer
     * asked for action by action: one wait for them all, not a wake-up per
     * answer while the server still works through the batch.
     */
    int end = input_run_end(in);
    for (int i = 0; i < b->n; i++) {
        int r = act_answer_later(in, &b->acts[i]);
        if (r < 0 && rc == 0) {
            rc = r;
            b->done = i; /* the display went away: the answers from here on are not known */
        }
    }
    rc = rc < 0 ? rc : end;
    if (rc < 0) {
        /* Single actions release what they press on every path; a keyDown or buttonDown
         * earlier in this batch is the batch's to release. */
        input_release_sticky(in, &before);
    }
    return rc;
}

/* observe.settle (a §8 stable wait) and observe.screenshot: the compressed route's (§3, §10). */
struct observe {
    bool settle;
    struct damage_wait_spec wait;
    bool shot;
    struct shot_spec spec;
};

#define BAD(...)                                                                                   \
    do {                                                                                           \
        snprintf(err, errlen, __VA_ARGS__);                                                        \
        return -EINVAL;                                                                            \
    } while (0)

static int parse_observe(json_t *body, struct observe *o, char *err, size_t errlen) {
    memset(o, 0, sizeof *o);
    json_t *ob = json_object_get(body, "observe");
    if (!ob || json_is_null(ob))
        return 0;
    if (!json_is_object(ob))
        BAD("observe must be an object {\"settle\"?, \"screenshot\"?}");
    char e[200];
    json_t *settle = json_object_get(ob, "settle");
    if (settle && !json_is_null(settle)) {
        if (!json_is_object(settle))
            BAD("observe.settle must be an object {\"stableMs\"?, \"timeoutMs\"?}");
        o->settle = true;
        o->wait = (struct damage_wait_spec){
                .until = DAMAGE_UNTIL_STABLE, .stable_ms = 300, .timeout_ms = 5000};
        if (body_int(settle, "stableMs", false, DAMAGE_STABLE_MIN_MS, DAMAGE_STABLE_MAX_MS,
                    &o->wait.stable_ms, e, sizeof e) < 0 ||
                body_int(settle, "timeoutMs", false, DAMAGE_TIMEOUT_MIN_MS, DAMAGE_TIMEOUT_MAX_MS,
                        &o->wait.timeout_ms, e, sizeof e) < 0)
            BAD("observe.settle.%s", e);
    }
    json_t *sh = json_object_get(ob, "screenshot");
    if (!sh || json_is_null(sh))
        return 0;
    if (!json_is_object(sh))
        BAD("observe.screenshot must be an object {\"format\"?, \"quality\"?, \"scale\"?, "
            "\"showCursor\"?}");
    o->shot = true;
    o->spec = (struct shot_spec){.whole = true, .scale = 1.0, .format = IMG_PNG, .quality = 85};
    const char *fmt = NULL, *fit = NULL;
    double scale = 1.0;
    int edge = 0, pixels = 0, has_scale = 0;
    if (body_string(sh, "fit", false, &fit, NULL, e, sizeof e) < 0 ||
            body_int(sh, "maxLongEdge", false, 1, SPACE_MAX_SIDE, &edge, e, sizeof e) < 0 ||
            body_int(sh, "maxPixels", false, 1, (long)SPACE_MAX_SIDE * SPACE_MAX_SIDE, &pixels, e,
                    sizeof e) < 0 ||
            (has_scale = body_number(sh, "scale", false, 0.1, 1.0, &scale, e, sizeof e)) < 0 ||
            body_string(sh, "format", false, &fmt, NULL, e, sizeof e) < 0 ||
            body_int(sh, "quality", false, 1, 100, &o->spec.quality, e, sizeof e) < 0 ||
            body_bool(sh, "showCursor", &o->spec.cursor, e, sizeof e) < 0)
        BAD("observe.screenshot.%s", e);
    if (fit && space_fit_named(fit, &o->spec.fit) < 0)
        BAD("observe.screenshot.fit must be xga, wxga or fwxga, got \"%.64s\"", fit);
    o->spec.fit.max_long_edge = edge;
    o->spec.fit.max_pixels = pixels;
    if (has_scale && !space_fit_empty(&o->spec.fit))
        BAD("observe.screenshot.scale cannot be combined with fit, maxLongEdge or maxPixels: "
            "give one of them");
    int f = fmt ? desk_wire_format_parse(fmt) : IMG_PNG;
    if (f < 0)
        BAD("observe.screenshot.format must be png, jpeg (or jpg) or webp, got \"%.64s\"", fmt);
    o->spec.format = (enum img_format)f;
    o->spec.scale = scale;
    return 0;
}

/* Parses every action; on failure err names actions[N] and the member. */
static int parse_actions(json_t *body, struct batch *b, char *err, size_t errlen) {
    json_t *list = json_object_get(body, "actions");
    if (!json_is_array(list) || json_array_size(list) > BATCH_MAX)
        BAD("actions must be a list of at most %d actions {\"type\", ...}", BATCH_MAX);
    struct space dflt;
    char e[512];
    int sp = space_parse_json(body, 0, 0, &dflt, e, sizeof e);
    if (sp < 0)
        BAD("%s", e);
    b->n = (int)json_array_size(list);
    b->acts = calloc((size_t)b->n + 1, sizeof *b->acts);
    if (!b->acts)
        BAD("out of memory for %d actions", b->n);
    long cost = 0;
    for (int i = 0; i < b->n; i++) {
        json_t *obj = json_array_get(list, (size_t)i);
        const char *type = NULL, *field = "";
        enum act_kind kind;
        if (!json_is_object(obj))
            BAD("actions[%d] must be an object {\"type\", ...}", i);
        if (body_string(obj, "type", true, &type, NULL, e, sizeof e) < 0)
            BAD("actions[%d].%s", i, e);
        if (act_kind_of(type, &kind) < 0)
            BAD("actions[%d].type must be move, click, drag, scroll, type, key, hotkey, keyDown, "
                "keyUp, buttonDown, buttonUp, releaseAll or wait, got \"%.64s\"",
                    i, type);
        if (act_parse(obj, kind, &dflt, sp > 0, &b->acts[i], &field, e, sizeof e) < 0) {
            size_t fl = strlen(field);
            if (fl && strncmp(e, field, fl) == 0 && strchr(" .[", e[fl]))
                BAD("actions[%d].%s", i, e);
            BAD("actions[%d].%s: %s", i, field, e);
        }
        cost += act_cost_ms(&b->acts[i]);
    }
    if (cost > BATCH_TIME_MAX_MS)
        BAD("the actions could take up to %ld s (their delays, holds, waits and drags), more "
            "than the limit of %ld s for one request; split them",
                cost / 1000, BATCH_TIME_MAX_MS / 1000);
    return 0;
}

static void batch_free(struct batch *b) {
    for (int i = 0; b->acts && i < b->n; i++)
        act_free(&b->acts[i]);
    free(b->acts);
}

static json_t *results_json(const struct batch *b) {
    json_t *list = json_array();
    for (int i = 0; i < b->done; i++)
        json_array_append_new(list, act_answer(&b->acts[i]));
    return list;
}

struct shot_out {
    json_t *json;
    bool cursor;
    enum img_format format;
};

/* With the capture slot held: the compressed route's JSON for the image. */
static void shot_done(const struct shot_image *img, void *arg) {
    struct shot_out *o = arg;
    size_t cap = util_base64_len(img->len) + 1;
    char *b64 = malloc(cap);
    if (!b64)
        return;
    size_t n = util_base64_encode(img->data, img->len, b64);
    o->json = json_pack("{s:s%, s:i, s:i, s:s, s:I, s:I, s:{s:i, s:i, s:i, s:i}, s:{s:i, s:i}}",
            "screenshot", b64, n, "width", img->width, "height", img->height, "format",
            img_format_name(o->format), "sizeBytes", (json_int_t)img->len, "size_bytes",
            (json_int_t)img->len, "region", "x", img->rx, "y", img->ry, "width", img->rw, "height",
            img->rh, "space", "width", img->width, "height", img->height);
    free(b64);
    if (o->json)
        json_object_set_new(o->json, "frameId", json_integer((json_int_t)img->frame));
    if (o->json && o->cursor) {
        struct space sp = {img->width, img->height, {img->rx, img->ry, img->rw, img->rh}};
        int cx, cy;
        space_from_screen(&sp, img->cursor_x, img->cursor_y, &cx, &cy);
        json_object_set_new(o->json, "cursorPosition", json_pack("{s:i, s:i}", "x", cx, "y", cy));
    }
}

/*
 * Gives each screen wait of the batch what it needs to run (the damage
 * worker, the request to watch for a hang-up) and refuses a since no frame
 * had yet (ids only grow, so it stays refused). Returns the batch's cost in
 * ms, or -1 after replying 400.
 */
static long prepare_waits(struct req *r, struct batch *b) {
    char err[256];
    struct damage_now at_start = {0};
    bool have_now = false;
    long cost = 0;
    for (int i = 0; i < b->n; i++) {
        struct act *a = &b->acts[i];
        cost += act_cost_ms(a);
        if (!a->screen_wait)
            continue;
        a->damage = req_deskd(r)->damage;
        a->wait.cancelled = req_wait_cancelled;
        a->wait.arg = r;
        if (a->wait.has_since && !have_now &&
                damage_now(req_deskd(r)->damage, &at_start, err, sizeof err) == 0)
            have_now = true;
        if (a->wait.has_since && have_now && a->wait.since > at_start.frame) {
            reply_error(r, ERR_INVALID_PARAMETER,
                    "actions[%d].since must be a frame id deskd gave out (at most %llu), got %llu",
                    i, (unsigned long long)at_start.frame, (unsigned long long)a->wait.since);
            return -1;
        }
    }
    return cost;
}

static void api_actions(struct req *r) {
    char err[768];
    struct batch b = {0};
    struct observe ob;
    if (parse_actions(r->json, &b, err, sizeof err) < 0 ||
            parse_observe(r->json, &ob, err, sizeof err) < 0) {
        batch_free(&b);
        reply_error(r, ERR_INVALID_PARAMETER, "%s", err);
        return;
    }
    long cost = prepare_waits(r, &b);
    if (cost < 0) {
        batch_free(&b);
        return;
    }
    /*
     * The answer's frameId (without observe) is the last frame before the
     * actions: a wait or screenshot since it sees everything they changed,
     * even what was drawn before this answer was sent.
     */
    uint64_t before = 0;
    bool have_before = damage_frame(req_deskd(r)->damage, &before) == 0;
    struct inputw_job job = {.fn = batch_job, .arg = &b, .cost_ms = cost};
    if (!input_job_run(r, &job, "the actions")) {
        batch_free(&b);
        return;
    }
    if (job.rc < 0) {
        /* Every action ran when only the batch's closing round trip failed: the last is named. */
        int failed = b.done < b.n ? b.done : b.n > 0 ? b.n - 1 : 0;
        char what[48];
        snprintf(what, sizeof what, "actions[%d]", failed);
        r->error_extra =
                json_pack("{s:i, s:o}", "failedIndex", failed, "results", results_json(&b));
        reply_input_failure(r, &job, &b.acts[failed], what);
        batch_free(&b);
        return;
    }
    json_t *answer = json_pack("{s:o, s:i}", "results", results_json(&b), "completed", b.done);
    batch_free(&b);
    if (ob.settle) {
        struct damage_wait_result wr;
        ob.wait.cancelled = req_wait_cancelled;
        ob.wait.arg = r;
        if (damage_wait(req_deskd(r)->damage, &ob.wait, &wr, err, sizeof err) < 0) {
            r->error_extra = json_pack("{s:O, s:i}", "results", json_object_get(answer, "results"),
                    "completed", json_integer_value(json_object_get(answer, "completed")));
            json_decref(answer);
            reply_no_display(r, err);
            return;
        }
        json_object_set_new(answer, "frameId", json_integer((json_int_t)wr.frame));
        json_object_set_new(answer, "settle", wait_answer_json(&wr));
    }
    if (ob.shot) {
        struct shot_out out = {NULL, ob.spec.cursor, ob.spec.format};
        const char *stage = "capture";
        int rc =
                shots_take(req_deskd(r)->shots, &ob.spec, shot_done, &out, &stage, err, sizeof err);
        if (rc == 0 && !out.json)
            rc = -ENOMEM;
        if (rc < 0) {
            /* The actions ran: say so beside the error, as a failed action would. */
            r->error_extra = json_pack("{s:O, s:i}", "results", json_object_get(answer, "results"),
                    "completed", json_integer_value(json_object_get(answer, "completed")));
            json_decref(answer);
            if (rc == -EBUSY) {
                r->retry_after_s = 1;
                reply_error(r, ERR_BUSY, "the actions ran; the observing screenshot: %s", err);
            } else if (rc == -ENXIO)
                reply_no_display(r, err);
            else if (rc == -EPIPE)
                reply_no_display(r, "the X display went away during the observing screenshot");
            else
                reply_error(r,
                        strcmp(stage, "encode") == 0 ? ERR_ENCODE_FAILED : ERR_CAPTURE_FAILED,
                        "the actions ran; the observing screenshot's %s failed: %s", stage,
                        strerror(-rc));
            return;
        }
        json_object_set_new(answer, "frameId", json_incref(json_object_get(out.json, "frameId")));
        json_object_set_new(answer, "screenshot", out.json);
    }
    if (!json_object_get(answer, "frameId") && have_before)
        json_object_set_new(answer, "frameId", json_integer((json_int_t)before));
    reply_json(r, 200, answer);
}

const struct route api_actions_routes[] = {
        {"POST", "/computeruse/actions", api_actions, ROUTE_JSON | ROUTE_ACTS},
        {NULL, NULL, NULL, 0},
};
