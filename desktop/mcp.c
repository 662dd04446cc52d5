/*
 * mcp: the JSON-RPC envelope, the tool table and tool calls as route
 * requests (see mcp.h). Every tool is a row of tools[] naming the HTTP route
 * it runs; the row also carries the tool's description and input JSON
 * Schema, which tools/list sends as they are.
 */
#include "mcp.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a11y.h"
#include "acts.h"
#include "apps.h"
#include "damage.h"
#include "input.h"
#include "log.h"

/* The protocol versions spoken, newest first: the answer to an unknown one. */
static const char *const versions[] = {"2025-11-25", "2025-06-18"};
#define NVERSIONS (sizeof versions / sizeof versions[0])

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

static const struct mcp_tool tools[] = {
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

bool mcp_version_supported(const char *v) {
    for (size_t i = 0; v && i < NVERSIONS; i++) {
        if (strcmp(versions[i], v) == 0)
            return true;
    }
    return false;
}

const char *mcp_version_newest(void) {
    return versions[0];
}

static int fail(struct mcp_error *e, int status, int code, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static int fail(struct mcp_error *e, int status, int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    e->status = status;
    e->code = code;
    return -EINVAL;
}

int mcp_msg_parse(json_t *msg, struct mcp_msg *m, struct mcp_error *e) {
    *m = (struct mcp_msg){.kind = MCP_UNKNOWN};
    if (json_is_array(msg))
        return fail(e, 400, RPC_INVALID_REQUEST,
                "batches are not accepted (MCP 2025-06-18 removed them): send one message");
    if (!json_is_object(msg) ||
            strcmp(json_string_value(json_object_get(msg, "jsonrpc")) ?: "", "2.0") != 0)
        return fail(e, 400, RPC_INVALID_REQUEST,
                "a message must be a JSON object with \"jsonrpc\": \"2.0\"");
    json_t *id = json_object_get(msg, "id");
    if (id && !json_is_string(id) && !json_is_integer(id))
        return fail(e, 400, RPC_INVALID_REQUEST, "id must be a string or an integer");
    m->id = id;
    /* A response to a request of ours: deskd sends none, so it answers nothing. */
    bool response = json_object_get(msg, "result") || json_object_get(msg, "error");
    m->method = json_string_value(json_object_get(msg, "method"));
    m->params = json_object_get(msg, "params");
    if (!m->method && !response)
        return fail(e, 400, RPC_INVALID_REQUEST, "method must be a string");
    if (m->params && !json_is_object(m->params))
        return fail(e, 400, RPC_INVALID_REQUEST, "params must be an object");
    if (response || !id)
        m->kind = MCP_NO_ANSWER;
    else if (strcmp(m->method, "initialize") == 0)
        m->kind = MCP_INITIALIZE;
    else if (strcmp(m->method, "ping") == 0)
        m->kind = MCP_PING;
    else if (strcmp(m->method, "tools/list") == 0)
        m->kind = MCP_TOOLS_LIST;
    else if (strcmp(m->method, "tools/call") == 0)
        m->kind = MCP_TOOLS_CALL;
    return 0;
}

json_t *mcp_tool_list(void) {
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

/* Query arguments from a flat JSON object into c (values strdup'd into c->store). */
static int query_args(json_t *in, struct mcp_call *c, struct mcp_error *e) {
    int n = 0;
    const char *key;
    json_t *v;
    json_object_foreach(in, key, v) {
        if (n + 3 > 2 * REQ_MAX_ARGS) {
            snprintf(e->message, sizeof e->message, "too many arguments");
            return -EPERM;
        }
        char num[32];
        if (json_is_integer(v))
            snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        else if (json_is_real(v))
            snprintf(num, sizeof num, "%.17g", json_real_value(v));
        else if (json_is_boolean(v))
            snprintf(num, sizeof num, "%s", json_is_true(v) ? "true" : "false");
        else if (!json_is_string(v)) {
            snprintf(e->message, sizeof e->message,
                    "argument %.64s must be a string, number or boolean", key);
            return -EPERM;
        }
        char *s = strdup(json_is_string(v) ? json_string_value(v) : num);
        if (!s) {
            snprintf(e->message, sizeof e->message, "out of memory");
            return -EPERM;
        }
        c->store[n / 2] = s;
        c->args[n++] = key;
        c->args[n++] = s;
    }
    c->args[n] = NULL;
    return 0;
}

/* A window tool: "id" and "action" make the path /computeruse/windows/{id}/{action}. */
static int window_path(struct mcp_call *c, struct mcp_error *e) {
    json_t *id = json_object_get(c->body, "id");
    const char *action = json_string_value(json_object_get(c->body, "action"));
    if (!json_is_integer(id) || json_integer_value(id) <= 0) {
        snprintf(e->message, sizeof e->message,
                "id must be a window id (a positive integer) from the windows tool");
        return -EPERM;
    }
    /* Lowercase letters only: the action is a path segment and must stay one. */
    if (!action || !*action || strspn(action, "abcdefghijklmnopqrstuvwxyz") != strlen(action)) {
        snprintf(e->message, sizeof e->message,
                "action must be one of activate, close, minimize, maximize, restore, geometry");
        return -EPERM;
    }
    snprintf(c->path, sizeof c->path, "/computeruse/windows/%" JSON_INTEGER_FORMAT "/%.32s",
            json_integer_value(id), action);
    json_object_del(c->body, "id");
    json_object_del(c->body, "action");
    return 0;
}

int mcp_call_parse(json_t *params, struct mcp_call *c, struct mcp_error *e) {
    memset(c, 0, sizeof *c);
    const char *name = json_string_value(json_object_get(params, "name"));
    json_t *args = json_object_get(params, "arguments");
    if (!name)
        return fail(e, 200, RPC_INVALID_PARAMS, "params.name must be a tool name");
    if (args && !json_is_object(args))
        return fail(e, 200, RPC_INVALID_PARAMS, "params.arguments must be an object");
    for (size_t i = 0; i < NTOOLS && !c->tool; i++) {
        if (strcmp(tools[i].name, name) == 0)
            c->tool = &tools[i];
    }
    if (!c->tool)
        return fail(
                e, 200, RPC_INVALID_PARAMS, "unknown tool \"%.64s\"; tools/list names them", name);
    const struct mcp_tool *t = c->tool;
    snprintf(c->path, sizeof c->path, "%s", t->path ? t->path : "");
    if (t->in == IN_QUERY) {
        /* The region of the screen, when given, is the region screenshot route. */
        if (strcmp(t->name, "screenshot") == 0 && json_object_get(args, "width"))
            snprintf(c->path, sizeof c->path, "/computeruse/screenshot/region/compressed");
        return args ? query_args(args, c, e) : 0;
    }
    c->body = args ? json_deep_copy(args) : json_object();
    json_t *fixed = t->fixed ? json_loads(t->fixed, 0, NULL) : NULL;
    json_object_update(c->body, fixed);
    json_decref(fixed);
    if (!c->body) {
        snprintf(e->message, sizeof e->message, "out of memory");
        return -EPERM;
    }
    return t->in == IN_WINDOW ? window_path(c, e) : 0;
}

void mcp_call_free(struct mcp_call *c) {
    for (int i = 0; i < REQ_MAX_ARGS; i++)
        free(c->store[i]);
    json_decref(c->body);
    memset(c, 0, sizeof *c);
}
