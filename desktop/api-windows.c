/*
 * api-windows: GET /computeruse/display/windows, the window manager's managed
 * windows as x11_windows reads them: real X ids, UTF-8 titles, frame geometry
 * in root coordinates, the active flag and the owning pid.
 *
 * Not here: X calls (x11/).
 */
#include <errno.h>
#include <stdlib.h>

#include "deskd.h"
#include "x11.h"

static json_t *window_json(const struct x11_window *w) {
    return json_pack("{s:I, s:s, s:i, s:i, s:i, s:i, s:b, s:I}", "id", (json_int_t)w->id, "title",
            w->title, "x", w->frame.x, "y", w->frame.y, "width", w->frame.width, "height",
            w->frame.height, "isActive", w->active, "pid", (json_int_t)w->pid);
}

static void api_display_windows(struct req *r) {
    char err[256];
    struct x11_window *wins = calloc(X11_WINDOWS_MAX, sizeof *wins);
    if (!wins) {
        reply_error(r, ERR_INTERNAL, "out of memory for the window list");
        return;
    }
    Display *dpy = xconn_lock(req_deskd(r)->xquery, err, sizeof err);
    if (!dpy) {
        free(wins);
        reply_no_display(r, err);
        return;
    }
    int n = x11_windows(dpy, wins, X11_WINDOWS_MAX);
    bool dead = xconn_dead(req_deskd(r)->xquery);
    xconn_unlock(req_deskd(r)->xquery);
    if (dead || n < 0) {
        x11_windows_free(wins, n > 0 ? n : 0);
        free(wins);
        if (dead || n == -EIO)
            reply_no_display(r, "the X display went away during the query");
        else
            reply_error(r, ERR_INTERNAL, "out of memory while reading the windows");
        return;
    }
    json_t *list = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(list, window_json(&wins[i]));
    x11_windows_free(wins, n);
    free(wins);
    reply_json(r, 200, json_pack("{s:o, s:I}", "windows", list, "count", (json_int_t)n));
}

const struct route api_windows_routes[] = {
        {"GET", "/computeruse/display/windows", api_display_windows, 0},
        {NULL, NULL, NULL, 0},
};
