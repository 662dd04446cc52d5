/*
 * keys: the keyboard and mouse vocabulary of the API, checked without an X
 * connection. Key names, hotkey strings, text to type, mouse buttons and
 * scroll directions become keysyms and button numbers, or a sentence that
 * says what was wrong, worded like Daytona's computer-use server.
 *
 * Every function is pure and thread-safe. Errors are -EINVAL with the
 * sentence in err (always NUL-terminated when errlen > 0; err may be NULL
 * when errlen is 0).
 */
#ifndef DESK_INPUT_KEYS_H
#define DESK_INPUT_KEYS_H

#include <X11/X.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* At most one modifier of each family: ctrl, alt, shift, cmd. */
#define KEYS_MAX_MODS 4
/* The longest text keyboard/type accepts, in bytes of UTF-8. */
#define KEYS_TEXT_MAX (64 * 1024)

/*
 * A key to tap while modifiers are held. mods holds Control_L, Alt_L, Shift_L
 * or Super_L in the order the request named them; they are pressed in that
 * order and released in reverse.
 */
struct key_combo {
    KeySym key;
    KeySym mods[KEYS_MAX_MODS];
    int nmods;
};

/*
 * Whether key names whose XKB actions switch keyboard or pointer features
 * beyond the press (StickyKeys_Enable, Pointer_Button1, ISO_Group_Lock, ...)
 * are accepted; refused (-EINVAL, naming the key) by default. Set once at
 * start-up, before any parsing thread runs.
 */
void keys_allow_state_keys(bool allow);

/*
 * Parses keyboard/key: key is a key name (never NULL); mods is an array of
 * nmods modifier names (may be NULL when nmods is 0). Fills *out on success.
 */
int keys_parse_press(const char *key, const char *const *mods, size_t nmods, struct key_combo *out,
        char *err, size_t errlen);

/* Parses keyboard/hotkey, one chord such as "ctrl+shift+t". Fills *out on success. */
int keys_parse_hotkey(const char *raw, struct key_combo *out, char *err, size_t errlen);

/*
 * Checks text for keyboard/type: at most KEYS_TEXT_MAX bytes of valid UTF-8
 * without tab, other control characters (except "\n", "\r\n" and "\r", which
 * type Return), U+2028 or U+2029. text may hold NUL bytes (they are rejected
 * as U+0000); it may be NULL when len is 0.
 */
int keys_check_text(const char *text, size_t len, char *err, size_t errlen);

/*
 * Mouse button name (left, right, middle, back, forward; trimmed,
 * case-insensitive) to X button 1, 3, 2, 8 or 9. NULL, empty or blank means
 * left, as in Daytona.
 */
int keys_parse_button(const char *s, int *button, char *err, size_t errlen);

/* Scroll direction (up, down, left, right; trimmed, case-insensitive) to button 4..7. */
int keys_parse_direction(const char *s, int *button, char *err, size_t errlen);

/* The Unicode character a keysym types, or 0 when it types none (function keys, dead keys). */
uint32_t keys_keysym_to_ucs(KeySym sym);

/*
 * The keysym X toolkits expect for code point cp: Latin-1 keysyms below
 * U+0100, the legacy keysym where <X11/keysymdef.h> has one that clients
 * translate (Cyrillic_ef for U+0444, EuroSign), else the Unicode keysym.
 */
KeySym keys_ucs_to_keysym(uint32_t cp);

#endif
