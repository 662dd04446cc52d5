/*
 * capture: screen capture, cursor overlay, area-filter scaling and image
 * encoding. Knows X11 and images; knows nothing of HTTP or JSON. It is handed
 * a Display and never opens, closes or reconnects one.
 *
 * Threading: nothing here locks. Functions taking a Display must be called with
 * the caller's lock on that Display held; a struct capture or struct encoder
 * is used by one thread at a time. Several captures may share one Display.
 */
#ifndef DESK_CAPTURE_H
#define DESK_CAPTURE_H

#include <X11/Xlib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "desk/wire.h"

/* A BGRX image: 4 bytes a pixel, byte order B, G, R, X (X ignored). */
struct frame {
    uint8_t *px;
    int width, height;
    int stride; /* bytes a row, >= 4 * width */
};

/*
 * A capture context: an MIT-SHM segment kept between calls and re-made when
 * the screen grows, or an XGetImage fallback when SHM is unavailable (remote
 * display, no extension, shmget failing).
 */
struct capture;

/* Returns NULL on allocation failure only; SHM problems select the fallback. */
struct capture *capture_new(Display *dpy);
/* Accepts NULL. Detaches and removes the SHM segment. Does not close dpy. */
void capture_destroy(struct capture *c);
/* True when the context grabs through MIT-SHM. */
bool capture_uses_shm(const struct capture *c);
/*
 * Frees the composition buffer of the last grab when it holds more than keep
 * bytes (a large region reaching off screen), so that one request does not
 * pin it. Returns the bytes freed. The last frame becomes invalid.
 */
size_t capture_release_big(struct capture *c, size_t keep);

/*
 * Grabs the root-window rectangle (x, y, w, h); x and y may be negative and the
 * rectangle may reach beyond the screen: those pixels are black. w, h > 0.
 * On success *out describes memory owned by c, valid until the next call on c
 * (the caller may modify those pixels, e.g. to draw the cursor).
 * Returns 0, -ENOMEM, or -EIO when X failed (the display may be gone).
 */
int capture_grab(struct capture *c, int x, int y, int w, int h, struct frame *out);

/*
 * Grabs the whole screen, at the size the server reports for this grab (the
 * same single round trip capture_grab makes), so the caller needs no size
 * query of its own: out->width and out->height are the screen's.
 * Returns as capture_grab.
 */
int capture_grab_screen(struct capture *c, struct frame *out);

/*
 * Reads the current cursor image (XFixes) and alpha-blends it into f, where
 * f's top-left pixel is root position (fx, fy): drawn at pointer - hotspot.
 * Stores the pointer position in root coordinates in *px, *py.
 * Returns 0, or -EIO when XFixes is missing or X failed (f unchanged).
 */
int capture_draw_cursor(Display *dpy, struct frame *f, int fx, int fy, int *px, int *py);

/* Output length for a scale factor: floor(len * scale), at least 1. */
int scale_length(int len, double scale);

/*
 * Resamples src into dst (dst->px, width, height, stride set by the caller)
 * with an area (box) filter: each output pixel is the coverage-weighted mean
 * of the source pixels under it. Works for any dst size <= src size.
 */
void frame_scale_box(const struct frame *src, struct frame *dst);

/* IMG_PNG, IMG_JPEG, IMG_WEBP: the wire contract's image formats, in its order. */
#define IMG_FORMAT_ENUM_(id, name, mime) IMG_##id,
enum img_format { DESK_WIRE_IMAGE_FORMATS(IMG_FORMAT_ENUM_) };
#undef IMG_FORMAT_ENUM_

/* "png", "jpeg", "webp"; the MIME type "image/png", ... */
const char *img_format_name(enum img_format fmt);
const char *img_format_mime(enum img_format fmt);

/*
 * An encoder keeps its buffers (scaled frame, compressed output, TurboJPEG
 * handle) between calls so that the hot path does not allocate.
 */
struct encoder;

struct encoder *encoder_new(void);
void encoder_destroy(struct encoder *e); /* accepts NULL */
/*
 * Frees the buffers (scaled frame, output) that hold more than keep bytes, so
 * that one large request does not pin them. Returns the bytes freed. The
 * output of the last call becomes invalid.
 */
size_t encoder_release_big(struct encoder *e, size_t keep);

/*
 * Encodes f, first resampled with frame_scale_box to dw x dh when that differs
 * from f's size (dw <= f->width, dh <= f->height).
 * quality 1..100 applies to JPEG and WebP; WebP at quality 100 is lossless;
 * PNG ignores it (8-bit RGB, SUB filter, libdeflate level 1).
 * On success *out and *len describe bytes owned by e, valid until the next
 * call on e. Returns 0, -ENOMEM, -EINVAL (bad arguments) or -EIO (codec error).
 */
int encoder_encode(struct encoder *e, const struct frame *f, int dw, int dh, enum img_format fmt,
        int quality, const uint8_t **out, size_t *len);

#endif
