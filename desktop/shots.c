/*
 * shots: capture slots that own their connection (see shots.h).
 *
 * A counting semaphore says how many slots are free and an atomic flag per
 * slot says which: taking one is a sem_wait and a compare-exchange, giving it
 * back a store and a sem_post, so no lock is shared between screenshots. The
 * slot's xconn lock is held from the grab to the end of the callback: the
 * frame is the connection's SHM memory and the image the encoder's, and only
 * the slot's holder ever takes that lock, so it is never contended.
 *
 * Not here: parsing, replies (api-screenshot.c); grabbing and encoding
 * (capture/).
 */
#include "shots.h"

#include <errno.h>
#include <malloc.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "util.h"
#include "xconn.h"

struct slot {
    atomic_bool busy;
    struct xconn *xc;
    struct capture *cap; /* lives on xc: made and destroyed by its callbacks */
    struct encoder *enc; /* X-independent, lives as long as the slot */
};

struct shots {
    sem_t free;
    struct slot slot[SHOTS_SLOTS];
};

static int slot_open(Display *dpy, void *data) {
    struct slot *sl = data;
    sl->cap = capture_new(dpy);
    if (!sl->cap)
        return -ENOMEM;
    log_msg(LOG_DEBUG, "capture slot through %s",
            capture_uses_shm(sl->cap) ? "MIT-SHM" : "XGetImage");
    return 0;
}

static void slot_close(Display *dpy, void *data) {
    (void)dpy;
    struct slot *sl = data;
    capture_destroy(sl->cap);
    sl->cap = NULL;
}

struct shots *shots_new(const char *display_name) {
    struct shots *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    sem_init(&s->free, 0, SHOTS_SLOTS);
    for (int i = 0; i < SHOTS_SLOTS; i++) {
        struct slot *sl = &s->slot[i];
        char purpose[32];
        snprintf(purpose, sizeof purpose, "capture %d", i + 1);
        atomic_init(&sl->busy, false);
        sl->enc = encoder_new();
        sl->xc = sl->enc ? xconn_new(display_name, purpose, slot_open, slot_close, sl) : NULL;
        if (!sl->xc) {
            shots_destroy(s);
            errno = ENOMEM;
            return NULL;
        }
    }
    return s;
}

void shots_destroy(struct shots *s) {
    if (!s)
        return;
    for (int i = 0; i < SHOTS_SLOTS; i++) {
        xconn_destroy(s->slot[i].xc);
        encoder_destroy(s->slot[i].enc);
    }
    sem_destroy(&s->free);
    free(s);
}

/* A free slot, or NULL when none came free within SHOTS_WAIT_MS. */
static struct slot *slot_take(struct shots *s) {
    struct timespec until = util_abstime(CLOCK_REALTIME, SHOTS_WAIT_MS);
    int rc;
    while ((rc = sem_timedwait(&s->free, &until)) < 0 && errno == EINTR) {
    }
    if (rc < 0)
        return NULL;
    /* The semaphore promised one is free; find it. */
    for (;;) {
        for (int i = 0; i < SHOTS_SLOTS; i++) {
            bool expected = false;
            if (atomic_compare_exchange_strong(&s->slot[i].busy, &expected, true))
                return &s->slot[i];
        }
    }
}

static void slot_give(struct shots *s, struct slot *sl) {
    atomic_store(&sl->busy, false);
    sem_post(&s->free);
}

/* Under the slot's connection lock: grabs spec into *f and fills img's rectangle and cursor. */
static int grab(Display *dpy, struct slot *sl, const struct shot_spec *spec, struct frame *f,
        struct shot_image *img) {
    int rc = spec->whole ? capture_grab_screen(sl->cap, f)
                         : capture_grab(sl->cap, spec->x, spec->y, spec->width, spec->height, f);
    if (rc < 0)
        return rc;
    if (spec->whole)
        img->rx = 0, img->ry = 0, img->rw = f->width, img->rh = f->height;
    else
        img->rx = spec->x, img->ry = spec->y, img->rw = spec->width, img->rh = spec->height;
    img->cursor_x = img->rx;
    img->cursor_y = img->ry;
    /* The pointer's position is reported with or without the cursor drawn. */
    if (!spec->cursor ||
            capture_draw_cursor(dpy, f, img->rx, img->ry, &img->cursor_x, &img->cursor_y) < 0) {
        /* Not drawn, or no XFixes: the image goes without the cursor, the position is right. */
        Window root, child;
        int wx, wy;
        unsigned mask;
        if (!XQueryPointer(dpy, DefaultRootWindow(dpy), &root, &child, &img->cursor_x,
                    &img->cursor_y, &wx, &wy, &mask))
            return -EIO;
    }
    return 0;
}

int shots_take(struct shots *s, const struct shot_spec *spec,
        void (*done)(const struct shot_image *img, void *arg), void *arg, const char **stage,
        char *err, size_t errlen) {
    struct slot *sl = slot_take(s);
    if (!sl) {
        snprintf(err, errlen, "all %d screenshot encoders stayed busy for %d ms", SHOTS_SLOTS,
                SHOTS_WAIT_MS);
        return -EBUSY;
    }
    Display *dpy = xconn_lock(sl->xc, err, errlen);
    if (!dpy) {
        slot_give(s, sl);
        return -ENXIO;
    }
    struct shot_image img = {0};
    struct frame f;
    *stage = "capture";
    int rc = grab(dpy, sl, spec, &f, &img);
    if (rc < 0 && xconn_dead(sl->xc))
        rc = -EPIPE;
    if (rc == 0) {
        *stage = "encode";
        img.width = scale_length(f.width, spec->scale);
        img.height = scale_length(f.height, spec->scale);
        rc = encoder_encode(sl->enc, &f, img.width, img.height, spec->format, spec->quality,
                &img.data, &img.len);
    }
    if (rc == 0)
        done(&img, arg);
    /* Buffers a large region or scale grew are given back, to the system too. */
    if (encoder_release_big(sl->enc, SHOTS_KEEP_BYTES) +
            capture_release_big(sl->cap, SHOTS_KEEP_BYTES))
        malloc_trim(0);
    xconn_unlock(sl->xc);
    slot_give(s, sl);
    return rc;
}
