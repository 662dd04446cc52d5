/*
 * damage: what changed on the screen, and when (API.md §7, §8). A worker
 * thread owns an X connection (an xconn) that follows XDamage on the root
 * window (every drawing on the screen, raw rectangles) and XFixes cursor
 * changes, and names screen contents with frame ids: each batch of damage
 * read from the server gets the next id. Ids only grow and are never reused,
 * not even across deskd restarts: an id is max(previous + 1, wall-clock time
 * in microseconds), so a restarted deskd starts above every id it handed out
 * before (as long as the clock does not go back).
 *
 * The history of changed rectangles is bounded (DAMAGE_HISTORY entries);
 * asking about a frame older than what it holds gives the whole screen,
 * marked incomplete. A (re)connection to the X server records the whole
 * screen as changed: what happened while deskd was not looking is unknown.
 *
 * Pointer motion is not damage. Callers that draw the cursor ask with
 * `cursor` set: then the pointer position (read at each damage_now) and
 * cursor shape changes count too, as the cursor's box at the old and the new
 * position.
 *
 * No pixels are read here, and no waiter polls: waiters sleep on a condition
 * variable that the worker signals after each batch of damage events.
 *
 * Thread safety: every function may be called from any thread.
 */
#ifndef DESK_DAMAGE_H
#define DESK_DAMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "space.h"

/* Changed rectangles remembered; older ones make answers incomplete. */
#define DAMAGE_HISTORY 4096
/* At most this many merged rectangles in an answer; beyond, they merge into their bounding box. */
#define DAMAGE_MAX_RECTS 32

#define DAMAGE_STABLE_MIN_MS  10
#define DAMAGE_STABLE_MAX_MS  10000
#define DAMAGE_TIMEOUT_MIN_MS 1
#define DAMAGE_TIMEOUT_MAX_MS 60000

struct damage;

/* Starts the worker; NULL on allocation failure (errno set). The display may be absent yet. */
struct damage *damage_new(const char *display_name);
/* Stops the worker, wakes and ends every wait, frees d. No call may be in progress. Accepts NULL.
 */
void damage_destroy(struct damage *d);

/* The state of the screen now. */
struct damage_now {
    uint64_t frame;           /* the frame id naming the screen's contents now */
    int screen_w, screen_h;   /* root window size */
    int pointer_x, pointer_y; /* root coordinates, read from the server by this call */
};

/*
 * Reads every damage event the server has sent so far (so that anything
 * drawn before this call, as far as the server had processed it, is
 * counted), reads the pointer position, and fills out. Returns 0, or -ENXIO
 * when the display cannot be reached (err says why).
 */
int damage_now(struct damage *d, struct damage_now *out, char *err, size_t errlen);

/*
 * The newest frame id the worker has recorded, without asking the server:
 * damage the server sent but the worker has not read yet gets a later id.
 * So changes since this id include everything drawn after the call (and
 * perhaps a little before). -ENXIO when the display was never reached.
 */
int damage_frame(struct damage *d, uint64_t *frame);

/* Changed rectangles, merged (touching or overlapping ones become their bounding box). */
struct damage_changes {
    uint64_t frame; /* the frame id now */
    bool changed;   /* anything changed in the clip since the frame asked about */
    bool complete;  /* false: the history did not reach back; rects is the whole clip */
    int n;
    struct space_rect rects[DAMAGE_MAX_RECTS]; /* clipped to clip and the screen, by y then x */
};

/*
 * What changed inside clip (NULL: the screen) after frame since (exclusive),
 * counting the cursor when cursor is set. Does not read new events: call
 * damage_now first for an up-to-date answer. Returns 0; -EINVAL when since is
 * later than the current frame (not an id this server gave out); -ENXIO when
 * the display was never reached.
 */
int damage_changes(struct damage *d, uint64_t since, const struct space_rect *clip, bool cursor,
        struct damage_changes *out);

enum damage_until { DAMAGE_UNTIL_STABLE, DAMAGE_UNTIL_CHANGED };

struct damage_wait_spec {
    enum damage_until until;
    int stable_ms;  /* DAMAGE_STABLE_MIN_MS..MAX: quiet time that counts as stable */
    int timeout_ms; /* DAMAGE_TIMEOUT_MIN_MS..MAX */
    /* changed: a change after this frame counts (has_since false: the frame at the call). */
    bool has_since;
    uint64_t since;
    const struct space_rect *region; /* NULL: the whole screen */
    /* Asked every DAMAGE_CANCEL_CHECK_MS and on every wake-up; true ends the wait. May be NULL. */
    bool (*cancelled)(void *arg);
    void *arg;
};

#define DAMAGE_CANCEL_CHECK_MS 50

struct damage_wait_result {
    uint64_t frame; /* the frame id at the return */
    bool changed;   /* the region changed during the wait (changed: after since) */
    bool stable;    /* the region had no damage for stable_ms before the return */
    bool timed_out; /* the condition did not come true within timeout_ms */
    bool cancelled; /* spec->cancelled said so (deskd stopping, client gone) */
    int64_t waited_ms;
    struct damage_changes changes; /* what changed in the region during the wait */
};

/*
 * Waits until spec->until holds for spec->region:
 * - stable: no damage in the region for stable_ms, counted from the call or
 *   from the last damage in the region, whichever is later (so a change an
 *   action is about to cause has stable_ms to show up);
 * - changed: damage in the region after spec->since.
 * Sleeps on damage events; never reads pixels. A timeout is not an error.
 * Returns 0 with out filled (also on timeout and cancel); -EINVAL for since
 * later than the current frame; -ENXIO when the display cannot be reached.
 */
int damage_wait(struct damage *d, const struct damage_wait_spec *spec,
        struct damage_wait_result *out, char *err, size_t errlen);

#endif
