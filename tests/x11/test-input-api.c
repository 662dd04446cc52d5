/*
 * The mouse and keyboard routes end to end: real HTTP requests to a real deskd,
 * observed by the tests' X client evlog. What evlog prints is what an X client
 * received: the characters Xutf8LookupString gave, the buttons and the
 * coordinates. After every request, rejected ones included, the server must
 * show no key and no button held; rejected requests must produce no event.
 *
 * Each check taps F1 through the API as a marker and reads evlog's lines up to
 * it, so waiting is on evlog's output, never on a timer.
 *
 * A person taking control (POST /computeruse/control) stops the agent's
 * input at once: typing between characters, a held key's hold, and what
 * was queued behind it, all 409 HUMAN_IN_CONTROL.
 */
#include <X11/Xlib.h>
#include <X11/extensions/XTest.h>
#include <X11/keysym.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "deskproc.h"
#include "evproc.h"
#include "http.h"
#include "xserver.h"

#define WIN_X   100
#define WIN_Y   50
#define WIN_W   400
#define WIN_H   300
#define LINE_MS 5000

static const char *base;
static Display *dpy;
static struct evproc ev;

/* POSTs body (a JSON text) to path; returns the status, the body in *reply when asked. */
static long post(const char *path, const char *body, char **reply) {
    char url[256];
    snprintf(url, sizeof url, "%s%s", base, path);
    const char *headers[] = {"Content-Type: application/json", NULL};
    struct http_resp r;
    http_request("POST", url, body, headers, &r);
    long st = r.status;
    if (reply)
        *reply = strdup(r.body);
    http_resp_free(&r);
    return st;
}

/* Taps the F1 marker through the API and collects evlog's lines up to it. */
static bool collect(void) {
    CHECK_INT(post("/computeruse/keyboard/key", "{\"key\":\"f1\"}", NULL), 200);
    bool ok = evproc_collect(&ev, "key F1 ", LINE_MS);
    CHECK(ok, "evlog sent no marker");
    return ok;
}

static void check_type(const char *json_text, const char *expect) {
    char body[512];
    snprintf(body, sizeof body, "{\"text\":\"%s\"}", json_text);
    CHECK_INT(post("/computeruse/keyboard/type", body, NULL), 200);
    check_nothing_held(dpy, "type");
    if (!collect())
        return;
    char *got = evproc_text(&ev);
    CHECK(got && strcmp(got, expect) == 0, "typed %s, received \"%s\"", json_text, got ? got : "");
    free(got);
}

static void test_typing(void) {
    check_type("Hello, World!", "Hello, World!");
    check_type("Grüße", "Grüße");
    check_type("naïve café", "naïve café");
    check_type("日本語", "日本語");
    check_type("✓ 🙂", "✓ 🙂");
    check_type("a\\nb\\r\\nc", "a\rb\rc"); /* Return gives "\r" to the client */
}

/* Index of the first collected key line for keysym name, or -1. */
static int find_key(const char *name, unsigned *state) {
    for (int i = 0; i < ev.nlines; i++) {
        char n[128];
        if (sscanf(ev.lines[i], "key %127s 0x%x", n, state) == 2 && strcmp(n, name) == 0)
            return i;
    }
    return -1;
}

static void test_keys(void) {
    unsigned state = 0;
    CHECK_INT(post("/computeruse/keyboard/key", "{\"key\":\"c\",\"modifiers\":[\"ctrl\"]}", NULL),
            200);
    check_nothing_held(dpy, "ctrl+c");
    if (collect())
        CHECK(find_key("c", &state) >= 0 && (state & ControlMask), "c with ControlMask (0x%x)",
                state);

    CHECK_INT(post("/computeruse/keyboard/hotkey", "{\"keys\":\" ctrl + shift + t \"}", NULL), 200);
    check_nothing_held(dpy, "ctrl+shift+t");
    if (collect())
        CHECK((find_key("T", &state) >= 0 || find_key("t", &state) >= 0) &&
                        (state & (ControlMask | ShiftMask)) == (ControlMask | ShiftMask),
                "t with Control and Shift (0x%x)", state);

    static const char *const pad[][2] = {{"num5", "KP_5"}, {"num_plus", "KP_Add"},
            {"num_enter", "KP_Enter"}, {"num_decimal", "KP_Decimal"}, {"menu", "Menu"}};
    for (size_t i = 0; i < sizeof pad / sizeof pad[0]; i++) {
        char body[64];
        snprintf(body, sizeof body, "{\"key\":\"%s\"}", pad[i][0]);
        CHECK_INT(post("/computeruse/keyboard/key", body, NULL), 200);
        if (collect())
            CHECK(find_key(pad[i][1], &state) >= 0, "%s arrives as %s", pad[i][0], pad[i][1]);
    }
    CHECK_INT(post("/computeruse/keyboard/key", "{\"key\":\"A\"}", NULL), 200);
    if (collect())
        CHECK(find_key("a", &state) >= 0 && !(state & ShiftMask), "A presses a without shift");
}

struct button_ev {
    char what[16];
    int button, x, y;
    unsigned long time;
};

static int buttons(struct button_ev *out, int max) {
    int n = 0;
    for (int i = 0; i < ev.nlines && n < max; i++) {
        struct button_ev b;
        if (sscanf(ev.lines[i], "%15s %d %d %d %lu", b.what, &b.button, &b.x, &b.y, &b.time) == 5 &&
                (strcmp(b.what, "press") == 0 || strcmp(b.what, "release") == 0))
            out[n++] = b;
    }
    return n;
}

static void test_pointer(void) {
    char *reply = NULL;
    struct button_ev b[64];

    CHECK_INT(post("/computeruse/mouse/move", "{\"x\":120,\"y\":80}", &reply), 200);
    CHECK(strstr(reply, "\"x\":120") && strstr(reply, "\"y\":80"), "move answers %s", reply);
    free(reply);

    CHECK_INT(post("/computeruse/mouse/click", "{\"x\":200,\"y\":150}", &reply), 200);
    CHECK(strstr(reply, "\"x\":200"), "click answers %s", reply);
    free(reply);
    check_nothing_held(dpy, "click");
    if (collect()) {
        int n = buttons(b, 64);
        CHECK(n == 2 && !strcmp(b[0].what, "press") && b[0].button == 1 && b[0].x == 200 &&
                        b[0].y == 150 && !strcmp(b[1].what, "release") && b[1].x == 200,
                "click: %d button events", n);
    }

    CHECK_INT(
            post("/computeruse/mouse/click", "{\"x\":210,\"y\":160,\"button\":\" Right \"}", NULL),
            200);
    if (collect())
        CHECK(buttons(b, 64) == 2 && b[0].button == 3, "right click is button 3");

    CHECK_INT(post("/computeruse/mouse/click", "{\"x\":220,\"y\":170,\"double\":true}", NULL), 200);
    if (collect()) {
        int n = buttons(b, 64);
        CHECK(n == 4 && !strcmp(b[2].what, "press") && b[2].time - b[0].time < 400,
                "double click: %d events, %lu ms apart", n, n == 4 ? b[2].time - b[0].time : 0);
    }

    CHECK_INT(post("/computeruse/mouse/drag",
                      "{\"startX\":150,\"startY\":100,\"endX\":300,\"endY\":220}", &reply),
            200);
    CHECK(strstr(reply, "\"from\":{\"x\":150,\"y\":100}") && strstr(reply, "\"to\":{\"x\":300"),
            "drag answers %s", reply);
    free(reply);
    check_nothing_held(dpy, "drag");
    if (collect()) {
        int presses = 0, motions_between = 0, first_press = -1, release = -1;
        for (int i = 0; i < ev.nlines; i++) {
            int bt, x, y;
            if (sscanf(ev.lines[i], "press %d %d %d", &bt, &x, &y) == 3) {
                presses++;
                first_press = i;
                CHECK(x == 150 && y == 100, "drag press at %d,%d", x, y);
            } else if (sscanf(ev.lines[i], "release %d %d %d", &bt, &x, &y) == 3) {
                release = i;
                CHECK(x == 300 && y == 220, "drag release at %d,%d", x, y);
            } else if (first_press >= 0 && release < 0 && !strncmp(ev.lines[i], "motion ", 7)) {
                motions_between++;
            }
        }
        CHECK(presses == 1 && release > first_press && motions_between >= 2,
                "drag: %d presses, %d motions between press and release", presses, motions_between);
    }

    static const struct {
        const char *dir;
        int amount, button, count;
    } scrolls[] = {{"down", 3, 5, 3}, {"up", 2, 4, 2}, {"left", 1, 6, 1}, {"right", 0, 7, 1}};
    for (size_t i = 0; i < sizeof scrolls / sizeof scrolls[0]; i++) {
        char body[128];
        snprintf(body, sizeof body, "{\"x\":250,\"y\":200,\"direction\":\"%s\",\"amount\":%d}",
                scrolls[i].dir, scrolls[i].amount);
        CHECK_INT(post("/computeruse/mouse/scroll", body, &reply), 200);
        CHECK(strstr(reply, "\"success\":true"), "scroll answers %s", reply);
        free(reply);
        if (collect()) {
            int n = buttons(b, 64), presses = 0;
            for (int k = 0; k < n; k++)
                presses += !strcmp(b[k].what, "press") && b[k].button == scrolls[i].button;
            CHECK(presses == scrolls[i].count, "scroll %s: %d presses of button %d", scrolls[i].dir,
                    presses, scrolls[i].button);
        }
    }

    char url[256];
    struct http_resp r;
    snprintf(url, sizeof url, "%s/computeruse/mouse/position", base);
    http_get(url, &r);
    CHECK(r.status == 200 && strstr(r.body, "\"x\":250") && strstr(r.body, "\"y\":200"),
            "position after scroll: %s", r.body);
    http_resp_free(&r);
}

static void test_rejected(void) {
    static const struct {
        const char *path, *body, *needle;
    } bad[] = {
            {"/computeruse/mouse/click", "{\"x\":1,\"y\":1,\"button\":\"foo\"}", "button"},
            {"/computeruse/mouse/click", "{\"x\":\"5\",\"y\":1}",
                    "x must be a number from -1000000 to 1000000, got \"5\""},
            {"/computeruse/mouse/click", "{\"x\":[1.5],\"y\":1}", "x must be a number"},
            {"/computeruse/mouse/click", "{\"x\":1,\"y\":-1000000.5}", "got -1000000.5"},
            {"/computeruse/mouse/click", "{\"y\":1}", "x is required"},
            {"/computeruse/mouse/click", "{\"x\":1,\"y\":1,\"double\":\"yes\"}", "double"},
            {"/computeruse/mouse/click", "not json", "JSON"},
            {"/computeruse/mouse/click", "[1,2]", "JSON object"},
            {"/computeruse/mouse/move", "{\"x\":1}", "y is required"},
            {"/computeruse/mouse/drag", "{\"startX\":1,\"startY\":1,\"endX\":5}", "endY"},
            {"/computeruse/mouse/scroll", "{\"x\":1,\"y\":1,\"direction\":\"sideways\"}",
                    "sideways"},
            {"/computeruse/mouse/scroll", "{\"x\":1,\"y\":1,\"direction\":\"up\",\"amount\":-1}",
                    "amount"},
            {"/computeruse/keyboard/type", "{\"text\":\"a\\tb\"}", "U+0009"},
            {"/computeruse/keyboard/type", "{\"text\":\"a\\u000bb\"}", "U+000B"},
            {"/computeruse/keyboard/type", "{\"text\":\"a\\u2028b\"}", "U+2028"},
            {"/computeruse/keyboard/type", "{\"text\":\"ab\",\"delay\":-1}", "delay"},
            {"/computeruse/keyboard/type", "{\"text\":\"\xff\"}", "JSON"},
            {"/computeruse/keyboard/type", "{\"text\":5}", "text must be a string"},
            {"/computeruse/keyboard/type", "{\"text\":\"a\\u0000b\"}", "may not contain U+0000"},
            {"/computeruse/keyboard/key", "{\"key\":\"a\\u0000b\"}", "may not contain U+0000"},
            {"/computeruse/keyboard/key", "{\"key\":\"FooBar\"}", "unsupported key \"FooBar\""},
            {"/computeruse/keyboard/key", "{\"key\":\"!\"}", "unsupported key \"!\""},
            {"/computeruse/keyboard/key", "{\"key\":\"c\",\"modifiers\":[\"ctrl\",\"ctrl\"]}",
                    "duplicate modifier \"ctrl\" in press(\"c\", [\"ctrl\", \"ctrl\"])"},
            {"/computeruse/keyboard/key", "{\"key\":\"c\",\"modifiers\":[\"c\"]}",
                    "unsupported modifier \"c\"; supported modifiers: ctrl, alt, shift, cmd"},
            {"/computeruse/keyboard/key", "{\"key\":\"c\",\"modifiers\":\"ctrl\"}", "modifiers"},
            {"/computeruse/keyboard/hotkey", "{\"keys\":\"ctrl++c\"}", "ctrl++c"},
            {"/computeruse/keyboard/hotkey", "{\"keys\":\"a+b\"}", "a+b"},
            {"/computeruse/keyboard/hotkey", "{\"keys\":\"ctrl+k ctrl+c\"}", "single chord"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *reply = NULL;
        long st = post(bad[i].path, bad[i].body, &reply);
        json_t *j = json_loads(reply, 0, NULL);
        const char *msg = json_string_value(json_object_get(j, "error"));
        CHECK(st == 400 && msg && strstr(msg, bad[i].needle) &&
                        json_is_string(json_object_get(j, "code")),
                "%s %s: %ld %s", bad[i].path, bad[i].body, st, reply);
        json_decref(j);
        free(reply);
        check_nothing_held(dpy, bad[i].body);
    }
    /* Text over 64 KiB. */
    size_t n = 70 * 1024;
    char *big = malloc(n + 32);
    strcpy(big, "{\"text\":\"");
    memset(big + 9, 'a', n);
    strcpy(big + 9 + n, "\"}");
    char *reply = NULL;
    CHECK_INT(post("/computeruse/keyboard/type", big, &reply), 400);
    CHECK(strstr(reply, "64 KiB"), "names the limit: %.200s", reply);
    free(reply);
    free(big);
    if (collect())
        CHECK(ev.nlines == 0, "rejected requests produced %d events, first: %s", ev.nlines,
                ev.nlines ? ev.lines[0] : "");
}

/* Runs setxkbmap on display; returns its exit status. */
static int set_layout(const char *display, const char *layout) {
    pid_t pid = fork();
    if (pid == 0) {
        execlp("setxkbmap", "setxkbmap", "-display", display, layout, (char *)NULL);
        _exit(127);
    }
    int status = -1;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/*
 * Shift held by another XTest client (a person on noVNC): type is a 409
 * MODIFIER_HELD naming it, types nothing, and that Shift is still down.
 */
static void test_modifier_held(void) {
    Display *other = XOpenDisplay(DisplayString(dpy));
    CHECK(other != NULL, "a second connection");
    if (!other)
        return;
    KeyCode shift = XKeysymToKeycode(other, XK_Shift_L);
    XTestFakeKeyEvent(other, shift, True, CurrentTime);
    XSync(other, False);
    char *reply = NULL;
    CHECK_INT(post("/computeruse/keyboard/type", "{\"text\":\"abc\"}", &reply), 409);
    json_t *j = reply ? json_loads(reply, 0, NULL) : NULL;
    const char *code = json_string_value(json_object_get(j, "code"));
    const char *msg = json_string_value(json_object_get(j, "error"));
    CHECK(code && strcmp(code, "MODIFIER_HELD") == 0 && msg && strstr(msg, "Shift_L"),
            "type with Shift held elsewhere: %s", reply ? reply : "(no reply)");
    json_decref(j);
    free(reply);
    char keys[32];
    XQueryKeymap(dpy, keys);
    CHECK(keys[shift / 8] & (1 << (shift % 8)), "deskd released the other client's Shift");
    XTestFakeKeyEvent(other, shift, False, CurrentTime);
    XSync(other, False);
    XCloseDisplay(other);
    if (collect())
        for (int i = 0; i < ev.nlines; i++)
            CHECK(strncmp(ev.lines[i], "key Shift_L ", 12) == 0, "type with Shift held sent %s",
                    ev.lines[i]);
}

/* A request on a thread of its own. */
struct bg {
    const char *path, *body;
    long status;
    char *reply;
    pthread_t th;
};

static void *bg_post(void *arg) {
    struct bg *b = arg;
    b->status = post(b->path, b->body, &b->reply);
    return NULL;
}

static void bg_check_409(struct bg *b, const char *what) {
    pthread_join(b->th, NULL);
    CHECK(b->status == 409 && b->reply && strstr(b->reply, "HUMAN_IN_CONTROL"),
            "%s after the hand-over: %ld %.300s", what, b->status, b->reply ? b->reply : "");
    free(b->reply);
}

/* No body: an empty object. A route with required members names the first one missing. */
static void test_empty_body(void) {
    char *reply = NULL;
    CHECK_INT(post("/computeruse/input/release", "", &reply), 200);
    free(reply);
    reply = NULL;
    CHECK_INT(post("/computeruse/mouse/move", "", &reply), 400);
    CHECK(reply && strstr(reply, "INVALID_PARAMETER") && strstr(reply, "x is required"),
            "an empty move names x: %s", reply ? reply : "");
    free(reply);
}

static void test_takeover(void) {
    /* Typing with a delay stops between characters once a person takes control. */
    static const char text[] = "abcdefghijklmnopqrstuvwxyz";
    struct bg typing = {"/computeruse/keyboard/type",
            "{\"text\":\"abcdefghijklmnopqrstuvwxyz\",\"delay\":100}", 0, NULL, 0};
    pthread_create(&typing.th, NULL, bg_post, &typing);
    CHECK(evproc_collect(&ev, "key c ", LINE_MS), "the typing began");
    CHECK_INT(post("/computeruse/control", "{\"holder\":\"human\"}", NULL), 200);
    bg_check_409(&typing, "the typing");
    CHECK_INT(post("/computeruse/control", "{\"holder\":\"agent\"}", NULL), 200);
    CHECK(collect(), "the marker after the typing");
    char *got = evproc_text(&ev);
    CHECK(got && strlen(got) < strlen(text) - 3, "typing stopped early: %s", got ? got : "");
    free(got);

    /* A key held for 3 s, a move queued behind it: neither goes on after the hand-over. */
    struct bg hold = {
            "/computeruse/keyboard/key", "{\"key\":\"shift\",\"holdMs\":3000}", 0, NULL, 0};
    pthread_create(&hold.th, NULL, bg_post, &hold);
    CHECK(evproc_collect(&ev, "key Shift_L ", LINE_MS), "the hold began");
    struct bg move = {"/computeruse/mouse/move", "{\"x\":700,\"y\":500}", 0, NULL, 0};
    pthread_create(&move.th, NULL, bg_post, &move);
    CHECK_INT(post("/computeruse/control", "{\"holder\":\"human\"}", NULL), 200);
    bg_check_409(&hold, "the held key");
    bg_check_409(&move, "the queued move");
    char url[256];
    snprintf(url, sizeof url, "%s/computeruse/mouse/position", base);
    struct http_resp r;
    http_request("GET", url, NULL, NULL, &r);
    CHECK(r.status == 200 && !strstr(r.body, "\"x\":700"), "the pointer did not move: %s", r.body);
    http_resp_free(&r);
    CHECK_INT(post("/computeruse/control", "{\"holder\":\"agent\"}", NULL), 200);
    check_nothing_held(dpy, "the hand-over");
}

int main(void) {
    check_timeout(120);
    check_require_tool("Xvfb");
    check_require_tool("setxkbmap");
    struct xserver xs;
    if (xserver_start_xvfb(&xs, 1280, 720) < 0)
        return 1;
    dpy = XOpenDisplay(xs.name);
    struct deskd_proc d;
    if (!dpy || evproc_start(&ev, xs.name, WIN_X, WIN_Y, WIN_W, WIN_H, "input-api") < 0 ||
            deskd_start(&d, xs.name, NULL) < 0) {
        CHECK(false, "set-up failed");
        xserver_stop(&xs);
        return check_finish();
    }
    base = d.url;
    test_typing();
    test_keys();
    test_pointer();
    test_rejected();
    test_modifier_held();
    test_takeover();
    test_empty_body();
    /* Whatever the active layout: text arrives the same. */
    static const char *const layouts[] = {"de", "ru"};
    for (size_t i = 0; i < sizeof layouts / sizeof layouts[0]; i++) {
        if (set_layout(xs.name, layouts[i]) != 0) {
            CHECK(false, "setxkbmap %s failed", layouts[i]);
            continue;
        }
        test_typing();
        check_type("@{[]}|~ z y", "@{[]}|~ z y");
    }
    check_nothing_held(dpy, "the whole run");
    CHECK_INT(deskd_stop(&d), 0);
    if (check_failed)
        deskd_dump_log(&d);
    evproc_stop(&ev);
    XCloseDisplay(dpy);
    xserver_stop(&xs);
    return check_finish();
}
