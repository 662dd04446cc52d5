/*
 * The actions a model asks for, end to end: POST /computeruse/actions, the
 * new pointer and keyboard fields, the down/up routes, input/held and
 * input/release, against a real deskd and observed by the tests' X client
 * evlog (what it prints is what an X client received). Each check taps F1
 * through the API as a marker and reads evlog's lines up to it.
 */
#include <X11/Xlib.h>
#include <X11/keysym.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "deskproc.h"
#include "evproc.h"
#include "http.h"
#include "xserver.h"

#define WIN_X   100
#define WIN_Y   50
#define WIN_W   600
#define WIN_H   400
#define LINE_MS 5000
/* GTK's double-click interval, the longest of the toolkits' (xfwm4 250 ms, Chromium 500 ms). */
#define DOUBLE_CLICK_MS 400

static const char *base;
static Display *dpy;
static struct evproc ev;

static long post(const char *path, const char *body, json_t **reply) {
    char url[256];
    snprintf(url, sizeof url, "%s%s", base, path);
    const char *headers[] = {"Content-Type: application/json", NULL};
    struct http_resp r;
    http_request("POST", url, body, headers, &r);
    long st = r.status;
    if (reply)
        *reply = http_json(&r);
    http_resp_free(&r);
    return st;
}

static json_t *get(const char *path) {
    char url[256];
    snprintf(url, sizeof url, "%s%s", base, path);
    struct http_resp r;
    http_get(url, &r);
    json_t *j = r.status == 200 ? http_json(&r) : NULL;
    http_resp_free(&r);
    return j;
}

static bool collect(void) {
    CHECK_INT(post("/computeruse/keyboard/key", "{\"key\":\"f1\"}", NULL), 200);
    bool ok = evproc_collect(&ev, "key F1 ", LINE_MS);
    CHECK(ok, "evlog sent no marker");
    return ok;
}

struct button_ev {
    char what[16];
    int button, x, y;
    unsigned long time;
    unsigned state;
};

static int buttons(struct button_ev *out, int max) {
    int n = 0;
    for (int i = 0; i < ev.nlines && n < max; i++) {
        struct button_ev b = {0};
        if (sscanf(ev.lines[i], "%15s %d %d %d %lu 0x%x", b.what, &b.button, &b.x, &b.y, &b.time,
                    &b.state) == 6 &&
                (strcmp(b.what, "press") == 0 || strcmp(b.what, "release") == 0))
            out[n++] = b;
    }
    return n;
}

/* ---- a batch runs in order, with no other request's input in between ---- */

static volatile int stop_singles;
static int singles_done;

static void *singles(void *arg) {
    (void)arg;
    char body[64];
    snprintf(body, sizeof body, "{\"x\":%d,\"y\":%d}", WIN_X + 20, WIN_Y + 300);
    while (!stop_singles) {
        if (post("/computeruse/mouse/click", body, NULL) == 200)
            singles_done++;
    }
    return NULL;
}

static void test_batch_order(void) {
    char body[4096];
    int n = snprintf(body, sizeof body, "{\"actions\":[");
    for (int i = 0; i < 20; i++)
        n += snprintf(body + n, sizeof body - (size_t)n, "%s{\"type\":\"click\",\"x\":%d,\"y\":%d}",
                i ? "," : "", WIN_X + 20 + i * 20, WIN_Y + 40);
    snprintf(body + n, sizeof body - (size_t)n, "]}");

    pthread_t t;
    stop_singles = 0;
    singles_done = 0;
    pthread_create(&t, NULL, singles, NULL);
    /* Let the single clicks get going, then run batches among them. */
    while (singles_done < 3) {
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    json_t *reply = NULL;
    int batches = 3;
    for (int k = 0; k < batches; k++) {
        CHECK_INT(post("/computeruse/actions", body, &reply), 200);
        CHECK_INT(json_integer_value(json_object_get(reply, "completed")), 20);
        CHECK_INT(json_array_size(json_object_get(reply, "results")), 20);
        json_decref(reply);
    }
    int before_stop = singles_done;
    stop_singles = 1;
    pthread_join(t, NULL);
    CHECK(before_stop > 3, "the concurrent single clicks ran (%d)", before_stop);
    if (!collect())
        return;
    static struct button_ev b[4096];
    int nb = buttons(b, 4096);
    int in_batch = -1, seen = 0, interleaved = 0, batch_presses = 0, singles_seen = 0;
    for (int i = 0; i < nb; i++) {
        if (strcmp(b[i].what, "press") != 0)
            continue;
        if (b[i].y == WIN_Y + 40) {
            int idx = (b[i].x - WIN_X - 20) / 20;
            CHECK_INT(idx, (in_batch + 1) % 20);
            in_batch = idx == 19 ? -1 : idx;
            batch_presses++;
        } else {
            singles_seen++;
            if (in_batch >= 0)
                interleaved++;
        }
        seen++;
    }
    CHECK_INT(batch_presses, 20 * batches);
    CHECK(singles_seen > 0, "single clicks arrived too (%d)", singles_seen);
    CHECK_INT(interleaved, 0);
    check_nothing_held(dpy, "batches among single clicks");
}

/* ---- validation: a bad action N sends nothing and is named ---- */

static void test_bad_action(void) {
    char body[2048];
    int n = snprintf(body, sizeof body, "{\"actions\":[");
    for (int i = 0; i < 10; i++)
        n += snprintf(body + n, sizeof body - (size_t)n, "%s%s", i ? "," : "",
                i == 7 ? "{\"type\":\"click\",\"x\":\"a\",\"y\":10}"
                       : "{\"type\":\"click\",\"x\":150,\"y\":100}");
    snprintf(body + n, sizeof body - (size_t)n, "]}");
    json_t *reply = NULL;
    CHECK_INT(post("/computeruse/actions", body, &reply), 400);
    const char *msg = json_string_value(json_object_get(reply, "error"));
    CHECK(msg && strstr(msg, "actions[7].x must be a number"), "names actions[7].x: %s",
            msg ? msg : "(none)");
    json_decref(reply);

    static const struct {
        const char *body, *needle;
    } bad[] = {
            {"{\"actions\":[{\"type\":\"jump\"}]}", "actions[0].type must be move, click"},
            {"{\"actions\":[{\"x\":1}]}", "actions[0].type is required"},
            {"{\"actions\":[{\"type\":\"key\",\"key\":\"a\"},{\"type\":\"key\",\"key\":\"FooBar\"}]"
             "}",
                    "actions[1].key: unsupported key \"FooBar\""},
            {"{\"actions\":[{\"type\":\"click\",\"x\":1,\"y\":1,\"clicks\":4}]}",
                    "actions[0].clicks must be an integer from 1 to 3"},
            {"{\"actions\":[{\"type\":\"drag\",\"path\":[{\"x\":1,\"y\":1}]}]}",
                    "actions[0].path must be a list of 2 to 1000 points"},
            {"{\"actions\":[{\"type\":\"move\",\"x\":1,\"y\":1,\"holdKeys\":[\"shift\",\"FooBar\"]}"
             "]}",
                    "actions[0].holdKeys[1]: unsupported key \"FooBar\""},
            {"{\"actions\":[{\"type\":\"key\",\"key\":\"a\",\"holdMs\":60001}]}",
                    "actions[0].holdMs must be an integer from 0 to 60000"},
            {"{\"actions\":[{\"type\":\"move\",\"x\":1,\"y\":1,\"space\":{\"width\":0,\"height\":5}"
             "}]}",
                    "actions[0].space.width must be an integer from 1 to 8192"},
            {"{\"actions\":[{\"type\":\"wait\",\"until\":\"stable\",\"stableMs\":5}]}",
                    "actions[0].stableMs must be an integer from 10 to 10000"},
            {"{\"actions\":[{\"type\":\"wait\",\"ms\":70000}]}",
                    "actions[0].ms must be an integer"},
            {"{\"actions\":[],\"observe\":{\"settle\":{\"stableMs\":5}}}",
                    "observe.settle.stableMs must be an integer from 10 to 10000"},
            {"{\"actions\":[],\"observe\":{\"screenshot\":{\"fit\":\"xga\",\"scale\":0.5}}}",
                    "observe.screenshot.scale cannot be combined with fit"},
            {"{\"actions\":[{\"type\":\"move\",\"x\":1000000.6,\"y\":1}]}", "got 1000000.6"},
            {"{\"actions\":[{\"type\":\"move\",\"x\":true,\"y\":1}]}", "got true"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_INT(post("/computeruse/actions", bad[i].body, &reply), 400);
        msg = json_string_value(json_object_get(reply, "error"));
        CHECK(msg && strstr(msg, bad[i].needle), "%s: %s", bad[i].body, msg ? msg : "(none)");
        json_decref(reply);
    }
    /* Over 1000 actions. */
    size_t cap = 1001 * 32 + 64;
    char *big = malloc(cap);
    n = snprintf(big, cap, "{\"actions\":[");
    for (int i = 0; i < 1001; i++)
        n += snprintf(big + n, cap - (size_t)n, "%s{\"type\":\"wait\",\"ms\":0}", i ? "," : "");
    snprintf(big + n, cap - (size_t)n, "]}");
    CHECK_INT(post("/computeruse/actions", big, &reply), 400);
    msg = json_string_value(json_object_get(reply, "error"));
    CHECK(msg && strstr(msg, "at most 1000 actions"), "1001 actions: %s", msg ? msg : "(none)");
    json_decref(reply);
    free(big);
    if (collect())
        CHECK(ev.nlines == 0, "rejected batches produced %d events, first: %s", ev.nlines,
                ev.nlines ? ev.lines[0] : "");
    check_nothing_held(dpy, "rejected batches");
}

/* ---- a failure at action 3 of 5 leaves nothing held ---- */

/* Gives every keycode without keysyms one, so deskd finds no spare keycode; returns them. */
static int fill_spare_keycodes(int *codes, int max) {
    int min_kc, max_kc, per, n = 0;
    XDisplayKeycodes(dpy, &min_kc, &max_kc);
    KeySym *map = XGetKeyboardMapping(dpy, (KeyCode)min_kc, max_kc - min_kc + 1, &per);
    for (int kc = min_kc; kc <= max_kc && n < max; kc++) {
        bool empty = true;
        for (int i = 0; i < per; i++)
            empty = empty && map[(kc - min_kc) * per + i] == NoSymbol;
        if (!empty)
            continue;
        KeySym f35 = XK_F35;
        XChangeKeyboardMapping(dpy, kc, 1, &f35, 1);
        codes[n++] = kc;
    }
    XFree(map);
    XSync(dpy, False);
    return n;
}

static void test_failure_releases(void) {
    /* deskd's own earlier bindings of spare keycodes count as spare for it: take them too. */
    int codes[256];
    int nfilled = fill_spare_keycodes(codes, 256);
    CHECK(nfilled > 0, "filled %d spare keycodes", nfilled);
    char body[1024];
    snprintf(body, sizeof body,
            "{\"actions\":[{\"type\":\"move\",\"x\":%d,\"y\":%d},"
            "{\"type\":\"keyDown\",\"key\":\"shift\"},"
            "{\"type\":\"buttonDown\",\"button\":\"left\",\"x\":%d,\"y\":%d},"
            "{\"type\":\"type\",\"text\":\"\xd0\xb6\"},"
            "{\"type\":\"click\",\"x\":%d,\"y\":%d}]}",
            WIN_X + 10, WIN_Y + 10, WIN_X + 30, WIN_Y + 30, WIN_X + 50, WIN_Y + 50);
    json_t *reply = NULL;
    CHECK_INT(post("/computeruse/actions", body, &reply), 503);
    CHECK_STR(json_string_value(json_object_get(reply, "code")), "NO_SPARE_KEYCODE");
    CHECK_INT(json_integer_value(json_object_get(reply, "failedIndex")), 3);
    CHECK_INT(json_array_size(json_object_get(reply, "results")), 3);
    const char *msg = json_string_value(json_object_get(reply, "error"));
    CHECK(msg && strstr(msg, "actions[3]"), "names actions[3]: %s", msg ? msg : "(none)");
    json_decref(reply);
    check_nothing_held(dpy, "a batch that failed at action 3 with shift and a button down");
    json_t *held = get("/computeruse/input/held");
    CHECK(held && json_array_size(json_object_get(held, "keys")) == 0 &&
                    json_array_size(json_object_get(held, "buttons")) == 0,
            "input/held after the failure lists nothing");
    json_decref(held);
    for (int i = 0; i < nfilled; i++) {
        KeySym none = NoSymbol;
        XChangeKeyboardMapping(dpy, codes[i], 1, &none, 1);
    }
    XSync(dpy, False);
    if (collect()) {
        /* Nothing after the button press: the click (action 4) never came. */
        struct button_ev b[64];
        int nb = buttons(b, 64);
        CHECK(nb == 2 && b[0].x == WIN_X + 30 && !strcmp(b[1].what, "release"),
                "the held button was pressed and released, nothing else (%d events)", nb);
    }
}

/* ---- clicks, buttons, held keys, paths ---- */

static void test_clicks_and_buttons(void) {
    struct button_ev b[64];
    char body[256];
    snprintf(body, sizeof body, "{\"x\":%d,\"y\":%d,\"clicks\":3}", WIN_X + 100, WIN_Y + 100);
    CHECK_INT(post("/computeruse/mouse/click", body, NULL), 200);
    if (collect()) {
        int n = buttons(b, 64);
        CHECK(n == 6 && !strcmp(b[4].what, "press") && b[4].button == 1,
                "triple click: %d button events", n);
        if (n == 6)
            CHECK(b[2].time > b[0].time && b[4].time > b[2].time &&
                            b[4].time - b[0].time < DOUBLE_CLICK_MS,
                    "three presses at %lu, %lu, %lu ms: distinct and within %d ms", b[0].time,
                    b[2].time, b[4].time, DOUBLE_CLICK_MS);
    }

    snprintf(body, sizeof body, "{\"x\":%d,\"y\":%d,\"holdKeys\":[\"shift\",\"ctrl\"]}",
            WIN_X + 110, WIN_Y + 110);
    CHECK_INT(post("/computeruse/mouse/click", body, NULL), 200);
    check_nothing_held(dpy, "click with holdKeys");
    if (collect()) {
        int n = buttons(b, 64);
        CHECK(n == 2 && (b[0].state & (ShiftMask | ControlMask)) == (ShiftMask | ControlMask),
                "the press carries Shift and Control (state 0x%x)", n ? b[0].state : 0);
    }
    snprintf(body, sizeof body,
            "{\"x\":%d,\"y\":%d,\"direction\":\"up\",\"amount\":2,\"holdKeys\":[\"ctrl\"]}",
            WIN_X + 120, WIN_Y + 120);
    CHECK_INT(post("/computeruse/mouse/scroll", body, NULL), 200);
    check_nothing_held(dpy, "scroll with holdKeys");
    if (collect()) {
        int n = buttons(b, 64);
        CHECK(n == 4 && b[0].button == 4 && (b[0].state & ControlMask) &&
                        (b[2].state & ControlMask),
                "ctrl+wheel: %d events, state 0x%x", n, n ? b[0].state : 0);
    }
    CHECK_INT(post("/computeruse/mouse/move", "{\"x\":300,\"y\":200,\"holdKeys\":[\"alt\"]}", NULL),
            200);
    check_nothing_held(dpy, "move with holdKeys");

    static const struct {
        const char *name;
        int button;
    } side[] = {{"back", 8}, {"forward", 9}};
    for (size_t i = 0; i < 2; i++) {
        snprintf(body, sizeof body, "{\"x\":%d,\"y\":%d,\"button\":\"%s\"}", WIN_X + 130,
                WIN_Y + 130, side[i].name);
        CHECK_INT(post("/computeruse/mouse/click", body, NULL), 200);
        if (collect()) {
            int n = buttons(b, 64);
            CHECK(n == 2 && b[0].button == side[i].button && b[1].button == side[i].button,
                    "%s arrives as button %d (%d events, first button %d)", side[i].name,
                    side[i].button, n, n ? b[0].button : 0);
        }
    }
}

static void test_drag_path(void) {
    static const int pts[][2] = {{150, 100}, {400, 100}, {400, 300}, {200, 350}, {160, 120}};
    char body[512];
    int n = snprintf(body, sizeof body, "{\"path\":[");
    for (int i = 0; i < 5; i++)
        n += snprintf(body + n, sizeof body - (size_t)n, "%s{\"x\":%d,\"y\":%d}", i ? "," : "",
                pts[i][0], pts[i][1]);
    snprintf(body + n, sizeof body - (size_t)n, "],\"holdKeys\":[\"shift\"]}");
    json_t *reply = NULL;
    CHECK_INT(post("/computeruse/mouse/drag", body, &reply), 200);
    CHECK(json_integer_value(json_object_get(reply, "x")) == 160 &&
                    json_integer_value(json_object_get(reply, "y")) == 120 &&
                    json_integer_value(json_object_get(reply, "from_x")) == 150 &&
                    json_integer_value(json_object_get(reply, "to_y")) == 120,
            "drag path answers its end");
    json_decref(reply);
    check_nothing_held(dpy, "drag path");
    if (!collect())
        return;
    int next = 1, pressed = 0, released = 0;
    unsigned state = 0;
    for (int i = 0; i < ev.nlines; i++) {
        int b, x, y;
        unsigned long t;
        if (sscanf(ev.lines[i], "press %d %d %d %lu 0x%x", &b, &x, &y, &t, &state) == 5) {
            pressed++;
            CHECK(x == pts[0][0] && y == pts[0][1], "pressed at %d,%d", x, y);
        } else if (sscanf(ev.lines[i], "release %d %d %d", &b, &x, &y) == 3) {
            released++;
            CHECK(next == 5, "released after visiting %d of 5 points", next);
            CHECK(x == pts[4][0] && y == pts[4][1], "released at %d,%d", x, y);
        } else if (pressed && !released && sscanf(ev.lines[i], "motion %d %d", &x, &y) == 2 &&
                   next < 5 && x == pts[next][0] && y == pts[next][1]) {
            next++;
        }
    }
    CHECK(pressed == 1 && released == 1 && next == 5,
            "path: %d presses, %d of 5 points, %d releases", pressed, next, released);
    CHECK(state & ShiftMask, "the drag's press carries Shift (0x%x)", state);
}

/* ---- coordinates: fractions, spaces ---- */

static void test_coordinates(void) {
    json_t *reply = NULL, *pos;
    CHECK_INT(post("/computeruse/mouse/move", "{\"x\":100.6,\"y\":50.2}", &reply), 200);
    CHECK(json_integer_value(json_object_get(reply, "x")) == 100 &&
                    json_integer_value(json_object_get(reply, "y")) == 50,
            "100.6, 50.2 floors to 100, 50");
    json_decref(reply);
    /* A 640x360 image of the 1280x720 screen: pixel 100 covers screen 200..201, its centre 201. */
    CHECK_INT(post("/computeruse/mouse/move",
                      "{\"x\":100,\"y\":60,\"space\":{\"width\":640,\"height\":360}}", &reply),
            200);
    CHECK(json_integer_value(json_object_get(reply, "x")) == 100 &&
                    json_integer_value(json_object_get(reply, "y")) == 60,
            "the answer is in the request's space");
    json_decref(reply);
    pos = get("/computeruse/mouse/position");
    CHECK(json_integer_value(json_object_get(pos, "x")) == 201 &&
                    json_integer_value(json_object_get(pos, "y")) == 121,
            "the pointer is at screen 201,121");
    json_decref(pos);
    /* A region off the origin. */
    CHECK_INT(post("/computeruse/mouse/click",
                      "{\"x\":10,\"y\":10,\"space\":{\"width\":100,\"height\":100},"
                      "\"region\":{\"x\":100,\"y\":50,\"width\":300,\"height\":300}}",
                      &reply),
            200);
    json_decref(reply);
    pos = get("/computeruse/mouse/position");
    CHECK(json_integer_value(json_object_get(pos, "x")) == 131 &&
                    json_integer_value(json_object_get(pos, "y")) == 81,
            "region 100,50 300x300 in a 100x100 space: 10,10 is screen 131,81");
    json_decref(pos);
    CHECK_INT(post("/computeruse/mouse/move",
                      "{\"x\":1,\"y\":1,\"region\":{\"x\":0,\"y\":0,"
                      "\"width\":5,\"height\":5}}",
                      &reply),
            400);
    json_decref(reply);
    /* The batch's space applies to its actions; one's own wins. */
    CHECK_INT(post("/computeruse/actions",
                      "{\"space\":{\"width\":640,\"height\":360},\"actions\":["
                      "{\"type\":\"move\",\"x\":80,\"y\":40},"
                      "{\"type\":\"move\",\"x\":150,\"y\":100,\"space\":{\"width\":1280,"
                      "\"height\":720}}]}",
                      &reply),
            200);
    json_t *res = json_object_get(reply, "results");
    CHECK(json_integer_value(json_object_get(json_array_get(res, 0), "x")) == 80 &&
                    json_integer_value(json_object_get(json_array_get(res, 1), "x")) == 150,
            "results in each action's space");
    json_decref(reply);
    pos = get("/computeruse/mouse/position");
    CHECK_INT(json_integer_value(json_object_get(pos, "x")), 150);
    json_decref(pos);
    if (collect()) {
        int found = 0;
        for (int i = 0; i < ev.nlines; i++)
            found += strcmp(ev.lines[i], "motion 161 81") == 0;
        CHECK(found == 1, "the batch's first move went to screen 161,81");
    }
}

/* ---- held keys and buttons: down routes, input/held, the timeout, input/release ---- */

static bool held_has(json_t *held, const char *list, const char *name) {
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(held, list), i, v) {
        if (strcmp(json_string_value(v), name) == 0)
            return true;
    }
    return false;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_held(void) {
    CHECK_INT(post("/computeruse/keyboard/down", "{\"key\":\"shift\"}", NULL), 200);
    double t0 = now_s();
    json_t *held = get("/computeruse/input/held");
    CHECK(held_has(held, "keys", "Shift_L"), "input/held lists Shift_L after keyboard/down");
    json_decref(held);
    /* Text is typed as given: the held Shift is lifted while it is typed. */
    CHECK_INT(post("/computeruse/keyboard/type", "{\"text\":\"a\"}", NULL), 200);
    /* Released by the hold timeout (deskd runs with DESK_HOLD_TIMEOUT=1) with no input. */
    bool released = false;
    double t1 = 0;
    while (!released && now_s() - t0 < 10) {
        held = get("/computeruse/input/held");
        released = held && !held_has(held, "keys", "Shift_L");
        json_decref(held);
        t1 = now_s();
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    CHECK(released && t1 - t0 >= 0.9, "the hold timeout released Shift after %.2f s", t1 - t0);
    check_nothing_held(dpy, "the hold timeout");
    if (collect()) {
        char *text = evproc_text(&ev);
        CHECK(text && strcmp(text, "a") == 0, "a typed with Shift held reads \"%s\"",
                text ? text : "");
        free(text);
    }

    CHECK_INT(post("/computeruse/keyboard/down", "{\"key\":\"ctrl\"}", NULL), 200);
    CHECK_INT(post("/computeruse/mouse/down", "{\"button\":\"left\",\"x\":300,\"y\":200}", NULL),
            200);
    CHECK_INT(post("/computeruse/mouse/down", "{\"button\":\"forward\"}", NULL), 200);
    held = get("/computeruse/input/held");
    CHECK(held_has(held, "keys", "Control_L") && held_has(held, "buttons", "left") &&
                    held_has(held, "buttons", "forward"),
            "input/held lists Control_L, left and forward");
    json_decref(held);
    /* Another client's key is listed too: whoever pressed it. */
    CHECK_INT(post("/computeruse/input/release", "{}", NULL), 200);
    held = get("/computeruse/input/held");
    CHECK(held && json_array_size(json_object_get(held, "keys")) == 0 &&
                    json_array_size(json_object_get(held, "buttons")) == 0,
            "input/release released everything");
    json_decref(held);
    check_nothing_held(dpy, "input/release");
    /* keyboard/up releases what keyboard/down held. */
    CHECK_INT(post("/computeruse/keyboard/down", "{\"key\":\"alt\"}", NULL), 200);
    CHECK_INT(post("/computeruse/keyboard/up", "{\"key\":\"alt\"}", NULL), 200);
    CHECK_INT(post("/computeruse/mouse/down", "{\"button\":\"right\"}", NULL), 200);
    CHECK_INT(post("/computeruse/mouse/up", "{\"button\":\"right\"}", NULL), 200);
    check_nothing_held(dpy, "down then up");
    if (collect()) {
        struct button_ev b[64];
        int n = buttons(b, 64);
        CHECK(n >= 6, "the down/up routes sent their presses and releases (%d)", n);
    }
}

/* ---- observe: a screenshot after the actions ---- */

static void test_observe(void) {
    json_t *reply = NULL;
    CHECK_INT(post("/computeruse/actions",
                      "{\"actions\":[{\"type\":\"move\",\"x\":5,\"y\":5}],\"observe\":{"
                      "\"screenshot\":{\"format\":\"jpeg\",\"quality\":70,\"scale\":0.5,"
                      "\"showCursor\":true}}}",
                      &reply),
            200);
    json_t *shot = json_object_get(reply, "screenshot");
    CHECK(json_integer_value(json_object_get(shot, "width")) == 640 &&
                    json_integer_value(json_object_get(shot, "height")) == 360 &&
                    !strcmp(json_string_value(json_object_get(shot, "format")), "jpeg") &&
                    json_string_length(json_object_get(shot, "screenshot")) > 100,
            "observe answers a 640x360 JPEG");
    json_t *cur = json_object_get(shot, "cursorPosition");
    CHECK(json_integer_value(json_object_get(cur, "x")) == 2, "the cursor in the image's space");
    json_decref(reply);
}

int main(void) {
    check_timeout(240);
    check_require_tool("Xvfb");
    struct xserver xs;
    if (xserver_start_xvfb(&xs, 1280, 720) < 0)
        return 1;
    dpy = XOpenDisplay(xs.name);
    setenv("DESK_HOLD_TIMEOUT", "1", 1);
    struct deskd_proc d;
    if (!dpy || evproc_start(&ev, xs.name, WIN_X, WIN_Y, WIN_W, WIN_H, "actions") < 0 ||
            deskd_start(&d, xs.name, NULL) < 0) {
        CHECK(false, "set-up failed");
        xserver_stop(&xs);
        return check_finish();
    }
    base = d.url;
    test_batch_order();
    test_bad_action();
    test_clicks_and_buttons();
    test_drag_path();
    test_coordinates();
    test_held();
    test_observe();
    test_failure_releases();
    check_nothing_held(dpy, "the whole run");
    CHECK_INT(deskd_stop(&d), 0);
    if (check_failed)
        deskd_dump_log(&d);
    evproc_stop(&ev);
    XCloseDisplay(dpy);
    xserver_stop(&xs);
    return check_finish();
}
