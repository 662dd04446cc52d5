/*
 * Frames, changes and waits end to end (API.md §7, §8): a private Xvfb, a real
 * deskd attached to it, and a test client that paints known rectangles on the
 * root window at known times. What deskd reports must be exactly what was
 * painted, when it was painted.
 */
#include <X11/Xlib.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "deskproc.h"
#include "http.h"
#include "shot.h"
#include "xserver.h"

#define W 640
#define H 480

static struct deskd_proc d;
static Display *dpy;
/*
 * How late a wait may return after the moment it should: 30 ms, what an agent would
 * notice. Under valgrind (memory errors, not latency, are what that run checks) deskd
 * runs some 30 times slower, and the bound is wider.
 */
static double slack_ms = 30;

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Sleeps until t0 + ms: the paint schedule, not a wait for a condition. */
static void at_ms(int64_t t0, int ms) {
    int64_t t = t0 + (int64_t)ms * 1000000;
    struct timespec ts = {(time_t)(t / 1000000000), (long)(t % 1000000000)};
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

/* Fills a root-window rectangle and returns once the server has done it. */
static void paint(int x, int y, int w, int h, unsigned long pixel) {
    GC gc = DefaultGC(dpy, DefaultScreen(dpy));
    XSetForeground(dpy, gc, pixel);
    XFillRectangle(dpy, DefaultRootWindow(dpy), gc, x, y, (unsigned)w, (unsigned)h);
    XSync(dpy, False);
}

static json_t *request(const char *method, const char *path, const char *body, long *status) {
    char url[512];
    snprintf(url, sizeof url, "%s%s", d.url, path);
    struct http_resp r;
    const char *headers[] = {"Content-Type: application/json", NULL};
    http_request(method, url, body, body ? headers : NULL, &r);
    *status = r.status;
    json_t *j = http_json(&r);
    http_resp_free(&r);
    return j;
}

static uint64_t jframe(json_t *j) {
    json_t *f = json_object_get(j, "frameId");
    return json_is_integer(f) ? (uint64_t)json_integer_value(f) : 0;
}

/* The current frame id (since=0 is always a valid, old, frame). */
static uint64_t frame_now(void) {
    long st;
    json_t *j = request("GET", "/computeruse/screen/changes?since=0", NULL, &st);
    uint64_t f = jframe(j);
    json_decref(j);
    return f;
}

/* Checks that the answer's "regions" are exactly want (n of them, x y w h each), in order. */
static void check_regions(json_t *j, const int (*want)[4], int n, const char *what) {
    json_t *regs = json_object_get(j, "regions");
    CHECK(json_is_array(regs) && (int)json_array_size(regs) == n, "%s: %d regions, got %s", what, n,
            regs ? json_dumps(regs, JSON_COMPACT) : "none");
    for (int i = 0; i < n && json_is_array(regs) && (size_t)i < json_array_size(regs); i++) {
        json_t *r = json_array_get(regs, (size_t)i);
        int got[4] = {(int)json_integer_value(json_object_get(r, "x")),
                (int)json_integer_value(json_object_get(r, "y")),
                (int)json_integer_value(json_object_get(r, "width")),
                (int)json_integer_value(json_object_get(r, "height"))};
        CHECK(memcmp(got, want[i], sizeof got) == 0,
                "%s: region %d is %d,%d %dx%d, want %d,%d %dx%d", what, i, got[0], got[1], got[2],
                got[3], want[i][0], want[i][1], want[i][2], want[i][3]);
    }
}

static void test_changes(void) {
    uint64_t f0 = frame_now();
    CHECK(f0 > 0, "a frame id");
    paint(10, 20, 30, 40, 0xff0000);
    paint(200, 100, 50, 60, 0x00ff00);
    paint(30, 40, 40, 40, 0x0000ff);   /* overlaps the first: one box */
    paint(250, 100, 10, 10, 0xffff00); /* shares the second's right edge: one box */
    paint(400, 400, 10, 10, 0x00ffff); /* touches nothing */
    char path[128];
    snprintf(path, sizeof path, "/computeruse/screen/changes?since=%llu", (unsigned long long)f0);
    long st;
    json_t *j = request("GET", path, NULL, &st);
    CHECK_INT(st, 200);
    const int want[][4] = {{10, 20, 60, 60}, {200, 100, 60, 60}, {400, 400, 10, 10}};
    check_regions(j, want, 3, "painted rectangles, merged");
    CHECK(json_is_true(json_object_get(j, "changed")), "changed");
    CHECK(json_is_true(json_object_get(j, "complete")), "complete");
    uint64_t f1 = jframe(j);
    CHECK(f1 > f0, "frame grew: %llu > %llu", (unsigned long long)f1, (unsigned long long)f0);
    json_decref(j);

    /* Nothing since: no change, the same frame. Clipped to the screen. */
    snprintf(path, sizeof path, "/computeruse/screen/changes?since=%llu", (unsigned long long)f1);
    j = request("GET", path, NULL, &st);
    CHECK(json_is_false(json_object_get(j, "changed")), "no change since the last frame");
    check_regions(j, NULL, 0, "nothing painted");
    CHECK(jframe(j) == f1, "same frame while nothing changes");
    json_decref(j);
    paint(W - 5, H - 5, 50, 50, 0xffffff);
    j = request("GET", path, NULL, &st);
    const int clipped[][4] = {{W - 5, H - 5, 5, 5}};
    check_regions(j, clipped, 1, "clipped to the screen");
    json_decref(j);

    /* Drawing inside a window (not the root) is a change of the screen too. */
    XSetWindowAttributes wa = {.override_redirect = True, .background_pixel = 0x336699};
    Window win = XCreateWindow(dpy, DefaultRootWindow(dpy), 300, 200, 50, 40, 0, CopyFromParent,
            InputOutput, CopyFromParent, CWOverrideRedirect | CWBackPixel, &wa);
    XMapRaised(dpy, win);
    XSync(dpy, False);
    j = request("POST", "/computeruse/wait", "{\"until\":\"stable\",\"stableMs\":50}", &st);
    uint64_t fw = jframe(j);
    json_decref(j);
    GC gc = DefaultGC(dpy, DefaultScreen(dpy));
    XSetForeground(dpy, gc, 0xffffff);
    XFillRectangle(dpy, win, gc, 5, 6, 10, 11);
    XSync(dpy, False);
    snprintf(path, sizeof path, "/computeruse/screen/changes?since=%llu", (unsigned long long)fw);
    j = request("GET", path, NULL, &st);
    const int in_window[][4] = {{305, 206, 10, 11}};
    check_regions(j, in_window, 1, "a paint inside a window, in screen coordinates");
    json_decref(j);
    XDestroyWindow(dpy, win);
    XSync(dpy, False);

    /* More rectangles than the history holds: incomplete, the whole screen. */
    uint64_t f2 = frame_now();
    for (int i = 0; i < 5000; i++) {
        XFillRectangle(dpy, DefaultRootWindow(dpy), gc, (i * 7) % W, (i * 13) % H, 1, 1);
        XFlush(dpy); /* else Xlib joins them into one request, and one damage event */
    }
    XSync(dpy, False);
    snprintf(path, sizeof path, "/computeruse/screen/changes?since=%llu", (unsigned long long)f2);
    j = request("GET", path, NULL, &st);
    CHECK(json_is_false(json_object_get(j, "complete")), "history overflowed: incomplete");
    const int whole[][4] = {{0, 0, W, H}};
    check_regions(j, whole, 1, "incomplete answers the whole screen");
    json_decref(j);
}

/* GET with optional ifChangedSince; returns the status and the X-Desk-Frame header. */
static long shot_status(const char *query, uint64_t since, uint64_t *frame) {
    char url[512], hdr[32];
    if (since)
        snprintf(url, sizeof url, "%s%s&ifChangedSince=%llu", d.url, query,
                (unsigned long long)since);
    else
        snprintf(url, sizeof url, "%s%s", d.url, query);
    struct http_resp r;
    const char *accept[] = {"Accept: image/png", NULL};
    http_request("GET", url, NULL, accept, &r);
    *frame = 0;
    if (http_header(&r, "X-Desk-Frame", hdr, sizeof hdr))
        *frame = strtoull(hdr, NULL, 10);
    long st = r.status;
    if (st == 304)
        CHECK(r.len == 0, "a 304 has no body (%zu bytes)", r.len);
    http_resp_free(&r);
    return st;
}

static void test_if_changed(void) {
    const char *q = "/computeruse/screenshot/region?x=0&y=0&width=100&height=100";
    struct shot s;
    uint64_t f = 0, g;
    uint8_t first[3] = {0};
    if (shot_get(d.url, q, &s) == 0) {
        f = s.frame;
        memcpy(first, image_px(&s.img, 52, 52), 3);
    }
    shot_free(&s);
    CHECK(f > 0, "the JSON answer carries frameId");
    CHECK_INT(shot_status(q, f, &g), 304);
    CHECK(g >= f, "304 carries X-Desk-Frame");
    paint(300, 300, 10, 10, 0x123456); /* outside the region */
    CHECK_INT(shot_status(q, f, &g), 304);
    /* The same parameters again: the kept image, still right. */
    if (shot_get(d.url, q, &s) == 0) {
        CHECK(s.frame > f, "a later frame names the same pixels");
        CHECK(memcmp(image_px(&s.img, 52, 52), first, 3) == 0, "the same pixels");
    }
    shot_free(&s);
    paint(50, 50, 5, 5, 0x00ff00); /* inside */
    CHECK_INT(shot_status(q, f, &g), 200);
    CHECK(g > f, "200 after the change, with a later frame");
    if (shot_get(d.url, q, &s) == 0) {
        const uint8_t *p = image_px(&s.img, 52, 52);
        CHECK(p[0] == 0 && p[1] == 255 && p[2] == 0, "the kept image was replaced: %d,%d,%d", p[0],
                p[1], p[2]);
    }
    shot_free(&s);
    paint(50, 50, 5, 5, 0xff00ff);
    if (shot_get(d.url, q, &s) == 0) {
        const uint8_t *p = image_px(&s.img, 52, 52);
        CHECK(p[0] == 255 && p[1] == 0 && p[2] == 255,
                "a changed region is captured again: %d,%d,%d", p[0], p[1], p[2]);
    }
    shot_free(&s);

    /* Pointer motion alone is not a change, but it is for showCursor. */
    const char *full = "/computeruse/screenshot?x=1";
    const char *cur = "/computeruse/screenshot?showCursor=true";
    shot_status(full, 0, &f);
    shot_status(cur, 0, &g);
    XWarpPointer(dpy, None, DefaultRootWindow(dpy), 0, 0, 0, 0, 111,
            222); /* Xvfb starts it in the middle */
    XSync(dpy, False);
    uint64_t h;
    CHECK_INT(shot_status(full, f, &h), 304);
    CHECK_INT(shot_status(cur, g, &h), 200);
    CHECK_INT(shot_status(cur, h, &h), 304);
}

struct waiter {
    const char *path; /* /computeruse/wait, or the batch route */
    const char *body;
    pthread_t thread;
    json_t *answer;
    long status;
    int64_t done_ns;
};

static void *wait_thread(void *arg) {
    struct waiter *w = arg;
    w->answer = request("POST", w->path, w->body, &w->status);
    w->done_ns = now_ns();
    return NULL;
}

static void waiter_start(struct waiter *w, const char *body) {
    memset(w, 0, sizeof *w);
    w->path = "/computeruse/wait";
    w->body = body;
    pthread_create(&w->thread, NULL, wait_thread, w);
}

static void test_wait(void) {
    struct waiter w;
    char body[256];

    /* stable: returns stableMs after the last paint, not much later. */
    waiter_start(&w, "{\"until\":\"stable\",\"stableMs\":200,\"timeoutMs\":5000}");
    int64_t t0 = now_ns(), last = 0;
    for (int i = 1; i <= 4; i++) {
        at_ms(t0, 60 * i);
        paint(100 + 20 * i, 100, 10, 10, 0x808080);
        last = now_ns();
    }
    pthread_join(w.thread, NULL);
    double after = (double)(w.done_ns - last) / 1e6;
    CHECK_INT(w.status, 200);
    CHECK(json_is_true(json_object_get(w.answer, "stable")), "stable");
    CHECK(json_is_true(json_object_get(w.answer, "changed")), "changed during the wait");
    CHECK(json_is_false(json_object_get(w.answer, "timedOut")), "not timed out");
    CHECK(after >= 195 && after <= 200 + slack_ms,
            "stable 200 ms returned %.1f ms after the last paint", after);
    const int painted[][4] = {
            {120, 100, 10, 10}, {140, 100, 10, 10}, {160, 100, 10, 10}, {180, 100, 10, 10}};
    check_regions(w.answer, painted, 4, "what changed during the stable wait");
    json_decref(w.answer);

    /* changed: returns right after the paint. */
    uint64_t f = frame_now();
    snprintf(body, sizeof body, "{\"until\":\"changed\",\"since\":%llu,\"timeoutMs\":5000}",
            (unsigned long long)f);
    waiter_start(&w, body);
    t0 = now_ns();
    at_ms(t0, 150);
    paint(5, 5, 3, 3, 0x111111);
    int64_t painted_at = now_ns();
    pthread_join(w.thread, NULL);
    after = (double)(w.done_ns - painted_at) / 1e6;
    CHECK_INT(w.status, 200);
    CHECK(json_is_true(json_object_get(w.answer, "changed")), "changed");
    CHECK(after <= slack_ms, "changed returned %.1f ms after the paint", after);
    const int small[][4] = {{5, 5, 3, 3}};
    check_regions(w.answer, small, 1, "what changed");
    json_decref(w.answer);

    /* A region wait ignores paints outside it, and a timeout is a 200 with timedOut. */
    waiter_start(&w, "{\"until\":\"changed\",\"timeoutMs\":400,"
                     "\"region\":{\"x\":0,\"y\":0,\"width\":100,\"height\":100}}");
    t0 = now_ns();
    at_ms(t0, 100);
    paint(300, 300, 20, 20, 0x222222);
    pthread_join(w.thread, NULL);
    CHECK_INT(w.status, 200);
    CHECK(json_is_true(json_object_get(w.answer, "timedOut")), "timed out");
    CHECK(json_is_false(json_object_get(w.answer, "changed")), "outside paints ignored");
    CHECK(json_integer_value(json_object_get(w.answer, "waitedMs")) >= 400, "waited the timeout");
    json_decref(w.answer);

    waiter_start(&w, "{\"until\":\"changed\",\"timeoutMs\":5000,"
                     "\"region\":{\"x\":0,\"y\":0,\"width\":100,\"height\":100}}");
    t0 = now_ns();
    at_ms(t0, 100);
    paint(300, 300, 20, 20, 0x333333);
    at_ms(t0, 200);
    paint(90, 90, 20, 20, 0x444444);
    painted_at = now_ns();
    pthread_join(w.thread, NULL);
    after = (double)(w.done_ns - painted_at) / 1e6;
    CHECK(json_is_true(json_object_get(w.answer, "changed")), "changed inside the region");
    CHECK(after <= slack_ms, "region wait returned %.1f ms after the inside paint", after);
    const int inside[][4] = {{90, 90, 10, 10}};
    check_regions(w.answer, inside, 1, "changes clipped to the region");
    json_decref(w.answer);

    /* stable in a region that others keep painting outside of. */
    waiter_start(&w, "{\"until\":\"stable\",\"stableMs\":100,\"timeoutMs\":2000,"
                     "\"region\":{\"x\":0,\"y\":0,\"width\":100,\"height\":100}}");
    t0 = now_ns();
    for (int i = 1; i <= 5; i++) {
        at_ms(t0, 40 * i);
        paint(400, 400, 10, 10, 0x010101 * (unsigned)i);
    }
    pthread_join(w.thread, NULL);
    after = (double)(w.done_ns - t0) / 1e6;
    CHECK(json_is_true(json_object_get(w.answer, "stable")), "region stable");
    CHECK(after < 130 + slack_ms, "outside paints did not delay the stable region: %.1f ms", after);
    json_decref(w.answer);

    /* A client that hangs up ends its wait: deskd stays responsive and alive. */
    char url[256];
    snprintf(url, sizeof url, "%s/computeruse/wait", d.url);
    for (int i = 0; i < 3; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            execlp("curl", "curl", "-s", "-m", "0.2", "-XPOST", "-d",
                    "{\"until\":\"changed\",\"timeoutMs\":60000,\"region\":{\"x\":0,\"y\":0,"
                    "\"width\":1,\"height\":1}}",
                    url, (char *)NULL);
            _exit(127);
        }
        waitpid(pid, NULL, 0);
    }
    long st;
    json_t *j = request("POST", "/computeruse/wait", "{\"until\":\"stable\",\"stableMs\":10}", &st);
    CHECK_INT(st, 200);
    json_decref(j);
}

static void test_bad_input(void) {
    static const struct {
        const char *method, *path, *body, *name;
    } cases[] = {
            {"GET", "/computeruse/screen/changes", NULL, "since"},
            {"GET", "/computeruse/screen/changes?since=abc", NULL, "since"},
            {"GET", "/computeruse/screen/changes?since=-1", NULL, "since"},
            {"GET", "/computeruse/screen/changes?since=9000000000000000000", NULL, "since"},
            {"GET", "/computeruse/screenshot?ifChangedSince=1.5", NULL, "ifChangedSince"},
            {"GET", "/computeruse/screenshot?ifChangedSince=9000000000000000000", NULL,
                    "ifChangedSince"},
            {"GET", "/computeruse/screenshot/compressed?fit=xga&scale=0.5", NULL, "scale"},
            {"GET", "/computeruse/screenshot/compressed?fit=vga", NULL, "fit"},
            {"GET", "/computeruse/screenshot?maxLongEdge=0", NULL, "maxLongEdge"},
            {"GET", "/computeruse/screenshot?maxPixels=x", NULL, "maxPixels"},
            {"POST", "/computeruse/wait", "{}", "until"},
            {"POST", "/computeruse/wait", "{\"until\":\"settled\"}", "until"},
            {"POST", "/computeruse/wait", "{\"until\":\"stable\",\"stableMs\":9}", "stableMs"},
            {"POST", "/computeruse/wait", "{\"until\":\"stable\",\"stableMs\":10001}", "stableMs"},
            {"POST", "/computeruse/wait", "{\"until\":\"stable\",\"timeoutMs\":0}", "timeoutMs"},
            {"POST", "/computeruse/wait", "{\"until\":\"stable\",\"timeoutMs\":60001}",
                    "timeoutMs"},
            {"POST", "/computeruse/wait", "{\"until\":\"changed\",\"since\":\"1\"}", "since"},
            {"POST", "/computeruse/wait", "{\"until\":\"changed\",\"since\":9000000000000000000}",
                    "since"},
            {"POST", "/computeruse/wait",
                    "{\"until\":\"changed\",\"region\":{\"x\":0,\"y\":0,\"width\":0,\"height\":5}}",
                    "region.width"},
            {"POST", "/computeruse/wait", "{\"until\":\"changed\",\"region\":[1]}", "region"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        long st;
        json_t *j = request(cases[i].method, cases[i].path, cases[i].body, &st);
        const char *msg = json_string_value(json_object_get(j, "message"));
        CHECK(st == 400 && msg && strstr(msg, cases[i].name), "%s %s %s: %ld %s", cases[i].method,
                cases[i].path, cases[i].body ? cases[i].body : "", st, msg ? msg : "");
        json_decref(j);
    }
}

static void test_fit(void) {
    static const struct {
        const char *query;
        int w, h;
    } cases[] = {
            {"/computeruse/screenshot/compressed?fit=xga", W, H}, /* never upscaled */
            {"/computeruse/screenshot/compressed?maxLongEdge=320", 320, 240},
            {"/computeruse/screenshot?maxPixels=7500", 100, 75},
            {"/computeruse/screenshot/region?x=0&y=0&width=400&height=100&maxLongEdge=200", 200,
                    50},
            {"/computeruse/screenshot/region/compressed?x=0&y=0&width=100&height=400&fit=xga&"
             "maxPixels=2500&format=jpeg",
                    25, 100},
            {"/computeruse/screenshot/compressed?scale=0.5", W / 2, H / 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char url[512];
        snprintf(url, sizeof url, "%s%s", d.url, cases[i].query);
        struct http_resp r;
        http_get(url, &r);
        json_t *j = http_json(&r);
        json_t *sp = json_object_get(j, "space");
        CHECK(r.status == 200 && json_integer_value(json_object_get(j, "width")) == cases[i].w &&
                        json_integer_value(json_object_get(j, "height")) == cases[i].h,
                "%s: %ld, %lldx%lld, want %dx%d", cases[i].query, r.status,
                json_integer_value(json_object_get(j, "width")),
                json_integer_value(json_object_get(j, "height")), cases[i].w, cases[i].h);
        CHECK(json_integer_value(json_object_get(sp, "width")) == cases[i].w &&
                        json_integer_value(json_object_get(sp, "height")) == cases[i].h,
                "%s: space is the image size", cases[i].query);
        json_decref(j);
        http_resp_free(&r);
    }
    /* Unscaled answers carry no space. */
    struct http_resp r;
    char url[256];
    snprintf(url, sizeof url, "%s/computeruse/screenshot", d.url);
    http_get(url, &r);
    json_t *j = http_json(&r);
    CHECK(!json_object_get(j, "space"), "no space without scale or fit");
    json_decref(j);
    http_resp_free(&r);
}

/* A batch's observe: settle on damage (§8), then a fitted screenshot (§10). */
static void test_observe(void) {
    long st;
    struct waiter w;
    waiter_start(&w, "{\"until\":\"changed\",\"timeoutMs\":5000}");
    json_t *j = request("POST", "/computeruse/actions",
            "{\"actions\":[{\"type\":\"move\",\"x\":20,\"y\":30}],\"observe\":{\"settle\":{"
            "\"stableMs\":100,\"timeoutMs\":3000},\"screenshot\":{\"maxLongEdge\":320,"
            "\"format\":\"png\"}}}",
            &st);
    /* Pointer motion alone is no change: the waiter above is still waiting. Paint to end it. */
    paint(1, 1, 2, 2, 0x777777);
    pthread_join(w.thread, NULL);
    const int painted[][4] = {{1, 1, 2, 2}};
    check_regions(w.answer, painted, 1, "the batch's pointer move was no change; the paint was");
    json_decref(w.answer);
    json_t *settle = json_object_get(j, "settle"), *shot = json_object_get(j, "screenshot");
    CHECK_INT(st, 200);
    CHECK(json_is_true(json_object_get(settle, "stable")) &&
                    json_integer_value(json_object_get(settle, "waitedMs")) >= 100,
            "observe.settle waited for a stable screen: %s",
            settle ? json_dumps(settle, JSON_COMPACT) : "none");
    CHECK(json_integer_value(json_object_get(shot, "width")) == 320 &&
                    json_integer_value(json_object_get(shot, "height")) == 240 &&
                    json_integer_value(json_object_get(json_object_get(shot, "space"), "width")) ==
                            320,
            "observe.screenshot fitted to 320x240");
    CHECK(jframe(j) > 0 && jframe(j) == jframe(shot), "the batch's frameId is its screenshot's");
    json_decref(j);
}

/*
 * A batch's wait action with until: the actions after it run only once the
 * screen changed in its region, and its result is the §8 answer.
 */
static void test_batch_wait(void) {
    struct waiter w;
    memset(&w, 0, sizeof w);
    w.path = "/computeruse/actions";
    w.body = "{\"actions\":[{\"type\":\"move\",\"x\":5,\"y\":5},"
             "{\"type\":\"wait\",\"until\":\"changed\",\"timeoutMs\":5000,"
             "\"region\":{\"x\":0,\"y\":0,\"width\":100,\"height\":100}},"
             "{\"type\":\"move\",\"x\":77,\"y\":66}]}";
    pthread_create(&w.thread, NULL, wait_thread, &w);
    int64_t t0 = now_ns();
    at_ms(t0, 100);
    paint(300, 300, 20, 20, 0x555555); /* outside: the batch keeps waiting */
    Window root, child;
    int rx = -1, ry = -1, wx, wy;
    unsigned mask;
    at_ms(t0, 250);
    XQueryPointer(dpy, DefaultRootWindow(dpy), &root, &child, &rx, &ry, &wx, &wy, &mask);
    CHECK(rx == 5 && ry == 5, "the move after the wait waits too: pointer at %d,%d", rx, ry);
    paint(40, 40, 8, 8, 0x666666);
    int64_t painted_at = now_ns();
    pthread_join(w.thread, NULL);
    double after = (double)(w.done_ns - painted_at) / 1e6;
    CHECK_INT(w.status, 200);
    json_t *res = json_object_get(w.answer, "results");
    json_t *waited = json_array_get(res, 1);
    CHECK(json_is_true(json_object_get(waited, "changed")) &&
                    json_is_false(json_object_get(waited, "timedOut")),
            "the wait action's answer says changed");
    const int inside[][4] = {{40, 40, 8, 8}};
    check_regions(waited, inside, 1, "the wait action's regions");
    CHECK(json_integer_value(json_object_get(json_array_get(res, 2), "x")) == 77,
            "the last move ran after the wait");
    CHECK(after <= slack_ms + 20, "the batch answered %.1f ms after the inside paint", after);
    json_decref(w.answer);

    long st;
    json_t *j = request("POST", "/computeruse/actions",
            "{\"actions\":[{\"type\":\"wait\",\"until\":\"soon\"}]}", &st);
    CHECK_INT(st, 400);
    const char *msg = json_string_value(json_object_get(j, "message"));
    CHECK(msg && strstr(msg, "actions[0].until must be \"stable\" or \"changed\""),
            "a bad until names the action: %s", msg ? msg : "(none)");
    json_decref(j);
    j = request("POST", "/computeruse/actions",
            "{\"actions\":[{\"type\":\"wait\",\"until\":\"stable\",\"ms\":5}]}", &st);
    CHECK_INT(st, 400);
    json_decref(j);
    /* A since no frame had yet is refused before the move ahead of it runs. */
    j = request("POST", "/computeruse/actions",
            "{\"actions\":[{\"type\":\"move\",\"x\":33,\"y\":44},{\"type\":\"wait\","
            "\"until\":\"changed\",\"since\":9000000000000000000}]}",
            &st);
    CHECK_INT(st, 400);
    msg = json_string_value(json_object_get(j, "message"));
    CHECK(msg && strstr(msg, "actions[1].since must be a frame id"), "a future since: %s",
            msg ? msg : "(none)");
    json_decref(j);
    XQueryPointer(dpy, DefaultRootWindow(dpy), &root, &child, &rx, &ry, &wx, &wy, &mask);
    CHECK(rx != 33 || ry != 44, "nothing ran: the pointer is at %d,%d", rx, ry);
}

/* The X server dies and comes back; then deskd itself restarts. Frame ids only grow. */
static void test_restart(struct xserver *xs) {
    uint64_t before = frame_now();
    XCloseDisplay(dpy);
    kill(xs->pid, SIGKILL);
    waitpid(xs->pid, NULL, 0);
    xs->pid = 0;
    long st;
    json_t *j = request("GET", "/computeruse/screen/changes?since=0", NULL, &st);
    CHECK_INT(st, 503);
    json_decref(j);
    char disp[16];
    snprintf(disp, sizeof disp, ":%d", xs->number);
    const char *argv[] = {
            "Xvfb", disp, "-screen", "0", "640x480x24", "-nolisten", "tcp", "-noreset", NULL};
    CHECK_INT(xserver_start(xs, argv, NULL), 0);
    dpy = XOpenDisplay(xs->name);
    if (!dpy)
        return;
    uint64_t after = frame_now();
    CHECK(after > before, "frame after the X restart %llu > %llu", (unsigned long long)after,
            (unsigned long long)before);
    char path[128];
    snprintf(path, sizeof path, "/computeruse/screen/changes?since=%llu",
            (unsigned long long)before);
    j = request("GET", path, NULL, &st);
    CHECK(json_is_false(json_object_get(j, "complete")),
            "a frame from before the restart: incomplete");
    json_decref(j);
    paint(7, 8, 9, 10, 0xabcdef);
    snprintf(
            path, sizeof path, "/computeruse/screen/changes?since=%llu", (unsigned long long)after);
    j = request("GET", path, NULL, &st);
    const int one[][4] = {{7, 8, 9, 10}};
    check_regions(j, one, 1, "damage followed after the X restart");
    json_decref(j);

    uint64_t last = frame_now();
    CHECK_INT(deskd_stop(&d), 0);
    if (deskd_start(&d, xs->name, NULL) < 0) {
        CHECK(false, "deskd restarted");
        return;
    }
    uint64_t next = frame_now();
    CHECK(next > last, "frame after the deskd restart %llu > %llu", (unsigned long long)next,
            (unsigned long long)last);
}

int main(void) {
    check_timeout(120);
    check_require_tool("Xvfb");
    check_require_tool("curl");
    if (getenv("DESK_TEST_VALGRIND"))
        slack_ms = 500;
    struct xserver xs;
    if (xserver_start_xvfb_own(&xs, W, H) < 0) /* restarted on its number later */
        return 1;
    dpy = XOpenDisplay(xs.name);
    if (!dpy || deskd_start(&d, xs.name, NULL) < 0) {
        CHECK(false, "Xvfb and deskd started");
        xserver_stop(&xs);
        return check_finish();
    }
    test_changes();
    test_if_changed();
    test_wait();
    test_bad_input();
    test_fit();
    test_observe();
    test_batch_wait();
    test_restart(&xs);
    CHECK_INT(deskd_stop(&d), 0);
    if (check_failed)
        deskd_dump_log(&d);
    if (dpy)
        XCloseDisplay(dpy);
    xserver_stop(&xs);
    return check_finish();
}
