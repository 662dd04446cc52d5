/*
 * api-clipboard: the clipboard deskd owns (API.md §12): GET and POST
 * /computeruse/clipboard, and typing by paste (keyboard/type with
 * "method": "paste"), which sets the clipboard, presses the paste chord,
 * waits until an application took the text, and puts the previous clipboard
 * back.
 *
 * Not here: the selection protocol (clipw.c), key presses (the input worker,
 * through api-input.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bodies.h"
#include "clipw.h"
#include "deskd.h"
#include "input.h"
#include "keys.h"
#include "log.h"
#include "params.h"
#include "xconn.h"

/* How long a read waits for the selection's owner (and between its INCR chunks). */
#define CLIP_WAIT_MS 2000
/* How long a paste waits for an application to ask for the text. */
#define PASTE_WAIT_MS 2000
/* Then, until the application asked no more for this long (it may ask twice). */
#define PASTE_QUIET_MS 250

/* The selection query or body field; false after replying 400. */
static bool selection_of(struct req *r, const char *s, enum clip_sel *out) {
    char err[256];
    if (clip_selection_parse(s, out, err, sizeof err) < 0) {
        reply_error(r, ERR_INVALID_PARAMETER, "%s", err);
        return false;
    }
    return true;
}

static const char *sel_name(enum clip_sel sel) {
    return sel == CLIP_PRIMARY ? "primary" : "clipboard";
}

/*
 * While the watchdog finds the X server hung, whatever the clipboard worker
 * read is not to be believed (a cut connection reads as an empty selection,
 * and a set times out): the answer is the display's 503, as on every route.
 */
static bool display_hung(struct req *r) {
    if (!xconn_unresponsive(req_deskd(r)->display))
        return false;
    reply_no_display(r, "the X server does not answer (stopped or hung)");
    return true;
}

/* Replies the error of a clipw call that returned rc. */
static void reply_clip_error(struct req *r, int rc, const char *err) {
    if (display_hung(r))
        return;
    if (rc == -ENXIO || rc == -EIO)
        reply_no_display(r, err);
    else if (rc == -ETIMEDOUT)
        reply_error(r, ERR_CLIPBOARD_TIMEOUT, "%s (waited %d ms)",
                err[0] ? err : "the selection's owner did not answer in time", CLIP_WAIT_MS);
    else if (rc == -EFBIG)
        reply_error(r, ERR_CLIPBOARD_TOO_LARGE,
                "the selection holds more than 16 MiB (%zu bytes), more than deskd reads",
                CLIP_MAX);
    else if (rc == -ECANCELED)
        reply_error(r, ERR_SHUTTING_DOWN, "%s", err);
    else
        reply_error(r, ERR_INTERNAL, "the clipboard failed: %s", strerror(-rc));
}

static void api_clipboard_get(struct req *r) {
    enum clip_sel sel;
    if (!selection_of(r, req_arg(r, "selection"), &sel))
        return;
    char err[256] = "", *text = NULL;
    size_t len = 0;
    bool owned = false;
    int rc = clipw_get(req_deskd(r)->clip, sel, CLIP_WAIT_MS, &text, &len, &owned, err, sizeof err);
    if (rc < 0) {
        reply_clip_error(r, rc, err);
        return;
    }
    if (display_hung(r)) {
        free(text);
        return;
    }
    reply_json(r, 200, json_pack("{s:s%, s:s}", "text", text, len, "selection", sel_name(sel)));
    free(text);
}

static void api_clipboard_set(struct req *r) {
    char err[256] = "";
    const char *text;
    size_t len;
    enum clip_sel sel;
    if (clip_set_parse(r->json, &text, &len, &sel, err, sizeof err) < 0) {
        reply_error(r, ERR_INVALID_PARAMETER, "%s", err);
        return;
    }
    if (!input_gate(r, "setting the clipboard"))
        return;
    int rc = clipw_set(req_deskd(r)->clip, sel, text, len, err, sizeof err);
    /* Taking a selection asks only the X server: when it does not answer, it is away. */
    if (rc == -ETIMEDOUT)
        reply_no_display(r, "the X server did not answer in time (stopped or hung)");
    else if (rc < 0)
        reply_clip_error(r, rc, err);
    else if (!display_hung(r))
        reply_json(r, 200,
                json_pack("{s:s, s:I}", "selection", sel_name(sel), "bytes", (json_int_t)len));
}

/* The paste chord, on the input worker. */
static int press_job(struct input *in, void *arg) {
    return input_key(in, arg);
}

void deskd_paste(struct req *r) {
    char err[256] = "";
    const char *text, *keys;
    size_t len;
    struct key_combo combo;
    if (paste_parse(r->json, &text, &len, &keys, &combo, err, sizeof err) < 0) {
        reply_error(r, ERR_INVALID_PARAMETER, "%s", err);
        return;
    }
    /* Asked before the clipboard is touched; the chord's job asks again. */
    if (!input_gate(r, "the paste"))
        return;
    struct clipw *clip = req_deskd(r)->clip;
    char *prev = NULL;
    size_t prev_len = 0;
    bool had = false;
    int rc = clipw_get(clip, CLIP_CLIPBOARD, CLIP_WAIT_MS, &prev, &prev_len, &had, err, sizeof err);
    bool restore = true;
    if ((rc == -ETIMEDOUT || rc == -EFBIG) && !xconn_unresponsive(req_deskd(r)->display)) {
        /* The previous clipboard cannot be read (its owner does not answer, or it is over
         * 16 MiB): the paste goes ahead, and that clipboard is not put back. */
        log_msg(LOG_INFO, "paste: the previous clipboard is not kept: %s", err);
        restore = false;
        rc = 0;
    }
    if (rc == 0)
        rc = clipw_set(clip, CLIP_CLIPBOARD, text, len, err, sizeof err);
    if (rc < 0) {
        free(prev);
        reply_clip_error(r, rc, err);
        return;
    }
    unsigned long served = clipw_served(clip, CLIP_CLIPBOARD);
    bool pressed = input_job(r, press_job, &combo, INPUTW_JOB_BASE_MS, "the paste chord", NULL);
    bool taken = pressed && clipw_wait_served(clip, CLIP_CLIPBOARD, served, PASTE_WAIT_MS);
    if (taken)
        clipw_wait_quiet(clip, CLIP_CLIPBOARD, PASTE_QUIET_MS, PASTE_WAIT_MS);
    /* The previous clipboard comes back whatever happened (when it could be read). */
    rc = !restore ? 0
         : had    ? clipw_set(clip, CLIP_CLIPBOARD, prev, prev_len, err, sizeof err)
                  : clipw_clear(clip, CLIP_CLIPBOARD, err, sizeof err);
    free(prev);
    if (!pressed)
        return;
    if (!taken)
        reply_error(r, ERR_PASTE_NOT_TAKEN,
                "no application asked for the text within %d ms of %s (is a text field focused, "
                "and is that its paste chord?); the previous clipboard is back",
                PASTE_WAIT_MS, keys);
    else if (rc < 0)
        reply_clip_error(r, rc, err);
    else
        reply_json(r, 200, json_object());
}

const struct route api_clipboard_routes[] = {
        {"GET", "/computeruse/clipboard", api_clipboard_get, 0},
        {"POST", "/computeruse/clipboard", api_clipboard_set,
                ROUTE_JSON | ROUTE_BIG_BODY | ROUTE_ACTS},
        {NULL, NULL, NULL, 0},
};
