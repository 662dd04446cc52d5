/*
 * deskd: the daemon's shared state and the route handlers of each api-*.c.
 */
#ifndef DESK_DESKD_H
#define DESK_DESKD_H

#include "inputw.h"
#include "server.h"
#include "shots.h"
#include "xconn.h"

#define DESK_VERSION "0.1.0"

struct deskd {
    const char *display;
    /* Each owns its X connections: screenshots, input, and window and monitor queries. */
    struct shots *shots;
    struct inputw *input;
    struct xconn *xquery;
    /* Set once SIGTERM/SIGINT arrived: long actions (typing with a delay) stop early. */
    volatile bool stopping;
};

extern struct deskd deskd;

/* api-screenshot.c */
void api_screenshot(struct req *r);
void api_screenshot_region(struct req *r);
void api_screenshot_compressed(struct req *r);
void api_screenshot_region_compressed(struct req *r);

/* api-display.c, api-windows.c */
void api_display_info(struct req *r);
void api_display_windows(struct req *r);

/* api-input.c */
void api_mouse_position(struct req *r);
void api_mouse_move(struct req *r);
void api_mouse_click(struct req *r);
void api_mouse_drag(struct req *r);
void api_mouse_scroll(struct req *r);
void api_keyboard_type(struct req *r);
void api_keyboard_key(struct req *r);
void api_keyboard_hotkey(struct req *r);

/* api-process.c: the desktop processes (stack.h) and the [ext] VNC access route. */
void api_process_start(struct req *r);
void api_process_stop(struct req *r);
void api_process_status_all(struct req *r);
void api_process_status(struct req *r);
void api_process_restart(struct req *r);
void api_process_logs(struct req *r);
void api_process_errors(struct req *r);
void api_vnc(struct req *r);

/* Replies 503 naming the display problem in err. */
void reply_no_display(struct req *r, const char *err);

#endif
