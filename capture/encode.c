/*
 * encode: BGRX frames to PNG (libdeflate), JPEG (TurboJPEG) and WebP
 * (libwebp), optionally box-scaled first.
 *
 * PNG is written here, chunk by chunk, because the format is small and the
 * compressor is the whole cost: the rows are filtered (SUB) and converted to
 * RGB in one pass into a buffer kept by the encoder, and libdeflate (whole-
 * buffer, several times faster than zlib at a similar ratio) makes the one
 * zlib stream of the IDAT chunk. The result is a plain 8-bit RGB PNG.
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
#include <libdeflate.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>
#include <webp/encode.h>

#include "capture.h"

struct encoder {
    tjhandle tj;  /* made on the first JPEG */
    uint8_t *out; /* the encoded bytes of the last call */
    size_t len, cap;
    uint8_t *scaled; /* the resampled frame, when scaling */
    size_t scaled_cap;
    uint8_t *filtered; /* PNG: the filtered RGB rows, each after its filter byte */
    size_t filtered_cap;
    struct libdeflate_compressor *deflate; /* made on the first PNG */
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
/* libdeflate's fastest level; its level 1 compresses about as well as zlib's. */
#define PNG_DEFLATE_LEVEL 1

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
    if (e->deflate)
        libdeflate_free_compressor(e->deflate);
    free(e->out);
    free(e->scaled);
    free(e->filtered);
    free(e);
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

/* Finishes the chunk whose length field starts at p (data of len bytes written): its CRC. */
static uint8_t *chunk_end(uint8_t *p, uint32_t len) {
    put_be32(p, len);
    uint32_t crc = libdeflate_crc32(0, p + 4, 4 + (size_t)len);
    return put_be32(p + 8 + len, crc);
}

/* Each row: the SUB filter byte, then R G B differences from the pixel to the left. */
static void png_filter(const struct frame *f, uint8_t *out) {
    size_t row = 1 + 3 * (size_t)f->width;
    for (int y = 0; y < f->height; y++) {
        const uint8_t *s = f->px + (size_t)y * (size_t)f->stride;
        uint8_t *d = out + (size_t)y * row;
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

static int encode_png(struct encoder *e, const struct frame *f) {
    if (!e->deflate && !(e->deflate = libdeflate_alloc_compressor(PNG_DEFLATE_LEVEL)))
        return -ENOMEM;
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
    png_filter(f, e->filtered);

    /* Signature, IHDR (25 bytes), IDAT's head (8) and CRC (4), IEND (12). */
    size_t bound = libdeflate_zlib_compress_bound(e->deflate, raw);
    if (bound > 0x7fffffff - 57)
        return -ENOMEM;
    if (out_reserve(e, 8 + 25 + 12 + bound + 12) < 0)
        return -ENOMEM;
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    uint8_t *p = e->out;
    memcpy(p, sig, 8);
    p += 8;
    uint8_t *ihdr = p;
    memcpy(ihdr + 4, "IHDR", 4);
    uint8_t *q = put_be32(ihdr + 8, (uint32_t)f->width);
    q = put_be32(q, (uint32_t)f->height);
    /* 8 bits a sample, colour type 2 (RGB), deflate, adaptive filtering, no interlace. */
    memcpy(q, (const uint8_t[]){8, 2, 0, 0, 0}, 5);
    p = chunk_end(ihdr, 13);
    uint8_t *idat = p;
    memcpy(idat + 4, "IDAT", 4);
    size_t n = libdeflate_zlib_compress(e->deflate, e->filtered, raw, idat + 8, bound);
    if (n == 0)
        return -EIO;
    p = chunk_end(idat, (uint32_t)n);
    memcpy(p + 4, "IEND", 4);
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
