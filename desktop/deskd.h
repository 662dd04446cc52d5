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

struct deskd {
    const char *display;
    /* Each owns its X connections: screenshots, input, and window and monitor queries. */
    struct shots *shots;
    struct damage *damage; /* frames, changes and waits (its own connection) */
    struct inputw *input;
    struct xconn *xquery;
    /* Set once SIGTERM/SIGINT arrived: long actions (typing with a delay) stop early. */
    volatile bool stopping;
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

/* Replies 503 naming the display problem in err. */
void reply_no_display(struct req *r, const char *err);

#endif
