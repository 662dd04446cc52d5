/*
 * scale: output sizes for a scale factor and an area (box) filter resampler
 * for BGRX frames.
 *
 * The filter is exact in the sense of coverage: output pixel x spans the
 * source interval [x * sw / dw, (x + 1) * sw / dw), and every source pixel it
 * touches is weighted by the length of the overlap. Working in units of
 * 1 / (sw * dw) source pixels makes those overlaps integers, so the weights are
 * only rounded once, to 12-bit fixed point, and always sum to exactly 1.0 (a
 * uniform colour comes out unchanged). Vertical pass first (a weighted sum of
 * whole source rows into one row of 32-bit accumulators), then the horizontal
 * pass straight into the destination row: no frame-sized temporary.
 *
 * Not here: upscaling quality (it works, but is merely linear-ish), gamma-
 * correct averaging (screens are averaged in sRGB space like every other
 * screenshot scaler), colour conversion.
 */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"

/* Fixed-point bits of each pass; 8 + 12 + 12 fits in 32 bits. */
#define WBITS 12
#define WONE  (1u << WBITS)

int scale_length(int len, double scale) {
    if (len < 1 || !(scale > 0))
        return 1;
    /* The epsilon keeps e.g. 0.3 * 10 = 2.9999999999999996 at 3. */
    double v = floor((double)len * scale + 1e-9);
    if (v < 1)
        return 1;
    if (v > INT_MAX)
        return INT_MAX;
    return (int)v;
}

/*
 * Filter taps for resampling n source samples to m: output i reads cnt[i]
 * source samples from first[i] on with weights w[off[i]...], summing to WONE.
 */
struct taps {
    int *first, *cnt, *off;
    uint16_t *w;
};

static void taps_free(struct taps *t) {
    free(t->first);
    free(t->w);
}

static int taps_make(struct taps *t, int n, int m) {
    /* Each output spans n / m samples and so touches at most n / m + 2. */
    size_t maxw = (size_t)m * ((size_t)(n / m) + 2);
    t->first = malloc(sizeof(int) * 3 * (size_t)m);
    t->w = malloc(sizeof(uint16_t) * maxw);
    if (!t->first || !t->w) {
        taps_free(t);
        return -1;
    }
    t->cnt = t->first + m;
    t->off = t->cnt + m;

    size_t o = 0;
    for (int i = 0; i < m; i++) {
        /* In units of 1 / m source samples: output i spans [i * n, (i + 1) * n). */
        uint64_t lo = (uint64_t)i * (uint64_t)n, hi = lo + (uint64_t)n;
        int s0 = (int)(lo / (uint64_t)m), s1 = (int)((hi + (uint64_t)m - 1) / (uint64_t)m);
        if (s1 > n)
            s1 = n;
        t->first[i] = s0;
        t->off[i] = (int)o;
        /*
         * Rounding the running total rather than each tap keeps every tap
         * within one unit of exact and makes them sum to exactly WONE.
         */
        uint64_t cum = 0, prev = 0;
        for (int s = s0; s < s1; s++) {
            uint64_t a = (uint64_t)s * (uint64_t)m, b = a + (uint64_t)m;
            cum += (b < hi ? b : hi) - (a > lo ? a : lo);
            uint64_t r = (cum * WONE + (uint64_t)n / 2) / (uint64_t)n;
            t->w[o++] = (uint16_t)(r - prev);
            prev = r;
        }
        t->cnt[i] = s1 - s0;
    }
    return 0;
}

/* Each output byte the rounded mean of a 2x2 block: the common "half size" case. */
static void scale_half(const struct frame *src, struct frame *dst) {
    for (int y = 0; y < dst->height; y++) {
        const uint8_t *a = src->px + (size_t)(2 * y) * (size_t)src->stride;
        const uint8_t *b = a + src->stride;
        uint8_t *o = dst->px + (size_t)y * (size_t)dst->stride;
        for (int x = 0; x < dst->width; x++) {
            for (int k = 0; k < 4; k++)
                o[k] = (uint8_t)((a[k] + a[k + 4] + b[k] + b[k + 4] + 2) >> 2);
            a += 8;
            b += 8;
            o += 4;
        }
    }
}

static void scale_copy(const struct frame *src, struct frame *dst) {
    for (int y = 0; y < dst->height; y++)
        memcpy(dst->px + (size_t)y * (size_t)dst->stride, src->px + (size_t)y * (size_t)src->stride,
                (size_t)dst->width * 4);
}

/* Only when out of memory: a worse picture beats leaving dst unwritten. */
static void scale_nearest(const struct frame *src, struct frame *dst) {
    for (int y = 0; y < dst->height; y++) {
        const uint8_t *row = src->px + (size_t)y * (size_t)src->height / (size_t)dst->height *
                                               (size_t)src->stride;
        uint8_t *o = dst->px + (size_t)y * (size_t)dst->stride;
        for (int x = 0; x < dst->width; x++)
            memcpy(o + 4 * (size_t)x,
                    row + 4 * ((size_t)x * (size_t)src->width / (size_t)dst->width), 4);
    }
}

/*
 * acc[i] (+)= wt * row[i] over a row of n bytes. The fixed-length inner loops
 * are there for the compiler: at -O2 it vectorizes only loops that need no
 * remainder handling; and 16-bit factors let it use 16-bit multiplies.
 */
#define CHUNK 16

static void row_mul(uint32_t *restrict acc, const uint8_t *restrict row, size_t n, uint16_t wt) {
    size_t i = 0;
    for (; i + CHUNK <= n; i += CHUNK)
        for (size_t j = 0; j < CHUNK; j++)
            acc[i + j] = (uint32_t)((uint16_t)row[i + j] * wt);
    for (; i < n; i++)
        acc[i] = (uint32_t)((uint16_t)row[i] * wt);
}

static void row_mac(uint32_t *restrict acc, const uint8_t *restrict row, size_t n, uint16_t wt) {
    size_t i = 0;
    for (; i + CHUNK <= n; i += CHUNK)
        for (size_t j = 0; j < CHUNK; j++)
            acc[i + j] += (uint32_t)((uint16_t)row[i + j] * wt);
    for (; i < n; i++)
        acc[i] += (uint32_t)((uint16_t)row[i] * wt);
}

static void row_horizontal(
        const uint32_t *restrict acc, const struct taps *h, int dw, uint8_t *restrict out) {
    const uint32_t round = 1u << (2 * WBITS - 1);
    for (int x = 0; x < dw; x++) {
        const uint32_t *a = acc + 4 * (size_t)h->first[x];
        const uint16_t *w = h->w + h->off[x];
        uint32_t s[4] = {round, round, round, round};
        for (int k = 0; k < h->cnt[x]; k++, a += 4)
            for (int c = 0; c < 4; c++)
                s[c] += w[k] * a[c];
        for (int c = 0; c < 4; c++)
            out[c] = (uint8_t)(s[c] >> (2 * WBITS));
        out += 4;
    }
}

void frame_scale_box(const struct frame *src, struct frame *dst) {
    int sw = src->width, sh = src->height, dw = dst->width, dh = dst->height;
    if (sw < 1 || sh < 1 || dw < 1 || dh < 1)
        return;
    if (sw == dw && sh == dh) {
        scale_copy(src, dst);
        return;
    }
    if (sw == 2 * dw && sh == 2 * dh) {
        scale_half(src, dst);
        return;
    }

    struct taps h, v;
    uint32_t *acc = malloc(sizeof(uint32_t) * 4 * (size_t)sw);
    if (!acc || taps_make(&h, sw, dw) < 0) {
        free(acc);
        scale_nearest(src, dst);
        return;
    }
    if (taps_make(&v, sh, dh) < 0) {
        taps_free(&h);
        free(acc);
        scale_nearest(src, dst);
        return;
    }

    size_t n = 4 * (size_t)sw;
    for (int y = 0; y < dh; y++) {
        const uint16_t *w = v.w + v.off[y];
        const uint8_t *row = src->px + (size_t)v.first[y] * (size_t)src->stride;
        row_mul(acc, row, n, w[0]);
        for (int k = 1; k < v.cnt[y]; k++) {
            row += src->stride;
            row_mac(acc, row, n, w[k]);
        }
        row_horizontal(acc, &h, dw, dst->px + (size_t)y * (size_t)dst->stride);
    }

    taps_free(&v);
    taps_free(&h);
    free(acc);
}
