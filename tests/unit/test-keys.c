/*
 * test-keys: key names, hotkeys, text checks, buttons and scroll directions,
 * with Daytona's own test cases and error sentences. No X server needed.
 */
#include <X11/XF86keysym.h>
#include <X11/keysym.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "keys.h"
#include "util.h"

#define MODS(...)  ((const char *const[]){__VA_ARGS__})
#define NMODS(...) (sizeof(MODS(__VA_ARGS__)) / sizeof(const char *))

static void press_ok(const char *key, const char *const *mods, size_t nmods, KeySym want,
        const KeySym *want_mods, int nwant) {
    struct key_combo c;
    char err[256];
    int r = keys_parse_press(key, mods, nmods, &c, err, sizeof err);
    CHECK(r == 0, "press(\"%s\") failed: %s", key, err);
    if (r != 0)
        return;
    CHECK(c.key == want, "press(\"%s\") key = 0x%lx, expected 0x%lx", key, c.key, want);
    CHECK_INT(c.nmods, nwant);
    for (int i = 0; i < nwant && i < c.nmods; i++)
        CHECK(c.mods[i] == want_mods[i], "press(\"%s\") mod %d = 0x%lx, expected 0x%lx", key, i,
                c.mods[i], want_mods[i]);
}

static void press_err(const char *key, const char *const *mods, size_t nmods, const char *want) {
    struct key_combo c;
    char err[512] = "";
    CHECK_INT(keys_parse_press(key, mods, nmods, &c, err, sizeof err), -EINVAL);
    CHECK_STR(err, want);
}

static void hotkey_ok(const char *keys, KeySym want, const KeySym *want_mods, int nwant) {
    struct key_combo c;
    char err[256];
    int r = keys_parse_hotkey(keys, &c, err, sizeof err);
    CHECK(r == 0, "hotkey(\"%s\") failed: %s", keys, err);
    if (r != 0)
        return;
    CHECK(c.key == want, "hotkey(\"%s\") key = 0x%lx, expected 0x%lx", keys, c.key, want);
    CHECK_INT(c.nmods, nwant);
    for (int i = 0; i < nwant && i < c.nmods; i++)
        CHECK(c.mods[i] == want_mods[i], "hotkey(\"%s\") mod %d = 0x%lx, expected 0x%lx", keys, i,
                c.mods[i], want_mods[i]);
}

static void hotkey_err(const char *keys, const char *want) {
    struct key_combo c;
    char err[512] = "";
    CHECK_INT(keys_parse_hotkey(keys, &c, err, sizeof err), -EINVAL);
    CHECK_STR(err, want);
}

static void key_is(const char *key, KeySym want) {
    press_ok(key, NULL, 0, want, NULL, 0);
}

static void text_ok(const char *text, size_t len) {
    char err[256] = "";
    int r = keys_check_text(text, len, err, sizeof err);
    CHECK(r == 0, "text of %zu bytes rejected: %s", len, err);
}

static void text_err(const char *text, size_t len, const char *want) {
    char err[256] = "";
    CHECK_INT(keys_check_text(text, len, err, sizeof err), -EINVAL);
    CHECK_STR(err, want);
}

static void test_press(void) {
    const KeySym ctrl_super[] = {XK_Control_L, XK_Super_L};
    const KeySym ctrl[] = {XK_Control_L};
    const KeySym alt[] = {XK_Alt_L};
    const KeySym cmd[] = {XK_Super_L};

    press_ok("Escape", MODS("CONTROL", "meta"), 2, XK_Escape, ctrl_super, 2);
    press_ok("c", MODS("command"), 1, XK_c, cmd, 1);
    press_ok("tab", MODS("option"), 1, XK_Tab, alt, 1);
    const char *cmd_aliases[] = {"cmd", "command", "super", "meta", "win", "windows", "Win"};
    for (size_t i = 0; i < sizeof cmd_aliases / sizeof *cmd_aliases; i++)
        press_ok("c", &cmd_aliases[i], 1, XK_c, cmd, 1);
    key_is("Return", XK_Return);
    key_is("enter", XK_Return);
    key_is("esc", XK_Escape);
    key_is("A", XK_a); /* a capital names the key and adds no shift */
    key_is("z", XK_z);
    key_is("7", XK_7);
    press_ok("lshift", MODS("ctrl"), 1, XK_Shift_L, ctrl, 1);
    press_ok("/", MODS("ctrl"), 1, XK_slash, ctrl, 1);
    key_is("num_plus", XK_KP_Add);
    key_is("num-plus", XK_KP_Add);
    key_is("NUM_MINUS", XK_KP_Subtract);
    key_is("num_asterisk", XK_KP_Multiply);
    key_is("num_slash", XK_KP_Divide);
    key_is("num_decimal", XK_KP_Decimal);
    key_is("num_enter", XK_KP_Enter);
    key_is("num_equal", XK_KP_Equal);
    key_is("num_lock", XK_Num_Lock);
    key_is("num0", XK_KP_0);
    key_is("num9", XK_KP_9);
    key_is("menu", XK_Menu);
    key_is("f1", XK_F1);
    key_is("F24", XK_F24);
    key_is("page-up", XK_Page_Up);
    key_is("page_down", XK_Page_Down);
    key_is("PageDown", XK_Page_Down);
    key_is("spacebar", XK_space);
    key_is("del", XK_Delete);
    key_is("capslock", XK_Caps_Lock);
    key_is("lctrl", XK_Control_L);
    key_is("left_ctrl", XK_Control_L);
    key_is("left-ctrl", XK_Control_L);
    key_is("rctrl", XK_Control_R);
    key_is("rshift", XK_Shift_R);
    key_is("lalt", XK_Alt_L);
    key_is("ralt", XK_Alt_R);
    key_is("lcmd", XK_Super_L);
    key_is("rcmd", XK_Super_R);
    key_is("ctrl", XK_Control_L);
    key_is("'", XK_apostrophe);
    key_is("`", XK_grave);
    key_is("\\", XK_backslash);
    key_is("[", XK_bracketleft);
    /* [ext] any X keysym name, as spelled or in any case when unambiguous */
    key_is("XF86AudioMute", XF86XK_AudioMute);
    key_is("xf86audiomute", XF86XK_AudioMute);
    key_is("Print", XK_Print);
    key_is("pause", XK_Pause);
    key_is("KP_Home", XK_KP_Home);
    key_is("scroll_lock", XK_Scroll_Lock);
    key_is("Cyrillic_ef", XK_Cyrillic_ef);
    key_is("agrave", XK_agrave);
    key_is("Agrave", XK_Agrave);

    press_err("AGRAVE", NULL, 0,
            "unsupported key \"AGRAVE\"; see supported keyboard key names in the computer-use "
            "docs");
    press_err("Terminate_Server", NULL, 0,
            "unsupported key \"Terminate_Server\"; it controls the X server, not an application");
    press_err("XF86Switch_VT_1", NULL, 0,
            "unsupported key \"XF86Switch_VT_1\"; it controls the X server, not an application");
    press_err("", NULL, 0, "unsupported key \"\": empty key token");
    /* Keys whose XKB actions switch keyboard features or latch state past the request. */
    static const char *const state_keys[] = {"SlowKeys_Enable", "StickyKeys_Enable",
            "MouseKeys_Enable", "AccessX_Enable", "BounceKeys_Enable", "RepeatKeys_Enable",
            "Overlay1_Enable", "AudibleBell_Enable", "Pointer_EnableKeys", "Pointer_Button1",
            "Pointer_Left", "Pointer_Drag_Dflt", "Pointer_Accelerate", "ISO_Level3_Latch",
            "ISO_Group_Lock", "ISO_Next_Group", "ISO_Level5_Lock", "ISO_Lock",
            "Next_Virtual_Screen", "slowkeys_enable"};
    for (size_t i = 0; i < sizeof state_keys / sizeof state_keys[0]; i++) {
        char want[256];
        snprintf(want, sizeof want,
                "unsupported key \"%s\"; it switches a keyboard or pointer feature of the X "
                "server that would outlive the request",
                state_keys[i]);
        press_err(state_keys[i], NULL, 0, want);
    }
    hotkey_err("ctrl+StickyKeys_Enable",
            "invalid hotkey \"ctrl+StickyKeys_Enable\": unsupported key \"StickyKeys_Enable\"; it "
            "switches a keyboard or pointer feature of the X server that would outlive the "
            "request");
    /* Their neighbours in the keysym table stay keys. */
    key_is("ISO_Left_Tab", XK_ISO_Left_Tab);
    key_is("ISO_Level3_Shift", XK_ISO_Level3_Shift);
    key_is("dead_acute", XK_dead_acute);
    key_is("Caps_Lock", XK_Caps_Lock);
    press_err("!", NULL, 0,
            "unsupported key \"!\"; use press(\"1\", [\"shift\"]) for a shifted key or "
            "type(\"!\") for text");
    press_err("@", NULL, 0,
            "unsupported key \"@\"; use press(\"2\", [\"shift\"]) for a shifted key or "
            "type(\"@\") for text");
    press_err("+", NULL, 0,
            "unsupported key \"+\"; use press(\"=\", [\"shift\"]) for a shifted key or "
            "type(\"+\") for text");
    press_err("\"", NULL, 0,
            "unsupported key \"\\\"\"; use press(\"'\", [\"shift\"]) for a shifted key or "
            "type(\"\\\"\") for text");
    press_err("|", NULL, 0,
            "unsupported key \"|\"; use press(\"\\\\\", [\"shift\"]) for a shifted key or "
            "type(\"|\") for text");
    press_err(" ", NULL, 0, "unsupported key \" \"; use press(\"space\") or type(\" \")");
    press_err("\t", NULL, 0, "unsupported key \"\\t\"; use press(\"tab\") or type(\"\\t\")");
    press_err("\n", NULL, 0, "unsupported key \"\\n\"; use press(\"enter\") or type(\"\\n\")");
    press_err("\x01", NULL, 0, "unsupported key \"\\x01\"; use type(\"\\x01\") for text input");
    press_err("a b", NULL, 0,
            "unsupported key \"a b\"; use a named key such as \"space\", \"tab\", or \"enter\"");
    press_err("é", NULL, 0, "unsupported key \"é\"; use type(\"é\") for text input");
    press_err("日本", NULL, 0, "unsupported key \"日本\"; use type(\"日本\") for text input");
    press_err("\xa0", NULL, 0, "unsupported key \"\\xa0\"; use type(\"\\xa0\") for text input");
    press_err("FooBar", NULL, 0,
            "unsupported key \"FooBar\"; see supported keyboard key names in the computer-use "
            "docs");
    press_err("audio_mute", NULL, 0,
            "unsupported key \"audio_mute\"; see supported keyboard key names in the "
            "computer-use docs");
    press_err("num+", NULL, 0, "unsupported key \"num+\"; use \"num_plus\"");
    press_err("NUM*", NULL, 0, "unsupported key \"NUM*\"; use \"num_asterisk\"");
    press_err("d", MODS("ctrl", "c"), 2,
            "unsupported modifier \"c\"; supported modifiers: ctrl, alt, shift, cmd");
    press_err("a", MODS("lshift"), 1,
            "unsupported modifier \"lshift\"; supported modifiers: ctrl, alt, shift, cmd; "
            "left/right-specific modifier keys are only supported as the main key");
    press_err("a", MODS(""), 1,
            "unsupported modifier \"\"; supported modifiers: ctrl, alt, shift, cmd");
    press_err("a", MODS("enter"), 1,
            "unsupported modifier \"enter\"; supported modifiers: ctrl, alt, shift, cmd");
    press_err("c", MODS("ctrl", "ctrl"), 2,
            "duplicate modifier \"ctrl\" in press(\"c\", [\"ctrl\", \"ctrl\"])");
    press_err("c", MODS("Ctrl", "ctrl"), 2,
            "duplicate modifier \"ctrl\" in press(\"c\", [\"Ctrl\", \"ctrl\"])");
    press_err("c", MODS("cmd", "meta"), 2,
            "duplicate modifier usage after normalization in press(\"c\", [\"cmd\", \"meta\"])");
    press_err("shift", MODS("shift"), 1,
            "duplicate modifier usage after normalization in press(\"shift\", [\"shift\"])");
    press_err("rctrl", MODS("control"), 1,
            "duplicate modifier usage after normalization in press(\"rctrl\", [\"control\"])");

    /* A long value is cut in the sentence, and the sentence always fits the buffer. */
    char longkey[300];
    memset(longkey, 'x', sizeof longkey - 1);
    longkey[sizeof longkey - 1] = '\0';
    struct key_combo c;
    char small[40];
    CHECK_INT(keys_parse_press(longkey, NULL, 0, &c, small, sizeof small), -EINVAL);
    CHECK_INT(strlen(small), sizeof small - 1);
    CHECK_INT(keys_parse_press(longkey, NULL, 0, &c, NULL, 0), -EINVAL);
}

static void test_hotkey(void) {
    const KeySym ctrl[] = {XK_Control_L};
    const KeySym ctrl_shift[] = {XK_Control_L, XK_Shift_L};
    const KeySym cmd[] = {XK_Super_L};
    const KeySym alt[] = {XK_Alt_L};

    hotkey_ok("CTRL+Escape", XK_Escape, ctrl, 1);
    hotkey_ok("command+c", XK_c, cmd, 1);
    hotkey_ok("option+tab", XK_Tab, alt, 1);
    hotkey_ok("win+e", XK_e, cmd, 1);
    hotkey_ok("ctrl+return", XK_Return, ctrl, 1);
    hotkey_ok("ctrl+shift", XK_Shift_L, ctrl, 1);
    hotkey_ok("lshift", XK_Shift_L, NULL, 0);
    hotkey_ok("a", XK_a, NULL, 0);
    hotkey_ok(" ctrl + c ", XK_c, ctrl, 1);
    hotkey_ok("ctrl+num_plus", XK_KP_Add, ctrl, 1);
    hotkey_ok("ctrl+/", XK_slash, ctrl, 1);
    hotkey_ok("ctrl+A", XK_a, ctrl, 1);
    hotkey_ok("ctrl+shift+t", XK_t, ctrl_shift, 2);
    hotkey_ok("ctrl+XF86AudioMute", XF86XK_AudioMute, ctrl, 1);

    hotkey_err("", "invalid hotkey \"\": empty key token");
    hotkey_err("  ", "invalid hotkey \"  \": empty key token");
    hotkey_err("ctrl++c", "invalid hotkey \"ctrl++c\": empty key token");
    hotkey_err("ctrl+", "invalid hotkey \"ctrl+\": empty key token");
    hotkey_err("ctrl+ ", "invalid hotkey \"ctrl+ \": empty key token after trimming");
    hotkey_err("ctrl+ctrl+c", "invalid hotkey \"ctrl+ctrl+c\": duplicate modifier \"ctrl\" in "
                              "hotkey(\"ctrl+ctrl+c\")");
    hotkey_err("cmd+meta+c",
            "invalid hotkey \"cmd+meta+c\": duplicate modifier usage after normalization in "
            "hotkey(\"cmd+meta+c\")");
    hotkey_err("shift+shift",
            "invalid hotkey \"shift+shift\": duplicate modifier usage after normalization in "
            "hotkey(\"shift+shift\")");
    hotkey_err("lshift+a",
            "invalid hotkey \"lshift+a\": unsupported modifier \"lshift\"; supported modifiers: "
            "ctrl, alt, shift, cmd; left/right-specific modifier keys are only supported as "
            "the main key");
    hotkey_err("ctrl+c+d",
            "invalid hotkey \"ctrl+c+d\": chords may contain at most one non-modifier key");
    hotkey_err("a+b", "invalid hotkey \"a+b\": chords may contain at most one non-modifier key");
    hotkey_err(
            "ctrl+k ctrl+c", "invalid hotkey \"ctrl+k ctrl+c\": only a single chord is supported");
    hotkey_err("ctrl+FooBar",
            "invalid hotkey \"ctrl+FooBar\": unsupported key \"FooBar\"; see supported keyboard "
            "key names in the computer-use docs");
    hotkey_err("ctrl+!",
            "invalid hotkey \"ctrl+!\": unsupported key \"!\"; use press(\"1\", [\"shift\"]) "
            "for a shifted key or type(\"!\") for text");
    hotkey_err("hyper+c",
            "invalid hotkey \"hyper+c\": unsupported modifier \"hyper\"; supported modifiers: "
            "ctrl, alt, shift, cmd");
}

static void test_text(void) {
    text_ok("", 0);
    text_ok(NULL, 0);
    text_ok("Hello, World!", 13);
    text_ok("line\nnext\r\nlast\r", 16);
    const char *uni = "Grüße naïve café 日本語 ✓ 🙂";
    text_ok(uni, strlen(uni));

    text_err("a\tb", 3,
            "keyboard.type does not translate '\\t' (U+0009) to Tab; use "
            "keyboard.press(\"tab\") for Tab key events");
    text_err("a\vb", 3, "unsupported control character in keyboard.type: U+000B");
    text_err("a\0b", 3, "text may not contain U+0000 (NUL)");
    text_err("\x7f", 1, "unsupported control character in keyboard.type: U+007F");
    text_err("\xc2\x85", 2, "unsupported control character in keyboard.type: U+0085");
    text_err("a\xe2\x80\xa8", 4, "unsupported separator character in keyboard.type: U+2028");
    text_err("\xe2\x80\xa9", 3, "unsupported separator character in keyboard.type: U+2029");
    text_err("ab\xff", 3, "invalid UTF-8 in keyboard.type text at byte 2");
    text_err("\xc3", 1, "invalid UTF-8 in keyboard.type text at byte 0");
    text_err("\xc0\xaf", 2, "invalid UTF-8 in keyboard.type text at byte 0");     /* overlong / */
    text_err("\xe0\x80\xaf", 3, "invalid UTF-8 in keyboard.type text at byte 0"); /* overlong / */
    text_err("\xf0\x80\x80\xaf", 4, "invalid UTF-8 in keyboard.type text at byte 0"); /* overlong */
    text_err("\xed\xa0\x80", 3, "invalid UTF-8 in keyboard.type text at byte 0"); /* surrogate */
    text_err("\xf4\x90\x80\x80", 4, "invalid UTF-8 in keyboard.type text at byte 0"); /* > 10FFFF */
    text_err("x\xe6\x97", 3, "invalid UTF-8 in keyboard.type text at byte 1"); /* truncated */

    char *big = malloc(KEYS_TEXT_MAX + 1);
    CHECK(big != NULL, "malloc");
    if (big) {
        memset(big, 'a', KEYS_TEXT_MAX + 1);
        text_ok(big, KEYS_TEXT_MAX);
        text_err(big, KEYS_TEXT_MAX + 1,
                "text is too long for keyboard.type: 65537 bytes; the limit is 65536 bytes "
                "(64 KiB)");
        free(big);
    }
}

static void test_utf8_and_keysyms(void) {
    uint32_t cp = 0;
    CHECK_INT(util_utf8_decode("\xf0\x9f\x99\x82", 4, &cp), 4);
    CHECK_INT(cp, 0x1f642);
    CHECK_INT(util_utf8_decode("\xe6\x97\xa5", 3, &cp), 3);
    CHECK_INT(cp, 0x65e5);
    CHECK_INT(util_utf8_decode("\xe6\x97\xa5", 2, &cp), -EINVAL);
    CHECK_INT(keys_keysym_to_ucs(XK_a), 'a');
    CHECK_INT(keys_keysym_to_ucs(XK_udiaeresis), 0xfc);
    CHECK_INT(keys_keysym_to_ucs(XK_Cyrillic_ef), 0x444);
    CHECK_INT(keys_keysym_to_ucs(XK_EuroSign), 0x20ac);
    CHECK_INT(keys_keysym_to_ucs(0xaf3 /* checkmark */), 0x2713);
    CHECK_INT(keys_keysym_to_ucs(0x101f642), 0x1f642);
    CHECK_INT(keys_keysym_to_ucs(XK_Return), 0);
    CHECK_INT(keys_keysym_to_ucs(XK_KP_1), 0);
    CHECK_INT(keys_keysym_to_ucs(XK_dead_circumflex), 0);
    CHECK_INT(keys_ucs_to_keysym('a'), XK_a);
    CHECK_INT(keys_ucs_to_keysym(0xdf), XK_ssharp);
    CHECK_INT(keys_ucs_to_keysym(0x65e5), 0x10065e5);
    /* The legacy keysym where clients know one, whatever the character. */
    CHECK_INT(keys_ucs_to_keysym(0x444), XK_Cyrillic_ef);
    CHECK_INT(keys_ucs_to_keysym(0x424), XK_Cyrillic_EF);
    CHECK_INT(keys_ucs_to_keysym(0x20ac), XK_EuroSign);
    CHECK_INT(keys_ucs_to_keysym(0x3b1), XK_Greek_alpha);
    CHECK_INT(keys_ucs_to_keysym(0x2713), 0xaf3);
    CHECK_INT(keys_ucs_to_keysym(0x22a4), 0x10022a4); /* APL's keysym: libX11 cannot read it */
    CHECK_INT(keys_ucs_to_keysym(0x203e), 0x100203e);
    for (uint32_t c = 0x20; c < 0x30000; c++) {
        if ((c >= 0x7f && c < 0xa0) || (c >= 0xd800 && c <= 0xdfff))
            continue;
        if (keys_keysym_to_ucs(keys_ucs_to_keysym(c)) != c) {
            CHECK(false, "U+%04X does not come back from its keysym 0x%lx", c,
                    keys_ucs_to_keysym(c));
            break;
        }
    }
}

static void test_mouse(void) {
    struct {
        const char *s;
        int want; /* 0: rejected */
    } buttons[] = {
            {"left", 1},
            {" Left ", 1},
            {"LEFT", 1},
            {"right", 3},
            {"middle", 2},
            {"Middle\t", 2},
            {"", 1},
            {"  ", 1},
            {NULL, 1},
            {"foo", 0},
            {"l", 0},
            {"leftt", 0},
            {"1", 0},
    };
    for (size_t i = 0; i < sizeof buttons / sizeof *buttons; i++) {
        int b = -1;
        char err[128] = "";
        int r = keys_parse_button(buttons[i].s, &b, err, sizeof err);
        if (buttons[i].want) {
            CHECK(r == 0 && b == buttons[i].want, "button \"%s\": r=%d b=%d",
                    buttons[i].s ? buttons[i].s : "(null)", r, b);
        } else {
            CHECK_INT(r, -EINVAL);
        }
    }
    int b;
    char err[128];
    keys_parse_button("foo", &b, err, sizeof err);
    CHECK_STR(err,
            "unsupported mouse button \"foo\": expected one of left, right, middle, back, forward");

    struct {
        const char *s;
        int want;
    } dirs[] = {
            {"up", 4},
            {"down", 5},
            {"left", 6},
            {"right", 7},
            {" Left ", 6},
            {"LEFT", 6},
            {"DOWN", 5},
            {"foo", 0},
            {"", 0},
            {" ", 0},
            {NULL, 0},
    };
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
        int d = -1;
        int r = keys_parse_direction(dirs[i].s, &d, err, sizeof err);
        if (dirs[i].want) {
            CHECK(r == 0 && d == dirs[i].want, "direction \"%s\": r=%d d=%d",
                    dirs[i].s ? dirs[i].s : "(null)", r, d);
        } else {
            CHECK_INT(r, -EINVAL);
        }
    }
    keys_parse_direction("", &b, err, sizeof err);
    CHECK_STR(err, "unsupported scroll direction \"\": expected one of up, down, left, right");
}

int main(void) {
    check_timeout(60);
    test_press();
    test_hotkey();
    test_text();
    test_utf8_and_keysyms();
    test_mouse();
    return check_finish();
}
