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
#include "bodies.h"
#include "deskd.h"
#include "util.h"

/* On the worker: every action in order; at the first failure, what the batch holds is let go. */
static int batch_job(struct input *in, void *arg) {
    struct batch *b = arg;
    struct input_sticky before;
    input_sticky_get(in, &before);
    int rc = 0;
    input_run_begin(in);
    /* Between actions: a client that hung up, or a person who took control, stops the rest. */
    for (b->done = 0; b->done < b->n; b->done++)
        if ((rc = input_check_cancel(in)) < 0 || (rc = act_run(in, &b->acts[b->done], true)) < 0)
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
    if (batch_parse(r->json, &b, err, sizeof err) < 0 ||
            observe_parse(r->json, &ob, err, sizeof err) < 0) {
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
    /* Waits and pointer reads send no input: such a batch runs while a person holds control. */
    bool reads_only = true;
    for (int i = 0; i < b.n && reads_only; i++)
        reads_only = b.acts[i].kind == ACT_WAIT || b.acts[i].kind == ACT_POINTER;
    struct inputw_job job = {.fn = batch_job, .arg = &b, .cost_ms = cost, .reads_only = reads_only};
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
