/*
 * api-display: GET /computeruse/display/info. Monitors come from RandR 1.5;
 * a Xinerama server (Xephyr +xinerama, some VNC servers) shows RandR a single
 * monitor, so Xinerama heads are used when there are more of them; with
 * neither, the screen itself is the one display. The primary monitor is id 0.
 */
#include <X11/Xlib.h>
#include <X11/extensions/Xinerama.h>
#include <X11/extensions/Xrandr.h>
#include <stdlib.h>

#include "deskd.h"

#define MAX_MONITORS 16

struct mon {
    int x, y, width, height;
    bool primary;
};

static int randr_monitors(Display *dpy, struct mon *out) {
    int ev, er, major = 0, minor = 0;
    if (!XRRQueryExtension(dpy, &ev, &er) || !XRRQueryVersion(dpy, &major, &minor) ||
            (major == 1 && minor < 5))
        return 0;
    int n = 0;
    XRRMonitorInfo *m = XRRGetMonitors(dpy, DefaultRootWindow(dpy), True, &n);
    if (!m)
        return 0;
    int k = 0;
    for (int i = 0; i < n && k < MAX_MONITORS; i++, k++)
        out[k] = (struct mon){m[i].x, m[i].y, m[i].width, m[i].height, m[i].primary != 0};
    XRRFreeMonitors(m);
    return k;
}

static int xinerama_heads(Display *dpy, struct mon *out) {
    int ev, er;
    if (!XineramaQueryExtension(dpy, &ev, &er) || !XineramaIsActive(dpy))
        return 0;
    int n = 0;
    XineramaScreenInfo *s = XineramaQueryScreens(dpy, &n);
    if (!s)
        return 0;
    int k = 0;
    for (int i = 0; i < n && k < MAX_MONITORS; i++, k++)
        out[k] = (struct mon){s[i].x_org, s[i].y_org, s[i].width, s[i].height, i == 0};
    XFree(s);
    return k;
}

static json_t *display_json(int id, const struct mon *m) {
    return json_pack("{s:i, s:i, s:i, s:i, s:i, s:b}", "id", id, "x", m->x, "y", m->y, "width",
            m->width, "height", m->height, "isActive", 1);
}

static void api_display_info(struct req *r) {
    char err[256];
    Display *dpy = xconn_lock(req_deskd(r)->xcap, err, sizeof err);
    if (!dpy) {
        reply_no_display(r, err);
        return;
    }
    struct mon rr[MAX_MONITORS], xi[MAX_MONITORS];
    int nr = randr_monitors(dpy, rr);
    int nx = xinerama_heads(dpy, xi);
    struct mon *mons = nx > nr ? xi : rr;
    int n = nx > nr ? nx : nr;
    if (n == 0) {
        Window root;
        int gx, gy;
        unsigned gw = 0, gh = 0, border, depth;
        XGetGeometry(dpy, DefaultRootWindow(dpy), &root, &gx, &gy, &gw, &gh, &border, &depth);
        rr[0] = (struct mon){0, 0, (int)gw, (int)gh, true};
        mons = rr;
        n = 1;
    }
    bool dead = xconn_dead(req_deskd(r)->xcap);
    xconn_unlock(req_deskd(r)->xcap);
    if (dead) {
        reply_no_display(r, "the X display went away during the query");
        return;
    }

    /* The primary monitor is id 0; the others keep their order. */
    int primary = 0;
    for (int i = 0; i < n; i++) {
        if (mons[i].primary) {
            primary = i;
            break;
        }
    }
    json_t *list = json_array();
    json_array_append_new(list, display_json(0, &mons[primary]));
    for (int i = 0, id = 1; i < n; i++) {
        if (i != primary)
            json_array_append_new(list, display_json(id++, &mons[i]));
    }
    json_t *root = json_pack("{s:o, s:o, s:i}", "displays", list, "primary_display",
            display_json(0, &mons[primary]), "total_displays", n);
    reply_json(r, 200, root);
}

const struct route api_display_routes[] = {
        {"GET", "/computeruse/display/info", api_display_info, 0},
        {NULL, NULL, NULL, 0},
};
