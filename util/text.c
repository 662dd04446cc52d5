/*
 * util: UTF-8 and base64 (see util.h). The base64 decoder looks every
 * character up in one table and checks a whole group of four at once: a
 * full-screen screenshot is half a megabyte of base64.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

int util_utf8_decode(const char *str, size_t len, uint32_t *cp) {
    const unsigned char *s = (const unsigned char *)str;
    uint32_t c;
    int n;
    if (len == 0)
        return -EINVAL;
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        n = 2;
        c = s[0] & 0x1f;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        n = 3;
        c = s[0] & 0x0f;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        n = 4;
        c = s[0] & 0x07;
    } else {
        return -EINVAL; /* a continuation byte, or a lead byte that only starts overlongs */
    }
    if (len < (size_t)n)
        return -EINVAL;
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return -EINVAL;
        c = c << 6 | (s[i] & 0x3f);
    }
    /* Overlong forms, surrogates and code points past U+10FFFF. */
    if ((n == 3 && c < 0x800) || (n == 4 && c < 0x10000) || c > 0x10ffff ||
            (c >= 0xd800 && c <= 0xdfff))
        return -EINVAL;
    *cp = c;
    return n;
}

char *util_utf8_clean(const char *in, size_t n, size_t *outlen) {
    /* Each bad byte becomes three: the worst case triples the text. */
    char *out = malloc(n * 3 + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        int k = util_utf8_decode(in + i, n - i, &cp);
        if (k < 0) {
            memcpy(out + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
        } else {
            memcpy(out + o, in + i, (size_t)k);
            o += (size_t)k;
            i += (size_t)k;
        }
    }
    out[o] = '\0';
    if (outlen)
        *outlen = o;
    return out;
}

static const char b64_digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t util_base64_len(size_t n) {
    return (n + 2) / 3 * 4;
}

size_t util_base64_encode(const void *data, size_t len, char *out) {
    const unsigned char *in = data;
    char *o = out;
    size_t i = 0;
    for (; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        o[0] = b64_digits[v >> 18];
        o[1] = b64_digits[(v >> 12) & 63];
        o[2] = b64_digits[(v >> 6) & 63];
        o[3] = b64_digits[v & 63];
        o += 4;
    }
    if (i < len) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0);
        o[0] = b64_digits[v >> 18];
        o[1] = b64_digits[(v >> 12) & 63];
        o[2] = '=';
        if (i + 1 < len)
            o[2] = b64_digits[(v >> 6) & 63];
        o[3] = '=';
        o += 4;
    }
    return (size_t)(o - out);
}

/* Each byte's digit value, -1 for bytes that are not base64 digits; built once. */
static signed char b64_values[256];

static void b64_table_init(void) {
    memset(b64_values, -1, sizeof b64_values);
    for (int i = 0; i < 64; i++)
        b64_values[(unsigned char)b64_digits[i]] = (signed char)(unsigned char)i;
}

static inline int digit(unsigned char ch) {
    return (int)b64_values[ch];
}

int util_base64_decode(const char *in, size_t len, unsigned char **out, size_t *outlen) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, b64_table_init);
    *out = NULL;
    *outlen = 0;
    if (len % 4)
        return -EINVAL;
    size_t pad = 0;
    if (len && in[len - 1] == '=')
        pad = (len >= 2 && in[len - 2] == '=') ? 2 : 1;
    size_t n = len / 4 * 3 - pad;
    unsigned char *buf = malloc(n + 1);
    if (!buf)
        return -ENOMEM;
    size_t o = 0;
    const unsigned char *u = (const unsigned char *)in;
    /* Every group but the last: four digits, three bytes; one check for all four. */
    size_t body = len >= 4 ? len - 4 : 0;
    for (size_t i = 0; i < body; i += 4) {
        int a = digit(u[i]), b = digit(u[i + 1]), c = digit(u[i + 2]), d = digit(u[i + 3]);
        if ((a | b | c | d) < 0) {
            free(buf);
            return -EINVAL;
        }
        unsigned triple = (unsigned)a << 18 | (unsigned)b << 12 | (unsigned)c << 6 | (unsigned)d;
        buf[o++] = (unsigned char)(triple >> 16);
        buf[o++] = (unsigned char)(triple >> 8);
        buf[o++] = (unsigned char)triple;
    }
    if (len >= 4) {
        int v[4];
        for (int k = 0; k < 4; k++) {
            unsigned char ch = u[body + (size_t)k];
            /* '=' only as the final one or two characters of the text. */
            v[k] = (ch == '=' && k >= 4 - (int)pad) ? 0 : digit(ch);
            if (v[k] < 0) {
                free(buf);
                return -EINVAL;
            }
        }
        unsigned triple =
                (unsigned)v[0] << 18 | (unsigned)v[1] << 12 | (unsigned)v[2] << 6 | (unsigned)v[3];
        for (size_t k = 0; k < 3 - pad; k++)
            buf[o++] = (unsigned char)(triple >> (16 - 8 * k));
    }
    *out = buf;
    *outlen = o;
    return 0;
}
