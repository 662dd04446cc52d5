/*
 * shots: the capture slots. Each slot owns an X connection (an xconn), the
 * capture context on it (its MIT-SHM segment) and an encoder; a screenshot
 * takes a free slot, grabs and encodes on it, hands the image to its caller
 * and gives the slot back. Slots share no lock, so SHOTS_SLOTS screenshots
 * grab and encode in parallel; a further one waits for a free slot.
 * Each answer is named by the frame id (damage.h) read before its grab. The
 * last encoded image of each of a few parameter sets is kept, and a request
 * with the same parameters is answered from it, without capturing or
 * encoding, while damage says its region has not changed since.
 * Knows xconn, damage and capture/; knows nothing of HTTP or JSON.
 */
#ifndef DESK_SHOTS_H
#define DESK_SHOTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capture.h"
#include "damage.h"
#include "space.h"

#define SHOTS_SLOTS 2
/*
 * A slot keeps buffers up to this size between screenshots (a 3840x2160 frame
 * is 33 MB); bigger ones, grown by a large region or scale, are freed after
 * the request that needed them.
 */
/* How long a screenshot waits for a free slot before it is refused (503 BUSY). */
#define SHOTS_WAIT_MS    2000
#define SHOTS_KEEP_BYTES ((size_t)48 << 20)
/* Parameter sets whose last image is kept. */
#define SHOTS_CACHED 4

struct shot_spec {
    bool whole;              /* the whole screen, at its current size; else the rectangle: */
    int x, y, width, height; /* root coordinates, may reach off screen (black there) */
    bool cursor;             /* draw the cursor into the image */
    double scale;            /* 0 < scale <= 1: the image is floor(side * scale), at least 1 */
    struct space_fit fit;    /* when not empty, instead of scale: space_fit_size of the region */
    /* Both > 0: the image is exactly out_w x out_h, each axis scaled on its own (a model's
     * display size); instead of scale and fit. Never more than the region: sides are capped. */
    int out_w, out_h;
    enum img_format format;
    int quality; /* 1..100, for JPEG and WebP */
    /* Answer "unchanged" (no image) when nothing in the region changed after this frame. */
    bool if_changed;
    uint64_t since;
};

struct shot_image {
    uint64_t frame;      /* names the screen contents the image shows */
    bool unchanged;      /* if_changed and nothing changed: no image (data NULL, sizes 0) */
    bool cached;         /* served from the kept image of an earlier request */
    const uint8_t *data; /* the encoded image, valid only during the callback */
    size_t len;
    int width, height;      /* of the image */
    int rx, ry, rw, rh;     /* the captured screen rectangle */
    int cursor_x, cursor_y; /* the pointer, root coordinates */
};

struct shots;

/*
 * Returns NULL on allocation failure (errno set); connections open on first
 * use. damage (borrowed, outlives s) names frames and says what changed.
 */
struct shots *shots_new(const char *display_name, struct damage *damage);
/* Closes every slot's connection; no screenshot may be in progress. Accepts NULL. */
void shots_destroy(struct shots *s);

/*
 * Answers spec: "unchanged" (if_changed), the kept image when its region did
 * not change, else takes a slot (waiting for one), grabs spec and encodes it.
 * Calls done(img, arg) (for a fresh image with the slot still held). Returns
 * 0 after done ran; else done was not called and: -ENXIO, the display cannot
 * be opened (err says why); -EBUSY, no slot came free within SHOTS_WAIT_MS
 * (err says so); -EPIPE, the display went away during the capture; -EINVAL,
 * spec->since is not a frame id of this server (err says so); -EIO or -ENOMEM
 * with *stage "capture" or "encode" (the step that failed).
 */
int shots_take(struct shots *s, const struct shot_spec *spec,
        void (*done)(const struct shot_image *img, void *arg), void *arg, const char **stage,
        char *err, size_t errlen);

#endif
