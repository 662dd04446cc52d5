/*
 * libFuzzer harness: the keyboard vocabulary (input/keys.c): key names with
 * modifiers, hotkey strings and the typing text check, on arbitrary bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "keys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 4096)
        return 0;
    char err[512];
    keys_check_text((const char *)data, size, err, sizeof err);
    static char s[4097];
    memcpy(s, data, size);
    s[size] = '\0';
    struct key_combo c;
    keys_parse_hotkey(s, &c, err, sizeof err);
    /* "key|mod|mod": a press with modifiers. */
    const char *mods[8];
    size_t n = 0;
    char *save = NULL, *key = strtok_r(s, "|", &save);
    for (char *m; key && n < 8 && (m = strtok_r(NULL, "|", &save));)
        mods[n++] = m;
    if (key)
        keys_parse_press(key, mods, n, &c, err, sizeof err);
    int button;
    keys_parse_button((const char *)s, &button, err, sizeof err);
    keys_parse_direction((const char *)s, &button, err, sizeof err);
    return 0;
}
