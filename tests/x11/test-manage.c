/*
 * test-manage: the window actions, the clipboard and launched programs of
 * API.md §12, against deskd attached to the test's own Xvfb with a real
 * window manager (xfwm4). What is checked is what another X client sees:
 *
 * - each window action through deskd, then the window's EWMH state, WM_STATE,
 *   _NET_ACTIVE_WINDOW and frame geometry read on the test's own connection;
 *   close removes a window (its client is gone); a window that ignores
 *   WM_DELETE_WINDOW is a 504 after about 2 s, not a hang, and three such
 *   closes at once are three 504s after about 2 s (none waits for the
 *   others' connection);
 * - clipboard round trips with clipc, the tests' own selection client, both
 *   ways: ASCII, "héllo ✓ 日本語", 2 MiB (INCR) and 16 MiB;
 * - a launched program (evlog) with its window matched by pid; kill of one
 *   that ignores SIGTERM ends it within 3.5 s;
 * - the bad inputs of each route: a 400 naming the parameter, nothing done;
 * - the same through libdesk and the desk CLI.
 *
 * Prints the p50 of "action to visible change" and the time of a 2 MiB
 * clipboard set plus an independent read.
 */
#define _GNU_SOURCE
#include <X11/Xatom.h>
#include <X11/Xlib.h>
#include <X11/Xutil.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "desk/desk.h"
#include "deskproc.h"
#include "evproc.h"
#include "http.h"
#include "xserver.h"

#define SCREEN_W 1280
#define SCREEN_H 720

static Display *dpy;
static struct deskd_proc d;
static bool valgrind; /* deskd runs under valgrind (the valgrind build's tests) */
static char display_name[32];

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A request to deskd; returns the status and the parsed body in *json (may be NULL). */
static long call(
        const char *method, const char *path, const char *body, json_t **json, double *ms) {
    char url[512];
    snprintf(url, sizeof url, "%s%s", d.url, path);
    static const char *const headers[] = {"Content-Type: application/json", NULL};
    struct http_resp r;
    http_request(method, url, body, body ? headers : NULL, &r);
    if (json)
        *json = http_json(&r);
    if (ms)
        *ms = r.ms;
    long status = r.status;
    if (status >= 400 && status != 404 && status != 504)
        fprintf(stderr, "  %s %s: %ld %s\n", method, path, status, r.body ? r.body : "");
    http_resp_free(&r);
    return status;
}

static const char *code_of(json_t *j) {
    return json_string_value(json_object_get(j, "code"));
}

static const char *message_of(json_t *j) {
    const char *m = json_string_value(json_object_get(j, "message"));
    return m ? m : "";
}

/* ---- the window as the test's own X connection sees it ---- */

static Atom atom(const char *name) {
    return XInternAtom(dpy, name, False);
}

static bool has_state(Window w, const char *name) {
    Atom type;
    int format;
    unsigned long n, after;
    unsigned char *data = NULL;
    bool found = false;
    if (XGetWindowProperty(dpy, w, atom("_NET_WM_STATE"), 0, 64, False, XA_ATOM, &type, &format, &n,
                &after, &data) == Success &&
            data) {
        for (unsigned long i = 0; i < n; i++)
            found = found || ((Atom *)data)[i] == atom(name);
    }
    if (data)
        XFree(data);
    return found;
}

static long wm_state(Window w) {
    Atom type;
    int format;
    unsigned long n, after;
    unsigned char *data = NULL;
    long v = -1;
    if (XGetWindowProperty(dpy, w, atom("WM_STATE"), 0, 2, False, atom("WM_STATE"), &type, &format,
                &n, &after, &data) == Success &&
            data && n >= 1)
        v = ((long *)data)[0];
    if (data)
        XFree(data);
    return v;
}

static Window root_window_prop(const char *name) {
    Atom type;
    int format;
    unsigned long n, after;
    unsigned char *data = NULL;
    Window v = None;
    if (XGetWindowProperty(dpy, DefaultRootWindow(dpy), atom(name), 0, 1, False, XA_WINDOW, &type,
                &format, &n, &after, &data) == Success &&
            data && n == 1)
        v = *(Window *)data;
    if (data)
        XFree(data);
    return v;
}

static bool managed(Window w) {
    Atom type;
    int format;
    unsigned long n, after;
    unsigned char *data = NULL;
    bool found = false;
    if (XGetWindowProperty(dpy, DefaultRootWindow(dpy), atom("_NET_CLIENT_LIST"), 0, 1024, False,
                XA_WINDOW, &type, &format, &n, &after, &data) == Success &&
            data) {
        for (unsigned long i = 0; i < n; i++)
            found = found || ((Window *)data)[i] == w;
    }
    if (data)
        XFree(data);
    return found;
}

static Window frame_of(Window w) {
    Window root = DefaultRootWindow(dpy), frame = w;
    for (;;) {
        Window r, parent = None, *kids = NULL;
        unsigned n;
        if (!XQueryTree(dpy, frame, &r, &parent, &kids, &n))
            return frame;
        if (kids)
            XFree(kids);
        if (parent == root || parent == None)
            return frame;
        frame = parent;
    }
}

struct rect {
    int x, y, w, h;
};

static struct rect frame_rect(Window w) {
    XWindowAttributes wa;
    Window f = frame_of(w), child;
    struct rect r = {0};
    XGetWindowAttributes(dpy, f, &wa);
    XTranslateCoordinates(dpy, f, DefaultRootWindow(dpy), 0, 0, &r.x, &r.y, &child);
    r.x -= wa.border_width;
    r.y -= wa.border_width;
    r.w = wa.width + 2 * wa.border_width;
    r.h = wa.height + 2 * wa.border_width;
    return r;
}

static bool json_has_state(json_t *w, const char *name) {
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(w, "states"), i, v) {
        if (strcmp(json_string_value(v), name) == 0)
            return true;
    }
    return false;
}

/* Polls a condition every 10 ms for up to ms (used only for set-up, before deskd acts). */
static void sleep_ms(int ms) {
    struct timespec ts = {0, (long)ms * 1000000L};
    nanosleep(&ts, NULL);
}
#define WAIT_FOR(cond, ms)                                                                         \
    do {                                                                                           \
        for (int waited_ = 0; !(cond) && waited_ < (ms); waited_ += 10)                            \
            sleep_ms(10);                                                                          \
    } while (0)

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static long window_action(Window w, const char *what, const char *body, json_t **out, double *ms) {
    char path[128];
    snprintf(path, sizeof path, "/computeruse/windows/%lu/%s", (unsigned long)w, what);
    return call("POST", path, body ? body : "{}", out, ms);
}

static void test_list(Window a) {
    json_t *j = NULL;
    CHECK_INT(call("GET", "/computeruse/display/windows?type=normal", NULL, &j, NULL), 200);
    json_t *w;
    size_t i;
    bool found = false;
    json_array_foreach(json_object_get(j, "windows"), i, w) {
        CHECK_STR(json_string_value(json_object_get(w, "type")), "normal");
        CHECK(json_is_array(json_object_get(w, "states")), "states is a list");
        found = found || (Window)json_integer_value(json_object_get(w, "id")) == a;
    }
    CHECK(found, "the evlog window is a normal window");
    json_decref(j);
    CHECK_INT(call("GET", "/computeruse/display/windows?type=splash", NULL, &j, NULL), 200);
    CHECK_INT(json_integer_value(json_object_get(j, "count")), 0);
    json_decref(j);
    CHECK_INT(call("GET", "/computeruse/display/windows?type=bogus", NULL, &j, NULL), 400);
    CHECK(strstr(message_of(j), "type must be one of"), "names the parameter: %s", message_of(j));
    json_decref(j);
}

static void test_actions(Window a, Window b) {
    json_t *j = NULL;
    /* Activate, back and forth: each answer comes once the other client sees it. */
    double ms[20];
    int n = 0;
    for (int i = 0; i < 20; i++) {
        Window w = i % 2 ? a : b;
        long st = window_action(w, "activate", NULL, &j, &ms[n]);
        CHECK(st == 200 && root_window_prop("_NET_ACTIVE_WINDOW") == w,
                "activate %d: %ld, active is 0x%lx, want 0x%lx", i, st,
                root_window_prop("_NET_ACTIVE_WINDOW"), w);
        CHECK(json_is_true(json_object_get(j, "isActive")), "the answer says it is active");
        n += st == 200;
        json_decref(j);
    }
    qsort(ms, (size_t)n, sizeof ms[0], cmp_double);
    if (n)
        printf("activate to visible change: p50 %.1f ms, p95 %.1f ms (n=%d)\n", ms[n / 2],
                ms[n * 95 / 100 < n ? n * 95 / 100 : n - 1], n);

    CHECK_INT(window_action(a, "maximize", NULL, &j, &ms[0]), 200);
    CHECK(has_state(a, "_NET_WM_STATE_MAXIMIZED_VERT") &&
                    has_state(a, "_NET_WM_STATE_MAXIMIZED_HORZ"),
            "maximized in _NET_WM_STATE");
    CHECK(json_has_state(j, "maximized"), "the answer says maximized");
    struct rect f = frame_rect(a);
    CHECK(f.w >= SCREEN_W - 4, "the maximized frame is as wide as the screen: %d", f.w);
    CHECK_INT(json_integer_value(json_object_get(j, "width")), f.w);
    json_decref(j);
    printf("maximize to visible change: %.1f ms\n", ms[0]);

    CHECK_INT(window_action(a, "restore", NULL, &j, NULL), 200);
    CHECK(!has_state(a, "_NET_WM_STATE_MAXIMIZED_VERT") &&
                    !has_state(a, "_NET_WM_STATE_MAXIMIZED_HORZ"),
            "not maximized after restore");
    CHECK(!json_has_state(j, "maximized"), "the answer says not maximized");
    CHECK(frame_rect(a).w < SCREEN_W - 100, "the frame is back to its size");
    json_decref(j);

    CHECK_INT(window_action(a, "minimize", NULL, &j, &ms[0]), 200);
    CHECK_INT(wm_state(a), IconicState);
    CHECK(json_has_state(j, "minimized"), "the answer says minimized");
    XWindowAttributes wa;
    XGetWindowAttributes(dpy, a, &wa);
    CHECK(wa.map_state != IsViewable, "the minimized window is not viewable");
    json_decref(j);
    printf("minimize to visible change: %.1f ms\n", ms[0]);

    CHECK_INT(window_action(a, "restore", NULL, &j, NULL), 200);
    CHECK_INT(wm_state(a), NormalState);
    XGetWindowAttributes(dpy, a, &wa);
    CHECK(wa.map_state == IsViewable, "the restored window is viewable");
    json_decref(j);

    /* Geometry is the frame's, in root coordinates, as the list reports it. */
    CHECK_INT(window_action(a, "geometry", "{\"x\":100,\"y\":120,\"width\":500,\"height\":300}", &j,
                      &ms[0]),
            200);
    f = frame_rect(a);
    CHECK(f.x == 100 && f.y == 120 && f.w == 500 && f.h == 300, "frame at %d,%d %dx%d", f.x, f.y,
            f.w, f.h);
    CHECK(json_integer_value(json_object_get(j, "x")) == 100 &&
                    json_integer_value(json_object_get(j, "height")) == 300,
            "the answer has the new frame");
    json_decref(j);
    printf("geometry to visible change: %.1f ms\n", ms[0]);
    /* From maximized: the state is taken back first. */
    CHECK_INT(window_action(a, "maximize", NULL, NULL, NULL), 200);
    CHECK_INT(window_action(
                      a, "geometry", "{\"x\":40,\"y\":50,\"width\":420,\"height\":260}", &j, NULL),
            200);
    f = frame_rect(a);
    CHECK(f.x == 40 && f.y == 50 && f.w == 420 && f.h == 260, "from maximized: frame %d,%d %dx%d",
            f.x, f.y, f.w, f.h);
    CHECK(!has_state(a, "_NET_WM_STATE_MAXIMIZED_VERT"), "no longer maximized");
    json_decref(j);

    /* Bad input changes nothing. */
    f = frame_rect(a);
    CHECK_INT(
            window_action(a, "geometry", "{\"x\":0,\"y\":0,\"width\":0,\"height\":300}", &j, NULL),
            400);
    CHECK(strstr(message_of(j), "width"), "names width: %s", message_of(j));
    json_decref(j);
    CHECK_INT(window_action(
                      a, "geometry", "{\"x\":0,\"y\":0,\"width\":-5,\"height\":300}", NULL, NULL),
            400);
    struct rect g = frame_rect(a);
    CHECK(f.x == g.x && f.w == g.w, "a rejected geometry changed nothing");
    CHECK_INT(call("POST", "/computeruse/windows/abc/maximize", "{}", &j, NULL), 400);
    CHECK(strstr(message_of(j), "window id"), "names the window id: %s", message_of(j));
    json_decref(j);
    Window frame = frame_of(a);
    CHECK_INT(window_action(frame, "maximize", NULL, &j, NULL), 400);
    CHECK(strstr(message_of(j), "not a top-level window"), "a frame is refused: %s", message_of(j));
    json_decref(j);
    CHECK(!has_state(a, "_NET_WM_STATE_MAXIMIZED_VERT"), "nothing was maximized");
    CHECK_INT(window_action(0x1fffff0, "activate", NULL, &j, NULL), 404);
    CHECK_STR(code_of(j), "WINDOW_NOT_FOUND");
    json_decref(j);

    /* Close: evlog does not take WM_DELETE_WINDOW, so xfwm4 ends its client. */
    CHECK_INT(window_action(b, "close", NULL, &j, &ms[0]), 200);
    CHECK(!managed(b), "the closed window left _NET_CLIENT_LIST");
    CHECK_INT(json_integer_value(json_object_get(j, "id")), b);
    json_decref(j);
    printf("close to visible change: %.1f ms\n", ms[0]);
    CHECK_INT(window_action(b, "activate", NULL, &j, NULL), 404);
    json_decref(j);
}

/* A window that lists WM_DELETE_WINDOW and never answers it: close is a 504, not a hang. */
static void test_stubborn_close(void) {
    Display *own = XOpenDisplay(display_name);
    Window w = XCreateSimpleWindow(own, DefaultRootWindow(own), 300, 300, 200, 100, 0, 0, 0xffffff);
    Atom del = XInternAtom(own, "WM_DELETE_WINDOW", False);
    XSetWMProtocols(own, w, &del, 1);
    XStoreName(own, w, "stubborn");
    XMapWindow(own, w);
    XSync(own, False);
    WAIT_FOR(managed(w), 10000);
    CHECK(managed(w), "the stubborn window is managed");
    json_t *j = NULL;
    int64_t t0 = now_ms();
    CHECK_INT(window_action(w, "close", NULL, &j, NULL), 504);
    int64_t took = now_ms() - t0;
    CHECK_STR(code_of(j), "WM_TIMEOUT");
    CHECK(took >= 1900 && took < 3000, "504 after about 2 s: %lld ms", (long long)took);
    CHECK(managed(w), "the window is still there");
    json_decref(j);
    /* Its client did receive WM_DELETE_WINDOW (from xfwm4, and from deskd after half the time). */
    int deletes = 0;
    while (XPending(own)) {
        XEvent ev;
        XNextEvent(own, &ev);
        deletes += ev.type == ClientMessage && (Atom)ev.xclient.data.l[0] == del;
    }
    CHECK(deletes >= 1, "its client was asked to close %d times", deletes);
    XCloseDisplay(own);
}

/* A close of a stubborn window, on a thread of its own. */
struct closing {
    Window w;
    long status;
    json_t *answer;
    pthread_t thread;
};

static void *close_thread(void *arg) {
    struct closing *c = arg;
    c->status = window_action(c->w, "close", NULL, &c->answer, NULL);
    return NULL;
}

/*
 * Three stubborn closes at once: each waits its own 2 s on the one windows
 * connection, so none may wait for the others' (6 s, past the 3 s a request
 * waits for a connection: a 503).
 */
static void test_stubborn_closes_at_once(void) {
    Display *own = XOpenDisplay(display_name);
    Atom del = XInternAtom(own, "WM_DELETE_WINDOW", False);
    struct closing c[3];
    for (int i = 0; i < 3; i++) {
        c[i] = (struct closing){.w = XCreateSimpleWindow(own, DefaultRootWindow(own), 100 + 60 * i,
                                        100, 200, 100, 0, 0, 0xffffff)};
        XSetWMProtocols(own, c[i].w, &del, 1);
        XStoreName(own, c[i].w, "stubborn too");
        XMapWindow(own, c[i].w);
    }
    XSync(own, False);
    for (int i = 0; i < 3; i++)
        WAIT_FOR(managed(c[i].w), 10000);
    int64_t t0 = now_ms();
    for (int i = 0; i < 3; i++)
        CHECK(pthread_create(&c[i].thread, NULL, close_thread, &c[i]) == 0, "thread %d", i);
    for (int i = 0; i < 3; i++) {
        pthread_join(c[i].thread, NULL);
        CHECK(c[i].status == 504 && strcmp(code_of(c[i].answer) ?: "", "WM_TIMEOUT") == 0,
                "close %d at once with two others: %ld %s (want 504 WM_TIMEOUT)", i, c[i].status,
                code_of(c[i].answer) ?: "");
        json_decref(c[i].answer);
    }
    int64_t took = now_ms() - t0;
    CHECK(took < 5000, "three 2 s closes at once took %lld ms, not one after the other",
            (long long)took);
    XCloseDisplay(own);
}

/* ---- the clipboard ---- */

/* Runs clipc with args; its stdout in *out (malloc'd), its stderr's first line in info. */
static int run_clipc(const char *const *args, char **out, size_t *len, char *info, size_t infolen) {
    int po[2], pe[2];
    if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(po[1], 1);
        dup2(pe[1], 2);
        setenv("DISPLAY", display_name, 1);
        char exe[512], path[600];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        exe[n > 0 ? n : 0] = '\0';
        *strrchr(exe, '/') = '\0';
        snprintf(path, sizeof path, "%s/clipc", exe);
        execv(path, (char *const *)args);
        _exit(127);
    }
    close(po[1]);
    close(pe[1]);
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    ssize_t k;
    while ((k = read(po[0], buf + n, cap - n)) > 0) {
        n += (size_t)k;
        if (n == cap)
            buf = realloc(buf, cap *= 2);
    }
    buf[n < cap ? n : cap - 1] = '\0';
    k = read(pe[0], info, infolen - 1);
    info[k > 0 ? k : 0] = '\0';
    close(po[0]);
    close(pe[0]);
    int status;
    waitpid(pid, &status, 0);
    *out = buf;
    *len = n;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* POST /computeruse/clipboard with text; the status. */
static long clip_set(const char *text, size_t len, const char *selection, double *ms) {
    json_t *body = json_pack("{s:s%}", "text", text, len);
    if (selection)
        json_object_set_new(body, "selection", json_string(selection));
    char *s = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    long st = call("POST", "/computeruse/clipboard", s, NULL, ms);
    free(s);
    return st;
}

/* clipc get; true when it returned exactly want (len bytes); *incr: whether INCR was used. */
static bool clipc_reads(
        const char *sel, const char *target, const char *want, size_t len, bool *incr, double *ms) {
    const char *args[5] = {"clipc", "get"};
    int k = 2;
    if (sel)
        args[k++] = sel;
    if (target)
        args[k++] = target;
    args[k] = NULL;
    char *out = NULL, info[256];
    size_t n = 0;
    int64_t t0 = now_ms();
    int rc = run_clipc(args, &out, &n, info, sizeof info);
    if (ms)
        *ms = (double)(now_ms() - t0);
    if (incr)
        *incr = strstr(info, "incr 1") != NULL;
    bool ok = rc == 0 && n == len && memcmp(out, want, len) == 0;
    if (!ok)
        fprintf(stderr, "  clipc get: rc %d, %zu bytes (want %zu), %s\n", rc, n, len, info);
    free(out);
    return ok;
}

static char *pattern(size_t len) {
    /* Multi-byte text with line breaks: what a large paste looks like. */
    static const char unit[] = "héllo ✓ 日本語 0123456789 abcdefghij\n";
    char *s = malloc(len + 1);
    size_t u = sizeof unit - 1;
    for (size_t i = 0; i < len; i += u)
        memcpy(s + i, unit, len - i < u ? len - i : u);
    /* Cut on a character boundary. */
    size_t end = len;
    while (end > 0 && ((unsigned char)s[end - 1] & 0xc0) == 0x80)
        end--;
    if (end > 0 && ((unsigned char)s[end - 1] & 0x80))
        end--;
    s[end] = '\0';
    return s;
}

/* clipc owns CLIPBOARD with text; deskd reads it back. */
static void check_read_from_other(const char *text, size_t len, const char *what) {
    char path[] = "/tmp/desk-clip-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0 && write(fd, text, len) == (ssize_t)len, "wrote %s", what);
    close(fd);
    int po[2];
    CHECK(pipe2(po, O_CLOEXEC) == 0, "pipe");
    pid_t pid = fork();
    if (pid == 0) {
        dup2(po[1], 1);
        setenv("DISPLAY", display_name, 1);
        char exe[512], bin[600];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        exe[n > 0 ? n : 0] = '\0';
        *strrchr(exe, '/') = '\0';
        snprintf(bin, sizeof bin, "%s/clipc", exe);
        execl(bin, "clipc", "own", path, (char *)NULL);
        _exit(127);
    }
    close(po[1]);
    struct pollfd p = {.fd = po[0], .events = POLLIN};
    char line[64] = "";
    if (poll(&p, 1, 10000) > 0) {
        ssize_t n = read(po[0], line, sizeof line - 1);
        line[n > 0 ? n : 0] = '\0';
    }
    CHECK(strncmp(line, "owned", 5) == 0, "clipc owns the clipboard (%s)", what);
    json_t *j = NULL;
    CHECK_INT(call("GET", "/computeruse/clipboard", NULL, &j, NULL), 200);
    const char *got = json_string_value(json_object_get(j, "text"));
    size_t glen = json_string_length(json_object_get(j, "text"));
    CHECK(got && glen == len && memcmp(got, text, len) == 0,
            "deskd read %s from another client: %zu bytes, want %zu", what, glen, len);
    CHECK_STR(json_string_value(json_object_get(j, "selection")), "clipboard");
    json_decref(j);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    close(po[0]);
    unlink(path);
}

static void test_clipboard(void) {
    bool incr = false;
    CHECK_INT(clip_set("hello", 5, NULL, NULL), 200);
    CHECK(clipc_reads(NULL, NULL, "hello", 5, &incr, NULL), "ASCII through UTF8_STRING");
    CHECK(!incr, "small text without INCR");
    CHECK(clipc_reads(NULL, "STRING", "hello", 5, NULL, NULL), "ASCII through STRING");
    CHECK(clipc_reads(NULL, "TEXT", "hello", 5, NULL, NULL), "ASCII through TEXT");
    CHECK(clipc_reads(NULL, "text/plain;charset=utf-8", "hello", 5, NULL, NULL),
            "ASCII through text/plain;charset=utf-8");

    const char *uni = "héllo ✓ 日本語";
    CHECK_INT(clip_set(uni, strlen(uni), NULL, NULL), 200);
    CHECK(clipc_reads(NULL, NULL, uni, strlen(uni), NULL, NULL), "non-ASCII through UTF8_STRING");
    /* STRING is Latin-1: é stays, what Latin-1 lacks does not. */
    char *out = NULL, info[256];
    size_t n = 0;
    const char *args[] = {"clipc", "get", "STRING", NULL};
    CHECK_INT(run_clipc(args, &out, &n, info, sizeof info), 0);
    CHECK(n >= 6 && memcmp(out, "h\xe9llo ", 6) == 0, "STRING is Latin-1: %.*s", (int)n, out);
    free(out);
    json_t *j = NULL;
    CHECK_INT(call("GET", "/computeruse/clipboard", NULL, &j, NULL), 200);
    CHECK_STR(json_string_value(json_object_get(j, "text")), uni);
    json_decref(j);

    /* PRIMARY is separate. */
    CHECK_INT(clip_set("primary text", 12, "primary", NULL), 200);
    CHECK(clipc_reads("primary", NULL, "primary text", 12, NULL, NULL), "PRIMARY");
    CHECK(clipc_reads(NULL, NULL, uni, strlen(uni), NULL, NULL), "CLIPBOARD kept its text");
    CHECK_INT(call("GET", "/computeruse/clipboard?selection=primary", NULL, &j, NULL), 200);
    CHECK_STR(json_string_value(json_object_get(j, "text")), "primary text");
    json_decref(j);

    /* 2 MiB and 16 MiB: INCR. Under valgrind, 4 MiB: deskd parses a 16 MiB JSON body for
     * a minute there, longer than a request may take. */
    const size_t sizes[] = {2u << 20, valgrind ? 4u << 20 : 16u << 20};
    for (int k = 0; k < 2; k++) {
        char *big = pattern(sizes[k]);
        size_t len = strlen(big);
        double set_ms = 0, read_ms = 0;
        CHECK_INT(clip_set(big, len, NULL, &set_ms), 200);
        CHECK(clipc_reads(NULL, NULL, big, len, &incr, &read_ms), "%zu bytes read back", len);
        CHECK(incr, "%zu bytes came by INCR", len);
        printf("clipboard %zu MiB: set %.1f ms + independent read %.1f ms\n", sizes[k] >> 20,
                set_ms, read_ms);
        check_read_from_other(big, len, k ? "the large text" : "2 MiB");
        free(big);
    }
    check_read_from_other("hello", 5, "ASCII");
    check_read_from_other(uni, strlen(uni), "non-ASCII");

    /* Bad input changes nothing. */
    CHECK_INT(clip_set("keep", 4, NULL, NULL), 200);
    if (!valgrind) {
        char *huge = pattern((16u << 20) + 64);
        CHECK_INT(clip_set(huge, strlen(huge), NULL, NULL), 400);
        free(huge);
    }
    CHECK_INT(call("POST", "/computeruse/clipboard", "{\"text\": 5}", &j, NULL), 400);
    CHECK(strstr(message_of(j), "text"), "names text: %s", message_of(j));
    json_decref(j);
    CHECK_INT(call("POST", "/computeruse/clipboard", "{\"text\": \"x\", \"selection\": \"nope\"}",
                      &j, NULL),
            400);
    CHECK(strstr(message_of(j), "selection must be"), "names selection: %s", message_of(j));
    json_decref(j);
    CHECK_INT(call("GET", "/computeruse/clipboard?selection=secondary", NULL, &j, NULL), 400);
    json_decref(j);
    CHECK(clipc_reads(NULL, NULL, "keep", 4, NULL, NULL), "rejected requests changed nothing");
}

/* ---- launched programs ---- */

static bool process_gone(pid_t pid) {
    char path[64], state = '?';
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return true;
    char buf[512];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    if (p)
        sscanf(p + 1, " %c", &state);
    return state == 'Z' || state == 'X';
}

static void test_launch(void) {
    char exe[512], evlog[600], body[1200];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = '\0';
    *strrchr(exe, '/') = '\0';
    snprintf(evlog, sizeof evlog, "%s/evlog", exe);
    snprintf(body, sizeof body,
            "{\"argv\": [\"%s\", \"--title\", \"launched ✓\", \"--ignore-term\"], "
            "\"env\": {\"DESK_TEST_MARK\": \"yes\"}, \"waitForWindow\": true, \"timeoutMs\": "
            "10000}",
            evlog);
    json_t *j = NULL;
    double ms = 0;
    CHECK_INT(call("POST", "/computeruse/apps/launch", body, &j, &ms), 200);
    pid_t pid = (pid_t)json_integer_value(json_object_get(j, "pid"));
    json_t *w = json_object_get(j, "window");
    CHECK(pid > 0 && w, "a pid and a window");
    CHECK_INT(json_integer_value(json_object_get(w, "pid")), pid);
    CHECK_STR(json_string_value(json_object_get(w, "title")), "launched ✓");
    CHECK(managed((Window)json_integer_value(json_object_get(w, "id"))), "its window is managed");
    printf("launch to window (evlog): %.1f ms\n", ms);
    json_decref(j);
    char env_path[64], envbuf[65536];
    snprintf(env_path, sizeof env_path, "/proc/%d/environ", (int)pid);
    FILE *f = fopen(env_path, "re");
    size_t el = f ? fread(envbuf, 1, sizeof envbuf, f) : 0;
    if (f)
        fclose(f);
    bool mark = false, disp = false;
    for (size_t i = 0; i < el; i += strlen(envbuf + i) + 1) {
        mark = mark || strcmp(envbuf + i, "DESK_TEST_MARK=yes") == 0;
        disp = disp || (strncmp(envbuf + i, "DISPLAY=", 8) == 0 &&
                               strcmp(envbuf + i + 8, display_name) == 0);
    }
    CHECK(mark && disp, "its environment has env and DISPLAY");

    CHECK_INT(call("GET", "/computeruse/apps", NULL, &j, NULL), 200);
    json_t *a;
    size_t i;
    bool listed = false;
    json_array_foreach(json_object_get(j, "apps"), i, a) listed =
            listed || json_integer_value(json_object_get(a, "pid")) == pid;
    CHECK(listed, "GET /computeruse/apps lists it");
    json_decref(j);

    char path[64];
    snprintf(path, sizeof path, "/computeruse/apps/%d/kill", (int)pid);
    int64_t t0 = now_ms();
    CHECK_INT(call("POST", path, NULL, &j, NULL), 200);
    int64_t took = now_ms() - t0;
    /* Under valgrind deskd itself is slow: the bound is for deskd as it runs. */
    CHECK(took <= 3500 || valgrind, "kill of a program that ignores SIGTERM took %lld ms",
            (long long)took);
    CHECK(took >= 2900, "it was given its 3 s after SIGTERM: %lld ms", (long long)took);
    CHECK_STR(json_string_value(json_object_get(j, "signal")), "SIGKILL");
    json_decref(j);
    CHECK(process_gone(pid), "the program is gone");
    printf("kill of a program ignoring SIGTERM: %lld ms\n", (long long)took);
    CHECK_INT(call("GET", "/computeruse/apps", NULL, &j, NULL), 200);
    CHECK_INT(json_integer_value(json_object_get(j, "count")), 0);
    json_decref(j);
    CHECK_INT(call("POST", path, NULL, &j, NULL), 404);
    CHECK_STR(code_of(j), "PROCESS_NOT_FOUND");
    json_decref(j);

    /* Bad input starts nothing. */
    static const struct {
        const char *body, *names;
    } bad[] = {
            {"{\"argv\": []}", "argv"},
            {"{\"argv\": \"xterm\"}", "argv"},
            {"{\"argv\": [\"\"]}", "argv[0]"},
            {"{\"argv\": [\"no-such-program-desk\"]}", "no-such-program-desk"},
            {"{\"argv\": [\"true\", 5]}", "argv[1]"},
            {"{\"argv\": [\"true\"], \"env\": {\"A\": 1}}", "env.A"},
            {"{\"argv\": [\"true\"], \"env\": [\"A=1\"]}", "env"},
            {"{\"argv\": [\"true\"], \"cwd\": \"/no/such/dir\"}", "cwd"},
            {"{\"argv\": [\"true\"], \"timeoutMs\": 0}", "timeoutMs"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        CHECK_INT(call("POST", "/computeruse/apps/launch", bad[k].body, &j, NULL), 400);
        CHECK(strstr(message_of(j), bad[k].names), "%s: names %s: %s", bad[k].body, bad[k].names,
                message_of(j));
        json_decref(j);
    }
    CHECK_INT(call("GET", "/computeruse/apps", NULL, &j, NULL), 200);
    CHECK_INT(json_integer_value(json_object_get(j, "count")), 0);
    json_decref(j);
}

/* Runs the desk CLI against our deskd; its stdout (first line) in out; the exit status. */
static int run_desk(const char *const *args, char *out, size_t outlen) {
    int po[2];
    if (pipe2(po, O_CLOEXEC) < 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(po[1], 1);
        const char *argv[16] = {DESK_CLI_PATH, "--url", d.url};
        int n = 3;
        for (int i = 0; args[i] && n < 15; i++)
            argv[n++] = args[i];
        argv[n] = NULL;
        execv(DESK_CLI_PATH, (char *const *)argv);
        _exit(127);
    }
    close(po[1]);
    size_t got = 0;
    ssize_t k;
    while (got + 1 < outlen && (k = read(po[0], out + got, outlen - 1 - got)) > 0)
        got += (size_t)k;
    out[got] = '\0';
    close(po[0]);
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_client(Window a) {
    desk_client *c = desk_client_new(d.url);
    struct desk_window_list *wl = NULL;
    CHECK_INT(desk_window_action(c, a, DESK_WINDOW_MAXIMIZE, &wl), DESK_OK);
    CHECK(wl && wl->count == 1 && strstr(wl->windows[0].states, "maximized"),
            "libdesk: maximized (%s)", wl ? wl->windows[0].states : "");
    CHECK(has_state(a, "_NET_WM_STATE_MAXIMIZED_HORZ"), "libdesk: X sees it maximized");
    desk_window_list_free(wl);
    CHECK_INT(desk_window_geometry(c, a, 60, 70, 400, 250, &wl), DESK_OK);
    struct rect f = frame_rect(a);
    CHECK(f.x == 60 && f.y == 70 && f.w == 400 && f.h == 250, "libdesk geometry: %d,%d %dx%d", f.x,
            f.y, f.w, f.h);
    desk_window_list_free(wl);
    CHECK_INT(desk_window_action(c, 0x1fffff0, DESK_WINDOW_ACTIVATE, NULL), DESK_ERR_NOT_FOUND);
    CHECK_INT(desk_display_windows_of_type(c, "normal", &wl), DESK_OK);
    CHECK(wl && wl->count >= 1 && strcmp(wl->windows[0].type, "normal") == 0, "libdesk: type");
    desk_window_list_free(wl);

    const char *uni = "héllo ✓ 日本語";
    CHECK_INT(desk_clipboard_set(c, DESK_CLIPBOARD, uni), DESK_OK);
    CHECK(clipc_reads(NULL, NULL, uni, strlen(uni), NULL, NULL), "libdesk: clipboard set");
    char *text = NULL;
    size_t len = 0;
    CHECK_INT(desk_clipboard_get(c, DESK_CLIPBOARD, &text, &len), DESK_OK);
    CHECK(text && len == strlen(uni) && strcmp(text, uni) == 0, "libdesk: clipboard get");
    free(text);

    /* No application takes a paste here (evlog has no text field): the error says so. */
    CHECK_INT(desk_keyboard_paste(c, "x", NULL), DESK_ERR_NO_RESPONSE);
    CHECK(clipc_reads(NULL, NULL, uni, strlen(uni), NULL, NULL),
            "the clipboard is back after a paste nobody took");

    const char *argv[] = {"true", NULL};
    struct desk_launch l = {.argv = argv};
    long pid = 0;
    CHECK_INT(desk_app_launch(c, &l, &pid, NULL), DESK_OK);
    CHECK(pid > 0, "libdesk: launched true");
    const char *missing[] = {"no-such-program-desk", NULL};
    l.argv = missing;
    CHECK_INT(desk_app_launch(c, &l, &pid, NULL), DESK_ERR_BAD_REQUEST);
    CHECK(strstr(desk_last_error(c), "no-such-program-desk"), "names it: %s", desk_last_error(c));
    struct desk_app_list *al = NULL;
    CHECK_INT(desk_apps(c, &al), DESK_OK);
    desk_app_list_free(al);
    desk_client_free(c);

    /* The CLI, as the issue spells it. */
    char id[32], out[4096];
    snprintf(id, sizeof id, "%lu", (unsigned long)a);
    const char *max[] = {"window", id, "maximize", NULL};
    CHECK_INT(run_desk(max, out, sizeof out), 0);
    CHECK(strstr(out, "maximized") && has_state(a, "_NET_WM_STATE_MAXIMIZED_VERT"),
            "desk window ID maximize: %s", out);
    const char *res[] = {"window", id, "restore", NULL};
    CHECK_INT(run_desk(res, out, sizeof out), 0);
    CHECK(!has_state(a, "_NET_WM_STATE_MAXIMIZED_VERT"), "desk window ID restore");
    const char *set[] = {"clip", "set", "from the CLI ✓", NULL};
    CHECK_INT(run_desk(set, out, sizeof out), 0);
    CHECK(clipc_reads(NULL, NULL, "from the CLI ✓", strlen("from the CLI ✓"), NULL, NULL),
            "desk clip set");
    const char *get[] = {"clip", "get", NULL};
    CHECK_INT(run_desk(get, out, sizeof out), 0);
    CHECK_STR(out, "from the CLI ✓");
    const char *types[] = {"windows", "--type", "normal", NULL};
    CHECK_INT(run_desk(types, out, sizeof out), 0);
    CHECK(strstr(out, id) || strstr(out, "normal"), "desk windows --type normal: %s", out);
    const char *launch[] = {"launch", "--", "true", NULL};
    CHECK_INT(run_desk(launch, out, sizeof out), 0);
    CHECK(strncmp(out, "pid ", 4) == 0, "desk launch -- true: %s", out);
}

int main(void) {
    valgrind = getenv("DESK_TEST_VALGRIND") != NULL;
    check_timeout(valgrind ? 900 : 240);
    check_require_tool("Xvfb");
    check_require_tool("xfwm4");
    struct xserver xs;
    if (xserver_start_xvfb(&xs, SCREEN_W, SCREEN_H) < 0)
        return 1;
    snprintf(display_name, sizeof display_name, "%s", xs.name);
    dpy = XOpenDisplay(xs.name);
    pid_t wm = fork();
    if (wm == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        setenv("DISPLAY", xs.name, 1);
        execlp("xfwm4", "xfwm4", "--compositor=off", "--sm-client-disable", (char *)NULL);
        _exit(127);
    }
    WAIT_FOR(root_window_prop("_NET_SUPPORTING_WM_CHECK") != None, 15000);
    CHECK(root_window_prop("_NET_SUPPORTING_WM_CHECK") != None, "xfwm4 manages the screen");

    struct evproc a, b;
    int ra = evproc_start(&a, xs.name, 50, 60, 300, 200, "alpha");
    int rb = evproc_start(&b, xs.name, 500, 300, 200, 100, "beta");
    CHECK(ra == 0 && rb == 0, "evlog windows started");
    WAIT_FOR(managed(a.window) && managed(b.window), 10000);

    int started = deskd_start(&d, xs.name, NULL);
    CHECK(started == 0, "deskd started");
    if (started == 0 && ra == 0 && rb == 0) {
        test_list(a.window);
        test_actions(a.window, b.window);
        test_stubborn_close();
        test_stubborn_closes_at_once();
        test_clipboard();
        test_launch();
        test_client(a.window);
        CHECK_INT(deskd_stop(&d), 0);
        if (check_failed)
            deskd_dump_log(&d);
    }
    evproc_stop(&a);
    evproc_stop(&b);
    kill(wm, SIGTERM);
    waitpid(wm, NULL, 0);
    XCloseDisplay(dpy);
    xserver_stop(&xs);
    return check_finish();
}
