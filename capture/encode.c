/*
 * encode: BGRX frames to PNG (zlib), JPEG (TurboJPEG) and WebP (libwebp),
 * optionally box-scaled first.
 *
 * PNG is written here, chunk by chunk, because the format is small and the
 * compressor is the whole cost: the rows are filtered (SUB) and converted to
 * RGB in one pass into a buffer kept by the encoder, and a large image is cut
 * into strips of rows that are filtered and deflated on both cores at once,
 * then stitched into the one zlib stream of the IDAT chunk as pigz does. The
 * result is a plain 8-bit RGB PNG.
 *
 * Measured on a 1920x1080 xfce4 desktop (two terminals full of text): libpng
 * with zlib level 1 took 36 ms of CPU; libdeflate level 1 on the filtered
 * rows 26 ms in one thread; two zlib strips 28 ms of CPU in all, 14 ms on each
 * core, so the strips finish first whenever a second core is free.
 *
 * An encoder keeps its output buffer, its scaled-frame buffer and its
 * TurboJPEG handle between calls: touching fresh multi-megabyte allocations
 * costs more in page faults than the smaller encodes themselves. The codecs are
 * fed the BGRX rows as they are (TJPF_BGRX, WebPPictureImportBGRX), never a
 * converted copy; PNG needs its filtered copy anyway.
 *
 * Not here: decoding, alpha, colour management, metadata. libwebp's own
 * per-call state (WebP picture planes) is still allocated by it on each call;
 * glibc hands the same blocks back once its mmap threshold has adapted.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>
#include <webp/encode.h>
#include <zlib.h>

#include "capture.h"

/*
 * Images with at least this many filtered bytes are compressed in PNG_STRIPS strips at
 * once, one thread each (see deflate_strips); smaller ones in one, on the caller's thread.
 */
#define PNG_STRIP_MIN_BYTES ((size_t)1 << 20)
#define PNG_STRIPS          2

struct encoder {
    tjhandle tj;  /* made on the first JPEG */
    uint8_t *out; /* the encoded bytes of the last call */
    size_t len, cap;
    uint8_t *scaled; /* the resampled frame, when scaling */
    size_t scaled_cap;
    uint8_t *filtered; /* PNG: the filtered RGB rows, each after its filter byte */
    size_t filtered_cap;
    uint8_t *strip_out[PNG_STRIPS]; /* each strip's raw deflate data */
    size_t strip_cap[PNG_STRIPS];
};

/*
 * The filter: measured at zlib level 1 on 1920x1080 desktops (xfwm4,
 * terminals full of text, xfd, xcalc): on a gradient wallpaper NONE, SUB and
 * UP took 15, 17 and 18 ms for 250, 270 and 252 kB; on a photo-like wallpaper
 * 31, 29 and 30 ms for 1228, 813 and 829 kB. SUB is never far from the best in
 * either. PAETH costs 40% more time for a few percent; adaptive filtering
 * twice the time.
 */
#define PNG_FILTER_SUB 1

const char *img_format_name(enum img_format fmt) {
    return (int)fmt >= 0 && (int)fmt < DESK_WIRE_NFORMATS ? desk_wire_format_names[fmt] : "unknown";
}

const char *img_format_mime(enum img_format fmt) {
    return (int)fmt >= 0 && (int)fmt < DESK_WIRE_NFORMATS ? desk_wire_format_mimes[fmt]
                                                          : "application/octet-stream";
}

struct encoder *encoder_new(void) {
    return calloc(1, sizeof(struct encoder));
}

void encoder_destroy(struct encoder *e) {
    if (!e)
        return;
    if (e->tj)
        tjDestroy(e->tj);
    free(e->out);
    free(e->scaled);
    free(e->filtered);
    for (int i = 0; i < PNG_STRIPS; i++)
        free(e->strip_out[i]);
    free(e);
}

size_t encoder_release_big(struct encoder *e, size_t keep) {
    size_t freed = 0;
    if (e->cap > keep) {
        freed += e->cap;
        free(e->out);
        e->out = NULL;
        e->cap = e->len = 0;
    }
    if (e->scaled_cap > keep) {
        freed += e->scaled_cap;
        free(e->scaled);
        e->scaled = NULL;
        e->scaled_cap = 0;
    }
    if (e->filtered_cap > keep) {
        freed += e->filtered_cap;
        free(e->filtered);
        e->filtered = NULL;
        e->filtered_cap = 0;
    }
    for (int i = 0; i < PNG_STRIPS; i++) {
        if (e->strip_cap[i] > keep) {
            freed += e->strip_cap[i];
            free(e->strip_out[i]);
            e->strip_out[i] = NULL;
            e->strip_cap[i] = 0;
        }
    }
    return freed;
}

/* Makes room for need bytes of output; keeps what is there. */
static int out_reserve(struct encoder *e, size_t need) {
    if (need <= e->cap)
        return 0;
    size_t cap = e->cap ? e->cap : (size_t)64 * 1024;
    while (cap < need) {
        if (cap > SIZE_MAX / 2)
            return -ENOMEM;
        cap *= 2;
    }
    uint8_t *p = realloc(e->out, cap);
    if (!p)
        return -ENOMEM;
    e->out = p;
    e->cap = cap;
    return 0;
}

static int encode_jpeg(struct encoder *e, const struct frame *f, int quality) {
    if (!e->tj && !(e->tj = tjInitCompress()))
        return -ENOMEM;
    unsigned long bound = tjBufSize(f->width, f->height, TJSAMP_420);
    if (bound == (unsigned long)-1)
        return -EINVAL;
    if (out_reserve(e, bound) < 0)
        return -ENOMEM;
    /* NOREALLOC: TurboJPEG trusts the buffer to hold tjBufSize() bytes. */
    unsigned char *buf = e->out;
    unsigned long size = (unsigned long)e->cap;
    if (tjCompress2(e->tj, f->px, f->width, f->stride, f->height, TJPF_BGRX, &buf, &size,
                TJSAMP_420, quality, TJFLAG_FASTDCT | TJFLAG_NOREALLOC) != 0)
        return -EIO;
    e->len = size;
    return 0;
}

static uint8_t *put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
    return p + 4;
}

/* Writes a chunk's type after the length field at p. */
static void chunk_type(uint8_t *p, char a, char b, char c, char d) {
    p[4] = (uint8_t)a, p[5] = (uint8_t)b, p[6] = (uint8_t)c, p[7] = (uint8_t)d;
}

/* Finishes the chunk whose length field starts at p (data of len bytes written): its CRC. */
static uint8_t *chunk_end(uint8_t *p, uint32_t len) {
    put_be32(p, len);
    uint32_t crc = (uint32_t)crc32(crc32(0, NULL, 0), p + 4, 4 + (uInt)len);
    return put_be32(p + 8 + len, crc);
}

/*
 * Rows y0..y1-1 of f into out (row y0 first), each: the SUB filter byte, then R G B
 * differences from the pixel to the left. A row depends on no other, so strips of rows
 * can be filtered apart.
 */
static void png_filter(const struct frame *f, int y0, int y1, uint8_t *out) {
    size_t row = 1 + 3 * (size_t)f->width;
    for (int y = y0; y < y1; y++) {
        const uint8_t *s = f->px + (size_t)y * (size_t)f->stride;
        uint8_t *d = out + (size_t)(y - y0) * row;
        *d++ = PNG_FILTER_SUB;
        uint8_t pr = 0, pg = 0, pb = 0;
        for (int x = 0; x < f->width; x++, s += 4, d += 3) {
            uint8_t b = s[0], g = s[1], r = s[2];
            d[0] = (uint8_t)(r - pr);
            d[1] = (uint8_t)(g - pg);
            d[2] = (uint8_t)(b - pb);
            pr = r, pg = g, pb = b;
        }
    }
}

/* One strip of a parallel PNG: its rows filtered and deflated (raw, no zlib header). */
struct strip {
    const struct frame *f;
    int y0, y1;
    uint8_t *filtered; /* its rows' place in the encoder's filtered buffer */
    size_t raw;        /* their size */
    bool last;         /* ends the deflate stream; the others end byte-aligned, not final */
    uint8_t *out;
    size_t cap, len;
    uLong adler; /* of the strip's filtered bytes */
    int rc;
};

static void *strip_run(void *arg) {
    struct strip *s = arg;
    png_filter(s->f, s->y0, s->y1, s->filtered);
    s->adler = adler32(adler32(0, NULL, 0), s->filtered, (uInt)s->raw);
    z_stream z = {0};
    /* Raw deflate (-15): the strips are pieces of one zlib stream, whose header is ours. */
    if (deflateInit2(&z, 1, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        s->rc = -ENOMEM;
        return NULL;
    }
    z.next_in = s->filtered;
    z.avail_in = (uInt)s->raw;
    z.next_out = s->out;
    z.avail_out = (uInt)s->cap;
    /* A sync flush ends the strip on a byte boundary with a non-final empty block (pigz's way). */
    int r = deflate(&z, s->last ? Z_FINISH : Z_SYNC_FLUSH);
    bool ok = s->last ? r == Z_STREAM_END : r == Z_OK && z.avail_in == 0 && z.avail_out > 0;
    s->len = s->cap - z.avail_out;
    deflateEnd(&z);
    s->rc = ok ? 0 : -EIO;
    return NULL;
}

/*
 * The zlib stream of the IDAT chunk, from nstrips strips of rows deflated at once: zlib's
 * header, each strip's raw deflate data in order, then the Adler-32 of the whole, combined
 * from the strips' (as pigz does). Any zlib reader sees one ordinary stream. Returns its
 * length at out (cap bytes there), or 0 on failure with *rc set.
 */
static size_t deflate_strips(
        struct encoder *e, const struct frame *f, int nstrips, uint8_t *out, size_t cap, int *rc) {
    struct strip st[PNG_STRIPS];
    size_t row = 1 + 3 * (size_t)f->width;
    for (int i = 0; i < nstrips; i++) {
        int y0 = (int)((long)f->height * i / nstrips);
        int y1 = (int)((long)f->height * (i + 1) / nstrips);
        size_t raw = row * (size_t)(y1 - y0);
        size_t need = deflateBound(NULL, (uLong)raw) + 16;
        if (need > e->strip_cap[i]) {
            free(e->strip_out[i]);
            e->strip_out[i] = malloc(need);
            e->strip_cap[i] = e->strip_out[i] ? need : 0;
            if (!e->strip_out[i]) {
                *rc = -ENOMEM;
                return 0;
            }
        }
        st[i] = (struct strip){f, y0, y1, e->filtered + row * (size_t)y0, raw, i == nstrips - 1,
                e->strip_out[i], e->strip_cap[i], 0, 0, 0};
    }
    /* The first strips on threads of their own, the last on this one. */
    pthread_t th[PNG_STRIPS];
    bool started[PNG_STRIPS] = {false};
    for (int i = 0; i < nstrips - 1; i++) {
        started[i] = pthread_create(&th[i], NULL, strip_run, &st[i]) == 0;
        if (!started[i])
            strip_run(&st[i]);
    }
    strip_run(&st[nstrips - 1]);
    for (int i = 0; i < nstrips - 1; i++)
        if (started[i])
            pthread_join(th[i], NULL);

    size_t n = 0, total = 2 + 4;
    for (int i = 0; i < nstrips; i++) {
        if (st[i].rc < 0) {
            *rc = st[i].rc;
            return 0;
        }
        total += st[i].len;
    }
    if (total > cap) {
        *rc = -ENOMEM;
        return 0;
    }
    /* CMF 0x78: deflate, 32 KiB window; FLG 0x01: fastest level, header check. */
    out[n++] = 0x78;
    out[n++] = 0x01;
    uLong adler = st[0].adler;
    for (int i = 0; i < nstrips; i++) {
        memcpy(out + n, st[i].out, st[i].len);
        n += st[i].len;
        if (i > 0)
            adler = adler32_combine(adler, st[i].adler, (z_off_t)st[i].raw);
    }
    put_be32(out + n, (uint32_t)adler);
    return n + 4;
}

static int encode_png(struct encoder *e, const struct frame *f) {
    size_t row = 1 + 3 * (size_t)f->width;
    if ((size_t)f->height > SIZE_MAX / row)
        return -ENOMEM;
    size_t raw = row * (size_t)f->height;
    if (raw > e->filtered_cap) {
        free(e->filtered);
        e->filtered = malloc(raw);
        e->filtered_cap = e->filtered ? raw : 0;
        if (!e->filtered)
            return -ENOMEM;
    }
    int nstrips = raw >= PNG_STRIP_MIN_BYTES && f->height >= PNG_STRIPS ? PNG_STRIPS : 1;

    /* Signature, IHDR (25 bytes), IDAT's head (8) and CRC (4), IEND (12). */
    size_t bound = deflateBound(NULL, (uLong)raw) + (size_t)16 * PNG_STRIPS + 6;
    if (bound > 0x7fffffff - 57)
        return -ENOMEM;
    if (out_reserve(e, 8 + 25 + 12 + bound + 12) < 0)
        return -ENOMEM;
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    uint8_t *p = e->out;
    memcpy(p, sig, 8);
    p += 8;
    uint8_t *ihdr = p;
    chunk_type(ihdr, 'I', 'H', 'D', 'R');
    uint8_t *q = put_be32(ihdr + 8, (uint32_t)f->width);
    q = put_be32(q, (uint32_t)f->height);
    /* 8 bits a sample, colour type 2 (RGB), deflate, adaptive filtering, no interlace. */
    memcpy(q, (const uint8_t[]){8, 2, 0, 0, 0}, 5);
    p = chunk_end(ihdr, 13);
    uint8_t *idat = p;
    chunk_type(idat, 'I', 'D', 'A', 'T');
    int rc = -EIO;
    size_t n = deflate_strips(e, f, nstrips, idat + 8, bound, &rc);
    if (n == 0)
        return rc;
    p = chunk_end(idat, (uint32_t)n);
    chunk_type(p, 'I', 'E', 'N', 'D');
    p = chunk_end(p, 0);
    e->len = (size_t)(p - e->out);
    return 0;
}

static int webp_on_write(const uint8_t *data, size_t n, const WebPPicture *pic) {
    struct encoder *e = pic->custom_ptr;
    if (out_reserve(e, e->len + n) < 0)
        return 0;
    memcpy(e->out + e->len, data, n);
    e->len += n;
    return 1;
}

static int encode_webp(struct encoder *e, const struct frame *f, int quality) {
    if (f->width > WEBP_MAX_DIMENSION || f->height > WEBP_MAX_DIMENSION)
        return -EINVAL;
    WebPConfig cfg;
    if (!WebPConfigInit(&cfg))
        return -EIO;
    if (quality >= 100) {
        /* Lossless is about exact pixels, not size: least effort. */
        cfg.lossless = 1;
        cfg.method = 0;
        cfg.quality = 0;
        cfg.exact = 1;
    } else {
        cfg.quality = (float)quality;
        cfg.method = 0;
    }
    if (!WebPValidateConfig(&cfg))
        return -EIO;

    WebPPicture pic;
    if (!WebPPictureInit(&pic))
        return -EIO;
    pic.width = f->width;
    pic.height = f->height;
    pic.use_argb = cfg.lossless;
    if (!WebPPictureImportBGRX(&pic, f->px, f->stride)) {
        WebPPictureFree(&pic);
        return -ENOMEM;
    }
    pic.writer = webp_on_write;
    pic.custom_ptr = e;
    int ok = WebPEncode(&cfg, &pic);
    WebPEncodingError err = pic.error_code;
    WebPPictureFree(&pic);
    if (ok)
        return 0;
    switch (err) {
    case VP8_ENC_ERROR_OUT_OF_MEMORY:
    case VP8_ENC_ERROR_BITSTREAM_OUT_OF_MEMORY:
    case VP8_ENC_ERROR_BAD_WRITE: /* only out_reserve fails a write */
        return -ENOMEM;
    case VP8_ENC_ERROR_BAD_DIMENSION:
        return -EINVAL;
    default:
        return -EIO;
    }
}

int encoder_encode(struct encoder *e, const struct frame *f, int dw, int dh, enum img_format fmt,
        int quality, const uint8_t **out, size_t *len) {
    if (!e || !f || !f->px || !out || !len)
        return -EINVAL;
    if (f->width < 1 || f->height < 1 || f->width > INT32_MAX / 4 || f->stride < 4 * f->width)
        return -EINVAL;
    if (dw < 1 || dh < 1 || dw > f->width || dh > f->height)
        return -EINVAL;
    if (fmt != IMG_PNG && fmt != IMG_JPEG && fmt != IMG_WEBP)
        return -EINVAL;
    if (fmt != IMG_PNG && (quality < 1 || quality > 100))
        return -EINVAL;

    struct frame scaled;
    if (dw != f->width || dh != f->height) {
        size_t need = (size_t)dw * (size_t)dh * 4;
        if (need > e->scaled_cap) {
            uint8_t *p = realloc(e->scaled, need);
            if (!p)
                return -ENOMEM;
            e->scaled = p;
            e->scaled_cap = need;
        }
        scaled = (struct frame){.px = e->scaled, .width = dw, .height = dh, .stride = 4 * dw};
        frame_scale_box(f, &scaled);
        f = &scaled;
    }

    e->len = 0;
    int r;
    switch (fmt) {
    case IMG_JPEG:
        r = encode_jpeg(e, f, quality);
        break;
    case IMG_WEBP:
        r = encode_webp(e, f, quality);
        break;
    default:
        r = encode_png(e, f);
        break;
    }
    if (r < 0)
        return r;
    *out = e->out;
    *len = e->len;
    return 0;
}
