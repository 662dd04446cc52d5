/*
 * libdesk against a real deskd on a private Xvfb, one check per library function: the
 * screenshots decoded (PNG, JPEG, WebP, binary and JSON forms) with their sizes, regions
 * and cursor positions, pixels compared with the painted root pattern; clicks, drags,
 * scrolls and typing observed by the tests' X client evlog; display info; windows (the
 * test publishes evlog's window in _NET_CLIENT_LIST, as a window manager would); the
 * process routes as far as this deskd has them; the accessibility calls without a bus; a wrong
 * token (401); the reply cap; the kept-alive connection; and, last, a stopped server (connection
 * error).
 *
 * It also prints client-side p50 timings of a binary JPEG screenshot and of a click.
 * Waiting is on evlog's output (an F1 tap through the API marks the end), never on timers.
 */
#include <X11/Xatom.h>
#include <X11/Xlib.h>
#include <desk/desk.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "deskproc.h"
#include "evproc.h"
#include "image.h"
#include "shot.h"
#include "xserver.h"

#define TOKEN   "client-lib-token"
#define SEED    7u
#define WIN_X   100
#define WIN_Y   50
#define WIN_W   400
#define WIN_H   300
#define LINE_MS 5000

static Display *dpy;
static struct evproc ev;
static desk_client *c;

#define CHECK_OK(call)                                                                             \
    do {                                                                                           \
        enum desk_status st_ = (call);                                                             \
        CHECK(st_ == DESK_OK, "%s: %s: %s", #call, desk_status_name(st_), desk_last_error(c));     \
    } while (0)

/* Taps F1 through the API and collects evlog's lines up to it. */
static bool collect(void) {
    CHECK_OK(desk_keyboard_key(c, "f1", NULL, 0));
    bool ok = evproc_collect(&ev, "key F1 ", LINE_MS);
    CHECK(ok, "evlog sent no marker");
    return ok;
}

/* Checks decoded pixels against the root pattern; (ox, oy) is the image's screen origin. */
static void check_pattern(const struct image *im, int ox, int oy, const char *what) {
    static const int pts[][2] = {{0, 0}, {1, 0}, {3, 7}, {50, 20}, {99, 61}};
    for (size_t i = 0; i < sizeof pts / sizeof pts[0]; i++) {
        int x = pts[i][0], y = pts[i][1];
        if (x >= im->width || y >= im->height)
            continue;
        unsigned char want[3];
        pattern_rgb(SEED, ox + x, oy + y, want);
        const unsigned char *got = image_px(im, x, y);
        CHECK(memcmp(got, want, 3) == 0, "%s: pixel %d,%d is %02x%02x%02x, expected %02x%02x%02x",
                what, x, y, got[0], got[1], got[2], want[0], want[1], want[2]);
    }
}

/* Decodes img, checks its size against what the library reported; 0 when decodable. */
static int decode(const struct desk_image *img, struct image *out, const char *fmt) {
    memset(out, 0, sizeof *out);
    if (!img)
        return -1;
    int rc = image_decode(img->data, img->size, out);
    CHECK(rc == 0, "%s: the %zu bytes do not decode", fmt, img->size);
    if (rc < 0)
        return -1;
    CHECK_STR(out->format, fmt);
    CHECK(out->width == img->width && out->height == img->height,
            "%s: decoded %dx%d, reported %dx%d", fmt, out->width, out->height, img->width,
            img->height);
    return 0;
}

static void test_screenshots(void) {
    struct desk_image *img = NULL;
    struct image im;

    CHECK_OK(desk_screenshot(c, false, &img));
    if (img && decode(img, &im, "png") == 0) {
        CHECK(img->width == 1280 && img->height == 720 && img->format == DESK_IMAGE_PNG, "full");
        CHECK(img->region.x == 0 && img->region.y == 0 && img->region.width == 1280 &&
                        img->region.height == 720,
                "full region");
        CHECK(img->has_cursor, "the full route always reports the cursor");
        /* Right of evlog's window: the root pattern. */
        struct image sub = im;
        sub.rgb = (uint8_t *)image_px(&im, 700, 400);
        check_pattern(&sub, 700, 400, "full png");
        image_free(&im);
    }
    desk_image_free(img);

    const struct desk_rect r = {600, 400, 200, 100};
    CHECK_OK(desk_screenshot_region(c, &r, false, &img));
    if (img && decode(img, &im, "png") == 0) {
        CHECK(img->width == 200 && img->height == 100 && img->region.x == 600 &&
                        img->region.y == 400 && img->region.width == 200,
                "region %dx%d at %d,%d", img->width, img->height, img->region.x, img->region.y);
        check_pattern(&im, 600, 400, "region png");
        image_free(&im);
    }
    desk_image_free(img);

    /* Half off the screen: black there, and the region as asked. */
    const struct desk_rect off = {-10, -10, 20, 20};
    CHECK_OK(desk_screenshot_region(c, &off, false, &img));
    if (img && decode(img, &im, "png") == 0) {
        CHECK(img->region.x == -10 && img->region.y == -10, "negative origin");
        const unsigned char *p = image_px(&im, 0, 0);
        CHECK(p[0] == 0 && p[1] == 0 && p[2] == 0, "outside the screen is black");
        image_free(&im);
    }
    desk_image_free(img);

    const struct desk_compress jpeg = {.format = DESK_IMAGE_JPEG, .quality = 80, .scale = 0.5};
    CHECK_OK(desk_screenshot_compressed(c, &jpeg, &img));
    if (img && decode(img, &im, "jpeg") == 0) {
        CHECK(img->width == 640 && img->height == 360 && img->format == DESK_IMAGE_JPEG,
                "jpeg at half scale: %dx%d", img->width, img->height);
        CHECK(!img->has_cursor, "no cursor without show_cursor on a compressed route");
        image_free(&im);
    }
    desk_image_free(img);

    /* Lossless WebP of a region: pixel-exact. */
    const struct desk_compress webp = {.format = DESK_IMAGE_WEBP, .quality = 100};
    CHECK_OK(desk_screenshot_region_compressed(c, &r, &webp, &img));
    if (img && decode(img, &im, "webp") == 0) {
        CHECK(img->format == DESK_IMAGE_WEBP && img->width == 200, "webp region");
        check_pattern(&im, 600, 400, "region webp");
        image_free(&im);
    }
    desk_image_free(img);

    /* The cursor in the returned image's space: relative to the region, then scaled. */
    CHECK_OK(desk_mouse_move(c, 700, 400, NULL));
    const struct desk_rect cr = {600, 300, 400, 200};
    const struct desk_compress cur = {.format = DESK_IMAGE_PNG, .scale = 0.5, .show_cursor = true};
    CHECK_OK(desk_screenshot_region_compressed(c, &cr, &cur, &img));
    CHECK(img && img->has_cursor && img->cursor.x == 50 && img->cursor.y == 50 &&
                    img->width == 200 && img->height == 100,
            "cursor at %d,%d in a %dx%d image", img ? img->cursor.x : -1, img ? img->cursor.y : -1,
            img ? img->width : -1, img ? img->height : -1);
    desk_image_free(img);

    /* The JSON form (base64, as Daytona's server sends) gives the same image. */
    struct desk_image *bin = NULL, *js = NULL;
    CHECK_OK(desk_screenshot_region(c, &r, false, &bin));
    CHECK_OK(desk_client_set_binary_screenshots(c, false));
    CHECK_OK(desk_screenshot_region(c, &r, false, &js));
    CHECK_OK(desk_client_set_binary_screenshots(c, true));
    struct image a, b;
    if (bin && js && decode(bin, &a, "png") == 0) {
        if (decode(js, &b, "png") == 0) {
            CHECK(a.width == b.width && a.height == b.height &&
                            memcmp(a.rgb, b.rgb, (size_t)a.width * (size_t)a.height * 3) == 0,
                    "binary and JSON forms decode to the same pixels");
            CHECK(js->has_cursor && js->region.x == 600, "JSON form's metadata");
            image_free(&b);
        }
        image_free(&a);
    }
    desk_image_free(bin);
    desk_image_free(js);

    /* Rejected parameters come back as the server's sentence. */
    const struct desk_rect zero = {0, 0, 0, 10};
    CHECK(desk_screenshot_region(c, &zero, false, &img) == DESK_ERR_BAD_REQUEST && !img,
            "width 0: %s", desk_last_error(c));
    CHECK(desk_last_http_status(c) == 400 && strstr(desk_last_error(c), "width"),
            "names width: %ld %s", desk_last_http_status(c), desk_last_error(c));
    const struct desk_compress badq = {.format = DESK_IMAGE_JPEG, .quality = 500};
    CHECK(desk_screenshot_compressed(c, &badq, &img) == DESK_ERR_BAD_REQUEST &&
                    strstr(desk_last_error(c), "quality") && *desk_last_error_code(c),
            "quality 500: %s", desk_last_error(c));

    /* Over the reply cap: an error, no image, and the handle still works afterwards. */
    CHECK_OK(desk_client_set_max_reply(c, 4096));
    CHECK(desk_screenshot(c, false, &img) == DESK_ERR_TOO_LARGE && !img, "cap: %s",
            desk_last_error(c));
    CHECK_OK(desk_client_set_max_reply(c, 64u << 20));
    CHECK_OK(desk_screenshot(c, false, &img));
    desk_image_free(img);
}

struct button_ev {
    char what[16];
    int button, x, y;
};

static int buttons(struct button_ev *out, int max) {
    int n = 0;
    for (int i = 0; i < ev.nlines && n < max; i++) {
        struct button_ev b;
        if (sscanf(ev.lines[i], "%15s %d %d %d", b.what, &b.button, &b.x, &b.y) == 4 &&
                (strcmp(b.what, "press") == 0 || strcmp(b.what, "release") == 0))
            out[n++] = b;
    }
    return n;
}

static void test_mouse(void) {
    struct desk_point p = {-1, -1};
    struct button_ev b[64];
    CHECK_OK(desk_mouse_move(c, 120, 80, &p));
    CHECK(p.x == 120 && p.y == 80, "move answered %d,%d", p.x, p.y);
    p = (struct desk_point){-1, -1};
    CHECK_OK(desk_mouse_position(c, &p));
    CHECK(p.x == 120 && p.y == 80, "position %d,%d", p.x, p.y);

    CHECK_OK(desk_mouse_click(c, 200, 150, DESK_BUTTON_LEFT, false, &p));
    CHECK(p.x == 200 && p.y == 150, "click answered %d,%d", p.x, p.y);
    if (collect()) {
        int n = buttons(b, 64);
        CHECK(n == 2 && b[0].button == 1 && b[0].x == 200 && b[0].y == 150 &&
                        !strcmp(b[1].what, "release"),
                "click: %d button events", n);
    }
    CHECK_OK(desk_mouse_click(c, 210, 160, DESK_BUTTON_RIGHT, false, NULL));
    if (collect())
        CHECK(buttons(b, 64) == 2 && b[0].button == 3, "right click is button 3");
    CHECK_OK(desk_mouse_click(c, 220, 170, DESK_BUTTON_MIDDLE, true, NULL));
    if (collect()) {
        int n = buttons(b, 64);
        CHECK(n == 4 && b[0].button == 2 && b[2].button == 2, "middle double click: %d events", n);
    }

    CHECK_OK(desk_mouse_drag(c, 150, 100, 300, 220, DESK_BUTTON_LEFT, &p));
    CHECK(p.x == 300 && p.y == 220, "drag answered %d,%d", p.x, p.y);
    if (collect()) {
        int n = buttons(b, 64);
        CHECK(n == 2 && b[0].x == 150 && b[0].y == 100 && b[1].x == 300 && b[1].y == 220,
                "drag: %d events, press %d,%d release %d,%d", n, b[0].x, b[0].y, b[1].x, b[1].y);
    }

    CHECK_OK(desk_mouse_scroll(c, 250, 200, DESK_SCROLL_DOWN, 3));
    if (collect()) {
        int n = buttons(b, 64), presses = 0;
        for (int i = 0; i < n; i++)
            presses += !strcmp(b[i].what, "press") && b[i].button == 5;
        CHECK(presses == 3, "scroll down 3: %d presses of button 5", presses);
    }
    CHECK_OK(desk_mouse_scroll(c, 250, 200, DESK_SCROLL_LEFT, 0));
    if (collect())
        CHECK(buttons(b, 64) == 2 && b[0].button == 6, "scroll left is button 6");

    CHECK(desk_mouse_scroll(c, 1, 1, DESK_SCROLL_UP, -1) == DESK_ERR_BAD_REQUEST &&
                    strstr(desk_last_error(c), "amount"),
            "negative amount: %s", desk_last_error(c));
    CHECK(desk_mouse_click(c, 1, 1, (enum desk_button)9, false, NULL) == DESK_ERR_INVALID_ARG,
            "unknown button refused by the client");
}

static void test_keyboard(void) {
    CHECK_OK(desk_keyboard_type(c, "Hello, Wörld ✓\n", 0));
    if (collect()) {
        char *got = evproc_text(&ev);
        CHECK(got && strcmp(got, "Hello, Wörld ✓\r") == 0, "typed \"%s\"", got ? got : "");
        free(got);
    }
    const char *mods[] = {"ctrl"};
    CHECK_OK(desk_keyboard_key(c, "c", mods, 1));
    if (collect()) {
        bool found = false;
        for (int i = 0; i < ev.nlines; i++) {
            unsigned state = 0;
            char name[64];
            if (sscanf(ev.lines[i], "key %63s 0x%x", name, &state) == 2 && !strcmp(name, "c"))
                found = (state & ControlMask) != 0;
        }
        CHECK(found, "c arrived with Control");
    }
    CHECK_OK(desk_keyboard_hotkey(c, "ctrl+shift+t"));
    if (collect()) {
        bool found = false;
        for (int i = 0; i < ev.nlines; i++) {
            unsigned state = 0;
            char name[64];
            if (sscanf(ev.lines[i], "key %63s 0x%x", name, &state) == 2 &&
                    (!strcmp(name, "t") || !strcmp(name, "T")))
                found = (state & (ControlMask | ShiftMask)) == (ControlMask | ShiftMask);
        }
        CHECK(found, "t arrived with Control and Shift");
    }
    /* Rejections: the server's words, and nothing typed. */
    CHECK(desk_keyboard_key(c, "FooBar", NULL, 0) == DESK_ERR_BAD_REQUEST &&
                    strstr(desk_last_error(c), "unsupported key \"FooBar\""),
            "FooBar: %s", desk_last_error(c));
    const char *bad[] = {"c"};
    CHECK(desk_keyboard_key(c, "x", bad, 1) == DESK_ERR_BAD_REQUEST &&
                    strstr(desk_last_error(c), "unsupported modifier"),
            "modifier c: %s", desk_last_error(c));
    CHECK(desk_keyboard_hotkey(c, "ctrl++c") == DESK_ERR_BAD_REQUEST, "ctrl++c");
    CHECK(desk_keyboard_type(c, "a\tb", 0) == DESK_ERR_BAD_REQUEST &&
                    strstr(desk_last_error(c), "U+0009"),
            "tab: %s", desk_last_error(c));
    CHECK(desk_keyboard_type(c, "\xff", 0) == DESK_ERR_INVALID_ARG,
            "invalid UTF-8 is refused before sending: %s", desk_last_error(c));
    if (collect())
        CHECK(ev.nlines == 0, "rejected requests produced %d events", ev.nlines);
}

static bool has_name(char **names, size_t n, const char *name) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            return true;
    return false;
}

static void test_actions(void) {
    struct button_ev b[64];
    desk_actions *a = desk_actions_new();
    desk_act_click(a, 200, 150, DESK_BUTTON_LEFT, 1);
    desk_act_type(a, "ok");
    desk_act_click(a, 210, 160, DESK_BUTTON_BACK, 1);
    desk_act_hold_keys(a, "shift+ctrl");
    desk_act_drag(a, 150, 100, 300, 220, DESK_BUTTON_LEFT);
    desk_actions_observe(a, &(struct desk_compress){.format = DESK_IMAGE_JPEG, .scale = 0.5});
    struct desk_actions_result *res = NULL;
    CHECK_OK(desk_actions_run(c, a, &res));
    desk_actions_free(a);
    if (res) {
        CHECK(res->completed == 4 && res->failed_index == -1, "4 actions ran");
        CHECK(res->has_point[0] && res->points[0].x == 200 && res->points[0].y == 150 &&
                        !res->has_point[1] && res->points[3].x == 300 && res->points[3].y == 220,
                "the pointer actions answer where the pointer went");
        CHECK(res->screenshot && res->screenshot->width == 640 &&
                        res->screenshot->format == DESK_IMAGE_JPEG && res->screenshot->size > 100,
                "observe gave a 640-wide JPEG");
    }
    desk_actions_result_free(res);
    if (collect()) {
        int n = buttons(b, 64);
        CHECK(n == 6 && b[2].button == 8 && b[4].x == 150, "click, back click, drag: %d events", n);
        char *got = evproc_text(&ev);
        CHECK(got && strcmp(got, "ok") == 0, "the batch typed \"%s\"", got ? got : "");
        free(got);
    }

    /* A batch in a space: its answers are in that space too. */
    a = desk_actions_new();
    desk_actions_space(a, &(struct desk_space){640, 360, {0, 0, 0, 0}});
    desk_act_move(a, 100.4, 60.2);
    CHECK_OK(desk_actions_run(c, a, &res));
    CHECK(res && res->points[0].x == 100 && res->points[0].y == 60, "the answer in the space");
    desk_actions_result_free(res);
    desk_actions_free(a);
    struct desk_point p = {0, 0};
    CHECK_OK(desk_mouse_position(c, &p));
    CHECK(p.x == 201 && p.y == 121, "100.4,60.2 of 640x360 is screen 201,121: %d,%d", p.x, p.y);

    /* The client's space applies to the single pointer calls. */
    CHECK_OK(desk_client_set_space(c, &(struct desk_space){320, 180, {0, 0, 0, 0}}));
    CHECK_OK(desk_mouse_move(c, 50, 30, &p));
    CHECK(p.x == 50 && p.y == 30, "move in 320x180 answers %d,%d", p.x, p.y);
    CHECK_OK(desk_client_set_space(c, NULL));
    CHECK_OK(desk_mouse_position(c, &p));
    CHECK(p.x == 202 && p.y == 122, "50,30 of 320x180 is screen 202,122: %d,%d", p.x, p.y);

    /* A bad action: the server's sentence names it; a builder mistake never leaves. */
    a = desk_actions_new();
    desk_act_key(a, "a", 0);
    desk_act_key(a, "FooBar", 0);
    CHECK(desk_actions_run(c, a, &res) == DESK_ERR_BAD_REQUEST && !res &&
                    strstr(desk_last_error(c), "actions[1].key"),
            "bad action 1: %s", desk_last_error(c));
    desk_actions_free(a);
    a = desk_actions_new();
    desk_act_type(a, NULL);
    CHECK(desk_actions_run(c, a, &res) == DESK_ERR_INVALID_ARG && !res, "NULL text: %s",
            desk_last_error(c));
    desk_actions_free(a);

    /* Held keys and buttons. */
    CHECK_OK(desk_keyboard_down(c, "shift"));
    CHECK_OK(desk_mouse_down(c, DESK_BUTTON_LEFT, &(struct desk_point){220, 170}));
    struct desk_held *h = NULL;
    CHECK_OK(desk_input_held(c, &h));
    CHECK(h && has_name(h->keys, h->nkeys, "Shift_L") && has_name(h->buttons, h->nbuttons, "left"),
            "held: Shift_L and left");
    desk_held_free(h);
    CHECK_OK(desk_mouse_up(c, DESK_BUTTON_LEFT, NULL));
    CHECK_OK(desk_input_release(c));
    CHECK_OK(desk_input_held(c, &h));
    CHECK(h && h->nkeys == 0 && h->nbuttons == 0, "nothing held after release");
    desk_held_free(h);
    check_nothing_held(dpy, "desk_input_release");
    if (collect())
        CHECK(buttons(b, 64) == 2, "mouse down and up: one press, one release");
}

static void test_displays_windows(void) {
    struct desk_display_info *info = NULL;
    CHECK_OK(desk_display_info(c, &info));
    if (info) {
        CHECK(info->count == 1 && info->total == 1, "one display, %zu", info->count);
        CHECK(info->count && info->displays[0].width == 1280 && info->displays[0].height == 720 &&
                        info->displays[0].id == 0,
                "1280x720");
        CHECK(info->primary.id == 0 && info->primary.width == 1280, "primary");
    }
    desk_display_info_free(info);

    /* No window manager runs: publish evlog's window the way one would. */
    Window root = DefaultRootWindow(dpy);
    Window w = (Window)ev.window;
    XChangeProperty(dpy, root, XInternAtom(dpy, "_NET_CLIENT_LIST", False), XA_WINDOW, 32,
            PropModeReplace, (unsigned char *)&w, 1);
    XChangeProperty(dpy, root, XInternAtom(dpy, "_NET_ACTIVE_WINDOW", False), XA_WINDOW, 32,
            PropModeReplace, (unsigned char *)&w, 1);
    XSync(dpy, False);
    struct desk_window_list *wl = NULL;
    CHECK_OK(desk_display_windows(c, &wl));
    if (wl && wl->count == 1) {
        const struct desk_window *d = &wl->windows[0];
        CHECK(d->id == ev.window, "id 0x%lx, expected 0x%lx", d->id, ev.window);
        CHECK_STR(d->title, "client-lib ✓");
        CHECK(d->x == WIN_X && d->y == WIN_Y && d->width == WIN_W && d->height == WIN_H,
                "geometry %d,%d %dx%d", d->x, d->y, d->width, d->height);
        CHECK(d->active, "active");
        CHECK(d->pid == ev.pid, "pid %ld, evlog is %d", d->pid, (int)ev.pid);
    } else {
        CHECK(false, "expected one window, got %zu", wl ? wl->count : 0);
    }
    desk_window_list_free(wl);
    XDeleteProperty(dpy, root, XInternAtom(dpy, "_NET_CLIENT_LIST", False));
    XSync(dpy, False);
    CHECK_OK(desk_display_windows(c, &wl));
    CHECK(wl && wl->count == 0 && wl->windows == NULL, "no managed windows: an empty list");
    desk_window_list_free(wl);
}

/* A route this deskd does not have yet answers 404 "no route ..." */
static bool no_route(enum desk_status st) {
    return st == DESK_ERR_NOT_FOUND && strncmp(desk_last_error(c), "no route", 8) == 0;
}

/* OK, or 409 (deskd --attach supervises nothing). */
static bool ok_or_conflict(enum desk_status st) {
    return st == DESK_OK || (st == DESK_ERR_CONFLICT && *desk_last_error(c));
}

static void test_processes(void) {
    enum desk_desktop_state s = (enum desk_desktop_state) - 1;
    enum desk_status st = desk_computeruse_status(c, &s);
    if (no_route(st)) {
        printf("note: this deskd has no process routes yet; checked that they answer 404\n");
        char *text = NULL;
        CHECK(desk_process_logs(c, "xvfb", &text) == DESK_ERR_NOT_FOUND && !text, "logs 404");
        CHECK(desk_computeruse_process_status(c, &s) == DESK_ERR_NOT_FOUND, "process-status");
        return;
    }
    CHECK(ok_or_conflict(st), "status: %s %s", desk_status_name(st), desk_last_error(c));
    if (st == DESK_OK)
        CHECK(desk_desktop_state_name(s), "a known state");
    enum desk_desktop_state s2;
    st = desk_computeruse_process_status(c, &s2);
    CHECK(ok_or_conflict(st), "process-status: %s", desk_last_error(c));

    bool running = true;
    st = desk_process_status(c, "xvfb", &running);
    CHECK(ok_or_conflict(st), "process xvfb status: %s", desk_last_error(c));
    char *text = NULL;
    st = desk_process_logs(c, "xvfb", &text);
    CHECK(ok_or_conflict(st) && (st != DESK_OK || text), "logs: %s", desk_last_error(c));
    desk_free(text);
    st = desk_process_errors(c, "xvfb", &text);
    CHECK(ok_or_conflict(st) && (st != DESK_OK || text), "errors: %s", desk_last_error(c));
    desk_free(text);

    /* An unknown name: 404 listing the valid ones. */
    st = desk_process_status(c, "nonesuch", &running);
    CHECK(st == DESK_ERR_NOT_FOUND && strstr(desk_last_error(c), "xvfb"), "unknown process: %s %s",
            desk_status_name(st), desk_last_error(c));
    st = desk_process_restart(c, "no such/name", NULL);
    CHECK(st == DESK_ERR_NOT_FOUND, "restart of an unknown name: %s", desk_last_error(c));

    /* With --attach, stop and start must leave our X server alone. */
    struct desk_processes *ps = NULL;
    st = desk_computeruse_stop(c, &ps);
    CHECK(ok_or_conflict(st) && (st != DESK_OK || ps), "stop: %s", desk_last_error(c));
    desk_processes_free(ps);
    st = desk_computeruse_start(c, &ps);
    CHECK(ok_or_conflict(st) && (st != DESK_OK || ps), "start: %s", desk_last_error(c));
    desk_processes_free(ps);
    struct desk_point p;
    CHECK_OK(desk_mouse_position(c, &p));
}

static void test_vnc(void) {
    struct desk_vnc *v = NULL;
    enum desk_status st = desk_vnc(c, &v);
    if (no_route(st)) {
        printf("note: this deskd has no /computeruse/vnc yet\n");
        return;
    }
    CHECK(st == DESK_OK || st == DESK_ERR_CONFLICT || st == DESK_ERR_UNAVAILABLE, "vnc: %s %s",
            desk_status_name(st), desk_last_error(c));
    if (st == DESK_OK)
        CHECK(v && !strncmp(v->url, "http", 4), "vnc url %s", v ? v->url : "");
    desk_vnc_free(v);
}

/*
 * The accessibility calls as far as a deskd without an accessibility bus answers them
 * (test-a11y drives them on a real desktop): the bus's absence is DESK_ERR_UNAVAILABLE
 * with Daytona's code, bad input the server's 400s, and what the library can tell is
 * wrong never leaves it.
 */
static void test_a11y(void) {
    char *json = NULL;
    enum desk_status st = desk_a11y_tree(c, "all", 0, -1, &json);
    CHECK(st == DESK_ERR_UNAVAILABLE && json == NULL &&
                    strcmp(desk_last_error_code(c), "A11Y_UNAVAILABLE") == 0 &&
                    strstr(desk_last_error(c), "accessibility bus not reachable"),
            "tree without a bus: %s %s %s", desk_status_name(st), desk_last_error_code(c),
            desk_last_error(c));
    st = desk_a11y_find(c, "{\"scope\":\"sideways\"}", &json);
    CHECK(st == DESK_ERR_BAD_REQUEST && strcmp(desk_last_error_code(c), "A11Y_INVALID_SCOPE") == 0,
            "find with a bad scope: %s %s", desk_status_name(st), desk_last_error_code(c));
    st = desk_a11y_focus(c, "no-path");
    CHECK(st == DESK_ERR_BAD_REQUEST &&
                    strcmp(desk_last_error_code(c), "A11Y_INVALID_REQUEST") == 0 &&
                    strstr(desk_last_error(c), "missing object path"),
            "focus of a malformed id: %s %s", desk_status_name(st), desk_last_error(c));
    st = desk_a11y_invoke(c, ":1.5:/org/a11y/atspi/accessible/1", "click");
    CHECK(st == DESK_ERR_UNAVAILABLE, "invoke without a bus: %s", desk_status_name(st));
    long http = desk_last_http_status(c);
    CHECK(desk_a11y_tree(c, "sideways", 0, -1, &json) == DESK_ERR_INVALID_ARG &&
                    desk_last_http_status(c) == 0,
            "a bad scope is refused before a request (HTTP %ld, before %ld)",
            desk_last_http_status(c), http);
    CHECK_INT(desk_a11y_find(c, "[1]", &json), DESK_ERR_INVALID_ARG);
    CHECK_INT(desk_a11y_value(c, ":1.5:/x", NULL), DESK_ERR_INVALID_ARG);
    CHECK(json == NULL, "no answer on failures");
    /* A model's tool call: a bad provider or call is refused before a request; a model's
     * mistake is an answer saying so. */
    CHECK_INT(desk_tool_call(c, "gemini", "{}", &json), DESK_ERR_INVALID_ARG);
    CHECK_INT(desk_tool_call(c, "openai", "[1]", &json), DESK_ERR_INVALID_ARG);
    CHECK(json == NULL, "no answer on failures");
    st = desk_tool_call(c, "anthropic", "{\"action\":\"fly\"}", &json);
    CHECK(st == DESK_OK && json && strstr(json, "\"is_error\":true") &&
                    strstr(json, "not a computer action"),
            "a model's unknown action is an answer with is_error: %s %s", desk_status_name(st),
            json ? json : "");
    desk_free(json);
}

static void test_auth(const char *url) {
    desk_client *anon = desk_client_new(url);
    char *version = NULL;
    CHECK(desk_health(anon, &version) == DESK_OK && version && *version,
            "healthz needs no token: %s", desk_last_error(anon));
    desk_free(version);
    struct desk_point p;
    CHECK_INT(desk_mouse_position(anon, &p), DESK_ERR_UNAUTHORIZED);
    CHECK_INT(desk_last_http_status(anon), 401);
    CHECK(strstr(desk_last_error(anon), "bearer token"), "401 message: %s", desk_last_error(anon));
    CHECK_STR(desk_last_error_code(anon), "UNAUTHORIZED");
    CHECK_OK(desk_client_set_token(anon, "wrong"));
    struct desk_image *img = NULL;
    CHECK(desk_screenshot(anon, false, &img) == DESK_ERR_UNAUTHORIZED && !img, "wrong token");
    desk_client_free(anon);
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Informational: client-side p50 of the agent's two hot calls on this handle. */
static void timings(void) {
    enum { N = 31 };
    double jpeg[N], json[N], click[N];
    const struct desk_compress q = {.format = DESK_IMAGE_JPEG, .quality = 75};
    struct desk_image *img = NULL;
    for (int i = 0; i < N; i++) {
        double t0 = now_ms();
        if (desk_screenshot_compressed(c, &q, &img) != DESK_OK)
            break;
        jpeg[i] = now_ms() - t0;
        desk_image_free(img);
    }
    CHECK_OK(desk_client_set_binary_screenshots(c, false));
    for (int i = 0; i < N; i++) {
        double t0 = now_ms();
        if (desk_screenshot_compressed(c, &q, &img) != DESK_OK)
            break;
        json[i] = now_ms() - t0;
        desk_image_free(img);
    }
    CHECK_OK(desk_client_set_binary_screenshots(c, true));
    /* On the bare root, right of evlog's window: evlog sees none of these. */
    for (int i = 0; i < N; i++) {
        double t0 = now_ms();
        if (desk_mouse_click(c, 900 + i, 500, DESK_BUTTON_LEFT, false, NULL) != DESK_OK)
            break;
        click[i] = now_ms() - t0;
    }
    if (check_failed)
        return;
    qsort(jpeg, N, sizeof jpeg[0], cmp_double);
    qsort(json, N, sizeof json[0], cmp_double);
    qsort(click, N, sizeof click[0], cmp_double);
    printf("timing (1280x720, %d runs): jpeg q75 binary p50 %.2f ms, jpeg q75 JSON p50 %.2f ms, "
           "click p50 %.3f ms\n",
            N, jpeg[N / 2], json[N / 2], click[N / 2]);
}

int main(void) {
    check_timeout(120);
    check_require_tool("Xvfb");
    struct xserver xs;
    if (xserver_start_xvfb(&xs, 1280, 720) < 0)
        return 1;
    dpy = XOpenDisplay(xs.name);
    struct deskd_proc d;
    const char *args[] = {"--token", TOKEN, "--attach", NULL};
    /* deskd's session bus (where it looks for the accessibility bus) is one that is not. */
    setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/desk-test-bus", 1);
    if (!dpy || pattern_paint(dpy, SEED) < 0 ||
            evproc_start(&ev, xs.name, WIN_X, WIN_Y, WIN_W, WIN_H, "client-lib ✓") < 0 ||
            deskd_start(&d, xs.name, args) < 0) {
        CHECK(false, "set-up failed");
        xserver_stop(&xs);
        return check_finish();
    }
    c = desk_client_new(d.url);
    CHECK(c && desk_last_status(c) == DESK_OK, "handle for %s", d.url);
    CHECK_OK(desk_client_set_token(c, TOKEN));
    CHECK_STR(desk_client_url(c), d.url);

    test_auth(d.url);
    test_screenshots();
    test_mouse();
    test_keyboard();
    test_actions();
    test_displays_windows();
    test_processes();
    test_vnc();
    test_a11y();
    timings();
    /* Every call above went over one kept-alive connection, except after the reply that
     * was over the cap: the client stops reading it, so that connection cannot be reused. */
    CHECK(desk_client_connections(c) == 2, "%ld connections", desk_client_connections(c));

    CHECK_INT(deskd_stop(&d), 0);
    struct desk_point p;
    enum desk_status st = desk_mouse_position(c, &p);
    CHECK(st == DESK_ERR_CONNECT && desk_last_http_status(c) == 0 && *desk_last_error(c),
            "stopped server: %s %s", desk_status_name(st), desk_last_error(c));
    desk_client_free(c);
    if (check_failed)
        deskd_dump_log(&d);
    evproc_stop(&ev);
    XCloseDisplay(dpy);
    xserver_stop(&xs);
    return check_finish();
}
