/*
 * mcp: the JSON-RPC envelope, the tool table and tool calls as route
 * requests (see mcp.h). Every tool is a row of tools[] naming the HTTP route
 * it runs and that route's parameter spec (spec.h), which the route's parser
 * checks bodies against; tools/list generates each input schema from it.
 */
#include "mcp.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The protocol versions spoken, newest first: the answer to an unknown one. */
static const char *const versions[] = {"2025-11-25", "2025-06-18"};
#define NVERSIONS (sizeof versions / sizeof versions[0])

#define COORDS_                                                                                    \
    " Coordinates are screen pixels of the X display, origin top-left, unless space is given."

/* What double_click and triple_click fix. */
static const char *const no_clicks[] = {"clicks", "double", NULL};

static const struct mcp_tool tools[] = {
        {"screenshot", "GET", "/computeruse/screenshot/compressed", IN_QUERY, NULL, NULL,
                &spec_screenshot,
                "Captures the screen (or the rectangle x, y, width, height of it) as an image. "
                "fit sizes it for you: xga (fits 1024x768), wxga (1280x800), fwxga (1366x768), "
                "or maxLongEdge=N and/or maxPixels=N; pass the image's width and height as space "
                "to pointer tools to use its pixels as coordinates. The text block gives frameId "
                "(equal ids: the same screen), space (the image size) and region (the screen "
                "rectangle shown)."},
        {"click", "POST", "/computeruse/mouse/click", IN_BODY, NULL, NULL, &spec_click,
                "Moves the pointer to x, y and clicks (clicks: 1 to 3)." COORDS_
                " Answers where the pointer is, in the same space."},
        {"double_click", "POST", "/computeruse/mouse/click", IN_BODY, "{\"clicks\": 2}", no_clicks,
                &spec_click, "Double-clicks at x, y." COORDS_},
        {"triple_click", "POST", "/computeruse/mouse/click", IN_BODY, "{\"clicks\": 3}", no_clicks,
                &spec_click, "Triple-clicks at x, y (selects a line or paragraph)." COORDS_},
        {"move", "POST", "/computeruse/mouse/move", IN_BODY, NULL, NULL, &spec_move,
                "Moves the pointer to x, y without clicking." COORDS_},
        {"drag", "POST", "/computeruse/mouse/drag", IN_BODY, NULL, NULL, &spec_drag,
                "Presses a button at startX, startY, moves to endX, endY and releases (or "
                "follows path, a list of points {x, y})." COORDS_},
        {"scroll", "POST", "/computeruse/mouse/scroll", IN_BODY, NULL, NULL, &spec_scroll,
                "Scrolls at x, y: amount wheel clicks (default 1) in direction." COORDS_},
        {"type", "POST", "/computeruse/keyboard/type", IN_BODY, NULL, NULL, &spec_type_route,
                "Types text as characters, whatever the keyboard layout; a newline presses "
                "Return. Tabs and other control characters are refused: use key. delay: "
                "milliseconds after each character. method paste puts the text on the clipboard "
                "and presses pasteKeys instead."},
        {"key", "POST", "/computeruse/keyboard/key", IN_BODY, NULL, NULL, &spec_key,
                "Presses and releases one key (enter, escape, tab, backspace, up, f5, a, or an "
                "X keysym name) with modifiers (ctrl, alt, shift, cmd) held; holdMs holds it."},
        {"hotkey", "POST", "/computeruse/keyboard/hotkey", IN_BODY, NULL, NULL, &spec_hotkey,
                "Presses one chord such as ctrl+shift+t: modifiers then the last key, released "
                "in reverse order."},
        {"wait", "POST", "/computeruse/wait", IN_BODY, NULL, NULL, &spec_wait,
                "Waits for the screen: until stable (no change for stableMs) or changed (since "
                "frameId, default now), at most timeoutMs; a timeout is not an error (timedOut "
                "is true). region limits it to a screen rectangle in screen pixels. Answers "
                "frameId, changed, stable, timedOut, waitedMs and the regions that changed."},
        {"cursor_position", "GET", "/computeruse/mouse/position", IN_QUERY, NULL, NULL, &spec_none,
                "Answers the pointer position {x, y} in screen pixels."},
        {"actions", "POST", "/computeruse/actions", IN_BODY, NULL, NULL, &spec_actions,
                "Runs input actions in order, none interleaved with other input; all are checked "
                "before any runs, and what they pressed is released if one fails. Each action "
                "has a type (move, click, drag, scroll, type, key, hotkey, keyDown, keyUp, "
                "buttonDown, buttonUp, releaseAll, wait) and the members of the tool of that "
                "name; wait takes ms, or until, stableMs and timeoutMs as the wait tool. "
                "observe {settle, screenshot} takes a screenshot after them. space applies to "
                "every action that has none." COORDS_},
        {"windows", "GET", "/computeruse/display/windows", IN_QUERY, NULL, NULL, &spec_windows,
                "Lists the top-level windows: id, title, geometry in screen pixels, type, "
                "states, which one is active. type filters (normal, dialog...)."},
        {"window_action", "POST", NULL, IN_WINDOW, NULL, NULL, &spec_window_action,
                "Asks the window manager to activate, close, minimize, maximize or restore the "
                "window id (from windows), or to move and size it (geometry, with x, y, width, "
                "height in screen pixels); answers the window once the change is visible."},
        {"clipboard_get", "GET", "/computeruse/clipboard", IN_QUERY, NULL, NULL,
                &spec_clipboard_get,
                "Reads the clipboard's text (selection: clipboard, the default, or primary)."},
        {"clipboard_set", "POST", "/computeruse/clipboard", IN_BODY, NULL, NULL,
                &spec_clipboard_set,
                "Puts text on the clipboard (selection: clipboard, the default, or primary), "
                "ready to paste."},
        {"launch", "POST", "/computeruse/apps/launch", IN_BODY, NULL, NULL, &spec_launch,
                "Starts a program on the desktop from argv (no shell), with env and cwd; with "
                "waitForWindow, answers once its first window is mapped (timeoutMs). Answers "
                "its pid and window."},
        {"a11y_tree", "GET", "/computeruse/a11y/tree", IN_QUERY, NULL, NULL, &spec_a11y_tree,
                "The accessibility tree of the focused application (scope focused, the "
                "default), of process pid (scope pid) or of every application (scope all): "
                "nodes with id, role, name, states, actions and bounds in screen pixels; "
                "maxDepth limits the depth. space (\"WIDTHxHEIGHT\" of a screenshot) adds "
                "spaceBounds in that image's pixels, ready for the pointer tools."},
        {"a11y_find", "POST", "/computeruse/a11y/find", IN_BODY, NULL, NULL, &spec_a11y_find,
                "Finds accessibility nodes by role (push button, text, ...), name (nameMatch "
                "exact, substring or regex) and states (all of them, e.g. [\"focused\"]) in "
                "scope; at most limit. Each match has its id (for a11y_focus, a11y_invoke, "
                "a11y_set_value) and bounds; with space, also spaceBounds in that image's "
                "pixels."},
        {"a11y_focus", "POST", "/computeruse/a11y/node/focus", IN_BODY, NULL, NULL,
                &spec_a11y_focus,
                "Gives the keyboard focus to the accessibility node id (from a11y_tree or "
                "a11y_find)."},
        {"a11y_invoke", "POST", "/computeruse/a11y/node/invoke", IN_BODY, NULL, NULL,
                &spec_a11y_invoke,
                "Performs an action of the accessibility node id (action: one of the node's "
                "actions, such as click or activate; default its first), without moving the "
                "pointer."},
        {"a11y_set_value", "POST", "/computeruse/a11y/node/value", IN_BODY, NULL, NULL,
                &spec_a11y_value,
                "Sets the text (or the numeric value) of the accessibility node id to value."},
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

const struct mcp_tool *mcp_tools(size_t *n) {
    *n = NTOOLS;
    return tools;
}

json_t *mcp_tool_list(void) {
    json_t *list = json_array();
    for (size_t i = 0; i < NTOOLS; i++) {
        const struct mcp_tool *t = &tools[i];
        json_t *desc = t->spec->rules ? json_sprintf("%s %s", t->description, t->spec->rules)
                                      : json_string(t->description);
        /* A query route ignores arguments it does not know (API.md); a tool refuses them. */
        json_t *schema = spec_schema(t->spec, t->drop);
        json_object_set_new(schema, "additionalProperties", json_false());
        json_array_append_new(list, json_pack("{s:s, s:o, s:o}", "name", t->name, "description",
                                            desc, "inputSchema", schema));
    }
    return list;
}

/* Query arguments from a flat JSON object into c (values strdup'd into c->store). */
static int query_args(json_t *in, struct mcp_call *c, struct mcp_error *e) {
    int n = 0;
    const char *key;
    json_t *v;
    json_object_foreach(in, key, v) {
        if (!spec_field(c->tool->spec, key)) {
            snprintf(e->message, sizeof e->message,
                    "%.64s is not an argument of %s; tools/list gives its arguments", key,
                    c->tool->name);
            return -EPERM;
        }
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
    if (spec_check(c->body, &spec_window_action, NULL, e->message, sizeof e->message) < 0)
        return -EPERM;
    json_t *id = json_object_get(c->body, "id");
    const char *action = json_string_value(json_object_get(c->body, "action"));
    /* One of the table's words: the action is a path segment and must stay one. */
    const char *const *ok = spec_field(&spec_window_action, "action")->choices;
    while (*ok && strcmp(*ok, action) != 0)
        ok++;
    if (!*ok) {
        snprintf(e->message, sizeof e->message,
                "action must be one of activate, close, minimize, maximize, restore, geometry, "
                "got \"%.64s\"",
                action);
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
    /* What the tool fixes is not the caller's to give. */
    for (size_t i = 0; t->drop && t->drop[i]; i++) {
        if (json_object_get(args, t->drop[i])) {
            snprintf(e->message, sizeof e->message, "%s is not an argument of %s (it sets it)",
                    t->drop[i], t->name);
            return -EPERM;
        }
    }
    if (t->in == IN_QUERY) {
        /* The region of the screen, when any of it is given, is the region screenshot route. */
        if (strcmp(t->name, "screenshot") == 0 &&
                (json_object_get(args, "x") || json_object_get(args, "y") ||
                        json_object_get(args, "width") || json_object_get(args, "height")))
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
