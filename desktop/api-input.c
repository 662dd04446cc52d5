/*
 * api-input: the mouse and keyboard routes. Every request is validated in
 * full before anything is sent, so a rejected request presses nothing; then
 * it becomes one job for the input worker (inputw.c), which runs jobs one at a
 * time in arrival order on an X connection of its own, so input never waits
 * behind a screenshot. The worker and input/ release every key and button a
 * job pressed, on every path.
 *
 * Not here: X calls (input/), the queue and its bounds (inputw.c).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "deskd.h"
#include "inputw.h"
#include "log.h"
#include "params.h"

#define COORD_MAX      SHOT_MAX_COORD
#define TYPE_DELAY_MAX 1000
#define MODS_MAX       8
/* The longest one type request may take by its characters and delay. */
#define TYPE_TIME_MAX_MS (10L * 60 * 1000)

/* One action, as the worker runs it; out: the pointer position after it. */
struct act {
    enum { ACT_POINTER, ACT_MOVE, ACT_CLICK, ACT_DRAG, ACT_SCROLL, ACT_TYPE, ACT_KEY } kind;
    int x, y, x2, y2, button, amount, delay;
    bool dbl;
    const char *text;
    size_t len;
    struct key_combo combo;
    int px, py;
    char held[32]; /* the modifier another client held when typing was refused */
};

/* The worker's side of a job; the connection is locked. */
static int act_run(struct input *in, void *arg) {
    struct act *a = arg;
    int rc = 0;
    switch (a->kind) {
    case ACT_POINTER:
        break;
    case ACT_MOVE:
        rc = input_move(in, a->x, a->y);
        break;
    case ACT_CLICK:
        rc = input_click(in, a->x, a->y, a->button, a->dbl);
        break;
    case ACT_DRAG:
        rc = input_drag(in, a->x, a->y, a->x2, a->y2, a->button);
        break;
    case ACT_SCROLL:
        return input_scroll(in, a->x, a->y, a->button, a->amount);
    case ACT_TYPE:
        rc = input_type(in, a->text, a->len, a->delay);
        if (rc == -EBUSY)
            snprintf(a->held, sizeof a->held, "%s", input_held_modifier(in));
        return rc;
    case ACT_KEY:
        return input_key(in, &a->combo);
    }
    return rc < 0 ? rc : input_pointer(in, &a->px, &a->py);
}

static int client_gone(void *arg) {
    return req_client_gone(arg);
}

/* Replies for a job that ran and failed. */
static void reply_failure(
        struct req *r, const struct inputw_job *job, const struct act *a, const char *what) {
    int rc = job->rc;
    if (job->dead || rc == -EIO)
        reply_no_display(
                r, job->dead ? "the X display went away" : "the X server refused the input");
    else if (rc == -ENOSPC)
        reply_error(r, ERR_NO_SPARE_KEYCODE,
                "%s needs a character the keyboard map lacks and no spare keycode is free", what);
    else if (rc == -EBUSY)
        reply_error(r, ERR_MODIFIER_HELD,
                "%s refused: another client holds %s down (deskd does not release keys it did not "
                "press); release it and retry",
                what, a->held);
    else if (rc == -EPROTO)
        reply_error(r, ERR_INPUT_FAILED, "%s failed: the keyboard map could not be read or changed",
                what);
    else if (rc == -ECANCELED)
        reply_error(
                r, ERR_CANCELLED, "%s stopped: the client went away or deskd is stopping", what);
    else
        reply_error(r, ERR_INPUT_FAILED, "%s failed: %s", what, strerror(-rc));
}

/*
 * Runs a on the input worker; true when it succeeded, else the reply is sent.
 * cost_ms: the most it may take, which admission counts for the jobs behind it.
 */
static bool run_act(struct req *r, struct act *a, long cost_ms, const char *what) {
    struct inputw_job job = {
            .fn = act_run, .arg = a, .cost_ms = cost_ms, .gone = client_gone, .gone_arg = r};
    char err[256] = "";
    long retry = 0;
    int rc = inputw_run(req_deskd(r)->input, &job, &retry, err, sizeof err);
    if (rc == -EBUSY) {
        r->retry_after_s = retry;
        reply_error(r, ERR_INPUT_BUSY,
                "the input queue holds more than %ld s of work; %s would wait too long; retry in "
                "%ld s",
                INPUTW_WAIT_MAX_MS / 1000, what, retry);
    } else if (rc == -ECANCELED) {
        reply_error(r, ERR_CANCELLED, "the client went away while the request waited its turn");
    } else if (rc == -ENXIO) {
        reply_no_display(r, err);
    } else if (job.rc < 0) {
        reply_failure(r, &job, a, what);
    }
    return rc == 0 && job.rc == 0;
}

static void reply_xy(struct req *r, int x, int y) {
    reply_json(r, 200, json_pack("{s:i, s:i}", "x", x, "y", y));
}

#define BAD_INPUT(r, err)                                                                          \
    do {                                                                                           \
        reply_error(r, ERR_INVALID_PARAMETER, "%s", err);                                          \
        return;                                                                                    \
    } while (0)

static void api_mouse_position(struct req *r) {
    struct act a = {.kind = ACT_POINTER};
    if (run_act(r, &a, INPUTW_JOB_BASE_MS, "reading the pointer"))
        reply_xy(r, a.px, a.py);
}

static int read_xy(
        json_t *body, const char *kx, const char *ky, int *x, int *y, char *err, size_t errlen) {
    if (body_int(body, kx, true, -COORD_MAX, COORD_MAX, x, err, errlen) < 0 ||
            body_int(body, ky, true, -COORD_MAX, COORD_MAX, y, err, errlen) < 0)
        return -EINVAL;
    return 0;
}

static int read_button(json_t *body, int *button, char *err, size_t errlen) {
    const char *name = NULL;
    if (body_string(body, "button", false, &name, NULL, err, errlen) < 0)
        return -EINVAL;
    return keys_parse_button(name, button, err, errlen);
}

/* move and click: x and y, and for a click its button and "double"; both answer the pointer. */
static void pointer_act(struct req *r, struct act *a, const char *what) {
    char err[256];
    json_t *body = r->json;
    if (read_xy(body, "x", "y", &a->x, &a->y, err, sizeof err) < 0 ||
            (a->kind == ACT_CLICK &&
                    (read_button(body, &a->button, err, sizeof err) < 0 ||
                            body_bool(body, "double", &a->dbl, err, sizeof err) < 0)))
        BAD_INPUT(r, err);
    if (run_act(r, a, INPUTW_JOB_BASE_MS, what))
        reply_xy(r, a->px, a->py);
}

static void api_mouse_move(struct req *r) {
    struct act a = {.kind = ACT_MOVE};
    pointer_act(r, &a, "the move");
}

static void api_mouse_click(struct req *r) {
    struct act a = {.kind = ACT_CLICK};
    pointer_act(r, &a, "the click");
}

static void api_mouse_drag(struct req *r) {
    char err[256];
    struct act a = {.kind = ACT_DRAG};
    json_t *body = r->json;
    if (read_xy(body, "startX", "startY", &a.x, &a.y, err, sizeof err) < 0 ||
            read_xy(body, "endX", "endY", &a.x2, &a.y2, err, sizeof err) < 0 ||
            read_button(body, &a.button, err, sizeof err) < 0)
        BAD_INPUT(r, err);
    /* A drag is paced: some 150 ms of motion (input_drag) on top of a job's base. */
    if (run_act(r, &a, INPUTW_JOB_BASE_MS + 200, "the drag"))
        reply_json(r, 200,
                json_pack("{s:i, s:i, s:{s:i, s:i}, s:{s:i, s:i}}", "x", a.px, "y", a.py, "from",
                        "x", a.x, "y", a.y, "to", "x", a.x2, "y", a.y2));
}

static void api_mouse_scroll(struct req *r) {
    char err[256];
    struct act a = {.kind = ACT_SCROLL, .amount = 1};
    const char *dir = NULL;
    json_t *body = r->json;
    if (read_xy(body, "x", "y", &a.x, &a.y, err, sizeof err) < 0 ||
            body_string(body, "direction", true, &dir, NULL, err, sizeof err) < 0 ||
            keys_parse_direction(dir, &a.button, err, sizeof err) < 0 ||
            body_int(body, "amount", false, 0, INPUT_SCROLL_MAX, &a.amount, err, sizeof err) < 0)
        BAD_INPUT(r, err);
    if (a.amount == 0)
        a.amount = 1; /* Daytona's rule: 0 means one click */
    if (run_act(r, &a, INPUTW_JOB_BASE_MS, "the scroll"))
        reply_json(r, 200, json_pack("{s:b}", "success", 1));
}

/*
 * The characters typed for valid UTF-8 text: each code point (every byte but a
 * continuation byte starts one), with "\r\n" one Return as input_type types it.
 */
static size_t count_chars(const char *s, size_t len) {
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xc0) != 0x80 && !(s[i] == '\n' && i > 0 && s[i - 1] == '\r');
    return n;
}

static void api_keyboard_type(struct req *r) {
    char err[256];
    struct act a = {.kind = ACT_TYPE};
    json_t *body = r->json;
    if (body_string(body, "text", true, &a.text, &a.len, err, sizeof err) < 0 ||
            body_int(body, "delay", false, 0, TYPE_DELAY_MAX, &a.delay, err, sizeof err) < 0 ||
            keys_check_text(a.text, a.len, err, sizeof err) < 0)
        BAD_INPUT(r, err);
    long chars = (long)count_chars(a.text, a.len);
    if (chars * a.delay > TYPE_TIME_MAX_MS) {
        reply_error(r, ERR_INVALID_PARAMETER,
                "text has %ld characters and delay is %d ms a character: typing would take "
                "%ld s, more than the limit of %ld s (10 minutes) for one request; send less "
                "text or a shorter delay",
                chars, a.delay, chars * a.delay / 1000, TYPE_TIME_MAX_MS / 1000);
        return;
    }
    /* Without a delay a character takes well under 0.1 ms; a new keymap binding up to 50 ms
     * a batch, counted in the base. */
    long cost = chars * a.delay + chars / 10 + INPUTW_JOB_BASE_MS;
    if (run_act(r, &a, cost, "typing"))
        reply_json(r, 200, json_object());
}

static void press_combo(struct req *r, const struct key_combo *combo, const char *what) {
    struct act a = {.kind = ACT_KEY, .combo = *combo};
    if (run_act(r, &a, INPUTW_JOB_BASE_MS, what))
        reply_json(r, 200, json_object());
}

static void api_keyboard_key(struct req *r) {
    char err[512];
    const char *key = NULL;
    const char *mods[MODS_MAX];
    size_t nmods = 0;
    struct key_combo combo;
    json_t *body = r->json;
    if (body_string(body, "key", true, &key, NULL, err, sizeof err) < 0)
        BAD_INPUT(r, err);
    json_t *list = json_object_get(body, "modifiers");
    if (list && !json_is_null(list)) {
        if (!json_is_array(list) || json_array_size(list) > MODS_MAX)
            BAD_INPUT(r, "modifiers must be a list of at most 8 strings such as [\"ctrl\", "
                         "\"shift\"]");
        size_t i;
        json_t *v;
        json_array_foreach(list, i, v) {
            if (!json_is_string(v))
                BAD_INPUT(r, "modifiers must be a list of strings such as [\"ctrl\", \"shift\"]");
            mods[nmods++] = json_string_value(v);
        }
    }
    if (keys_parse_press(key, mods, nmods, &combo, err, sizeof err) < 0)
        BAD_INPUT(r, err);
    press_combo(r, &combo, "the key press");
}

static void api_keyboard_hotkey(struct req *r) {
    char err[512];
    const char *keys = NULL;
    struct key_combo combo;
    json_t *body = r->json;
    if (body_string(body, "keys", true, &keys, NULL, err, sizeof err) < 0 ||
            keys_parse_hotkey(keys, &combo, err, sizeof err) < 0)
        BAD_INPUT(r, err);
    press_combo(r, &combo, "the hotkey");
}

const struct route api_input_routes[] = {
        {"GET", "/computeruse/mouse/position", api_mouse_position, 0},
        {"POST", "/computeruse/mouse/move", api_mouse_move, ROUTE_JSON | ROUTE_ACTS},
        {"POST", "/computeruse/mouse/click", api_mouse_click, ROUTE_JSON | ROUTE_ACTS},
        {"POST", "/computeruse/mouse/drag", api_mouse_drag, ROUTE_JSON | ROUTE_ACTS},
        {"POST", "/computeruse/mouse/scroll", api_mouse_scroll, ROUTE_JSON | ROUTE_ACTS},
        {"POST", "/computeruse/keyboard/type", api_keyboard_type, ROUTE_JSON | ROUTE_ACTS},
        {"POST", "/computeruse/keyboard/key", api_keyboard_key, ROUTE_JSON | ROUTE_ACTS},
        {"POST", "/computeruse/keyboard/hotkey", api_keyboard_hotkey, ROUTE_JSON | ROUTE_ACTS},
        {NULL, NULL, NULL, 0},
};
