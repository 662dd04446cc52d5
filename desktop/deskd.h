/*
 * deskd: the daemon's shared state, handed to every handler as its context,
 * and the route tables of each api-*.c.
 */
#ifndef DESK_DESKD_H
#define DESK_DESKD_H

#include "damage.h"
#include "http.h"
#include "inputw.h"
#include "shots.h"
#include "xconn.h"

struct x11_window;
struct clipw;

struct deskd {
    const char *display;
    /* Each owns its X connections: screenshots, input, and window and monitor queries. */
    struct shots *shots;
    struct damage *damage; /* frames, changes and waits (its own connection) */
    struct inputw *input;
    struct xconn *xquery;
    /* Window actions: their own connection (they wait for the window manager's events on it). */
    struct xconn *xwm;
    /* Waiting for a launched program's window: a connection of its own, so that a long wait
     * holds up neither the window list nor the window actions. */
    struct xconn *xapps;
    /* The clipboard deskd owns: its connection and event loop thread. */
    struct clipw *clip;
    /* Set once SIGTERM/SIGINT arrived: long actions (typing with a delay) stop early. */
    atomic_bool stopping;
};

/* The daemon's state, as every handler receives it. */
static inline struct deskd *req_deskd(const struct req *r) {
    return r->ctx;
}

/*
 * Every route table, ended by NULL: what the server dispatches over. Each
 * api-NAME.c exports its rows as api_NAME_routes (ended by a NULL row), and
 * routes.c lists the groups.
 */
extern const struct route *const deskd_routes[];

/* The answer of a screen wait (API.md §8), for POST /computeruse/wait and a batch's settle. */
json_t *wait_answer_json(const struct damage_wait_result *res);
/* A damage_wait cancel check for a request (a struct req *): deskd stopping or the client gone. */
bool req_wait_cancelled(void *req);
/* Notes a ROUTE_ACTS request in the running recordings (server_config's acted hook). */
void api_recordings_acted(const struct req *r);

/*
 * A fresh full-control link to the live view for GET /computeruse/vnc
 * (api-takeover.c): {"id","url","expiresAt","viewOnly"}; NULL after replying
 * with the error.
 */
json_t *takeover_full_link(struct req *r);

/* Replies 503 naming the display problem in err. */
void reply_no_display(struct req *r, const char *err);

struct act;

/*
 * Whether API input may run now: false after replying 409 HUMAN_IN_CONTROL
 * while a person holds control (API.md §16). input_job_run asks it for every
 * job that is not reads_only; what names the work in the sentence.
 */
bool input_gate(struct req *r, const char *what);
/*
 * Runs job (fn, arg, cost_ms set) on the input worker for r. Returns true
 * when it ran (job->rc and job->dead say how), else false with the reply
 * (busy, cancelled, no display) sent. what names the work in sentences.
 */
bool input_job_run(struct req *r, struct inputw_job *job, const char *what);
/* input_job_run, then the error reply when fn failed; true when it succeeded. a may be NULL. */
bool input_job(struct req *r, int (*fn)(struct input *in, void *arg), void *arg, long cost_ms,
        const char *what, const struct act *a);
/* The error reply for a job that ran and failed (job->rc < 0); a (may be NULL) names a held key. */
void reply_input_failure(
        struct req *r, const struct inputw_job *job, const struct act *a, const char *what);
/* What an action's route answers: {"x","y"} for pointer actions (drag: also from, to), else {}. */
json_t *act_answer(const struct act *a);
/* The API's WindowInfo of w (api-windows.c). */
json_t *deskd_window_json(const struct x11_window *w);

/*
 * POST /computeruse/keyboard/type with "method": "paste" (api-clipboard.c):
 * the text goes through the clipboard and a paste chord, and the previous
 * clipboard comes back.
 */
void deskd_paste(struct req *r);

#endif
