/*
 * The live view's protocol pieces without a desktop: the RFB message filter
 * (every message kind, fed whole, byte by byte and in every split; view-only
 * drops; malformed streams), the WebSocket accept key (RFC 6455's example),
 * the VNC authentication response (DES), and the mirror of noVNC's files that
 * websockify serves without directory listings.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "rfb.h"
#include "vnc.h"

/* One client stream holding every message kind noVNC sends, and what view-only keeps. */
static const uint8_t stream[] = {
        0, 0, 0, 0, 32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0, /* SetPixelFormat */
        2, 0, 0, 2, 0, 0, 0, 7, 0xff, 0xff, 0xff, 0x21,                      /* SetEncodings */
        3, 1, 0, 0, 0, 0, 4, 0, 3, 0,                                        /* UpdateRequest */
        4, 1, 0, 0, 0, 0, 0, 0x7a,                                           /* KeyEvent z */
        5, 1, 0, 10, 0, 20,                                                  /* PointerEvent */
        6, 0, 0, 0, 0, 0, 0, 3, 'a', 'b', 'c',                               /* ClientCutText */
        150, 1, 0, 0, 0, 0, 4, 0, 3, 0,                                      /* ContinuousUpdates */
        248, 0, 0, 0, 0, 0, 0, 1, 2, 9, 9,                                   /* ClientFence */
        255, 0, 0, 1, 0, 0, 0, 0x61, 0, 0, 0, 30,                            /* QEMU key event */
        251, 0, 4, 0, 3, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 3, 0, 0, 0, 0,
        0,            /* SetDesktopSize */
        250, 0, 1, 2, /* xvp */
};
/* The bytes of the messages that ask for pixels only (offsets into stream). */
static const size_t kept_ranges[][2] = {{0, 42}, {67, 88}};

static void run(bool view_only, size_t split, uint8_t *out, size_t *outn, struct rfb_filter *f) {
    rfb_filter_init(f, view_only);
    *outn = 0;
    for (size_t i = 0; i < sizeof stream; i += split) {
        size_t n = i + split <= sizeof stream ? split : sizeof stream - i;
        size_t got = 0;
        CHECK_INT(rfb_filter_feed(f, stream + i, n, out + *outn, &got), 0);
        *outn += got;
    }
}

static void test_filter(void) {
    uint8_t out[sizeof stream], want[sizeof stream];
    size_t wn = 0;
    for (size_t k = 0; k < 2; k++) {
        memcpy(want + wn, stream + kept_ranges[k][0], kept_ranges[k][1] - kept_ranges[k][0]);
        wn += kept_ranges[k][1] - kept_ranges[k][0];
    }
    for (size_t split = 1; split <= sizeof stream; split++) {
        struct rfb_filter f;
        size_t n;
        run(false, split, out, &n, &f);
        CHECK(n == sizeof stream && memcmp(out, stream, n) == 0,
                "full control passes everything (pieces of %zu)", split);
        CHECK_INT(f.passed, 11);
        run(true, split, out, &n, &f);
        CHECK(n == wn && memcmp(out, want, n) == 0,
                "view-only keeps the pixel requests only "
                "(pieces of %zu: %zu bytes)",
                split, n);
        CHECK_INT(f.passed, 5);
        CHECK_INT(f.dropped_keys, 2);
        CHECK_INT(f.dropped_pointer, 1);
        CHECK_INT(f.dropped_cut, 1);
        CHECK_INT(f.dropped_other, 2);
    }
}

static void test_malformed(void) {
    struct rfb_filter f;
    uint8_t out[64];
    size_t n;
    static const uint8_t unknown[] = {3, 0, 0, 0, 0, 0, 0, 1, 0, 1, 99};
    rfb_filter_init(&f, false);
    CHECK_INT(rfb_filter_feed(&f, unknown, sizeof unknown, out, &n), -EPROTO);
    CHECK_INT(n, 10); /* the request before it went through */
    CHECK(strstr(f.err, "99"), "%s", f.err);
    static const uint8_t huge_cut[] = {6, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff};
    rfb_filter_init(&f, true);
    CHECK_INT(rfb_filter_feed(&f, huge_cut, sizeof huge_cut, out, &n), -EPROTO);
    CHECK(strstr(f.err, "ClientCutText"), "%s", f.err);
    static const uint8_t fence[] = {248, 0, 0, 0, 0, 0, 0, 0, 65};
    rfb_filter_init(&f, false);
    CHECK_INT(rfb_filter_feed(&f, fence, sizeof fence, out, &n), -EPROTO);
    static const uint8_t qemu[] = {255, 7};
    rfb_filter_init(&f, false);
    CHECK_INT(rfb_filter_feed(&f, qemu, sizeof qemu, out, &n), -EPROTO);
    /* The extended clipboard's negative length is a length too. */
    static const uint8_t ext[] = {6, 0, 0, 0, 0xff, 0xff, 0xff, 0xfe, 1, 2};
    rfb_filter_init(&f, true);
    CHECK_INT(rfb_filter_feed(&f, ext, sizeof ext, out, &n), 0);
    CHECK_INT(n, 0);
    CHECK_INT(f.dropped_cut, 1);
}

static void test_auth(void) {
    /* The same challenge and password give the same answer; the password matters. */
    uint8_t ch[16], a[16], b[16], c[16];
    for (int i = 0; i < 16; i++)
        ch[i] = (uint8_t)(i * 17 + 3);
    rfb_vnc_auth_response("secret12", ch, a);
    rfb_vnc_auth_response("secret12", ch, b);
    rfb_vnc_auth_response("secret13", ch, c);
    CHECK(memcmp(a, b, 16) == 0, "deterministic");
    CHECK(memcmp(a, c, 16) != 0, "depends on the password");
    CHECK(memcmp(a, ch, 16) != 0, "not the challenge itself");
    /* Only 8 characters count, as VNC says. */
    rfb_vnc_auth_response("secret12XYZ", ch, c);
    CHECK(memcmp(a, c, 16) == 0, "the ninth character on does not count");
}

static void test_mirror(void) {
    char dir[] = "/tmp/desk-test-mirror-XXXXXX", err[256];
    CHECK(mkdtemp(dir) != NULL, "temporary directory");
    char dst[128], p[256];
    snprintf(dst, sizeof dst, "%s/web", dir);
    for (int round = 0; round < 2; round++) { /* the second replaces the first */
        CHECK_INT(vnc_web_mirror("/usr/share/novnc", dst, err, sizeof err), 0);
        struct stat st;
        snprintf(p, sizeof p, "%s/vnc.html", dst);
        CHECK(lstat(p, &st) == 0 && S_ISLNK(st.st_mode), "vnc.html is a link");
        snprintf(p, sizeof p, "%s/core/index.html", dst);
        CHECK(stat(p, &st) == 0 && S_ISREG(st.st_mode), "core/ has an index.html");
        snprintf(p, sizeof p, "%s/vendor/pako/lib/index.html", dst);
        CHECK(access(p, R_OK) == 0, "so do the deeper directories");
        snprintf(p, sizeof p, "%s/index.html", dst);
        FILE *f = fopen(p, "r");
        char text[256] = "";
        if (f) {
            size_t n = fread(text, 1, sizeof text - 1, f);
            text[n] = '\0';
            fclose(f);
        }
        CHECK(strstr(text, "vnc.html") != NULL, "the top one leads to vnc.html: %s", text);
    }
    CHECK(vnc_web_mirror("/nonexistent-novnc", dst, err, sizeof err) < 0, "a missing source");
    CHECK(strstr(err, "/nonexistent-novnc"), "%s", err);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK_INT(system(cmd), 0);
}

int main(void) {
    check_timeout(30);
    test_filter();
    test_malformed();
    test_auth();
    test_mirror();
    return check_finish();
}
