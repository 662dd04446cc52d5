/*
 * The model tool adapters (POST /computeruse/tools/anthropic and /openai)
 * from fixtures: every call of tests/fixtures/computer-tools.json (the
 * providers' own shapes), run in order on a 1920x1080 screen for each model
 * display size the file names, against a real deskd, observed by the tests'
 * X client evlog covering the screen. Each call's button and key events must
 * be those listed, at the screen pixel the model's point maps to by API.md
 * §10 (computed here from the formula, not by deskd's code), with the
 * modifier state listed; the answer must be what the model expects (an image
 * of its display's size, its cursor position in its own pixels, an error it
 * can read, with nothing sent). A marker key (F1 through the API) ends each
 * call's events. Then the faults: a harness that hangs up during hold_key
 * (the key is released at once), and the X server gone (503, deskd up).
 */
#include <X11/Xlib.h>
#include <X11/keysym.h>
#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "deskproc.h"
#include "evproc.h"
#include "http.h"
#include "image.h"
#include "xserver.h"

#define SCREEN_W 1920
#define SCREEN_H 1080
#define LINE_MS  5000
/* Shift, Control, Mod1 (alt), Mod4 (super): the modifier bits the fixtures name. */
#define MOD_BITS 0x4d

static const char *base;
static Display *dpy;
static struct evproc ev;
static int dw, dh; /* the model's display */
static int calls;

/* API.md §10: screen = floor((v + 0.5) * screen / display), in integers. */
static int to_screen(int v, int screen, int display) {
    return (int)(((2L * v + 1) * screen) / (2L * display));
}

static long post(const char *path, json_t *body, json_t **reply) {
    char url[256], *text = json_dumps(body, JSON_COMPACT);
    snprintf(url, sizeof url, "%s%s", base, path);
    const char *headers[] = {"Content-Type: application/json", NULL};
    struct http_resp r;
    http_request("POST", url, text, headers, &r);
    free(text);
    long st = r.status;
    *reply = http_json(&r);
    http_resp_free(&r);
    return st;
}

static void pointer(int *x, int *y, unsigned *mask) {
    Window root, child;
    int wx, wy;
    XQueryPointer(dpy, DefaultRootWindow(dpy), &root, &child, x, y, &wx, &wy, mask);
}

/* The screen pixel of point token "P<i>" or "here". */
static bool point(const char *tok, json_t *points, const int here[2], int *sx, int *sy) {
    int i;
    if (strcmp(tok, "here") == 0) {
        *sx = here[0];
        *sy = here[1];
        return true;
    }
    if (sscanf(tok, "P%d", &i) != 1 || !json_array_get(points, (size_t)i))
        return false;
    json_t *p = json_array_get(points, (size_t)i);
    *sx = to_screen((int)json_integer_value(json_array_get(p, 0)), SCREEN_W, dw);
    *sy = to_screen((int)json_integer_value(json_array_get(p, 1)), SCREEN_H, dh);
    return true;
}

/* Checks the events evlog received for one call against the fixture's expect list. */
static void check_events(const char *what, json_t *expect, json_t *points, const int here[2]) {
    json_t *f1 = json_pack("{s:s}", "key", "f1"), *reply = NULL;
    CHECK_INT(post("/computeruse/keyboard/key", f1, &reply), 200);
    json_decref(f1);
    json_decref(reply);
    if (!evproc_collect(&ev, "key F1 ", LINE_MS)) {
        CHECK(false, "%s: evlog sent no marker", what);
        return;
    }
    bool want_text = false;
    size_t i;
    json_t *e;
    json_array_foreach(expect, i, e) want_text |= strncmp(json_string_value(e), "text ", 5) == 0;
    /* The press/release (and, unless text is checked, key) lines, in order. */
    int li = 0;
    json_array_foreach(expect, i, e) {
        const char *tok = json_string_value(e);
        char kind[16], a[64], b[16] = "", c[16] = "";
        int n = sscanf(tok, "%15s %63s %15s %15s", kind, a, b, c);
        if (strcmp(kind, "text") == 0) {
            char *text = evproc_text(&ev);
            CHECK(text && strcmp(text, tok + 5) == 0, "%s: typed \"%s\", want \"%s\"", what,
                    text ? text : "", tok + 5);
            free(text);
            continue;
        }
        if (strcmp(kind, "held") == 0) {
            int x, y;
            unsigned mask;
            pointer(&x, &y, &mask);
            int button = atoi(a);
            unsigned bits = Button1Mask | Button2Mask | Button3Mask;
            if (button)
                CHECK(mask & (Button1Mask << (button - 1)), "%s: button %d is not held (0x%x)",
                        what, button, mask);
            else
                CHECK(!(mask & bits), "%s: a button is still held (0x%x)", what, mask);
            continue;
        }
        if (strcmp(kind, "motion") == 0) {
            int sx, sy, mx = -1, my = -1;
            CHECK(point(a, points, here, &sx, &sy), "%s: bad point %s", what, a);
            for (int l = 0; l < ev.nlines; l++)
                sscanf(ev.lines[l], "motion %d %d", &mx, &my);
            CHECK(mx == sx && my == sy, "%s: the pointer moved to %d,%d, want %d,%d", what, mx, my,
                    sx, sy);
            continue;
        }
        /* The next press, release or key line. */
        while (li < ev.nlines && strncmp(ev.lines[li], "press ", 6) != 0 &&
                strncmp(ev.lines[li], "release ", 8) != 0 &&
                (want_text || strncmp(ev.lines[li], "key ", 4) != 0))
            li++;
        if (li >= ev.nlines) {
            CHECK(false, "%s: no event for \"%s\"", what, tok);
            return;
        }
        const char *line = ev.lines[li++];
        if (strcmp(kind, "key") == 0) {
            char name[64];
            unsigned state = 0, want = (unsigned)strtoul(b, NULL, 16);
            bool ok = sscanf(line, "key %63s 0x%x", name, &state) == 2 && strcmp(name, a) == 0 &&
                      (state & MOD_BITS) == want;
            CHECK(ok, "%s: got \"%s\", want \"%s\"", what, line, tok);
            continue;
        }
        int button, sx, sy, x, y;
        unsigned long t;
        unsigned state = 0, want = n >= 4 ? (unsigned)strtoul(c, NULL, 16) : 0;
        char got[16];
        bool ok = point(b, points, here, &sx, &sy) &&
                  sscanf(line, "%15s %d %d %d %lu 0x%x", got, &button, &x, &y, &t, &state) == 6 &&
                  strcmp(got, kind) == 0 && button == atoi(a) && x == sx && y == sy &&
                  (state & MOD_BITS) == want;
        CHECK(ok, "%s: got \"%s\", want %s %s at %d,%d state 0x%x", what, line, kind, a, sx, sy,
                want);
    }
    /* Nothing more than listed. */
    for (; li < ev.nlines; li++) {
        const char *line = ev.lines[li];
        bool extra = strncmp(line, "press ", 6) == 0 || strncmp(line, "release ", 8) == 0 ||
                     (!want_text && strncmp(line, "key ", 4) == 0);
        CHECK(!extra, "%s: unexpected \"%s\"", what, line);
    }
}

/* Decodes a base64 image and checks its size. */
static void check_image(const char *what, const char *b64, int w, int h) {
    uint8_t *bytes = NULL;
    size_t len = 0;
    struct image img = {0};
    bool ok = b64 && base64_decode(b64, strlen(b64), &bytes, &len) == 0 &&
              image_decode(bytes, len, &img) == 0;
    CHECK(ok, "%s: the image does not decode", what);
    if (ok)
        CHECK(img.width == w && img.height == h, "%s: image %dx%d, want %dx%d", what, img.width,
                img.height, w, h);
    image_free(&img);
    free(bytes);
}

/* The size zoom's image must have: the region's screen pixels, fitted into the display. */
static void zoom_size(int x0, int y0, int x1, int y1, int *w, int *h) {
    int rx = to_screen(x0, SCREEN_W, dw), ry = to_screen(y0, SCREEN_H, dh);
    int rw = to_screen(x1, SCREEN_W, dw), rh = to_screen(y1, SCREEN_H, dh);
    rw = (rw > SCREEN_W ? SCREEN_W : rw) - rx;
    rh = (rh > SCREEN_H ? SCREEN_H : rh) - ry;
    *w = rw < dw ? rw : dw;
    *h = (int)((long)*w * rh / rw);
    while (*h > dh) {
        (*w)--;
        *h = (int)((long)*w * rh / rw);
    }
}

static void check_answer(
        const char *what, bool anthropic, json_t *reply, const char *answer, json_t *points) {
    json_t *content = json_object_get(reply, "content");
    json_t *first = json_array_get(content, 0);
    bool is_error = anthropic ? json_is_true(json_object_get(reply, "is_error"))
                              : json_object_get(reply, "error") != NULL;
    json_t *disp = json_object_get(reply, "display");
    CHECK(json_integer_value(json_object_get(disp, "width")) == dw &&
                    json_integer_value(json_object_get(disp, "height")) == dh,
            "%s: the answer's display is not %dx%d", what, dw, dh);
    const char *image = NULL;
    if (!anthropic) {
        json_t *out = json_object_get(reply, "output");
        const char *url = json_string_value(json_object_get(out, "image_url"));
        const char *prefix = "data:image/png;base64,";
        CHECK(strcmp(json_string_value(json_object_get(out, "type")) ?: "",
                      "computer_screenshot") == 0 &&
                        url && strncmp(url, prefix, strlen(prefix)) == 0,
                "%s: output is not a computer_screenshot with a PNG data URL", what);
        image = url ? url + strlen(prefix) : NULL;
        check_image(what, image, dw, dh);
    }
    if (strncmp(answer, "error ", 6) == 0) {
        const char *text = anthropic ? json_string_value(json_object_get(first, "text"))
                                     : json_string_value(json_object_get(reply, "error"));
        CHECK(is_error && text && strstr(text, answer + 6),
                "%s: want an error saying \"%s\", got \"%s\"", what, answer + 6, text ?: "");
        return;
    }
    CHECK(!is_error, "%s: an error: %s", what,
            json_string_value(
                    anthropic ? json_object_get(first, "text") : json_object_get(reply, "error"))
                    ?: "");
    if (!anthropic)
        return;
    int x0, y0, x1, y1;
    if (strcmp(answer, "none") == 0) {
        CHECK(json_is_array(content) && json_array_size(content) == 0, "%s: content is not []",
                what);
    } else if (strcmp(answer, "image") == 0 ||
               sscanf(answer, "zoom %d %d %d %d", &x0, &y0, &x1, &y1) == 4) {
        json_t *src = json_object_get(first, "source");
        CHECK(strcmp(json_string_value(json_object_get(first, "type")) ?: "", "image") == 0 &&
                        strcmp(json_string_value(json_object_get(src, "type")) ?: "", "base64") ==
                                0 &&
                        strcmp(json_string_value(json_object_get(src, "media_type")) ?: "",
                                "image/png") == 0,
                "%s: content[0] is not a base64 PNG image block", what);
        int w = dw, h = dh;
        if (answer[0] == 'z')
            zoom_size(x0, y0, x1, y1, &w, &h);
        check_image(what, json_string_value(json_object_get(src, "data")), w, h);
    } else if (strncmp(answer, "cursor ", 7) == 0) {
        int i = atoi(answer + 8);
        json_t *p = json_array_get(points, (size_t)i);
        char want[64];
        snprintf(want, sizeof want, "X=%d,Y=%d", (int)json_integer_value(json_array_get(p, 0)),
                (int)json_integer_value(json_array_get(p, 1)));
        const char *text = json_string_value(json_object_get(first, "text"));
        CHECK(text && strcmp(text, want) == 0, "%s: cursor_position answered \"%s\", want \"%s\"",
                what, text ?: "", want);
    } else {
        CHECK(false, "%s: unknown answer \"%s\" in the fixture", what, answer);
    }
}

static void run_case(json_t *c, bool anthropic, size_t idx) {
    json_t *body;
    if (anthropic) {
        json_t *block = json_object_get(c, "block");
        body = json_deep_copy(block ? block : json_object_get(c, "input"));
    } else {
        body = json_deep_copy(json_object_get(c, "call"));
    }
    char what[160];
    snprintf(what, sizeof what, "%s[%zu] %s on %dx%d", anthropic ? "anthropic" : "openai", idx,
            anthropic ? json_string_value(json_object_get(json_object_get(c, "input"), "action"))
                                ?: "block"
                      : "call",
            dw, dh);
    /* The harness's members: the display, and no waiting for the screen to settle. */
    json_object_set_new(body, "display", json_pack("{s:i, s:i}", "width", dw, "height", dh));
    json_object_set_new(body, "settle", json_false());
    const char *answer = json_string_value(json_object_get(c, "answer"));
    if (anthropic && strcmp(answer, "image") != 0)
        json_object_set_new(body, "screenshot", json_false());
    int here[2];
    unsigned mask;
    pointer(&here[0], &here[1], &mask);
    json_t *reply = NULL;
    long st = post(
            anthropic ? "/computeruse/tools/anthropic" : "/computeruse/tools/openai", body, &reply);
    json_decref(body);
    CHECK(st == 200, "%s: HTTP %ld", what, st);
    check_answer(what, anthropic, reply, answer, json_object_get(c, "points"));
    json_decref(reply);
    check_events(what, json_object_get(c, "expect"), json_object_get(c, "points"), here);
    calls++;
}

/* Without a display the model's is the screen fitted into 1024x768: 1024x576 here. */
static void test_default_display(void) {
    dw = 1024;
    dh = 576;
    json_t *reply = NULL;
    /* And by default the answer shows the screen after the click, once it is still. */
    json_t *body = json_pack("{s:s, s:[i, i]}", "action", "left_click", "coordinate", 1000, 500);
    CHECK_INT(post("/computeruse/tools/anthropic", body, &reply), 200);
    json_decref(body);
    check_answer("default display", true, reply, "image", NULL);
    json_decref(reply);
    json_t *points = json_pack("[[i, i]]", 1000, 500);
    int here[2] = {0, 0};
    json_t *expect = json_pack("[s, s]", "press 1 P0", "release 1 P0");
    check_events("default display", expect, points, here);
    json_decref(expect);
    json_decref(points);
}

/* What the harness gets wrong is a 400 that names it; nothing is sent. */
static void test_harness_errors(void) {
    static const struct {
        const char *path, *body, *says;
    } cases[] = {
            {"/computeruse/tools/anthropic",
                    "{\"action\":\"screenshot\",\"display\":{\"width\":"
                    "2000,\"height\":700}}",
                    "display.width"},
            {"/computeruse/tools/anthropic", "{\"action\":\"screenshot\",\"format\":\"bmp\"}",
                    "format"},
            {"/computeruse/tools/anthropic", "{\"action\":\"screenshot\",\"settle\":3}", "settle"},
            {"/computeruse/tools/openai", "{\"type\":\"computer_call\"}", "action"},
            {"/computeruse/tools/openai", "{\"action\":{\"type\":\"wait\"},\"actions\":[]}",
                    "action"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *body = json_loads(cases[i].body, 0, NULL), *reply = NULL;
        long st = post(cases[i].path, body, &reply);
        json_decref(body);
        const char *msg = json_string_value(json_object_get(reply, "message"));
        CHECK(st == 400 && msg && strstr(msg, cases[i].says), "%s %s: %ld %s", cases[i].path,
                cases[i].body, st, msg ?: "");
        json_decref(reply);
    }
    /* Not JSON: 400 too. */
    char url[256];
    snprintf(url, sizeof url, "%s/computeruse/tools/anthropic", base);
    struct http_resp r;
    http_request("POST", url, "{\"action\":", NULL, &r);
    CHECK_INT(r.status, 400);
    http_resp_free(&r);
}

/* Whether the key of keysym sym is down on the server. */
static bool key_down(KeySym sym) {
    char keys[32];
    KeyCode kc = XKeysymToKeycode(dpy, sym);
    XQueryKeymap(dpy, keys);
    return kc && (keys[kc / 8] & (1 << (kc % 8)));
}

/* Polls until key_down(sym) == want or ms pass (X round trips, no fixed sleep). */
static bool key_becomes(KeySym sym, bool want, int ms) {
    struct timespec t0, now, tick = {0, 2000000};
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        if (key_down(sym) == want)
            return true;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((now.tv_sec - t0.tv_sec) * 1000 + (now.tv_nsec - t0.tv_nsec) / 1000000 > ms)
            return false;
        nanosleep(&tick, NULL);
    }
}

/* A harness that hangs up during hold_key: the key is released at once, not after 5 s. */
static void test_hang_up(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const char *body = "{\"action\":\"hold_key\",\"text\":\"shift\",\"duration\":5,"
                       "\"screenshot\":false}";
    char req[512];
    int n = snprintf(req, sizeof req,
            "POST /computeruse/tools/anthropic HTTP/1.1\r\nHost: x\r\nContent-Type: "
            "application/json\r\nContent-Length: %zu\r\n\r\n%s",
            strlen(body), body);
    bool sent = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
                write(fd, req, (size_t)n) == n;
    CHECK(sent, "hold_key sent");
    CHECK(sent && key_becomes(XK_Shift_L, true, 3000), "hold_key pressed shift");
    if (fd >= 0)
        close(fd);
    CHECK(key_becomes(XK_Shift_L, false, 2000),
            "shift released within 2 s of the harness hanging up (the hold was 5 s)");
}

/* The desktop gone: the adapters answer 503 as the routes do, and deskd stays up. */
static void test_no_display(struct xserver *xs) {
    xserver_stop(xs);
    json_t *reply = NULL;
    json_t *body = json_pack("{s:s, s:[i, i]}", "action", "left_click", "coordinate", 10, 10);
    CHECK_INT(post("/computeruse/tools/anthropic", body, &reply), 503);
    json_decref(body);
    json_decref(reply);
    body = json_pack("{s:{s:s}}", "action", "type", "screenshot");
    CHECK_INT(post("/computeruse/tools/openai", body, &reply), 503);
    json_decref(body);
    json_decref(reply);
    char url[256];
    snprintf(url, sizeof url, "%s/healthz", base);
    struct http_resp r;
    http_get(url, &r);
    CHECK_INT(r.status, 200);
    http_resp_free(&r);
}

int main(void) {
    check_timeout(240);
    check_require_tool("Xvfb");
    json_error_t jerr;
    json_t *fx = json_load_file(DESK_FIXTURES "/computer-tools.json", 0, &jerr);
    CHECK(fx != NULL, "fixture: %s line %d", jerr.text, jerr.line);
    struct xserver xs;
    if (!fx || xserver_start_xvfb(&xs, SCREEN_W, SCREEN_H) < 0)
        return check_finish();
    dpy = XOpenDisplay(xs.name);
    struct deskd_proc d;
    if (!dpy || evproc_start(&ev, xs.name, 0, 0, SCREEN_W, SCREEN_H, "tools") < 0 ||
            deskd_start(&d, xs.name, NULL) < 0) {
        CHECK(false, "set-up failed");
        xserver_stop(&xs);
        return check_finish();
    }
    base = d.url;
    size_t i, j;
    json_t *disp, *c;
    json_array_foreach(json_object_get(fx, "displays"), i, disp) {
        dw = (int)json_integer_value(json_array_get(disp, 0));
        dh = (int)json_integer_value(json_array_get(disp, 1));
        json_array_foreach(json_object_get(fx, "anthropic"), j, c) run_case(c, true, j);
        json_array_foreach(json_object_get(fx, "openai"), j, c) run_case(c, false, j);
    }
    CHECK(calls >= 150, "ran %d fixture calls", calls);
    test_default_display();
    test_harness_errors();
    check_nothing_held(dpy, "the fixtures");
    test_hang_up(d.port);
    check_nothing_held(dpy, "the hang-up");
    printf("%d fixture calls checked against the X events\n", calls);
    evproc_stop(&ev);
    XCloseDisplay(dpy);
    test_no_display(&xs);
    CHECK_INT(deskd_stop(&d), 0);
    if (check_failed)
        deskd_dump_log(&d);
    json_decref(fx);
    return check_finish();
}
