/*
 * bench-input: times deskd's mouse and keyboard routes from the client's side and, in the
 * same run, the way peers do the same with xdotool run as a subprocess, timed from spawn to
 * exit. It starts its own 1920x1080 Xvfb (no window manager), paints the root window with a
 * text-like picture (so that screenshots cost what they cost on a desktop), maps the tests'
 * X client evlog as a focused window and starts deskd on that display.
 *
 * Every case is checked against what evlog received: the motions, the button presses at the
 * right place, the keys with their modifiers, and every character typed (its UTF-8 text, in
 * order). After each case a marker key (F1) is tapped through deskd and evlog's lines are
 * read up to it, so waiting is on evlog's output, never on a timer. A deskd case whose
 * events do not match fails the run; a peer's mismatch is reported only.
 *
 * Every request to deskd goes through libdesk: one kept-alive handle for the cases and the
 * markers, and one of its own for the thread of the load case.
 *
 * One case clicks while a second thread, with its own handle, takes full-screen PNG
 * screenshots in a loop: input must not wait behind an encode.
 *
 * It fails when something cannot run, deskd answers wrongly or an X client receives the
 * wrong thing; slow numbers are reported (ok/MISSED), and fail the run only with --strict.
 * Clean-up, timeout and signals are bench-util's supervisor's.
 */
#define _GNU_SOURCE
#include <X11/Xlib.h>
#include <X11/Xutil.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "bench-util.h"
#include "input.h"

#ifndef DESKD_PATH
#define DESKD_PATH "deskd"
#endif
#ifndef EVLOG_PATH
#define EVLOG_PATH "evlog"
#endif

#define SCREEN_W 1920
#define SCREEN_H 1080
/* evlog's window: the pointer cases alternate between two points inside it. */
#define WIN_GEOMETRY "800x600+40+40"
#define P0_X         200
#define P0_Y         200
#define P1_X         600
#define P1_Y         400
#define MARKER_MS    10000 /* how long evlog may take to show the marker key */
#define MAX_RESULTS  32
#define LOAD_SHOTS   100000
#define LOAD_GAP_MS  3 /* between the clicks under load */

static struct {
    const char *deskd, *evlog;
    int runs, type_runs, warmup, timeout_s;
    bool peers, keep_tmp, strict;
} opt = {
        .deskd = DESKD_PATH,
        .evlog = EVLOG_PATH,
        .runs = 200,
        .type_runs = 50,
        .warmup = 10,
        .timeout_s = 600,
        .peers = true,
};

/* The texts typed: 11 and 100 ASCII characters (shifted ones, punctuation, a backslash and
 * a quote included), and 100 code points of a mix of which 45 are outside ASCII: 15
 * distinct characters that the US keymap lacks, so they go through spare keycodes. */
static const char ascii_11[] = "Hello World";
static const char ascii_src[] = "The quick brown fox (42) jumps over the lazy dog; PACK MY BOX: "
                                "5 dozen jugs? #$%&*+-/=@[\\]^_`{|}~<>\"'!,.";
static const char mixed_src[] = "Grüße naïve café 日本語 ✓ € … Ωμέγα ";
static char ascii_100[101];
static char mixed_100[512];

/* ---- small helpers ---------------------------------------------------------------------- */

static size_t utf8_count(const char *s, size_t n) {
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += ((unsigned char)s[i] & 0xc0) != 0x80;
    return c;
}

/* Byte length of the first max code points of s. */
static size_t utf8_prefix(const char *s, size_t max) {
    size_t i = 0, c = 0;
    while (s[i] && c < max) {
        i++;
        while (((unsigned char)s[i] & 0xc0) == 0x80)
            i++;
        c++;
    }
    return i;
}

/* Repeats src into out (cap bytes) up to n code points. */
static void make_text(char *out, size_t cap, const char *src, size_t n) {
    size_t len = 0, srclen = strlen(src);
    out[0] = '\0';
    while (utf8_count(out, len) < n) {
        size_t take = utf8_prefix(src, n - utf8_count(out, len));
        if (take > srclen || len + take >= cap)
            break;
        memcpy(out + len, src, take);
        len += take;
        out[len] = '\0';
    }
}

/* A short, printable excerpt of s (len bytes) from byte off, for messages. */
static void excerpt(char *out, size_t cap, const char *s, size_t len, size_t off) {
    size_t o = 0;
    for (size_t i = off; i < len && i < off + 24 && o + 5 < cap; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x20 || ch == 0x7f)
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", ch);
        else
            out[o++] = (char)ch;
    }
    out[o] = '\0';
}

/* ---- the root window's picture ---------------------------------------------------------- */

/* Paints the root window with a desktop-like picture: a gradient, panels, and lines of
 * text-like glyphs, so that a full-screen PNG costs about what it costs on a desktop. */
static int paint_root(const char *display) {
    Display *dpy = XOpenDisplay(display);
    if (!dpy) {
        say("cannot open %s to paint the root window", display);
        return -1;
    }
    int scr = DefaultScreen(dpy), w = DisplayWidth(dpy, scr), h = DisplayHeight(dpy, scr);
    Window root = RootWindow(dpy, scr);
    uint32_t *px = malloc((size_t)w * (size_t)h * 4);
    if (!px) {
        XCloseDisplay(dpy);
        return -1;
    }
    uint32_t seed = 12345;
#define NEXT() (seed = seed * 1103515245u + 12345u, seed >> 16)
    uint16_t glyphs[64][9]; /* 5x9 bit patterns, a few pixels each */
    for (int g = 0; g < 64; g++)
        for (int r = 0; r < 9; r++)
            glyphs[g][r] = (uint16_t)(r == 0 || r == 8 ? 0 : NEXT() & 0x1f);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            px[(size_t)y * (size_t)w + (size_t)x] = (uint32_t)(0x20 + y * 0x40 / h) << 16 |
                                                    (uint32_t)(0x40 + x * 0x60 / w) << 8 |
                                                    (uint32_t)(0x80 + y * 0x50 / h);
    /* Panels with text, like terminals and editors; a bar at the top. */
    static const int panels[][4] = {
            {880, 60, 1000, 620}, {40, 680, 800, 360}, {880, 700, 1000, 340}, {0, 0, 1920, 28}};
    for (size_t p = 0; p < sizeof panels / sizeof panels[0]; p++) {
        int px0 = panels[p][0], py0 = panels[p][1], pw = panels[p][2], ph = panels[p][3];
        uint32_t bg = p == 3 ? 0x303030 : 0xf4f4f0, fg = p == 3 ? 0xe0e0e0 : 0x202020;
        for (int y = py0; y < py0 + ph && y < h; y++)
            for (int x = px0; x < px0 + pw && x < w; x++)
                px[(size_t)y * (size_t)w + (size_t)x] = bg;
        for (int ly = py0 + 4; ly + 12 < py0 + ph; ly += 14) {
            int len = (int)(NEXT() % (unsigned)(pw / 7));
            for (int c = 0; c < len; c++) {
                unsigned g = NEXT() % 80;
                if (g >= 64)
                    continue; /* a space */
                uint32_t col = (NEXT() % 9 == 0) ? 0x2050c0 : fg;
                for (int r = 0; r < 9; r++)
                    for (int b = 0; b < 5; b++)
                        if (glyphs[g][r] >> b & 1)
                            px[(size_t)(ly + 2 + r) * (size_t)w + (size_t)(px0 + 4 + c * 7 + b)] =
                                    col;
            }
        }
    }
#undef NEXT
    XImage *img = XCreateImage(dpy, DefaultVisual(dpy, scr), (unsigned)DefaultDepth(dpy, scr),
            ZPixmap, 0, (char *)px, (unsigned)w, (unsigned)h, 32, 0);
    if (!img) {
        free(px);
        XCloseDisplay(dpy);
        return -1;
    }
    Pixmap pm =
            XCreatePixmap(dpy, root, (unsigned)w, (unsigned)h, (unsigned)DefaultDepth(dpy, scr));
    GC gc = XCreateGC(dpy, pm, 0, NULL);
    XPutImage(dpy, pm, gc, img, 0, 0, 0, 0, (unsigned)w, (unsigned)h);
    /* The root keeps its background when the pixmap's name is freed and we disconnect. */
    XSetWindowBackgroundPixmap(dpy, root, pm);
    XClearWindow(dpy, root);
    XFreeGC(dpy, gc);
    XFreePixmap(dpy, pm);
    XSync(dpy, False);
    XDestroyImage(img);
    XCloseDisplay(dpy);
    return 0;
}

/* ---- evlog ------------------------------------------------------------------------------ */

/* What evlog printed and we have not consumed yet. */
static struct {
    struct kid *kid;
    int fd;
    char *buf;
    size_t len, cap;
    bool eof;
} ev = {.fd = -1};

/* Reads what evlog printed, waiting at most timeout_ms for the first bytes. */
static void ev_read(int timeout_ms) {
    struct pollfd pfd = {.fd = ev.fd, .events = POLLIN};
    if (ev.eof || poll(&pfd, 1, timeout_ms) <= 0)
        return;
    for (;;) {
        if (ev.cap - ev.len < 65536) {
            size_t cap = ev.cap ? ev.cap * 2 : 1u << 20;
            char *p = realloc(ev.buf, cap);
            if (!p)
                return;
            ev.buf = p;
            ev.cap = cap;
        }
        ssize_t n = read(ev.fd, ev.buf + ev.len, ev.cap - ev.len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0)
            ev.eof = true;
        if (n <= 0)
            break;
        ev.len += (size_t)n;
        ev.buf[ev.len] = '\0';
    }
}

/* Offset of the first complete line that starts with prefix, or -1; *next: after it. */
static long ev_find(const char *prefix, size_t *next) {
    size_t k = strlen(prefix);
    for (size_t i = 0; i < ev.len;) {
        char *nl = memchr(ev.buf + i, '\n', ev.len - i);
        if (!nl)
            return -1;
        if ((size_t)(nl - ev.buf) - i >= k && memcmp(ev.buf + i, prefix, k) == 0) {
            *next = (size_t)(nl - ev.buf) + 1;
            return (long)i;
        }
        i = (size_t)(nl - ev.buf) + 1;
    }
    return -1;
}

/* Waits for a line starting with prefix; returns its offset, or -1 after timeout_ms. */
static long ev_wait(const char *prefix, int timeout_ms, size_t *next) {
    for (double end = now_ms() + timeout_ms;;) {
        long at = ev_find(prefix, next);
        if (at >= 0)
            return at;
        double left = end - now_ms();
        if (left <= 0 || ev.eof)
            return -1;
        ev_read((int)left + 1);
    }
}

static void ev_consume(size_t n) {
    memmove(ev.buf, ev.buf + n, ev.len - n);
    ev.len -= n;
    if (ev.buf)
        ev.buf[ev.len] = '\0';
}

static int start_evlog(char **env) {
    int p[2];
    char log[160];
    if (pipe2(p, O_CLOEXEC) < 0)
        return -1;
    snprintf(log, sizeof log, "%s/evlog.log", tmpdir);
    const char *argv[] = {
            opt.evlog, "--geometry", WIN_GEOMETRY, "--title", "bench-input", "--focus", NULL};
    struct spawn_opts so = {.log = log, .out_fd = p[1], .pass_fd = -1, .session = true};
    ev.kid = kid_spawn("evlog", argv, env, &so);
    close(p[1]);
    ev.fd = p[0];
    if (!ev.kid)
        return -1;
    fcntl(ev.fd, F_SETFL, fcntl(ev.fd, F_GETFL) | O_NONBLOCK);
    size_t next;
    if (ev_wait("ready ", 15000, &next) < 0) {
        say("evlog did not say it was ready (mapped and focused) within 15 s");
        print_file_tail(log, 2000);
        return -1;
    }
    ev_consume(next);
    return 0;
}

/* ---- results ---------------------------------------------------------------------------- */

enum check { CHK_NONE, CHK_MOTION, CHK_CLICK, CHK_KEY, CHK_CHORD, CHK_TEXT };

struct result {
    char name[48];
    bool ran, ok; /* ok: ran, and (deskd) every check passed */
    bool wrong;   /* what evlog received did not match (for a peer: reported only) */
    bool is_peer;
    char err[320]; /* why it failed, or what was received wrong */
    double p50, p95;
    int n;             /* timed samples */
    long got, want;    /* events or characters received / expected; want 0: unchecked */
    const char *unit;  /* of got/want */
    const char *peer;  /* deskd: name of the peer row to compare with */
    const char *peer2; /* and another one, in the sentences only */
    double pair_ratio; /* run_dpair: the median of the other row's time / this row's, run by run */
    double target_ms;  /* 0: none */
    bool target_received; /* the target also needs every character received */
};

static struct result res[MAX_RESULTS];
static int nres;

static struct result *result_new(const char *name, bool is_peer) {
    struct result *r = &res[nres++];
    memset(r, 0, sizeof *r);
    snprintf(r->name, sizeof r->name, "%s", name);
    r->ran = r->ok = true;
    r->is_peer = is_peer;
    return r;
}

__attribute__((format(printf, 2, 3))) static int result_fail(
        struct result *r, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err, sizeof r->err, fmt, ap);
    va_end(ap);
    r->ok = false;
    say("%s FAILED: %s", r->name, r->err);
    return -1;
}

static const struct result *find_result(const char *name) {
    for (int i = 0; i < nres; i++)
        if (res[i].ran && res[i].ok && strcmp(res[i].name, name) == 0)
            return &res[i];
    return NULL;
}

/* ---- checking what evlog received ------------------------------------------------------- */

/* Taps the marker key through deskd and waits for evlog to show it. The lines before it are
 * what the case produced: *seg (NUL-terminated in place), of *seglen bytes; *next is where
 * the buffer is consumed up to afterwards. */
static int ev_collect(desk_client *cl, char **seg, size_t *seglen, size_t *next) {
    if (desk_keyboard_key(cl, "f1", NULL, 0) != DESK_OK) {
        char why[400];
        say("the F1 marker key failed: %s", bench_desk_error(cl, why, sizeof why));
        return -1;
    }
    long at = ev_wait("key F1 ", MARKER_MS, next);
    if (at < 0) {
        say("evlog did not show the F1 marker within %d s", MARKER_MS / 1000);
        return -1;
    }
    ev.buf[at] = '\0';
    *seg = ev.buf;
    *seglen = (size_t)at;
    return 0;
}

/* The line after line in a segment (which ends with a NUL), or NULL. */
static char *next_line(char *line) {
    char *nl = strchr(line, '\n');
    return nl && nl[1] ? nl + 1 : NULL;
}

/* The UTF-8 text of the key lines in seg, decoded from evlog's hex; *n bytes. */
static char *seg_text(char *seg, size_t len, size_t *n) {
    char *out = malloc(len / 2 + 1);
    *n = 0;
    if (!out)
        return NULL;
    for (char *line = len ? seg : NULL; line; line = next_line(line)) {
        int at = 0;
        if (strncmp(line, "key ", 4) != 0 || sscanf(line, "key %*s 0x%*x %n", &at) != 0 || at == 0)
            continue;
        for (const char *p = line + at; p[0] && p[1] && p[0] != '-' && p[0] != '\n'; p += 2) {
            unsigned b;
            if (sscanf(p, "%2x", &b) != 1)
                break;
            out[(*n)++] = (char)b;
        }
    }
    out[*n] = '\0';
    return out;
}

static bool at_point(int x, int y) {
    return (x == P0_X && y == P0_Y) || (x == P1_X && y == P1_Y);
}

/* Counts the events of the kind check in seg: a click is a press and a release of button 1
 * at one of the points; keys are KeyPress lines (with Control and Shift for a chord). */
static long seg_count(char *seg, size_t len, enum check check, const char *key) {
    long n = 0, presses = 0, releases = 0;
    for (char *line = len ? seg : NULL; line; line = next_line(line)) {
        char what[16], name[64];
        int b, x, y;
        unsigned state;
        bool is_key = strncmp(line, "key ", 4) == 0;
        switch (check) {
        case CHK_MOTION:
            n += sscanf(line, "motion %d %d", &x, &y) == 2 && at_point(x, y);
            break;
        case CHK_CLICK:
            if (sscanf(line, "%15s %d %d %d", what, &b, &x, &y) == 4 && b == 1 && at_point(x, y)) {
                presses += strcmp(what, "press") == 0;
                releases += strcmp(what, "release") == 0;
            }
            break;
        case CHK_KEY:
            n += is_key && sscanf(line, "key %63s", name) == 1 && strcmp(name, key) == 0;
            break;
        case CHK_CHORD:
            n += is_key && sscanf(line, "key %63s 0x%x", name, &state) == 2 &&
                 strcasecmp(name, key) == 0 &&
                 (state & (ControlMask | ShiftMask)) == (ControlMask | ShiftMask);
            break;
        default:
            break;
        }
    }
    return check == CHK_CLICK ? (presses < releases ? presses : releases) : n;
}

/* Compares what evlog received during a case with what actions of it should give. */
static int check_case(
        desk_client *cl, struct result *r, enum check check, const char *arg, int actions) {
    char *seg;
    size_t len, next;
    if (check == CHK_NONE)
        return 0;
    if (ev_collect(cl, &seg, &len, &next) < 0)
        return result_fail(r, "could not collect evlog's events");
    if (check == CHK_TEXT) {
        size_t tlen = strlen(arg), glen;
        char *got = seg_text(seg, len, &glen);
        char *want = malloc(tlen * (size_t)actions + 1);
        if (!got || !want) {
            free(got);
            free(want);
            ev_consume(next);
            return result_fail(r, "out of memory");
        }
        for (int i = 0; i < actions; i++)
            memcpy(want + tlen * (size_t)i, arg, tlen);
        want[tlen * (size_t)actions] = '\0';
        r->unit = "chars";
        r->got = (long)utf8_count(got, glen);
        r->want = (long)utf8_count(want, strlen(want));
        if (strcmp(got, want) != 0) {
            size_t d = 0;
            while (got[d] && got[d] == want[d])
                d++;
            while (d > 0 && ((unsigned char)want[d] & 0xc0) == 0x80)
                d--;
            char e[64], g[64];
            excerpt(e, sizeof e, want, strlen(want), d);
            excerpt(g, sizeof g, got, glen, d);
            size_t ch = utf8_count(want, d), per = utf8_count(arg, tlen);
            r->wrong = true;
            snprintf(r->err, sizeof r->err,
                    "received text differs from char %zu (action %zu, char %zu): expected \"%s\", "
                    "received \"%s\"",
                    ch + 1, ch / per + 1, ch % per + 1, e, g);
        }
        free(got);
        free(want);
    } else {
        static const char *const units[] = {"", "motions", "clicks", "keys", "chords"};
        r->unit = units[check];
        r->got = seg_count(seg, len, check, arg);
        r->want = actions;
        if (r->got != r->want) {
            r->wrong = true;
            snprintf(r->err, sizeof r->err, "evlog received %ld %s for %d actions", r->got, r->unit,
                    actions);
        }
    }
    ev_consume(next);
    if (r->wrong && !r->is_peer) {
        r->ok = false;
        say("%s FAILED: %s", r->name, r->err);
        return -1;
    }
    if (r->wrong)
        say("%s: %s", r->name, r->err);
    return 0;
}

/* Flushes evlog's lines so far: what comes next belongs to the next case. */
static int ev_sync(desk_client *cl) {
    char *seg;
    size_t len, next;
    if (ev_collect(cl, &seg, &len, &next) < 0)
        return -1;
    ev_consume(next);
    return 0;
}

/* ---- cases ------------------------------------------------------------------------------ */

/* The libdesk call of a deskd case. */
enum action {
    ACT_POSITION,
    ACT_MOVE,
    ACT_CLICK,
    ACT_DOUBLE,
    ACT_DRAG,
    ACT_KEY,
    ACT_HOTKEY,
    ACT_TYPE,
    ACT_BATCH,        /* BATCH_CLICKS clicks in one POST /computeruse/actions */
    ACT_SINGLES,      /* the same clicks as BATCH_CLICKS requests */
    ACT_BATCH_SHOT,   /* the batch with observe: a JPEG q75 at scale 0.5 */
    ACT_SINGLES_SHOT, /* the clicks as requests, then the same screenshot as one more */
};

/* The clicks of one batch case. */
#define BATCH_CLICKS 20
static const struct desk_compress observe_shot = {
        .format = DESK_IMAGE_JPEG, .quality = 75, .scale = 0.5};

/* BATCH_CLICKS clicks alternating between the two points, as one batch. */
static enum desk_status batch_clicks(desk_client *cl, bool observe) {
    desk_actions *a = desk_actions_new();
    for (int k = 0; k < BATCH_CLICKS; k++)
        desk_act_click(a, k % 2 ? P1_X : P0_X, k % 2 ? P1_Y : P0_Y, DESK_BUTTON_LEFT, 1);
    if (observe)
        desk_actions_observe(a, &observe_shot);
    struct desk_actions_result *r = NULL;
    enum desk_status st = a ? desk_actions_run(cl, a, &r) : DESK_ERR_NOMEM;
    if (st == DESK_OK && (r->completed != BATCH_CLICKS || (observe && !r->screenshot)))
        st = DESK_ERR_PROTOCOL;
    desk_actions_result_free(r);
    desk_actions_free(a);
    return st;
}

static enum desk_status single_clicks(desk_client *cl, bool shot) {
    enum desk_status st = DESK_OK;
    for (int k = 0; k < BATCH_CLICKS && st == DESK_OK; k++)
        st = desk_mouse_click(
                cl, k % 2 ? P1_X : P0_X, k % 2 ? P1_Y : P0_Y, DESK_BUTTON_LEFT, false, NULL);
    struct desk_image *img = NULL;
    if (st == DESK_OK && shot)
        st = desk_screenshot_compressed(cl, &observe_shot, &img);
    desk_image_free(img);
    return st;
}

struct dcase {
    const char *name;
    enum action action;
    const char *send; /* ACT_KEY: the key; ACT_HOTKEY: the chord; ACT_TYPE: the text */
    enum check check;
    const char *arg; /* CHK_KEY/CHK_CHORD: keysym name; CHK_TEXT: the text of one action */
    bool typing;     /* counted in --type-runs: typing, and drags (paced, some 150 ms each) */
    const char *peer, *peer2;
    double target_ms;
    bool target_received;
};

struct pcase {
    const char *name;
    const char *argv[2][10]; /* alternating */
    enum check check;
    const char *arg;
    bool typing;
};

/* Action i of a deskd case; the pointer ones alternate between the two points. */
static enum desk_status dcase_do(desk_client *cl, const struct dcase *c, int i) {
    struct desk_point pos;
    int x = i % 2 ? P1_X : P0_X, y = i % 2 ? P1_Y : P0_Y;
    switch (c->action) {
    case ACT_POSITION:
        return desk_mouse_position(cl, &pos);
    case ACT_MOVE:
        return desk_mouse_move(cl, x, y, NULL);
    case ACT_CLICK:
        return desk_mouse_click(cl, x, y, DESK_BUTTON_LEFT, false, NULL);
    case ACT_DOUBLE:
        return desk_mouse_click(cl, x, y, DESK_BUTTON_LEFT, true, NULL);
    case ACT_DRAG: /* from one point to the other, and back */
        return desk_mouse_drag(
                cl, i % 2 ? P0_X : P1_X, i % 2 ? P0_Y : P1_Y, x, y, DESK_BUTTON_LEFT, NULL);
    case ACT_KEY:
        return desk_keyboard_key(cl, c->send, NULL, 0);
    case ACT_HOTKEY:
        return desk_keyboard_hotkey(cl, c->send);
    case ACT_BATCH:
    case ACT_BATCH_SHOT:
        return batch_clicks(cl, c->action == ACT_BATCH_SHOT);
    case ACT_SINGLES:
    case ACT_SINGLES_SHOT:
        return single_clicks(cl, c->action == ACT_SINGLES_SHOT);
    case ACT_TYPE:
        break;
    }
    return desk_keyboard_type(cl, c->send, 0);
}

/* Runs warmup + runs actions of a deskd case, timing the last runs of them. */
static int run_dcase(desk_client *cl, const struct dcase *c, const char *name, int warmup, int runs,
        double *samples) {
    struct result *r = result_new(name, false);
    r->peer = c->peer;
    r->peer2 = c->peer2;
    r->target_ms = c->target_ms;
    r->target_received = c->target_received;
    for (int i = 0; i < warmup + runs; i++) {
        double t0 = now_ms();
        enum desk_status st = dcase_do(cl, c, i);
        double ms = now_ms() - t0;
        if (st != DESK_OK) {
            char why[400];
            return result_fail(r, "%.300s", bench_desk_error(cl, why, sizeof why));
        }
        if (i >= warmup)
            samples[i - warmup] = ms;
        ev_read(0); /* keeps evlog's pipe from filling up; not timed */
    }
    r->n = runs;
    percentiles(samples, runs, &r->p50, &r->p95);
    /* A double click is two clicks; a drag one press and one release, at the two points. */
    int per = c->action == ACT_DOUBLE ? 2 : c->action >= ACT_BATCH ? BATCH_CLICKS : 1;
    return check_case(cl, r, c->check, c->arg, (warmup + runs) * per);
}

/*
 * A batch case and its separate-requests case, alternated run by run (the
 * order swapping every run) so that both see the same load on a shared
 * machine; their ratio is the median of the per-run ratios. What evlog
 * received is checked for the two together.
 */
static int run_dpair(desk_client *cl, const struct dcase *many, const struct dcase *one,
        double *samples, double *samples2) {
    struct result *rm = result_new(many->name, false);
    struct result *r1 = result_new(one->name, false);
    r1->peer = one->peer;
    double *ratios = calloc((size_t)opt.type_runs, sizeof *ratios);
    if (!ratios)
        return result_fail(r1, "out of memory");
    for (int i = 0; i < opt.warmup + opt.type_runs; i++) {
        double ms[2];
        for (int k = 0; k < 2; k++) {
            const struct dcase *c = (i + k) % 2 ? one : many;
            double t0 = now_ms();
            enum desk_status st = dcase_do(cl, c, 0);
            if (st != DESK_OK) {
                char why[400];
                free(ratios);
                return result_fail(
                        c == one ? r1 : rm, "%.300s", bench_desk_error(cl, why, sizeof why));
            }
            ms[c == one] = now_ms() - t0;
            ev_read(0);
        }
        if (i >= opt.warmup) {
            samples[i - opt.warmup] = ms[0];
            samples2[i - opt.warmup] = ms[1];
            ratios[i - opt.warmup] = ms[0] / ms[1];
        }
    }
    rm->n = r1->n = opt.type_runs;
    percentiles(samples, opt.type_runs, &rm->p50, &rm->p95);
    percentiles(samples2, opt.type_runs, &r1->p50, &r1->p95);
    double p95;
    percentiles(ratios, opt.type_runs, &r1->pair_ratio, &p95);
    free(ratios);
    int rc = check_case(
            cl, r1, one->check, one->arg, (opt.warmup + opt.type_runs) * 2 * BATCH_CLICKS);
    rm->unit = r1->unit;
    rm->got = r1->got;
    rm->want = r1->want;
    return rc;
}

/*
 * The floor of the batch rows: the same BATCH_CLICKS clicks sent in this
 * process through input/ on its own X connection, as the input worker sends
 * a batch (each click's pointer query sent behind it, one round trip at the
 * end), and as single requests send them (a round trip per click, then its
 * pointer query). What is left is the X server's and evlog's work.
 */
static int run_floor(desk_client *cl, const char *display, bool one_trip, double *samples) {
    struct result *r = result_new(one_trip ? "in-process 20 clicks, one round trip"
                                           : "in-process 20 clicks, 20 round trips",
            false);
    Display *dpy = XOpenDisplay(display);
    struct input *in = dpy ? input_new(dpy) : NULL;
    if (!in) {
        if (dpy)
            XCloseDisplay(dpy);
        return result_fail(r, "cannot open %s for input", display);
    }
    int rc = 0;
    for (int i = 0; i < opt.warmup + opt.runs && rc == 0; i++) {
        double t0 = now_ms();
        if (one_trip)
            input_run_begin(in);
        unsigned tickets[BATCH_CLICKS];
        for (int k = 0; k < BATCH_CLICKS && rc == 0; k++) {
            int x = k % 2 ? P1_X : P0_X, y = k % 2 ? P1_Y : P0_Y, px, py;
            rc = input_click_n(in, x, y, 1, 1);
            if (rc == 0)
                rc = one_trip ? input_pointer_ask(in, &tickets[k])
                              : input_pointer_at(in, x, y, &px, &py);
        }
        if (one_trip && rc == 0)
            rc = input_run_end(in);
        for (int k = 0; one_trip && k < BATCH_CLICKS && rc == 0; k++) {
            int px, py;
            rc = input_pointer_answer(in, tickets[k], &px, &py);
        }
        double ms = now_ms() - t0;
        if (i >= opt.warmup)
            samples[i - opt.warmup] = ms;
        ev_read(0);
    }
    input_destroy(in);
    XCloseDisplay(dpy);
    if (rc < 0)
        return result_fail(r, "input failed: %d", rc);
    r->n = opt.runs;
    percentiles(samples, opt.runs, &r->p50, &r->p95);
    return check_case(cl, r, CHK_CLICK, NULL, (opt.warmup + opt.runs) * BATCH_CLICKS);
}

static int run_pcase(desk_client *cl, const struct pcase *c, char **env, double *samples) {
    struct result *r = result_new(c->name, true);
    int runs = c->typing ? opt.type_runs : opt.runs;
    char log[160];
    snprintf(log, sizeof log, "%s/peers.log", tmpdir);
    struct spawn_opts so = {.log = log, .out_fd = -1, .pass_fd = -1};
    for (int i = 0; i < opt.warmup + runs; i++) {
        double t0 = now_ms();
        pid_t pid = spawn(c->argv[i % 2], env, &so);
        int status = pid < 0 ? -1 : wait_exit(pid);
        double ms = now_ms() - t0;
        if (status != 0)
            return result_fail(r, "exit status %d (see %s)", status, log);
        if (i >= opt.warmup)
            samples[i - opt.warmup] = ms;
        ev_read(0);
    }
    r->n = runs;
    percentiles(samples, runs, &r->p50, &r->p95);
    return check_case(cl, r, c->check, c->arg, opt.warmup + runs);
}

/* ---- clicks under screenshot load ------------------------------------------------------- */

struct load {
    pthread_t th;
    const char *base;
    atomic_bool stop;
    atomic_int done, failed, in_flight;
    double *ms; /* each screenshot's time; read after the join */
    int nms;
    long conns; /* connections the thread's handle opened; read after the join */
    char err[240];
};

/* The screenshot thread, on a libdesk handle of its own, in the JSON form. */
static void *load_main(void *arg) {
    struct load *l = arg;
    const struct desk_compress png = {.format = DESK_IMAGE_PNG};
    desk_client *cl = bench_client(l->base);
    if (!cl || desk_client_set_binary_screenshots(cl, false) != DESK_OK) {
        snprintf(l->err, sizeof l->err, "cannot set up the second libdesk handle");
        atomic_fetch_add(&l->failed, 1);
        desk_client_free(cl);
        return NULL;
    }
    while (!atomic_load(&l->stop)) {
        struct desk_image *img;
        atomic_store(&l->in_flight, 1);
        double t0 = now_ms();
        enum desk_status st = desk_screenshot_compressed(cl, &png, &img);
        double ms = now_ms() - t0;
        atomic_store(&l->in_flight, 0);
        if (st != DESK_OK || img->format != DESK_IMAGE_PNG) {
            char why[400];
            snprintf(l->err, sizeof l->err, "screenshot: %.200s",
                    st != DESK_OK ? bench_desk_error(cl, why, sizeof why) : "not a PNG image");
            desk_image_free(img);
            atomic_fetch_add(&l->failed, 1);
            break;
        }
        desk_image_free(img);
        if (l->nms < LOAD_SHOTS)
            l->ms[l->nms++] = ms;
        atomic_fetch_add(&l->done, 1);
    }
    l->conns = desk_client_connections(cl);
    desk_client_free(cl);
    return NULL;
}

static struct {
    int shots, in_flight_clicks, clicks;
    long conns;
    double shot_p50, span_ms;
    bool ran;
} load_info;

static int run_load_case(
        desk_client *cl, const struct dcase *click, const char *base, double *samples) {
    struct result *r = result_new("deskd click during PNG screenshots", false);
    struct load l = {.base = base};
    r->target_ms = 2;
    l.ms = calloc(LOAD_SHOTS, sizeof *l.ms);
    if (!l.ms || pthread_create(&l.th, NULL, load_main, &l) != 0) {
        free(l.ms);
        return result_fail(r, "cannot start the screenshot thread");
    }
    /* Clicks start once the screenshots are flowing. */
    for (double end = now_ms() + 30000;
            atomic_load(&l.done) < 2 && !atomic_load(&l.failed) && now_ms() < end;)
        nap_ms(1);
    int shots0 = atomic_load(&l.done), overlap = 0;
    double t0 = now_ms();
    int total = opt.warmup + opt.runs, fail = 0;
    for (int i = 0; i < total && !atomic_load(&l.failed); i++) {
        if (i == opt.warmup) {
            shots0 = atomic_load(&l.done);
            t0 = now_ms();
        }
        overlap += i >= opt.warmup && atomic_load(&l.in_flight);
        double t1 = now_ms();
        enum desk_status st = dcase_do(cl, click, i);
        double ms = now_ms() - t1;
        if (st != DESK_OK) {
            char why[400];
            fail = result_fail(r, "click: %.280s", bench_desk_error(cl, why, sizeof why));
            break;
        }
        if (i >= opt.warmup)
            samples[i - opt.warmup] = ms;
        ev_read(0);
        /* Think time, not a wait for a condition: spread over many screenshots, the clicks
         * land in every phase of one (capture, encode, base64, sending). */
        nap_ms(LOAD_GAP_MS);
    }
    int shots = atomic_load(&l.done) - shots0;
    double span = now_ms() - t0;
    atomic_store(&l.stop, true);
    pthread_join(l.th, NULL);
    if (!fail && atomic_load(&l.failed))
        fail = result_fail(r, "%s", l.err);
    if (!fail) {
        r->n = opt.runs;
        percentiles(samples, opt.runs, &r->p50, &r->p95);
        double p95;
        load_info.ran = true;
        load_info.shots = shots;
        load_info.in_flight_clicks = overlap;
        load_info.clicks = opt.runs;
        load_info.span_ms = span;
        load_info.conns = l.conns;
        if (l.nms > 0)
            percentiles(l.ms, l.nms, &load_info.shot_p50, &p95);
        fail = check_case(cl, r, CHK_CLICK, NULL, total);
    }
    free(l.ms);
    return fail;
}

/* ---- report ----------------------------------------------------------------------------- */

static bool target_met(const struct result *r) {
    return r->p50 <= r->target_ms && (!r->target_received || (!r->wrong && r->got == r->want));
}

static void report(const char *url, const char *display, long rss0, long rss1, long conns) {
    printf("\n== %dx%d Xvfb %s, no window manager, evlog window %s focused; deskd %s; "
           "%d warm-up then %d timed actions (typing %d); ms at the client ==\n",
            SCREEN_W, SCREEN_H, display, WIN_GEOMETRY, url, opt.warmup, opt.runs, opt.type_runs);
    printf("%-40s %8s %8s %5s %22s %10s  %s\n", "case", "p50", "p95", "n", "received", "vs xdotool",
            "target (p50)");
    for (int i = 0; i < nres; i++) {
        const struct result *r = &res[i];
        if (!r->ran)
            continue;
        if (!r->ok && !r->n) {
            printf("%-40s FAILED: %s\n", r->name, r->err);
            continue;
        }
        char recv[40] = "-", vs[16] = "-", target[48] = "";
        if (r->want)
            snprintf(recv, sizeof recv, "%ld/%ld %s%s", r->got, r->want, r->unit,
                    r->wrong ? " WRONG" : "");
        const struct result *p = r->peer ? find_result(r->peer) : NULL;
        if (p)
            snprintf(vs, sizeof vs, "%.1fx", p->p50 / r->p50);
        if (r->target_ms > 0)
            snprintf(target, sizeof target, "<= %g%s %s", r->target_ms,
                    r->target_received ? ", all received" : "", target_met(r) ? "ok" : "MISSED");
        printf("%-40s %8.2f %8.2f %5d %22s %10s  %s\n", r->name, r->p50, r->p95, r->n, recv, vs,
                target);
    }
    printf("-- vs xdotool = xdotool p50 (spawn to exit) / deskd p50 (request to reply); for the "
           "batch rows, the separate requests' p50 / the batch's\n");
    const struct result *one = find_result("deskd 20 clicks, one batch");
    const struct result *many = find_result("deskd 20 clicks, 20 requests");
    if (one && many && one->ok && many->ok)
        printf("-- 20 clicks: one batch %.2f ms (p95 %.2f) vs 20 requests %.2f ms (p95 %.2f), "
               "run alternately: %.1fx by p50, %.1fx by the median of the per-run ratios "
               "(target >= 5x: %s)\n",
                one->p50, one->p95, many->p50, many->p95, many->p50 / one->p50, one->pair_ratio,
                one->pair_ratio >= 5 ? "ok" : "MISSED");
    const struct result *floor1 = find_result("in-process 20 clicks, one round trip");
    const struct result *floor20 = find_result("in-process 20 clicks, 20 round trips");
    if (one && floor1 && floor20)
        printf("-- in-process floor: 20 clicks with one round trip %.2f ms, with 20 round trips "
               "%.2f ms; deskd/floor: batch %.2fx, 20 requests %.2fx\n",
                floor1->p50, floor20->p50, one->p50 / floor1->p50, many->p50 / floor20->p50);
    one = find_result("deskd 20 clicks + JPEG, batch+observe");
    many = find_result("deskd 20 clicks + JPEG, 21 requests");
    if (one && many && one->ok && many->ok)
        printf("-- 20 clicks then a JPEG q75 at scale 0.5: batch with observe %.2f ms (p95 %.2f) "
               "vs 21 requests %.2f ms (p95 %.2f), run alternately: %.1fx by p50, %.1fx by the "
               "median of the per-run ratios (observe without settle: the same work as the "
               "requests)\n",
                one->p50, one->p95, many->p50, many->p95, many->p50 / one->p50, one->pair_ratio);
    for (int i = 0; i < nres; i++) {
        const struct result *r = &res[i];
        for (int k = 0; k < 2; k++) {
            const char *pn = k ? r->peer2 : r->peer;
            const struct result *p = pn ? find_result(pn) : NULL;
            if (r->is_peer || !r->ok || !p)
                continue;
            double x = p->p50 / r->p50;
            printf("   %s is %.1fx %s than %s (%.2f vs %.2f ms)\n", r->name, x >= 1 ? x : 1 / x,
                    x >= 1 ? "faster" : "slower", p->name, r->p50, p->p50);
        }
    }
    for (int i = 0; i < nres; i++)
        if (res[i].wrong || (!res[i].ok && res[i].n))
            printf("-- %s: %s\n", res[i].name, res[i].err);
    const struct result *idle = find_result("deskd click");
    const struct result *busy = find_result("deskd click during PNG screenshots");
    if (load_info.ran && idle && busy)
        printf("-- clicks under load: p50 %.2f ms vs %.2f ms idle (%+.2f ms), p95 %.2f vs %.2f; "
               "%d PNG screenshot(s) (JSON, p50 %.1f ms each) completed during the %d timed clicks "
               "(%.0f ms); %d of the clicks were sent while a screenshot was in flight\n",
                busy->p50, idle->p50, busy->p50 - idle->p50, busy->p95, idle->p95, load_info.shots,
                load_info.shot_p50, load_info.clicks, load_info.span_ms,
                load_info.in_flight_clicks);
    const struct result *first = find_result("deskd type 100 non-ASCII, 1st call");
    const struct result *steady = find_result("deskd type 100 non-ASCII");
    if (first && steady)
        printf("-- non-ASCII typing: first call %.1f ms (binds spare keycodes), then p50 %.2f ms\n",
                first->p50, steady->p50);
    printf("-- deskd RSS: %ld KiB after start-up, %ld KiB at the end\n", rss0, rss1);
    printf("-- libdesk connections opened: %ld by the main handle", conns);
    if (load_info.ran)
        printf(", %ld by the screenshot thread's", load_info.conns);
    printf(" (%s)\n",
            conns == 1 && (!load_info.ran || load_info.conns == 1) ? "kept alive" : "reconnected");
    fflush(stdout);
}

/* ---- the run ---------------------------------------------------------------------------- */

static int bench(void) {
    char display[16], url[64], deskd_log[160];
    desk_client *cl = NULL;
    struct kid *deskd;
    char **env = NULL;
    int rc = -1;
    int maxruns = opt.runs > opt.type_runs ? opt.runs : opt.type_runs;
    double *samples = calloc((size_t)maxruns, sizeof *samples);
    double *samples2 = calloc((size_t)maxruns, sizeof *samples2);
    long rss0 = -1, rss1;

    make_text(ascii_100, sizeof ascii_100, ascii_src, 100);
    make_text(mixed_100, sizeof mixed_100, mixed_src, 100);

    const struct dcase dc[] = {
            {"deskd position (GET, no input)", ACT_POSITION, NULL, CHK_NONE, NULL, false, NULL,
                    NULL, 0, false},
            {"deskd move", ACT_MOVE, NULL, CHK_MOTION, NULL, false, "xdotool mousemove", NULL, 1,
                    false},
            {"deskd click", ACT_CLICK, NULL, CHK_CLICK, NULL, false,
                    "xdotool mousemove click --delay 0 1", "xdotool mousemove click 1", 1, false},
            {"deskd double click", ACT_DOUBLE, NULL, CHK_CLICK, NULL, false, NULL, NULL, 0, false},
            {"deskd drag", ACT_DRAG, NULL, CHK_CLICK, NULL, true, NULL, NULL, 0, false},
            {"deskd key f5", ACT_KEY, "f5", CHK_KEY, "F5", false, NULL, NULL, 0, false},
            {"deskd hotkey ctrl+shift+t", ACT_HOTKEY, "ctrl+shift+t", CHK_CHORD, "t", false, NULL,
                    NULL, 0, false},
            {"deskd type 11 ASCII", ACT_TYPE, ascii_11, CHK_TEXT, ascii_11, true,
                    "xdotool type --delay 0, 11 ASCII", NULL, 0, false},
            {"deskd type 100 ASCII", ACT_TYPE, ascii_100, CHK_TEXT, ascii_100, true,
                    "xdotool type --delay 0, 100 ASCII", NULL, 15, true},
            {"deskd type 100 non-ASCII", ACT_TYPE, mixed_100, CHK_TEXT, mixed_100, true,
                    "xdotool type --delay 0, 100 non-ASCII", NULL, 0, false},
            {"deskd 20 clicks, 20 requests", ACT_SINGLES, NULL, CHK_CLICK, NULL, true, NULL, NULL,
                    0, false},
            {"deskd 20 clicks, one batch", ACT_BATCH, NULL, CHK_CLICK, NULL, true,
                    "deskd 20 clicks, 20 requests", NULL, 0, false},
            {"deskd 20 clicks + JPEG, 21 requests", ACT_SINGLES_SHOT, NULL, CHK_CLICK, NULL, true,
                    NULL, NULL, 0, false},
            {"deskd 20 clicks + JPEG, batch+observe", ACT_BATCH_SHOT, NULL, CHK_CLICK, NULL, true,
                    "deskd 20 clicks + JPEG, 21 requests", NULL, 0, false},
    };
    const size_t ndc = sizeof dc / sizeof dc[0];
    char p0x[8], p0y[8], p1x[8], p1y[8];
    snprintf(p0x, sizeof p0x, "%d", P0_X);
    snprintf(p0y, sizeof p0y, "%d", P0_Y);
    snprintf(p1x, sizeof p1x, "%d", P1_X);
    snprintf(p1y, sizeof p1y, "%d", P1_Y);
    const struct pcase pc[] = {
            {"xdotool mousemove",
                    {{"xdotool", "mousemove", p0x, p0y, NULL},
                            {"xdotool", "mousemove", p1x, p1y, NULL}},
                    CHK_MOTION, NULL, false},
            {"xdotool mousemove click 1",
                    {{"xdotool", "mousemove", p0x, p0y, "click", "1", NULL},
                            {"xdotool", "mousemove", p1x, p1y, "click", "1", NULL}},
                    CHK_CLICK, NULL, false},
            /* click's --delay is the pause after each click, 100 ms by default */
            {"xdotool mousemove click --delay 0 1",
                    {{"xdotool", "mousemove", p0x, p0y, "click", "--delay", "0", "1", NULL},
                            {"xdotool", "mousemove", p1x, p1y, "click", "--delay", "0", "1", NULL}},
                    CHK_CLICK, NULL, false},
            {"xdotool type --delay 0, 11 ASCII",
                    {{"xdotool", "type", "--delay", "0", ascii_11, NULL},
                            {"xdotool", "type", "--delay", "0", ascii_11, NULL}},
                    CHK_TEXT, ascii_11, true},
            {"xdotool type --delay 0, 100 ASCII",
                    {{"xdotool", "type", "--delay", "0", ascii_100, NULL},
                            {"xdotool", "type", "--delay", "0", ascii_100, NULL}},
                    CHK_TEXT, ascii_100, true},
            {"xdotool type --delay 0, 100 non-ASCII",
                    {{"xdotool", "type", "--delay", "0", mixed_100, NULL},
                            {"xdotool", "type", "--delay", "0", mixed_100, NULL}},
                    CHK_TEXT, mixed_100, true},
    };
    if (!samples)
        goto out;

    say("starting Xvfb %dx%d", SCREEN_W, SCREEN_H);
    if (!start_xvfb(SCREEN_W, SCREEN_H, display, sizeof display) || !(env = env_build(display)) ||
            paint_root(display) < 0)
        goto out;
    say("X on %s; starting evlog and deskd", display);
    if (start_evlog(env) < 0)
        goto out;
    snprintf(deskd_log, sizeof deskd_log, "%s/deskd.log", tmpdir);
    if (!(deskd = start_deskd(opt.deskd, display, env, deskd_log, url, sizeof url)))
        goto out;
    if (!(cl = bench_client(url)))
        goto out;
    /* The pointer starts outside the points; the first marker flushes evlog's start-up. */
    if (dcase_do(cl, &dc[1], 1) != DESK_OK || ev_sync(cl) < 0) {
        char why[400];
        say("deskd does not answer a move and a key: %s", bench_desk_error(cl, why, sizeof why));
        goto out;
    }
    rss0 = rss_kib(deskd->pid);

    for (size_t i = 0; i < ndc; i++) {
        const struct dcase *c = &dc[i];
        int runs = c->typing ? opt.type_runs : opt.runs;
        if (c->check == CHK_TEXT && c->arg == mixed_100) {
            say("%s, 1st call", c->name);
            char name[48];
            snprintf(name, sizeof name, "%s, 1st call", c->name);
            run_dcase(cl, c, name, 0, 1, samples);
            res[nres - 1].peer = NULL; /* a one-off, not a like-for-like comparison */
        }
        say("%s", c->name);
        if ((c->action == ACT_SINGLES || c->action == ACT_SINGLES_SHOT) && i + 1 < ndc) {
            say("%s", dc[i + 1].name);
            run_dpair(cl, c, &dc[i + 1], samples, samples2);
            i++;
            continue;
        }
        run_dcase(cl, c, c->name, opt.warmup, runs, samples);
    }
    for (int one_trip = 0; one_trip < 2; one_trip++) {
        say("in-process 20 clicks, %s", one_trip ? "one round trip" : "20 round trips");
        run_floor(cl, display, one_trip, samples);
    }
    say("deskd click during PNG screenshots");
    run_load_case(cl, &dc[2], url, samples);

    if (opt.peers && in_path("xdotool")) {
        for (size_t i = 0; i < sizeof pc / sizeof pc[0]; i++) {
            say("%s", pc[i].name);
            run_pcase(cl, &pc[i], env, samples);
        }
    } else if (opt.peers) {
        say("xdotool is not installed: no peer cases");
    }
    rss1 = rss_kib(deskd->pid);
    bool deskd_up = kid_alive(deskd);
    report(url, display, rss0, rss1, desk_client_connections(cl));

    rc = 0;
    int missed = 0;
    for (int i = 0; i < nres; i++) {
        if (res[i].ran && !res[i].ok)
            rc = -1;
        if (res[i].ok && res[i].target_ms > 0 && !target_met(&res[i]))
            missed++;
    }
    if (!deskd_up) {
        say("deskd exited (status %d) during the run", deskd->status);
        rc = -1;
    }
    printf("-- %s; %s\n", rc == 0 ? "every check passed" : "SOME CHECKS FAILED",
            missed ? "some targets MISSED" : "every target met");
    if (missed && opt.strict)
        rc = -1;
    if (rc < 0)
        print_file_tail(deskd_log, 3000);
out:
    desk_client_free(cl);
    stop_kids();
    if (ev.fd >= 0)
        close(ev.fd);
    free(ev.buf);
    env_free(env);
    free(samples);
    free(samples2);
    return rc;
}

static int worker(void) {
    if (!in_path("Xvfb")) {
        say("Xvfb is needed");
        return 1;
    }
    if (!in_path(opt.deskd)) {
        say("no deskd at %s (build it, or pass --deskd PATH)", opt.deskd);
        return 1;
    }
    if (!in_path(opt.evlog)) {
        say("no evlog at %s (build the evlog target, or pass --evlog PATH)", opt.evlog);
        return 1;
    }
    return bench() < 0 ? 1 : 0;
}

/* ---- options ---------------------------------------------------------------------------- */

static void usage(FILE *f) {
    fprintf(f, "usage: bench-input [options]\n"
               "  --deskd PATH       deskd to run (default: the one this build made)\n"
               "  --evlog PATH       the receiving X client (default: the one this build made)\n"
               "  -n, --runs N       timed actions per pointer and key case (default 200)\n"
               "  --type-runs N      timed actions per typing case (default 50)\n"
               "  --warmup N         untimed actions before them (default 10)\n"
               "  --timeout SEC      stop everything after SEC seconds (default 600)\n"
               "  --no-peers         skip the xdotool cases\n"
               "  --strict           a missed target fails the run too\n"
               "  --keep-tmp         keep the temporary directory (logs)\n");
}

static int parse_args(int argc, char **argv) {
    enum { O_DESKD = 256, O_EVLOG, O_TYPE, O_WARMUP, O_TIMEOUT, O_NOPEERS, O_STRICT, O_KEEP };
    static const struct option lo[] = {{"deskd", required_argument, NULL, O_DESKD},
            {"evlog", required_argument, NULL, O_EVLOG}, {"runs", required_argument, NULL, 'n'},
            {"type-runs", required_argument, NULL, O_TYPE},
            {"warmup", required_argument, NULL, O_WARMUP},
            {"timeout", required_argument, NULL, O_TIMEOUT},
            {"no-peers", no_argument, NULL, O_NOPEERS}, {"strict", no_argument, NULL, O_STRICT},
            {"keep-tmp", no_argument, NULL, O_KEEP}, {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "n:h", lo, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case O_DESKD:
            opt.deskd = optarg;
            break;
        case O_EVLOG:
            opt.evlog = optarg;
            break;
        case 'n':
            bad = parse_int(optarg, 1, 100000, &opt.runs);
            break;
        case O_TYPE:
            bad = parse_int(optarg, 1, 100000, &opt.type_runs);
            break;
        case O_WARMUP:
            bad = parse_int(optarg, 0, 1000, &opt.warmup);
            break;
        case O_TIMEOUT:
            bad = parse_int(optarg, 10, 86400, &opt.timeout_s);
            break;
        case O_NOPEERS:
            opt.peers = false;
            break;
        case O_STRICT:
            opt.strict = true;
            break;
        case O_KEEP:
            opt.keep_tmp = true;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return -1;
        }
        if (bad) {
            say("bad value \"%s\" for an option", optarg);
            return -1;
        }
    }
    if (optind < argc) {
        usage(stderr);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv) {
    bench_name = "bench-input";
    if (parse_args(argc, argv) < 0)
        return 2;
    return bench_supervise(worker, opt.timeout_s, opt.keep_tmp);
}
