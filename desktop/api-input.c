/*
 * api-input: the mouse and keyboard routes. Every request is validated in
 * full before anything is sent, so a rejected request presses nothing. Actions
 * run one at a time, in the order their requests arrived (a ticket queue: a
 * plain mutex would let a later request overtake), on an X connection of their
 * own, so input never waits behind a screenshot's capture or encode.
 *
 * The input module releases every key and button an action pressed before it
 * returns, on every path; after a failed action the routes also release
 * everything that is down, as a safety net.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "deskd.h"
#include "input.h"
#include "log.h"
#include "params.h"

#define COORD_MAX      SHOT_MAX_COORD
#define TYPE_DELAY_MAX 1000
#define MODS_MAX       8

static struct input *input_obj; /* belongs to the input X connection */

int inputs_open(Display *dpy, void *data) {
    (void)data;
    input_obj = input_new(dpy);
    return input_obj ? 0 : -ENOTSUP;
}

void inputs_close(Display *dpy, void *data) {
    (void)dpy;
    (void)data;
    input_destroy(input_obj);
    input_obj = NULL;
}

static pthread_mutex_t order_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t order_cond = PTHREAD_COND_INITIALIZER;
static unsigned long next_ticket, now_serving;

static void order_enter(void) {
    pthread_mutex_lock(&order_lock);
    unsigned long ticket = next_ticket++;
    while (now_serving != ticket)
        pthread_cond_wait(&order_cond, &order_lock);
    pthread_mutex_unlock(&order_lock);
}

static void order_leave(void) {
    pthread_mutex_lock(&order_lock);
    now_serving++;
    pthread_cond_broadcast(&order_cond);
    pthread_mutex_unlock(&order_lock);
}

/* Takes the next turn and the input connection; NULL after replying 503. */
static struct input *input_begin(struct req *r) {
    char err[256];
    order_enter();
    /* A request that waited in the queue for a client that has given up must not run later,
     * against a screen its client no longer expects. */
    if (req_client_gone(r)) {
        order_leave();
        reply_error(r, ERR_CANCELLED, "the client went away while the request waited its turn");
        return NULL;
    }
    if (!xconn_lock(req_deskd(r)->xinput, err, sizeof err)) {
        order_leave();
        reply_no_display(r, err);
        return NULL;
    }
    return input_obj;
}

static void input_end(struct req *r) {
    xconn_unlock(req_deskd(r)->xinput);
    order_leave();
}

/* Replies for a failed action; called with the connection still locked. */
static void reply_failure(struct req *r, struct input *in, int rc, const char *what) {
    bool dead = xconn_dead(req_deskd(r)->xinput);
    if (!dead)
        input_release_all(in);
    if (dead || rc == -EIO)
        reply_no_display(r, dead ? "the X display went away" : "the X server refused the input");
    else if (rc == -ENOSPC)
        reply_error(r, ERR_NO_SPARE_KEYCODE,
                "%s needs a character the keyboard map lacks and no spare keycode is free", what);
    else if (rc == -EBUSY)
        reply_error(r, ERR_MODIFIER_HELD,
                "%s refused: another client holds %s down (deskd does not release keys it did not "
                "press); release it and retry",
                what, input_held_modifier(in));
    else if (rc == -EPROTO)
        reply_error(r, ERR_INPUT_FAILED, "%s failed: the keyboard map could not be read or changed",
                what);
    else if (rc == -ECANCELED)
        reply_error(
                r, ERR_CANCELLED, "%s stopped: the client went away or deskd is stopping", what);
    else
        reply_error(r, ERR_INPUT_FAILED, "%s failed: %s", what, strerror(-rc));
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
    struct input *in = input_begin(r);
    if (!in)
        return;
    int x, y, rc = input_pointer(in, &x, &y);
    if (rc < 0)
        reply_failure(r, in, rc, "reading the pointer");
    else
        reply_xy(r, x, y);
    input_end(r);
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

static void api_mouse_move(struct req *r) {
    char err[256];
    int x, y;
    json_t *body = r->json;
    if (read_xy(body, "x", "y", &x, &y, err, sizeof err) < 0)
        BAD_INPUT(r, err);
    struct input *in = input_begin(r);
    if (!in)
        return;
    int rc = input_move(in, x, y);
    if (rc == 0)
        rc = input_pointer(in, &x, &y);
    if (rc < 0)
        reply_failure(r, in, rc, "the move");
    else
        reply_xy(r, x, y);
    input_end(r);
}

static void api_mouse_click(struct req *r) {
    char err[256];
    int x, y, button;
    bool dbl = false;
    json_t *body = r->json;
    if (read_xy(body, "x", "y", &x, &y, err, sizeof err) < 0 ||
            read_button(body, &button, err, sizeof err) < 0 ||
            body_bool(body, "double", &dbl, err, sizeof err) < 0)
        BAD_INPUT(r, err);
    struct input *in = input_begin(r);
    if (!in)
        return;
    int rc = input_click(in, x, y, button, dbl);
    if (rc == 0)
        rc = input_pointer(in, &x, &y);
    if (rc < 0)
        reply_failure(r, in, rc, "the click");
    else
        reply_xy(r, x, y);
    input_end(r);
}

static void api_mouse_drag(struct req *r) {
    char err[256];
    int x1, y1, x2, y2, button, x, y;
    json_t *body = r->json;
    if (read_xy(body, "startX", "startY", &x1, &y1, err, sizeof err) < 0 ||
            read_xy(body, "endX", "endY", &x2, &y2, err, sizeof err) < 0 ||
            read_button(body, &button, err, sizeof err) < 0)
        BAD_INPUT(r, err);
    struct input *in = input_begin(r);
    if (!in)
        return;
    int rc = input_drag(in, x1, y1, x2, y2, button);
    if (rc == 0)
        rc = input_pointer(in, &x, &y);
    if (rc < 0) {
        reply_failure(r, in, rc, "the drag");
    } else {
        reply_json(r, 200,
                json_pack("{s:i, s:i, s:{s:i, s:i}, s:{s:i, s:i}}", "x", x, "y", y, "from", "x", x1,
                        "y", y1, "to", "x", x2, "y", y2));
    }
    input_end(r);
}

static void api_mouse_scroll(struct req *r) {
    char err[256];
    int x, y, button, amount = 1;
    const char *dir = NULL;
    json_t *body = r->json;
    if (read_xy(body, "x", "y", &x, &y, err, sizeof err) < 0 ||
            body_string(body, "direction", true, &dir, NULL, err, sizeof err) < 0 ||
            keys_parse_direction(dir, &button, err, sizeof err) < 0 ||
            body_int(body, "amount", false, 0, INPUT_SCROLL_MAX, &amount, err, sizeof err) < 0)
        BAD_INPUT(r, err);
    if (amount == 0)
        amount = 1; /* Daytona's rule: 0 means one click */
    struct input *in = input_begin(r);
    if (!in)
        return;
    int rc = input_scroll(in, x, y, button, amount);
    if (rc < 0)
        reply_failure(r, in, rc, "the scroll");
    else
        reply_json(r, 200, json_pack("{s:b}", "success", 1));
    input_end(r);
}

/* input_type's cancel hook: the client hung up, or deskd is stopping. */
static int type_cancelled(void *arg) {
    return req_deskd(arg)->stopping || req_client_gone(arg);
}

static void api_keyboard_type(struct req *r) {
    char err[256];
    const char *text = NULL;
    size_t len = 0;
    int delay = 0;
    json_t *body = r->json;
    if (body_string(body, "text", true, &text, &len, err, sizeof err) < 0 ||
            body_int(body, "delay", false, 0, TYPE_DELAY_MAX, &delay, err, sizeof err) < 0 ||
            keys_check_text(text, len, err, sizeof err) < 0)
        BAD_INPUT(r, err);
    struct input *in = input_begin(r);
    if (!in)
        return;
    input_set_cancel(in, type_cancelled, r);
    int rc = input_type(in, text, len, delay);
    input_set_cancel(in, NULL, NULL);
    if (rc < 0)
        reply_failure(r, in, rc, "typing");
    else
        reply_json(r, 200, json_object());
    input_end(r);
}

static void press_combo(struct req *r, const struct key_combo *combo, const char *what) {
    struct input *in = input_begin(r);
    if (!in)
        return;
    int rc = input_key(in, combo);
    if (rc < 0)
        reply_failure(r, in, rc, what);
    else
        reply_json(r, 200, json_object());
    input_end(r);
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
        {"POST", "/computeruse/mouse/move", api_mouse_move, ROUTE_JSON},
        {"POST", "/computeruse/mouse/click", api_mouse_click, ROUTE_JSON},
        {"POST", "/computeruse/mouse/drag", api_mouse_drag, ROUTE_JSON},
        {"POST", "/computeruse/mouse/scroll", api_mouse_scroll, ROUTE_JSON},
        {"POST", "/computeruse/keyboard/type", api_keyboard_type, ROUTE_JSON},
        {"POST", "/computeruse/keyboard/key", api_keyboard_key, ROUTE_JSON},
        {"POST", "/computeruse/keyboard/hotkey", api_keyboard_hotkey, ROUTE_JSON},
        {NULL, NULL, NULL, 0},
};
