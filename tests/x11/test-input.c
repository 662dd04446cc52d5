/*
 * test-input: drives struct input on a private Xvfb and checks what an X
 * client (evlog) received: typed text byte for byte under the us, de and ru
 * layouts and with Caps Lock, key chords and their modifier state, numpad
 * keysyms, clicks, double clicks, drags, scrolling, and that no key or button
 * is left down after any action, failed ones included.
 *
 * Every wait is on a condition: after an action the test taps F1 as a marker
 * and reads evlog's lines (poll with a timeout) until the marker arrives, so
 * all the action's events have been seen by then.
 */
#define _GNU_SOURCE
#include <X11/XKBlib.h>
#include <X11/Xlib.h>
#include <X11/extensions/XTest.h>
#include <X11/keysym.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "evproc.h"
#include "input.h"
#include "keys.h"
#include "xserver.h"

#define LINE_TIMEOUT_MS 5000

/* Window geometry given to evlog: x 100..499, y 50..349. */
#define WIN_X 100
#define WIN_Y 50
#define WIN_W 400
#define WIN_H 300

static struct xserver xs;
static Display *dpy;
static struct input *in;
static struct evproc ev;

/* The lines collected by collect(), as evproc keeps them. */
#define lines  ev.lines
#define nlines ev.nlines

static const struct key_combo marker = {XK_F1, {0}, 0};

/*
 * Taps the F1 marker and reads evlog's lines up to it; they are left in lines[].
 * Returns false if the marker did not come.
 */
static bool collect(void) {
    CHECK_INT(input_key(in, &marker), 0);
    bool ok = evproc_collect(&ev, "key F1 ", LINE_TIMEOUT_MS);
    CHECK(ok, "evlog sent no marker within %d ms", LINE_TIMEOUT_MS);
    return ok;
}

static void type_and_check(const char *text, const char *expect, const char *layout) {
    CHECK_INT(input_type(in, text, strlen(text), 0), 0);
    check_nothing_held(dpy, "type");
    if (!collect())
        return;
    char *got = evproc_text(&ev);
    bool same = got && strcmp(got, expect) == 0;
    CHECK(same, "layout %s: typed \"%s\", evlog got \"%s\"", layout, text, got ? got : "(null)");
    for (int i = 0; !same && i < nlines; i++)
        fprintf(stderr, "  evlog: %s\n", lines[i]);
    free(got);
}

static int run_setxkbmap(const char *layout) {
    pid_t pid = fork();
    if (pid == 0) {
        execlp("setxkbmap", "setxkbmap", "-display", xs.name, layout, (char *)NULL);
        _exit(127);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) < 0)
        return -1;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static const char *const texts[] = {
        "Hello, World!",
        "Grüße",
        "naïve café",
        "日本語",
        "✓ 🙂",
        "~`!@#$%^&*()_+-={}[]|\\:;\"'<>,.?/ AZ az 09",
};

static void test_typing(const char *layout) {
    if (run_setxkbmap(layout) < 0) {
        CHECK(false, "setxkbmap %s failed", layout);
        return;
    }
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++)
        type_and_check(texts[i], texts[i], layout);
    type_and_check("@€µ²{", "@€µ²{", layout);
    /* Return is "\r" in the text a client sees. */
    type_and_check("a\nb\r\nc\rd", "a\rb\rc\rd", layout);
}

static bool key_line(int i, const char *name, unsigned state_bits) {
    char n[128];
    unsigned state;
    if (i >= nlines || sscanf(lines[i], "key %127s 0x%x", n, &state) != 2)
        return false;
    return strcmp(n, name) == 0 && (state & state_bits) == state_bits;
}

/* The index of the first collected "key NAME" line, or -1. */
static int find_key(const char *name) {
    for (int i = 0; i < nlines; i++) {
        char n[128];
        if (sscanf(lines[i], "key %127s", n) == 1 && strcmp(n, name) == 0)
            return i;
    }
    return -1;
}

static void press_and_check(const char *key, const char *const *mods, size_t nmods,
        const char *expect, unsigned state_bits) {
    struct key_combo c;
    char err[256];
    if (keys_parse_press(key, mods, nmods, &c, err, sizeof err) < 0) {
        CHECK(false, "press(%s): %s", key, err);
        return;
    }
    CHECK_INT(input_key(in, &c), 0);
    check_nothing_held(dpy, key);
    if (!collect())
        return;
    int i = find_key(expect);
    CHECK(i >= 0 && key_line(i, expect, state_bits), "press(%s): expected key %s with state 0x%x",
            key, expect, state_bits);
}

static void test_keys(const char *layout) {
    const char *ctrl[] = {"ctrl"}, *alt[] = {"alt"};
    struct key_combo c;
    char err[256];

    press_and_check("c", ctrl, 1, "c", ControlMask);
    CHECK_INT(keys_parse_hotkey("ctrl+shift+t", &c, err, sizeof err), 0);
    CHECK_INT(input_key(in, &c), 0);
    check_nothing_held(dpy, "ctrl+shift+t");
    if (collect()) {
        /* Shift makes the client read T from the t key, as on a real keyboard. */
        int i = find_key("Control_L"), j = find_key("Shift_L"), k = find_key("T");
        CHECK(i >= 0 && j > i && k > j && key_line(k, "T", ControlMask | ShiftMask),
                "layout %s: ctrl+shift+t arrived wrong", layout);
    }
    press_and_check("num0", NULL, 0, "KP_0", 0);
    press_and_check("num5", NULL, 0, "KP_5", 0);
    press_and_check("num9", NULL, 0, "KP_9", 0);
    press_and_check("num_plus", NULL, 0, "KP_Add", 0);
    press_and_check("num_minus", NULL, 0, "KP_Subtract", 0);
    press_and_check("num_asterisk", NULL, 0, "KP_Multiply", 0);
    press_and_check("num_slash", NULL, 0, "KP_Divide", 0);
    press_and_check("num_decimal", NULL, 0, "KP_Decimal", 0);
    press_and_check("num_enter", NULL, 0, "KP_Enter", 0);
    press_and_check("num_equal", NULL, 0, "KP_Equal", 0);
    press_and_check("menu", NULL, 0, "Menu", 0);
    press_and_check("f24", NULL, 0, "F24", 0);
    press_and_check("XF86AudioMute", NULL, 0, "XF86AudioMute", 0);
    press_and_check("Escape", alt, 1, "Escape", Mod1Mask);
    press_and_check("lshift", NULL, 0, "Shift_L", 0);
    press_and_check("A", NULL, 0, "a", 0);
}

static void test_failures(void) {
    struct key_combo bad = {NoSymbol, {0}, 0};
    CHECK_INT(input_key(in, &bad), -EINVAL);
    check_nothing_held(dpy, "a rejected key");
    struct key_combo badmod = {XK_a, {NoSymbol}, 1};
    CHECK_INT(input_key(in, &badmod), -EINVAL);
    CHECK_INT(input_type(in, "ab\xff", 3, 0), -EINVAL);
    CHECK_INT(input_type(in, "a\tb", 3, 0), -EINVAL);
    CHECK_INT(input_type(in, "ab", 2, -1), -EINVAL);
    check_nothing_held(dpy, "rejected text");
    CHECK_INT(input_click(in, 200, 100, 10, false), -EINVAL);
    CHECK_INT(input_click(in, 200, 100, 4, false), -EINVAL);
    CHECK_INT(input_drag(in, 200, 100, 300, 100, 4), -EINVAL);
    CHECK_INT(input_scroll(in, 200, 100, 4, 0), -EINVAL);
    CHECK_INT(input_scroll(in, 200, 100, 3, 1), -EINVAL);
    CHECK_INT(input_scroll(in, 200, 100, 5, INPUT_SCROLL_MAX + 1), -EINVAL);
    check_nothing_held(dpy, "rejected pointer actions");
    /* Nothing of the rejected actions reached the client. */
    if (collect())
        CHECK(nlines == 0, "rejected actions produced %d events, first: %s", nlines,
                nlines ? lines[0] : "");
}

struct button_line {
    char what[16];
    int button, x, y;
    unsigned long time;
};

static int parse_buttons(struct button_line *out, int max) {
    int n = 0;
    for (int i = 0; i < nlines && n < max; i++) {
        struct button_line b;
        if (sscanf(lines[i], "%15s %d %d %d %lu", b.what, &b.button, &b.x, &b.y, &b.time) == 5 &&
                (strcmp(b.what, "press") == 0 || strcmp(b.what, "release") == 0))
            out[n++] = b;
    }
    return n;
}

/* A triple click: three presses, each at its own server time, all within 300 ms. */
static void test_triple_click(void) {
    struct button_line b[64];
    CHECK_INT(input_click_n(in, 220, 160, 1, 3), 0);
    check_nothing_held(dpy, "triple click");
    if (collect()) {
        int n = parse_buttons(b, 64);
        CHECK(n == 6, "triple click gave %d button events", n);
        if (n == 6)
            CHECK(b[2].time > b[0].time && b[4].time > b[2].time && b[4].time - b[0].time < 300,
                    "triple click presses at %lu, %lu, %lu", b[0].time, b[2].time, b[4].time);
    }
    CHECK_INT(input_click_n(in, 220, 160, 1, 0), -EINVAL);
    CHECK_INT(input_click_n(in, 220, 160, 1, INPUT_CLICKS_MAX + 1), -EINVAL);
}

static void test_pointer(void) {
    struct button_line b[64];
    int x, y;

    CHECK_INT(input_move(in, 250, 120), 0);
    CHECK_INT(input_pointer(in, &x, &y), 0);
    CHECK(x == 250 && y == 120, "pointer at %d,%d after a move to 250,120", x, y);
    CHECK_INT(input_move(in, 5000, -10), 0);
    CHECK_INT(input_pointer(in, &x, &y), 0);
    CHECK(x == 1279 && y == 0, "pointer at %d,%d after a move off screen", x, y);
    check_nothing_held(dpy, "move");

    CHECK_INT(input_click(in, 200, 150, 1, false), 0);
    check_nothing_held(dpy, "click");
    if (collect()) {
        int n = parse_buttons(b, 64);
        CHECK(n == 2 && strcmp(b[0].what, "press") == 0 && b[0].button == 1 && b[0].x == 200 &&
                        b[0].y == 150 && strcmp(b[1].what, "release") == 0 && b[1].x == 200,
                "click arrived as %d button events", n);
    }
    CHECK_INT(input_click(in, 300, 200, 3, false), 0);
    if (collect()) {
        int n = parse_buttons(b, 64);
        CHECK(n == 2 && b[0].button == 3 && b[0].x == 300 && b[0].y == 200,
                "right click arrived wrong");
    }
    CHECK_INT(input_click(in, 210, 160, 1, true), 0);
    check_nothing_held(dpy, "double click");
    if (collect()) {
        int n = parse_buttons(b, 64);
        CHECK(n == 4, "double click gave %d button events", n);
        if (n == 4)
            CHECK(strcmp(b[0].what, "press") == 0 && strcmp(b[2].what, "press") == 0 &&
                            b[2].x == 210 && b[2].y == 160 && b[2].time > b[0].time &&
                            b[2].time - b[0].time < 100,
                    "double click presses %lu ms apart", b[2].time - b[0].time);
    }

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_INT(input_drag(in, 150, 100, 350, 250, 1), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    /* Paced, yet well under a second. */
    long drag_ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    CHECK(drag_ms >= 100 && drag_ms < 1000, "a drag took %ld ms", drag_ms);
    check_nothing_held(dpy, "drag");
    if (collect()) {
        int press = -1, release = -1, npress = 0, motions = 0;
        for (int i = 0; i < nlines; i++) {
            int bt, px, py;
            if (sscanf(lines[i], "press %d %d %d", &bt, &px, &py) == 3) {
                npress++;
                press = i;
                CHECK(bt == 1 && px == 150 && py == 100, "drag pressed at %d,%d", px, py);
            } else if (sscanf(lines[i], "release %d %d %d", &bt, &px, &py) == 3) {
                release = i;
                CHECK(bt == 1 && px == 350 && py == 250, "drag released at %d,%d", px, py);
            } else if (press >= 0 && release < 0 &&
                       sscanf(lines[i], "motion %d %d", &px, &py) == 2) {
                if (px > 150 && px < 350 && py > 100 && py < 250)
                    motions++;
            }
        }
        CHECK(npress == 1 && press >= 0 && release > press, "drag: %d presses", npress);
        CHECK(motions >= 5, "drag: %d intermediate motions", motions);
    }

    static const struct { int button, amount; } scrolls[] = {{4, 3}, {5, 2}, {6, 1}, {7, 4}};
    for (size_t s = 0; s < sizeof scrolls / sizeof *scrolls; s++) {
        CHECK_INT(input_scroll(in, 220, 170, scrolls[s].button, scrolls[s].amount), 0);
        check_nothing_held(dpy, "scroll");
        if (collect()) {
            int n = parse_buttons(b, 64), presses = 0;
            for (int i = 0; i < n; i++) {
                CHECK(b[i].button == scrolls[s].button && b[i].x == 220 && b[i].y == 170,
                        "scroll event %s %d at %d,%d", b[i].what, b[i].button, b[i].x, b[i].y);
                presses += strcmp(b[i].what, "press") == 0;
            }
            CHECK(presses == scrolls[s].amount && n == 2 * presses, "scroll %d x%d gave %d presses",
                    scrolls[s].button, scrolls[s].amount, presses);
        }
    }
}

/* More distinct missing characters than there are spare keycodes: bindings get re-used. */
static void test_many_characters(void) {
    char text[1024];
    size_t len = 0;
    for (uint32_t cp = 0x4e00; cp < 0x4e00 + 80; cp++) {
        text[len++] = (char)(0xe0 | cp >> 12);
        text[len++] = (char)(0x80 | ((cp >> 6) & 0x3f));
        text[len++] = (char)(0x80 | (cp & 0x3f));
    }
    text[len] = '\0';
    type_and_check(text, text, "us (80 distinct CJK)");
    /* Mixed with repeats of the first ones, which were re-bound meanwhile. */
    type_and_check("一丁丂七 abc 一丁", "一丁丂七 abc 一丁", "us (re-bound)");
}

/*
 * Every character that has a legacy keysym goes out as that keysym (what X
 * toolkits expect) and arrives exactly at an Xlib client.
 */
static void test_legacy_keysyms(void) {
    static char text[3 * 1024 + 1];
    size_t len = 0;
    int n = 0;
    for (uint32_t cp = 0x100; cp < 0x10000 && len + 3 < sizeof text; cp++) {
        if (keys_ucs_to_keysym(cp) >= 0x10000)
            continue;
        if (cp < 0x800) {
            text[len++] = (char)(0xc0 | cp >> 6);
        } else {
            text[len++] = (char)(0xe0 | cp >> 12);
            text[len++] = (char)(0x80 | ((cp >> 6) & 0x3f));
        }
        text[len++] = (char)(0x80 | (cp & 0x3f));
        n++;
    }
    text[len] = '\0';
    CHECK(n > 550, "%d characters have legacy keysyms", n);
    type_and_check(text, text, "us (every legacy keysym)");

    CHECK_INT(input_type(in, "ф", strlen("ф"), 0), 0);
    if (collect())
        CHECK(find_key("Cyrillic_ef") >= 0, "ф went out as %s, not Cyrillic_ef",
                nlines ? lines[0] : "nothing");
}

static void test_caps_lock(void) {
    XkbLockModifiers(dpy, XkbUseCoreKbd, LockMask, LockMask);
    XSync(dpy, False);
    type_and_check("aB üÜ Cyrillic фФ", "aB üÜ Cyrillic фФ", "us with Caps Lock");
    XkbLockModifiers(dpy, XkbUseCoreKbd, LockMask, 0);
    XSync(dpy, False);
}

static void test_delay(void) {
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_INT(input_type(in, "xyz", 3, 20), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    /* The delay is between characters: none after the last one. */
    CHECK(ms >= 40, "typing 3 characters with a 20 ms delay took %.1f ms", ms);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_INT(input_type(in, "w", 1, 500), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    CHECK(ms < 400, "typing 1 character with a 500 ms delay took %.1f ms", ms);
    if (collect()) {
        char *got = evproc_text(&ev);
        CHECK_STR(got, "xyzw");
        free(got);
    }
}

static int stop_now(void *arg) {
    (void)arg;
    return 1;
}

static void test_cancel_and_release_all(void) {
    input_set_cancel(in, stop_now, NULL);
    CHECK_INT(input_type(in, "abcdef", 6, 1), -ECANCELED);
    input_set_cancel(in, NULL, NULL);
    check_nothing_held(dpy, "a cancelled type");
    if (collect()) {
        char *got = evproc_text(&ev);
        CHECK_STR(got, "a");
        free(got);
    }

    /*
     * A key and a button held by someone else through XTest (a person on
     * VNC): the safety net leaves them down, since deskd did not press them.
     */
    KeyCode kc = XKeysymToKeycode(dpy, XK_Control_L);
    XTestFakeKeyEvent(dpy, kc, True, CurrentTime);
    XTestFakeButtonEvent(dpy, 1, True, CurrentTime);
    XSync(dpy, False);
    CHECK_INT(input_release_all(in), 0);
    char keys[32];
    Window root, child;
    int rx, ry, wx, wy;
    unsigned mask = 0;
    XQueryKeymap(dpy, keys);
    XQueryPointer(dpy, DefaultRootWindow(dpy), &root, &child, &rx, &ry, &wx, &wy, &mask);
    CHECK(keys[kc / 8] & (1 << (kc % 8)), "the other client's Control_L was released");
    CHECK(mask & Button1Mask, "the other client's button 1 was released");
    XTestFakeKeyEvent(dpy, kc, False, CurrentTime);
    XTestFakeButtonEvent(dpy, 1, False, CurrentTime);
    XSync(dpy, False);
    check_nothing_held(dpy, "input_release_all");
    collect();
}

/* The core keyboard mapping, to see whether typing bound spare keycodes. */
static KeySym *mapping(int *n) {
    int min, max, per;
    XDisplayKeycodes(dpy, &min, &max);
    KeySym *m = XGetKeyboardMapping(dpy, (KeyCode)min, max - min + 1, &per);
    *n = (max - min + 1) * per;
    return m;
}

/* Types text and checks that it arrived exactly, through the layout's own keys only. */
static void type_real_keys(const char *text, const char *what) {
    int n0, n1;
    KeySym *before = mapping(&n0);
    type_and_check(text, text, what);
    KeySym *after = mapping(&n1);
    CHECK(before && after && n0 == n1 && memcmp(before, after, sizeof *before * (size_t)n0) == 0,
            "%s: typing changed the keymap (a spare keycode was bound)", what);
    XFree(before);
    XFree(after);
}

static XkbStateRec kbd_state(void) {
    XkbStateRec st = {0};
    XkbGetState(dpy, XkbUseCoreKbd, &st);
    return st;
}

/* The keycode of collected line i ("key ... kc=N"), or -1. */
static int line_keycode(int i) {
    const char *p = i >= 0 && i < nlines ? strstr(lines[i], " kc=") : NULL;
    return p ? (int)strtol(p + 4, NULL, 10) : -1;
}

/*
 * Two groups: characters of either group are typed with their own keys in
 * their group, whichever is active; shortcuts press the Latin letter's key.
 */
static void test_groups(void) {
    if (run_setxkbmap("us,ru") < 0) {
        CHECK(false, "setxkbmap us,ru failed");
        return;
    }
    type_real_keys("Hello привет", "us,ru (us active)");
    XkbLockGroup(dpy, XkbUseCoreKbd, 1);
    XSync(dpy, False);
    type_real_keys("привет Hello", "us,ru (ru active)");
    CHECK_INT(kbd_state().group, 1);

    /* ctrl+a with ru active: the key of a (keycode 38 on Xvfb's pc105), with Control. */
    KeyCode a_kc = XKeysymToKeycode(dpy, XK_a);
    struct key_combo c;
    char err[256];
    CHECK_INT(keys_parse_hotkey("ctrl+a", &c, err, sizeof err), 0);
    CHECK_INT(input_key(in, &c), 0);
    if (collect()) {
        /* Xlib reads it as a with Control (its Control fallback), Cyrillic_ef without. */
        int i = find_key("a") >= 0 ? find_key("a") : find_key("Cyrillic_ef");
        CHECK(i >= 0 &&
                        (key_line(i, "a", ControlMask | 0x2000) ||
                                key_line(i, "Cyrillic_ef", ControlMask | 0x2000)) &&
                        line_keycode(i) == a_kc,
                "ctrl+a under us,ru (ru active) did not press the key of a (%u)", a_kc);
        for (int k = 0; i < 0 && k < nlines; k++)
            fprintf(stderr, "  evlog: %s\n", lines[k]);
    }
    CHECK_INT(kbd_state().group, 1);

    /* A keysym on a higher level of the other group: its key, that group, Shift. */
    CHECK_INT(keys_parse_press("at", NULL, 0, &c, err, sizeof err), 0);
    CHECK_INT(input_key(in, &c), 0);
    if (collect()) {
        int i = find_key("at");
        CHECK(i >= 0 && key_line(i, "at", ShiftMask) &&
                        line_keycode(i) == XKeysymToKeycode(dpy, XK_2),
                "key at under us,ru (ru active) was not Shift and the key of 2: %s",
                i >= 0 ? lines[i] : "no key line");
    }
    CHECK_INT(kbd_state().group, 1);
    XkbLockGroup(dpy, XkbUseCoreKbd, 0);
    XSync(dpy, False);
}

/*
 * Others' keyboard state: locks and latches are cleared and restored, and a
 * modifier held by another client is refused and left down.
 */
static void test_foreign_state(void) {
    /* A latched Shift and a locked Num Lock change nothing typed, and stay. */
    XkbLatchModifiers(dpy, XkbUseCoreKbd, ShiftMask, ShiftMask);
    XkbLockModifiers(dpy, XkbUseCoreKbd, Mod2Mask, Mod2Mask);
    XSync(dpy, False);
    CHECK_INT(input_type(in, "abc 123", 7, 0), 0);
    XkbStateRec st = kbd_state();
    CHECK(st.latched_mods == ShiftMask && st.locked_mods == Mod2Mask,
            "latched 0x%x locked 0x%x after typing", st.latched_mods, st.locked_mods);
    if (collect()) { /* the marker key takes the latch */
        char *got = evproc_text(&ev);
        CHECK_STR(got, "abc 123");
        free(got);
    }
    XkbLatchModifiers(dpy, XkbUseCoreKbd, ShiftMask, 0);
    XkbLockModifiers(dpy, XkbUseCoreKbd, Mod2Mask, 0);

    /* Shift held by another XTest client: refused, nothing typed, Shift still down. */
    Display *other = XOpenDisplay(xs.name);
    CHECK(other != NULL, "a second connection");
    if (!other)
        return;
    KeyCode shift = XKeysymToKeycode(other, XK_Shift_L);
    XTestFakeKeyEvent(other, shift, True, CurrentTime);
    XSync(other, False);
    CHECK_INT(input_type(in, "a", 1, 0), -EBUSY);
    CHECK_STR(input_held_modifier(in), "Shift_L");
    CHECK_INT(input_release_all(in), 0);
    char keys[32];
    XQueryKeymap(dpy, keys);
    CHECK(keys[shift / 8] & (1 << (shift % 8)), "the other client's Shift was released");
    XTestFakeKeyEvent(other, shift, False, CurrentTime);
    XSync(other, False);
    XCloseDisplay(other);
    if (collect()) {
        char *got = evproc_text(&ev);
        CHECK_STR(got, "");
        free(got);
    }
    check_nothing_held(dpy, "the foreign state tests");
    run_setxkbmap("us");
}

static int quiet_io_error(Display *d) {
    (void)d;
    return 0;
}

/* Set by the exit handler: the test owns the Display and so knows when it died. */
static bool dpy_dead;

static bool is_dead(void *arg) {
    (void)arg;
    return dpy_dead;
}

static void no_exit(Display *d, void *arg) {
    (void)d;
    (void)arg;
    dpy_dead = true;
}

static pid_t server_pid;

static void kill_server(int sig) {
    (void)sig;
    kill(server_pid, SIGKILL);
}

/*
 * The X server goes away: every call fails with -EIO and nothing crashes.
 * First while a long text is being typed (Xlib's buffer of a dead connection
 * is never emptied: a loop that goes on sending overflows it and crashes),
 * last when the connection is closed with a key and a button held.
 */
static void test_server_gone(void) {
    XSetIOErrorHandler(quiet_io_error);
    XSetIOErrorExitHandler(dpy, no_exit, NULL);
    evproc_stop(&ev);
    /* Held by the down routes: input_destroy lets them go, on a connection that died. */
    CHECK_INT(input_key_set(in, XK_Shift_L, true), 0);
    CHECK_INT(input_button_set(in, 1, true, false, 0, 0), 0);
    size_t len = KEYS_TEXT_MAX;
    char *text = malloc(len + 1);
    CHECK(text != NULL, "memory for the text");
    if (text) {
        for (size_t i = 0; i < len; i++)
            text[i] = (char)('a' + i % 26);
        text[len] = '\0';
        server_pid = xs.pid;
        signal(SIGALRM, kill_server);
        struct itimerval t = {{0, 0}, {0, 20000}}; /* 20 ms into the typing */
        setitimer(ITIMER_REAL, &t, NULL);
        CHECK_INT(input_type(in, text, len, 0), -EIO);
        free(text);
    }
    xserver_stop(&xs);
    int x, y;
    struct key_combo c = {XK_a, {XK_Control_L}, 1};
    CHECK_INT(input_move(in, 10, 10), -EIO);
    CHECK_INT(input_click(in, 10, 10, 1, true), -EIO);
    CHECK_INT(input_drag(in, 10, 10, 20, 20, 1), -EIO);
    CHECK_INT(input_scroll(in, 10, 10, 5, 3), -EIO);
    CHECK_INT(input_pointer(in, &x, &y), -EIO);
    CHECK_INT(input_type(in, "abc ü", 6, 0), -EIO);
    CHECK_INT(input_key(in, &c), -EIO);
    CHECK_INT(input_release_all(in), -EIO);
    input_destroy(in);
    in = NULL;
}

int main(void) {
    check_timeout(110);
    check_require_tool("Xvfb");
    check_require_tool("setxkbmap");
    if (xserver_start_xvfb(&xs, 1280, 720) < 0) {
        CHECK(false, "cannot start Xvfb");
        return check_finish();
    }
    ev.fd = -1;
    dpy = XOpenDisplay(xs.name);
    CHECK(dpy != NULL, "cannot open %s", xs.name);
    if (!dpy)
        goto out;
    in = input_new(dpy);
    CHECK(in != NULL, "input_new failed");
    if (in)
        input_set_dead_check(in, is_dead, NULL);
    if (!in || evproc_start(&ev, xs.name, WIN_X, WIN_Y, WIN_W, WIN_H, "test-input") < 0) {
        CHECK(false, "evlog did not start");
        goto out;
    }

    test_typing("us");
    test_keys("us");
    test_failures();
    test_pointer();
    test_triple_click();
    test_many_characters();
    test_legacy_keysyms();
    test_caps_lock();
    test_delay();
    test_cancel_and_release_all();
    test_typing("de");
    test_keys("de");
    test_typing("ru");
    test_keys("ru");
    test_many_characters();
    test_groups();
    test_foreign_state();
    check_nothing_held(dpy, "the whole run");
    test_server_gone();

out:
    evproc_free_lines(&ev);
    input_destroy(in);
    evproc_stop(&ev);
    if (dpy)
        XCloseDisplay(dpy);
    xserver_stop(&xs);
    return check_finish();
}
