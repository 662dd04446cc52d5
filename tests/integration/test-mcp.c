/*
 * deskd's MCP server (API.md §13) through the official MCP TypeScript SDK:
 * mcp.js (a Client of @modelcontextprotocol/sdk, pinned in package.json)
 * against a deskd attached to a private Xvfb with the evlog X client's window
 * on it, first over Streamable HTTP (POST /mcp), then over stdio through
 * `desk mcp`, the bridge stdio-only hosts start. Each way this test checks
 * what the SDK's user sees against what it knows independently:
 *   - without the token (through desk mcp: with a wrong one) the SDK cannot connect;
 *   - connected, the server is deskd and every listed tool has an object
 *     input schema;
 *   - screenshot is a JPEG image block that decodes at the Xvfb's size (and at
 *     half of it with scale 0.5), with a text block naming space and region;
 *   - click lands on evlog's window where asked (in screen pixels and in a
 *     space), double_click presses twice, scroll presses the wheel button,
 *     type's characters reach it, as evlog (an X client) reports them;
 *   - wait answers a still screen as stable; clipboard_set then clipboard_get
 *     gives the text back;
 *   - a bad key is a tool result with isError and deskd's sentence;
 *   - move, cursor_position, triple_click, drag, hotkey and a batch with an
 *     observing screenshot as evlog and the image say; windows, window_action
 *     (an unknown window, an unknown action), launch (a pid, a missing program)
 *     and the accessibility tools (their routes' errors without a bus).
 * And without an SDK, what a broken client may send to /mcp: not JSON, a
 * batch, a wrong jsonrpc, an unknown method, a missing or unknown session, an
 * oversized body, a GET: each the JSON-RPC error with the standard code (or
 * the HTTP status the transport says), and deskd still serving afterwards.
 * node or the SDK missing is a failure, not a skip: CI installs both.
 */
#define _GNU_SOURCE
#include <X11/Xlib.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "deskproc.h"
#include "evproc.h"
#include "http.h"
#include "image.h"
#include "nodeproc.h"
#include "stack-util.h"
#include "xserver.h"

#define W       1100
#define H       700
#define WIN_X   100
#define WIN_Y   80
#define WIN_W   500
#define WIN_H   400
#define ASK_MS  20000
#define LINE_MS 5000

static struct evproc ev;
static Display *dpy;

/* Asks mcp.js cmd (a JSON text); its answer when "ok" is true, else NULL after a failed CHECK. */
static json_t *ask(struct nodeproc *n, const char *cmd) {
    json_t *a = nodeproc_ask(n, ASK_MS, cmd);
    bool ok = json_is_true(json_object_get(a, "ok"));
    CHECK(ok, "%s: %s", cmd, a ? json_string_value(json_object_get(a, "error")) : "no answer");
    if (!ok) {
        json_decref(a);
        return NULL;
    }
    return a;
}

/* Calls tool name with args (JSON text); the CallToolResult, which the caller frees. */
static json_t *call(struct nodeproc *n, const char *name, const char *args) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "{\"op\":\"call\",\"name\":\"%s\",\"arguments\":%s}", name, args);
    json_t *a = ask(n, cmd);
    json_t *result = a ? json_incref(json_object_get(a, "result")) : NULL;
    json_decref(a);
    return result;
}

static bool is_error(json_t *result) {
    return json_is_true(json_object_get(result, "isError"));
}

/* The text of a result's content block of type "text" (the first), or "". */
static const char *text_of(json_t *result) {
    size_t i;
    json_t *b;
    json_array_foreach(json_object_get(result, "content"), i, b) {
        if (strcmp(json_string_value(json_object_get(b, "type")) ?: "", "text") == 0)
            return json_string_value(json_object_get(b, "text")) ?: "";
    }
    return "";
}

/* Calls a tool that must succeed; false after a failed CHECK. */
static bool call_ok(struct nodeproc *n, const char *name, const char *args) {
    json_t *r = call(n, name, args);
    bool ok = r && !is_error(r);
    CHECK(ok, "tool %s %s succeeded: %s", name, args, r ? text_of(r) : "(no result)");
    json_decref(r);
    return ok;
}

/* Taps F1 through the key tool as a marker and collects evlog's lines up to it. */
static bool collect(struct nodeproc *n) {
    if (!call_ok(n, "key", "{\"key\":\"f1\"}"))
        return false;
    bool ok = evproc_collect(&ev, "key F1 ", LINE_MS);
    CHECK(ok, "evlog reported the F1 marker");
    return ok;
}

static void check_tools(struct nodeproc *n, const char *how) {
    json_t *a = ask(n, "{\"op\":\"list\"}");
    json_t *tools = json_object_get(a, "tools");
    static const char *const want[] = {"screenshot", "click", "double_click", "triple_click",
            "move", "drag", "scroll", "type", "key", "hotkey", "wait", "cursor_position", "actions",
            "windows", "window_action", "clipboard_get", "clipboard_set", "launch", "a11y_tree",
            "a11y_find", "a11y_focus", "a11y_invoke", "a11y_set_value", NULL};
    for (int i = 0; want[i]; i++) {
        bool found = false;
        size_t k;
        json_t *t;
        json_array_foreach(tools, k, t) {
            found |= strcmp(json_string_value(json_object_get(t, "name")) ?: "", want[i]) == 0;
        }
        CHECK(found, "%s: tools/list has %s", how, want[i]);
    }
    size_t k;
    json_t *t;
    json_array_foreach(tools, k, t) {
        const char *name = json_string_value(json_object_get(t, "name"));
        json_t *schema = json_object_get(t, "inputSchema");
        CHECK_STR(json_string_value(json_object_get(schema, "type")), "object");
        CHECK(json_is_object(json_object_get(schema, "properties")),
                "%s: %s has properties in its input schema", how, name);
        CHECK(strlen(json_string_value(json_object_get(t, "description")) ?: "") > 20,
                "%s: %s has a description", how, name);
    }
    json_decref(a);
}

/* A screenshot through the tool: a JPEG of want_w x want_h, and its text block. */
static void check_screenshot(struct nodeproc *n, const char *args, int want_w, int want_h) {
    json_t *r = call(n, "screenshot", args);
    CHECK(r && !is_error(r), "screenshot %s: %s", args, r ? text_of(r) : "(no result)");
    json_t *img = json_array_get(json_object_get(r, "content"), 0);
    CHECK_STR(json_string_value(json_object_get(img, "type")), "image");
    CHECK_STR(json_string_value(json_object_get(img, "mimeType")), "image/jpeg");
    const char *b64 = json_string_value(json_object_get(img, "data"));
    uint8_t *bytes = NULL;
    size_t len = 0;
    struct image im = {0};
    CHECK_INT(b64 ? base64_decode(b64, strlen(b64), &bytes, &len) : -1, 0);
    CHECK_INT(bytes ? image_decode(bytes, len, &im) : -1, 0);
    CHECK_STR(im.format, "jpeg");
    CHECK_INT(im.width, want_w);
    if (want_h > 0)
        CHECK_INT(im.height, want_h);
    else /* fit: 1100x700 within 1024x768 keeps the aspect, 1024 x 651.6 */
        CHECK(im.height == 651 || im.height == 652, "%s: %d high", args, im.height);
    want_h = im.height;
    image_free(&im);
    free(bytes);
    json_t *about = json_loads(text_of(r), 0, NULL);
    json_t *space = json_object_get(about, "space"), *region = json_object_get(about, "region");
    CHECK_INT(json_integer_value(json_object_get(space, "width")), want_w);
    CHECK_INT(json_integer_value(json_object_get(space, "height")), want_h);
    CHECK_INT(json_integer_value(json_object_get(region, "width")), W);
    CHECK_INT(json_integer_value(json_object_get(region, "height")), H);
    CHECK(json_integer_value(json_object_get(about, "frameId")) > 0, "%s: a frameId", args);
    json_decref(about);
    json_decref(r);
}

/* The screen wait: nothing moves on this Xvfb, so it is stable within its stableMs. */
static void check_wait(struct nodeproc *n, const char *how) {
    json_t *r = call(n, "wait", "{\"until\":\"stable\",\"stableMs\":50,\"timeoutMs\":5000}");
    CHECK(r && !is_error(r), "%s: wait: %s", how, r ? text_of(r) : "(no result)");
    json_t *a = json_loads(text_of(r), 0, NULL);
    CHECK(json_is_true(json_object_get(a, "stable")), "%s: wait answered stable: %s", how,
            text_of(r));
    json_decref(a);
    json_decref(r);
    r = call(n, "wait", "{\"until\":\"soon\"}");
    CHECK(is_error(r) && strstr(text_of(r), "until"), "%s: a bad until is isError naming it: %s",
            how, text_of(r));
    json_decref(r);
}

/* The clipboard deskd owns: set, then read back. */
static void check_clipboard(struct nodeproc *n, const char *how) {
    char args[128];
    snprintf(args, sizeof args, "{\"text\":\"from %s ✓\"}", how);
    if (!call_ok(n, "clipboard_set", args))
        return;
    json_t *r = call(n, "clipboard_get", "{}");
    json_t *a = json_loads(text_of(r), 0, NULL);
    char want[64];
    snprintf(want, sizeof want, "from %s ✓", how);
    CHECK_STR(json_string_value(json_object_get(a, "text")), want);
    json_decref(a);
    json_decref(r);
}

static void check_input(struct nodeproc *n, const char *how) {
    /* A click on evlog's window lands where asked, in screen pixels and in a screenshot's. */
    if (call_ok(n, "click", "{\"x\":321,\"y\":234}") && collect(n)) {
        bool seen = false;
        for (int i = 0; i < ev.nlines; i++)
            seen |= strncmp(ev.lines[i], "press 1 321 234 ", 16) == 0;
        CHECK(seen, "%s: evlog saw button 1 pressed at 321,234", how);
    }
    /* In a 550x350 image of the 1100x700 screen, (200, 150) is screen pixel
     * floor(200.5 * 2) = 401, floor(150.5 * 2) = 301 (API.md §10). */
    if (call_ok(n, "click", "{\"x\":200,\"y\":150,\"space\":{\"width\":550,\"height\":350}}") &&
            collect(n)) {
        bool seen = false;
        for (int i = 0; i < ev.nlines; i++)
            seen |= strncmp(ev.lines[i], "press 1 401 301 ", 16) == 0;
        CHECK(seen, "%s: evlog saw button 1 pressed at 401,301 (space 550x350)", how);
    }
    /* double_click is two presses at the point; scroll down is button 5 there. */
    if (call_ok(n, "double_click", "{\"x\":300,\"y\":200}") &&
            call_ok(n, "scroll", "{\"x\":310,\"y\":210,\"direction\":\"down\",\"amount\":2}") &&
            collect(n)) {
        int presses = 0, wheel = 0;
        for (int i = 0; i < ev.nlines; i++) {
            presses += strncmp(ev.lines[i], "press 1 300 200 ", 16) == 0;
            wheel += strncmp(ev.lines[i], "press 5 310 210 ", 16) == 0;
        }
        CHECK_INT(presses, 2);
        CHECK_INT(wheel, 2);
    }
    if (call_ok(n, "type", "{\"text\":\"Hi, MCP ✓\"}") && collect(n)) {
        char *got = evproc_text(&ev);
        CHECK(got && strcmp(got, "Hi, MCP ✓") == 0, "%s: evlog received \"%s\"", how,
                got ? got : "");
        free(got);
    }
    check_nothing_held(dpy, how);

    /* A key the model got wrong: a result with isError and deskd's sentence; nothing typed. */
    json_t *r = call(n, "key", "{\"key\":\"FooBar\"}");
    CHECK(is_error(r), "%s: a bad key is isError", how);
    CHECK(strstr(text_of(r), "unsupported key \"FooBar\"") != NULL, "%s: the sentence: %s", how,
            text_of(r));
    json_decref(r);
    /* A batch with a bad action: refused whole, the sentence naming the action. */
    r = call(n, "actions",
            "{\"actions\":[{\"type\":\"type\",\"text\":\"no\"},{\"type\":\"key\","
            "\"key\":\"FooBar\"}]}");
    CHECK(is_error(r) && strstr(text_of(r), "actions[1]"), "%s: a bad batch names actions[1]: %s",
            how, text_of(r));
    json_decref(r);
    if (collect(n))
        CHECK_INT(ev.nlines, 0);
}

/* The line of ev's collected lines that starts with prefix, or NULL. */
static const char *line_with(const char *prefix) {
    for (int i = 0; i < ev.nlines; i++)
        if (strncmp(ev.lines[i], prefix, strlen(prefix)) == 0)
            return ev.lines[i];
    return NULL;
}

/* The other pointer and keyboard tools, windows, launch, the batch's observing screenshot
 * and the accessibility tools, each through the SDK against what evlog or deskd says. */
static void check_more(struct nodeproc *n, const char *how) {
    /* move, then cursor_position where it went. */
    if (call_ok(n, "move", "{\"x\":222,\"y\":111}") && collect(n)) {
        int mx = -1, my = -1;
        for (int i = 0; i < ev.nlines; i++)
            sscanf(ev.lines[i], "motion %d %d", &mx, &my);
        CHECK(mx == 222 && my == 111, "%s: move: the pointer went to %d,%d", how, mx, my);
    }
    json_t *r = call(n, "cursor_position", "{}");
    json_t *pos = json_loads(text_of(r), 0, NULL);
    CHECK(json_integer_value(json_object_get(pos, "x")) == 222 &&
                    json_integer_value(json_object_get(pos, "y")) == 111,
            "%s: cursor_position: %s", how, text_of(r));
    json_decref(pos);
    json_decref(r);
    /* triple_click: three presses there; drag: pressed at the start, released at the end. */
    if (call_ok(n, "triple_click", "{\"x\":330,\"y\":220}") &&
            call_ok(n, "drag", "{\"startX\":150,\"startY\":120,\"endX\":400,\"endY\":300}") &&
            collect(n)) {
        int presses = 0;
        for (int i = 0; i < ev.nlines; i++)
            presses += strncmp(ev.lines[i], "press 1 330 220 ", 16) == 0;
        CHECK_INT(presses, 3);
        CHECK(line_with("press 1 150 120 ") && line_with("release 1 400 300 "),
                "%s: drag pressed at 150,120 and released at 400,300", how);
    }
    /* hotkey: ctrl and shift held when t is pressed. */
    if (call_ok(n, "hotkey", "{\"keys\":\"ctrl+shift+t\"}") && collect(n))
        CHECK(line_with("key T 0x5 "), "%s: hotkey ctrl+shift+t reached evlog as T with state 0x5",
                how);
    /* A batch that observes: its click lands, its screenshot is an image block. */
    r = call(n, "actions",
            "{\"actions\":[{\"type\":\"click\",\"x\":250,\"y\":260}],\"observe\":"
            "{\"screenshot\":{\"format\":\"jpeg\",\"fit\":\"xga\"}}}");
    json_t *img = json_array_get(json_object_get(r, "content"), 0);
    uint8_t *bytes = NULL;
    size_t len = 0;
    struct image im = {0};
    const char *data = json_string_value(json_object_get(img, "data"));
    CHECK(r && !is_error(r) && data && base64_decode(data, strlen(data), &bytes, &len) == 0 &&
                    image_decode(bytes, len, &im) == 0 && im.width == 1024 && im.height == 651,
            "%s: the observing screenshot is a 1024x651 image (%dx%d)", how, im.width, im.height);
    image_free(&im);
    free(bytes);
    json_decref(r);
    if (collect(n))
        CHECK(line_with("press 1 250 260 "), "%s: the batch's click reached evlog", how);
    check_nothing_held(dpy, how);
    /* windows answers its list; window_action builds the window's route. */
    r = call(n, "windows", "{}");
    json_t *list = json_loads(text_of(r), 0, NULL);
    CHECK(r && !is_error(r) && json_is_array(json_object_get(list, "windows")) &&
                    json_integer_value(json_object_get(list, "count")) ==
                            (json_int_t)json_array_size(json_object_get(list, "windows")),
            "%s: windows: %s", how, text_of(r));
    json_decref(list);
    json_decref(r);
    r = call(n, "window_action", "{\"id\":99999999,\"action\":\"activate\"}");
    CHECK(is_error(r) && strstr(text_of(r), "WINDOW_NOT_FOUND"), "%s: unknown window: %s", how,
            text_of(r));
    json_decref(r);
    char args[128];
    snprintf(args, sizeof args, "{\"id\":%lu,\"action\":\"fly\"}", ev.window);
    r = call(n, "window_action", args);
    CHECK(is_error(r) && strstr(text_of(r), "activate, close, minimize"),
            "%s: unknown window action: %s", how, text_of(r));
    json_decref(r);
    /* launch: a pid; a missing program is an error naming it. */
    r = call(n, "launch", "{\"argv\":[\"true\"]}");
    json_t *launched = json_loads(text_of(r), 0, NULL);
    CHECK(r && !is_error(r) && json_integer_value(json_object_get(launched, "pid")) > 0,
            "%s: launch true: %s", how, text_of(r));
    json_decref(launched);
    json_decref(r);
    r = call(n, "launch", "{\"argv\":[\"/nonexistent/deskprog\"]}");
    CHECK(is_error(r) && strstr(text_of(r), "/nonexistent/deskprog"), "%s: launch missing: %s", how,
            text_of(r));
    json_decref(r);
    /* The accessibility tools reach their routes: without an accessibility bus on this
     * attached display, each is the route's A11Y_ error. */
    static const char *const a11y[][2] = {{"a11y_tree", "{}"},
            {"a11y_find", "{\"role\":\"push button\"}"}, {"a11y_focus", "{\"id\":\"1:2\"}"},
            {"a11y_invoke", "{\"id\":\"1:2\"}"},
            {"a11y_set_value", "{\"id\":\"1:2\",\"value\":\"x\"}"}};
    for (size_t i = 0; i < sizeof a11y / sizeof a11y[0]; i++) {
        r = call(n, a11y[i][0], a11y[i][1]);
        CHECK(is_error(r) && strstr(text_of(r), "(A11Y_"), "%s: %s without a bus: %s", how,
                a11y[i][0], text_of(r));
        json_decref(r);
    }
}

/* POSTs body to /mcp (session NULL: no Mcp-Session-Id); the status, the JSON in *out. */
static long post_mcp(
        const char *url, const char *session, const char *body, json_t **out, char *sess_out) {
    char auth[128], sess[128];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", SU_TOKEN);
    snprintf(sess, sizeof sess, "Mcp-Session-Id: %s", session ? session : "");
    const char *headers[] = {"Content-Type: application/json", auth, session ? sess : NULL, NULL};
    struct http_resp r;
    http_request("POST", url, body, headers, &r);
    *out = http_json(&r);
    if (sess_out && !http_header(&r, "Mcp-Session-Id", sess_out, 64))
        sess_out[0] = '\0';
    long st = r.status;
    http_resp_free(&r);
    return st;
}

/* One bad message: the HTTP status and the JSON-RPC error code deskd must answer. */
static void check_bad(const char *url, const char *session, const char *what, const char *body,
        long want_status, int want_code) {
    json_t *j = NULL;
    long st = post_mcp(url, session, body, &j, NULL);
    CHECK(st == want_status, "%s: HTTP %ld, expected %ld", what, st, want_status);
    json_t *err = json_object_get(j, "error");
    CHECK_INT(json_integer_value(json_object_get(err, "code")), want_code);
    CHECK(strlen(json_string_value(json_object_get(err, "message")) ?: "") > 10,
            "%s: a sentence: %s", what, json_string_value(json_object_get(err, "message")));
    json_decref(j);
}

static void check_protocol(const char *url) {
    char session[64] = "";
    json_t *j = NULL;
    const char *init = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":"
                       "{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},"
                       "\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}";
    CHECK_INT(post_mcp(url, NULL, init, &j, session), 200);
    CHECK_STR(json_string_value(json_object_get(json_object_get(j, "result"), "protocolVersion")),
            "2025-06-18");
    CHECK(strlen(session) == 32, "initialize issued a session id: \"%s\"", session);
    json_decref(j);
    /* A version deskd does not speak is answered with its newest. */
    const char *old = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":"
                      "{\"protocolVersion\":\"2024-11-05\",\"capabilities\":{},"
                      "\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}";
    CHECK_INT(post_mcp(url, NULL, old, &j, NULL), 200);
    CHECK_STR(json_string_value(json_object_get(json_object_get(j, "result"), "protocolVersion")),
            "2025-11-25");
    json_decref(j);
    const char *note = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}";
    CHECK_INT(post_mcp(url, session, note, &j, NULL), 202);
    CHECK(j == NULL, "a notification's 202 has no body");
    json_decref(j);

    check_bad(url, session, "not JSON", "{\"jsonrpc\": ", 400, -32700);
    check_bad(url, session, "a batch", "[{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}]", 400,
            -32600);
    check_bad(url, session, "jsonrpc 1.0", "{\"jsonrpc\":\"1.0\",\"id\":2,\"method\":\"ping\"}",
            400, -32600);
    check_bad(url, session, "a null id", "{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"ping\"}",
            400, -32600);
    check_bad(url, session, "an unknown method",
            "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"resources/list\"}", 200, -32601);
    check_bad(url, session, "an unknown tool",
            "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":"
            "{\"name\":\"fly\"}}",
            200, -32602);
    check_bad(url, session, "arguments not an object",
            "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":"
            "{\"name\":\"click\",\"arguments\":[1]}}",
            200, -32602);
    check_bad(url, NULL, "no session", "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}", 400,
            -32600);
    check_bad(url, "0123456789abcdef0123456789abcdef", "an unknown session",
            "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}", 404, -32600);

    /* Over the 48 MiB body limit: a JSON-RPC error, not a crash. */
    size_t big = (size_t)49 * 1024 * 1024;
    char *huge = malloc(big + 1);
    if (huge) {
        memset(huge, ' ', big);
        huge[big] = '\0';
        check_bad(url, session, "an oversized body", huge, 413, -32600);
        free(huge);
    }

    struct http_resp r;
    char auth[128];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", SU_TOKEN);
    const char *h[] = {auth, NULL};
    http_request("GET", url, NULL, h, &r);
    CHECK_INT(r.status, 405); /* no event stream is offered */
    http_resp_free(&r);

    const char *ping = "{\"jsonrpc\":\"2.0\",\"id\":\"p\",\"method\":\"ping\"}";
    CHECK_INT(post_mcp(url, session, ping, &j, NULL), 200);
    CHECK(json_is_object(json_object_get(j, "result")), "ping answers {} after all that");
    json_decref(j);
}

static void run_client(const char *const *argv, bool http) {
    const char *how = http ? "http" : "stdio";
    struct nodeproc n;
    CHECK_INT(nodeproc_start(&n, argv), 0);
    json_t *a = nodeproc_ask(&n, ASK_MS, "{\"op\":\"noauth\"}");
    CHECK(json_is_false(json_object_get(a, "ok")), "%s: without the token the SDK cannot connect",
            how);
    CHECK(strstr(json_string_value(json_object_get(a, "error")) ?: "", "401") != NULL,
            "%s: the SDK's error names the 401: %s", how,
            json_string_value(json_object_get(a, "error")));
    json_decref(a);
    json_t *c = ask(&n, "{\"op\":\"connect\"}");
    CHECK_STR(json_string_value(json_object_get(json_object_get(c, "server"), "name")), "deskd");
    json_decref(c);
    if (c) {
        check_tools(&n, how);
        check_screenshot(&n, "{\"format\":\"jpeg\",\"quality\":80}", W, H);
        check_screenshot(&n, "{\"format\":\"jpeg\",\"scale\":0.5}", W / 2, H / 2);
        check_screenshot(&n, "{\"format\":\"jpeg\",\"fit\":\"xga\"}", 1024, -1);
        check_wait(&n, how);
        check_clipboard(&n, how);
        check_input(&n, how);
        check_more(&n, how);
    }
    CHECK_INT(nodeproc_finish(&n, NULL, 10000), 0);
}

int main(void) {
    check_timeout(170); /* under the ctest TIMEOUT of 180, so the watchdog speaks first */
    check_require_tool("Xvfb");
    check_require_tool("node");
    char script[1024], module[1024];
    snprintf(script, sizeof script, "%s/tests/integration/mcp.js", DESK_SOURCE_DIR);
    snprintf(module, sizeof module,
            "%s/tests/integration/node_modules/@modelcontextprotocol/sdk/package.json",
            DESK_SOURCE_DIR);
    CHECK(access(module, R_OK) == 0,
            "@modelcontextprotocol/sdk is installed: run npm ci --prefix tests/integration");

    struct xserver xs;
    if (xserver_start_xvfb(&xs, W, H) < 0) {
        CHECK(false, "Xvfb started");
        return check_finish();
    }
    dpy = XOpenDisplay(xs.name);
    CHECK(dpy != NULL, "opened %s", xs.name);
    struct deskd_proc d;
    const char *args[] = {"--attach", "--display", xs.name, "--token", SU_TOKEN, NULL};
    if (!dpy || evproc_start(&ev, xs.name, WIN_X, WIN_Y, WIN_W, WIN_H, "mcp") < 0 ||
            deskd_start(&d, xs.name, args) < 0) {
        CHECK(false, "evlog and deskd started");
        return check_finish();
    }
    char url[128];
    snprintf(url, sizeof url, "%s/mcp", d.url);
    const char *http[] = {"node", script, "http", url, SU_TOKEN, NULL};
    check_protocol(url);
    run_client(http, true);
#ifdef DESK_CLI_PATH
    const char *stdio[] = {"node", script, "stdio", DESK_CLI_PATH, d.url, SU_TOKEN, NULL};
    run_client(stdio, false);
#endif

    CHECK_INT(deskd_stop(&d), 0);
    evproc_stop(&ev);
    XCloseDisplay(dpy);
    xserver_stop(&xs);
    if (check_failed)
        deskd_dump_log(&d);
    return check_finish();
}
