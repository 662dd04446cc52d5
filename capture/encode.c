/*
 * encode: BGRX frames to PNG (libpng), JPEG (TurboJPEG) and WebP (libwebp),
 * optionally box-scaled first.
 *
 * An encoder keeps its output buffer, its scaled-frame buffer and its
 * TurboJPEG handle between calls: touching fresh multi-megabyte allocations
 * costs more in page faults than the smaller encodes themselves. The codecs are
 * fed the BGRX rows as they are (TJPF_BGRX, png_set_bgr + png_set_filler,
 * WebPPictureImportBGRX), never a converted copy.
 *
 * Not here: decoding, alpha, colour management, metadata. libpng's and
 * libwebp's own per-call state (zlib window, WebP picture planes) is still
 * allocated by those libraries on each call; glibc hands the same blocks back
 * once its mmap threshold has adapted.
 */
#include <errno.h>
#include <png.h>
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
    bool oom; /* a write callback ran out of memory */
};

/*
 * Measured at zlib level 1 on 1920x1080 desktops (xfwm4, terminals full of
 * text, xfd, xcalc): on a gradient wallpaper NONE, SUB and UP took 15, 17 and
 * 18 ms for 250, 270 and 252 kB; on a photo-like wallpaper 31, 29 and 30 ms for
 * 1228, 813 and 829 kB. SUB is never far from the best in either. PAETH costs
 * 40% more time for a few percent; adaptive filtering twice the time; Z_RLE
 * trades size for nothing here.
 */
#define PNG_FILTER_CHOICE PNG_FILTER_SUB

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

static void png_on_write(png_structp png, png_bytep data, png_size_t n) {
    struct encoder *e = png_get_io_ptr(png);
    if (out_reserve(e, e->len + n) < 0) {
        e->oom = true;
        png_error(png, "out of memory");
    }
    memcpy(e->out + e->len, data, n);
    e->len += n;
}

static void png_on_flush(png_structp png) {
    (void)png;
}

/* Quiet: errors come back as return values, not on stderr of the daemon. */
static void png_on_error(png_structp png, png_const_charp msg) {
    (void)msg;
    png_longjmp(png, 1);
}

static void png_on_warning(png_structp png, png_const_charp msg) {
    (void)png;
    (void)msg;
}

/* Kept apart from the setjmp-free caller so that no local lives across longjmp. */
static int png_run(png_structp png, png_infop info, struct encoder *e, const struct frame *f) {
    if (setjmp(png_jmpbuf(png)))
        return e->oom ? -ENOMEM : -EIO;
    png_set_write_fn(png, e, png_on_write, png_on_flush);
    png_set_IHDR(png, info, (png_uint_32)f->width, (png_uint_32)f->height, 8, PNG_COLOR_TYPE_RGB,
            PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_set_compression_level(png, 1);
    png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_FILTER_CHOICE);
    png_write_info(png, info);
    /* After png_write_info: these describe the rows handed in, not the file. */
    png_set_bgr(png);
    png_set_filler(png, 0, PNG_FILLER_AFTER);
    for (int y = 0; y < f->height; y++)
        png_write_row(png, f->px + (size_t)y * (size_t)f->stride);
    png_write_end(png, NULL);
    return 0;
}

static int encode_png(struct encoder *e, const struct frame *f) {
    png_structp png =
            png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, png_on_error, png_on_warning);
    if (!png)
        return -ENOMEM;
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        return -ENOMEM;
    }
    e->oom = false;
    int r = png_run(png, info, e, f);
    png_destroy_write_struct(&png, &info);
    return r;
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
