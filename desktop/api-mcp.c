/*
 * POST /mcp (API.md §13): a Model Context Protocol server on the Streamable
 * HTTP transport. JSON-RPC 2.0 over POST, one message per request, answered
 * as application/json (no event streams: a GET is a 405). Protocol versions
 * 2025-06-18 and 2025-11-25 are negotiated at initialize, which issues the
 * Mcp-Session-Id every later request must carry.
 *
 * Every tool is a row of tools[] naming the HTTP route it runs: a tool call
 * is that route run by req_call, with the route's own parsing, validation and
 * execution, so a tool and its route cannot disagree. The row also carries
 * the tool's description and input JSON Schema, which tools/list sends as
 * they are. A route's 4xx/5xx is a tool result with isError and the route's
 * sentence; only malformed JSON-RPC is a JSON-RPC error.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "a11y.h"
#include "acts.h"
#include "apps.h"
#include "damage.h"
#include "deskd.h"
#include "log.h"
#include "util.h"

/* JSON-RPC 2.0's error codes. */
#define RPC_PARSE_ERROR      (-32700)
#define RPC_INVALID_REQUEST  (-32600)
#define RPC_METHOD_NOT_FOUND (-32601)
#define RPC_INVALID_PARAMS   (-32602)

/* The protocol versions spoken, newest first: the answer to an unknown one. */
static const char *const versions[] = {"2025-11-25", "2025-06-18"};
#define NVERSIONS (sizeof versions / sizeof versions[0])

/* ---- the tools ---- */

/* Where a tool's arguments go in its route's request. */
enum tool_in {
    IN_BODY,   /* the JSON body, with the row's fixed members added */
    IN_QUERY,  /* query arguments (strings, numbers, booleans) */
    IN_WINDOW, /* "id" and "action" make the path; the rest is the body */
};

struct tool {
    const char *name;
    const char *method;
    const char *path;
    enum tool_in in;
    const char *fixed; /* JSON object merged into the body (double_click: clicks 2), or NULL */
    const char *description;
    const char *schema; /* JSON Schema of the arguments */
};

/* The parsers' limits (acts.h, input.h) as schema text, so the two cannot drift apart. */
#define STR_(x) #x
#define NUM_(x) STR_(x)

/* An integer schema from lo to hi. */
#define INT_RANGE_(lo, hi)                                                                         \
    "{\"type\": \"integer\", \"minimum\": " NUM_(lo) ", \"maximum\": " NUM_(hi) "}"

/* The limits of the parsers' fields. */
#define CLICKS_       INT_RANGE_(1, INPUT_CLICKS_MAX)
#define LAUNCH_MS_    INT_RANGE_(1, APPS_WAIT_MAX_MS)
#define SCROLL_       INT_RANGE_(0, INPUT_SCROLL_MAX)
#define TYPE_DELAY_   INT_RANGE_(0, TYPE_DELAY_MAX)
#define HOLD_MS_      INT_RANGE_(0, INPUT_HOLD_MAX_MS)
#define STABLE_MS_    INT_RANGE_(DAMAGE_STABLE_MIN_MS, DAMAGE_STABLE_MAX_MS)
#define WAIT_TIMEOUT_ INT_RANGE_(DAMAGE_TIMEOUT_MIN_MS, DAMAGE_TIMEOUT_MAX_MS)
#define PATH_MAX_TEXT NUM_(INPUT_PATH_MAX)

/* Schema fragments shared by the pointer tools. */
#define XY_ "\"x\": {\"type\": \"integer\"}, \"y\": {\"type\": \"integer\"}"
#define RECT_                                                                                      \
    "{\"type\": \"object\", \"properties\": {" XY_ ", \"width\": {\"type\": \"integer\"}, "        \
    "\"height\": {\"type\": \"integer\"}}}"
#define SPACE_                                                                                     \
    "\"space\": {\"type\": \"object\", \"description\": \"The image the coordinates are "          \
    "pixels of (e.g. the screenshot taken with fit): {width, height}; coordinates are mapped "     \
    "to the screen. Absent: screen pixels.\", \"properties\": {\"width\": {\"type\": "             \
    "\"integer\"}, \"height\": {\"type\": \"integer\"}}, \"required\": [\"width\", \"height\"]}"
#define HOLD_                                                                                      \
    "\"holdKeys\": {\"type\": \"array\", \"items\": {\"type\": \"string\"}, \"description\": "     \
    "\"Keys held during the action, e.g. [\\\"shift\\\"]\"}"
#define BUTTON_                                                                                    \
    "\"button\": {\"type\": \"string\", \"enum\": [\"left\", \"right\", \"middle\", \"back\", "    \
    "\"forward\"], \"default\": \"left\"}"
#define COORDS_                                                                                    \
    " Coordinates are screen pixels of the X display, origin top-left, unless space is given."
#define OBJ_(props, req)                                                                           \
    "{\"type\": \"object\", \"properties\": {" props "}, \"required\": [" req "]}"
#define POINT_ OBJ_(XY_, "\"x\", \"y\"")
#define A11Y_SCOPE_                                                                                \
    "\"scope\": {\"type\": \"string\", \"enum\": [\"focused\", \"pid\", \"all\"], "                \
    "\"default\": \"focused\"}"
#define A11Y_ID_                                                                                   \
    "\"id\": {\"type\": \"string\", \"description\": \"A node id from a11y_tree or a11y_find\"}"

static const struct tool tools[] = {
        {"screenshot", "GET", "/computeruse/screenshot/compressed", IN_QUERY, NULL,
                "Captures the screen (or the rectangle x, y, width, height of it) as an image. "
                "fit sizes it for you: xga (fits 1024x768), wxga (1280x800), fwxga (1366x768), "
                "or maxLongEdge=N and/or maxPixels=N; pass the image's width and height as space "
                "to pointer tools to use its pixels as coordinates. The text block gives frameId "
                "(equal ids: the "
                "same screen), space (the image size) and region (the screen rectangle shown).",
                OBJ_("\"format\": {\"type\": \"string\", \"enum\": [\"png\", \"jpeg\", \"webp\"], "
                     "\"default\": \"png\"}, \"quality\": {\"type\": \"integer\", \"minimum\": 1, "
                     "\"maximum\": 100}, \"fit\": {\"type\": \"string\"}, \"scale\": {\"type\": "
                     "\"number\", \"minimum\": 0.1, \"maximum\": 1}, \"showCursor\": {\"type\": "
                     "\"boolean\"}, " XY_ ", \"width\": {\"type\": \"integer\"}, \"height\": "
                     "{\"type\": \"integer\"}",
                        "")},
        {"click", "POST", "/computeruse/mouse/click", IN_BODY, NULL,
                "Moves the pointer to x, y and clicks (clicks: 1 to 3)." COORDS_
                " Answers where the pointer is, in the same space.",
                OBJ_(XY_ ", " BUTTON_ ", \"clicks\": " CLICKS_ ", " SPACE_ ", " HOLD_,
                        "\"x\", \"y\"")},
        {"double_click", "POST", "/computeruse/mouse/click", IN_BODY, "{\"clicks\": 2}",
                "Double-clicks at x, y." COORDS_,
                OBJ_(XY_ ", " BUTTON_ ", " SPACE_ ", " HOLD_, "\"x\", \"y\"")},
        {"triple_click", "POST", "/computeruse/mouse/click", IN_BODY, "{\"clicks\": 3}",
                "Triple-clicks at x, y (selects a line or paragraph)." COORDS_,
                OBJ_(XY_ ", " BUTTON_ ", " SPACE_ ", " HOLD_, "\"x\", \"y\"")},
        {"move", "POST", "/computeruse/mouse/move", IN_BODY, NULL,
                "Moves the pointer to x, y without clicking." COORDS_,
                OBJ_(XY_ ", " SPACE_ ", " HOLD_, "\"x\", \"y\"")},
        {"drag", "POST", "/computeruse/mouse/drag", IN_BODY, NULL,
                "Presses a button at startX, startY, moves to endX, endY and releases (or "
                "follows path, 2 to " PATH_MAX_TEXT " points {x, y})." COORDS_,
                OBJ_("\"startX\": {\"type\": \"integer\"}, \"startY\": {\"type\": \"integer\"}, "
                     "\"endX\": {\"type\": \"integer\"}, \"endY\": {\"type\": \"integer\"}, "
                     "\"path\": {\"type\": \"array\", \"items\": " POINT_ "}, " BUTTON_ ", " SPACE_
                     ", " HOLD_,
                        "")},
        {"scroll", "POST", "/computeruse/mouse/scroll", IN_BODY, NULL,
                "Scrolls at x, y: amount wheel clicks (default 1) in direction." COORDS_,
                OBJ_(XY_ ", \"direction\": {\"type\": \"string\", \"enum\": [\"up\", \"down\", "
                         "\"left\", \"right\"]}, \"amount\": " SCROLL_ ", " SPACE_ ", " HOLD_,
                        "\"x\", \"y\", \"direction\"")},
        {"type", "POST", "/computeruse/keyboard/type", IN_BODY, NULL,
                "Types text as characters, whatever the keyboard layout; a newline presses "
                "Return. Tabs and other control characters are refused: use key. delay: "
                "milliseconds after each character.",
                OBJ_("\"text\": {\"type\": \"string\"}, \"delay\": " TYPE_DELAY_, "\"text\"")},
        {"key", "POST", "/computeruse/keyboard/key", IN_BODY, NULL,
                "Presses and releases one key (enter, escape, tab, backspace, up, f5, a, or an "
                "X keysym name) with modifiers (ctrl, alt, shift, cmd) held; holdMs holds it.",
                OBJ_("\"key\": {\"type\": \"string\"}, \"modifiers\": {\"type\": \"array\", "
                     "\"items\": {\"type\": \"string\"}}, \"holdMs\": " HOLD_MS_,
                        "\"key\"")},
        {"hotkey", "POST", "/computeruse/keyboard/hotkey", IN_BODY, NULL,
                "Presses one chord such as ctrl+shift+t: modifiers then the last key, released "
                "in reverse order.",
                OBJ_("\"keys\": {\"type\": \"string\"}", "\"keys\"")},
        {"wait", "POST", "/computeruse/wait", IN_BODY, NULL,
                "Waits for the screen: until stable (no change for stableMs) or changed (since "
                "frameId, default now), at most timeoutMs; a timeout is not an error (timedOut "
                "is true). region limits it to a screen rectangle in screen pixels. Answers "
                "frameId, changed, stable, timedOut, waitedMs and the regions that changed.",
                OBJ_("\"until\": {\"type\": \"string\", \"enum\": [\"stable\", \"changed\"]}, "
                     "\"stableMs\": " STABLE_MS_ ", \"timeoutMs\": " WAIT_TIMEOUT_ ", "
                     "\"since\": {\"type\": \"integer\"}, \"region\": " RECT_,
                        "\"until\"")},
        {"cursor_position", "GET", "/computeruse/mouse/position", IN_QUERY, NULL,
                "Answers the pointer position {x, y} in screen pixels.", OBJ_("", "")},
        {"actions", "POST", "/computeruse/actions", IN_BODY, NULL,
                "Runs up to 1000 input actions in order, none interleaved with other input; all "
                "are checked before any runs, and what they pressed is released if one fails. "
                "Each action has a type (move, click, drag, scroll, type, key, hotkey, keyDown, "
                "keyUp, buttonDown, buttonUp, releaseAll, wait) and the fields of the tool of "
                "that name; wait takes ms, or until, stableMs and timeoutMs as the wait tool. "
                "observe {settle, screenshot} takes a screenshot after them. space applies to "
                "every action that has none." COORDS_,
                OBJ_("\"actions\": {\"type\": \"array\", \"items\": {\"type\": \"object\", "
                     "\"properties\": {\"type\": {\"type\": \"string\"}}, \"required\": "
                     "[\"type\"]}}, " SPACE_ ", \"observe\": {\"type\": \"object\"}",
                        "\"actions\"")},
        {"windows", "GET", "/computeruse/display/windows", IN_QUERY, NULL,
                "Lists the top-level windows: id, title, geometry in screen pixels, type, "
                "states, which one is active. type filters (normal, dialog...).",
                OBJ_("\"type\": {\"type\": \"string\"}", "")},
        {"window_action", "POST", NULL, IN_WINDOW, NULL,
                "Asks the window manager to activate, close, minimize, maximize or restore the "
                "window id (from windows), or to move and size it (geometry, with x, y, width, "
                "height in screen pixels); answers the window once the change is visible.",
                OBJ_("\"id\": {\"type\": \"integer\"}, \"action\": {\"type\": \"string\", "
                     "\"enum\": [\"activate\", \"close\", \"minimize\", \"maximize\", "
                     "\"restore\", \"geometry\"]}, " XY_ ", \"width\": {\"type\": \"integer\"}, "
                     "\"height\": {\"type\": \"integer\"}",
                        "\"id\", \"action\"")},
        {"clipboard_get", "GET", "/computeruse/clipboard", IN_QUERY, NULL,
                "Reads the clipboard's text (selection: clipboard, the default, or primary).",
                OBJ_("\"selection\": {\"type\": \"string\", \"enum\": [\"clipboard\", "
                     "\"primary\"]}",
                        "")},
        {"clipboard_set", "POST", "/computeruse/clipboard", IN_BODY, NULL,
                "Puts text on the clipboard (selection: clipboard, the default, or primary), "
                "ready to paste.",
                OBJ_("\"text\": {\"type\": \"string\"}, \"selection\": {\"type\": \"string\", "
                     "\"enum\": [\"clipboard\", \"primary\"]}",
                        "\"text\"")},
        {"launch", "POST", "/computeruse/apps/launch", IN_BODY, NULL,
                "Starts a program on the desktop from argv (no shell), with env and cwd; with "
                "waitForWindow, answers once its first window is mapped (timeoutMs). Answers "
                "its pid and window.",
                OBJ_("\"argv\": {\"type\": \"array\", \"items\": {\"type\": \"string\"}, "
                     "\"minItems\": 1}, \"env\": {\"type\": \"object\", \"additionalProperties\": "
                     "{\"type\": \"string\"}}, \"cwd\": {\"type\": \"string\"}, "
                     "\"waitForWindow\": {\"type\": \"boolean\"}, \"timeoutMs\": " LAUNCH_MS_,
                        "\"argv\"")},
        {"a11y_tree", "GET", "/computeruse/a11y/tree", IN_QUERY, NULL,
                "The accessibility tree of the focused application (scope focused, the "
                "default), of process pid (scope pid) or of every application (scope all): "
                "nodes with id, role, name, states, actions and bounds in screen pixels; "
                "maxDepth limits the depth. space (\"WIDTHxHEIGHT\" of a screenshot) adds "
                "spaceBounds in that image's pixels, ready for the pointer tools.",
                OBJ_(A11Y_SCOPE_ ", \"pid\": {\"type\": \"integer\", \"minimum\": 1}, "
                                 "\"maxDepth\": {\"type\": \"integer\"}, \"space\": {\"type\": "
                                 "\"string\", \"description\": \"WIDTHxHEIGHT, e.g. 1024x576\"}",
                        "")},
        {"a11y_find", "POST", "/computeruse/a11y/find", IN_BODY, NULL,
                "Finds accessibility nodes by role (push button, text, ...), name (nameMatch "
                "exact, substring or regex) and states (all of them, e.g. [\"focused\"]) in "
                "scope; at most limit (default " NUM_(A11Y_FIND_LIMIT) ", up to " NUM_(
                        A11Y_FIND_LIMIT_MAX) "). Each match has its id (for a11y_focus, "
                                             "a11y_invoke, a11y_set_value) and bounds; with "
                                             "space, also spaceBounds in that image's pixels.",
                OBJ_(A11Y_SCOPE_
                        ", \"pid\": {\"type\": \"integer\", \"minimum\": 1}, "
                        "\"role\": {\"type\": \"string\"}, \"name\": {\"type\": \"string\"}, "
                        "\"nameMatch\": {\"type\": \"string\", \"enum\": [\"exact\", "
                        "\"substring\", \"regex\"]}, \"states\": {\"type\": \"array\", \"items\": "
                        "{\"type\": \"string\"}}, \"limit\": {\"type\": \"integer\"}, " SPACE_,
                        "")},
        {"a11y_focus", "POST", "/computeruse/a11y/node/focus", IN_BODY, NULL,
                "Gives the keyboard focus to the accessibility node id (from a11y_tree or "
                "a11y_find).",
                OBJ_(A11Y_ID_, "\"id\"")},
        {"a11y_invoke", "POST", "/computeruse/a11y/node/invoke", IN_BODY, NULL,
                "Performs an action of the accessibility node id (action: one of the node's "
                "actions, such as click or activate; default its first), without moving the "
                "pointer.",
                OBJ_(A11Y_ID_ ", \"action\": {\"type\": \"string\"}", "\"id\"")},
        {"a11y_set_value", "POST", "/computeruse/a11y/node/value", IN_BODY, NULL,
                "Sets the text (or the numeric value) of the accessibility node id to value.",
                OBJ_(A11Y_ID_ ", \"value\": {\"type\": \"string\"}", "\"id\", \"value\"")},
};
#define NTOOLS (sizeof tools / sizeof tools[0])

/* ---- sessions ---- */

#define MAX_SESSIONS 256

static struct session {
    char id[33]; /* 128 random bits in hex; "" when the slot is free */
    char version[16];
    int64_t used_ms;
} sessions[MAX_SESSIONS];
static pthread_mutex_t sessions_lock = PTHREAD_MUTEX_INITIALIZER;

/* A new session speaking version, in id (33 bytes); the least recently used one makes room. */
static int session_new(const char *version, char *id) {
    unsigned char raw[16];
    if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
        return -errno;
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(id + 2 * i, 3, "%02x", raw[i]);
    pthread_mutex_lock(&sessions_lock);
    struct session *slot = &sessions[0];
    for (size_t i = 0; i < MAX_SESSIONS; i++) {
        if (!sessions[i].id[0] || sessions[i].used_ms < slot->used_ms)
            slot = &sessions[i];
        if (!sessions[i].id[0])
            break;
    }
    snprintf(slot->id, sizeof slot->id, "%s", id);
    snprintf(slot->version, sizeof slot->version, "%s", version);
    slot->used_ms = util_mono_ms();
    pthread_mutex_unlock(&sessions_lock);
    return 0;
}

/* Whether id is a live session (and notes its use); drop ends it. */
static bool session_find(const char *id, bool drop) {
    bool found = false;
    pthread_mutex_lock(&sessions_lock);
    for (size_t i = 0; i < MAX_SESSIONS && !found; i++) {
        if (sessions[i].id[0] && strcmp(sessions[i].id, id) == 0) {
            found = true;
            sessions[i].used_ms = util_mono_ms();
            if (drop)
                sessions[i].id[0] = '\0';
        }
    }
    pthread_mutex_unlock(&sessions_lock);
    return found;
}

/* ---- replies ---- */

static void reply_rpc(struct req *r, int status, json_t *msg, const char *session) {
    char *text = json_dumps(msg, JSON_COMPACT);
    json_decref(msg);
    if (!text) {
        reply_error(r, ERR_INTERNAL, "out of memory while building the response");
        return;
    }
    const char *headers[] = {"Mcp-Session-Id", session, NULL};
    reply_bytes(r, status, "application/json", text, strlen(text), session ? headers : NULL);
    free(text);
}

static void reply_rpc_error(struct req *r, int status, json_t *id, int code, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));

/* A JSON-RPC error answer to id (borrowed; NULL: null) with an HTTP status. */
static void reply_rpc_error(struct req *r, int status, json_t *id, int code, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char *clean = util_utf8_clean(msg, strlen(msg), NULL);
    reply_rpc(r, status,
            json_pack("{s:s, s:O, s:{s:i, s:s}}", "jsonrpc", "2.0", "id", id ? id : json_null(),
                    "error", "code", code, "message", clean ? clean : "invalid request"),
            NULL);
    free(clean);
}

static void reply_result(struct req *r, json_t *id, json_t *result, const char *session) {
    reply_rpc(r, 200, json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id", id, "result", result),
            session);
}

/* ---- tools/list and tools/call ---- */

static json_t *tool_list(void) {
    json_t *list = json_array();
    for (size_t i = 0; i < NTOOLS; i++) {
        json_error_t jerr;
        json_t *schema = json_loads(tools[i].schema, 0, &jerr);
        if (!schema)
            log_msg(LOG_ERROR, "mcp: the schema of tool %s is not JSON: %s", tools[i].name,
                    jerr.text);
        json_array_append_new(
                list, json_pack("{s:s, s:s, s:o}", "name", tools[i].name, "description",
                              tools[i].description, "inputSchema",
                              schema ? schema : json_pack("{s:s}", "type", "object")));
    }
    return list;
}

/* A text content block. */
static json_t *text_block(const char *text) {
    return json_pack("{s:s, s:s}", "type", "text", "text", text);
}

/* A tool result whose text is the JSON dump of what. */
static json_t *json_block(json_t *what) {
    char *text = json_dumps(what, JSON_COMPACT);
    json_t *block = text_block(text ? text : "{}");
    free(text);
    return block;
}

/*
 * The content of a route's 2xx answer: a screenshot (the answer itself, or
 * the "screenshot" the actions route observed) becomes an image block and a
 * text block with frameId, space and region; the rest is JSON text.
 */
static json_t *answer_content(json_t *answer) {
    json_t *content = json_array();
    json_t *shot = json_object_get(answer, "screenshot");
    json_t *img = json_is_string(shot) ? answer : json_is_object(shot) ? shot : NULL;
    if (img && json_is_string(json_object_get(img, "screenshot"))) {
        const char *format = json_string_value(json_object_get(img, "format"));
        char mime[32];
        snprintf(mime, sizeof mime, "image/%s", format ? format : "png");
        json_array_append_new(
                content, json_pack("{s:s, s:O, s:s}", "type", "image", "data",
                                 json_object_get(img, "screenshot"), "mimeType", mime));
        json_t *about = json_pack("{s:{s:O, s:O}}", "space", "width", json_object_get(img, "width"),
                "height", json_object_get(img, "height"));
        if (json_object_get(img, "space"))
            json_object_set(about, "space", json_object_get(img, "space"));
        json_t *keep[] = {json_object_get(img, "region"), json_object_get(img, "frameId"),
                json_object_get(img, "cursorPosition")};
        const char *names[] = {"region", "frameId", "cursorPosition"};
        for (size_t i = 0; i < 3; i++) {
            if (keep[i])
                json_object_set(about, names[i], keep[i]);
        }
        if (img != answer) {
            /* The actions route's answer, without the image itself. */
            json_t *rest = json_deep_copy(answer);
            json_object_del(rest, "screenshot");
            json_object_update(about, rest);
            json_decref(rest);
        }
        json_array_append_new(content, json_block(about));
        json_decref(about);
    } else {
        json_array_append_new(content, json_block(answer));
    }
    return content;
}

/* Query arguments from a flat JSON object; the strings go in store (freed by the caller). */
static int query_args(
        json_t *in, const char **args, char **store, int max, char *err, size_t errlen) {
    int n = 0;
    const char *key;
    json_t *v;
    json_object_foreach(in, key, v) {
        if (n + 3 > max) {
            snprintf(err, errlen, "too many arguments");
            return -EINVAL;
        }
        char num[32];
        if (json_is_integer(v))
            snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        else if (json_is_real(v))
            snprintf(num, sizeof num, "%.17g", json_real_value(v));
        else if (json_is_boolean(v))
            snprintf(num, sizeof num, "%s", json_is_true(v) ? "true" : "false");
        else if (!json_is_string(v)) {
            snprintf(err, errlen, "argument %s must be a string, number or boolean", key);
            return -EINVAL;
        }
        char *s = strdup(json_is_string(v) ? json_string_value(v) : num);
        if (!s) {
            snprintf(err, errlen, "out of memory");
            return -ENOMEM;
        }
        store[n / 2] = s;
        args[n++] = key;
        args[n++] = s;
    }
    args[n] = NULL;
    return 0;
}

/* A tool result with isError and sentence. */
static json_t *tool_error(const char *sentence) {
    return json_pack("{s:[o], s:b}", "content", text_block(sentence), "isError", 1);
}

/* Runs tool t with args (an object) through its route; the tools/call result. */
static json_t *tool_run(struct req *r, const struct tool *t, json_t *args) {
    char path[128];
    snprintf(path, sizeof path, "%s", t->path ? t->path : "");
    const char *qargs[2 * REQ_MAX_ARGS + 1] = {NULL};
    char *store[REQ_MAX_ARGS] = {NULL};
    json_t *body = NULL;
    char err[256];
    if (t->in == IN_QUERY) {
        /* The region of the screen, when given, is the region screenshot route. */
        if (strcmp(t->name, "screenshot") == 0 && json_object_get(args, "width"))
            snprintf(path, sizeof path, "/computeruse/screenshot/region/compressed");
        if (query_args(args, qargs, store, 2 * REQ_MAX_ARGS, err, sizeof err) < 0) {
            for (int i = 0; i < REQ_MAX_ARGS; i++)
                free(store[i]);
            return tool_error(err);
        }
    } else {
        body = json_deep_copy(args);
        json_t *fixed = t->fixed ? json_loads(t->fixed, 0, NULL) : NULL;
        json_object_update(body, fixed);
        json_decref(fixed);
    }
    if (t->in == IN_WINDOW) {
        json_t *id = json_object_get(body, "id");
        const char *action = json_string_value(json_object_get(body, "action"));
        if (!json_is_integer(id) || json_integer_value(id) <= 0) {
            json_decref(body);
            return tool_error("id must be a window id (a positive integer) from the windows tool");
        }
        if (!action || strspn(action, "abcdefghijklmnopqrstuvwxyz") != strlen(action) || !*action) {
            json_decref(body);
            return tool_error("action must be one of activate, close, minimize, maximize, "
                              "restore, geometry");
        }
        snprintf(path, sizeof path, "/computeruse/windows/%" JSON_INTEGER_FORMAT "/%s",
                json_integer_value(id), action);
        json_object_del(body, "id");
        json_object_del(body, "action");
    }
    struct req_capture out;
    req_call(r, t->method, path, qargs, body, &out);
    json_decref(body);
    for (int i = 0; i < REQ_MAX_ARGS; i++)
        free(store[i]);
    json_t *answer = out.body ? json_loadb(out.body, out.len, 0, NULL) : NULL;
    free(out.body);
    json_t *result;
    if (out.status == 304) {
        /* ifChangedSince on a screenshot, and nothing changed: no image to send. */
        result = json_pack("{s:[o]}", "content", text_block("{\"unchanged\":true}"));
    } else if (out.status >= 200 && out.status < 300) {
        result = json_pack("{s:o}", "content", answer_content(answer ? answer : json_object()));
    } else if (out.status == 404 && t->in == IN_WINDOW &&
               strcmp(json_string_value(json_object_get(answer, "code")) ?: "", "NOT_FOUND") == 0) {
        /* No such route: the action is not one of the window routes'. */
        result = tool_error("action must be one of activate, close, minimize, maximize, "
                            "restore, geometry");
    } else {
        const char *msg = json_string_value(json_object_get(answer, "message"));
        const char *code = json_string_value(json_object_get(answer, "code"));
        char sentence[1200];
        json_t *failed = json_object_get(answer, "failedIndex"); /* the actions tool's */
        int n = snprintf(sentence, sizeof sentence, "%s (%s, HTTP %d)",
                msg ? msg : "the tool failed", code ? code : "ERROR", out.status);
        if (json_is_integer(failed) && n > 0 && (size_t)n < sizeof sentence)
            snprintf(sentence + n, sizeof sentence - (size_t)n,
                    "; actions[%" JSON_INTEGER_FORMAT "] failed, those before it ran",
                    json_integer_value(failed));
        result = tool_error(sentence);
    }
    json_decref(answer);
    return result;
}

/* ---- the route ---- */

static bool supported(const char *version) {
    for (size_t i = 0; version && i < NVERSIONS; i++) {
        if (strcmp(versions[i], version) == 0)
            return true;
    }
    return false;
}

static void on_initialize(struct req *r, json_t *id, json_t *params) {
    const char *asked = json_string_value(json_object_get(params, "protocolVersion"));
    const char *version = supported(asked) ? asked : versions[0];
    char session[33];
    if (session_new(version, session) < 0) {
        reply_rpc_error(r, 500, id, RPC_INVALID_REQUEST, "no session could be made");
        return;
    }
    json_t *result = json_pack("{s:s, s:{s:{s:b}}, s:{s:s, s:s, s:s}, s:s}", "protocolVersion",
            version, "capabilities", "tools", "listChanged", 0, "serverInfo", "name", "deskd",
            "title", "desk: a Linux desktop", "version", DESK_VERSION, "instructions",
            "Tools to see and drive a Linux desktop: take a screenshot, then act with "
            "coordinates in the screenshot's space (pass its width and height as space).");
    reply_result(r, id, result, session);
}

static void on_call(struct req *r, json_t *id, json_t *params) {
    const char *name = json_string_value(json_object_get(params, "name"));
    json_t *args = json_object_get(params, "arguments");
    if (!name) {
        reply_rpc_error(r, 200, id, RPC_INVALID_PARAMS, "params.name must be a tool name");
        return;
    }
    if (args && !json_is_object(args)) {
        reply_rpc_error(r, 200, id, RPC_INVALID_PARAMS, "params.arguments must be an object");
        return;
    }
    for (size_t i = 0; i < NTOOLS; i++) {
        if (strcmp(tools[i].name, name) == 0) {
            json_t *empty = args ? NULL : json_object();
            json_t *result = tool_run(r, &tools[i], args ? args : empty);
            json_decref(empty);
            reply_result(r, id, result, NULL);
            return;
        }
    }
    reply_rpc_error(
            r, 200, id, RPC_INVALID_PARAMS, "unknown tool \"%s\"; tools/list names them", name);
}

/* The checks of a message after initialize: its session and protocol version headers. */
static bool session_ok(struct req *r, json_t *id) {
    const char *session = req_header(r, "Mcp-Session-Id");
    const char *version = req_header(r, "MCP-Protocol-Version");
    if (!session) {
        reply_rpc_error(r, 400, id, RPC_INVALID_REQUEST,
                "the Mcp-Session-Id header is missing: send the one initialize answered");
        return false;
    }
    if (!session_find(session, false)) {
        reply_rpc_error(r, 404, id, RPC_INVALID_REQUEST,
                "session %.40s is unknown or ended: initialize again", session);
        return false;
    }
    if (version && !supported(version)) {
        reply_rpc_error(r, 400, id, RPC_INVALID_REQUEST,
                "MCP-Protocol-Version %.40s is not supported: use 2025-11-25 or 2025-06-18",
                version);
        return false;
    }
    return true;
}

static void api_mcp_post(struct req *r) {
    if (r->body_too_large) {
        reply_rpc_error(r, 413, NULL, RPC_INVALID_REQUEST, "the message exceeds %zu bytes",
                (size_t)REQ_BIG_BODY_LIMIT);
        return;
    }
    json_error_t jerr;
    json_t *msg = r->body ? json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
    if (!msg) {
        reply_rpc_error(r, 400, NULL, RPC_PARSE_ERROR, "the body is not JSON: %s",
                r->body ? jerr.text : "it is empty");
        return;
    }
    json_t *id = json_object_get(msg, "id");
    if (!json_is_string(id) && !json_is_integer(id))
        id = NULL; /* refused below when given; errors then answer to null */
    bool has_id = json_object_get(msg, "id") != NULL;
    /* A response to a request of ours: deskd sends none, so it answers nothing. */
    bool response = json_object_get(msg, "result") || json_object_get(msg, "error");
    const char *method = json_string_value(json_object_get(msg, "method"));
    json_t *params = json_object_get(msg, "params");
    if (json_is_array(msg)) {
        reply_rpc_error(r, 400, NULL, RPC_INVALID_REQUEST,
                "batches are not accepted (MCP 2025-06-18 removed them): send one message");
    } else if (!json_is_object(msg) ||
               strcmp(json_string_value(json_object_get(msg, "jsonrpc")) ?: "", "2.0") != 0) {
        reply_rpc_error(r, 400, NULL, RPC_INVALID_REQUEST,
                "a message must be a JSON object with \"jsonrpc\": \"2.0\"");
    } else if (has_id && !id) {
        reply_rpc_error(r, 400, NULL, RPC_INVALID_REQUEST, "id must be a string or an integer");
    } else if (!method && !response) {
        reply_rpc_error(r, 400, id, RPC_INVALID_REQUEST, "method must be a string");
    } else if (params && !json_is_object(params)) {
        reply_rpc_error(r, 400, id, RPC_INVALID_REQUEST, "params must be an object");
    } else if (!response && strcmp(method, "initialize") == 0 && id) {
        on_initialize(r, id, params);
    } else if (!session_ok(r, id)) {
        /* answered */
    } else if (!id || response) {
        /* Notifications (initialized, cancelled...) and responses need no answer. */
        reply_bytes(r, 202, "application/json", "", 0, NULL);
    } else if (strcmp(method, "ping") == 0) {
        reply_result(r, id, json_object(), NULL);
    } else if (strcmp(method, "tools/list") == 0) {
        reply_result(r, id, json_pack("{s:o}", "tools", tool_list()), NULL);
    } else if (strcmp(method, "tools/call") == 0) {
        on_call(r, id, params);
    } else {
        reply_rpc_error(r, 200, id, RPC_METHOD_NOT_FOUND,
                "method %.64s is not served; deskd answers initialize, ping, tools/list, "
                "tools/call",
                method);
    }
    json_decref(msg);
}

/* DELETE /mcp: the client ends its session. */
static void api_mcp_delete(struct req *r) {
    const char *session = req_header(r, "Mcp-Session-Id");
    if (!session)
        reply_error(r, ERR_INVALID_PARAMETER, "the Mcp-Session-Id header is missing");
    else if (!session_find(session, true))
        reply_error(r, ERR_NOT_FOUND, "session %.40s is unknown or ended", session);
    else
        reply_json(r, 200, json_object());
}

const struct route api_mcp_routes[] = {
        {"POST", "/mcp", api_mcp_post, ROUTE_BIG_BODY | ROUTE_OWN_LIMIT},
        {"DELETE", "/mcp", api_mcp_delete, 0},
        {NULL, NULL, NULL, 0},
};
