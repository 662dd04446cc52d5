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
 * The kept images are immutable and reference-counted: a request serving one
 * holds a reference, not the cache's lock, while its reply is made.
 *
 * Not here: parsing, replies (api-screenshot.c); grabbing and encoding
 * (capture/); what changed (damage.c).
 */
#include "shots.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"
#include "xconn.h"

struct slot {
    atomic_bool busy;
    struct xconn *xc;
    struct capture *cap; /* lives on xc: made and destroyed by its callbacks */
    struct encoder *enc; /* X-independent, lives as long as the slot */
};

/* An encoded image kept for its parameter set; never changed once made. */
struct kept {
    atomic_int refs;
    struct shot_spec spec; /* if_changed and since cleared */
    struct shot_image img; /* img.data points at bytes */
    uint8_t bytes[];
};

struct shots {
    sem_t free;
    struct slot slot[SHOTS_SLOTS];
    struct damage *damage;
    pthread_mutex_t kept_lock;
    struct kept *kept[SHOTS_CACHED]; /* most recently made first */
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

static void kept_put(struct kept *k) {
    if (k && atomic_fetch_sub(&k->refs, 1) == 1)
        free(k);
}

static bool same_params(const struct shot_spec *a, const struct shot_spec *b) {
    return a->whole == b->whole &&
           (a->whole || (a->x == b->x && a->y == b->y && a->width == b->width &&
                                a->height == b->height)) &&
           a->cursor == b->cursor && a->scale == b->scale && a->fit.max_width == b->fit.max_width &&
           a->fit.max_height == b->fit.max_height && a->fit.max_long_edge == b->fit.max_long_edge &&
           a->fit.max_pixels == b->fit.max_pixels && a->out_w == b->out_w && a->out_h == b->out_h &&
           a->format == b->format && (a->format == IMG_PNG || a->quality == b->quality);
}

/* The kept image for spec's parameters when its region did not change since (a reference). */
static struct kept *kept_find(struct shots *s, const struct shot_spec *spec) {
    pthread_mutex_lock(&s->kept_lock);
    struct kept *found = NULL;
    for (int i = 0; i < SHOTS_CACHED && s->kept[i] && !found; i++) {
        struct kept *k = s->kept[i];
        if (!same_params(&k->spec, spec))
            continue;
        struct space_rect r = {k->img.rx, k->img.ry, k->img.rw, k->img.rh};
        struct damage_changes ch;
        if (damage_changes(s->damage, k->img.frame, &r, spec->cursor, &ch) == 0 && !ch.changed) {
            atomic_fetch_add(&k->refs, 1);
            found = k;
        }
    }
    pthread_mutex_unlock(&s->kept_lock);
    return found;
}

/* Keeps a copy of img as the image of spec's parameters; a failed allocation keeps nothing. */
static void kept_store(
        struct shots *s, const struct shot_spec *spec, const struct shot_image *img) {
    struct kept *k = malloc(sizeof *k + img->len);
    if (!k)
        return;
    atomic_init(&k->refs, 1);
    k->spec = *spec;
    k->spec.if_changed = false;
    k->spec.since = 0;
    k->img = *img;
    memcpy(k->bytes, img->data, img->len);
    k->img.data = k->bytes;
    pthread_mutex_lock(&s->kept_lock);
    int i = 0;
    while (i < SHOTS_CACHED - 1 && s->kept[i] && !same_params(&s->kept[i]->spec, spec))
        i++;
    kept_put(s->kept[i]); /* the same parameters' older image, or the least recent */
    memmove(&s->kept[1], &s->kept[0], (size_t)i * sizeof(struct kept *));
    s->kept[0] = k;
    pthread_mutex_unlock(&s->kept_lock);
}

struct shots *shots_new(const char *display_name, struct damage *damage) {
    struct shots *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->damage = damage;
    pthread_mutex_init(&s->kept_lock, NULL);
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
    for (int i = 0; i < SHOTS_CACHED; i++)
        kept_put(s->kept[i]);
    pthread_mutex_destroy(&s->kept_lock);
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

/* Answers from what damage knows, without a capture; 1 when it did (done ran). */
static int answer_known(struct shots *s, const struct shot_spec *spec, const struct damage_now *now,
        void (*done)(const struct shot_image *img, void *arg), void *arg, char *err,
        size_t errlen) {
    struct space_rect region =
            spec->whole ? (struct space_rect){0, 0, now->screen_w, now->screen_h}
                        : (struct space_rect){spec->x, spec->y, spec->width, spec->height};
    if (spec->if_changed) {
        struct damage_changes ch;
        int rc = damage_changes(s->damage, spec->since, &region, spec->cursor, &ch);
        if (rc == -EINVAL) {
            snprintf(err, errlen,
                    "ifChangedSince must be a frame id this server gave out (at most %llu), got "
                    "%llu",
                    (unsigned long long)now->frame, (unsigned long long)spec->since);
            return rc;
        }
        if (rc == 0 && !ch.changed) {
            struct shot_image img = {.frame = now->frame,
                    .unchanged = true,
                    .rx = region.x,
                    .ry = region.y,
                    .rw = region.width,
                    .rh = region.height,
                    .cursor_x = now->pointer_x,
                    .cursor_y = now->pointer_y};
            done(&img, arg);
            return 1;
        }
    }
    struct kept *k = kept_find(s, spec);
    if (!k)
        return 0;
    struct shot_image img = k->img;
    img.frame = now->frame;
    img.cached = true;
    img.cursor_x = now->pointer_x;
    img.cursor_y = now->pointer_y;
    done(&img, arg);
    kept_put(k);
    return 1;
}

int shots_take(struct shots *s, const struct shot_spec *spec,
        void (*done)(const struct shot_image *img, void *arg), void *arg, const char **stage,
        char *err, size_t errlen) {
    /* The frame is read before the grab: a change after it gets a later id. */
    struct damage_now now;
    if (damage_now(s->damage, &now, err, errlen) < 0)
        return -ENXIO;
    int rc = answer_known(s, spec, &now, done, arg, err, errlen);
    if (rc != 0)
        return rc < 0 ? rc : 0;

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
    struct shot_image img = {.frame = now.frame};
    struct frame f;
    *stage = "capture";
    rc = grab(dpy, sl, spec, &f, &img);
    if (rc < 0 && xconn_dead(sl->xc))
        rc = -EPIPE;
    if (rc == 0) {
        *stage = "encode";
        if (spec->out_w > 0 && spec->out_h > 0) {
            img.width = spec->out_w < f.width ? spec->out_w : f.width;
            img.height = spec->out_h < f.height ? spec->out_h : f.height;
        } else if (space_fit_empty(&spec->fit)) {
            img.width = scale_length(f.width, spec->scale);
            img.height = scale_length(f.height, spec->scale);
        } else {
            space_fit_size(&spec->fit, f.width, f.height, &img.width, &img.height);
        }
        rc = encoder_encode(sl->enc, &f, img.width, img.height, spec->format, spec->quality,
                &img.data, &img.len);
    }
    if (rc == 0) {
        kept_store(s, spec, &img);
        done(&img, arg);
    }
    /* Buffers a large region or scale grew are given back, to the system too. */
    if (encoder_release_big(sl->enc, SHOTS_KEEP_BYTES) +
            capture_release_big(sl->cap, SHOTS_KEEP_BYTES))
        malloc_trim(0);
    xconn_unlock(sl->xc);
    slot_give(s, sl);
    return rc;
}
