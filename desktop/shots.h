/*
 * shots: the capture slots. Each slot owns an X connection (an xconn), the
 * capture context on it (its MIT-SHM segment) and an encoder; a screenshot
 * takes a free slot, grabs and encodes on it, hands the image to its caller
 * and gives the slot back. Slots share no lock, so SHOTS_SLOTS screenshots
 * grab and encode in parallel; a further one waits for a free slot.
 * Knows xconn and capture/; knows nothing of HTTP or JSON.
 */
#ifndef DESK_SHOTS_H
#define DESK_SHOTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capture.h"

#define SHOTS_SLOTS 2
/*
 * A slot keeps buffers up to this size between screenshots (a 3840x2160 frame
 * is 33 MB); bigger ones, grown by a large region or scale, are freed after
 * the request that needed them.
 */
/* How long a screenshot waits for a free slot before it is refused (503 BUSY). */
#define SHOTS_WAIT_MS    2000
#define SHOTS_KEEP_BYTES ((size_t)48 << 20)

struct shot_spec {
    bool whole;              /* the whole screen, at its current size; else the rectangle: */
    int x, y, width, height; /* root coordinates, may reach off screen (black there) */
    bool cursor;             /* draw the cursor into the image */
    double scale;            /* 0 < scale <= 1: the image is floor(side * scale), at least 1 */
    enum img_format format;
    int quality; /* 1..100, for JPEG and WebP */
};

struct shot_image {
    const uint8_t *data; /* the encoded image, valid only during the callback */
    size_t len;
    int width, height;      /* of the image */
    int rx, ry, rw, rh;     /* the captured screen rectangle */
    int cursor_x, cursor_y; /* the pointer, root coordinates */
};

struct shots;

/* Returns NULL on allocation failure (errno set); connections open on first use. */
struct shots *shots_new(const char *display_name);
/* Closes every slot's connection; no screenshot may be in progress. Accepts NULL. */
void shots_destroy(struct shots *s);

/*
 * Takes a slot (waiting for one), grabs spec and encodes it, calls done(img,
 * arg) with the slot still held, then gives the slot back. Returns 0 after
 * done ran; else done was not called and: -ENXIO, the display cannot be
 * opened (err says why); -EBUSY, no slot came free within SHOTS_WAIT_MS (err
 * says so); -EPIPE, the display went away during the capture; -EIO or -ENOMEM with *stage "capture"
 * or "encode" (the step that failed).
 */
int shots_take(struct shots *s, const struct shot_spec *spec,
        void (*done)(const struct shot_image *img, void *arg), void *arg, const char **stage,
        char *err, size_t errlen);

#endif
