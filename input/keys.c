/*
 * keys: key names, hotkey strings, text, buttons and scroll directions checked
 * and turned into keysyms and button numbers, with Daytona's error sentences.
 *
 * Pure: no X connection (XStringToKeysym and XKeysymToString need none), no
 * allocation, thread-safe. What the keys do on a keymap, and how a keysym
 * missing from it gets typed, is input.c's business.
 *
 * Daytona's rules and wording come from its computer-use plugin
 * (libs/computer-use/pkg/computeruse/keyboard_normalization.go, keyboard.go and
 * mouse_validation.go). Where deskd goes further (any X keysym name as a key,
 * left/right scrolling), the sentences keep the same shape. Values are quoted
 * the way Go's %q quotes them, since that is what Daytona's clients see.
 */
#include "keys.h"

#include <X11/Xlib.h>
#include <X11/keysym.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

/* ---- UTF-8 and character classes ---- */

/* Go's unicode.IsControl: C0, DEL and C1. */
static bool is_control(uint32_t c) {
    return c < 0x20 || (c >= 0x7f && c < 0xa0);
}

/* Go's unicode.IsSpace. */
static bool is_space(uint32_t c) {
    return (c >= '\t' && c <= '\r') || c == ' ' || c == 0x85 || c == 0xa0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f ||
           c == 0x205f || c == 0x3000;
}

/*
 * Close to Go's unicode.IsPrint, which decides what %q escapes: everything but
 * controls, spaces other than ' ', format characters, private use and
 * non-characters. Unassigned code points count as printable here.
 */
static bool is_print(uint32_t c) {
    if (c == ' ')
        return true;
    if (is_control(c) || is_space(c))
        return false;
    if (c == 0xad || c == 0x61c || (c >= 0x200b && c <= 0x200f) || (c >= 0x202a && c <= 0x202e) ||
            (c >= 0x2060 && c <= 0x206f) || c == 0xfeff || (c >= 0xfff9 && c <= 0xfffb))
        return false;
    if ((c >= 0xe000 && c <= 0xf8ff) || c >= 0xf0000 || (c & 0xfffe) == 0xfffe)
        return false;
    return true;
}

/* ---- error sentences ---- */

/* An error buffer filled piece by piece; it truncates and always stays NUL-terminated. */
struct msg {
    char *buf;
    size_t cap, len;
};

static struct msg msg_init(char *buf, size_t cap) {
    struct msg m = {buf, cap, 0};
    if (cap > 0)
        buf[0] = '\0';
    return m;
}

static void msg_putn(struct msg *m, const char *s, size_t n) {
    if (m->cap == 0)
        return;
    size_t room = m->cap - 1 - m->len;
    if (n > room)
        n = room;
    memcpy(m->buf + m->len, s, n);
    m->len += n;
    m->buf[m->len] = '\0';
}

static void msg_puts(struct msg *m, const char *s) {
    msg_putn(m, s, strlen(s));
}

/* Longest part of a value that a sentence quotes; long values end in "...". */
#define QUOTE_MAX_RUNES 64

/* The characters %q writes as a backslash and a letter, and those letters. */
static const char escaped[] = "\"\\\a\b\f\n\r\t\v";
static const char escape_letter[] = "\"\\abfnrtv";

/* Appends s quoted as Go's %q does: "\t", "\x01", "\u00a0", printable UTF-8 as is. */
static void msg_quote(struct msg *m, const char *s, size_t len) {
    char tmp[16];
    size_t i = 0;
    int runes = 0;

    msg_putn(m, "\"", 1);
    while (i < len) {
        if (++runes > QUOTE_MAX_RUNES) {
            msg_puts(m, "...");
            break;
        }
        uint32_t c;
        int n = util_utf8_decode(s + i, len - i, &c);
        if (n < 0) {
            snprintf(tmp, sizeof tmp, "\\x%02x", (unsigned char)s[i]);
            msg_puts(m, tmp);
            i++;
            continue;
        }
        const char *esc = c < 0x80 && c != 0 ? strchr(escaped, (int)c) : NULL;
        if (esc) {
            char pair[3] = {'\\', escape_letter[esc - escaped], '\0'};
            msg_puts(m, pair);
        } else if (is_print(c)) {
            msg_putn(m, s + i, (size_t)n);
        } else {
            if (c < 0x80)
                snprintf(tmp, sizeof tmp, "\\x%02x", (unsigned)c);
            else if (c < 0x10000)
                snprintf(tmp, sizeof tmp, "\\u%04x", (unsigned)c);
            else
                snprintf(tmp, sizeof tmp, "\\U%08x", (unsigned)c);
            msg_puts(m, tmp);
        }
        i += (size_t)n;
    }
    msg_putn(m, "\"", 1);
}

static void msg_quote_str(struct msg *m, const char *s) {
    msg_quote(m, s, strlen(s));
}

/* ---- key names ---- */

enum family { FAM_NONE, FAM_CTRL, FAM_ALT, FAM_SHIFT, FAM_CMD };

static const char *const family_name[] = {"", "ctrl", "alt", "shift", "cmd"};
static const KeySym family_keysym[] = {NoSymbol, XK_Control_L, XK_Alt_L, XK_Shift_L, XK_Super_L};

#define SUPPORTED_MODIFIERS "ctrl, alt, shift, cmd"

/* Names that mean a modifier, after lowercasing and '-' to '_'. */
static const struct {
    const char *name;
    enum family fam;
} modifier_alias[] = {
        {"alt", FAM_ALT},
        {"cmd", FAM_CMD},
        {"command", FAM_CMD},
        {"control", FAM_CTRL},
        {"ctrl", FAM_CTRL},
        {"meta", FAM_CMD},
        {"option", FAM_ALT},
        {"shift", FAM_SHIFT},
        {"super", FAM_CMD},
        {"win", FAM_CMD},
        {"windows", FAM_CMD},
};

/* Other spellings of the named keys below (Daytona's main-key aliases). */
static const struct {
    const char *from, *to;
} key_alias[] = {
        {"command", "cmd"},
        {"control", "ctrl"},
        {"del", "delete"},
        {"esc", "escape"},
        {"left_alt", "lalt"},
        {"left_cmd", "lcmd"},
        {"left_command", "lcmd"},
        {"left_control", "lctrl"},
        {"left_ctrl", "lctrl"},
        {"left_shift", "lshift"},
        {"meta", "cmd"},
        {"option", "alt"},
        {"page_down", "pagedown"},
        {"page_up", "pageup"},
        {"return", "enter"},
        {"right_alt", "ralt"},
        {"right_cmd", "rcmd"},
        {"right_command", "rcmd"},
        {"right_control", "rctrl"},
        {"right_ctrl", "rctrl"},
        {"right_shift", "rshift"},
        {"spacebar", "space"},
        {"super", "cmd"},
        {"win", "cmd"},
        {"windows", "cmd"},
};

static const struct {
    const char *name;
    KeySym sym;
} named_key[] = {
        {"alt", XK_Alt_L},
        {"backspace", XK_BackSpace},
        {"capslock", XK_Caps_Lock},
        {"cmd", XK_Super_L},
        {"ctrl", XK_Control_L},
        {"delete", XK_Delete},
        {"down", XK_Down},
        {"end", XK_End},
        {"enter", XK_Return},
        {"escape", XK_Escape},
        {"f1", XK_F1},
        {"f2", XK_F2},
        {"f3", XK_F3},
        {"f4", XK_F4},
        {"f5", XK_F5},
        {"f6", XK_F6},
        {"f7", XK_F7},
        {"f8", XK_F8},
        {"f9", XK_F9},
        {"f10", XK_F10},
        {"f11", XK_F11},
        {"f12", XK_F12},
        {"f13", XK_F13},
        {"f14", XK_F14},
        {"f15", XK_F15},
        {"f16", XK_F16},
        {"f17", XK_F17},
        {"f18", XK_F18},
        {"f19", XK_F19},
        {"f20", XK_F20},
        {"f21", XK_F21},
        {"f22", XK_F22},
        {"f23", XK_F23},
        {"f24", XK_F24},
        {"home", XK_Home},
        {"insert", XK_Insert},
        {"lalt", XK_Alt_L},
        {"lcmd", XK_Super_L},
        {"lctrl", XK_Control_L},
        {"left", XK_Left},
        {"lshift", XK_Shift_L},
        {"menu", XK_Menu},
        {"num0", XK_KP_0},
        {"num1", XK_KP_1},
        {"num2", XK_KP_2},
        {"num3", XK_KP_3},
        {"num4", XK_KP_4},
        {"num5", XK_KP_5},
        {"num6", XK_KP_6},
        {"num7", XK_KP_7},
        {"num8", XK_KP_8},
        {"num9", XK_KP_9},
        {"num_asterisk", XK_KP_Multiply},
        {"num_decimal", XK_KP_Decimal},
        {"num_enter", XK_KP_Enter},
        {"num_equal", XK_KP_Equal},
        {"num_lock", XK_Num_Lock},
        {"num_minus", XK_KP_Subtract},
        {"num_plus", XK_KP_Add},
        {"num_slash", XK_KP_Divide},
        {"pagedown", XK_Page_Down},
        {"pageup", XK_Page_Up},
        {"ralt", XK_Alt_R},
        {"rcmd", XK_Super_R},
        {"rctrl", XK_Control_R},
        {"right", XK_Right},
        {"rshift", XK_Shift_R},
        {"shift", XK_Shift_L},
        {"space", XK_space},
        {"tab", XK_Tab},
        {"up", XK_Up},
};

/* Shifted symbols of a US keyboard and the key that makes them with shift. */
static const char shifted_symbol[] = "!\"#$%&()*+:<>?@^_{|}~";
static const char shifted_base[] = "1'3457908=;,./26-[\\]`";
/* Unshifted punctuation accepted as a key of its own. */
static const char plain_punct[] = "',-./;=[\\]`";

static const struct {
    const char *name, *instead;
} numpad_shorthand[] = {
        {"num*", "num_asterisk"},
        {"num+", "num_plus"},
        {"num-", "num_minus"},
        {"num.", "num_decimal"},
        {"num/", "num_slash"},
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
/* Longer than any key name or X keysym name. */
#define NAME_MAX_LEN 64

static enum family family_of(KeySym sym) {
    switch (sym) {
    case XK_Control_L:
    case XK_Control_R:
        return FAM_CTRL;
    case XK_Alt_L:
    case XK_Alt_R:
        return FAM_ALT;
    case XK_Shift_L:
    case XK_Shift_R:
        return FAM_SHIFT;
    case XK_Super_L:
    case XK_Super_R:
        return FAM_CMD;
    default:
        return FAM_NONE;
    }
}

/* Lowercases and turns '-' into '_'; false when s does not fit or is not ASCII. */
static bool normalize(const char *s, size_t len, char out[NAME_MAX_LEN]) {
    if (len >= NAME_MAX_LEN)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80 || c == '\0')
            return false;
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c - 'A' + 'a');
        out[i] = (char)(c == '-' ? '_' : c);
    }
    out[len] = '\0';
    return true;
}

static bool any_rune(const char *s, size_t len, bool (*pred)(uint32_t)) {
    for (size_t i = 0; i < len;) {
        uint32_t c;
        int n = util_utf8_decode(s + i, len - i, &c);
        if (n < 0) {
            i++;
            continue;
        }
        if (pred(c))
            return true;
        i += (size_t)n;
    }
    return false;
}

static bool has_non_ascii(const char *s, size_t len) {
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] >= 0x80)
            return true;
    return false;
}

/* ---- X keysym names, case-insensitively ---- */

struct sym_name {
    char name[40]; /* the longest X keysym name has 27 characters */
    KeySym sym;
};

/* Every keysym Xlib names in the core and XF86 ranges, lowercased and sorted. */
static struct sym_name *sym_names;
static size_t nsym_names;
static pthread_once_t sym_names_once = PTHREAD_ONCE_INIT;

static int cmp_sym_name(const void *a, const void *b) {
    return strcmp(((const struct sym_name *)a)->name, ((const struct sym_name *)b)->name);
}

static void add_sym_names(KeySym from, KeySym to, size_t cap) {
    for (KeySym k = from; k <= to && nsym_names < cap; k++) {
        const char *name = XKeysymToString(k);
        char norm[NAME_MAX_LEN];
        if (!name || !normalize(name, strlen(name), norm) || strlen(norm) >= sizeof sym_names->name)
            continue;
        memcpy(sym_names[nsym_names].name, norm, strlen(norm) + 1);
        sym_names[nsym_names++].sym = k;
    }
}

static void load_sym_names(void) {
    /* About 1,500 names; built once, on the first name that is not spelled exactly. */
    const size_t cap = 2048;
    sym_names = calloc(cap, sizeof *sym_names);
    if (!sym_names)
        return;
    add_sym_names(0x20, 0xffff, cap);
    add_sym_names(0x1008fe00, 0x1008ffff, cap);
    qsort(sym_names, nsym_names, sizeof *sym_names, cmp_sym_name);
}

/* The keysym whose name is norm (already normalized) in any case; NoSymbol if none or several. */
static KeySym sym_by_folded_name(const char *norm) {
    pthread_once(&sym_names_once, load_sym_names);
    if (!sym_names)
        return NoSymbol;
    size_t lo = 0, hi = nsym_names;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (strcmp(sym_names[mid].name, norm) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo >= nsym_names || strcmp(sym_names[lo].name, norm) != 0)
        return NoSymbol;
    /* "agrave" and "Agrave" fold together: refuse to guess between them. */
    if (lo + 1 < nsym_names && strcmp(sym_names[lo + 1].name, norm) == 0 &&
            sym_names[lo + 1].sym != sym_names[lo].sym)
        return NoSymbol;
    return sym_names[lo].sym;
}

/* Keysyms whose XKB actions act on the X server itself: terminate it, switch VTs, break grabs. */
static bool is_server_keysym(KeySym sym) {
    return sym == XK_Terminate_Server || (sym >= 0x1008fe01 && sym <= 0x1008fe2f);
}

/*
 * Keysyms whose XKB actions (the server's compatibility map gives them one
 * wherever they are bound) change the keyboard or pointer beyond the press:
 * the AccessX switches (SlowKeys_Enable: every later key needs a long press;
 * StickyKeys_Enable: the next client's "a" arrives with a latched Ctrl), the
 * pointer-emulation keys, the ISO latches and group locks (not ISO_Level3_Shift
 * and ISO_Level5_Shift, which act only while held), and the screen switches.
 */
static bool allow_state_keys;

void keys_allow_state_keys(bool allow) {
    allow_state_keys = allow;
}

static bool is_state_keysym(KeySym sym) {
    switch (sym) {
    case XK_ISO_Lock:
    case XK_ISO_Level2_Latch:
    case XK_ISO_Level3_Latch:
    case XK_ISO_Level3_Lock:
    case XK_ISO_Level5_Latch:
    case XK_ISO_Level5_Lock:
    case XK_ISO_Group_Latch:
    case XK_ISO_Group_Lock:
    case XK_ISO_Next_Group:
    case XK_ISO_Next_Group_Lock:
    case XK_ISO_Prev_Group:
    case XK_ISO_Prev_Group_Lock:
    case XK_ISO_First_Group:
    case XK_ISO_First_Group_Lock:
    case XK_ISO_Last_Group:
    case XK_ISO_Last_Group_Lock:
        return true;
    default:
        return (sym >= XK_AccessX_Enable && sym <= XK_AudibleBell_Enable) ||
               (sym >= XK_Pointer_Left && sym <= XK_Pointer_Drag5) ||
               (sym >= XK_First_Virtual_Screen && sym <= XK_Last_Virtual_Screen);
    }
}

/* ---- key parsing ---- */

struct parsed_key {
    KeySym sym;
    enum family fam;
};

static void err_unsupported_key(struct msg *m, const char *s, size_t len, const char *tail) {
    msg_puts(m, "unsupported key ");
    msg_quote(m, s, len);
    msg_puts(m, tail);
}

static int whitespace_key_error(struct msg *m, const char *s, size_t len) {
    msg_puts(m, "unsupported key ");
    msg_quote(m, s, len);
    if (len == 1 && s[0] == ' ') {
        msg_puts(m, "; use press(\"space\") or type(\" \")");
    } else if (len == 1 && s[0] == '\t') {
        msg_puts(m, "; use press(\"tab\") or type(\"\\t\")");
    } else if (len == 1 && (s[0] == '\n' || s[0] == '\r')) {
        msg_puts(m, "; use press(\"enter\") or type(");
        msg_quote(m, s, len);
        msg_puts(m, ")");
    } else {
        msg_puts(m, "; use a named key such as \"space\", \"tab\", or \"enter\"");
    }
    return -EINVAL;
}

static int text_key_error(struct msg *m, const char *s, size_t len) {
    msg_puts(m, "unsupported key ");
    msg_quote(m, s, len);
    msg_puts(m, "; use type(");
    msg_quote(m, s, len);
    msg_puts(m, ") for text input");
    return -EINVAL;
}

static int control_key_error(struct msg *m, const char *s, size_t len) {
    if (len == 1 && (s[0] == '\t' || s[0] == '\n' || s[0] == '\r'))
        return whitespace_key_error(m, s, len);
    return text_key_error(m, s, len);
}

static int single_char_key(
        const char *s, size_t len, uint32_t c, struct parsed_key *out, struct msg *m) {
    if (is_space(c))
        return whitespace_key_error(m, s, len);
    if (is_control(c))
        return control_key_error(m, s, len);
    if (c > 0x7f)
        return text_key_error(m, s, len);
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || strchr(plain_punct, (int)c)) {
        out->sym = c; /* ASCII keysyms are the characters themselves */
        return 0;
    }
    if (c >= 'A' && c <= 'Z') {
        /* Daytona: a capital names the key, it does not add shift. */
        out->sym = c - 'A' + 'a';
        return 0;
    }
    const char *p = strchr(shifted_symbol, (int)c);
    if (p) {
        char base[2] = {shifted_base[p - shifted_symbol], '\0'};
        msg_puts(m, "unsupported key ");
        msg_quote(m, s, len);
        msg_puts(m, "; use press(");
        msg_quote_str(m, base);
        msg_puts(m, ", [\"shift\"]) for a shifted key or type(");
        msg_quote(m, s, len);
        msg_puts(m, ") for text");
        return -EINVAL;
    }
    err_unsupported_key(m, s, len, "; see supported keyboard key names in the computer-use docs");
    return -EINVAL;
}

static int parse_key(const char *s, size_t len, struct parsed_key *out, struct msg *m) {
    char norm[NAME_MAX_LEN];

    out->sym = NoSymbol;
    out->fam = FAM_NONE;
    if (len == 0) {
        err_unsupported_key(m, s, len, ": empty key token");
        return -EINVAL;
    }
    /* Daytona turns away the punctuation shorthands its key grammar cannot hold. */
    for (size_t i = 0; len == 4 && i < NELEM(numpad_shorthand); i++) {
        if (strncasecmp(s, numpad_shorthand[i].name, 4) == 0) {
            err_unsupported_key(m, s, len, "; use ");
            msg_quote_str(m, numpad_shorthand[i].instead);
            return -EINVAL;
        }
    }

    uint32_t c;
    int n = util_utf8_decode(s, len, &c);
    if ((size_t)(n < 0 ? 1 : n) == len)
        return single_char_key(s, len, n < 0 ? 0xfffd : c, out, m);

    if (any_rune(s, len, is_control))
        return text_key_error(m, s, len);
    if (any_rune(s, len, is_space))
        return whitespace_key_error(m, s, len);
    if (has_non_ascii(s, len))
        return text_key_error(m, s, len);

    if (normalize(s, len, norm)) {
        const char *name = norm;
        for (size_t i = 0; i < NELEM(key_alias); i++)
            if (strcmp(name, key_alias[i].from) == 0)
                name = key_alias[i].to;
        for (size_t i = 0; i < NELEM(named_key); i++) {
            if (strcmp(name, named_key[i].name) == 0) {
                out->sym = named_key[i].sym;
                out->fam = family_of(out->sym);
                return 0;
            }
        }
        /* [ext] any X keysym name: as spelled, or in any case when that is unambiguous. */
        char exact[NAME_MAX_LEN];
        memcpy(exact, s, len);
        exact[len] = '\0';
        KeySym sym = XStringToKeysym(exact);
        if (sym == NoSymbol)
            sym = sym_by_folded_name(norm);
        if (sym != NoSymbol && is_server_keysym(sym)) {
            err_unsupported_key(m, s, len, "; it controls the X server, not an application");
            return -EINVAL;
        }
        if (sym != NoSymbol && !allow_state_keys && is_state_keysym(sym)) {
            err_unsupported_key(m, s, len,
                    "; it switches a keyboard or pointer feature of the X server that would "
                    "outlive the request");
            return -EINVAL;
        }
        if (sym != NoSymbol) {
            out->sym = sym;
            out->fam = family_of(sym);
            return 0;
        }
    }
    err_unsupported_key(m, s, len, "; see supported keyboard key names in the computer-use docs");
    return -EINVAL;
}

static void err_unsupported_modifier(struct msg *m, const char *s, size_t len, bool sided) {
    msg_puts(m, "unsupported modifier ");
    msg_quote(m, s, len);
    msg_puts(m, "; supported modifiers: " SUPPORTED_MODIFIERS);
    if (sided)
        msg_puts(m, "; left/right-specific modifier keys are only supported as the main key");
}

/* The family a modifier name stands for, or FAM_NONE. */
static enum family modifier_family(const char *s, size_t len) {
    char norm[NAME_MAX_LEN];
    if (!normalize(s, len, norm))
        return FAM_NONE;
    for (size_t i = 0; i < NELEM(modifier_alias); i++)
        if (strcmp(norm, modifier_alias[i].name) == 0)
            return modifier_alias[i].fam;
    return FAM_NONE;
}

static bool same_name(const char *a, size_t alen, const char *b, size_t blen) {
    char na[NAME_MAX_LEN], nb[NAME_MAX_LEN];
    return normalize(a, alen, na) && normalize(b, blen, nb) && strcmp(na, nb) == 0;
}

/* Where a chord came from, for duplicate-modifier sentences: press("c", ["ctrl"]) or hotkey("...").
 */
struct context {
    const char *key;         /* press: the key; hotkey: the whole string */
    const char *const *mods; /* press only */
    size_t nmods;
    bool hotkey;
};

static void msg_context(struct msg *m, const struct context *ctx) {
    if (ctx->hotkey) {
        msg_puts(m, "hotkey(");
        msg_quote_str(m, ctx->key);
        msg_puts(m, ")");
        return;
    }
    msg_puts(m, "press(");
    msg_quote_str(m, ctx->key);
    msg_puts(m, ", [");
    for (size_t i = 0; i < ctx->nmods; i++) {
        if (i > 0)
            msg_puts(m, ", ");
        msg_quote_str(m, ctx->mods[i] ? ctx->mods[i] : "");
    }
    msg_puts(m, "])");
}

/* The names already seen per family, to tell "ctrl, ctrl" from "cmd, meta". */
struct seen {
    const char *raw[5];
    size_t len[5];
};

static int add_modifier(struct key_combo *out, struct seen *seen, enum family fam, const char *raw,
        size_t len, const struct context *ctx, struct msg *m) {
    if (seen->raw[fam]) {
        if (same_name(seen->raw[fam], seen->len[fam], raw, len)) {
            msg_puts(m, "duplicate modifier ");
            msg_quote_str(m, family_name[fam]);
            msg_puts(m, " in ");
        } else {
            msg_puts(m, "duplicate modifier usage after normalization in ");
        }
        msg_context(m, ctx);
        return -EINVAL;
    }
    seen->raw[fam] = raw;
    seen->len[fam] = len;
    out->mods[out->nmods++] = family_keysym[fam];
    return 0;
}

static int check_conflict(const struct parsed_key *key, const struct seen *seen,
        const struct context *ctx, struct msg *m) {
    if (key->fam != FAM_NONE && seen->raw[key->fam]) {
        msg_puts(m, "duplicate modifier usage after normalization in ");
        msg_context(m, ctx);
        return -EINVAL;
    }
    return 0;
}

int keys_parse_press(const char *key, const char *const *mods, size_t nmods, struct key_combo *out,
        char *err, size_t errlen) {
    struct msg m = msg_init(err, errlen);
    struct seen seen = {0};
    struct parsed_key pk;
    struct key_combo combo = {0};

    if (!key)
        key = "";
    struct context ctx = {key, mods, nmods, false};
    int r = parse_key(key, strlen(key), &pk, &m);
    if (r < 0)
        return r;
    for (size_t i = 0; i < nmods; i++) {
        const char *raw = mods[i] ? mods[i] : "";
        size_t len = strlen(raw);
        enum family fam = modifier_family(raw, len);
        if (fam == FAM_NONE) {
            /* A side-specific modifier is a key of its own, never a held modifier. */
            struct parsed_key as_key;
            struct msg scratch = msg_init(NULL, 0);
            bool sided = len > 0 && !any_rune(raw, len, is_space) &&
                         parse_key(raw, len, &as_key, &scratch) == 0 && as_key.fam != FAM_NONE;
            err_unsupported_modifier(&m, raw, len, sided);
            return -EINVAL;
        }
        r = add_modifier(&combo, &seen, fam, raw, len, &ctx, &m);
        if (r < 0)
            return r;
    }
    r = check_conflict(&pk, &seen, &ctx, &m);
    if (r < 0)
        return r;
    combo.key = pk.sym;
    *out = combo;
    return 0;
}

/* Trims Unicode white space (Go's strings.TrimSpace) from both ends of [*s, *s + *len). */
static void trim(const char **s, size_t *len) {
    size_t i = 0, start = 0, end = 0;
    bool leading = true;

    while (i < *len) {
        uint32_t c;
        int n = util_utf8_decode(*s + i, *len - i, &c);
        size_t step = n < 0 ? 1 : (size_t)n;
        if (n < 0 || !is_space(c)) {
            if (leading)
                start = i;
            leading = false;
            end = i + step;
        }
        i += step;
    }
    *s += start;
    *len = leading ? 0 : end - start;
}

static int hotkey_error_prefix(struct msg *m, const char *raw) {
    msg_puts(m, "invalid hotkey ");
    msg_quote_str(m, raw);
    msg_puts(m, ": ");
    return -EINVAL;
}

int keys_parse_hotkey(const char *raw, struct key_combo *out, char *err, size_t errlen) {
    struct msg m = msg_init(err, errlen);
    struct context ctx = {raw ? raw : "", NULL, 0, true};
    struct seen seen = {0};
    struct key_combo combo = {0};

    if (!raw)
        raw = "";
    const char *all = raw;
    size_t alen = strlen(raw);
    trim(&all, &alen);
    if (alen == 0) {
        hotkey_error_prefix(&m, raw);
        msg_puts(&m, "empty key token");
        return -EINVAL;
    }

    /* Every token is checked for emptiness and inner spaces before any is parsed, as in Daytona. */
    const char *last = NULL;
    size_t last_len = 0;
    for (const char *p = raw;;) {
        const char *plus = strchr(p, '+');
        size_t plen = plus ? (size_t)(plus - p) : strlen(p);
        const char *t = p;
        size_t tlen = plen;
        trim(&t, &tlen);
        if (tlen == 0) {
            hotkey_error_prefix(&m, raw);
            msg_puts(&m, plen == 0 ? "empty key token" : "empty key token after trimming");
            return -EINVAL;
        }
        if (any_rune(t, tlen, is_space)) {
            hotkey_error_prefix(&m, raw);
            msg_puts(&m, "only a single chord is supported");
            return -EINVAL;
        }
        last = t;
        last_len = tlen;
        if (!plus)
            break;
        p = plus + 1;
    }

    struct parsed_key pk;
    struct msg keymsg;
    char keyerr[256];
    keymsg = msg_init(keyerr, sizeof keyerr);
    if (parse_key(last, last_len, &pk, &keymsg) < 0) {
        hotkey_error_prefix(&m, raw);
        msg_puts(&m, keyerr);
        return -EINVAL;
    }

    for (const char *p = raw;;) {
        const char *plus = strchr(p, '+');
        if (!plus)
            break; /* the last token is the key */
        const char *t = p;
        size_t tlen = (size_t)(plus - p);
        trim(&t, &tlen);
        p = plus + 1;

        enum family fam = modifier_family(t, tlen);
        if (fam != FAM_NONE) {
            struct msg sub;
            char suberr[256];
            sub = msg_init(suberr, sizeof suberr);
            if (add_modifier(&combo, &seen, fam, t, tlen, &ctx, &sub) < 0) {
                hotkey_error_prefix(&m, raw);
                msg_puts(&m, suberr);
                return -EINVAL;
            }
            continue;
        }
        struct parsed_key as_key;
        struct msg scratch = msg_init(NULL, 0);
        hotkey_error_prefix(&m, raw);
        if (parse_key(t, tlen, &as_key, &scratch) == 0) {
            if (as_key.fam != FAM_NONE)
                err_unsupported_modifier(&m, t, tlen, true);
            else
                msg_puts(&m, "chords may contain at most one non-modifier key");
        } else {
            err_unsupported_modifier(&m, t, tlen, false);
        }
        return -EINVAL;
    }

    struct msg sub;
    char suberr[256];
    sub = msg_init(suberr, sizeof suberr);
    if (check_conflict(&pk, &seen, &ctx, &sub) < 0) {
        hotkey_error_prefix(&m, raw);
        msg_puts(&m, suberr);
        return -EINVAL;
    }
    combo.key = pk.sym;
    *out = combo;
    return 0;
}

/* ---- text ---- */

int keys_check_text(const char *text, size_t len, char *err, size_t errlen) {
    struct msg m = msg_init(err, errlen);
    char tmp[160];

    if (len > (size_t)KEYS_TEXT_MAX) {
        snprintf(tmp, sizeof tmp,
                "text is too long for keyboard.type: %zu bytes; the limit is %d bytes (64 KiB)",
                len, KEYS_TEXT_MAX);
        msg_puts(&m, tmp);
        return -EINVAL;
    }
    for (size_t i = 0; i < len;) {
        uint32_t c;
        int n = util_utf8_decode(text + i, len - i, &c);
        if (n < 0) {
            snprintf(tmp, sizeof tmp, "invalid UTF-8 in keyboard.type text at byte %zu", i);
            msg_puts(&m, tmp);
            return -EINVAL;
        }
        i += (size_t)n;
        if (c == '\n' || c == '\r')
            continue; /* Daytona types "\n", "\r\n" and a lone "\r" as Enter */
        if (c == 0) {
            msg_puts(&m, "text may not contain U+0000 (NUL)");
            return -EINVAL;
        }
        if (c == '\t') {
            msg_puts(&m, "keyboard.type does not translate '\\t' (U+0009) to Tab; "
                         "use keyboard.press(\"tab\") for Tab key events");
            return -EINVAL;
        }
        if (c == 0x2028 || c == 0x2029) {
            snprintf(tmp, sizeof tmp, "unsupported separator character in keyboard.type: U+%04X",
                    (unsigned)c);
            msg_puts(&m, tmp);
            return -EINVAL;
        }
        if (is_control(c)) {
            snprintf(tmp, sizeof tmp, "unsupported control character in keyboard.type: U+%04X",
                    (unsigned)c);
            msg_puts(&m, tmp);
            return -EINVAL;
        }
    }
    return 0;
}

/* ---- mouse ---- */

/* Trimmed, lowercased copy of s; false when it cannot be one of our short names. */
static bool small_word(const char *s, char out[16]) {
    size_t len = strlen(s);
    trim(&s, &len);
    if (len >= 16)
        return false;
    for (size_t i = 0; i < len; i++)
        out[i] = (char)((s[i] >= 'A' && s[i] <= 'Z') ? s[i] - 'A' + 'a' : s[i]);
    out[len] = '\0';
    return true;
}

/*
 * The index of word s in names[0..n), any case, or -1 after writing
 * 'unsupported WHAT "s": expected one of EXPECTED' to err.
 */
static int parse_word(const char *s, const char *const *names, size_t n, const char *what,
        const char *expected, char *err, size_t errlen) {
    char w[16];
    if (!s)
        s = "";
    bool word = small_word(s, w);
    for (size_t i = 0; word && i < n; i++) {
        if (strcmp(w, names[i]) == 0)
            return (int)i;
    }
    struct msg m = msg_init(err, errlen);
    msg_puts(&m, "unsupported ");
    msg_puts(&m, what);
    msg_puts(&m, " ");
    msg_quote_str(&m, s);
    msg_puts(&m, ": expected one of ");
    msg_puts(&m, expected);
    return -1;
}

int keys_parse_button(const char *s, int *button, char *err, size_t errlen) {
    /* Absent or "" is the left button, as in Daytona. */
    static const char *const names[] = {"", "left", "middle", "right", "back", "forward"};
    static const int buttons[] = {1, 1, 2, 3, 8, 9};
    int i = parse_word(s, names, NELEM(names), "mouse button", "left, right, middle, back, forward",
            err, errlen);
    if (i < 0)
        return -EINVAL;
    *button = buttons[i];
    return 0;
}

int keys_parse_direction(const char *s, int *button, char *err, size_t errlen) {
    /* X's wheel buttons 4 to 7, in this order. */
    static const char *const names[] = {"up", "down", "left", "right"};
    int i = parse_word(
            s, names, NELEM(names), "scroll direction", "up, down, left, right", err, errlen);
    if (i < 0)
        return -EINVAL;
    *button = 4 + i;
    return 0;
}

/* ---- keysyms and Unicode ---- */

/*
 * The legacy (pre-Unicode) keysyms that type a character, with that character,
 * sorted by keysym: every keysym below 0x10000 outside Latin-1 that
 * <X11/keysymdef.h> gives an exact "U+" for. Layouts such as ru, gr or il put
 * these on their keys, so typing Cyrillic finds the real key.
 */
/* clang-format off */
static const struct {
    uint16_t sym, ucs;
} legacy_ucs[] = {
    {0x01a1, 0x0104}, {0x01a2, 0x02d8}, {0x01a3, 0x0141}, {0x01a5, 0x013d}, {0x01a6, 0x015a},
    {0x01a9, 0x0160}, {0x01aa, 0x015e}, {0x01ab, 0x0164}, {0x01ac, 0x0179}, {0x01ae, 0x017d},
    {0x01af, 0x017b}, {0x01b1, 0x0105}, {0x01b2, 0x02db}, {0x01b3, 0x0142}, {0x01b5, 0x013e},
    {0x01b6, 0x015b}, {0x01b7, 0x02c7}, {0x01b9, 0x0161}, {0x01ba, 0x015f}, {0x01bb, 0x0165},
    {0x01bc, 0x017a}, {0x01bd, 0x02dd}, {0x01be, 0x017e}, {0x01bf, 0x017c}, {0x01c0, 0x0154},
    {0x01c3, 0x0102}, {0x01c5, 0x0139}, {0x01c6, 0x0106}, {0x01c8, 0x010c}, {0x01ca, 0x0118},
    {0x01cc, 0x011a}, {0x01cf, 0x010e}, {0x01d0, 0x0110}, {0x01d1, 0x0143}, {0x01d2, 0x0147},
    {0x01d5, 0x0150}, {0x01d8, 0x0158}, {0x01d9, 0x016e}, {0x01db, 0x0170}, {0x01de, 0x0162},
    {0x01e0, 0x0155}, {0x01e3, 0x0103}, {0x01e5, 0x013a}, {0x01e6, 0x0107}, {0x01e8, 0x010d},
    {0x01ea, 0x0119}, {0x01ec, 0x011b}, {0x01ef, 0x010f}, {0x01f0, 0x0111}, {0x01f1, 0x0144},
    {0x01f2, 0x0148}, {0x01f5, 0x0151}, {0x01f8, 0x0159}, {0x01f9, 0x016f}, {0x01fb, 0x0171},
    {0x01fe, 0x0163}, {0x01ff, 0x02d9}, {0x02a1, 0x0126}, {0x02a6, 0x0124}, {0x02a9, 0x0130},
    {0x02ab, 0x011e}, {0x02ac, 0x0134}, {0x02b1, 0x0127}, {0x02b6, 0x0125}, {0x02b9, 0x0131},
    {0x02bb, 0x011f}, {0x02bc, 0x0135}, {0x02c5, 0x010a}, {0x02c6, 0x0108}, {0x02d5, 0x0120},
    {0x02d8, 0x011c}, {0x02dd, 0x016c}, {0x02de, 0x015c}, {0x02e5, 0x010b}, {0x02e6, 0x0109},
    {0x02f5, 0x0121}, {0x02f8, 0x011d}, {0x02fd, 0x016d}, {0x02fe, 0x015d}, {0x03a2, 0x0138},
    {0x03a3, 0x0156}, {0x03a5, 0x0128}, {0x03a6, 0x013b}, {0x03aa, 0x0112}, {0x03ab, 0x0122},
    {0x03ac, 0x0166}, {0x03b3, 0x0157}, {0x03b5, 0x0129}, {0x03b6, 0x013c}, {0x03ba, 0x0113},
    {0x03bb, 0x0123}, {0x03bc, 0x0167}, {0x03bd, 0x014a}, {0x03bf, 0x014b}, {0x03c0, 0x0100},
    {0x03c7, 0x012e}, {0x03cc, 0x0116}, {0x03cf, 0x012a}, {0x03d1, 0x0145}, {0x03d2, 0x014c},
    {0x03d3, 0x0136}, {0x03d9, 0x0172}, {0x03dd, 0x0168}, {0x03de, 0x016a}, {0x03e0, 0x0101},
    {0x03e7, 0x012f}, {0x03ec, 0x0117}, {0x03ef, 0x012b}, {0x03f1, 0x0146}, {0x03f2, 0x014d},
    {0x03f3, 0x0137}, {0x03f9, 0x0173}, {0x03fd, 0x0169}, {0x03fe, 0x016b}, {0x047e, 0x203e},
    {0x04a1, 0x3002}, {0x04a2, 0x300c}, {0x04a3, 0x300d}, {0x04a4, 0x3001}, {0x04a5, 0x30fb},
    {0x04a6, 0x30f2}, {0x04a7, 0x30a1}, {0x04a8, 0x30a3}, {0x04a9, 0x30a5}, {0x04aa, 0x30a7},
    {0x04ab, 0x30a9}, {0x04ac, 0x30e3}, {0x04ad, 0x30e5}, {0x04ae, 0x30e7}, {0x04af, 0x30c3},
    {0x04b0, 0x30fc}, {0x04b1, 0x30a2}, {0x04b2, 0x30a4}, {0x04b3, 0x30a6}, {0x04b4, 0x30a8},
    {0x04b5, 0x30aa}, {0x04b6, 0x30ab}, {0x04b7, 0x30ad}, {0x04b8, 0x30af}, {0x04b9, 0x30b1},
    {0x04ba, 0x30b3}, {0x04bb, 0x30b5}, {0x04bc, 0x30b7}, {0x04bd, 0x30b9}, {0x04be, 0x30bb},
    {0x04bf, 0x30bd}, {0x04c0, 0x30bf}, {0x04c1, 0x30c1}, {0x04c2, 0x30c4}, {0x04c3, 0x30c6},
    {0x04c4, 0x30c8}, {0x04c5, 0x30ca}, {0x04c6, 0x30cb}, {0x04c7, 0x30cc}, {0x04c8, 0x30cd},
    {0x04c9, 0x30ce}, {0x04ca, 0x30cf}, {0x04cb, 0x30d2}, {0x04cc, 0x30d5}, {0x04cd, 0x30d8},
    {0x04ce, 0x30db}, {0x04cf, 0x30de}, {0x04d0, 0x30df}, {0x04d1, 0x30e0}, {0x04d2, 0x30e1},
    {0x04d3, 0x30e2}, {0x04d4, 0x30e4}, {0x04d5, 0x30e6}, {0x04d6, 0x30e8}, {0x04d7, 0x30e9},
    {0x04d8, 0x30ea}, {0x04d9, 0x30eb}, {0x04da, 0x30ec}, {0x04db, 0x30ed}, {0x04dc, 0x30ef},
    {0x04dd, 0x30f3}, {0x04de, 0x309b}, {0x04df, 0x309c}, {0x05ac, 0x060c}, {0x05bb, 0x061b},
    {0x05bf, 0x061f}, {0x05c1, 0x0621}, {0x05c2, 0x0622}, {0x05c3, 0x0623}, {0x05c4, 0x0624},
    {0x05c5, 0x0625}, {0x05c6, 0x0626}, {0x05c7, 0x0627}, {0x05c8, 0x0628}, {0x05c9, 0x0629},
    {0x05ca, 0x062a}, {0x05cb, 0x062b}, {0x05cc, 0x062c}, {0x05cd, 0x062d}, {0x05ce, 0x062e},
    {0x05cf, 0x062f}, {0x05d0, 0x0630}, {0x05d1, 0x0631}, {0x05d2, 0x0632}, {0x05d3, 0x0633},
    {0x05d4, 0x0634}, {0x05d5, 0x0635}, {0x05d6, 0x0636}, {0x05d7, 0x0637}, {0x05d8, 0x0638},
    {0x05d9, 0x0639}, {0x05da, 0x063a}, {0x05e0, 0x0640}, {0x05e1, 0x0641}, {0x05e2, 0x0642},
    {0x05e3, 0x0643}, {0x05e4, 0x0644}, {0x05e5, 0x0645}, {0x05e6, 0x0646}, {0x05e7, 0x0647},
    {0x05e8, 0x0648}, {0x05e9, 0x0649}, {0x05ea, 0x064a}, {0x05eb, 0x064b}, {0x05ec, 0x064c},
    {0x05ed, 0x064d}, {0x05ee, 0x064e}, {0x05ef, 0x064f}, {0x05f0, 0x0650}, {0x05f1, 0x0651},
    {0x05f2, 0x0652}, {0x06a1, 0x0452}, {0x06a2, 0x0453}, {0x06a3, 0x0451}, {0x06a4, 0x0454},
    {0x06a5, 0x0455}, {0x06a6, 0x0456}, {0x06a7, 0x0457}, {0x06a8, 0x0458}, {0x06a9, 0x0459},
    {0x06aa, 0x045a}, {0x06ab, 0x045b}, {0x06ac, 0x045c}, {0x06ad, 0x0491}, {0x06ae, 0x045e},
    {0x06af, 0x045f}, {0x06b0, 0x2116}, {0x06b1, 0x0402}, {0x06b2, 0x0403}, {0x06b3, 0x0401},
    {0x06b4, 0x0404}, {0x06b5, 0x0405}, {0x06b6, 0x0406}, {0x06b7, 0x0407}, {0x06b8, 0x0408},
    {0x06b9, 0x0409}, {0x06ba, 0x040a}, {0x06bb, 0x040b}, {0x06bc, 0x040c}, {0x06bd, 0x0490},
    {0x06be, 0x040e}, {0x06bf, 0x040f}, {0x06c0, 0x044e}, {0x06c1, 0x0430}, {0x06c2, 0x0431},
    {0x06c3, 0x0446}, {0x06c4, 0x0434}, {0x06c5, 0x0435}, {0x06c6, 0x0444}, {0x06c7, 0x0433},
    {0x06c8, 0x0445}, {0x06c9, 0x0438}, {0x06ca, 0x0439}, {0x06cb, 0x043a}, {0x06cc, 0x043b},
    {0x06cd, 0x043c}, {0x06ce, 0x043d}, {0x06cf, 0x043e}, {0x06d0, 0x043f}, {0x06d1, 0x044f},
    {0x06d2, 0x0440}, {0x06d3, 0x0441}, {0x06d4, 0x0442}, {0x06d5, 0x0443}, {0x06d6, 0x0436},
    {0x06d7, 0x0432}, {0x06d8, 0x044c}, {0x06d9, 0x044b}, {0x06da, 0x0437}, {0x06db, 0x0448},
    {0x06dc, 0x044d}, {0x06dd, 0x0449}, {0x06de, 0x0447}, {0x06df, 0x044a}, {0x06e0, 0x042e},
    {0x06e1, 0x0410}, {0x06e2, 0x0411}, {0x06e3, 0x0426}, {0x06e4, 0x0414}, {0x06e5, 0x0415},
    {0x06e6, 0x0424}, {0x06e7, 0x0413}, {0x06e8, 0x0425}, {0x06e9, 0x0418}, {0x06ea, 0x0419},
    {0x06eb, 0x041a}, {0x06ec, 0x041b}, {0x06ed, 0x041c}, {0x06ee, 0x041d}, {0x06ef, 0x041e},
    {0x06f0, 0x041f}, {0x06f1, 0x042f}, {0x06f2, 0x0420}, {0x06f3, 0x0421}, {0x06f4, 0x0422},
    {0x06f5, 0x0423}, {0x06f6, 0x0416}, {0x06f7, 0x0412}, {0x06f8, 0x042c}, {0x06f9, 0x042b},
    {0x06fa, 0x0417}, {0x06fb, 0x0428}, {0x06fc, 0x042d}, {0x06fd, 0x0429}, {0x06fe, 0x0427},
    {0x06ff, 0x042a}, {0x07a1, 0x0386}, {0x07a2, 0x0388}, {0x07a3, 0x0389}, {0x07a4, 0x038a},
    {0x07a5, 0x03aa}, {0x07a7, 0x038c}, {0x07a8, 0x038e}, {0x07a9, 0x03ab}, {0x07ab, 0x038f},
    {0x07ae, 0x0385}, {0x07af, 0x2015}, {0x07b1, 0x03ac}, {0x07b2, 0x03ad}, {0x07b3, 0x03ae},
    {0x07b4, 0x03af}, {0x07b5, 0x03ca}, {0x07b6, 0x0390}, {0x07b7, 0x03cc}, {0x07b8, 0x03cd},
    {0x07b9, 0x03cb}, {0x07ba, 0x03b0}, {0x07bb, 0x03ce}, {0x07c1, 0x0391}, {0x07c2, 0x0392},
    {0x07c3, 0x0393}, {0x07c4, 0x0394}, {0x07c5, 0x0395}, {0x07c6, 0x0396}, {0x07c7, 0x0397},
    {0x07c8, 0x0398}, {0x07c9, 0x0399}, {0x07ca, 0x039a}, {0x07cb, 0x039b}, {0x07cc, 0x039c},
    {0x07cd, 0x039d}, {0x07ce, 0x039e}, {0x07cf, 0x039f}, {0x07d0, 0x03a0}, {0x07d1, 0x03a1},
    {0x07d2, 0x03a3}, {0x07d4, 0x03a4}, {0x07d5, 0x03a5}, {0x07d6, 0x03a6}, {0x07d7, 0x03a7},
    {0x07d8, 0x03a8}, {0x07d9, 0x03a9}, {0x07e1, 0x03b1}, {0x07e2, 0x03b2}, {0x07e3, 0x03b3},
    {0x07e4, 0x03b4}, {0x07e5, 0x03b5}, {0x07e6, 0x03b6}, {0x07e7, 0x03b7}, {0x07e8, 0x03b8},
    {0x07e9, 0x03b9}, {0x07ea, 0x03ba}, {0x07eb, 0x03bb}, {0x07ec, 0x03bc}, {0x07ed, 0x03bd},
    {0x07ee, 0x03be}, {0x07ef, 0x03bf}, {0x07f0, 0x03c0}, {0x07f1, 0x03c1}, {0x07f2, 0x03c3},
    {0x07f3, 0x03c2}, {0x07f4, 0x03c4}, {0x07f5, 0x03c5}, {0x07f6, 0x03c6}, {0x07f7, 0x03c7},
    {0x07f8, 0x03c8}, {0x07f9, 0x03c9}, {0x08a1, 0x23b7}, {0x08a4, 0x2320}, {0x08a5, 0x2321},
    {0x08a7, 0x23a1}, {0x08a8, 0x23a3}, {0x08a9, 0x23a4}, {0x08aa, 0x23a6}, {0x08ab, 0x239b},
    {0x08ac, 0x239d}, {0x08ad, 0x239e}, {0x08ae, 0x23a0}, {0x08af, 0x23a8}, {0x08b0, 0x23ac},
    {0x08bc, 0x2264}, {0x08bd, 0x2260}, {0x08be, 0x2265}, {0x08bf, 0x222b}, {0x08c0, 0x2234},
    {0x08c1, 0x221d}, {0x08c2, 0x221e}, {0x08c5, 0x2207}, {0x08c8, 0x223c}, {0x08c9, 0x2243},
    {0x08cd, 0x21d4}, {0x08ce, 0x21d2}, {0x08cf, 0x2261}, {0x08d6, 0x221a}, {0x08da, 0x2282},
    {0x08db, 0x2283}, {0x08dc, 0x2229}, {0x08dd, 0x222a}, {0x08de, 0x2227}, {0x08df, 0x2228},
    {0x08ef, 0x2202}, {0x08f6, 0x0192}, {0x08fb, 0x2190}, {0x08fc, 0x2191}, {0x08fd, 0x2192},
    {0x08fe, 0x2193}, {0x09e0, 0x25c6}, {0x09e1, 0x2592}, {0x09e2, 0x2409}, {0x09e3, 0x240c},
    {0x09e4, 0x240d}, {0x09e5, 0x240a}, {0x09e8, 0x2424}, {0x09e9, 0x240b}, {0x09ea, 0x2518},
    {0x09eb, 0x2510}, {0x09ec, 0x250c}, {0x09ed, 0x2514}, {0x09ee, 0x253c}, {0x09ef, 0x23ba},
    {0x09f0, 0x23bb}, {0x09f1, 0x2500}, {0x09f2, 0x23bc}, {0x09f3, 0x23bd}, {0x09f4, 0x251c},
    {0x09f5, 0x2524}, {0x09f6, 0x2534}, {0x09f7, 0x252c}, {0x09f8, 0x2502}, {0x0aa1, 0x2003},
    {0x0aa2, 0x2002}, {0x0aa3, 0x2004}, {0x0aa4, 0x2005}, {0x0aa5, 0x2007}, {0x0aa6, 0x2008},
    {0x0aa7, 0x2009}, {0x0aa8, 0x200a}, {0x0aa9, 0x2014}, {0x0aaa, 0x2013}, {0x0aae, 0x2026},
    {0x0aaf, 0x2025}, {0x0ab0, 0x2153}, {0x0ab1, 0x2154}, {0x0ab2, 0x2155}, {0x0ab3, 0x2156},
    {0x0ab4, 0x2157}, {0x0ab5, 0x2158}, {0x0ab6, 0x2159}, {0x0ab7, 0x215a}, {0x0ab8, 0x2105},
    {0x0abb, 0x2012}, {0x0ac3, 0x215b}, {0x0ac4, 0x215c}, {0x0ac5, 0x215d}, {0x0ac6, 0x215e},
    {0x0ac9, 0x2122}, {0x0ad0, 0x2018}, {0x0ad1, 0x2019}, {0x0ad2, 0x201c}, {0x0ad3, 0x201d},
    {0x0ad4, 0x211e}, {0x0ad5, 0x2030}, {0x0ad6, 0x2032}, {0x0ad7, 0x2033}, {0x0ad9, 0x271d},
    {0x0aec, 0x2663}, {0x0aed, 0x2666}, {0x0aee, 0x2665}, {0x0af0, 0x2720}, {0x0af1, 0x2020},
    {0x0af2, 0x2021}, {0x0af3, 0x2713}, {0x0af4, 0x2717}, {0x0af5, 0x266f}, {0x0af6, 0x266d},
    {0x0af7, 0x2642}, {0x0af8, 0x2640}, {0x0af9, 0x260e}, {0x0afa, 0x2315}, {0x0afb, 0x2117},
    {0x0afc, 0x2038}, {0x0afd, 0x201a}, {0x0afe, 0x201e}, {0x0bc2, 0x22a4}, {0x0bc4, 0x230a},
    {0x0bca, 0x2218}, {0x0bcc, 0x2395}, {0x0bce, 0x22a5}, {0x0bcf, 0x25cb}, {0x0bd3, 0x2308},
    {0x0bdc, 0x22a3}, {0x0bfc, 0x22a2}, {0x0cdf, 0x2017}, {0x0ce0, 0x05d0}, {0x0ce1, 0x05d1},
    {0x0ce2, 0x05d2}, {0x0ce3, 0x05d3}, {0x0ce4, 0x05d4}, {0x0ce5, 0x05d5}, {0x0ce6, 0x05d6},
    {0x0ce7, 0x05d7}, {0x0ce8, 0x05d8}, {0x0ce9, 0x05d9}, {0x0cea, 0x05da}, {0x0ceb, 0x05db},
    {0x0cec, 0x05dc}, {0x0ced, 0x05dd}, {0x0cee, 0x05de}, {0x0cef, 0x05df}, {0x0cf0, 0x05e0},
    {0x0cf1, 0x05e1}, {0x0cf2, 0x05e2}, {0x0cf3, 0x05e3}, {0x0cf4, 0x05e4}, {0x0cf5, 0x05e5},
    {0x0cf6, 0x05e6}, {0x0cf7, 0x05e7}, {0x0cf8, 0x05e8}, {0x0cf9, 0x05e9}, {0x0cfa, 0x05ea},
    {0x0da1, 0x0e01}, {0x0da2, 0x0e02}, {0x0da3, 0x0e03}, {0x0da4, 0x0e04}, {0x0da5, 0x0e05},
    {0x0da6, 0x0e06}, {0x0da7, 0x0e07}, {0x0da8, 0x0e08}, {0x0da9, 0x0e09}, {0x0daa, 0x0e0a},
    {0x0dab, 0x0e0b}, {0x0dac, 0x0e0c}, {0x0dad, 0x0e0d}, {0x0dae, 0x0e0e}, {0x0daf, 0x0e0f},
    {0x0db0, 0x0e10}, {0x0db1, 0x0e11}, {0x0db2, 0x0e12}, {0x0db3, 0x0e13}, {0x0db4, 0x0e14},
    {0x0db5, 0x0e15}, {0x0db6, 0x0e16}, {0x0db7, 0x0e17}, {0x0db8, 0x0e18}, {0x0db9, 0x0e19},
    {0x0dba, 0x0e1a}, {0x0dbb, 0x0e1b}, {0x0dbc, 0x0e1c}, {0x0dbd, 0x0e1d}, {0x0dbe, 0x0e1e},
    {0x0dbf, 0x0e1f}, {0x0dc0, 0x0e20}, {0x0dc1, 0x0e21}, {0x0dc2, 0x0e22}, {0x0dc3, 0x0e23},
    {0x0dc4, 0x0e24}, {0x0dc5, 0x0e25}, {0x0dc6, 0x0e26}, {0x0dc7, 0x0e27}, {0x0dc8, 0x0e28},
    {0x0dc9, 0x0e29}, {0x0dca, 0x0e2a}, {0x0dcb, 0x0e2b}, {0x0dcc, 0x0e2c}, {0x0dcd, 0x0e2d},
    {0x0dce, 0x0e2e}, {0x0dcf, 0x0e2f}, {0x0dd0, 0x0e30}, {0x0dd1, 0x0e31}, {0x0dd2, 0x0e32},
    {0x0dd3, 0x0e33}, {0x0dd4, 0x0e34}, {0x0dd5, 0x0e35}, {0x0dd6, 0x0e36}, {0x0dd7, 0x0e37},
    {0x0dd8, 0x0e38}, {0x0dd9, 0x0e39}, {0x0dda, 0x0e3a}, {0x0ddf, 0x0e3f}, {0x0de0, 0x0e40},
    {0x0de1, 0x0e41}, {0x0de2, 0x0e42}, {0x0de3, 0x0e43}, {0x0de4, 0x0e44}, {0x0de5, 0x0e45},
    {0x0de6, 0x0e46}, {0x0de7, 0x0e47}, {0x0de8, 0x0e48}, {0x0de9, 0x0e49}, {0x0dea, 0x0e4a},
    {0x0deb, 0x0e4b}, {0x0dec, 0x0e4c}, {0x0ded, 0x0e4d}, {0x0df0, 0x0e50}, {0x0df1, 0x0e51},
    {0x0df2, 0x0e52}, {0x0df3, 0x0e53}, {0x0df4, 0x0e54}, {0x0df5, 0x0e55}, {0x0df6, 0x0e56},
    {0x0df7, 0x0e57}, {0x0df8, 0x0e58}, {0x0df9, 0x0e59}, {0x0ea1, 0x3131}, {0x0ea2, 0x3132},
    {0x0ea3, 0x3133}, {0x0ea4, 0x3134}, {0x0ea5, 0x3135}, {0x0ea6, 0x3136}, {0x0ea7, 0x3137},
    {0x0ea8, 0x3138}, {0x0ea9, 0x3139}, {0x0eaa, 0x313a}, {0x0eab, 0x313b}, {0x0eac, 0x313c},
    {0x0ead, 0x313d}, {0x0eae, 0x313e}, {0x0eaf, 0x313f}, {0x0eb0, 0x3140}, {0x0eb1, 0x3141},
    {0x0eb2, 0x3142}, {0x0eb3, 0x3143}, {0x0eb4, 0x3144}, {0x0eb5, 0x3145}, {0x0eb6, 0x3146},
    {0x0eb7, 0x3147}, {0x0eb8, 0x3148}, {0x0eb9, 0x3149}, {0x0eba, 0x314a}, {0x0ebb, 0x314b},
    {0x0ebc, 0x314c}, {0x0ebd, 0x314d}, {0x0ebe, 0x314e}, {0x0ebf, 0x314f}, {0x0ec0, 0x3150},
    {0x0ec1, 0x3151}, {0x0ec2, 0x3152}, {0x0ec3, 0x3153}, {0x0ec4, 0x3154}, {0x0ec5, 0x3155},
    {0x0ec6, 0x3156}, {0x0ec7, 0x3157}, {0x0ec8, 0x3158}, {0x0ec9, 0x3159}, {0x0eca, 0x315a},
    {0x0ecb, 0x315b}, {0x0ecc, 0x315c}, {0x0ecd, 0x315d}, {0x0ece, 0x315e}, {0x0ecf, 0x315f},
    {0x0ed0, 0x3160}, {0x0ed1, 0x3161}, {0x0ed2, 0x3162}, {0x0ed3, 0x3163}, {0x0ed4, 0x11a8},
    {0x0ed5, 0x11a9}, {0x0ed6, 0x11aa}, {0x0ed7, 0x11ab}, {0x0ed8, 0x11ac}, {0x0ed9, 0x11ad},
    {0x0eda, 0x11ae}, {0x0edb, 0x11af}, {0x0edc, 0x11b0}, {0x0edd, 0x11b1}, {0x0ede, 0x11b2},
    {0x0edf, 0x11b3}, {0x0ee0, 0x11b4}, {0x0ee1, 0x11b5}, {0x0ee2, 0x11b6}, {0x0ee3, 0x11b7},
    {0x0ee4, 0x11b8}, {0x0ee5, 0x11b9}, {0x0ee6, 0x11ba}, {0x0ee7, 0x11bb}, {0x0ee8, 0x11bc},
    {0x0ee9, 0x11bd}, {0x0eea, 0x11be}, {0x0eeb, 0x11bf}, {0x0eec, 0x11c0}, {0x0eed, 0x11c1},
    {0x0eee, 0x11c2}, {0x0eef, 0x316d}, {0x0ef0, 0x3171}, {0x0ef1, 0x3178}, {0x0ef2, 0x317f},
    {0x0ef3, 0x3181}, {0x0ef4, 0x3184}, {0x0ef5, 0x3186}, {0x0ef6, 0x318d}, {0x0ef7, 0x318e},
    {0x0ef8, 0x11eb}, {0x0ef9, 0x11f0}, {0x0efa, 0x11f9}, {0x13bc, 0x0152}, {0x13bd, 0x0153},
    {0x13be, 0x0178}, {0x20ac, 0x20ac},
};
/* clang-format on */

uint32_t keys_keysym_to_ucs(KeySym sym) {
    if ((sym >= 0x20 && sym <= 0x7e) || (sym >= 0xa0 && sym <= 0xff))
        return (uint32_t)sym;
    if (sym >= 0x1000000 && sym <= 0x110ffff) {
        uint32_t c = (uint32_t)(sym - 0x1000000);
        return c >= 0x20 && !is_control(c) && !(c >= 0xd800 && c <= 0xdfff) ? c : 0;
    }
    if (sym > 0xffff)
        return 0;
    size_t lo = 0, hi = NELEM(legacy_ucs);
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (legacy_ucs[mid].sym < sym)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < NELEM(legacy_ucs) && legacy_ucs[lo].sym == sym ? legacy_ucs[lo].ucs : 0;
}

/*
 * Whether clients read legacy keysym sym as keysymdef.h's character. libX11's
 * keysym-to-UCS tables (which Xutf8LookupString uses) lack the APL block and
 * a few technical symbols, and give others another character (the Hangul
 * block as conjoining jamo, U+11xx, not U+31xx; approximate, telephone...):
 * and Greek_accentdieresis starts compose sequences in X input methods: those
 * characters go out as Unicode keysyms, which every client reads alike.
 * Found by typing every legacy keysym into an Xlib client (test-input).
 */
static bool legacy_known(uint16_t sym) {
    static const uint16_t differ[] = {0x047e, 0x04a2, 0x04a3, 0x07ae, 0x08c1, 0x08c8, 0x08c9,
            0x08cd, 0x08cf, 0x09e0, 0x09e1, 0x09e8, 0x0af4, 0x0af9};
    if ((sym >= 0x08a1 && sym <= 0x08b0) || (sym >= 0x0b00 && sym < 0x0c00) ||
            (sym >= 0x0ea1 && sym <= 0x0efa))
        return false;
    for (size_t i = 0; i < NELEM(differ); i++)
        if (differ[i] == sym)
            return false;
    return true;
}

/* legacy_ucs indices of the keysyms clients know, sorted by character. */
static uint16_t by_ucs[NELEM(legacy_ucs)];
static size_t nby_ucs;
static pthread_once_t by_ucs_once = PTHREAD_ONCE_INIT;

static int cmp_by_ucs(const void *a, const void *b) {
    return (int)legacy_ucs[*(const uint16_t *)a].ucs - (int)legacy_ucs[*(const uint16_t *)b].ucs;
}

static void load_by_ucs(void) {
    for (size_t i = 0; i < NELEM(legacy_ucs); i++)
        if (legacy_known(legacy_ucs[i].sym))
            by_ucs[nby_ucs++] = (uint16_t)i;
    qsort(by_ucs, nby_ucs, sizeof *by_ucs, cmp_by_ucs);
}

KeySym keys_ucs_to_keysym(uint32_t cp) {
    if ((cp >= 0x20 && cp <= 0x7e) || (cp >= 0xa0 && cp <= 0xff))
        return cp;
    if (cp <= 0xffff) {
        pthread_once(&by_ucs_once, load_by_ucs);
        size_t lo = 0, hi = nby_ucs;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (legacy_ucs[by_ucs[mid]].ucs < cp)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < nby_ucs && legacy_ucs[by_ucs[lo]].ucs == cp)
            return legacy_ucs[by_ucs[lo]].sym;
    }
    return 0x1000000 + (KeySym)cp;
}
