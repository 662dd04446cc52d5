/*
 * test-capture-lib: capture.c and cursor.c against a private Xvfb: a pattern
 * painted on the root window must come back exactly, through MIT-SHM and
 * through the XGetImage fallback (DESK_NO_SHM=1), including rectangles
 * reaching off screen (black there), the cursor overlay, errors of other
 * requests reaching the application's own error handler, and an unsupported
 * visual (depth 16) failing cleanly.
 */
#include <X11/Xlib.h>
#include <X11/Xutil.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "check.h"
#include "xserver.h"

#define W 640
#define H 480

static void pattern(int x, int y, uint8_t *r, uint8_t *g, uint8_t *b) {
    *r = (uint8_t)(x * 3 + y);
    *g = (uint8_t)(y * 5 + (x >> 3));
    *b = (uint8_t)((x ^ y) + 17);
}

static void paint_root(Display *dpy) {
    Window root = DefaultRootWindow(dpy);
    char *data = malloc((size_t)W * H * 4);
    XImage *img = XCreateImage(
            dpy, DefaultVisual(dpy, DefaultScreen(dpy)), 24, ZPixmap, 0, data, W, H, 32, 0);
    for (int y = 0; y < H; y++) {
        for (int x = 0; x < W; x++) {
            uint8_t r, g, b;
            pattern(x, y, &r, &g, &b);
            XPutPixel(img, x, y, (unsigned long)r << 16 | (unsigned long)g << 8 | b);
        }
    }
    GC gc = XCreateGC(dpy, root, 0, NULL);
    XPutImage(dpy, root, gc, img, 0, 0, 0, 0, W, H);
    XFreeGC(dpy, gc);
    XDestroyImage(img);
    XSync(dpy, False);
}

/* Counts pixels of f (root origin x, y) that differ from the pattern, or from black off screen. */
static long check_frame(const struct frame *f, int x0, int y0) {
    long bad = 0;
    for (int y = 0; y < f->height; y++) {
        for (int x = 0; x < f->width; x++) {
            int rx = x0 + x, ry = y0 + y;
            uint8_t r = 0, g = 0, b = 0;
            if (rx >= 0 && ry >= 0 && rx < W && ry < H)
                pattern(rx, ry, &r, &g, &b);
            const uint8_t *p = f->px + (size_t)y * (size_t)f->stride + 4 * (size_t)x;
            bad += p[0] != b || p[1] != g || p[2] != r;
        }
    }
    return bad;
}

static void check_grabs(Display *dpy, bool want_shm) {
    struct capture *c = capture_new(dpy);
    CHECK(c != NULL, "capture_new");
    if (!c)
        return;
    CHECK(capture_uses_shm(c) == want_shm, "capture_uses_shm = %d", capture_uses_shm(c));
    static const int rects[][4] = {
            {0, 0, W, H},          /* whole screen */
            {100, 50, 37, 23},     /* inside */
            {0, 0, W, H},          /* whole again, after a size change */
            {-10, -5, 40, 30},     /* top left corner off screen */
            {600, 450, 100, 100},  /* bottom right off screen */
            {-20, 100, W + 40, 7}, /* wider than the screen */
            {W, 0, 10, 10},        /* wholly off screen */
            {-100, -100, 50, 50},  /* wholly off screen, negative */
            {W - 1, H - 1, 1, 1},  /* last pixel */
            {5, 7, 1, 1},
    };
    for (size_t i = 0; i < sizeof rects / sizeof rects[0]; i++) {
        const int *r = rects[i];
        struct frame f = {0};
        int rc = capture_grab(c, r[0], r[1], r[2], r[3], &f);
        CHECK(rc == 0, "grab %d,%d %dx%d (shm %d): %d", r[0], r[1], r[2], r[3], want_shm, rc);
        if (rc)
            continue;
        CHECK(f.width == r[2] && f.height == r[3] && f.stride >= 4 * f.width,
                "frame %dx%d stride %d", f.width, f.height, f.stride);
        long bad = check_frame(&f, r[0], r[1]);
        CHECK(bad == 0, "grab %d,%d %dx%d (shm %d): %ld pixels wrong", r[0], r[1], r[2], r[3],
                want_shm, bad);
    }
    CHECK_INT(capture_grab(c, 0, 0, 0, 10, &(struct frame){0}), -EINVAL);

    /* The caller may write into the frame; the next grab is fresh anyway. */
    struct frame f;
    if (capture_grab(c, 0, 0, W, H, &f) == 0)
        memset(f.px, 0x55, (size_t)f.stride * 10);
    if (capture_grab(c, 0, 0, W, H, &f) == 0)
        CHECK(check_frame(&f, 0, 0) == 0, "grab after the caller scribbled on the last frame");
    capture_destroy(c);
}

static int app_errors;

static int app_handler(Display *dpy, XErrorEvent *ev) {
    (void)dpy;
    (void)ev;
    app_errors++;
    return 0;
}

/* An error of someone else's request, arriving during a grab, is not the grab's. */
static void check_error_passthrough(Display *dpy) {
    XErrorHandler old = XSetErrorHandler(app_handler);
    struct capture *c = capture_new(dpy);
    app_errors = 0;
    XMapWindow(dpy, (Window)0x7fffff); /* BadWindow, reported asynchronously */
    struct frame f;
    int rc = capture_grab(c, 10, 10, 20, 20, &f);
    XSync(dpy, False);
    CHECK_INT(rc, 0);
    CHECK_INT(app_errors, 1);
    CHECK(XSetErrorHandler(old) == app_handler, "the application's error handler was restored");
    capture_destroy(c);
}

/* A solid 8x8 cursor of colour (255, 0, 255), hotspot (2, 3). */
static void set_square_cursor(Display *dpy) {
    Window root = DefaultRootWindow(dpy);
    static const char bits[8] = {-1, -1, -1, -1, -1, -1, -1, -1};
    Pixmap src = XCreateBitmapFromData(dpy, root, bits, 8, 8);
    XColor fg = {.red = 0xffff, .green = 0, .blue = 0xffff, .flags = DoRed | DoGreen | DoBlue};
    XColor bg = {.flags = DoRed | DoGreen | DoBlue};
    Cursor cur = XCreatePixmapCursor(dpy, src, src, &fg, &bg, 2, 3);
    XDefineCursor(dpy, root, cur);
    XFreeCursor(dpy, cur);
    XFreePixmap(dpy, src);
    XWarpPointer(dpy, None, root, 0, 0, 0, 0, 200, 150);
    XSync(dpy, False);
}

static long count_cursor(const struct frame *f, int fx, int fy, long *other_bad) {
    long magenta = 0;
    *other_bad = 0;
    for (int y = 0; y < f->height; y++) {
        for (int x = 0; x < f->width; x++) {
            int rx = fx + x, ry = fy + y;
            const uint8_t *p = f->px + (size_t)y * (size_t)f->stride + 4 * (size_t)x;
            bool in = rx >= 198 && rx < 206 && ry >= 147 && ry < 155;
            if (in) {
                magenta += p[0] == 255 && p[1] == 0 && p[2] == 255;
            } else {
                uint8_t r = 0, g = 0, b = 0;
                if (rx >= 0 && ry >= 0 && rx < W && ry < H)
                    pattern(rx, ry, &r, &g, &b);
                *other_bad += p[0] != b || p[1] != g || p[2] != r;
            }
        }
    }
    return magenta;
}

static void check_cursor(Display *dpy) {
    set_square_cursor(dpy);
    struct capture *c = capture_new(dpy);
    static const struct {
        int x, y, w, h;
        long want; /* cursor pixels inside the frame */
    } t[] = {
            {150, 100, 100, 100, 64}, /* cursor wholly inside */
            {202, 151, 50, 50, 16},   /* cursor cut at the frame's top left */
            {150, 100, 48, 47, 0},    /* cursor just outside, bottom right */
            {300, 300, 20, 20, 0},    /* far away */
            {190, 140, 10, 10, 6},    /* cut at the frame's bottom right: 2 x 3 */
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        struct frame f;
        int px = -1, py = -1;
        if (capture_grab(c, t[i].x, t[i].y, t[i].w, t[i].h, &f) != 0) {
            CHECK(0, "grab for the cursor test failed");
            continue;
        }
        CHECK_INT(capture_draw_cursor(dpy, &f, t[i].x, t[i].y, &px, &py), 0);
        CHECK(px == 200 && py == 150, "pointer at %d,%d, expected 200,150", px, py);
        long other;
        long n = count_cursor(&f, t[i].x, t[i].y, &other);
        CHECK(n == t[i].want && other == 0,
                "cursor in frame %d,%d %dx%d: %ld cursor pixels (expected %ld), %ld others wrong",
                t[i].x, t[i].y, t[i].w, t[i].h, n, t[i].want, other);
    }
    capture_destroy(c);
    XUndefineCursor(dpy, DefaultRootWindow(dpy));
    XSync(dpy, False);
}

static void check_depth16(void) {
    struct xserver xs;
    const char *argv[] = {"Xvfb", "-screen", "0", "320x240x16", "-nolisten", "tcp", NULL};
    if (xserver_start(&xs, argv, NULL) < 0) {
        CHECK(0, "Xvfb at depth 16 did not start");
        return;
    }
    Display *dpy = XOpenDisplay(xs.name);
    CHECK(dpy != NULL, "XOpenDisplay %s", xs.name);
    if (dpy) {
        struct capture *c = capture_new(dpy);
        struct frame f;
        CHECK(c != NULL, "capture_new at depth 16");
        CHECK_INT(capture_grab(c, 0, 0, 10, 10, &f), -EIO);
        capture_destroy(c);
        XCloseDisplay(dpy);
    }
    xserver_stop(&xs);
}

int main(void) {
    check_timeout(60);
    check_require_tool("Xvfb");
    struct xserver xs;
    if (xserver_start_xvfb(&xs, W, H) < 0) {
        CHECK(0, "Xvfb did not start");
        return check_finish();
    }
    Display *dpy = XOpenDisplay(xs.name);
    CHECK(dpy != NULL, "XOpenDisplay %s", xs.name);
    if (dpy) {
        /* Keep the pointer's software sprite away from the pattern checks' corner cases. */
        XWarpPointer(dpy, None, DefaultRootWindow(dpy), 0, 0, 0, 0, 320, 240);
        paint_root(dpy);
        unsetenv("DESK_NO_SHM");
        check_grabs(dpy, true);
        setenv("DESK_NO_SHM", "1", 1);
        check_grabs(dpy, false);
        unsetenv("DESK_NO_SHM");
        check_error_passthrough(dpy);
        check_cursor(dpy);
        XCloseDisplay(dpy);
    }
    xserver_stop(&xs);
    check_depth16();
    return check_finish();
}
