/*
 * spec: the request shapes' tables, their check and their JSON Schema (see
 * spec.h). Every bound is the parser's own constant.
 */
#include "spec.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "a11y.h"
#include "acts.h"
#include "apps.h"
#include "bodies.h"
#include "damage.h"
#include "input.h"
#include "params.h"
#include "space.h"

#define STR_(x) #x
#define NUM_(x) STR_(x)

/* Field makers: name, required, then what the type needs, an example and a description. */
#define F_INT(n, req, lo, hi, ex, d)                                                               \
    {                                                                                              \
        .name = (n), .type = SPEC_INT, .required = (req), .min = (lo), .max = (hi),                \
        .example = (ex), .description = (d)                                                        \
    }
#define F_NUM(n, req, lo, hi, ex, d)                                                               \
    {                                                                                              \
        .name = (n), .type = SPEC_NUM, .required = (req), .min = (lo), .max = (hi),                \
        .example = (ex), .description = (d)                                                        \
    }
#define F_STR(n, req, ch, ex, d)                                                                   \
    {                                                                                              \
        .name = (n), .type = SPEC_STR, .required = (req), .choices = (ch), .example = (ex),        \
        .description = (d)                                                                         \
    }
#define F_BOOL(n, ex, d)                                                                           \
    { .name = (n), .type = SPEC_BOOL, .example = (ex), .description = (d) }
#define F_LIST(n, req, lo, hi, it, obj, acc, ex, d)                                                \
    {                                                                                              \
        .name = (n), .type = SPEC_ARRAY, .required = (req), .min = (lo), .max = (hi),              \
        .items = (it), .object = (obj), .accepts = (acc), .example = (ex), .description = (d)      \
    }
#define F_OBJ(n, req, obj, acc, ex, d)                                                             \
    {                                                                                              \
        .name = (n), .type = SPEC_OBJECT, .required = (req), .object = (obj), .accepts = (acc),    \
        .example = (ex), .description = (d)                                                        \
    }
#define F_END                                                                                      \
    { .name = NULL }

static const char *const buttons[] = {"left", "right", "middle", "back", "forward", NULL};
static const char *const directions[] = {"up", "down", "left", "right", NULL};
static const char *const untils[] = {"stable", "changed", NULL};
static const char *const formats[] = {"png", "jpeg", "webp", NULL};
static const char *const fits[] = {"xga", "wxga", "fwxga", NULL};
static const char *const selections[] = {"clipboard", "primary", NULL};
static const char *const scopes[] = {"focused", "pid", "all", NULL};
static const char *const matches[] = {"exact", "substring", "regex", NULL};
static const char *const methods[] = {"type", "paste", NULL};
static const char *const window_actions[] = {
        "activate", "close", "minimize", "maximize", "restore", "geometry", NULL};
static const char *const window_types[] = {"normal", "dialog", "utility", "dock", "desktop",
        "splash", "menu", "toolbar", "notification", "dropdown_menu", "popup_menu", "tooltip",
        "combo", "dnd", NULL};

/* ---- shared members ---- */

static const struct spec_field space_fields[] = {
        F_INT("width", true, 1, SPACE_MAX_SIDE, "1024", "The image's width in pixels"),
        F_INT("height", true, 1, SPACE_MAX_SIDE, "768", "The image's height in pixels"),
        F_END,
};
static const struct spec spec_space = {space_fields, NULL, false};

static const struct spec_field rect_fields[] = {
        F_INT("x", true, -SHOT_MAX_COORD, SHOT_MAX_COORD, "0", "Left edge, screen pixels"),
        F_INT("y", true, -SHOT_MAX_COORD, SHOT_MAX_COORD, "0", "Top edge, screen pixels"),
        F_INT("width", true, 1, SHOT_MAX_SIDE, "100", "Width in screen pixels"),
        F_INT("height", true, 1, SHOT_MAX_SIDE, "100", "Height in screen pixels"),
        F_END,
};
static const struct spec spec_rect = {rect_fields, NULL, false};

static const struct spec_field point_fields[] = {
        F_NUM("x", true, -SHOT_MAX_COORD, SHOT_MAX_COORD, "10", "Horizontal pixel"),
        F_NUM("y", true, -SHOT_MAX_COORD, SHOT_MAX_COORD, "10", "Vertical pixel"),
        F_END,
};
static const struct spec spec_point = {point_fields, NULL, false};

#define SPACE_                                                                                     \
    F_OBJ("space", false, &spec_space, "an object {\"width\", \"height\"}",                        \
            "{\"width\": 1024, \"height\": 768}",                                                  \
            "The image the coordinates are pixels of (e.g. a screenshot taken with fit), as "      \
            "{width, height}; they are mapped to the screen. Absent: screen pixels.")
#define REGION_                                                                                    \
    F_OBJ("region", false, &spec_rect, "an object {\"x\", \"y\", \"width\", \"height\"}",          \
            "{\"x\": 0, \"y\": 0, \"width\": 100, \"height\": 100}",                               \
            "With space: the screen rectangle (screen pixels) the image shows; default the "       \
            "whole screen.")
#define HOLD_                                                                                      \
    F_LIST("holdKeys", false, 0, INPUT_HOLD_KEYS_MAX, SPEC_STR, NULL,                              \
            "a list of at most " NUM_(INPUT_HOLD_KEYS_MAX) " key names such as [\"shift\", "       \
                                                           "\"ctrl\"]",                            \
            "[\"shift\"]", "Keys held during the action, e.g. [\"shift\"]")
#define COORD_(n, req, d) F_NUM(n, req, -SHOT_MAX_COORD, SHOT_MAX_COORD, "10", d)
#define X_(req)           COORD_("x", req, "Horizontal pixel, from the left, in space (or the screen)")
#define Y_(req)           COORD_("y", req, "Vertical pixel, from the top, in space (or the screen)")
#define BUTTON_           F_STR("button", false, buttons, "\"left\"", "The mouse button; default left")

/* ---- input (API.md §4, §5, §9) ---- */

static const struct spec_field pointer_fields[] = {SPACE_, REGION_, F_END};
const struct spec spec_pointer = {pointer_fields, NULL, false};

static const struct spec_field move_fields[] = {X_(true), Y_(true), SPACE_, REGION_, HOLD_, F_END};
const struct spec spec_move = {move_fields, NULL, false};

static const struct spec_field click_fields[] = {
        X_(true),
        Y_(true),
        BUTTON_,
        F_INT("clicks", false, 1, INPUT_CLICKS_MAX, "1", "How many clicks: 2 double-clicks"),
        F_BOOL("double", "false", "Daytona's double click: true is clicks 2"),
        SPACE_,
        REGION_,
        HOLD_,
        F_END,
};
const struct spec spec_click = {click_fields, NULL, false};

static const struct spec_field drag_fields[] = {
        COORD_("startX", false, "Where the drag starts, horizontal pixel"),
        COORD_("startY", false, "Where the drag starts, vertical pixel"),
        COORD_("endX", false, "Where the drag ends, horizontal pixel"),
        COORD_("endY", false, "Where the drag ends, vertical pixel"),
        F_LIST("path", false, 2, INPUT_PATH_MAX, SPEC_OBJECT, &spec_point,
                "a list of 2 to " NUM_(INPUT_PATH_MAX) " points {\"x\", \"y\"}",
                "[{\"x\": 10, \"y\": 10}, {\"x\": 20, \"y\": 20}]",
                "The points the pointer follows with the button held, in order"),
        BUTTON_,
        SPACE_,
        REGION_,
        HOLD_,
        F_END,
};
const struct spec spec_drag = {
        drag_fields, "Give either path or all of startX, startY, endX, endY, not both.", false};

static const struct spec_field scroll_fields[] = {
        X_(true),
        Y_(true),
        F_STR("direction", true, directions, "\"down\"", "Which way the wheel turns"),
        F_INT("amount", false, 0, INPUT_SCROLL_MAX, "1", "Wheel clicks; 0 or absent: 1"),
        SPACE_,
        REGION_,
        HOLD_,
        F_END,
};
const struct spec spec_scroll = {scroll_fields, NULL, false};

static const struct spec_field button_fields[] = {
        X_(false), Y_(false), BUTTON_, SPACE_, REGION_, F_END};
const struct spec spec_button = {
        button_fields, "x and y go together; without them the pointer stays.", false};

#define TEXT_ F_STR("text", true, NULL, "\"hello\"", "The text, UTF-8")
#define DELAY_                                                                                     \
    F_INT("delay", false, 0, TYPE_DELAY_MAX, "0", "Milliseconds to wait after each character")
#define TYPE_RULES                                                                                 \
    "Control characters other than newline are refused (use key); the characters times delay "     \
    "may take at most 10 minutes."

static const struct spec_field type_action_fields[] = {TEXT_, DELAY_, F_END};
const struct spec spec_type_action = {type_action_fields, TYPE_RULES, false};

static const struct spec_field type_route_fields[] = {
        TEXT_,
        DELAY_,
        F_STR("method", false, methods, "\"type\"",
                "type: key by key (default); paste: through the clipboard and pasteKeys"),
        F_STR("pasteKeys", false, NULL, "\"ctrl+v\"", "With method paste: the chord that pastes"),
        F_END,
};
const struct spec spec_type_route = {type_route_fields, TYPE_RULES, false};

static const struct spec_field key_fields[] = {
        F_STR("key", true, NULL, "\"enter\"",
                "enter, escape, tab, backspace, up, f5, a, or an X keysym name"),
        {.name = "modifiers",
                .type = SPEC_ARRAY,
                .max = ACT_MODS_MAX,
                .items = SPEC_STR,
                .unique = true,
                .accepts = "a list of at most " NUM_(ACT_MODS_MAX) " strings such as [\"ctrl\", "
                                                                   "\"shift\"]",
                .example = "[\"ctrl\"]",
                .description = "Held while the key is pressed: ctrl, alt, shift, cmd"},
        F_INT("holdMs", false, 0, INPUT_HOLD_MAX_MS, "0", "Milliseconds the key stays down"),
        F_END,
};
const struct spec spec_key = {key_fields, NULL, false};

static const struct spec_field hotkey_fields[] = {
        F_STR("keys", true, NULL, "\"ctrl+shift+t\"", "One chord: modifiers then a key, by +"),
        F_END,
};
const struct spec spec_hotkey = {hotkey_fields, NULL, false};

static const struct spec_field key_name_fields[] = {
        F_STR("key", true, NULL, "\"shift\"", "One key name"),
        F_END,
};
const struct spec spec_key_name = {key_name_fields, NULL, false};

static const struct spec_field none_fields[] = {F_END};
const struct spec spec_release_all = {none_fields, NULL, false};
const struct spec spec_none = {none_fields, NULL, true};

/* ---- waiting for the screen (§8) ---- */

#define WAIT_FIELDS_(until_required)                                                               \
    F_STR("until", until_required, untils, "\"stable\"",                                           \
            "stable: no change for stableMs; changed: a change since the frame since"),            \
            F_INT("stableMs", false, DAMAGE_STABLE_MIN_MS, DAMAGE_STABLE_MAX_MS, "300",            \
                    "How long the screen must not change, ms (default 300)"),                      \
            F_INT("timeoutMs", false, DAMAGE_TIMEOUT_MIN_MS, DAMAGE_TIMEOUT_MAX_MS, "5000",        \
                    "The longest wait, ms (default 5000); a timeout is not an error"),             \
            {.name = "since",                                                                      \
                    .type = SPEC_INT,                                                              \
                    .min = 0,                                                                      \
                    .max = 9223372036854775807.0,                                                  \
                    .accepts = "a frame id (an integer from 0 to 2^63-1)",                         \
                    .example = "0",                                                                \
                    .description = "A frameId from an answer; default: now"},                      \
            F_OBJ("region", false, &spec_rect, "an object {\"x\",\"y\",\"width\",\"height\"}",     \
                    "{\"x\": 0, \"y\": 0, \"width\": 100, \"height\": 100}",                       \
                    "Watch only this screen rectangle, screen pixels")

static const struct spec_field wait_fields[] = {WAIT_FIELDS_(true), F_END};
const struct spec spec_wait = {wait_fields, NULL, false};

static const struct spec_field wait_action_fields[] = {
        F_INT("ms", false, 0, ACT_WAIT_MAX_MS, "100", "A pause of this many milliseconds"),
        WAIT_FIELDS_(false),
        F_END,
};
const struct spec spec_wait_action = {
        wait_action_fields, "Give ms (a pause) or until (a screen wait).", false};

/* ---- batches (§9, §10) ---- */

static const struct spec_field settle_fields[] = {
        F_INT("stableMs", false, DAMAGE_STABLE_MIN_MS, DAMAGE_STABLE_MAX_MS, "300",
                "How long the screen must not change, ms"),
        F_INT("timeoutMs", false, DAMAGE_TIMEOUT_MIN_MS, DAMAGE_TIMEOUT_MAX_MS, "5000",
                "The longest wait, ms"),
        F_END,
};
static const struct spec spec_settle = {settle_fields, NULL, false};

#define FIT_FIELDS_                                                                                \
    F_STR("fit", false, fits, "\"xga\"",                                                           \
            "Size the image to fit xga (1024x768), wxga (1280x800) or fwxga (1366x768)"),          \
            F_INT("maxLongEdge", false, 1, SPACE_MAX_SIDE, "1280",                                 \
                    "Size the image so its long edge is at most this, pixels"),                    \
            F_INT("maxPixels", false, 1, (double)SPACE_MAX_SIDE *SPACE_MAX_SIDE, "1000000",        \
                    "Size the image to at most this many pixels"),                                 \
            F_NUM("scale", false, 0.1, 1.0, "0.5", "Scale the image by this factor")
#define SHOT_FIELDS_                                                                               \
    F_STR("format", false, formats, "\"png\"", "The image format (default png)"),                  \
            F_INT("quality", false, 1, 100, "85", "jpeg and webp quality"),                        \
            F_BOOL("showCursor", "false", "Draw the pointer into the image")

static const struct spec_field observe_shot_fields[] = {FIT_FIELDS_, SHOT_FIELDS_, F_END};
static const struct spec spec_observe_shot = {
        observe_shot_fields, "scale excludes fit, maxLongEdge and maxPixels.", false};

static const struct spec_field observe_fields[] = {
        F_OBJ("settle", false, &spec_settle, "an object {\"stableMs\"?, \"timeoutMs\"?}", "{}",
                "Wait for the screen to be stable after the actions"),
        F_OBJ("screenshot", false, &spec_observe_shot,
                "an object {\"format\"?, \"quality\"?, \"scale\"?, \"showCursor\"?}", "{}",
                "Take a screenshot after the actions (and the settle)"),
        F_END,
};
static const struct spec spec_observe = {observe_fields, NULL, false};

static const struct spec_field actions_fields[] = {
        F_LIST("actions", true, 0, BATCH_MAX, SPEC_OBJECT, NULL,
                "a list of at most " NUM_(BATCH_MAX) " actions {\"type\", ...}",
                "[{\"type\": \"move\", \"x\": 10, \"y\": 10}]",
                "The actions, in order: each an object with type (move, click, drag, scroll, "
                "type, key, hotkey, keyDown, keyUp, buttonDown, buttonUp, releaseAll, wait) and "
                "the members of the tool of that name"),
        SPACE_,
        REGION_,
        F_OBJ("observe", false, &spec_observe, "an object {\"settle\"?, \"screenshot\"?}", "{}",
                "What to do after the actions: settle and/or screenshot"),
        F_END,
};
const struct spec spec_actions = {actions_fields,
        "Every action is checked as its single route's body before any runs.", false};

/* ---- apps, windows, clipboard (§12, §15) ---- */

static const struct spec_field launch_fields[] = {
        F_LIST("argv", true, 1, ARGV_MAX, SPEC_STR, NULL,
                "a list of 1 to " NUM_(ARGV_MAX) " strings, the program first (no shell): "
                                                 "[\"xfce4-terminal\", \"--title\", \"x\"]",
                "[\"true\"]", "The program and its arguments; no shell"),
        {.name = "env",
                .type = SPEC_MAP,
                .max = ENV_MAX,
                .accepts = "an object of at most " NUM_(ENV_MAX) " string values: {\"NAME\": "
                                                                 "\"value\"}",
                .example = "{\"LANG\": \"C.UTF-8\"}",
                .description = "Environment variables added to the desktop's"},
        F_STR("cwd", false, NULL, "\"/tmp\"", "The working directory"),
        F_BOOL("waitForWindow", "false", "Answer once the program's first window is mapped"),
        F_INT("timeoutMs", false, 1, APPS_WAIT_MAX_MS, "5000",
                "With waitForWindow: the longest wait, ms"),
        F_END,
};
const struct spec spec_launch = {launch_fields, NULL, false};

#define GEOM_FIELDS_(req)                                                                          \
    F_INT("x", req, -SHOT_MAX_COORD, SHOT_MAX_COORD, "0", "The frame's left edge, screen pixels"), \
            F_INT("y", req, -SHOT_MAX_COORD, SHOT_MAX_COORD, "0",                                  \
                    "The frame's top edge, screen pixels"),                                        \
            F_INT("width", req, 1, GEOM_MAX_SIDE, "640", "The frame's width, screen pixels"),      \
            F_INT("height", req, 1, GEOM_MAX_SIDE, "480", "The frame's height, screen pixels")

static const struct spec_field geometry_fields[] = {GEOM_FIELDS_(true), F_END};
const struct spec spec_geometry = {geometry_fields, NULL, false};

static const struct spec_field window_action_fields[] = {
        F_INT("id", true, 1, WINDOW_ID_MAX, "1", "A window id from the windows tool"),
        F_STR("action", true, window_actions, "\"activate\"", "What to do with the window"),
        GEOM_FIELDS_(false),
        F_END,
};
const struct spec spec_window_action = {window_action_fields,
        "x, y, width and height are required with action geometry, which they are for.", false};

#define SELECTION_                                                                                 \
    F_STR("selection", false, selections, "\"clipboard\"", "Which selection; default clipboard")

static const struct spec_field clipboard_set_fields[] = {
        F_STR("text", true, NULL, "\"hello\"", "The text (UTF-8, at most 16 MiB)"),
        SELECTION_,
        F_END,
};
const struct spec spec_clipboard_set = {clipboard_set_fields, NULL, false};

/* ---- accessibility (§15) ---- */

#define SCOPE_                                                                                     \
    F_STR("scope", false, scopes, "\"focused\"",                                                   \
            "focused (default): the focused application; pid: process pid; all: every one")
#define PID_ F_INT("pid", false, 0, 0, "1", "With scope pid: the application's process id")
#define ID_  F_STR("id", true, NULL, "\"1:2/3\"", "A node id from a11y_tree or a11y_find")

static const struct spec_field a11y_find_fields[] = {
        SCOPE_,
        PID_,
        F_STR("role", false, NULL, "\"push button\"", "The role: push button, text, ..."),
        F_STR("name", false, NULL, "\"OK\"", "The accessible name to match"),
        F_STR("nameMatch", false, matches, "\"exact\"",
                "How name matches: exact, substring (default) or regex"),
        F_LIST("states", false, 0, 0, SPEC_STR, NULL, "an array of state names", "[\"focused\"]",
                "States every match has: focused, enabled, sensitive, showing, visible, "
                "checked, editable, ..."),
        F_INT("limit", false, 0, 0, "10",
                "At most this many matches (default " NUM_(A11Y_FIND_LIMIT) ", at most " NUM_(
                        A11Y_FIND_LIMIT_MAX) ")"),
        SPACE_,
        REGION_,
        F_END,
};
const struct spec spec_a11y_find = {
        a11y_find_fields, "pid is required (positive) with scope pid.", false};

static const struct spec_field a11y_focus_fields[] = {ID_, F_END};
const struct spec spec_a11y_focus = {a11y_focus_fields, NULL, false};

static const struct spec_field a11y_invoke_fields[] = {
        ID_,
        F_STR("action", false, NULL, "\"click\"",
                "One of the node's actions (click, activate...); default its first"),
        F_END,
};
const struct spec spec_a11y_invoke = {a11y_invoke_fields, NULL, false};

static const struct spec_field a11y_value_fields[] = {
        ID_,
        F_STR("value", true, NULL, "\"text\"", "The text, or the number as text"),
        F_END,
};
const struct spec spec_a11y_value = {a11y_value_fields, NULL, false};

/* ---- query routes: what their parsers read from the query string ---- */

static const struct spec_field screenshot_fields[] = {
        SHOT_FIELDS_,
        FIT_FIELDS_,
        F_INT("x", false, -SHOT_MAX_COORD, SHOT_MAX_COORD, "0",
                "Region's left edge, screen pixels"),
        F_INT("y", false, -SHOT_MAX_COORD, SHOT_MAX_COORD, "0", "Region's top edge, screen pixels"),
        F_INT("width", false, 1, SHOT_MAX_SIDE, "100", "Region's width, screen pixels"),
        F_INT("height", false, 1, SHOT_MAX_SIDE, "100", "Region's height, screen pixels"),
        F_END,
};
const struct spec spec_screenshot = {screenshot_fields,
        "x, y, width and height go together (at most 7680x4320 pixels); scale excludes fit, "
        "maxLongEdge and maxPixels.",
        true};

static const struct spec_field windows_fields[] = {
        F_STR("type", false, window_types, "\"normal\"", "Only windows of this type"),
        F_END,
};
const struct spec spec_windows = {windows_fields, NULL, true};

static const struct spec_field clipboard_get_fields[] = {SELECTION_, F_END};
const struct spec spec_clipboard_get = {clipboard_get_fields, NULL, true};

static const struct spec_field a11y_tree_fields[] = {
        SCOPE_,
        PID_,
        F_INT("maxDepth", false, 0, 0, "3", "How deep the tree goes; absent or -1: all of it"),
        F_STR("space", false, NULL, "\"1024x768\"",
                "WIDTHxHEIGHT of a screenshot: adds spaceBounds in that image's pixels"),
        F_STR("region", false, NULL, "\"0,0,1920,1080\"",
                "With space: X,Y,WIDTH,HEIGHT, the screen rectangle that image shows"),
        F_END,
};
const struct spec spec_a11y_tree = {a11y_tree_fields,
        "pid is required (positive) with scope pid; region only with space.", true};

/* ---- the check ---- */

const struct spec_field *spec_field(const struct spec *s, const char *name) {
    for (const struct spec_field *f = s->fields; f->name; f++) {
        if (strcmp(f->name, name) == 0)
            return f;
    }
    return NULL;
}

/* The fields' names, comma-separated, into buf. */
static void names(const struct spec *s, char *buf, size_t len) {
    size_t n = 0;
    buf[0] = '\0';
    for (const struct spec_field *f = s->fields; f->name && n < len; f++)
        n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? ", " : "", f->name);
}

static int check(json_t *obj, const struct spec *s, const char *also, const char *prefix, char *err,
        size_t errlen);

/* An INT field's bounds; none given (both 0): any C int. */
static long int_min(const struct spec_field *f) {
    return f->min == 0 && f->max == 0 ? INT_MIN : (long)f->min;
}

static long int_max(const struct spec_field *f) {
    return f->min == 0 && f->max == 0 ? INT_MAX : (long)f->max;
}

/* One present member v of field f. */
static int check_field(json_t *obj, json_t *v, const struct spec_field *f, const char *prefix,
        char *err, size_t errlen) {
    char e[400], sub[160];
    int ival;
    double dval;
    bool bval;
    const char *sval;
    int rc = 0;
    switch (f->type) {
    case SPEC_INT:
        if (f->accepts) {
            json_int_t i = json_is_integer(v) ? json_integer_value(v) : 0;
            if (!json_is_integer(v) || (double)i < f->min || (double)i > f->max) {
                snprintf(e, sizeof e, "%s must be %s", f->name, f->accepts);
                rc = -EINVAL;
            }
        } else {
            rc = body_int(obj, f->name, false, int_min(f), int_max(f), &ival, e, sizeof e);
        }
        break;
    case SPEC_NUM:
        rc = body_number(obj, f->name, false, f->min, f->max, &dval, e, sizeof e);
        break;
    case SPEC_STR:
        rc = body_string(obj, f->name, false, &sval, NULL, e, sizeof e);
        break;
    case SPEC_BOOL:
        rc = body_bool(obj, f->name, &bval, e, sizeof e);
        break;
    case SPEC_ARRAY:
        if (!json_is_array(v) || (double)json_array_size(v) < f->min ||
                (f->max > 0 && (double)json_array_size(v) > f->max)) {
            snprintf(e, sizeof e, "%s must be %s", f->name, f->accepts);
            rc = -EINVAL;
            break;
        }
        /* Items that are objects of a known shape: their members; the rest is the parser's. */
        for (size_t i = 0; f->object && i < json_array_size(v); i++) {
            json_t *item = json_array_get(v, i);
            snprintf(sub, sizeof sub, "%s%s[%zu].", prefix, f->name, i);
            if (json_is_object(item) && check(item, f->object, NULL, sub, err, errlen) < 0)
                return -EINVAL;
        }
        break;
    case SPEC_OBJECT:
    case SPEC_MAP:
        if (!json_is_object(v) || (f->max > 0 && (double)json_object_size(v) > f->max)) {
            snprintf(e, sizeof e, "%s must be %s", f->name, f->accepts);
            rc = -EINVAL;
            break;
        }
        snprintf(sub, sizeof sub, "%s%s.", prefix, f->name);
        if (f->object && check(v, f->object, NULL, sub, err, errlen) < 0)
            return -EINVAL;
        break;
    }
    if (rc < 0) {
        snprintf(err, errlen, "%s%s", prefix, e);
        return -EINVAL;
    }
    return 0;
}

/* Unknown members are refused on this thread (spec_strict). */
static __thread bool strict;

bool spec_strict(bool on) {
    bool was = strict;
    strict = on;
    return was;
}

static int check(json_t *obj, const struct spec *s, const char *also, const char *prefix, char *err,
        size_t errlen) {
    const char *key;
    json_t *v;
    char list[400];
    json_object_foreach(obj, key, v) {
        if (!strict || s->open || spec_field(s, key) || (also && strcmp(key, also) == 0))
            continue;
        names(s, list, sizeof list);
        if (!list[0])
            snprintf(list, sizeof list, "none");
        snprintf(err, errlen, "%s%.64s is not a member of this request; it takes %s%s%s", prefix,
                key, list, also ? ", " : "", also ? also : "");
        return -EINVAL;
    }
    for (const struct spec_field *f = s->fields; f->name; f++) {
        v = json_object_get(obj, f->name);
        if (v && !json_is_null(v)) {
            if (check_field(obj, v, f, prefix, err, errlen) < 0)
                return -EINVAL;
            continue;
        }
        if (!f->required)
            continue;
        char e[400];
        /* The scalars' sentences are the body_* ones; the rest say what they accept. */
        int ival;
        double dval;
        const char *sval;
        if (f->type == SPEC_INT && !f->accepts)
            body_int(obj, f->name, true, int_min(f), int_max(f), &ival, e, sizeof e);
        else if (f->type == SPEC_NUM)
            body_number(obj, f->name, true, f->min, f->max, &dval, e, sizeof e);
        else if (f->type == SPEC_STR)
            body_string(obj, f->name, true, &sval, NULL, e, sizeof e);
        else
            snprintf(e, sizeof e, "%s must be %s", f->name, f->accepts);
        snprintf(err, errlen, "%s%s", prefix, e);
        return -EINVAL;
    }
    return 0;
}

int spec_check(json_t *obj, const struct spec *s, const char *also, char *err, size_t errlen) {
    if (obj && !json_is_object(obj)) {
        snprintf(err, errlen, "the body must be a JSON object");
        return -EINVAL;
    }
    return check(obj, s, also, "", err, errlen);
}

/* ---- the schema ---- */

static const char *const type_names[] = {
        [SPEC_INT] = "integer",
        [SPEC_NUM] = "number",
        [SPEC_STR] = "string",
        [SPEC_BOOL] = "boolean",
        [SPEC_ARRAY] = "array",
        [SPEC_OBJECT] = "object",
        [SPEC_MAP] = "object",
};

static json_t *choices_json(const char *const *choices) {
    json_t *a = json_array();
    for (size_t i = 0; choices[i]; i++)
        json_array_append_new(a, json_string(choices[i]));
    return a;
}

static json_t *number(double v, enum spec_type t) {
    return t == SPEC_INT ? json_integer((json_int_t)v) : json_real(v);
}

static json_t *property(const struct spec_field *f) {
    json_t *p = json_pack("{s:s}", "type", type_names[f->type]);
    bool bounded = f->min != 0 || f->max != 0;
    if ((f->type == SPEC_INT || f->type == SPEC_NUM) && bounded && f->max < 9e18) {
        json_object_set_new(p, "minimum", number(f->min, f->type));
        json_object_set_new(p, "maximum", number(f->max, f->type));
    } else if (f->type == SPEC_INT && bounded) {
        json_object_set_new(p, "minimum", number(f->min, f->type));
    }
    if (f->type == SPEC_STR && f->choices)
        json_object_set_new(p, "enum", choices_json(f->choices));
    if (f->type == SPEC_ARRAY) {
        json_t *items = f->object ? spec_schema(f->object, NULL)
                                  : json_pack("{s:s}", "type", type_names[f->items]);
        json_object_set_new(p, "items", items);
        if (f->min > 0)
            json_object_set_new(p, "minItems", json_integer((json_int_t)f->min));
        if (f->max > 0)
            json_object_set_new(p, "maxItems", json_integer((json_int_t)f->max));
        if (f->unique)
            json_object_set_new(p, "uniqueItems", json_true());
    }
    if (f->type == SPEC_OBJECT && f->object)
        json_object_update_new(p, spec_schema(f->object, NULL));
    if (f->type == SPEC_MAP) {
        json_object_set_new(p, "additionalProperties", json_pack("{s:s}", "type", "string"));
        if (f->max > 0)
            json_object_set_new(p, "maxProperties", json_integer((json_int_t)f->max));
    }
    if (f->description)
        json_object_set_new(p, "description", json_string(f->description));
    json_t *ex = f->example ? json_loads(f->example, JSON_DECODE_ANY, NULL) : NULL;
    if (ex)
        json_object_set_new(p, "examples", json_pack("[o]", ex));
    return p;
}

static bool dropped(const char *name, const char *const *drop) {
    for (size_t i = 0; drop && drop[i]; i++) {
        if (strcmp(drop[i], name) == 0)
            return true;
    }
    return false;
}

json_t *spec_schema(const struct spec *s, const char *const *drop) {
    json_t *props = json_object(), *req = json_array();
    for (const struct spec_field *f = s->fields; f->name; f++) {
        if (dropped(f->name, drop))
            continue;
        json_object_set_new(props, f->name, property(f));
        if (f->required)
            json_array_append_new(req, json_string(f->name));
    }
    json_t *schema = json_pack("{s:s, s:o}", "type", "object", "properties", props);
    if (json_array_size(req))
        json_object_set_new(schema, "required", req);
    else
        json_decref(req);
    if (!s->open)
        json_object_set_new(schema, "additionalProperties", json_false());
    return schema;
}
