/*
 * deskd: the daemon's shared state and the route handlers of each api-*.c.
 */
#ifndef DESK_DESKD_H
#define DESK_DESKD_H

#include "server.h"
#include "xconn.h"

#define DESK_VERSION "0.1.0"

struct deskd {
    const char *display;
    /* Capture and queries; input gets a connection of its own. */
    struct xconn *xcap;
};

extern struct deskd deskd;

/* api-screenshot.c: the capture slots live on deskd.xcap. */
int shots_open(Display *dpy, void *data);
void shots_close(Display *dpy, void *data);
void shots_finish(void);
void api_screenshot(struct req *r);
void api_screenshot_region(struct req *r);
void api_screenshot_compressed(struct req *r);
void api_screenshot_region_compressed(struct req *r);

/* api-display.c */
void api_display_info(struct req *r);

/* Replies 503 naming the display problem in err. */
void reply_no_display(struct req *r, const char *err);

#endif
