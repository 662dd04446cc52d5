/*
 * api-tools: the model tool adapters of API.md §13. A harness hands deskd
 * what the model asked for, as the provider shapes it, and sends the answer
 * back to the model as it is:
 *
 *   POST /computeruse/tools/anthropic: the input of an Anthropic computer
 *   tool_use (computer_20250124, computer_20251124; {"action", "coordinate",
 *   "text", ...}), alone or as its tool_use block ({"input": {...}}, also a
 *   computer toolset member's, whose name is the action). Answers
 *   {"content": [tool_result content blocks], "is_error", "display"}.
 *
 *   POST /computeruse/tools/openai: a computer_call's "action" or
 *   "actions" (or the computer_call item itself). Answers {"output":
 *   {"type": "computer_screenshot", "image_url": "data:..."}, "display",
 *   "error"?}.
 *
 * Beside the model's members the body may carry the harness's: "display"
 * {"width","height"} (the size the model was told; default: the screen
 * fitted into 1024x768, aspect kept), "screenshot" (false: no image after an
 * Anthropic action), "settle" (false, or {"stableMs","timeoutMs"}: the wait
 * for a still screen before that image), "format" and "quality".
 *
 * Coordinates are pixels of the model's display, an image of the whole
 * screen scaled on each axis (space.h): the actions carry it as their space,
 * and screenshots are made exactly that size. The actions themselves run as
 * one POST /computeruse/actions batch through req_call, so they are checked
 * in full before any runs, run in order with no other input between them,
 * and release what they pressed on every path, as any batch. What the model
 * got wrong (an unknown action, a missing or out-of-display coordinate, a
 * bad key) is a 200 whose answer tells the model (is_error, error); what the
 * harness got wrong is a 400; a failure of the desktop (busy, no display, a
 * person in control) is the batch's own error answer.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acts.h"
#include "deskd.h"
#include "keys.h"
#include "params.h"
#include "util.h"

/* OpenAI's scroll_x/scroll_y are pixels (a browser's wheel delta); one wheel click is taken
 * as this many. */
#define WHEEL_PX 50
/* OpenAI's wait carries no duration. */
#define OPENAI_WAIT_MS 1000
/* Anthropic's key repeat, at most. */
#define KEY_REPEAT_MAX 100
/* The default wait for a still screen before the image of an action's result (none when no
 * action ran: a screenshot is taken at once). */
#define SETTLE_STABLE_MS  200
#define SETTLE_TIMEOUT_MS 2000

/* One request: the screen, the model's display over it, the batch being built. */
struct tool_req {
    struct req *r;
    int sw, sh; /* the screen */
    int px, py; /* the pointer on the screen when the request arrived */
    struct space disp;
    json_t *acts;           /* the batch's actions */
    bool acted;             /* the batch ran actions */
    struct space_rect zoom; /* Anthropic's zoom: the screen rectangle to show */
    bool list; /* OpenAI's actions list: sentences name actions[N] as the model numbered them */
    int origin[1000]; /* then: the model's action each of the first batch actions came from */
    /* The harness's options. */
    bool shot;
    bool settle;
    struct damage_wait_spec wait;
    enum img_format format;
    int quality;
};

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        snprintf(err, errlen, __VA_ARGS__);                                                        \
        return -EINVAL;                                                                            \
    } while (0)

/* ---- the harness's options ---- */

static int parse_options(struct tool_req *t, json_t *body, char *err, size_t errlen) {
    struct damage_now now;
    if (damage_now(req_deskd(t->r)->damage, &now, err, errlen) < 0)
        return -ENXIO;
    t->sw = now.screen_w;
    t->sh = now.screen_h;
    t->px = now.pointer_x;
    t->py = now.pointer_y;
    char e[200];
    json_t *d = json_object_get(body, "display");
    int dw = 0, dh = 0;
    if (d && !json_is_null(d)) {
        if (!json_is_object(d))
            FAIL("display must be an object {\"width\", \"height\"}: the display size the "
                 "model was told");
        if (body_int(d, "width", true, 1, t->sw, &dw, e, sizeof e) < 0 ||
                body_int(d, "height", true, 1, t->sh, &dh, e, sizeof e) < 0)
            FAIL("display.%s (the screen is %dx%d; screenshots are scaled down, never up)", e,
                    t->sw, t->sh);
    } else {
        struct space_fit xga;
        space_fit_named("xga", &xga);
        space_fit_size(&xga, t->sw, t->sh, &dw, &dh);
    }
    t->disp = (struct space){dw, dh, {0, 0, t->sw, t->sh}};

    t->shot = true;
    if (body_bool(body, "screenshot", &t->shot, e, sizeof e) < 0)
        FAIL("%s", e);
    t->settle = true;
    t->wait = (struct damage_wait_spec){.until = DAMAGE_UNTIL_STABLE,
            .stable_ms = SETTLE_STABLE_MS,
            .timeout_ms = SETTLE_TIMEOUT_MS};
    json_t *s = json_object_get(body, "settle");
    if (json_is_false(s)) {
        t->settle = false;
    } else if (s && !json_is_null(s)) {
        if (!json_is_object(s))
            FAIL("settle must be false or an object {\"stableMs\"?, \"timeoutMs\"?}");
        if (body_int(s, "stableMs", false, DAMAGE_STABLE_MIN_MS, DAMAGE_STABLE_MAX_MS,
                    &t->wait.stable_ms, e, sizeof e) < 0 ||
                body_int(s, "timeoutMs", false, DAMAGE_TIMEOUT_MIN_MS, DAMAGE_TIMEOUT_MAX_MS,
                        &t->wait.timeout_ms, e, sizeof e) < 0)
            FAIL("settle.%s", e);
    }
    const char *fmt = NULL;
    t->quality = 85;
    if (body_string(body, "format", false, &fmt, NULL, e, sizeof e) < 0 ||
            body_int(body, "quality", false, 1, 100, &t->quality, e, sizeof e) < 0)
        FAIL("%s", e);
    int f = fmt ? desk_wire_format_parse(fmt) : IMG_PNG;
    if (f < 0)
        FAIL("format must be png, jpeg (or jpg) or webp, got \"%.64s\"", fmt);
    t->format = (enum img_format)f;
    return 0;
}

/* ---- the model's fields ---- */

/* A coordinate of the model's display: a number from 0 to below side. */
static int read_axis(
        json_t *v, const char *what, char axis, int side, double *out, char *err, size_t errlen) {
    if (!json_is_number(v))
        FAIL("%s: %c must be a number, a pixel of the display", what, axis);
    double d = json_number_value(v);
    if (!isfinite(d) || d < 0 || d >= side)
        FAIL("%s is outside the display: %c must be 0 to %d, got %g", what, axis, side - 1, d);
    *out = d;
    return 0;
}

/* Anthropic's [x, y]. */
static int read_pair(struct tool_req *t, json_t *v, const char *what, double *x, double *y,
        char *err, size_t errlen) {
    if (!json_is_array(v) || json_array_size(v) != 2)
        FAIL("%s must be [x, y]: two numbers, pixels of the %dx%d display", what, t->disp.width,
                t->disp.height);
    if (read_axis(json_array_get(v, 0), what, 'x', t->disp.width, x, err, errlen) < 0 ||
            read_axis(json_array_get(v, 1), what, 'y', t->disp.height, y, err, errlen) < 0)
        return -EINVAL;
    return 0;
}

/* OpenAI's {"x", "y"} members of obj. */
static int read_xy(struct tool_req *t, json_t *obj, const char *what, double *x, double *y,
        char *err, size_t errlen) {
    json_t *jx = json_object_get(obj, "x"), *jy = json_object_get(obj, "y");
    if (!json_is_number(jx) || !json_is_number(jy))
        FAIL("%s needs x and y: numbers, pixels of the %dx%d display", what, t->disp.width,
                t->disp.height);
    char e[160];
    if (read_axis(jx, "x", 'x', t->disp.width, x, e, sizeof e) < 0 ||
            read_axis(jy, "y", 'y', t->disp.height, y, e, sizeof e) < 0)
        FAIL("%s: %s", what, e);
    return 0;
}

/* Appends action (reference stolen) to the batch, noting the model's action it came from. */
static void add(struct tool_req *t, json_t *action, int from) {
    size_t n = json_array_size(t->acts);
    if (n < sizeof t->origin / sizeof t->origin[0])
        t->origin[n] = from;
    json_array_append_new(t->acts, action);
}

/*
 * A pointer action at (x, y) of the display; without a coordinate (has_xy
 * false), where the pointer is, in screen pixels.
 */
static json_t *pointer_act(struct tool_req *t, const char *type, bool has_xy, double x, double y) {
    if (has_xy)
        return json_pack("{s:s, s:f, s:f}", "type", type, "x", x, "y", y);
    return json_pack("{s:s, s:i, s:i, s:{s:i, s:i}}", "type", type, "x", t->px, "y", t->py, "space",
            "width", t->sw, "height", t->sh);
}

/* One key name as keyboard/key reads it; its sentence, prefixed by what, in err. */
static int check_key(const char *name, const char *what, char *err, size_t errlen) {
    struct key_combo c;
    char e[300];
    if (keys_parse_press(name, NULL, 0, &c, e, sizeof e) < 0)
        FAIL("%s: %s", what, e);
    return 0;
}

/* Text as typed: runs of characters, a tab as the Tab key (keyboard/type refuses tabs). */
static void add_text(struct tool_req *t, const char *text, size_t len, int from) {
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && text[i] != '\t')
            continue;
        if (i > start)
            add(t, json_pack("{s:s, s:s%}", "type", "type", "text", text + start, i - start), from);
        if (i < len)
            add(t, json_pack("{s:s, s:s}", "type", "key", "key", "tab"), from);
        start = i + 1;
    }
}

/* ---- Anthropic ---- */

/* "ctrl+shift" held during a pointer action: holdKeys. */
static int anthropic_hold(json_t *input, json_t *act, char *err, size_t errlen) {
    json_t *v = json_object_get(input, "text");
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        FAIL("text must be the keys to hold during the action, such as \"shift\" or "
             "\"ctrl+shift\"");
    json_t *list = json_array();
    json_object_set_new(act, "holdKeys", list);
    char *copy = strdup(json_string_value(v));
    if (!copy)
        FAIL("out of memory");
    int rc = 0;
    char *save = NULL;
    for (char *k = strtok_r(copy, "+ ", &save); k && rc == 0; k = strtok_r(NULL, "+ ", &save)) {
        if (json_array_size(list) >= INPUT_HOLD_KEYS_MAX) {
            snprintf(err, errlen, "text holds more than %d keys", INPUT_HOLD_KEYS_MAX);
            rc = -EINVAL;
        } else if ((rc = check_key(k, "text", err, errlen)) == 0) {
            json_array_append_new(list, json_string(k));
        }
    }
    free(copy);
    return rc;
}

static int anthropic_click(
        struct tool_req *t, json_t *in, const char *button, int clicks, char *err, size_t errlen) {
    double x = 0, y = 0;
    json_t *c = json_object_get(in, "coordinate");
    bool has = c && !json_is_null(c);
    if (has && read_pair(t, c, "coordinate", &x, &y, err, errlen) < 0)
        return -EINVAL;
    json_t *a = pointer_act(t, "click", has, x, y);
    json_object_set_new(a, "button", json_string(button));
    json_object_set_new(a, "clicks", json_integer(clicks));
    if (anthropic_hold(in, a, err, errlen) < 0) {
        json_decref(a);
        return -EINVAL;
    }
    add(t, a, 0);
    return 0;
}

static int seconds_ms(json_t *in, double max_s, int *ms, char *err, size_t errlen) {
    json_t *v = json_object_get(in, "duration");
    if (!json_is_number(v) || !isfinite(json_number_value(v)) || json_number_value(v) < 0 ||
            json_number_value(v) > max_s)
        FAIL("duration must be a number of seconds from 0 to %g", max_s);
    *ms = (int)lround(json_number_value(v) * 1000);
    return 0;
}

static int anthropic_key(struct tool_req *t, json_t *in, char *err, size_t errlen) {
    const char *text = json_string_value(json_object_get(in, "text"));
    if (!text || !*text)
        FAIL("text must be the key or chord to press in xdotool syntax, such as \"Return\", "
             "\"ctrl+s\" or \"alt+Tab\"");
    int repeat = 1;
    char e[300];
    if (body_int(in, "repeat", false, 1, KEY_REPEAT_MAX, &repeat, e, sizeof e) < 0)
        FAIL("%s", e);
    char *copy = strdup(text);
    if (!copy)
        FAIL("out of memory");
    /* xdotool presses the space-separated chords one after the other. */
    json_t *chords = json_array();
    int rc = 0;
    char *save = NULL;
    for (char *k = strtok_r(copy, " \t\n", &save); k && rc == 0;
            k = strtok_r(NULL, " \t\n", &save)) {
        struct key_combo c;
        if (keys_parse_hotkey(k, &c, e, sizeof e) < 0) {
            snprintf(err, errlen,
                    "text: %s (xdotool key names: Return, Tab, Escape, BackSpace, Page_Down, "
                    "KP_Enter, F5, super; chords as ctrl+shift+t)",
                    e);
            rc = -EINVAL;
        } else {
            json_array_append_new(chords, json_pack("{s:s, s:s}", "type", "hotkey", "keys", k));
        }
    }
    for (int i = 0; i < repeat && rc == 0; i++) {
        size_t j;
        json_t *a;
        json_array_foreach(chords, j, a) add(t, json_deep_copy(a), 0);
    }
    json_decref(chords);
    free(copy);
    return rc;
}

/* hold_key: the chord's last key held with the others as modifiers. */
static int anthropic_hold_key(struct tool_req *t, json_t *in, char *err, size_t errlen) {
    const char *text = json_string_value(json_object_get(in, "text"));
    int ms = 0;
    struct key_combo c;
    char e[300];
    if (!text || !*text)
        FAIL("text must be the key or chord to hold, such as \"shift\" or \"ctrl+a\"");
    if (keys_parse_hotkey(text, &c, e, sizeof e) < 0)
        FAIL("text: %s", e);
    if (seconds_ms(in, INPUT_HOLD_MAX_MS / 1000.0, &ms, err, errlen) < 0)
        return -EINVAL;
    json_t *mods = json_array();
    const char *last = text;
    for (const char *p = strchr(text, '+'); p; p = strchr(last, '+')) {
        json_array_append_new(mods, json_stringn(last, (size_t)(p - last)));
        last = p + 1;
    }
    add(t,
            json_pack("{s:s, s:s, s:o, s:i}", "type", "key", "key", last, "modifiers", mods,
                    "holdMs", ms),
            0);
    return 0;
}

static int anthropic_scroll(struct tool_req *t, json_t *in, char *err, size_t errlen) {
    double x = 0, y = 0;
    json_t *c = json_object_get(in, "coordinate");
    bool has = c && !json_is_null(c);
    if (has && read_pair(t, c, "coordinate", &x, &y, err, errlen) < 0)
        return -EINVAL;
    const char *dir = json_string_value(json_object_get(in, "scroll_direction"));
    int button;
    if (!dir || keys_parse_direction(dir, &button, NULL, 0) < 0)
        FAIL("scroll_direction must be up, down, left or right");
    json_t *amount = json_object_get(in, "scroll_amount");
    if (!json_is_integer(amount) || json_integer_value(amount) < 0 ||
            json_integer_value(amount) > INPUT_SCROLL_MAX)
        FAIL("scroll_amount must be a whole number of wheel clicks from 0 to %d", INPUT_SCROLL_MAX);
    int n = (int)json_integer_value(amount);
    json_t *a = pointer_act(t, n ? "scroll" : "move", has, x, y);
    if (n) {
        json_object_set_new(a, "direction", json_string(dir));
        json_object_set_new(a, "amount", json_integer(n));
    }
    if (anthropic_hold(in, a, err, errlen) < 0) {
        json_decref(a);
        return -EINVAL;
    }
    add(t, a, 0);
    return 0;
}

static int anthropic_drag(struct tool_req *t, json_t *in, char *err, size_t errlen) {
    double x0, y0, x1, y1;
    if (read_pair(t, json_object_get(in, "start_coordinate"), "start_coordinate", &x0, &y0, err,
                errlen) < 0 ||
            read_pair(t, json_object_get(in, "coordinate"), "coordinate", &x1, &y1, err, errlen) <
                    0)
        return -EINVAL;
    json_t *a = json_pack("{s:s, s:f, s:f, s:f, s:f}", "type", "drag", "startX", x0, "startY", y0,
            "endX", x1, "endY", y1);
    if (anthropic_hold(in, a, err, errlen) < 0) {
        json_decref(a);
        return -EINVAL;
    }
    add(t, a, 0);
    return 0;
}

/* zoom's region [x0, y0, x1, y1] of the display, as a screen rectangle. */
static int zoom_region(
        struct tool_req *t, json_t *in, struct space_rect *out, char *err, size_t errlen) {
    json_t *v = json_object_get(in, "region");
    double c[4];
    int side[4] = {t->disp.width, t->disp.height, t->disp.width, t->disp.height};
    if (!json_is_array(v) || json_array_size(v) != 4)
        FAIL("region must be [x0, y0, x1, y1]: the corners of a rectangle of the %dx%d "
             "display",
                t->disp.width, t->disp.height);
    for (int i = 0; i < 4; i++) {
        json_t *n = json_array_get(v, (size_t)i);
        c[i] = json_number_value(n);
        if (!json_is_number(n) || !isfinite(c[i]) || c[i] < 0 || c[i] > side[i])
            FAIL("region[%d] must be a number from 0 to %d (the display is %dx%d)", i, side[i],
                    t->disp.width, t->disp.height);
    }
    if (c[2] <= c[0] || c[3] <= c[1])
        FAIL("region must be [x0, y0, x1, y1] with x0 < x1 and y0 < y1");
    int sx0, sy0, sx1, sy1;
    space_to_screen(&t->disp, c[0], c[1], &sx0, &sy0);
    space_to_screen(&t->disp, c[2], c[3], &sx1, &sy1);
    sx1 = sx1 > t->sw ? t->sw : sx1;
    sy1 = sy1 > t->sh ? t->sh : sy1;
    *out = (struct space_rect){sx0, sy0, sx1 > sx0 ? sx1 - sx0 : 1, sy1 > sy0 ? sy1 - sy0 : 1};
    return 0;
}

static int anthropic_mouse_move(struct tool_req *t, json_t *in, char *err, size_t errlen) {
    double x, y;
    if (read_pair(t, json_object_get(in, "coordinate"), "coordinate", &x, &y, err, errlen) < 0)
        return -EINVAL;
    add(t, pointer_act(t, "move", true, x, y), 0);
    return 0;
}

/* left_mouse_down and left_mouse_up: at the coordinate when given, else where the pointer is. */
static int anthropic_button(
        struct tool_req *t, json_t *in, const char *type, char *err, size_t errlen) {
    double x = 0, y = 0;
    json_t *c = json_object_get(in, "coordinate");
    bool has = c && !json_is_null(c);
    if (has && read_pair(t, c, "coordinate", &x, &y, err, errlen) < 0)
        return -EINVAL;
    json_t *a = json_pack("{s:s, s:s}", "type", type, "button", "left");
    if (has) {
        json_object_set_new(a, "x", json_real(x));
        json_object_set_new(a, "y", json_real(y));
    }
    add(t, a, 0);
    return 0;
}

static int anthropic_down(struct tool_req *t, json_t *in, char *err, size_t errlen) {
    return anthropic_button(t, in, "buttonDown", err, errlen);
}

static int anthropic_up(struct tool_req *t, json_t *in, char *err, size_t errlen) {
    return anthropic_button(t, in, "buttonUp", err, errlen);
}

static int anthropic_type(struct tool_req *t, json_t *in, char *err, size_t errlen) {
    json_t *text = json_object_get(in, "text");
    if (!json_is_string(text))
        FAIL("text must be the text to type");
    add_text(t, json_string_value(text), json_string_length(text), 0);
    return 0;
}

static int anthropic_wait(struct tool_req *t, json_t *in, char *err, size_t errlen) {
    int ms;
    if (seconds_ms(in, ACT_WAIT_MAX_MS / 1000.0, &ms, err, errlen) < 0)
        return -EINVAL;
    add(t, json_pack("{s:s, s:i}", "type", "wait", "ms", ms), 0);
    return 0;
}

static int anthropic_zoom(struct tool_req *t, json_t *in, char *err, size_t errlen) {
    return zoom_region(t, in, &t->zoom, err, errlen);
}

/* What the answer shows after the actions. */
enum after { AFTER_SHOT, AFTER_CURSOR, AFTER_ZOOM };

/* The actions: a click's button and count, or the function that reads the others. */
static const struct {
    const char *name;
    const char *button;
    int clicks;
    int (*parse)(struct tool_req *t, json_t *in, char *err, size_t errlen);
    enum after after;
} anthropic_table[] = {
        {"key", NULL, 0, anthropic_key, AFTER_SHOT},
        {"hold_key", NULL, 0, anthropic_hold_key, AFTER_SHOT},
        {"type", NULL, 0, anthropic_type, AFTER_SHOT},
        {"cursor_position", NULL, 0, NULL, AFTER_CURSOR},
        {"mouse_move", NULL, 0, anthropic_mouse_move, AFTER_SHOT},
        {"left_mouse_down", NULL, 0, anthropic_down, AFTER_SHOT},
        {"left_mouse_up", NULL, 0, anthropic_up, AFTER_SHOT},
        {"left_click", "left", 1, NULL, AFTER_SHOT},
        {"left_click_drag", NULL, 0, anthropic_drag, AFTER_SHOT},
        {"right_click", "right", 1, NULL, AFTER_SHOT},
        {"middle_click", "middle", 1, NULL, AFTER_SHOT},
        {"double_click", "left", 2, NULL, AFTER_SHOT},
        {"triple_click", "left", 3, NULL, AFTER_SHOT},
        {"scroll", NULL, 0, anthropic_scroll, AFTER_SHOT},
        {"wait", NULL, 0, anthropic_wait, AFTER_SHOT},
        {"screenshot", NULL, 0, NULL, AFTER_SHOT},
        {"zoom", NULL, 0, anthropic_zoom, AFTER_ZOOM},
};

/* Fills the batch from the model's input; *after says what the answer shows. */
static int anthropic_parse(struct tool_req *t, json_t *in, const char *action, enum after *after,
        char *err, size_t errlen) {
    size_t n = sizeof anthropic_table / sizeof anthropic_table[0];
    for (size_t i = 0; i < n; i++) {
        if (strcmp(action, anthropic_table[i].name) != 0)
            continue;
        *after = anthropic_table[i].after;
        if (anthropic_table[i].button)
            return anthropic_click(
                    t, in, anthropic_table[i].button, anthropic_table[i].clicks, err, errlen);
        return anthropic_table[i].parse ? anthropic_table[i].parse(t, in, err, errlen) : 0;
    }
    char names[400] = "";
    for (size_t i = 0, len = 0; i < n && len < sizeof names; i++)
        len += (size_t)snprintf(
                names + len, sizeof names - len, "%s%s", i ? ", " : "", anthropic_table[i].name);
    FAIL("action \"%.64s\" is not a computer action; the actions are %s", action, names);
}

/* ---- running the batch and taking the image ---- */

/*
 * Runs the batch. 1: it ran; 0: the model got it wrong (its sentence in
 * err, the batch's actions[N] as the model numbered its actions); -1: the
 * desktop failed, and its answer was sent.
 */
static int run_batch(struct tool_req *t, char *err, size_t errlen) {
    if (json_array_size(t->acts) == 0)
        return 1;
    t->acted = true;
    json_t *body = json_pack("{s:O, s:{s:i, s:i}}", "actions", t->acts, "space", "width",
            t->disp.width, "height", t->disp.height);
    struct req_capture out;
    req_call(t->r, "POST", "/computeruse/actions", NULL, body, &out);
    json_decref(body);
    int rc = 1;
    if (out.status == 400) {
        json_t *ans = out.body ? json_loadb(out.body, out.len, 0, NULL) : NULL;
        const char *msg = json_string_value(json_object_get(ans, "message"));
        char who[96] = "", *end = NULL;
        if (msg && strncmp(msg, "actions[", 8) == 0) {
            long idx = strtol(msg + 8, &end, 10);
            long n = (long)(sizeof t->origin / sizeof t->origin[0]);
            if (end && strncmp(end, "].", 2) == 0) {
                if (t->list && idx >= 0 && idx < n)
                    snprintf(who, sizeof who, "actions[%d]: ", t->origin[idx]);
                msg = end + 2;
            }
        }
        snprintf(err, errlen, "%s%s", who, msg ? msg : "the action was refused");
        json_decref(ans);
        rc = 0;
    } else if (out.status != 200) {
        char secs[24];
        snprintf(secs, sizeof secs, "%ld", out.retry_after_s);
        const char *headers[] = {"Retry-After", secs, NULL};
        reply_bytes(t->r, out.status, out.mime[0] ? out.mime : "application/json", out.body,
                out.len, out.retry_after_s > 0 ? headers : NULL);
        rc = -1;
    }
    free(out.body);
    return rc;
}

/* The image as base64 text, NUL-terminated, into *(char **)arg (malloc'd; NULL: no memory). */
static void image_done(const struct shot_image *img, void *arg) {
    char **b64 = arg;
    *b64 = malloc(util_base64_len(img->len) + 1);
    if (*b64)
        (*b64)[util_base64_encode(img->data, img->len, *b64)] = '\0';
}

/*
 * The image the model sees: after the wait for a still screen (unless
 * settle is off), the whole screen at the display's size, or zoom (a screen
 * rectangle, fitted into the display, aspect kept), as base64 in *b64
 * (malloc'd). 0, or -1 after replying.
 */
static int take_image(struct tool_req *t, const struct space_rect *zoom, char **b64) {
    char err[256];
    *b64 = NULL;
    /* Only actions give the screen something to settle from. */
    if (t->settle && t->acted) {
        struct damage_wait_result wr;
        t->wait.cancelled = req_wait_cancelled;
        t->wait.arg = t->r;
        if (damage_wait(req_deskd(t->r)->damage, &t->wait, &wr, err, sizeof err) < 0) {
            reply_no_display(t->r, err);
            return -1;
        }
    }
    struct shot_spec spec = {.whole = true,
            .scale = 1.0,
            .out_w = t->disp.width,
            .out_h = t->disp.height,
            .format = t->format,
            .quality = t->quality};
    if (zoom) {
        spec = (struct shot_spec){.x = zoom->x,
                .y = zoom->y,
                .width = zoom->width,
                .height = zoom->height,
                .scale = 1.0,
                .fit = {.max_width = t->disp.width, .max_height = t->disp.height},
                .format = t->format,
                .quality = t->quality};
    }
    const char *stage = "capture";
    int rc = shots_take(req_deskd(t->r)->shots, &spec, image_done, b64, &stage, err, sizeof err);
    if (rc == 0 && !*b64)
        rc = -ENOMEM;
    if (rc == -EBUSY) {
        t->r->retry_after_s = 1;
        reply_error(t->r, ERR_BUSY, "the screenshot: %s", err);
    } else if (rc == -ENXIO) {
        reply_no_display(t->r, err);
    } else if (rc == -EPIPE) {
        reply_no_display(t->r, "the X display went away during the screenshot");
    } else if (rc < 0) {
        reply_error(t->r, strcmp(stage, "encode") == 0 ? ERR_ENCODE_FAILED : ERR_CAPTURE_FAILED,
                "the screenshot's %s failed: %s", stage, strerror(-rc));
    }
    if (rc < 0) {
        free(*b64);
        *b64 = NULL;
        return -1;
    }
    return 0;
}

/* Stands for the image in an answer until reply_image puts it there. */
#define IMAGE_MARK "\x01"

/*
 * Replies answer (reference stolen), whose first IMAGE_MARK string becomes
 * prefix and the base64 image: the image's megabyte or so is copied once,
 * not through jansson's string handling and escaping.
 */
static void reply_image(struct req *r, json_t *answer, const char *prefix, const char *b64) {
    char *text = answer ? json_dumps(answer, JSON_COMPACT) : NULL;
    json_decref(answer);
    static const char mark[] = "\"\\u0001\""; /* the mark as json_dumps writes it */
    char *at = text ? strstr(text, mark) : NULL;
    size_t len = at ? strlen(text) - (sizeof mark - 3) + strlen(prefix) + strlen(b64) : 0;
    char *out = at ? malloc(len + 1) : NULL;
    if (!out) {
        free(text);
        reply_error(r, ERR_INTERNAL, "out of memory building the answer");
        return;
    }
    /* Up to the mark's opening quote, the image, and on from its closing quote. */
    snprintf(out, len + 1, "%.*s%s%s%s", (int)(at - text + 1), text, prefix, b64,
            at + sizeof mark - 2);
    free(text);
    reply_json_text(r, 200, out, len);
}

static json_t *display_json(const struct tool_req *t) {
    return json_pack("{s:i, s:i}", "width", t->disp.width, "height", t->disp.height);
}

static bool tool_start(struct tool_req *t, struct req *r) {
    char err[512];
    memset(t, 0, sizeof *t);
    t->r = r;
    int rc = parse_options(t, r->json, err, sizeof err);
    if (rc == -ENXIO)
        reply_no_display(r, err);
    else if (rc < 0)
        reply_error(r, ERR_INVALID_PARAMETER, "%s", err);
    else
        t->acts = json_array();
    return rc == 0;
}

/* ---- POST /computeruse/tools/anthropic ---- */

static void anthropic_reply(struct tool_req *t, json_t *content, bool is_error) {
    reply_json(t->r, 200,
            json_pack("{s:o, s:b, s:o}", "content", content, "is_error", is_error, "display",
                    display_json(t)));
}

static void api_tools_anthropic(struct req *r) {
    struct tool_req t;
    if (!tool_start(&t, r))
        return;
    char err[1024];
    /* The input alone, or its tool_use block (a toolset member's name is its action). */
    json_t *in = json_object_get(r->json, "input");
    const char *action = NULL;
    if (json_is_object(in)) {
        const char *name = json_string_value(json_object_get(r->json, "name"));
        if (name && strcmp(name, "computer") != 0)
            action = name;
    } else {
        in = r->json;
    }
    if (json_is_string(json_object_get(in, "action")))
        action = json_string_value(json_object_get(in, "action"));
    enum after after = AFTER_SHOT;
    int ran = 0;
    if (!action)
        snprintf(err, sizeof err, "action is required, such as screenshot, left_click or type");
    else if (anthropic_parse(&t, in, action, &after, err, sizeof err) == 0)
        ran = run_batch(&t, err, sizeof err);
    json_decref(t.acts);
    if (ran < 0)
        return;
    json_t *content = json_array();
    if (ran == 0) {
        json_array_append_new(content, json_pack("{s:s, s:s}", "type", "text", "text", err));
        anthropic_reply(&t, content, true);
        return;
    }
    if (after == AFTER_CURSOR) {
        struct damage_now now;
        if (damage_now(req_deskd(r)->damage, &now, err, sizeof err) < 0) {
            json_decref(content);
            reply_no_display(r, err);
            return;
        }
        int x, y;
        space_from_screen(&t.disp, now.pointer_x, now.pointer_y, &x, &y);
        char text[64];
        snprintf(text, sizeof text, "X=%d,Y=%d", x, y);
        json_array_append_new(content, json_pack("{s:s, s:s}", "type", "text", "text", text));
    } else if (after == AFTER_ZOOM || t.shot || strcmp(action, "screenshot") == 0) {
        char *b64;
        if (after == AFTER_ZOOM)
            t.settle = false; /* a look at what the model saw, not a wait for a change */
        if (take_image(&t, after == AFTER_ZOOM ? &t.zoom : NULL, &b64) < 0) {
            json_decref(content);
            return;
        }
        json_array_append_new(content,
                json_pack("{s:s, s:{s:s, s:s, s:s}}", "type", "image", "source", "type", "base64",
                        "media_type", img_format_mime(t.format), "data", IMAGE_MARK));
        reply_image(r,
                json_pack("{s:o, s:b, s:o}", "content", content, "is_error", 0, "display",
                        display_json(&t)),
                "", b64);
        free(b64);
        return;
    }
    anthropic_reply(&t, content, false);
}

/* ---- POST /computeruse/tools/openai ---- */

static const char openai_actions[] =
        "click, double_click, drag, keypress, move, screenshot, scroll, type, wait";

/* OpenAI's key names that are not the API's (API.md §5). */
static const char *openai_key(const char *name) {
    static const struct {
        const char *from, *to;
    } alias[] = {{"arrowleft", "left"}, {"arrowright", "right"}, {"arrowup", "up"},
            {"arrowdown", "down"}};
    for (size_t i = 0; i < sizeof alias / sizeof alias[0]; i++)
        if (strcasecmp(name, alias[i].from) == 0)
            return alias[i].to;
    return name;
}

/* Whether name is a modifier (ctrl, alt, shift, cmd and their other names). */
static bool is_modifier(const char *name) {
    struct key_combo c;
    const char *mods[] = {name};
    return keys_parse_press("a", mods, 1, &c, NULL, 0) == 0;
}

/* "keys" held during a pointer action: holdKeys. */
static int openai_hold(json_t *action, json_t *act, char *err, size_t errlen) {
    json_t *keys = json_object_get(action, "keys");
    if (!keys || json_is_null(keys))
        return 0;
    if (!json_is_array(keys) || json_array_size(keys) > INPUT_HOLD_KEYS_MAX)
        FAIL("keys must be a list of at most %d key names held during the action, such as "
             "[\"SHIFT\"]",
                INPUT_HOLD_KEYS_MAX);
    json_t *list = json_array();
    json_object_set_new(act, "holdKeys", list);
    size_t i;
    json_t *k;
    json_array_foreach(keys, i, k) {
        char what[32];
        snprintf(what, sizeof what, "keys[%zu]", i);
        if (!json_is_string(k))
            FAIL("%s must be a key name such as \"SHIFT\"", what);
        const char *name = openai_key(json_string_value(k));
        if (check_key(name, what, err, errlen) < 0)
            return -EINVAL;
        json_array_append_new(list, json_string(name));
    }
    return 0;
}

/* keypress: the modifiers held while each other key is tapped, in order. */
static int openai_keypress(struct tool_req *t, json_t *action, int from, char *err, size_t errlen) {
    json_t *keys = json_object_get(action, "keys");
    if (!json_is_array(keys) || json_array_size(keys) == 0 || json_array_size(keys) > 16)
        FAIL("keys must be a list of 1 to 16 key names pressed together, such as "
             "[\"CTRL\", \"C\"] or [\"ENTER\"]");
    json_t *mods = json_array();
    const char *plain[16];
    int nplain = 0;
    size_t i;
    json_t *k;
    json_array_foreach(keys, i, k) {
        char what[32];
        snprintf(what, sizeof what, "keys[%zu]", i);
        const char *name = json_is_string(k) ? openai_key(json_string_value(k)) : NULL;
        if (!name || check_key(name, what, err, errlen) < 0) {
            if (!name)
                snprintf(err, errlen, "%s must be a key name such as \"ENTER\"", what);
            json_decref(mods);
            return -EINVAL;
        }
        if (is_modifier(name))
            json_array_append_new(mods, json_string(name));
        else
            plain[nplain++] = name;
    }
    if (nplain == 0) {
        /* Only modifiers: the last is the key. */
        size_t n = json_array_size(mods);
        plain[nplain++] = json_string_value(json_array_get(mods, n - 1));
        json_t *rest = json_array();
        for (size_t j = 0; j + 1 < n; j++)
            json_array_append(rest, json_array_get(mods, j));
        json_t *a = json_pack("{s:s, s:s, s:o}", "type", "key", "key", plain[0], "modifiers", rest);
        json_decref(mods);
        add(t, a, from);
        return 0;
    }
    for (int j = 0; j < nplain; j++)
        add(t, json_pack("{s:s, s:s, s:O}", "type", "key", "key", plain[j], "modifiers", mods),
                from);
    json_decref(mods);
    return 0;
}

static int openai_scroll(struct tool_req *t, json_t *action, int from, char *err, size_t errlen) {
    double x, y;
    if (read_xy(t, action, "scroll", &x, &y, err, errlen) < 0)
        return -EINVAL;
    const char *axes[] = {"scroll_y", "scroll_x"};
    const char *dirs[2][2] = {{"down", "up"}, {"right", "left"}};
    int clicks[2];
    for (int i = 0; i < 2; i++) {
        json_t *v = json_object_get(action, axes[i]);
        double d = json_number_value(v);
        if (!json_is_number(v) || !isfinite(d))
            FAIL("%s must be a number: pixels to scroll (positive: %s)", axes[i], dirs[i][0]);
        double n = fabs(d) / WHEEL_PX;
        clicks[i] = d == 0 ? 0 : n < 1 ? 1 : (int)lround(n);
        if (clicks[i] > INPUT_SCROLL_MAX)
            FAIL("%s is %g pixels, more than %d wheel clicks of %d pixels: scroll less at "
                 "a time",
                    axes[i], d, INPUT_SCROLL_MAX, WHEEL_PX);
    }
    bool any = false;
    for (int i = 0; i < 2; i++) {
        if (!clicks[i])
            continue;
        double d = json_number_value(json_object_get(action, axes[i]));
        json_t *a = pointer_act(t, "scroll", true, x, y);
        json_object_set_new(a, "direction", json_string(dirs[i][d > 0 ? 0 : 1]));
        json_object_set_new(a, "amount", json_integer(clicks[i]));
        if (openai_hold(action, a, err, errlen) < 0) {
            json_decref(a);
            return -EINVAL;
        }
        add(t, a, from);
        any = true;
    }
    if (!any)
        add(t, pointer_act(t, "move", true, x, y), from);
    return 0;
}

static int openai_pointer(
        struct tool_req *t, json_t *action, const char *type, int from, char *err, size_t errlen) {
    double x, y;
    if (read_xy(t, action, type, &x, &y, err, errlen) < 0)
        return -EINVAL;
    bool move = strcmp(type, "move") == 0;
    json_t *a = pointer_act(t, move ? "move" : "click", true, x, y);
    if (!move) {
        const char *button = "left";
        if (strcmp(type, "click") == 0) {
            button = json_string_value(json_object_get(action, "button"));
            if (!button || (strcmp(button, "left") != 0 && strcmp(button, "right") != 0 &&
                                   strcmp(button, "wheel") != 0 && strcmp(button, "back") != 0 &&
                                   strcmp(button, "forward") != 0)) {
                json_decref(a);
                FAIL("button must be left, right, wheel, back or forward");
            }
        }
        json_object_set_new(
                a, "button", json_string(strcmp(button, "wheel") == 0 ? "middle" : button));
        json_object_set_new(a, "clicks", json_integer(strcmp(type, "double_click") == 0 ? 2 : 1));
    }
    if (openai_hold(action, a, err, errlen) < 0) {
        json_decref(a);
        return -EINVAL;
    }
    add(t, a, from);
    return 0;
}

static int openai_drag(struct tool_req *t, json_t *action, int from, char *err, size_t errlen) {
    json_t *path = json_object_get(action, "path");
    if (!json_is_array(path) || json_array_size(path) < 2 || json_array_size(path) > INPUT_PATH_MAX)
        FAIL("path must be a list of 2 to %d points {\"x\", \"y\"}", INPUT_PATH_MAX);
    json_t *pts = json_array();
    size_t i;
    json_t *p;
    json_array_foreach(path, i, p) {
        double x, y;
        char what[32];
        snprintf(what, sizeof what, "path[%zu]", i);
        if (read_xy(t, p, what, &x, &y, err, errlen) < 0) {
            json_decref(pts);
            return -EINVAL;
        }
        json_array_append_new(pts, json_pack("{s:f, s:f}", "x", x, "y", y));
    }
    json_t *a = json_pack("{s:s, s:o}", "type", "drag", "path", pts);
    if (openai_hold(action, a, err, errlen) < 0) {
        json_decref(a);
        return -EINVAL;
    }
    add(t, a, from);
    return 0;
}

static int openai_one(struct tool_req *t, json_t *action, int from, char *err, size_t errlen) {
    const char *type = json_string_value(json_object_get(action, "type"));
    if (!json_is_object(action) || !type)
        FAIL("an action must be an object with a type: one of %s", openai_actions);
    if (strcmp(type, "screenshot") == 0)
        return 0;
    if (strcmp(type, "click") == 0 || strcmp(type, "double_click") == 0 ||
            strcmp(type, "move") == 0)
        return openai_pointer(t, action, type, from, err, errlen);
    if (strcmp(type, "drag") == 0)
        return openai_drag(t, action, from, err, errlen);
    if (strcmp(type, "scroll") == 0)
        return openai_scroll(t, action, from, err, errlen);
    if (strcmp(type, "keypress") == 0)
        return openai_keypress(t, action, from, err, errlen);
    if (strcmp(type, "type") == 0) {
        json_t *text = json_object_get(action, "text");
        if (!json_is_string(text))
            FAIL("text must be the text to type");
        add_text(t, json_string_value(text), json_string_length(text), from);
        return 0;
    }
    if (strcmp(type, "wait") == 0) {
        add(t, json_pack("{s:s, s:i}", "type", "wait", "ms", OPENAI_WAIT_MS), from);
        return 0;
    }
    FAIL("type \"%.64s\" is not a computer action; the actions are %s", type, openai_actions);
}

static void api_tools_openai(struct req *r) {
    json_t *action = json_object_get(r->json, "action");
    json_t *list = json_object_get(r->json, "actions");
    bool has_action = action && !json_is_null(action);
    bool has_list = list && !json_is_null(list);
    if (has_action == has_list) {
        reply_error(r, ERR_INVALID_PARAMETER,
                "give a computer_call's action (an object) or its actions (a list), one of them");
        return;
    }
    if (has_list && (!json_is_array(list) || json_array_size(list) > 64)) {
        reply_error(r, ERR_INVALID_PARAMETER, "actions must be a list of at most 64 actions");
        return;
    }
    struct tool_req t;
    if (!tool_start(&t, r))
        return;
    char err[1024];
    int ran = 1;
    if (has_action) {
        if (openai_one(&t, action, 0, err, sizeof err) < 0)
            ran = 0;
    } else {
        size_t i;
        json_t *a;
        json_array_foreach(list, i, a) {
            char e[900];
            if (openai_one(&t, a, (int)i, e, sizeof e) < 0) {
                snprintf(err, sizeof err, "actions[%zu]: %s", i, e);
                ran = 0;
                break;
            }
        }
    }
    t.list = has_list;
    if (ran)
        ran = run_batch(&t, err, sizeof err);
    json_decref(t.acts);
    if (ran < 0)
        return;
    /* The model gets the screen as it is now, with the error when there is one. */
    char *b64;
    if (ran == 0)
        t.settle = false;
    if (take_image(&t, NULL, &b64) < 0)
        return;
    char prefix[48];
    snprintf(prefix, sizeof prefix, "data:%s;base64,", img_format_mime(t.format));
    json_t *answer = json_pack("{s:{s:s, s:s}, s:o}", "output", "type", "computer_screenshot",
            "image_url", IMAGE_MARK, "display", display_json(&t));
    if (!ran)
        json_object_set_new(answer, "error", json_string(err));
    reply_image(r, answer, prefix, b64);
    free(b64);
}

const struct route api_tools_routes[] = {
        {"POST", "/computeruse/tools/anthropic", api_tools_anthropic, ROUTE_JSON},
        {"POST", "/computeruse/tools/openai", api_tools_openai, ROUTE_JSON},
        {NULL, NULL, NULL, 0},
};
