/*
 * acts: parsing and running one input action (see acts.h). The field names
 * and sentences are the single routes'; a batch prefixes them with
 * actions[N].
 */
#include "acts.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "params.h"
#include "spec.h"

#define COORD_MAX SHOT_MAX_COORD
#define MODS_MAX  ACT_MODS_MAX
/* The longest one type action may take by its characters and delay. */
#define TYPE_TIME_MAX_MS (10L * 60 * 1000)
/* What admission counts for an action with no long part (a click, a key). */
#define ACT_BASE_MS 100L

#define FAIL(f, ...)                                                                               \
    do {                                                                                           \
        *field = (f);                                                                              \
        snprintf(err, errlen, __VA_ARGS__);                                                        \
        return -EINVAL;                                                                            \
    } while (0)

/* Runs a body_* or keys_* call that fills err; on failure, names f as the field. */
#define TRY(f, call)                                                                               \
    do {                                                                                           \
        if ((call) < 0) {                                                                          \
            *field = (f);                                                                          \
            return -EINVAL;                                                                        \
        }                                                                                          \
    } while (0)

static const struct {
    const char *name;
    enum act_kind kind;
} kinds[] = {
        {"move", ACT_MOVE},
        {"click", ACT_CLICK},
        {"drag", ACT_DRAG},
        {"scroll", ACT_SCROLL},
        {"type", ACT_TYPE},
        {"key", ACT_KEY},
        {"hotkey", ACT_HOTKEY},
        {"keyDown", ACT_KEY_DOWN},
        {"keyUp", ACT_KEY_UP},
        {"buttonDown", ACT_BUTTON_DOWN},
        {"buttonUp", ACT_BUTTON_UP},
        {"releaseAll", ACT_RELEASE_ALL},
        {"wait", ACT_WAIT},
};

int act_kind_of(const char *type, enum act_kind *kind) {
    for (size_t i = 0; type && i < sizeof kinds / sizeof kinds[0]; i++) {
        if (strcmp(type, kinds[i].name) == 0) {
            *kind = kinds[i].kind;
            return 0;
        }
    }
    return -EINVAL;
}

static int read_xy(json_t *obj, const char *kx, const char *ky, bool required, double *x, double *y,
        const char **field, char *err, size_t errlen) {
    int rx = body_number(obj, kx, required, -COORD_MAX, COORD_MAX, x, err, errlen);
    if (rx < 0) {
        *field = kx;
        return -EINVAL;
    }
    int ry = body_number(obj, ky, required || rx > 0, -COORD_MAX, COORD_MAX, y, err, errlen);
    if (ry < 0) {
        *field = ky;
        return -EINVAL;
    }
    if (ry > 0 && rx == 0)
        FAIL(kx, "%s is required with %s: a number from %d to %d", kx, ky, -COORD_MAX, COORD_MAX);
    return rx > 0;
}

static int read_button(json_t *obj, int *button, const char **field, char *err, size_t errlen) {
    const char *name = NULL;
    TRY("button", body_string(obj, "button", false, &name, NULL, err, errlen));
    TRY("button", keys_parse_button(name, button, err, errlen));
    return 0;
}

/* One key name (keyDown, keyUp, holdKeys) as keyboard/key reads it. */
static int read_key_name(const char *name, KeySym *sym, char *err, size_t errlen) {
    struct key_combo c;
    if (keys_parse_press(name, NULL, 0, &c, err, errlen) < 0)
        return -EINVAL;
    *sym = c.key;
    return 0;
}

static int read_hold_keys(
        struct act *a, json_t *obj, const char **field, char *err, size_t errlen) {
    json_t *list = json_object_get(obj, "holdKeys");
    if (!list || json_is_null(list))
        return 0;
    if (!json_is_array(list) || json_array_size(list) > INPUT_HOLD_KEYS_MAX)
        FAIL("holdKeys",
                "holdKeys must be a list of at most %d key names such as [\"shift\", "
                "\"ctrl\"]",
                INPUT_HOLD_KEYS_MAX);
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) {
        char e[400];
        if (!json_is_string(v))
            FAIL("holdKeys", "holdKeys[%zu] must be a key name such as \"shift\"", i);
        if (read_key_name(json_string_value(v), &a->hold[a->nhold], e, sizeof e) < 0)
            FAIL("holdKeys", "holdKeys[%zu]: %s", i, e);
        a->nhold++;
    }
    return 0;
}

static int read_path(struct act *a, json_t *list, const char **field, char *err, size_t errlen) {
    if (!json_is_array(list) || json_array_size(list) < 2 || json_array_size(list) > INPUT_PATH_MAX)
        FAIL("path", "path must be a list of 2 to %d points {\"x\", \"y\"}", INPUT_PATH_MAX);
    a->npath = (int)json_array_size(list);
    a->path = calloc((size_t)a->npath, sizeof *a->path);
    if (!a->path)
        FAIL("path", "out of memory for a path of %d points", a->npath);
    for (int i = 0; i < a->npath; i++) {
        json_t *p = json_array_get(list, (size_t)i);
        char e[200];
        const char *f = NULL;
        if (!json_is_object(p))
            FAIL("path", "path[%d] must be a point {\"x\", \"y\"}", i);
        if (read_xy(p, "x", "y", true, &a->path[i][0], &a->path[i][1], &f, e, sizeof e) < 0)
            FAIL("path", "path[%d].%s", i, e);
    }
    return 0;
}

static int parse_drag(struct act *a, json_t *obj, const char **field, char *err, size_t errlen) {
    json_t *path = json_object_get(obj, "path");
    if (path && !json_is_null(path)) {
        if (json_object_get(obj, "startX") || json_object_get(obj, "endX"))
            FAIL("path", "give either path or startX, startY, endX, endY, not both");
        return read_path(a, path, field, err, errlen);
    }
    a->npath = 2;
    a->path = calloc(2, sizeof *a->path);
    if (!a->path)
        FAIL("path", "out of memory");
    if (read_xy(obj, "startX", "startY", true, &a->path[0][0], &a->path[0][1], field, err, errlen) <
                    0 ||
            read_xy(obj, "endX", "endY", true, &a->path[1][0], &a->path[1][1], field, err, errlen) <
                    0)
        return -EINVAL;
    return 0;
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

static int parse_type(struct act *a, json_t *obj, const char **field, char *err, size_t errlen) {
    TRY("text", body_string(obj, "text", true, &a->text, &a->len, err, errlen));
    TRY("delay", body_int(obj, "delay", false, 0, TYPE_DELAY_MAX, &a->delay, err, errlen));
    TRY("text", keys_check_text(a->text, a->len, err, errlen));
    long chars = (long)count_chars(a->text, a->len);
    if (chars * a->delay > TYPE_TIME_MAX_MS)
        FAIL("delay",
                "text has %ld characters and delay is %d ms a character: typing would take "
                "%ld s, more than the limit of %ld s (10 minutes) for one request; send less "
                "text or a shorter delay",
                chars, a->delay, chars * a->delay / 1000, TYPE_TIME_MAX_MS / 1000);
    return 0;
}

static int parse_key(struct act *a, json_t *obj, const char **field, char *err, size_t errlen) {
    const char *key = NULL;
    const char *mods[MODS_MAX];
    size_t nmods = 0;
    TRY("key", body_string(obj, "key", true, &key, NULL, err, errlen));
    json_t *list = json_object_get(obj, "modifiers");
    if (list && !json_is_null(list)) {
        if (!json_is_array(list) || json_array_size(list) > MODS_MAX)
            FAIL("modifiers", "modifiers must be a list of at most 8 strings such as [\"ctrl\", "
                              "\"shift\"]");
        size_t i;
        json_t *v;
        json_array_foreach(list, i, v) {
            if (!json_is_string(v))
                FAIL("modifiers",
                        "modifiers must be a list of strings such as [\"ctrl\", \"shift\"]");
            mods[nmods++] = json_string_value(v);
        }
    }
    TRY("key", keys_parse_press(key, mods, nmods, &a->combo, err, errlen));
    TRY("holdMs", body_int(obj, "holdMs", false, 0, INPUT_HOLD_MAX_MS, &a->hold_ms, err, errlen));
    return 0;
}

static int parse_click(struct act *a, json_t *obj, const char **field, char *err, size_t errlen) {
    bool dbl = false;
    if (read_xy(obj, "x", "y", true, &a->x, &a->y, field, err, errlen) < 0)
        return -EINVAL;
    TRY("double", body_bool(obj, "double", &dbl, err, errlen));
    a->clicks = dbl ? 2 : 1;
    TRY("clicks", body_int(obj, "clicks", false, 1, INPUT_CLICKS_MAX, &a->clicks, err, errlen));
    return read_button(obj, &a->button, field, err, errlen);
}

static int parse_scroll(struct act *a, json_t *obj, const char **field, char *err, size_t errlen) {
    const char *s = NULL;
    if (read_xy(obj, "x", "y", true, &a->x, &a->y, field, err, errlen) < 0)
        return -EINVAL;
    TRY("direction", body_string(obj, "direction", true, &s, NULL, err, errlen));
    TRY("direction", keys_parse_direction(s, &a->button, err, errlen));
    a->amount = 1;
    TRY("amount", body_int(obj, "amount", false, 0, INPUT_SCROLL_MAX, &a->amount, err, errlen));
    if (a->amount == 0)
        a->amount = 1; /* Daytona's rule: 0 means one click */
    return 0;
}

static int parse_kind(struct act *a, json_t *obj, const char **field, char *err, size_t errlen) {
    const char *s = NULL;
    switch (a->kind) {
    case ACT_POINTER:
    case ACT_RELEASE_ALL:
        return 0;
    case ACT_MOVE:
        return read_xy(obj, "x", "y", true, &a->x, &a->y, field, err, errlen) < 0 ? -EINVAL : 0;
    case ACT_CLICK:
        return parse_click(a, obj, field, err, errlen);
    case ACT_DRAG:
        if (parse_drag(a, obj, field, err, errlen) < 0)
            return -EINVAL;
        return read_button(obj, &a->button, field, err, errlen);
    case ACT_SCROLL:
        return parse_scroll(a, obj, field, err, errlen);
    case ACT_TYPE:
        return parse_type(a, obj, field, err, errlen);
    case ACT_KEY:
        return parse_key(a, obj, field, err, errlen);
    case ACT_HOTKEY:
        TRY("keys", body_string(obj, "keys", true, &s, NULL, err, errlen));
        TRY("keys", keys_parse_hotkey(s, &a->combo, err, errlen));
        return 0;
    case ACT_KEY_DOWN:
    case ACT_KEY_UP:
        TRY("key", body_string(obj, "key", true, &s, NULL, err, errlen));
        TRY("key", read_key_name(s, &a->combo.key, err, errlen));
        return 0;
    case ACT_BUTTON_DOWN:
    case ACT_BUTTON_UP: {
        int r = read_xy(obj, "x", "y", false, &a->x, &a->y, field, err, errlen);
        if (r < 0)
            return -EINVAL;
        a->has_xy = r > 0;
        return read_button(obj, &a->button, field, err, errlen);
    }
    case ACT_WAIT:
        if (json_object_get(obj, "until")) {
            a->screen_wait = true;
            if (wait_parse(obj, &a->wait, &a->wait_region, err, errlen) < 0) {
                /* Its sentence starts with the member it is about. */
                static const char *const members[] = {
                        "until", "stableMs", "timeoutMs", "since", "region"};
                *field = "until";
                for (size_t i = 0; i < sizeof members / sizeof members[0]; i++)
                    if (strncmp(err, members[i], strlen(members[i])) == 0)
                        *field = members[i];
                return -EINVAL;
            }
            if (json_object_get(obj, "ms"))
                FAIL("ms", "ms and until exclude each other: give ms (a pause) or until (a wait "
                           "for the screen, API.md §8)");
            return 0;
        }
        TRY("ms", body_int(obj, "ms", true, 0, ACT_WAIT_MAX_MS, &a->wait_ms, err, errlen));
        return 0;
    }
    return 0;
}

/* The kinds whose coordinates a space applies to, and that may hold keys during the action. */
static bool pointer_kind(enum act_kind k) {
    return k == ACT_MOVE || k == ACT_CLICK || k == ACT_DRAG || k == ACT_SCROLL ||
           k == ACT_BUTTON_DOWN || k == ACT_BUTTON_UP;
}

/* The spec of an action of kind; the single type route's also has method and pasteKeys. */
static const struct spec *kind_spec(enum act_kind kind, bool single) {
    static const struct spec *const specs[] = {
            [ACT_POINTER] = &spec_pointer,
            [ACT_MOVE] = &spec_move,
            [ACT_CLICK] = &spec_click,
            [ACT_DRAG] = &spec_drag,
            [ACT_SCROLL] = &spec_scroll,
            [ACT_TYPE] = &spec_type_action,
            [ACT_KEY] = &spec_key,
            [ACT_HOTKEY] = &spec_hotkey,
            [ACT_KEY_DOWN] = &spec_key_name,
            [ACT_KEY_UP] = &spec_key_name,
            [ACT_BUTTON_DOWN] = &spec_button,
            [ACT_BUTTON_UP] = &spec_button,
            [ACT_RELEASE_ALL] = &spec_release_all,
            [ACT_WAIT] = &spec_wait_action,
    };
    return kind == ACT_TYPE && single ? &spec_type_route : specs[kind];
}

/* The member a spec_check sentence is about: the word it starts with, as obj or s names it. */
static const char *member_named(json_t *obj, const struct spec *s, const char *err) {
    size_t n = strcspn(err, " .[");
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        if (strlen(key) == n && strncmp(key, err, n) == 0)
            return key;
    }
    for (const struct spec_field *f = s->fields; f->name; f++) {
        if (strlen(f->name) == n && strncmp(f->name, err, n) == 0)
            return f->name;
    }
    return "";
}

int act_parse(json_t *obj, enum act_kind kind, const struct space *dflt, bool dflt_spaced,
        struct act *a, const char **field, char *err, size_t errlen) {
    memset(a, 0, sizeof *a);
    a->kind = kind;
    a->combo.key = NoSymbol;
    *field = "";
    const struct spec *s = kind_spec(kind, !dflt);
    if (spec_check(obj, s, dflt ? "type" : NULL, err, errlen) < 0) {
        *field = member_named(obj, s, err);
        return -EINVAL;
    }
    if (parse_kind(a, obj, field, err, errlen) < 0)
        return -EINVAL;
    if (!pointer_kind(kind) && kind != ACT_POINTER)
        return 0;
    int sp = space_parse_json(obj, 0, 0, &a->space, err, errlen);
    if (sp < 0) {
        *field = strncmp(err, "region", 6) == 0 ? "region" : "space";
        return -EINVAL;
    }
    a->spaced = sp > 0;
    if (!a->spaced && dflt && dflt_spaced) {
        a->space = *dflt;
        a->spaced = true;
    }
    if (kind == ACT_MOVE || kind == ACT_CLICK || kind == ACT_DRAG || kind == ACT_SCROLL)
        return read_hold_keys(a, obj, field, err, errlen);
    return 0;
}

long act_cost_ms(const struct act *a) {
    switch (a->kind) {
    case ACT_CLICK:
        return ACT_BASE_MS + 50L * (a->clicks - 1);
    case ACT_DRAG:
        /* Paced steps of 10 ms, and up to a second waiting for a frozen pointer. */
        return ACT_BASE_MS + 10L * (a->npath < 12 ? 12 : a->npath) + 1000;
    case ACT_TYPE: {
        /* Without a delay a character takes well under 0.1 ms; a new keymap binding up to
         * 50 ms a batch, counted in the base. */
        long chars = (long)count_chars(a->text, a->len);
        return ACT_BASE_MS + chars * a->delay + chars / 10;
    }
    case ACT_KEY:
        return ACT_BASE_MS + a->hold_ms;
    case ACT_WAIT:
        return ACT_BASE_MS + (a->screen_wait ? a->wait.timeout_ms : a->wait_ms);
    default:
        return ACT_BASE_MS;
    }
}

bool act_answers_xy(const struct act *a) {
    return a->kind == ACT_POINTER || pointer_kind(a->kind);
}

static int clamp_floor(double v) {
    double f = floor(v);
    return f < -COORD_MAX ? -COORD_MAX : f > COORD_MAX ? COORD_MAX : (int)f;
}

static void to_screen(const struct act *a, double x, double y, int *sx, int *sy) {
    if (a->spaced) {
        space_to_screen(&a->space, x, y, sx, sy);
    } else {
        *sx = clamp_floor(x);
        *sy = clamp_floor(y);
    }
}

static void from_screen(const struct act *a, int sx, int sy, int *x, int *y) {
    if (a->spaced) {
        space_from_screen(&a->space, sx, sy, x, y);
    } else {
        *x = sx;
        *y = sy;
    }
}

static int run_drag(struct input *in, struct act *a, int *sx, int *sy) {
    int(*pts)[2] = calloc((size_t)a->npath, sizeof *pts);
    if (!pts)
        return -ENOMEM;
    for (int i = 0; i < a->npath; i++)
        to_screen(a, a->path[i][0], a->path[i][1], &pts[i][0], &pts[i][1]);
    *sx = pts[a->npath - 1][0];
    *sy = pts[a->npath - 1][1];
    int rc = input_hold_keys(in, a->hold, a->nhold);
    if (rc == 0)
        rc = input_drag_path(in, (const int(*)[2])pts, a->npath, a->button);
    free(pts);
    int last = a->npath - 1;
    a->from[0] = clamp_floor(a->path[0][0]);
    a->from[1] = clamp_floor(a->path[0][1]);
    a->to[0] = clamp_floor(a->path[last][0]);
    a->to[1] = clamp_floor(a->path[last][1]);
    return rc;
}

int act_run(struct input *in, struct act *a, bool later) {
    int rc = 0, sx = 0, sy = 0;
    bool moved = true; /* the action sent the pointer to (sx, sy) */
    if (a->spaced && a->space.region.width == 0) {
        rc = input_screen_size(in, &a->space.region.width, &a->space.region.height);
        if (rc < 0)
            return rc;
    }
    to_screen(a, a->x, a->y, &sx, &sy);
    switch (a->kind) {
    case ACT_POINTER:
        moved = false;
        break;
    case ACT_MOVE:
        rc = input_hold_keys(in, a->hold, a->nhold);
        if (rc == 0)
            rc = input_move(in, sx, sy);
        break;
    case ACT_CLICK:
        rc = input_hold_keys(in, a->hold, a->nhold);
        if (rc == 0)
            rc = input_click_n(in, sx, sy, a->button, a->clicks);
        break;
    case ACT_DRAG:
        rc = run_drag(in, a, &sx, &sy);
        break;
    case ACT_SCROLL:
        rc = input_hold_keys(in, a->hold, a->nhold);
        if (rc == 0)
            rc = input_scroll(in, sx, sy, a->button, a->amount);
        break;
    case ACT_BUTTON_DOWN:
    case ACT_BUTTON_UP:
        moved = a->has_xy;
        rc = input_button_set(in, a->button, a->kind == ACT_BUTTON_DOWN, a->has_xy, sx, sy);
        break;
    case ACT_TYPE:
        rc = input_type(in, a->text, a->len, a->delay);
        if (rc == -EBUSY)
            snprintf(a->held, sizeof a->held, "%s", input_held_modifier(in));
        return rc;
    case ACT_KEY:
        return input_key_hold(in, &a->combo, a->hold_ms);
    case ACT_HOTKEY:
        return input_key(in, &a->combo);
    case ACT_KEY_DOWN:
    case ACT_KEY_UP:
        return input_key_set(in, a->combo.key, a->kind == ACT_KEY_DOWN);
    case ACT_RELEASE_ALL:
        rc = input_release_sticky(in, NULL);
        return rc < 0 ? rc : input_release_all(in);
    case ACT_WAIT:
        if (!a->screen_wait)
            return input_pause(in, a->wait_ms);
        /* What the actions before sent reaches the server first; then the screen may settle. */
        rc = input_pause(in, 0);
        char werr[160];
        if (rc == 0 &&
                (!a->damage || damage_wait(a->damage, &a->wait, &a->waited, werr, sizeof werr) < 0))
            rc = -ENXIO;
        if (rc == 0 && a->waited.cancelled)
            rc = -ECANCELED;
        return rc;
    }
    if (rc < 0)
        return rc;
    if (later) {
        rc = input_pointer_ask(in, &a->ticket);
        a->asked = rc == 0;
        return rc;
    }
    rc = moved ? input_pointer_at(in, sx, sy, &a->sx, &a->sy) : input_pointer(in, &a->sx, &a->sy);
    from_screen(a, a->sx, a->sy, &a->px, &a->py);
    return rc;
}

int act_answer_later(struct input *in, struct act *a) {
    if (!a->asked)
        return 0;
    a->asked = false;
    int rc = input_pointer_answer(in, a->ticket, &a->sx, &a->sy);
    from_screen(a, a->sx, a->sy, &a->px, &a->py);
    return rc;
}

void act_free(struct act *a) {
    free(a->path);
    a->path = NULL;
}
