/*
 * api-display: GET /computeruse/display/info, the monitors as x11_monitors
 * finds them (RandR 1.5, else Xinerama heads, else the screen), with the
 * primary monitor as id 0 and the others in the server's order.
 *
 * Not here: X calls (x11/).
 */
#include "deskd.h"
#include "x11.h"

static json_t *display_json(int id, const struct x11_monitor *m) {
    return json_pack("{s:i, s:i, s:i, s:i, s:i, s:b}", "id", id, "x", m->r.x, "y", m->r.y, "width",
            m->r.width, "height", m->r.height, "isActive", 1);
}

static void api_display_info(struct req *r) {
    char err[256];
    struct x11_monitor mons[X11_MONITORS_MAX];
    Display *dpy = xconn_lock(req_deskd(r)->xquery, err, sizeof err);
    if (!dpy) {
        reply_no_display(r, err);
        return;
    }
    int n = x11_monitors(dpy, mons);
    bool dead = xconn_dead(req_deskd(r)->xquery);
    xconn_unlock(req_deskd(r)->xquery);
    if (dead || n < 1) {
        reply_no_display(r, "the X display went away during the query");
        return;
    }
    int primary = 0;
    while (primary < n - 1 && !mons[primary].primary)
        primary++;
    json_t *list = json_array();
    json_array_append_new(list, display_json(0, &mons[primary]));
    for (int i = 0, id = 1; i < n; i++) {
        if (i != primary)
            json_array_append_new(list, display_json(id++, &mons[i]));
    }
    reply_json(r, 200,
            json_pack("{s:o, s:o, s:i}", "displays", list, "primary_display",
                    display_json(0, &mons[primary]), "total_displays", n));
}

const struct route api_display_routes[] = {
        {"GET", "/computeruse/display/info", api_display_info, 0},
        {NULL, NULL, NULL, 0},
};
