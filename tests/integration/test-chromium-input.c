/*
 * test-chromium-input: Chromium as the receiver of struct input, as agents
 * use deskd. Debian's chromium runs headed in kiosk mode on the test's own
 * Xvfb (receiver.js, through playwright-core) with a page that logs DOM
 * events; the test sends X input and checks what the page saw, as a user
 * would: 50 double clicks are 50 dblclick events, 20 HTML5 drags are 20
 * drops, ctrl+a, ctrl+c, End, ctrl+v double a field's text under us,ru (either
 * group active), ru,us, de, fr and us(dvorak) with a real code on every
 * shortcut, and 10 runs of 100 distinct CJK characters arrive exactly.
 *
 * Every wait is on a condition the page reports, with a timeout.
 */
#define _GNU_SOURCE
#include <X11/XKBlib.h>
#include <X11/Xlib.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "evproc.h"
#include "input.h"
#include "keys.h"
#include "nodeproc.h"
#include "stack-util.h"
#include "xserver.h"

#define ASK_MS 15000

static struct xserver xs;
static Display *dpy;
static struct input *in;
static struct nodeproc node;
static int off_x, off_y; /* screen = page + offset */

static json_t *ask(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static json_t *ask(const char *fmt, ...) {
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    json_t *j = nodeproc_ask(&node, ASK_MS, cmd);
    CHECK(j != NULL, "the page answered \"%.40s\"", cmd);
    return j;
}

/* How many events of type the page logged, waiting up to ms until there are n. */
static long wait_events(const char *type, int n, int ms) {
    json_t *j = ask("wait %s %d %d", type, n, ms);
    long v = j ? (long)json_integer_value(json_object_get(j, "n")) : -1;
    json_decref(j);
    return v;
}

/* The screen position of a point of element id: fx, fy in 0..1 of its box. */
static void point(const char *id, double fx, double fy, int *x, int *y) {
    json_t *j = ask("rects");
    json_t *r = j ? json_object_get(j, id) : NULL;
    double v[4] = {0};
    for (size_t i = 0; i < 4; i++)
        v[i] = json_number_value(json_array_get(r, i));
    *x = off_x + (int)(v[0] + v[2] * fx);
    *y = off_y + (int)(v[1] + v[3] * fy);
    json_decref(j);
}

static int setxkbmap(const char *layout, const char *variant) {
    pid_t pid = fork();
    if (pid == 0) {
        if (variant)
            execlp("setxkbmap", "setxkbmap", "-display", xs.name, "-layout", layout, "-variant",
                    variant, (char *)NULL);
        else
            execlp("setxkbmap", "setxkbmap", "-display", xs.name, "-layout", layout, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) < 0)
        return -1;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static void test_double_clicks(void) {
    const int n = 50;
    int x0, x1, y;
    point("dbl", 0.25, 0.5, &x0, &y);
    point("dbl", 0.75, 0.5, &x1, &y);
    /*
     * Each double click once the page has handled the one before, at
     * alternating points far apart: a pair of its own, not a third click.
     */
    long got = 0;
    for (int i = 0; i < n; i++) {
        CHECK_INT(input_click(in, i % 2 ? x1 : x0, y, 1, true), 0);
        got = wait_events("dblclick", i + 1, 2000);
    }
    printf("dblclick: %ld/%d\n", got, n);
    CHECK(got == n, "%d double clicks fired %ld dblclick events", n, got);
    json_t *j = ask("log");
    if (got != n) {
        char *dump = json_dumps(j, JSON_COMPACT);
        fprintf(stderr, "  page: %.3000s\n", dump ? dump : "");
        free(dump);
    }
    json_decref(j);
}

static void test_drags(void) {
    const int n = 20;
    int sx, sy, dx, dy, drops = 0;
    point("src", 0.5, 0.5, &sx, &sy);
    for (int i = 0; i < n; i++) {
        point("dst", 0.3 + 0.02 * i, 0.5, &dx, &dy);
        /* Starts 10 px apart: a press where the last one was, within 500 ms, is a double click. */
        CHECK_INT(input_drag(in, sx + (i % 2) * 10, sy, dx, dy, 1), 0);
        /* The drag session ends (dragend) before the next one starts. */
        wait_events("dragend", i + 1, 3000);
        drops = (int)wait_events("drop", i + 1, 100);
    }
    printf("drop: %d/%d\n", drops, n);
    CHECK(drops == n, "%d HTML5 drags gave %d drops", n, drops);
    json_t *j = ask("log");
    if (drops != n) {
        char *dump = json_dumps(j, JSON_COMPACT);
        fprintf(stderr, "  page: %.3000s\n", dump ? dump : "");
        free(dump);
    }
    json_decref(j);
}

static void press(const char *hotkey) {
    struct key_combo c;
    char err[256];
    CHECK_INT(keys_parse_hotkey(hotkey, &c, err, sizeof err), 0);
    CHECK_INT(input_key(in, &c), 0);
}

/* Every shortcut the page logged since the last log arrived with a real key code; 3 of them. */
static bool shortcut_codes(const char *name) {
    json_t *j = ask("log");
    size_t i, shortcuts_seen = 0;
    bool ok = true;
    json_t *e;
    json_array_foreach(json_object_get(j, "events"), i, e) {
        const char *key = json_string_value(json_object_get(e, "key"));
        const char *code = json_string_value(json_object_get(e, "code"));
        if (!json_is_true(json_object_get(e, "ctrl")) || !key || strcmp(key, "Control") == 0)
            continue;
        shortcuts_seen++;
        CHECK(code && code[0], "%s: ctrl+%s arrived without a code", name, key);
        ok = ok && code && code[0];
    }
    CHECK(shortcuts_seen == 3, "%s: %zu shortcuts seen, not 3", name, shortcuts_seen);
    json_decref(j);
    return ok && shortcuts_seen == 3;
}

/* ctrl+a, ctrl+c, End, ctrl+v in the field under a layout: its text doubles. */
static bool shortcuts(const char *layout, const char *variant, int group) {
    char name[64];
    snprintf(name, sizeof name, "%s%s%s group %d", layout, variant ? ":" : "",
            variant ? variant : "", group + 1);
    CHECK(setxkbmap(layout, variant) == 0, "setxkbmap %s", name);
    if (group) {
        XkbLockGroup(dpy, XkbUseCoreKbd, (unsigned)group);
        XSync(dpy, False);
    }
    int x, y;
    point("field", 0.5, 0.5, &x, &y);
    CHECK_INT(input_click(in, x, y, 1, false), 0);
    json_decref(ask("set field Hello"));
    press("ctrl+a");
    press("ctrl+c");
    press("end");
    press("ctrl+v");
    json_t *j = ask("waitvalue field 5000 HelloHello");
    const char *v = j ? json_string_value(json_object_get(j, "value")) : NULL;
    bool ok = v && strcmp(v, "HelloHello") == 0;
    CHECK(ok, "%s: the field holds \"%s\", not HelloHello", name, v ? v : "(none)");
    json_decref(j);
    ok = shortcut_codes(name) && ok;
    printf("shortcuts under %s: %s\n", name, ok ? "text doubled" : "FAILED");
    return ok;
}

static void test_shortcuts(void) {
    static const struct {
        const char *layout, *variant;
        int group;
    } cases[] = {
            {"us,ru", NULL, 0},
            {"us,ru", NULL, 1},
            {"ru,us", NULL, 0},
            {"de", NULL, 0},
            {"fr", NULL, 0},
            {"us", "dvorak", 0},
    };
    size_t n = sizeof cases / sizeof *cases, doubled = 0;
    for (size_t i = 0; i < n; i++)
        doubled += shortcuts(cases[i].layout, cases[i].variant, cases[i].group);
    printf("layouts where ctrl+a, ctrl+c, End, ctrl+v doubled the text: %zu/%zu\n", doubled, n);
    setxkbmap("us", NULL);
}

/*
 * Text of both groups of us,ru with either group active: each character
 * through its own key in its group (the group locked for it), and what
 * neither group has through a spare keycode.
 */
static void test_two_groups(void) {
    static const char text[] = "Hello, привет! Grüße ЁЖ";
    int x, y, exact = 0;
    CHECK(setxkbmap("us,ru", NULL) == 0, "setxkbmap us,ru");
    point("field", 0.5, 0.5, &x, &y);
    for (int group = 0; group < 2; group++) {
        XkbLockGroup(dpy, XkbUseCoreKbd, (unsigned)group);
        XSync(dpy, False);
        CHECK_INT(input_click(in, x, y, 1, false), 0);
        json_decref(ask("set field "));
        CHECK_INT(input_type(in, text, strlen(text), 0), 0);
        json_t *j = ask("waitvalue field 5000 %s", text);
        const char *v = j ? json_string_value(json_object_get(j, "value")) : NULL;
        bool same = v && strcmp(v, text) == 0;
        CHECK(same, "us,ru group %d: the field holds \"%s\"", group + 1, v ? v : "(none)");
        exact += same;
        json_decref(j);
        XkbStateRec st;
        XkbGetState(dpy, XkbUseCoreKbd, &st);
        CHECK(st.group == group, "group %d after typing, not %d", st.group, group);
    }
    printf("us,ru text typed exactly with either group active: %d/2\n", exact);
    setxkbmap("us", NULL);
}

static size_t put_utf8(char *out, uint32_t cp) {
    out[0] = (char)(0xe0 | cp >> 12);
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[2] = (char)(0x80 | (cp & 0x3f));
    return 3;
}

static void test_cjk(void) {
    const int runs = 10, chars = 100;
    int exact = 0, x, y;
    point("area", 0.5, 0.5, &x, &y);
    for (int r = 0; r < runs; r++) {
        char text[3 * 100 + 1];
        size_t len = 0;
        /* Characters no run typed before, so every run binds spare keycodes anew. */
        for (int k = 0; k < chars; k++)
            len += put_utf8(text + len, 0x4e00 + 0x400 + (uint32_t)(r * chars + k));
        text[len] = '\0';
        CHECK_INT(input_click(in, x, y, 1, false), 0);
        json_decref(ask("set area "));
        CHECK_INT(input_type(in, text, len, 0), 0);
        json_t *j = ask("waitvalue area 10000 %s", text);
        const char *v = j ? json_string_value(json_object_get(j, "value")) : NULL;
        bool same = v && strcmp(v, text) == 0;
        CHECK(same, "CJK run %d: the textarea holds \"%s\"", r, v ? v : "(none)");
        exact += same;
        json_decref(j);
    }
    printf("CJK runs of %d distinct characters exact: %d/%d\n", chars, exact, runs);
}

/* Starts Chromium on the page and finds where the page is on the screen. */
static bool start_receiver(const char *script) {
    setenv("DISPLAY", xs.name, 1);
    const char *argv[] = {"node", script, NULL};
    int64_t t0 = su_ms();
    char *ready = nodeproc_start(&node, argv) == 0 ? nodeproc_line(&node, 60000) : NULL;
    CHECK(ready != NULL, "Chromium showed the page");
    free(ready);
    if (!ready)
        return false;
    printf("Chromium up in %lld ms\n", (long long)(su_ms() - t0));
    /* Screen minus page coordinates, from a motion the page saw. */
    CHECK_INT(input_move(in, 640, 600), 0);
    json_t *j = ask("offset");
    off_x = (int)json_integer_value(json_object_get(j, "dx"));
    off_y = (int)json_integer_value(json_object_get(j, "dy"));
    json_decref(j);
    return j != NULL;
}

int main(void) {
    check_timeout(280);
    check_require_tool("Xvfb");
    check_require_tool("node");
    check_require_tool("setxkbmap");
    const char *chromium = getenv("DESK_CHROMIUM");
    if (!chromium)
        chromium = "/usr/bin/chromium";
    char script[1024], module[1024];
    snprintf(script, sizeof script, "%s/tests/integration/receiver.js", DESK_SOURCE_DIR);
    snprintf(module, sizeof module,
            "%s/tests/integration/node_modules/playwright-core/package.json", DESK_SOURCE_DIR);
    if (access(chromium, X_OK) != 0 || access(module, R_OK) != 0) {
        printf("skipped: %s or playwright-core (npm ci --prefix tests/integration) is missing\n",
                chromium);
        return 77;
    }
    signal(SIGPIPE, SIG_IGN);
    if (xserver_start_xvfb(&xs, 1280, 720) < 0) {
        CHECK(false, "cannot start Xvfb");
        return check_finish();
    }
    dpy = XOpenDisplay(xs.name);
    in = dpy ? input_new(dpy) : NULL;
    CHECK(in != NULL, "input on %s", xs.name);
    if (in && start_receiver(script)) {
        static const struct {
            const char *name;
            void (*fn)(void);
        } parts[] = {
                {"double clicks", test_double_clicks},
                {"drags", test_drags},
                {"shortcuts", test_shortcuts},
                {"two groups", test_two_groups},
                {"CJK", test_cjk},
        };
        for (size_t i = 0; i < sizeof parts / sizeof *parts; i++) {
            int64_t t = su_ms();
            parts[i].fn();
            printf("%s: %lld ms\n", parts[i].name, (long long)(su_ms() - t));
        }
        check_nothing_held(dpy, "the Chromium tests");
        CHECK_INT(nodeproc_finish(&node, "quit", 20000), 0);
    }
    input_destroy(in);
    if (dpy)
        XCloseDisplay(dpy);
    xserver_stop(&xs);
    return check_finish();
}
