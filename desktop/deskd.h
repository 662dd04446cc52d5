/*
 * deskd: the daemon's shared state, handed to every handler as its context,
 * and the route tables of each api-*.c.
 */
#ifndef DESK_DESKD_H
#define DESK_DESKD_H

#include "http.h"
#include "inputw.h"
#include "shots.h"
#include "xconn.h"

struct deskd {
    const char *display;
    /* Each owns its X connections: screenshots, input, and window and monitor queries. */
    struct shots *shots;
    struct inputw *input;
    struct xconn *xquery;
    /* Set once SIGTERM/SIGINT arrived: long actions (typing with a delay) stop early. */
    volatile bool stopping;
};

/* The daemon's state, as every handler receives it. */
static inline struct deskd *req_deskd(const struct req *r) {
    return r->ctx;
}

/* Each api-*.c exports its route rows, ended by a NULL row; routes.c lists the tables. */
extern const struct route api_screenshot_routes[];
extern const struct route api_display_routes[];
extern const struct route api_windows_routes[];
extern const struct route api_input_routes[];
extern const struct route api_process_routes[];
/* Every table, ended by NULL: what the server dispatches over. */
extern const struct route *const deskd_routes[];

/* Replies 503 naming the display problem in err. */
void reply_no_display(struct req *r, const char *err);

#endif
