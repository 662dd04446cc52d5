/*
 * test-encode: the capture library's image side without X: scale_length,
 * frame_scale_box and encoder_encode, checked by decoding the output with the
 * same codec libraries (libpng, TurboJPEG, libwebp).
 */
#include <errno.h>
#include <math.h>
#include <png.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>
#include <webp/decode.h>

#include "capture.h"
#include "check.h"

/* A BGRX test frame; pad bytes after each row hold garbage that must be ignored. */
struct tframe {
    struct frame f;
    uint8_t *mem;
};

static uint32_t rng = 12345;

static uint8_t rnd(void) {
    rng = rng * 1103515245u + 12345u;
    return (uint8_t)(rng >> 16);
}

static void tframe_alloc(struct tframe *t, int w, int h, int pad) {
    t->f.width = w;
    t->f.height = h;
    t->f.stride = 4 * w + pad;
    t->mem = malloc((size_t)t->f.stride * (size_t)h);
    t->f.px = t->mem;
    memset(t->mem, 0xab, (size_t)t->f.stride * (size_t)h);
}

static void put(struct frame *f, int x, int y, uint8_t r, uint8_t g, uint8_t b) {
    uint8_t *p = f->px + (size_t)y * (size_t)f->stride + 4 * (size_t)x;
    p[0] = b;
    p[1] = g;
    p[2] = r;
    p[3] = rnd(); /* X: must not matter */
}

static const uint8_t *at(const struct frame *f, int x, int y) {
    return f->px + (size_t)y * (size_t)f->stride + 4 * (size_t)x;
}

/*
 * Screen-like content: a gradient background, a "window" with hard-edged
 * black-on-white stripes (text-like), and a noise patch in one corner.
 */
static void tframe_pattern(struct tframe *t, int w, int h, int pad) {
    tframe_alloc(t, w, h, pad);
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            uint8_t r = (uint8_t)(x * 255 / (w > 1 ? w - 1 : 1));
            uint8_t g = (uint8_t)(y * 255 / (h > 1 ? h - 1 : 1));
            uint8_t b = (uint8_t)((x + y) & 0xff);
            if (x > w / 4 && x < w * 3 / 4 && y > h / 4 && y < h * 3 / 4) {
                bool ink = ((x / 2 + y / 3) % 5 == 0) && (y % 12 < 9);
                r = g = b = ink ? 0 : 255;
            } else if (x < w / 8 && y < h / 8) {
                r = rnd();
                g = rnd();
                b = rnd();
            }
            put(&t->f, x, y, r, g, b);
        }
    }
}

static void tframe_uniform(
        struct tframe *t, int w, int h, int pad, uint8_t r, uint8_t g, uint8_t b) {
    tframe_alloc(t, w, h, pad);
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            uint8_t *p = t->f.px + (size_t)y * (size_t)t->f.stride + 4 * (size_t)x;
            p[0] = b;
            p[1] = g;
            p[2] = r;
            p[3] = 0xff;
        }
    }
}

static void tframe_free(struct tframe *t) {
    free(t->mem);
    t->mem = NULL;
}

/* Decoders, each to packed RGB (malloc'd) with its size. */
static uint8_t *decode_png(const uint8_t *buf, size_t len, int *w, int *h) {
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&img, buf, len))
        return NULL;
    img.format = PNG_FORMAT_RGB;
    uint8_t *rgb = malloc(PNG_IMAGE_SIZE(img));
    if (!rgb || !png_image_finish_read(&img, NULL, rgb, 0, NULL)) {
        free(rgb);
        png_image_free(&img);
        return NULL;
    }
    *w = (int)img.width;
    *h = (int)img.height;
    return rgb;
}

static uint8_t *decode_jpeg(const uint8_t *buf, size_t len, int *w, int *h) {
    tjhandle tj = tjInitDecompress();
    int sub, cs;
    uint8_t *rgb = NULL;
    if (tj && tjDecompressHeader3(tj, buf, len, w, h, &sub, &cs) == 0) {
        rgb = malloc((size_t)*w * (size_t)*h * 3);
        if (rgb && tjDecompress2(tj, buf, len, rgb, *w, 0, *h, TJPF_RGB, 0) != 0) {
            free(rgb);
            rgb = NULL;
        }
    }
    if (tj)
        tjDestroy(tj);
    return rgb;
}

static uint8_t *decode_webp(const uint8_t *buf, size_t len, int *w, int *h) {
    uint8_t *p = WebPDecodeRGB(buf, len, w, h);
    if (!p)
        return NULL;
    /* WebPFree vs free: copy so that every decoder's result goes to free(). */
    uint8_t *rgb = malloc((size_t)*w * (size_t)*h * 3);
    if (rgb)
        memcpy(rgb, p, (size_t)*w * (size_t)*h * 3);
    WebPFree(p);
    return rgb;
}

static uint8_t *decode(enum img_format fmt, const uint8_t *buf, size_t len, int *w, int *h) {
    switch (fmt) {
    case IMG_PNG:
        return decode_png(buf, len, w, h);
    case IMG_JPEG:
        return decode_jpeg(buf, len, w, h);
    case IMG_WEBP:
        return decode_webp(buf, len, w, h);
    }
    return NULL;
}

static long count_diff(const uint8_t *rgb, const struct frame *f) {
    long bad = 0;
    for (int y = 0; y < f->height; y++) {
        for (int x = 0; x < f->width; x++) {
            const uint8_t *s = at(f, x, y), *d = rgb + 3 * ((size_t)y * (size_t)f->width + x);
            bad += d[0] != s[2] || d[1] != s[1] || d[2] != s[0];
        }
    }
    return bad;
}

/*
 * Peak signal-to-noise ratio in dB over the frame; without_noise leaves out the
 * noise patch of tframe_pattern (which 4:2:0 chroma subsampling cannot keep).
 */
static double psnr(const uint8_t *rgb, const struct frame *f, bool without_noise) {
    double se = 0, n = 0;
    for (int y = 0; y < f->height; y++) {
        for (int x = 0; x < f->width; x++) {
            if (without_noise && x < f->width / 8 && y < f->height / 8)
                continue;
            n += 3;
            const uint8_t *s = at(f, x, y), *d = rgb + 3 * ((size_t)y * (size_t)f->width + x);
            for (int k = 0; k < 3; k++) {
                double e = (double)d[k] - s[2 - k];
                se += e * e;
            }
        }
    }
    double mse = se / n;
    return mse == 0 ? 99 : 10 * log10(255.0 * 255.0 / mse);
}

/* Encodes f at full size and decodes it; returns the RGB (or NULL) and the encoded size. */
static uint8_t *roundtrip(
        struct encoder *e, const struct frame *f, enum img_format fmt, int q, size_t *size) {
    const uint8_t *out = NULL;
    size_t len = 0;
    int r = encoder_encode(e, f, f->width, f->height, fmt, q, &out, &len);
    CHECK(r == 0, "encode %s %dx%d q%d: %d", img_format_name(fmt), f->width, f->height, q, r);
    if (r)
        return NULL;
    int w = 0, h = 0;
    uint8_t *rgb = decode(fmt, out, len, &w, &h);
    CHECK(rgb != NULL, "decode %s %dx%d", img_format_name(fmt), f->width, f->height);
    if (!rgb)
        return NULL;
    CHECK(w == f->width && h == f->height, "%s size %dx%d, expected %dx%d", img_format_name(fmt), w,
            h, f->width, f->height);
    if (w != f->width || h != f->height) {
        free(rgb);
        return NULL;
    }
    if (size)
        *size = len;
    return rgb;
}

static void test_names(void) {
    CHECK_STR(img_format_name(IMG_PNG), "png");
    CHECK_STR(img_format_name(IMG_JPEG), "jpeg");
    CHECK_STR(img_format_name(IMG_WEBP), "webp");
    CHECK_STR(img_format_mime(IMG_PNG), "image/png");
    CHECK_STR(img_format_mime(IMG_JPEG), "image/jpeg");
    CHECK_STR(img_format_mime(IMG_WEBP), "image/webp");
}

static void test_scale_length(void) {
    static const struct {
        int len;
        double s;
        int want;
    } t[] = {
            {1920, 0.5, 960},
            {1080, 0.5, 540},
            {1919, 0.5, 959},
            {1920, 1.0, 1920},
            {37, 1.0, 37},
            {1, 1.0, 1},
            {1, 0.5, 1},
            {1, 0.1, 1},
            {5, 0.1, 1},
            {9, 0.1, 1},
            {10, 0.1, 1},
            {11, 0.1, 1},
            {19, 0.1, 1},
            {20, 0.1, 2},
            {37, 0.1, 3},
            {1920, 0.1, 192},
            {1080, 0.1, 108},
            {10, 0.3, 3},
            {100, 0.33, 33},
            {3, 2.0 / 3.0, 2},
            {1366, 0.75, 1024},
            {1920, 0.25, 480},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        int got = scale_length(t[i].len, t[i].s);
        CHECK(got == t[i].want, "scale_length(%d, %g) = %d, expected %d", t[i].len, t[i].s, got,
                t[i].want);
    }
}

/* Reference box filter in doubles, one channel, for any ratio. */
static double ref_box(const struct frame *src, int dw, int dh, int ox, int oy, int ch) {
    double sx0 = (double)ox * src->width / dw, sx1 = (double)(ox + 1) * src->width / dw;
    double sy0 = (double)oy * src->height / dh, sy1 = (double)(oy + 1) * src->height / dh;
    double sum = 0, area = 0;
    for (int y = (int)floor(sy0); y < (int)ceil(sy1) && y < src->height; y++) {
        double cy = fmin(y + 1, sy1) - fmax(y, sy0);
        for (int x = (int)floor(sx0); x < (int)ceil(sx1) && x < src->width; x++) {
            double c = cy * (fmin(x + 1, sx1) - fmax(x, sx0));
            sum += c * at(src, x, y)[ch];
            area += c;
        }
    }
    return sum / area;
}

static void check_against_ref(const struct frame *src, int dw, int dh) {
    struct tframe d;
    tframe_alloc(&d, dw, dh, 12);
    frame_scale_box(src, &d.f);
    int worst = 0;
    for (int y = 0; y < dh; y++) {
        for (int x = 0; x < dw; x++) {
            for (int ch = 0; ch < 3; ch++) {
                int diff = abs(at(&d.f, x, y)[ch] - (int)lround(ref_box(src, dw, dh, x, y, ch)));
                if (diff > worst)
                    worst = diff;
            }
        }
        /* The pad after each destination row is the caller's: untouched. */
        const uint8_t *pad = at(&d.f, dw, y);
        for (int k = 0; k < 12; k++)
            CHECK(pad[k] == 0xab, "scale %dx%d: pad byte %d of row %d written", dw, dh, k, y);
    }
    CHECK(worst <= 1, "%dx%d -> %dx%d differs from the exact box filter by %d", src->width,
            src->height, dw, dh, worst);
    tframe_free(&d);
}

static void test_box(void) {
    /* 2x2 checker -> 1x1 (the 2:1 path) and 4x4 checker -> 1x1 (the general path). */
    for (int n = 2; n <= 4; n += 2) {
        struct tframe s, d;
        tframe_alloc(&s, n, n, 4);
        for (int y = 0; y < n; y++)
            for (int x = 0; x < n; x++) {
                uint8_t v = (x + y) % 2 ? 255 : 0;
                put(&s.f, x, y, v, v, v);
            }
        tframe_alloc(&d, 1, 1, 0);
        frame_scale_box(&s.f, &d.f);
        for (int ch = 0; ch < 3; ch++)
            CHECK(d.f.px[ch] == 127 || d.f.px[ch] == 128, "%dx%d checker -> gray: channel %d = %d",
                    n, n, ch, d.f.px[ch]);
        tframe_free(&s);
        tframe_free(&d);
    }

    /* 3 -> 2 in both directions: output 0 is 2/3 of pixel 0 and 1/3 of pixel 1. */
    {
        static const uint8_t v[3] = {0, 90, 255};
        struct tframe s, d;
        tframe_alloc(&s, 3, 3, 8);
        for (int y = 0; y < 3; y++)
            for (int x = 0; x < 3; x++)
                put(&s.f, x, y, v[x], v[y], (uint8_t)(v[x] / 3 + v[y] / 3));
        tframe_alloc(&d, 2, 2, 0);
        frame_scale_box(&s.f, &d.f);
        static const double w[2][3] = {{2, 1, 0}, {0, 1, 2}};
        for (int oy = 0; oy < 2; oy++) {
            for (int ox = 0; ox < 2; ox++) {
                double r = 0, g = 0, b = 0;
                for (int k = 0; k < 3; k++) {
                    r += w[ox][k] * v[k] / 3;
                    g += w[oy][k] * v[k] / 3;
                }
                for (int y = 0; y < 3; y++)
                    for (int x = 0; x < 3; x++)
                        b += w[ox][x] * w[oy][y] * at(&s.f, x, y)[0] / 9;
                const uint8_t *p = at(&d.f, ox, oy);
                CHECK(abs(p[2] - (int)lround(r)) <= 1, "3->2 R at %d,%d = %d, expected %.2f", ox,
                        oy, p[2], r);
                CHECK(abs(p[1] - (int)lround(g)) <= 1, "3->2 G at %d,%d = %d, expected %.2f", ox,
                        oy, p[1], g);
                CHECK(abs(p[0] - (int)lround(b)) <= 1, "3->2 B at %d,%d = %d, expected %.2f", ox,
                        oy, p[0], b);
            }
        }
        /* The two exact values named above. */
        CHECK_INT(at(&d.f, 0, 0)[2], 30);
        CHECK_INT(at(&d.f, 1, 0)[2], 200);
        tframe_free(&s);
        tframe_free(&d);
    }

    /* A uniform colour stays exactly that colour at any ratio. */
    {
        static const double scales[] = {1.0, 0.999, 0.75, 0.5, 0.4, 0.33, 0.1, 0.01};
        static const int sizes[][2] = {{37, 23}, {1, 1}, {640, 480}, {1919, 7}};
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            struct tframe s;
            tframe_uniform(&s, sizes[i][0], sizes[i][1], 20, 200, 17, 99);
            for (size_t k = 0; k < sizeof scales / sizeof scales[0]; k++) {
                struct tframe d;
                int dw = scale_length(sizes[i][0], scales[k]);
                int dh = scale_length(sizes[i][1], scales[k]);
                tframe_alloc(&d, dw, dh, 0);
                frame_scale_box(&s.f, &d.f);
                long bad = 0;
                for (int y = 0; y < dh; y++)
                    for (int x = 0; x < dw; x++) {
                        const uint8_t *p = at(&d.f, x, y);
                        bad += p[0] != 99 || p[1] != 17 || p[2] != 200;
                    }
                CHECK(bad == 0, "uniform %dx%d at %g: %ld pixels changed colour", sizes[i][0],
                        sizes[i][1], scales[k], bad);
                tframe_free(&d);
            }
            tframe_free(&s);
        }
    }

    /* Arbitrary content against a double-precision reference, odd ratios and upscales too. */
    {
        struct tframe s;
        tframe_pattern(&s, 37, 23, 8);
        static const int dims[][2] = {{17, 11}, {36, 22}, {1, 1}, {37, 1}, {1, 23}, {18, 11},
                {10, 7}, {37, 23}, {50, 30}};
        for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++)
            check_against_ref(&s.f, dims[i][0], dims[i][1]);
        tframe_free(&s);
        tframe_pattern(&s, 200, 120, 0);
        check_against_ref(&s.f, 100, 60);
        check_against_ref(&s.f, 61, 37);
        check_against_ref(&s.f, 3, 2);
        tframe_free(&s);
    }
}

static void test_lossless(void) {
    static const int sizes[][3] = {{37, 23, 0}, {37, 23, 12}, {1, 1, 0}, {1920, 1080, 64}};
    struct encoder *e = encoder_new();
    CHECK(e != NULL, "encoder_new");
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        struct tframe t;
        tframe_pattern(&t, sizes[i][0], sizes[i][1], sizes[i][2]);
        for (int k = 0; k < 2; k++) {
            enum img_format fmt = k ? IMG_WEBP : IMG_PNG;
            uint8_t *rgb = roundtrip(e, &t.f, fmt, 100, NULL);
            if (rgb) {
                long bad = count_diff(rgb, &t.f);
                CHECK(bad == 0, "%s %dx%d stride %d: %ld pixels differ", img_format_name(fmt),
                        t.f.width, t.f.height, t.f.stride, bad);
            }
            free(rgb);
        }
        tframe_free(&t);
    }
    /* PNG ignores quality, even out of range. */
    struct tframe t;
    tframe_pattern(&t, 9, 9, 0);
    const uint8_t *out;
    size_t len;
    CHECK_INT(encoder_encode(e, &t.f, 9, 9, IMG_PNG, 0, &out, &len), 0);
    tframe_free(&t);
    encoder_destroy(e);
}

/* Encodes t at quality q, checks PSNR against bound (without noise) and returns the size. */
static size_t check_lossy(
        struct encoder *e, const struct frame *f, enum img_format fmt, int q, double bound) {
    size_t len = 0;
    uint8_t *rgb = roundtrip(e, f, fmt, q, &len);
    if (rgb) {
        double p = psnr(rgb, f, true), all = psnr(rgb, f, false);
        CHECK(p > bound && all > bound - 6, "%s q%d %dx%d: PSNR %.1f dB (%.1f with noise)",
                img_format_name(fmt), q, f->width, f->height, p, all);
    }
    free(rgb);
    return len;
}

static void test_lossy(void) {
    /* Tiny frames are all edges: their bounds are lower by "slack" dB. */
    static const int sizes[][4] = {{37, 23, 4, 6}, {1920, 1080, 0, 0}, {333, 97, 40, 0}};
    struct encoder *e = encoder_new();
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        struct tframe t;
        tframe_pattern(&t, sizes[i][0], sizes[i][1], sizes[i][2]);
        double slack = sizes[i][3];
        size_t hi = check_lossy(e, &t.f, IMG_JPEG, 90, 33 - slack);
        size_t lo = check_lossy(e, &t.f, IMG_JPEG, 30, 25 - slack);
        CHECK(lo < hi, "JPEG %dx%d: q30 %zu bytes, q90 %zu", t.f.width, t.f.height, lo, hi);
        hi = check_lossy(e, &t.f, IMG_WEBP, 80, 32 - slack);
        lo = check_lossy(e, &t.f, IMG_WEBP, 10, 28 - slack);
        CHECK(lo < hi, "WebP %dx%d: q10 %zu bytes, q80 %zu", t.f.width, t.f.height, lo, hi);
        tframe_free(&t);
    }
    encoder_destroy(e);
}

static void test_scaled(void) {
    static const int sizes[][2] = {{1920, 1080}, {37, 23}, {1, 1}, {5, 3}};
    static const double scales[] = {1.0, 0.5, 0.33, 0.1};
    struct encoder *e = encoder_new();
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        struct tframe t;
        tframe_pattern(&t, sizes[i][0], sizes[i][1], 4);
        for (size_t k = 0; k < sizeof scales / sizeof scales[0]; k++) {
            int dw = scale_length(t.f.width, scales[k]), dh = scale_length(t.f.height, scales[k]);
            CHECK(dw >= 1 && dh >= 1, "scaled size %dx%d", dw, dh);
            /* What encoder_encode must have encoded, for the lossless check. */
            struct tframe want;
            tframe_alloc(&want, dw, dh, 0);
            frame_scale_box(&t.f, &want.f);
            for (int fmt = IMG_PNG; fmt <= IMG_WEBP; fmt++) {
                const uint8_t *out = NULL;
                size_t len = 0;
                int r = encoder_encode(e, &t.f, dw, dh, (enum img_format)fmt,
                        fmt == IMG_WEBP ? 100 : 75, &out, &len);
                CHECK(r == 0, "encode %dx%d -> %dx%d %s: %d", t.f.width, t.f.height, dw, dh,
                        img_format_name((enum img_format)fmt), r);
                if (r)
                    continue;
                int w = 0, h = 0;
                uint8_t *rgb = decode((enum img_format)fmt, out, len, &w, &h);
                CHECK(rgb && w == dw && h == dh, "%s of %dx%d at %g: %dx%d, expected %dx%d",
                        img_format_name((enum img_format)fmt), t.f.width, t.f.height, scales[k], w,
                        h, dw, dh);
                if (rgb && w == dw && h == dh && fmt != IMG_JPEG)
                    CHECK(count_diff(rgb, &want.f) == 0, "%s scaled to %dx%d: pixels differ",
                            img_format_name((enum img_format)fmt), dw, dh);
                free(rgb);
            }
            tframe_free(&want);
        }
        tframe_free(&t);
    }
    encoder_destroy(e);
}

/* A reused encoder must produce byte for byte what a fresh one does. */
static void test_reuse(void) {
    struct tframe big, small, odd;
    tframe_pattern(&big, 1280, 720, 0);
    tframe_pattern(&small, 37, 23, 16);
    tframe_pattern(&odd, 101, 3, 4);
    struct {
        const struct frame *f;
        int dw, dh;
        enum img_format fmt;
        int q;
    } seq[] = {
            {&big.f, 1280, 720, IMG_PNG, 0},
            {&small.f, 37, 23, IMG_JPEG, 80},
            {&big.f, 640, 360, IMG_WEBP, 100},
            {&small.f, 37, 23, IMG_PNG, 0},
            {&odd.f, 50, 1, IMG_JPEG, 50},
            {&big.f, 1280, 720, IMG_JPEG, 95},
            {&small.f, 20, 11, IMG_WEBP, 60},
            {&odd.f, 101, 3, IMG_WEBP, 100},
            {&big.f, 427, 240, IMG_PNG, 0},
            {&small.f, 37, 23, IMG_PNG, 0},
    };
    struct encoder *e = encoder_new();
    for (size_t i = 0; i < sizeof seq / sizeof seq[0]; i++) {
        const uint8_t *a, *b;
        size_t alen, blen;
        struct encoder *fresh = encoder_new();
        int ra = encoder_encode(e, seq[i].f, seq[i].dw, seq[i].dh, seq[i].fmt, seq[i].q, &a, &alen);
        int rb = encoder_encode(
                fresh, seq[i].f, seq[i].dw, seq[i].dh, seq[i].fmt, seq[i].q, &b, &blen);
        CHECK(ra == 0 && rb == 0, "step %zu: %d %d", i, ra, rb);
        if (!ra && !rb)
            CHECK(alen == blen && memcmp(a, b, alen) == 0,
                    "step %zu (%s %dx%d): reused encoder gave %zu bytes, fresh one %zu", i,
                    img_format_name(seq[i].fmt), seq[i].dw, seq[i].dh, alen, blen);
        encoder_destroy(fresh);
    }
    encoder_destroy(e);
    tframe_free(&big);
    tframe_free(&small);
    tframe_free(&odd);
}

static void test_invalid(void) {
    struct encoder *e = encoder_new();
    struct tframe t;
    tframe_pattern(&t, 37, 23, 0);
    const uint8_t *out = NULL;
    size_t len = 0;
    CHECK_INT(encoder_encode(e, &t.f, 37, 23, IMG_JPEG, 0, &out, &len), -EINVAL);
    CHECK_INT(encoder_encode(e, &t.f, 37, 23, IMG_JPEG, 101, &out, &len), -EINVAL);
    CHECK_INT(encoder_encode(e, &t.f, 37, 23, IMG_WEBP, 0, &out, &len), -EINVAL);
    CHECK_INT(encoder_encode(e, &t.f, 37, 23, IMG_WEBP, -5, &out, &len), -EINVAL);
    CHECK_INT(encoder_encode(e, &t.f, 38, 23, IMG_PNG, 0, &out, &len), -EINVAL);
    CHECK_INT(encoder_encode(e, &t.f, 37, 24, IMG_JPEG, 80, &out, &len), -EINVAL);
    CHECK_INT(encoder_encode(e, &t.f, 0, 23, IMG_JPEG, 80, &out, &len), -EINVAL);
    CHECK_INT(encoder_encode(e, &t.f, 37, -1, IMG_WEBP, 80, &out, &len), -EINVAL);
    CHECK_INT(encoder_encode(e, &t.f, 37, 23, (enum img_format)7, 80, &out, &len), -EINVAL);
    struct frame bad = t.f;
    bad.stride = 4 * 37 - 1;
    CHECK_INT(encoder_encode(e, &bad, 37, 23, IMG_PNG, 0, &out, &len), -EINVAL);
    bad = t.f;
    bad.width = 0;
    CHECK_INT(encoder_encode(e, &bad, 1, 1, IMG_PNG, 0, &out, &len), -EINVAL);
    CHECK(out == NULL && len == 0, "failed calls must not set the output");
    /* And the encoder still works after all that. */
    CHECK_INT(encoder_encode(e, &t.f, 37, 23, IMG_JPEG, 80, &out, &len), 0);
    CHECK(out && len > 100, "JPEG after errors: %zu bytes", len);
    tframe_free(&t);
    encoder_destroy(e);
    encoder_destroy(NULL);
}

int main(void) {
    check_timeout(120);
    test_names();
    test_scale_length();
    test_box();
    test_lossless();
    test_lossy();
    test_scaled();
    test_reuse();
    test_invalid();
    return check_finish();
}
