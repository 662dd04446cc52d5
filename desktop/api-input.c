/*
 * api-input: the mouse and keyboard routes, the down/up routes and what is
 * held (API.md §4, §5, §11). Every request is one action (acts.c), validated
 * in full before anything is sent, so a rejected request presses nothing;
 * then it becomes one job for the input worker (inputw.c), which runs jobs
 * one at a time in arrival order on an X connection of its own, so input
 * never waits behind a screenshot. The worker and input/ release every key
 * and button a job pressed, on every path, except what the down routes hold.
 *
 * Not here: the actions' members (acts.c), X calls (input/), the queue and
 * its bounds (inputw.c).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "acts.h"
#include "bodies.h"
#include "deskd.h"
#include "inputw.h"
#include "params.h"
#include "takeover.h"

/* The worker's side of a job; the connection is locked. */
static int act_job(struct input *in, void *arg) {
    return act_run(in, arg, false);
}

static int held_job(struct input *in, void *arg) {
    return input_query_down(in, arg);
}

static int client_gone(void *arg) {
    return req_client_gone(arg);
}

/*
 * An input job's stop condition: its client hung up, or a person took
 * control. Asked when the job's turn comes (a job queued before the
 * hand-over does not run after it) and between typed characters and hold
 * steps (typing stops at once).
 */
static int gone_or_human(void *arg) {
    return req_client_gone(arg) || control_human();
}

/* After input_job_run's job stopped early: the reply when a person took control meanwhile. */
static bool human_took_over(struct req *r, const struct inputw_job *job, const char *what) {
    return !job->reads_only && control_human() && !input_gate(r, what);
}

void reply_input_failure(
        struct req *r, const struct inputw_job *job, const struct act *a, const char *what) {
    int rc = job->rc;
    if (rc == -ECANCELED && human_took_over(r, job, what))
        return;
    if (job->dead || rc == -EIO)
        reply_no_display(
                r, job->dead ? "the X display went away" : "the X server refused the input");
    else if (rc == -ENXIO)
        reply_no_display(r, "the screen's changes cannot be followed");
    else if (rc == -ENOSPC)
        reply_error(r, ERR_NO_SPARE_KEYCODE,
                "%s needs a character the keyboard map lacks and no spare keycode is free", what);
    else if (rc == -EBUSY)
        reply_error(r, ERR_MODIFIER_HELD,
                "%s refused: another client holds %s down (deskd does not release keys it did not "
                "press); release it and retry",
                what, a && a->held[0] ? a->held : "a modifier");
    else if (rc == -EPROTO)
        reply_error(r, ERR_INPUT_FAILED, "%s failed: the keyboard map could not be read or changed",
                what);
    else if (rc == -ECANCELED)
        reply_error(
                r, ERR_CANCELLED, "%s stopped: the client went away or deskd is stopping", what);
    else
        reply_error(r, ERR_INPUT_FAILED, "%s failed: %s", what, strerror(-rc));
}

bool input_job(struct req *r, int (*fn)(struct input *in, void *arg), void *arg, long cost_ms,
        const char *what, const struct act *a) {
    struct inputw_job job = {.fn = fn,
            .arg = arg,
            .cost_ms = cost_ms,
            .reads_only = fn == held_job || (a && a->kind == ACT_POINTER)};
    if (!input_job_run(r, &job, what))
        return false;
    if (job.rc < 0)
        reply_input_failure(r, &job, a, what);
    return job.rc == 0;
}

bool input_gate(struct req *r, const char *what) {
    if (!control_human())
        return true;
    reply_error(r, ERR_HUMAN_IN_CONTROL,
            "%s refused: a person has taken control of the desktop in the live view; input from "
            "the API resumes once they give it back (GET /computeruse/control)",
            what);
    return false;
}

bool input_job_run(struct req *r, struct inputw_job *job_in, const char *what) {
    /* The one gate of API input while a person holds control: the single routes, the batches,
     * MCP's tools (route calls) and the model tool adapters all send input through here. */
    if (!job_in->reads_only && !input_gate(r, what))
        return false;
    struct inputw_job job = *job_in;
    job.gone = job.reads_only ? client_gone : gone_or_human;
    job.gone_arg = r;
    char err[256] = "";
    long retry = 0;
    int rc = inputw_run(req_deskd(r)->input, &job, &retry, err, sizeof err);
    if (rc == -EBUSY) {
        r->retry_after_s = retry;
        reply_error(r, ERR_INPUT_BUSY,
                "the input queue holds more than %ld s of work; %s would wait too long; retry in "
                "%ld s",
                INPUTW_WAIT_MAX_MS / 1000, what, retry);
    } else if (rc == -ECANCELED && human_took_over(r, &job, what)) {
        /* A person took control while it waited its turn: it never ran. */
    } else if (rc == -ECANCELED) {
        reply_error(r, ERR_CANCELLED, "the client went away while the request waited its turn");
    } else if (rc == -ENXIO) {
        reply_no_display(r, err);
    }
    *job_in = job;
    return rc == 0;
}

json_t *act_answer(const struct act *a) {
    if (a->kind == ACT_WAIT && a->screen_wait)
        return wait_answer_json(&a->waited);
    if (!act_answers_xy(a))
        return json_object();
    json_t *o = json_pack("{s:i, s:i}", "x", a->px, "y", a->py);
    if (a->kind == ACT_DRAG)
        json_object_update_new(o,
                json_pack("{s:{s:i, s:i}, s:{s:i, s:i}, s:i, s:i, s:i, s:i}", "from", "x",
                        a->from[0], "y", a->from[1], "to", "x", a->to[0], "y", a->to[1], "from_x",
                        a->from[0], "from_y", a->from[1], "to_x", a->to[0], "to_y", a->to[1]));
    return o;
}

/* Parses the body as one action of kind, runs it and answers what the route answers. */
static void single(struct req *r, enum act_kind kind, const char *what) {
    char err[512];
    const char *field;
    struct act a;
    if (act_parse(r->json, kind, NULL, false, &a, &field, err, sizeof err) < 0)
        reply_error(r, ERR_INVALID_PARAMETER, "%s", err);
    else if (input_job(r, act_job, &a, act_cost_ms(&a), what, &a)) {
        if (kind == ACT_SCROLL)
            reply_json(r, 200, json_pack("{s:b}", "success", 1)); /* Daytona's answer */
        else
            reply_json(r, 200, act_answer(&a));
    }
    act_free(&a);
}

static void api_mouse_position(struct req *r) {
    single(r, ACT_POINTER, "reading the pointer");
}

static void api_mouse_move(struct req *r) {
    single(r, ACT_MOVE, "the move");
}

static void api_mouse_click(struct req *r) {
    single(r, ACT_CLICK, "the click");
}

static void api_mouse_drag(struct req *r) {
    single(r, ACT_DRAG, "the drag");
}

static void api_mouse_scroll(struct req *r) {
    single(r, ACT_SCROLL, "the scroll");
}

static void api_mouse_down(struct req *r) {
    single(r, ACT_BUTTON_DOWN, "the button press");
}

static void api_mouse_up(struct req *r) {
    single(r, ACT_BUTTON_UP, "the button release");
}

static void api_keyboard_type(struct req *r) {
    /* [ext] "method": "paste" types through the clipboard (api-clipboard.c). */
    char err[256];
    bool paste;
    if (type_method_parse(r->json, &paste, err, sizeof err) < 0)
        reply_error(r, ERR_INVALID_PARAMETER, "%s", err);
    else if (paste)
        deskd_paste(r);
    else
        single(r, ACT_TYPE, "typing");
}

static void api_keyboard_key(struct req *r) {
    single(r, ACT_KEY, "the key press");
}

static void api_keyboard_hotkey(struct req *r) {
    single(r, ACT_HOTKEY, "the hotkey");
}

static void api_keyboard_down(struct req *r) {
    single(r, ACT_KEY_DOWN, "the key press");
}

static void api_keyboard_up(struct req *r) {
    single(r, ACT_KEY_UP, "the key release");
}

static void api_input_release(struct req *r) {
    single(r, ACT_RELEASE_ALL, "releasing");
}

static void api_input_held(struct req *r) {
    static const char *const button_names[] = {NULL, "left", "middle", "right", "wheelUp",
            "wheelDown", "wheelLeft", "wheelRight", "back", "forward"};
    struct input_down down;
    if (!input_job(r, held_job, &down, INPUTW_JOB_BASE_MS, "reading what is held", NULL))
        return;
    json_t *keys = json_array(), *buttons = json_array();
    for (int i = 0; i < down.nkeys; i++) {
        const char *name = XKeysymToString(down.keys[i]);
        char hex[32];
        if (!name) {
            snprintf(hex, sizeof hex, "0x%lx", (unsigned long)down.keys[i]);
            name = hex;
        }
        json_array_append_new(keys, json_string(name));
    }
    for (int b = 1; b <= 9; b++)
        if (down.buttons & (1u << b))
            json_array_append_new(buttons, json_string(button_names[b]));
    reply_json(r, 200, json_pack("{s:o, s:o}", "keys", keys, "buttons", buttons));
}

const struct route api_input_routes[] = {
        {"GET", "/computeruse/mouse/position", api_mouse_position, 0},
        {"POST", "/computeruse/mouse/move", api_mouse_move, ROUTE_JSON | ROUTE_ACTS},
        {"POST", "/computeruse/mouse/click", api_mouse_click, ROUTE_JSON | ROUTE_ACTS},
        {"POST", "/computeruse/mouse/drag", api_mouse_drag, ROUTE_JSON | ROUTE_ACTS},
        {"POST", "/computeruse/mouse/scroll", api_mouse_scroll, ROUTE_JSON | ROUTE_ACTS},
        {"POST", "/computeruse/mouse/down", api_mouse_down, ROUTE_JSON | ROUTE_ACTS},
        {"POST", "/computeruse/mouse/up", api_mouse_up, ROUTE_JSON | ROUTE_ACTS},
        {"POST", "/computeruse/keyboard/type", api_keyboard_type, ROUTE_JSON | ROUTE_ACTS},
        {"POST", "/computeruse/keyboard/key", api_keyboard_key, ROUTE_JSON | ROUTE_ACTS},
        {"POST", "/computeruse/keyboard/hotkey", api_keyboard_hotkey, ROUTE_JSON | ROUTE_ACTS},
        {"POST", "/computeruse/keyboard/down", api_keyboard_down, ROUTE_JSON | ROUTE_ACTS},
        {"POST", "/computeruse/keyboard/up", api_keyboard_up, ROUTE_JSON | ROUTE_ACTS},
        {"GET", "/computeruse/input/held", api_input_held, 0},
        {"POST", "/computeruse/input/release", api_input_release, ROUTE_JSON | ROUTE_ACTS},
        {NULL, NULL, NULL, 0},
};
