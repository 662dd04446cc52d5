/*
 * acts: one input action as the API describes it (API.md §4, §5, §9-§11),
 * parsed from a JSON object and run on the input worker. The single mouse
 * and keyboard routes and the batch route share it, so an action means the
 * same in both. Parsing checks everything and sends nothing; running maps
 * coordinates given in an image's space to the screen (space.h) when the
 * action runs, so a full-screen space follows the screen's current size.
 *
 * Knows JSON, key names and input/; knows nothing of HTTP.
 */
#ifndef DESK_ACTS_H
#define DESK_ACTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "damage.h"
#include "input.h"
#include "space.h"

enum act_kind {
    ACT_POINTER, /* reads the pointer */
    ACT_MOVE,
    ACT_CLICK,
    ACT_DRAG,
    ACT_SCROLL,
    ACT_TYPE,
    ACT_KEY,
    ACT_HOTKEY,
    ACT_KEY_DOWN,
    ACT_KEY_UP,
    ACT_BUTTON_DOWN,
    ACT_BUTTON_UP,
    ACT_RELEASE_ALL,
    ACT_WAIT,
};

/* The most milliseconds a wait action waits. */
#define ACT_WAIT_MAX_MS 60000
/* The most milliseconds a type action waits after each character ("delay"). */
#define TYPE_DELAY_MAX 1000
/* The most modifiers a key action holds ("modifiers"). */
#define ACT_MODS_MAX 8

struct act {
    enum act_kind kind;
    /* Coordinates as given, in the action's space (drag: a path of npath points). */
    double x, y;
    bool has_xy; /* buttonDown and buttonUp: x and y are optional */
    double (*path)[2];
    int npath;
    bool spaced;        /* a "space" was given; else coordinates are screen pixels, floored */
    struct space space; /* region.width 0: the whole screen, read when the action runs */
    int button, amount, clicks, delay, hold_ms, wait_ms;
    KeySym hold[INPUT_HOLD_KEYS_MAX];
    int nhold;
    const char *text; /* borrowed from the JSON body */
    size_t len;
    struct key_combo combo; /* key, hotkey; keyDown and keyUp use combo.key */
    /*
     * wait with "until": a screen wait (API.md §8). The caller sets damage
     * (and wait.cancelled/arg) before running it; wait.region points at
     * wait_region, so the action must not move in memory once parsed.
     */
    bool screen_wait;
    struct damage_wait_spec wait;
    struct space_rect wait_region;
    struct damage *damage;
    struct damage_wait_result waited; /* out */

    /* Out, after act_run: where the pointer is, on the screen and in the action's space. */
    int sx, sy;
    int px, py;
    int from[2], to[2]; /* drag: its first and last points, in the action's space */
    char held[32];      /* the modifier another client held when typing was refused */
    bool asked;         /* act_run(..., true) asked the server for the pointer */
    unsigned ticket;
};

/*
 * Parses obj (a JSON object) as an action of kind with the single routes'
 * field names, checked first against the kind's spec (spec.h). dflt is the
 * space coordinates are in when obj has no "space" of its own: a batch's
 * (its actions also have "type"); NULL for a single route. Returns 0, or
 * -EINVAL with a sentence in err and the member it is about in *field ("x",
 * "holdKeys").
 * a->path is malloc'd: act_free, whatever the result.
 */
int act_parse(json_t *obj, enum act_kind kind, const struct space *dflt, bool dflt_spaced,
        struct act *a, const char **field, char *err, size_t errlen);

/* The kind of a batch action's "type" (move, click, keyDown...); -EINVAL when unknown. */
int act_kind_of(const char *type, enum act_kind *kind);

/* The most a parsed action may take, in ms, for the input queue's admission. */
long act_cost_ms(const struct act *a);

/*
 * Runs a on the worker (the connection locked); 0 or input's negative errno.
 * The pointer position it answers is read back from the server; with later
 * set (in a batch), only asked for, and act_answer_later reads it: the
 * position the server had right after this action, without a round trip per
 * action.
 */
int act_run(struct input *in, struct act *a, bool later);
/* Reads the position act_run(..., true) asked for; 0 when nothing was asked. */
int act_answer_later(struct input *in, struct act *a);

/* Whether a's answer carries the pointer position ({"x","y"}). */
bool act_answers_xy(const struct act *a);

void act_free(struct act *a);

#endif
