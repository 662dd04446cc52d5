/*
 * deskd's own live view (API.md §16): the supervised desktop, links made
 * through the API and opened in headless Chromium (liveview.js, one browser
 * context per link). What a user would check:
 *
 * - a full-control link draws the desktop (the canvas matches deskd's
 *   screenshot) and a click and keys typed in it reach the tests' X client;
 * - Take control makes API input 409 HUMAN_IN_CONTROL (screenshots still
 *   work) until Give back, and the other routes that change the desktop
 *   (clipboard, window, launch, kill, accessibility actions) with it; a
 *   view-only page shows no buttons and cannot take control;
 * - a view-only link draws the desktop, and nothing reaches the X client or
 *   the clipboard even when the page's script sends KeyEvent, PointerEvent
 *   and ClientCutText on a WebSocket of its own;
 * - malformed RFB closes that session only; a revoked or expired link's open
 *   session closes within 1 s and the link is refused; no token is a 401
 *   (the page, noVNC's files, the WebSocket before its upgrade);
 * - bad input: ttlSeconds 0 and 86401, an unknown link id, a bad holder;
 * - nothing deskd started listens beyond loopback (ss);
 * - SIGTERM with 100 silent sessions open closes them and exits 0.
 */
#define _GNU_SOURCE
#include <X11/Xlib.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "deskproc.h"
#include "evproc.h"
#include "nodeproc.h"
#include "shot.h"
#include "stack-util.h"

static struct deskd_proc d;
static struct nodeproc n;
static struct evproc ev;

static int64_t wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static json_t *ask(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static json_t *ask(const char *fmt, ...) {
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    json_t *r = nodeproc_ask(&n, 60000, cmd);
    CHECK(r && !json_object_get(r, "error"), "browser: %s -> %s", cmd,
            r && json_object_get(r, "error") ? json_string_value(json_object_get(r, "error"))
                                             : (r ? "ok" : "no answer"));
    return r;
}

/* POST /computeruse/vnc/links; the link's url and id into the buffers; the status. */
static long make_link(
        const char *body, char *url, size_t ulen, char *id, size_t idlen, json_t **out) {
    json_t *j = NULL;
    long st = su_call(&d, "POST", "/computeruse/vnc/links", body, "application/json", &j);
    if (st == 201) {
        snprintf(url, ulen, "%s", json_string_value(json_object_get(j, "url")));
        snprintf(id, idlen, "%s", json_string_value(json_object_get(j, "id")));
    }
    if (out)
        *out = j;
    else
        json_decref(j);
    return st;
}

/* The status of a plain request by curl (extra: NULL-terminated curl arguments). */
static int curl_status(const char *path, const char *const *extra) {
    const char *argv[32] = {"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-m", "10"};
    int k = 8;
    for (int i = 0; extra && extra[i] && k < 29; i++)
        argv[k++] = extra[i];
    char url[512];
    snprintf(url, sizeof url, "%s%s", d.url, path);
    argv[k++] = url;
    argv[k] = NULL;
    int status = 0;
    char *out = su_run(argv, 15000, &status, NULL);
    int code = out ? (int)strtol(out, NULL, 10) : 0;
    free(out);
    return code;
}

/* The canvas samples match deskd's screenshot (VNC may encode lossily). */
static void check_samples(json_t *res, const char *which) {
    size_t total;
    long match = su_canvas_matches(&d, json_object_get(res, "samples"), &total);
    CHECK(match >= 0, "%s: deskd's screenshot to compare with", which);
    CHECK(total == 144 && match * 100 >= (long)total * 85,
            "%s: %ld of %zu canvas samples match the screenshot", which, match, total);
}

/* Presses F1 through the API and collects evlog's lines up to it. */
static bool collect(void) {
    long st = su_call(
            &d, "POST", "/computeruse/keyboard/key", "{\"key\":\"f1\"}", "application/json", NULL);
    CHECK_INT(st, 200);
    bool ok = st == 200 && evproc_collect(&ev, "key F1 ", 15000);
    CHECK(ok, "evlog reported the F1 marker");
    return ok;
}

static bool collected_has(const char *prefix) {
    for (int i = 0; i < ev.nlines; i++)
        if (strncmp(ev.lines[i], prefix, strlen(prefix)) == 0)
            return true;
    return false;
}

/*
 * Waits for an evlog line starting with prefix (the lines before it are dropped). The API's
 * pointer and key events travel on different X connections, so a click is waited for as
 * such rather than before a key marker.
 */
static bool wait_line(const char *prefix, int timeout_ms) {
    char *line;
    int64_t until = su_ms() + timeout_ms;
    while (su_ms() < until && (line = evproc_line(&ev, (int)(until - su_ms())))) {
        bool hit = strncmp(line, prefix, strlen(prefix)) == 0;
        free(line);
        if (hit)
            return true;
    }
    return false;
}

static void dump_lines(void) {
    for (int i = 0; i < ev.nlines; i++)
        printf("  evlog: %s\n", ev.lines[i]);
}

/* Runs the desk CLI against deskd with args; its stdout parsed as JSON (--json), or NULL. */
static json_t *cli(int *status, const char *a1, const char *a2, const char *a3, const char *a4,
        const char *a5) {
    const char *argv[16] = {DESK_CLI_PATH, "--url", d.url, "--token", SU_TOKEN, "--json"};
    int k = 6;
    const char *more[] = {a1, a2, a3, a4, a5};
    for (int i = 0; i < 5 && more[i]; i++)
        argv[k++] = more[i];
    argv[k] = NULL;
    char *out = su_run(argv, 30000, status, NULL);
    json_t *j = out ? json_loads(out, 0, NULL) : NULL;
    free(out);
    return j;
}

/* desk vnc link / links / revoke and desk control, through libdesk. */
static void check_cli(const char *click) {
    int st = -1;
    json_t *j = cli(&st, "vnc", "link", "--ttl", "60", "--view-only");
    CHECK_INT(st, 0);
    const char *lid = json_string_value(json_object_get(j, "id"));
    const char *lurl = json_string_value(json_object_get(j, "url"));
    CHECK(lid && lurl && strstr(lurl, "/vnc/?token=") &&
                    json_is_true(json_object_get(j, "viewOnly")),
            "desk vnc link --view-only made a view-only link");
    char id[64] = "";
    snprintf(id, sizeof id, "%s", lid ? lid : "");
    json_decref(j);
    j = cli(&st, "vnc", "links", NULL, NULL, NULL);
    CHECK_INT(st, 0);
    bool listed = false;
    size_t i;
    json_t *l;
    json_array_foreach(json_object_get(j, "links"), i, l) {
        listed |= !strcmp(json_string_value(json_object_get(l, "id")) ?: "", id);
        CHECK(!json_object_get(l, "url"), "a listed link shows no token");
    }
    CHECK(listed, "desk vnc links lists it");
    json_decref(j);
    j = cli(&st, "vnc", "revoke", id, NULL, NULL);
    CHECK_INT(st, 0);
    json_decref(j);
    j = cli(&st, "vnc", "revoke", id, NULL, NULL);
    CHECK_INT(st, 1); /* gone now: 404 */
    json_decref(j);
    j = cli(&st, "vnc", "link", "--ttl", "86401", NULL);
    CHECK_INT(st, 2); /* a usage error, before any request */
    json_decref(j);
    j = cli(&st, "control", "human", NULL, NULL, NULL);
    CHECK_INT(st, 0);
    CHECK(!strcmp(json_string_value(json_object_get(j, "holder")) ?: "", "human"),
            "desk control human");
    json_decref(j);
    CHECK_INT(
            su_call(&d, "POST", "/computeruse/mouse/click", click, "application/json", NULL), 409);
    j = cli(&st, "control", "agent", NULL, NULL, NULL);
    CHECK_INT(st, 0);
    CHECK(!strcmp(json_string_value(json_object_get(j, "holder")) ?: "", "agent"),
            "desk control agent");
    json_decref(j);
    CHECK_INT(
            su_call(&d, "POST", "/computeruse/mouse/click", click, "application/json", NULL), 200);
}

static void check_listeners(pid_t owner) {
    /* Every listening TCP socket of deskd and of the processes it started. */
    pid_t pids[64];
    int np = su_marked(owner, pids, 63);
    pids[np++] = owner;
    const char *argv[] = {"ss", "-Hltnp", NULL};
    int status = 0;
    char *out = su_run(argv, 10000, &status, NULL);
    CHECK(out != NULL && status == 0, "ss ran");
    int seen = 0;
    for (char *line = out ? strtok(out, "\n") : NULL; line; line = strtok(NULL, "\n")) {
        for (int i = 0; i < np; i++) {
            char pidtag[32];
            snprintf(pidtag, sizeof pidtag, "pid=%d,", (int)pids[i]);
            if (!strstr(line, pidtag))
                continue;
            seen++;
            bool loop = strstr(line, " 127.0.0.1:") || strstr(line, " [::1]:") ||
                        strstr(line, " [::ffff:127.0.0.1]:");
            CHECK(loop, "a listener of deskd or its desktop is on loopback: %s", line);
        }
    }
    CHECK(seen >= 3, "ss showed deskd's, x11vnc's and noVNC's listeners (%d)", seen);
    free(out);
}

enum { SESSIONS = 100 };

/* SESSIONS WebSockets on a fresh link's session path, left silent; how many got their 101. */
static int open_sessions(int *fd) {
    char url[512], id[64], req[1024];
    int upgraded = 0;
    if (make_link("{\"ttlSeconds\":600}", url, sizeof url, id, sizeof id, NULL) != 201)
        return 0;
    const char *token = strstr(url, "token=");
    for (int i = 0; i < SESSIONS; i++) {
        fd[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)d.port)};
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int len = snprintf(req, sizeof req,
                "GET /vnc/websockify?%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                "Origin: http://127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                "Sec-WebSocket-Protocol: binary\r\n\r\n",
                token ? token : "", d.port, d.port);
        char buf[256] = "";
        struct pollfd p = {.fd = fd[i], .events = POLLIN};
        if (fd[i] >= 0 && connect(fd[i], (struct sockaddr *)&sa, sizeof sa) == 0 &&
                write(fd[i], req, (size_t)len) == len && poll(&p, 1, 5000) == 1 &&
                read(fd[i], buf, sizeof buf - 1) > 0 && strncmp(buf, "HTTP/1.1 101", 12) == 0)
            upgraded++;
    }
    return upgraded;
}

int main(void) {
    check_timeout(240);
    static const char *const tools[] = {"Xvfb", "xfce4-session", "dbus-run-session", "x11vnc",
            "websockify", "node", "ss", "curl"};
    for (size_t i = 0; i < sizeof tools / sizeof tools[0]; i++)
        check_require_tool(tools[i]);
    const char *chromium = getenv("DESK_CHROMIUM") ? getenv("DESK_CHROMIUM") : "/usr/bin/chromium";
    CHECK(access(chromium, X_OK) == 0, "%s is installed", chromium);
    char script[1024], module[1024];
    snprintf(script, sizeof script, "%s/tests/integration/liveview.js", DESK_SOURCE_DIR);
    snprintf(module, sizeof module,
            "%s/tests/integration/node_modules/playwright-core/package.json", DESK_SOURCE_DIR);
    CHECK(access(module, R_OK) == 0, "playwright-core is installed (npm ci --prefix "
                                     "tests/integration)");
    if (check_failed)
        return check_finish();

    struct su_desktop sd;
    if (su_desktop_prepare(&sd, "liveview") < 0)
        return check_finish();
    const char *args[] = {"--token", SU_TOKEN, "--display", sd.dpy, "--vnc-port", sd.vnc,
            "--novnc-port", sd.novnc, "--state-dir", sd.state, "--resolution", "1024x768", NULL};
    if (deskd_start(&d, sd.dpy, args) < 0)
        return 1;
    CHECK(su_wait_status(&d, "active", 90000) >= 0, "the desktop came up");
    check_listeners(d.pid);

    if (evproc_start(&ev, sd.dpy, 200, 150, 300, 200, "liveview") < 0) {
        CHECK(0, "evlog started");
        deskd_stop(&d);
        return check_finish();
    }
    int cx = 0, cy = 0;
    Display *x = XOpenDisplay(sd.dpy);
    if (x) {
        Window child;
        XTranslateCoordinates(x, ev.window, DefaultRootWindow(x), 150, 100, &cx, &cy, &child);
        XCloseDisplay(x);
    }

    /* Bad input first: each a 4xx sentence, and no link made. */
    json_t *j = NULL;
    char url[512], id[64], vurl[512], vid[64];
    CHECK_INT(make_link("{\"ttlSeconds\":0}", url, sizeof url, id, sizeof id, &j), 400);
    const char *msg = json_string_value(json_object_get(j, "message"));
    CHECK(msg && strstr(msg, "ttlSeconds") && strstr(msg, "86400"), "ttl 0: %s", msg);
    json_decref(j);
    CHECK_INT(make_link("{\"ttlSeconds\":86401}", url, sizeof url, id, sizeof id, NULL), 400);
    CHECK_INT(make_link("{\"viewOnly\":\"yes\"}", url, sizeof url, id, sizeof id, NULL), 400);
    CHECK_INT(su_call(&d, "GET", "/computeruse/vnc/links", NULL, NULL, &j), 200);
    CHECK_INT((long)json_array_size(json_object_get(j, "links")), 0);
    json_decref(j);
    CHECK_INT(
            su_call(&d, "DELETE", "/computeruse/vnc/links/0123456789abcdef", NULL, NULL, &j), 404);
    msg = json_string_value(json_object_get(j, "message"));
    CHECK(msg && strstr(msg, "0123456789abcdef"), "unknown link id: %s", msg);
    json_decref(j);
    CHECK_INT(su_call(&d, "POST", "/computeruse/control", "{\"holder\":\"robot\"}",
                      "application/json", &j),
            400);
    msg = json_string_value(json_object_get(j, "message"));
    CHECK(msg && strstr(msg, "holder"), "bad holder: %s", msg);
    json_decref(j);

    /* No token: the page, noVNC's files and the WebSocket are 401 (the upgrade never happens). */
    CHECK_INT(curl_status("/vnc/", NULL), 401);
    CHECK_INT(curl_status("/vnc/core/rfb.js", NULL), 401);
    const char *const ws_hdrs[] = {"-H", "Connection: Upgrade", "-H", "Upgrade: websocket", "-H",
            "Sec-WebSocket-Version: 13", "-H", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", NULL};
    CHECK_INT(curl_status("/vnc/websockify", ws_hdrs), 401);
    /* The API's own token is not a link token. */
    CHECK_INT(curl_status("/vnc/?token=" SU_TOKEN, NULL), 401);

    /* A full-control link: drawn, and a click and keys reach evlog. */
    CHECK_INT(make_link("{\"ttlSeconds\":120}", url, sizeof url, id, sizeof id, &j), 201);
    CHECK(strstr(url, SU_TOKEN) == NULL, "the API token is not in the link");
    CHECK(json_is_false(json_object_get(j, "viewOnly")), "the link is full-control");
    json_decref(j);
    const char *argv[] = {"node", script, NULL};
    CHECK_INT(nodeproc_start(&n, argv), 0);
    json_t *r = ask("{\"cmd\":\"open\",\"name\":\"full\",\"url\":\"%s\"}", url);
    CHECK_INT(json_integer_value(json_object_get(r, "status")), 200);
    CHECK_INT(json_integer_value(json_object_get(r, "width")), 1024);
    printf("full-control link to first drawn frame: %lld ms\n",
            (long long)json_integer_value(json_object_get(r, "ms")));
    check_samples(r, "full-control link");
    json_decref(r);
    /* With a valid cookie: no traversal, no directory listings. */
    char cookie[200];
    snprintf(cookie, sizeof cookie, "Cookie: desk_vnc=%s", strstr(url, "token=") + 6);
    const char *const ck[] = {"-H", cookie, NULL};
    const char *const ck_raw[] = {"-H", cookie, "--path-as-is", NULL};
    CHECK_INT(curl_status("/vnc/core/rfb.js", ck), 200);
    CHECK_INT(curl_status("/vnc/core/", ck), 404);
    CHECK_INT(curl_status("/vnc/core", ck), 404);
    CHECK_INT(curl_status("/vnc/../../../../etc/passwd", ck_raw), 404);
    CHECK_INT(curl_status("/vnc/core/%2e%2e/%2e%2e/%2e%2e/etc/passwd", ck_raw), 404);

    json_decref(ask("{\"cmd\":\"click\",\"name\":\"full\",\"x\":%d,\"y\":%d}", cx, cy));
    json_decref(ask("{\"cmd\":\"type\",\"name\":\"full\",\"keys\":\"q\"}"));
    /* The browser's input reaches the X server through x11vnc, not in order with the API's:
     * waited for as it comes. */
    char want[64];
    snprintf(want, sizeof want, "press 1 %d %d ", cx, cy);
    bool pressed = false, key = false;
    char *line;
    while (!(pressed && key) && (line = evproc_line(&ev, 15000))) {
        pressed |= strncmp(line, want, strlen(want)) == 0;
        key |= strncmp(line, "key q ", 6) == 0;
        free(line);
    }
    CHECK(pressed, "evlog saw the browser's click at %d,%d", cx, cy);
    CHECK(key, "evlog saw the key typed in the browser");

    /* The agent's pointer shows in the view (x11vnc draws it into the picture): where the API
     * moves it on the desktop, the canvas changes. */
    CHECK_INT(su_call(&d, "POST", "/computeruse/mouse/move", "{\"x\":900,\"y\":40}",
                      "application/json", NULL),
            200);
    r = ask("{\"cmd\":\"box\",\"name\":\"full\",\"x\":690,\"y\":560,\"w\":24,\"h\":24}");
    long before = (long)json_integer_value(json_object_get(r, "sum"));
    json_decref(r);
    CHECK_INT(su_call(&d, "POST", "/computeruse/mouse/move", "{\"x\":700,\"y\":570}",
                      "application/json", NULL),
            200);
    bool pointer_seen = false;
    for (int64_t until = su_ms() + 10000; !pointer_seen && su_ms() < until;) {
        r = ask("{\"cmd\":\"box\",\"name\":\"full\",\"x\":690,\"y\":560,\"w\":24,\"h\":24}");
        pointer_seen = (long)json_integer_value(json_object_get(r, "sum")) != before;
        json_decref(r);
    }
    CHECK(pointer_seen, "the view shows the agent's pointer where the API moved it");

    /* Take control: the API's input is 409 until Give back; screenshots work meanwhile. */
    r = ask("{\"cmd\":\"buttons\",\"name\":\"full\"}");
    CHECK(json_is_true(json_object_get(r, "take")), "a full-control page offers Take control");
    json_decref(r);
    json_decref(ask("{\"cmd\":\"take\",\"name\":\"full\"}"));
    char click[128];
    snprintf(click, sizeof click, "{\"x\":%d,\"y\":%d}", cx, cy);
    CHECK_INT(su_call(&d, "POST", "/computeruse/mouse/click", click, "application/json", &j), 409);
    CHECK(!strcmp(json_string_value(json_object_get(j, "code")) ?: "", "HUMAN_IN_CONTROL"),
            "the click's code is HUMAN_IN_CONTROL");
    json_decref(j);
    CHECK_INT(su_call(&d, "POST", "/computeruse/actions",
                      "{\"actions\":[{\"type\":\"key\",\"key\":\"a\"}]}", "application/json", NULL),
            409);
    /* The model tool adapters run their actions as a batch: refused too; their screenshot not. */
    CHECK_INT(
            su_call(&d, "POST", "/computeruse/tools/anthropic",
                    "{\"action\":\"left_click\",\"coordinate\":[100,100]}", "application/json", &j),
            409);
    CHECK(!strcmp(json_string_value(json_object_get(j, "code")) ?: "", "HUMAN_IN_CONTROL"),
            "the Anthropic adapter's click is HUMAN_IN_CONTROL");
    json_decref(j);
    CHECK_INT(su_call(&d, "POST", "/computeruse/tools/anthropic", "{\"action\":\"screenshot\"}",
                      "application/json", NULL),
            200);
    /* What else changes the desktop is refused too, and changes nothing: the clipboard, a
     * window (evlog's: it still gets the click after Give back), a launch, a kill, an
     * accessibility action. */
    CHECK_INT(su_call(&d, "POST", "/computeruse/clipboard", "{\"text\":\"agent-while-human\"}",
                      "application/json", &j),
            409);
    json_decref(j);
    CHECK_INT(su_call(&d, "GET", "/computeruse/clipboard", NULL, NULL, &j), 200);
    CHECK(strcmp(json_string_value(json_object_get(j, "text")) ?: "", "agent-while-human") != 0,
            "the refused clipboard text is not on the clipboard");
    json_decref(j);
    char close_path[96];
    snprintf(close_path, sizeof close_path, "/computeruse/windows/%lu/close",
            (unsigned long)ev.window);
    const char *const refused[][2] = {{close_path, NULL},
            {"/computeruse/apps/launch", "{\"argv\":[\"xmessage\",\"agent\"]}"},
            {"/computeruse/apps/1/kill", NULL},
            {"/computeruse/a11y/node/invoke", "{\"id\":\"1:2\"}"}};
    CHECK_INT(su_call(&d, "GET", "/computeruse/apps", NULL, NULL, &j), 200);
    json_int_t apps_before = json_integer_value(json_object_get(j, "count"));
    json_decref(j);
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        CHECK_INT(su_call(&d, "POST", refused[i][0], refused[i][1],
                          refused[i][1] ? "application/json" : NULL, &j),
                409);
        CHECK(!strcmp(json_string_value(json_object_get(j, "code")) ?: "", "HUMAN_IN_CONTROL"),
                "%s is HUMAN_IN_CONTROL", refused[i][0]);
        json_decref(j);
    }
    CHECK_INT(su_call(&d, "GET", "/computeruse/apps", NULL, NULL, &j), 200);
    CHECK_INT(json_integer_value(json_object_get(j, "count")), apps_before);
    json_decref(j);
    /* A batch that sends no input (a pause, a screen wait) still runs. */
    CHECK_INT(su_call(&d, "POST", "/computeruse/actions",
                      "{\"actions\":[{\"type\":\"wait\",\"ms\":10},{\"type\":\"wait\","
                      "\"until\":\"stable\",\"stableMs\":50,\"timeoutMs\":2000}]}",
                      "application/json", NULL),
            200);
    CHECK_INT(su_call(&d, "GET", "/computeruse/control", NULL, NULL, &j), 200);
    CHECK(!strcmp(json_string_value(json_object_get(j, "holder")) ?: "", "human"),
            "GET /computeruse/control says human");
    json_decref(j);
    struct image img;
    char err[256];
    CHECK_INT(su_screenshot(&d, &img, err, sizeof err), 200);
    image_free(&img);
    json_decref(ask("{\"cmd\":\"give\",\"name\":\"full\"}"));
    CHECK_INT(
            su_call(&d, "POST", "/computeruse/mouse/click", click, "application/json", NULL), 200);
    CHECK(wait_line("press ", 15000), "the API's click after Give back reached evlog");
    CHECK(wait_line("release ", 15000), "and its release");

    check_cli(click);
    CHECK(wait_line("press ", 15000), "the click after desk control agent reached evlog");
    CHECK(wait_line("release ", 15000), "and its release");
    if (collect())
        evproc_free_lines(&ev);

    /* A view-only link: drawn; its input goes nowhere, also sent by the page's own script. */
    CHECK_INT(make_link("{\"ttlSeconds\":120,\"viewOnly\":true}", vurl, sizeof vurl, vid,
                      sizeof vid, NULL),
            201);
    r = ask("{\"cmd\":\"open\",\"name\":\"view\",\"url\":\"%s\"}", vurl);
    CHECK_INT(json_integer_value(json_object_get(r, "status")), 200);
    check_samples(r, "view-only link");
    json_decref(r);
    r = ask("{\"cmd\":\"buttons\",\"name\":\"view\"}");
    CHECK(json_is_false(json_object_get(r, "take")) && json_is_false(json_object_get(r, "give")),
            "a view-only page offers no control buttons");
    json_decref(r);
    json_decref(ask("{\"cmd\":\"click\",\"name\":\"view\",\"x\":%d,\"y\":%d}", cx + 10, cy));
    json_decref(ask("{\"cmd\":\"type\",\"name\":\"view\",\"keys\":\"z\"}"));
    r = ask("{\"cmd\":\"raw\",\"name\":\"view\",\"x\":%d,\"y\":%d,\"text\":\"desk-cut-7731\"}",
            cx + 20, cy);
    CHECK(json_is_true(json_object_get(r, "answered")),
            "x11vnc answered the raw session's update request (the session lives on)");
    json_decref(r);
    if (collect()) {
        CHECK(!collected_has("key z ") && !collected_has("press "),
                "evlog saw no key and no click from the view-only link (%d lines)", ev.nlines);
        if (collected_has("key z ") || collected_has("press "))
            dump_lines();
        evproc_free_lines(&ev);
    }
    static const char *const sels[] = {"clipboard", "primary"};
    for (int i = 0; i < 2; i++) {
        char path[128];
        snprintf(path, sizeof path, "/computeruse/clipboard?selection=%s", sels[i]);
        CHECK_INT(su_call(&d, "GET", path, NULL, NULL, &j), 200);
        const char *text = json_string_value(json_object_get(j, "text"));
        CHECK(text && !strstr(text, "desk-cut-7731"),
                "the %s selection is not the view-only "
                "page's text",
                sels[i]);
        json_decref(j);
    }
    /* A view-only link cannot take control, not even by calling the route itself. */
    char vcookie[200];
    snprintf(vcookie, sizeof vcookie, "Cookie: desk_vnc=%s", strstr(vurl, "token=") + 6);
    const char *const vpost[] = {"-H", vcookie, "-H", "Content-Type: application/json", "-d",
            "{\"holder\":\"human\"}", NULL};
    CHECK_INT(curl_status("/vnc/control", vpost), 401);
    CHECK_INT(su_call(&d, "GET", "/computeruse/control", NULL, NULL, &j), 200);
    CHECK(!strcmp(json_string_value(json_object_get(j, "holder")) ?: "", "agent"),
            "the agent still holds control");
    json_decref(j);

    /* Malformed RFB closes that session only: the full page stays connected, x11vnc lives. */
    pid_t vnc_pid = su_pid_of(&d, "x11vnc");
    r = ask("{\"cmd\":\"malformed\",\"name\":\"full\"}");
    CHECK_INT(json_integer_value(json_object_get(r, "code")), 1002);
    json_decref(r);
    r = ask("{\"cmd\":\"state\",\"name\":\"full\"}");
    CHECK(!strcmp(json_string_value(json_object_get(r, "state")) ?: "", "connected"),
            "the full page is still connected after another session's malformed RFB");
    json_decref(r);
    CHECK(su_pid_of(&d, "x11vnc") == vnc_pid && vnc_pid > 0, "x11vnc was not restarted");

    /* Revoked: the open session closes within 1 s, and the link is refused from then on. */
    CHECK_INT(su_call(&d, "DELETE", "/computeruse/vnc/links/", NULL, NULL, NULL), 404);
    char del[128];
    snprintf(del, sizeof del, "/computeruse/vnc/links/%s", id);
    int64_t t0 = wall_ms();
    CHECK_INT(su_call(&d, "DELETE", del, NULL, NULL, NULL), 204);
    r = ask("{\"cmd\":\"waitclosed\",\"name\":\"full\"}");
    int64_t closed_ms = json_integer_value(json_object_get(r, "at")) - t0;
    printf("revoked link's session closed %lld ms after the DELETE\n", (long long)closed_ms);
    CHECK(closed_ms >= 0 && closed_ms < 1000, "closed within 1 s of the revocation (%lld ms)",
            (long long)closed_ms);
    json_decref(r);
    r = ask("{\"cmd\":\"open\",\"name\":\"full\",\"url\":\"%s\"}", url);
    CHECK_INT(json_integer_value(json_object_get(r, "status")), 401);
    json_decref(r);
    CHECK_INT(su_call(&d, "DELETE", del, NULL, NULL, NULL), 404);

    /* Expired: a 12 s link's open session (drawn first, which can take seconds on a busy
     * machine) closes within 1 s of its expiry (counted from before
     * the link was made, so the lateness measured is an upper bound). */
    char eurl[512], eid[64];
    int64_t expires = wall_ms() + 12000;
    CHECK_INT(make_link("{\"ttlSeconds\":12,\"viewOnly\":true}", eurl, sizeof eurl, eid, sizeof eid,
                      &j),
            201);
    json_decref(j);
    r = ask("{\"cmd\":\"open\",\"name\":\"expiring\",\"url\":\"%s\"}", eurl);
    CHECK_INT(json_integer_value(json_object_get(r, "status")), 200);
    json_decref(r);
    r = ask("{\"cmd\":\"waitclosed\",\"name\":\"expiring\"}");
    int64_t late = json_integer_value(json_object_get(r, "at")) - expires;
    printf("expired link's session closed %lld ms after its expiry\n", (long long)late);
    CHECK(late >= 0 && late < 1000, "closed within 1 s of the expiry (%lld ms)", (long long)late);
    json_decref(r);
    r = ask("{\"cmd\":\"open\",\"name\":\"expiring\",\"url\":\"%s\"}", eurl);
    CHECK_INT(json_integer_value(json_object_get(r, "status")), 401);
    json_decref(r);

    /* The Daytona-compatible noVNC port: no directory listings, and wrong VNC passwords are
     * rate-limited (without the gate, x11vnc takes several a second). */
    char nurl[128];
    snprintf(nurl, sizeof nurl, "http://127.0.0.1:%s/core/", sd.novnc);
    const char *lst[] = {"curl", "-s", "-m", "10", nurl, NULL};
    int lst_status = 0;
    char *listing = su_run(lst, 15000, &lst_status, NULL);
    CHECK(listing && !strstr(listing, "Directory listing") && !strstr(listing, "rfb.js"),
            "noVNC's port lists no directory: %.80s", listing ? listing : "(nothing)");
    free(listing);
    r = ask("{\"cmd\":\"vncauth\",\"name\":\"view\",\"url\":\"ws://127.0.0.1:%s/websockify\","
            "\"ms\":2500}",
            sd.novnc);
    long fails = (long)json_integer_value(json_object_get(r, "failures"));
    printf("wrong VNC passwords in 2.5 s: %ld attempts, %ld failed authentications, %ld refused\n",
            (long)json_integer_value(json_object_get(r, "attempts")), fails,
            (long)json_integer_value(json_object_get(r, "refused")));
    CHECK(fails >= 1 && fails <= 3, "at most 3 wrong passwords were tried in 2.5 s (%ld)", fails);
    json_decref(r);

    /* GET /computeruse/vnc keeps Daytona's shape and adds a fresh full-control link. */
    CHECK_INT(su_call(&d, "GET", "/computeruse/vnc", NULL, NULL, &j), 200);
    CHECK(json_is_string(json_object_get(j, "url")) &&
                    json_is_string(json_object_get(j, "password")),
            "GET /computeruse/vnc has url and password");
    json_t *link = json_object_get(j, "link");
    const char *lurl = json_string_value(json_object_get(link, "url"));
    CHECK(lurl && strstr(lurl, "/vnc/?token="), "and a link: %s", lurl ? lurl : "(none)");
    CHECK(json_is_false(json_object_get(link, "viewOnly")), "a full-control one");
    json_decref(j);

    CHECK_INT(nodeproc_finish(&n, NULL, 30000), 0);
    evproc_stop(&ev);
    /* SIGTERM with 100 silent sessions open: each is closed and deskd exits 0 (it crashed when
     * the server was stopped while sessions still held their upgrade handles). */
    int held[SESSIONS];
    CHECK_INT(open_sessions(held), SESSIONS);
    CHECK_INT(deskd_stop(&d), 0);
    for (int i = 0; i < SESSIONS; i++)
        if (held[i] >= 0)
            close(held[i]);
    if (check_failed)
        deskd_dump_log(&d);
    else
        su_rm_rf(sd.top);
    return check_finish();
}
