/*
 * Accessibility over AT-SPI on a real desktop: deskd supervises Xvfb, xfce4
 * and the accessibility bus, a GTK 3 application (a11y-app.c) runs on it in
 * the session's environment, and the test checks what a user of the routes
 * would check against what the application itself reports:
 *   - the atspi process as Daytona shows it (priority 250, autoRestart false,
 *     pid null, running);
 *   - xfce4-terminal's tree has its window (a frame with its title) and its
 *     terminal widget;
 *   - the tree of the application's pid: roles, names, states, and bounds
 *     equal to where GTK placed the widgets; maxDepth; [ext] spaceBounds;
 *   - find by exact, substring and regex name, by role, by states, with limit;
 *   - invoke clicks the button, value sets the entry's text and the slider's
 *     value, focus moves the keyboard focus so that typed text lands in the
 *     entry: each seen in the application's own log;
 *   - a node of a window that was closed (GTK keeps it, defunct) is
 *     A11Y_NODE_NOT_FOUND; malformed
 *     ids, scopes, regexes and bodies give Daytona's codes;
 *   - Daytona's TypeScript SDK's accessibility methods do the same (node);
 *   - so do the MCP tools a11y_tree, a11y_find, a11y_invoke, a11y_set_value
 *     and a11y_focus through the official MCP SDK's client (mcp.js), each
 *     result read as a model reads it and checked against the application;
 *   - a stopped (SIGSTOP) application's request ends with an error instead of
 *     hanging, and another application's tree is answered meanwhile;
 *   - killing the bus gives A11Y_UNAVAILABLE and no restart by itself; the
 *     restart route brings it back, and a new application's tree is there.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "deskproc.h"
#include "nodeproc.h"
#include "stack-util.h"

struct bounds {
    int x, y, w, h;
};

struct app {
    struct nodeproc p;
    struct bounds b[4]; /* button, entry, check, volume */
};

static const char *const widget[4] = {"button", "entry", "check", "volume"};

/* A variable of /proc/pid/environ into buf; false when absent. */
static bool environ_get(pid_t pid, const char *name, char *buf, size_t len) {
    char path[64], data[1 << 16];
    snprintf(path, sizeof path, "/proc/%d/environ", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, data, sizeof data - 1);
    close(fd);
    size_t nl = strlen(name);
    for (ssize_t k = 0; n > 0 && k < n; k += (ssize_t)strlen(data + k) + 1) {
        data[n] = '\0';
        if (strncmp(data + k, name, nl) == 0 && data[k + nl] == '=') {
            snprintf(buf, len, "%s", data + k + nl + 1);
            return true;
        }
    }
    return false;
}

/* Reads the application's lines until one starts with prefix; the line (to free) or NULL. */
static char *expect(struct app *a, const char *prefix, int timeout_ms) {
    int64_t end = su_ms() + timeout_ms;
    for (;;) {
        int64_t left = end - su_ms();
        char *line = left > 0 ? nodeproc_line(&a->p, (int)left) : NULL;
        if (!line)
            return NULL;
        if (strncmp(line, "bounds ", 7) == 0) {
            char w[16];
            struct bounds b;
            if (sscanf(line, "bounds %15s %d %d %d %d", w, &b.x, &b.y, &b.w, &b.h) == 5) {
                for (int i = 0; i < 4; i++)
                    if (strcmp(w, widget[i]) == 0)
                        a->b[i] = b;
            }
        }
        if (strncmp(line, prefix, strlen(prefix)) == 0)
            return line;
        free(line);
    }
}

static bool expect_line(struct app *a, const char *want, int timeout_ms) {
    char *line = expect(a, want, timeout_ms);
    bool ok = line && strcmp(line, want) == 0;
    CHECK(ok, "the application said \"%s\" (got \"%s\")", want, line ? line : "nothing");
    free(line);
    return ok;
}

static int app_start(struct app *a) {
    memset(a, 0, sizeof *a);
    const char *argv[] = {A11Y_APP, NULL};
    if (nodeproc_start(&a->p, argv) < 0)
        return -1;
    char *line = expect(a, "ready", 20000);
    CHECK(line != NULL, "the test application is up");
    free(line);
    return line ? 0 : -1;
}

static long a11y(const struct deskd_proc *d, const char *method, const char *path, const char *body,
        json_t **j) {
    char full[512];
    snprintf(full, sizeof full, "/computeruse/a11y/%s", path);
    return su_call(d, method, full, body, body ? "application/json" : NULL, j);
}

/* The first node of a tree (depth first) called name, or NULL. */
static json_t *node_named(json_t *n, const char *name) {
    const char *s = json_string_value(json_object_get(n, "name"));
    if (s && strcmp(s, name) == 0)
        return n;
    json_t *c;
    size_t k;
    json_array_foreach(json_object_get(n, "children"), k, c) {
        json_t *hit = node_named(c, name);
        if (hit)
            return hit;
    }
    return NULL;
}

static bool has_state(json_t *n, const char *state) {
    json_t *s;
    size_t k;
    json_array_foreach(json_object_get(n, "states"), k, s) {
        if (strcmp(json_string_value(s), state) == 0)
            return true;
    }
    return false;
}

static int get_int(json_t *o, const char *k) {
    return (int)json_integer_value(json_object_get(o, k));
}

/* The tree of pid once it holds a node called name (the bridge registers asynchronously). */
static json_t *tree_with(const struct deskd_proc *d, pid_t pid, const char *name) {
    char q[64];
    snprintf(q, sizeof q, "tree?scope=pid&pid=%d", (int)pid);
    int64_t end = su_ms() + 15000;
    json_t *j = NULL;
    while (su_ms() < end) {
        json_decref(j);
        j = NULL;
        if (a11y(d, "GET", q, NULL, &j) == 200 && node_named(json_object_get(j, "root"), name))
            return j;
        poll(NULL, 0, 50);
    }
    CHECK(0, "the tree of pid %d holds \"%s\": %s", (int)pid, name,
            j ? json_dumps(j, JSON_COMPACT) : "no answer");
    json_decref(j);
    return NULL;
}

static const char *code_of(json_t *j) {
    return json_string_value(json_object_get(j, "code"));
}

/* A request that must fail with status and code. */
static void expect_error(const struct deskd_proc *d, const char *method, const char *path,
        const char *body, long status, const char *code) {
    json_t *j = NULL;
    long st = a11y(d, method, path, body, &j);
    CHECK(st == status && code_of(j) && strcmp(code_of(j), code) == 0 &&
                    json_object_get(j, "statusCode") && json_object_get(j, "source"),
            "%s %s %s: %ld %s, expected %ld %s", method, path, body ? body : "", st,
            code_of(j) ? code_of(j) : "-", status, code);
    json_decref(j);
}

static void check_tree(const struct deskd_proc *d, struct app *a, json_t *tree) {
    json_t *root = json_object_get(tree, "root");
    CHECK_STR(json_string_value(json_object_get(root, "role")), "application");
    CHECK(json_is_false(json_object_get(tree, "truncated")), "not truncated");
    static const char *const names[4] = {"Press me", "Name", "Check me", "Volume"};
    static const char *const roles[4] = {"push button", "text", "check box", "slider"};
    for (int i = 0; i < 4; i++) {
        json_t *n = node_named(root, names[i]);
        CHECK(n != NULL, "a node called %s", names[i]);
        if (!n)
            continue;
        CHECK_STR(json_string_value(json_object_get(n, "role")), roles[i]);
        json_t *b = json_object_get(n, "bounds");
        CHECK(get_int(b, "x") == a->b[i].x && get_int(b, "y") == a->b[i].y &&
                        get_int(b, "width") == a->b[i].w && get_int(b, "height") == a->b[i].h,
                "%s: bounds %d,%d %dx%d, GTK placed it at %d,%d %dx%d", names[i], get_int(b, "x"),
                get_int(b, "y"), get_int(b, "width"), get_int(b, "height"), a->b[i].x, a->b[i].y,
                a->b[i].w, a->b[i].h);
        CHECK(has_state(n, "enabled") && has_state(n, "showing") && has_state(n, "focusable"),
                "%s is enabled, showing, focusable", names[i]);
        CHECK(!json_object_get(n, "children"), "%s has no children key", names[i]);
    }
    CHECK(has_state(node_named(root, "Name"), "editable"), "the entry is editable");
    CHECK(has_state(node_named(root, "Volume"), "horizontal"), "the slider is horizontal");
    json_t *acts = json_object_get(node_named(root, "Press me"), "actions");
    CHECK(json_is_array(acts) && json_array_size(acts) >= 1 &&
                    strcmp(json_string_value(json_array_get(acts, 0)), "click") == 0,
            "the button's first action is click");
    /* The default scope, focused: the application with the active window, this one. */
    json_t *f = NULL;
    CHECK_INT(a11y(d, "GET", "tree?maxDepth=1", NULL, &f), 200);
    CHECK_STR(json_string_value(json_object_get(json_object_get(f, "root"), "id")),
            json_string_value(json_object_get(root, "id")));
    json_decref(f);
    /* all: the registry's root, with this application among its children. */
    CHECK_INT(a11y(d, "GET", "tree?scope=all&maxDepth=1", NULL, &f), 200);
    CHECK(node_named(json_object_get(f, "root"), "a11y-app") != NULL, "all holds the application");
    json_decref(f);
    /* maxDepth 0: the root alone, no children key. */
    char q[96];
    json_t *j = NULL;
    snprintf(q, sizeof q, "tree?scope=pid&pid=%d&maxDepth=0", (int)a->p.pid);
    CHECK_INT(a11y(d, "GET", q, NULL, &j), 200);
    CHECK(j && !json_object_get(json_object_get(j, "root"), "children"), "maxDepth=0: root only");
    json_decref(j);
    /* [ext] the same nodes in a half-size screenshot's space. */
    snprintf(q, sizeof q, "tree?scope=pid&pid=%d&space=640x360", (int)a->p.pid);
    CHECK_INT(a11y(d, "GET", q, NULL, &j), 200);
    json_t *sb = json_object_get(node_named(json_object_get(j, "root"), "Press me"), "spaceBounds");
    CHECK(get_int(sb, "x") == a->b[0].x / 2 && get_int(sb, "y") == a->b[0].y / 2,
            "spaceBounds at half the screen position: %d,%d", get_int(sb, "x"), get_int(sb, "y"));
    json_decref(j);
}

/* find with body; the number of matches (-1 on failure) and the first match's id. */
static int find(
        const struct deskd_proc *d, const char *body, char *id, size_t idlen, bool *truncated) {
    json_t *j = NULL;
    long st = a11y(d, "POST", "find", body, &j);
    json_t *m = json_object_get(j, "matches");
    int n = st == 200 && json_is_array(m) ? (int)json_array_size(m) : -1;
    if (id && n > 0)
        snprintf(id, idlen, "%s", json_string_value(json_object_get(json_array_get(m, 0), "id")));
    if (truncated)
        *truncated = json_is_true(json_object_get(j, "truncated"));
    CHECK(n >= 0, "find %s: %ld", body, st);
    json_decref(j);
    return n;
}

static void check_find_and_act(const struct deskd_proc *d, struct app *a, char *entry_id) {
    char body[512], id[256] = "";
    int pid = (int)a->p.pid;
    bool trunc = false;
#define FIND(...) (snprintf(body, sizeof body, __VA_ARGS__), find(d, body, id, sizeof id, &trunc))
    CHECK_INT(FIND("{\"scope\":\"pid\",\"pid\":%d,\"name\":\"Press me\",\"nameMatch\":\"exact\"}",
                      pid),
            1);
    CHECK_INT(
            FIND("{\"scope\":\"pid\",\"pid\":%d,\"name\":\"Press\",\"nameMatch\":\"exact\"}", pid),
            0);
    CHECK_INT(FIND("{\"scope\":\"pid\",\"pid\":%d,\"name\":\" me\"}", pid), 2);
    CHECK_INT(FIND("{\"scope\":\"pid\",\"pid\":%d,\"name\":\"^(Press|Check) "
                   "me$\",\"nameMatch\":\"regex\"}",
                      pid),
            2);
    CHECK_INT(FIND("{\"scope\":\"pid\",\"pid\":%d,\"name\":\"press me\",\"nameMatch\":\"exact\"}",
                      pid),
            0);
    CHECK_INT(FIND("{\"scope\":\"pid\",\"pid\":%d,\"role\":\"SLIDER\"}", pid), 1);
    CHECK_INT(FIND("{\"scope\":\"pid\",\"pid\":%d,\"name\":\" me\",\"limit\":1}", pid), 1);
    CHECK(trunc, "limit reached: truncated");
    CHECK_INT(FIND("{\"scope\":\"pid\",\"pid\":%d,\"states\":[\"editable\",\"single_line\"]}", pid),
            1);
    snprintf(entry_id, 256, "%s", id);
    char slider[256];
    CHECK_INT(FIND("{\"scope\":\"pid\",\"pid\":%d,\"role\":\"slider\"}", pid), 1);
    snprintf(slider, sizeof slider, "%s", id);
    CHECK_INT(FIND("{\"scope\":\"pid\",\"pid\":%d,\"role\":\"push button\"}", pid), 1);

    /* invoke: the application logs the click. */
    snprintf(body, sizeof body, "{\"id\":\"%s\"}", id);
    CHECK_INT(a11y(d, "POST", "node/invoke", body, NULL), 200);
    expect_line(a, "clicked", 5000);
    snprintf(body, sizeof body, "{\"id\":\"%s\",\"action\":\"CLICK\"}", id);
    CHECK_INT(a11y(d, "POST", "node/invoke", body, NULL), 200);
    expect_line(a, "clicked", 5000);
    snprintf(body, sizeof body, "{\"id\":\"%s\",\"action\":\"fly\"}", id);
    expect_error(d, "POST", "node/invoke", body, 400, "A11Y_ACTION_NOT_SUPPORTED");

    /* value: text into the entry, a number into the slider; the application reads both back. */
    snprintf(body, sizeof body, "{\"id\":\"%s\",\"value\":\"hello\"}", entry_id);
    CHECK_INT(a11y(d, "POST", "node/value", body, NULL), 200);
    expect_line(a, "entry hello", 5000);
    snprintf(body, sizeof body, "{\"id\":\"%s\",\"value\":\"42\"}", slider);
    CHECK_INT(a11y(d, "POST", "node/value", body, NULL), 200);
    expect_line(a, "volume 42", 5000);
    snprintf(body, sizeof body, "{\"id\":\"%s\",\"value\":\"loud\"}", slider);
    expect_error(d, "POST", "node/value", body, 400, "A11Y_ACTION_NOT_SUPPORTED");

    /* focus: the entry gets the keyboard focus, and typed text lands in it. */
    snprintf(body, sizeof body, "{\"id\":\"%s\"}", entry_id);
    CHECK_INT(a11y(d, "POST", "node/focus", body, NULL), 200);
    expect_line(a, "focus entry", 5000);
    CHECK_INT(su_call(d, "POST", "/computeruse/keyboard/type", "{\"text\":\"Z\"}",
                      "application/json", NULL),
            200);
    /* GTK selects an entry's text when it takes the focus: the Z replaces it. */
    char *line = NULL;
    while (!line || !strchr(line + 6, 'Z')) {
        free(line);
        if (!(line = expect(a, "entry ", 5000)))
            break;
    }
    CHECK(line && strcmp(line, "entry Z") == 0, "typed text in the entry: %s",
            line ? line : "nothing");
    free(line);
#undef FIND
}

static void check_closed_window(const struct deskd_proc *d, struct app *a) {
    dprintf(a->p.in, "open\n");
    if (!expect_line(a, "opened", 10000))
        return;
    json_t *t = tree_with(d, a->p.pid, "Second button");
    json_t *n = t ? node_named(json_object_get(t, "root"), "Second button") : NULL;
    char body[300];
    snprintf(body, sizeof body, "{\"id\":\"%s\"}",
            n ? json_string_value(json_object_get(n, "id")) : "");
    json_decref(t);
    dprintf(a->p.in, "close\n");
    expect_line(a, "closed", 10000);
    expect_error(d, "POST", "node/invoke", body, 404, "A11Y_NODE_NOT_FOUND");
    expect_error(d, "POST", "node/focus", body, 404, "A11Y_NODE_NOT_FOUND");
}

static void check_bad_input(const struct deskd_proc *d) {
    expect_error(d, "POST", "node/focus", "{\"id\":\"abc\"}", 400, "A11Y_INVALID_REQUEST");
    expect_error(d, "POST", "node/focus", "{\"id\":\"\"}", 400, "A11Y_INVALID_REQUEST");
    expect_error(d, "POST", "node/focus", "{\"id\":\"ab/c\"}", 400, "A11Y_INVALID_REQUEST");
    expect_error(d, "POST", "node/focus", "{\"id\":\":1.5://x\"}", 400, "A11Y_INVALID_REQUEST");
    expect_error(d, "POST", "node/invoke", "{\"id\":5}", 400, "A11Y_INVALID_REQUEST");
    expect_error(d, "POST", "node/value", NULL, 400, "A11Y_INVALID_REQUEST");
    expect_error(d, "GET", "tree?scope=sideways", NULL, 400, "A11Y_INVALID_SCOPE");
    expect_error(d, "POST", "find", "{\"scope\":\"windows\"}", 400, "A11Y_INVALID_SCOPE");
    expect_error(d, "GET", "tree?scope=pid&pid=0", NULL, 400, "A11Y_INVALID_REQUEST");
    expect_error(d, "GET", "tree?scope=pid&pid=abc", NULL, 400, "A11Y_INVALID_REQUEST");
    expect_error(d, "GET", "tree?maxDepth=1.5", NULL, 400, "A11Y_INVALID_REQUEST");
    expect_error(d, "POST", "find", "{\"name\":\"(\",\"nameMatch\":\"regex\"}", 400,
            "A11Y_INVALID_REQUEST");
    expect_error(d, "POST", "find", "{\"nameMatch\":\"fuzzy\"}", 400, "A11Y_INVALID_REQUEST");
    expect_error(d, "POST", "find", "{\"states\":[\"shiny\"]}", 400, "A11Y_INVALID_REQUEST");
    expect_error(d, "POST", "find", NULL, 400, "A11Y_INVALID_REQUEST");
    expect_error(d, "GET", "tree?scope=pid&pid=999999", NULL, 404, "A11Y_NO_ACCESSIBLE_ROOT");
}

static void check_sdk(const struct deskd_proc *d, struct app *a) {
    char script[1024], pid[16];
    snprintf(script, sizeof script, "%s/tests/integration/a11y-sdk.js", DESK_SOURCE_DIR);
    snprintf(pid, sizeof pid, "%d", (int)a->p.pid);
    const char *argv[] = {"node", script, d->url, SU_TOKEN, pid, NULL};
    struct nodeproc n;
    if (nodeproc_start(&n, argv) < 0) {
        CHECK(0, "node started");
        return;
    }
    char *out = nodeproc_line(&n, 60000);
    json_t *r = out ? json_loads(out, 0, NULL) : NULL;
    CHECK(r != NULL, "a11y-sdk.js reported: %s", out ? out : "nothing");
    nodeproc_finish(&n, NULL, 10000);
    if (!r) {
        free(out);
        return;
    }
    static const char *const ok[] = {"tree", "findButton", "findEntry", "invoke", "value", "focus"};
    for (int i = 0; i < 6; i++)
        CHECK(json_is_true(json_object_get(json_object_get(r, ok[i]), "ok")), "SDK %s: %s", ok[i],
                out);
    json_t *m =
            json_object_get(json_object_get(json_object_get(r, "findButton"), "value"), "matches");
    CHECK(json_array_size(m) == 1, "the SDK found the button");
    expect_line(a, "clicked", 5000);
    expect_line(a, "entry from the sdk", 5000);
    expect_line(a, "focus button", 5000);
    json_t *e = json_object_get(json_object_get(r, "badScope"), "error");
    CHECK(get_int(e, "statusCode") == 400 &&
                    strstr(json_string_value(json_object_get(e, "message")),
                            "invalid accessibility scope"),
            "the SDK's error for a bad scope: %s", out);
    e = json_object_get(json_object_get(r, "badId"), "error");
    CHECK(get_int(e, "statusCode") == 400 && json_is_true(json_object_get(e, "isDaytonaError")),
            "the SDK's error for a bad id: %s", out);
    json_decref(r);
    free(out);
}

/* An MCP tool call through mcp.js; the tool result's text parsed as JSON (NULL on isError). */
static json_t *mcp_tool(struct nodeproc *n, const char *name, const char *args) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "{\"op\":\"call\",\"name\":\"%s\",\"arguments\":%s}", name, args);
    json_t *a = nodeproc_ask(n, 20000, cmd);
    json_t *r = json_object_get(a, "result");
    const char *text = json_string_value(
            json_object_get(json_array_get(json_object_get(r, "content"), 0), "text"));
    bool ok = r && !json_is_true(json_object_get(r, "isError")) && text;
    CHECK(ok, "MCP %s %s: %s", name, args,
            text ? text
            : a  ? json_string_value(json_object_get(a, "error"))
                 : "no answer");
    json_t *j = ok ? json_loads(text, 0, NULL) : NULL;
    json_decref(a);
    return j;
}

/* The first match of an MCP a11y_find (its id into id), and how many there were. */
static int mcp_find(struct nodeproc *n, const char *args, char *id, size_t idlen) {
    json_t *j = mcp_tool(n, "a11y_find", args);
    json_t *m = json_object_get(j, "matches");
    int count = json_is_array(m) ? (int)json_array_size(m) : -1;
    snprintf(id, idlen, "%s", json_string_value(json_object_get(json_array_get(m, 0), "id")) ?: "");
    json_decref(j);
    return count;
}

/*
 * The accessibility tools of deskd's MCP server (API.md §13) on the
 * application, through the official MCP TypeScript SDK: the tree shows its
 * widgets, find finds the button, invoke clicks it, set_value sets the
 * entry's text and focus moves the keyboard focus to it, as the application
 * reports, and find then answers the entry as the focused node.
 */
static void check_mcp(const struct deskd_proc *d, struct app *a) {
    char script[1024], url[256], args[512], button[256], entry[256], focused[256];
    snprintf(script, sizeof script, "%s/tests/integration/mcp.js", DESK_SOURCE_DIR);
    snprintf(url, sizeof url, "%s/mcp", d->url);
    const char *argv[] = {"node", script, "http", url, SU_TOKEN, NULL};
    struct nodeproc n;
    if (nodeproc_start(&n, argv) < 0) {
        CHECK(0, "node started mcp.js");
        return;
    }
    json_t *c = nodeproc_ask(&n, 20000, "{\"op\":\"connect\"}");
    CHECK(json_is_true(json_object_get(c, "ok")), "the MCP SDK connected");
    json_decref(c);
    int pid = (int)a->p.pid;

    snprintf(args, sizeof args, "{\"scope\":\"pid\",\"pid\":%d}", pid);
    json_t *tree = mcp_tool(&n, "a11y_tree", args);
    json_t *root = json_object_get(tree, "root");
    json_t *btn = node_named(root, "Press me");
    CHECK(btn && strcmp(json_string_value(json_object_get(btn, "role")) ?: "", "push button") == 0,
            "MCP a11y_tree: a push button \"Press me\"");
    CHECK(node_named(root, "Name") && node_named(root, "Volume") && node_named(root, "Check me"),
            "MCP a11y_tree: the entry, the slider and the check box");
    struct bounds *b = &a->b[0];
    json_t *bb = json_object_get(btn, "bounds");
    CHECK(get_int(bb, "x") == b->x && get_int(bb, "y") == b->y && get_int(bb, "width") == b->w &&
                    get_int(bb, "height") == b->h,
            "MCP a11y_tree: the button's bounds are where GTK put it (%d,%d %dx%d)", b->x, b->y,
            b->w, b->h);
    json_decref(tree);

    snprintf(args, sizeof args,
            "{\"scope\":\"pid\",\"pid\":%d,\"role\":\"push button\",\"name\":\"Press me\","
            "\"nameMatch\":\"exact\"}",
            pid);
    CHECK_INT(mcp_find(&n, args, button, sizeof button), 1);
    snprintf(args, sizeof args, "{\"id\":\"%s\"}", button);
    json_decref(mcp_tool(&n, "a11y_invoke", args));
    expect_line(a, "clicked", 5000);

    snprintf(args, sizeof args, "{\"scope\":\"pid\",\"pid\":%d,\"states\":[\"editable\"]}", pid);
    CHECK_INT(mcp_find(&n, args, entry, sizeof entry), 1);
    snprintf(args, sizeof args, "{\"id\":\"%s\",\"value\":\"from mcp\"}", entry);
    json_decref(mcp_tool(&n, "a11y_set_value", args));
    expect_line(a, "entry from mcp", 5000);

    snprintf(args, sizeof args, "{\"id\":\"%s\"}", entry);
    json_decref(mcp_tool(&n, "a11y_focus", args));
    expect_line(a, "focus entry", 5000);
    snprintf(args, sizeof args, "{\"scope\":\"pid\",\"pid\":%d,\"states\":[\"focused\"]}", pid);
    CHECK_INT(mcp_find(&n, args, focused, sizeof focused), 1);
    CHECK_STR(focused, entry);
    nodeproc_finish(&n, NULL, 10000);
}

/* The first node (depth first) whose role is role, or NULL. */
static json_t *node_with_role(json_t *n, const char *role) {
    const char *s = json_string_value(json_object_get(n, "role"));
    if (s && strcmp(s, role) == 0)
        return n;
    json_t *c;
    size_t k;
    json_array_foreach(json_object_get(n, "children"), k, c) {
        json_t *hit = node_with_role(c, role);
        if (hit)
            return hit;
    }
    return NULL;
}

/* xfce4-terminal, the desktop's own GTK application: its tree has its terminal widget. */
static void check_terminal(const struct deskd_proc *d) {
    struct nodeproc t;
    const char *argv[] = {"xfce4-terminal", "--disable-server", "--title", "a11y terminal", NULL};
    if (nodeproc_start(&t, argv) < 0) {
        CHECK(0, "xfce4-terminal started");
        return;
    }
    char q[96];
    snprintf(q, sizeof q, "tree?scope=pid&pid=%d", (int)t.pid);
    json_t *j = NULL, *term = NULL;
    for (int64_t end = su_ms() + 20000; !term && su_ms() < end; poll(NULL, 0, 100)) {
        json_decref(j);
        j = NULL;
        if (a11y(d, "GET", q, NULL, &j) == 200)
            term = node_with_role(json_object_get(j, "root"), "terminal");
    }
    CHECK(term != NULL, "xfce4-terminal's tree has a terminal");
    json_t *b = json_object_get(term, "bounds");
    CHECK(get_int(b, "width") > 100 && get_int(b, "height") > 50 && has_state(term, "showing"),
            "the terminal widget is shown with a size");
    json_t *frame = node_named(json_object_get(j, "root"), "a11y terminal");
    CHECK(frame && strcmp(json_string_value(json_object_get(frame, "role")), "frame") == 0,
            "its window is a frame with its title");
    json_decref(j);
    kill(t.pid, SIGTERM);
    nodeproc_finish(&t, NULL, 5000);
}

/* Sends a GET to deskd on a socket of its own and returns the socket, or -1. */
static int send_get(const struct deskd_proc *d, const char *path) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)d->port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    char req[512];
    int n = snprintf(req, sizeof req,
            "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " SU_TOKEN
            "\r\nConnection: close\r\n\r\n",
            path);
    if (write(fd, req, (size_t)n) != n) {
        close(fd);
        return -1;
    }
    return fd;
}

/*
 * An application that stopped answering (SIGSTOP) costs its own request a timeout, an
 * error rather than a hang, and delays no other request: the second application's tree,
 * asked after, arrives while the first request still waits.
 */
static void check_hung_app(const struct deskd_proc *d, struct app *hung) {
    struct app other;
    if (app_start(&other) < 0)
        return;
    json_decref(tree_with(d, other.p.pid, "Press me"));
    kill(hung->p.pid, SIGSTOP);
    char q[96];
    snprintf(q, sizeof q, "/computeruse/a11y/tree?scope=pid&pid=%d", (int)hung->p.pid);
    int fd = send_get(d, q);
    CHECK(fd >= 0, "the request for the stopped application was sent");
    snprintf(q, sizeof q, "tree?scope=pid&pid=%d", (int)other.p.pid);
    json_t *j = NULL;
    CHECK_INT(a11y(d, "GET", q, NULL, &j), 200);
    CHECK(node_named(json_object_get(j, "root"), "Press me"), "the other application's tree");
    json_decref(j);
    struct pollfd p = {.fd = fd, .events = POLLIN};
    CHECK(fd >= 0 && poll(&p, 1, 0) == 0,
            "the other application's tree came while the stopped one's request waited");
    char buf[4096] = "";
    size_t got = 0;
    int64_t end = su_ms() + 15000;
    while (fd >= 0 && got < sizeof buf - 1 && su_ms() < end && poll(&p, 1, 1000) >= 0) {
        if (!(p.revents & (POLLIN | POLLHUP)))
            continue;
        ssize_t n = read(fd, buf + got, sizeof buf - 1 - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    buf[got] = '\0';
    CHECK(strncmp(buf, "HTTP/1.1 500", 12) == 0 && strstr(buf, "A11Y_INTERNAL"),
            "the stopped application's tree is an error, not a hang: %.200s", buf);
    if (fd >= 0)
        close(fd);
    kill(hung->p.pid, SIGCONT);
    nodeproc_finish(&other.p, "quit", 5000);
}

static bool atspi_running(const struct deskd_proc *d) {
    json_t *j = NULL;
    su_call(d, "GET", "/computeruse/process/atspi/status", NULL, NULL, &j);
    bool r = json_is_true(json_object_get(j, "running"));
    json_decref(j);
    return r;
}

static void check_bus_loss(const struct deskd_proc *d) {
    pid_t bus = su_marked_pid(d->pid, "at-spi-bus-laun");
    CHECK(bus > 0, "the bus launcher runs");
    if (bus <= 0)
        return;
    kill(bus, SIGKILL);
    int64_t end = su_ms() + 10000;
    while (atspi_running(d) && su_ms() < end)
        poll(NULL, 0, 50);
    CHECK(!atspi_running(d), "atspi is not running after the kill");
    expect_error(d, "GET", "tree?scope=all", NULL, 503, "A11Y_UNAVAILABLE");
    expect_error(d, "POST", "find", "{}", 503, "A11Y_UNAVAILABLE");
    CHECK_STR(su_status(d), "partial");
    CHECK_INT(su_call(d, "POST", "/computeruse/process/atspi/restart", NULL, NULL, NULL), 200);
    end = su_ms() + 15000;
    while (!atspi_running(d) && su_ms() < end)
        poll(NULL, 0, 50);
    CHECK(atspi_running(d), "atspi runs again after its restart");
    CHECK_INT(a11y(d, "GET", "tree?scope=all&maxDepth=1", NULL, NULL), 200);
    /* Applications started from now on export their trees again. */
    struct app a;
    if (app_start(&a) == 0) {
        json_decref(tree_with(d, a.p.pid, "Press me"));
        nodeproc_finish(&a.p, "quit", 5000);
    }
}

int main(void) {
    check_timeout(300);
    static const char *const tools[] = {
            "Xvfb", "xfce4-session", "dbus-run-session", "x11vnc", "websockify", "node"};
    for (int i = 0; i < 6; i++)
        check_require_tool(tools[i]);
    if (access("/usr/libexec/at-spi-bus-launcher", X_OK) != 0) {
        CHECK(0, "at-spi-bus-launcher is installed (at-spi2-core)");
        return check_finish();
    }
    struct su_desktop sd;
    if (su_desktop_prepare(&sd, "a11y") < 0)
        return check_finish();
    struct deskd_proc d;
    const char *args[] = {"--token", SU_TOKEN, "--display", sd.dpy, "--vnc-port", sd.vnc,
            "--novnc-port", sd.novnc, "--state-dir", sd.state, NULL};
    if (deskd_start(&d, sd.dpy, args) < 0) {
        CHECK(0, "deskd started");
        return check_finish();
    }
    CHECK(su_wait_status(&d, "active", 90000) >= 0, "the desktop came up");

    /* Daytona's atspi entry. */
    json_t *j = NULL;
    CHECK_INT(su_call(&d, "POST", "/computeruse/start", NULL, NULL, &j), 200);
    json_t *at = json_object_get(json_object_get(j, "status"), "atspi");
    CHECK(json_is_true(json_object_get(at, "running")) && get_int(at, "priority") == 250 &&
                    json_is_false(json_object_get(at, "autoRestart")) &&
                    json_is_null(json_object_get(at, "pid")),
            "atspi as Daytona shows it: %s", at ? json_dumps(at, JSON_COMPACT) : "absent");
    json_decref(j);

    /* The application runs in the desktop session's environment, as one started there would. */
    char bus[256] = "";
    pid_t session = su_marked_pid(d.pid, "xfce4-session");
    CHECK(environ_get(session, "DBUS_SESSION_BUS_ADDRESS", bus, sizeof bus),
            "xfce4-session has a session bus");
    setenv("DBUS_SESSION_BUS_ADDRESS", bus, 1);
    setenv("DISPLAY", sd.dpy, 1);
    struct app a;
    if (app_start(&a) == 0) {
        json_t *tree = tree_with(&d, a.p.pid, "Volume");
        if (tree)
            check_tree(&d, &a, tree);
        json_decref(tree);
        char entry[256] = "";
        check_find_and_act(&d, &a, entry);
        check_closed_window(&d, &a);
        check_sdk(&d, &a);
        check_mcp(&d, &a);
        check_hung_app(&d, &a);
        nodeproc_finish(&a.p, "quit", 5000);
    }
    check_terminal(&d);
    check_bad_input(&d);
    check_bus_loss(&d);

    CHECK_INT(deskd_stop(&d), 0);
    if (check_failed)
        deskd_dump_log(&d);
    else
        su_rm_rf(sd.top);
    return check_finish();
}
