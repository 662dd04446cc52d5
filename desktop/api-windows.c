/*
 * api-windows: the window manager's managed windows as x11_windows reads
 * them (real X ids, UTF-8 titles, frame geometry in root coordinates, the
 * active flag, the owning pid, EWMH type and states), and the window actions
 * of API.md §12, which answer the window once the change is visible.
 *
 * Window actions run on a connection of their own (deskd's "windows"),
 * shared: each waits for the window manager's events on it, up to 2 s,
 * holding it for 100 ms at a time.
 *
 * Not here: X calls (x11/).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bodies.h"
#include "deskd.h"
#include "util.h"
#include "x11.h"

/* How long an action waits for the window manager to show its change. */
#define WM_WAIT_MS 2000

json_t *deskd_window_json(const struct x11_window *w) {
    json_t *states = json_array();
    for (int i = 0; i < X11_STATES_N; i++) {
        unsigned bit = 1u << i;
        if (!(w->states & bit))
            continue;
        /* Both directions maximized is what a user calls maximized. */
        if ((bit & X11_STATE_MAXIMIZED) &&
                (w->states & X11_STATE_MAXIMIZED) == X11_STATE_MAXIMIZED) {
            if (bit == X11_STATE(MAXIMIZED_VERT))
                json_array_append_new(states, json_string("maximized"));
            continue;
        }
        json_array_append_new(states, json_string(x11_state_name(i)));
    }
    return json_pack("{s:I, s:s, s:i, s:i, s:i, s:i, s:b, s:I, s:s, s:o}", "id", (json_int_t)w->id,
            "title", w->title, "x", w->frame.x, "y", w->frame.y, "width", w->frame.width, "height",
            w->frame.height, "isActive", w->active, "pid", (json_int_t)w->pid, "type",
            x11_type_name(w->type), "states", states);
}

static void api_display_windows(struct req *r) {
    char err[256];
    int type;
    if (windows_type_parse(req_arg(r, "type"), &type, err, sizeof err) < 0) {
        reply_error(r, ERR_INVALID_PARAMETER, "%s", err);
        return;
    }
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
    json_int_t count = 0;
    for (int i = 0; i < n; i++) {
        if (type < 0 || wins[i].type == (enum x11_window_type)type) {
            json_array_append_new(list, deskd_window_json(&wins[i]));
            count++;
        }
    }
    x11_windows_free(wins, n);
    free(wins);
    reply_json(r, 200, json_pack("{s:o, s:I}", "windows", list, "count", count));
}

/* The {id} of /computeruse/windows/{id}/...: a decimal X window id. */
static bool window_id(struct req *r, Window *out) {
    long v;
    if (!r->path_param || util_parse_long(r->path_param, 1, WINDOW_ID_MAX, &v) < 0) {
        reply_error(r, ERR_INVALID_PARAMETER,
                "the window id must be a decimal X window id from GET "
                "/computeruse/display/windows (got \"%s\")",
                r->path_param ? r->path_param : "");
        return false;
    }
    *out = (Window)v;
    return true;
}

/*
 * The windows connection, shared by the actions waiting at once: each holds
 * it for a look at its window and a short wait, not for its whole wait (a
 * second action would otherwise wait seconds for it and get a false 503).
 */
struct shared {
    struct xconn *xc;
    bool held;
    char err[256];
};

static Display *share_lock(void *arg) {
    struct shared *sh = arg;
    Display *dpy = xconn_lock(sh->xc, sh->err, sizeof sh->err);
    sh->held = dpy != NULL;
    return dpy;
}

static void share_unlock(void *arg) {
    struct shared *sh = arg;
    xconn_unlock(sh->xc);
    sh->held = false;
}

static void act(
        struct req *r, enum x11_action action, const struct x11_rect *geom, const char *what) {
    Window w;
    if (!window_id(r, &w) || !input_gate(r, "the window action"))
        return;
    struct deskd *d = req_deskd(r);
    struct shared sh = {.xc = d->xwm};
    Display *dpy = share_lock(&sh);
    if (!dpy) {
        reply_no_display(r, sh.err);
        return;
    }
    struct x11_window out;
    struct x11_share share = {share_unlock, share_lock, &sh};
    int rc = x11_window_act(dpy, w, action, geom, WM_WAIT_MS, &share, &out);
    bool dead = !sh.held || xconn_dead(d->xwm);
    if (sh.held)
        xconn_unlock(d->xwm);
    if (dead || rc == -EIO) {
        if (rc == 0)
            x11_windows_free(&out, 1);
        reply_no_display(r, "the X display went away during the window action");
    } else if (rc == -ENOENT) {
        reply_error(r, ERR_WINDOW_NOT_FOUND, "no window %lu (it does not exist or went away)",
                (unsigned long)w);
    } else if (rc == -ENOTDIR) {
        reply_error(r, ERR_INVALID_PARAMETER,
                "window %lu is not a top-level window the window manager manages; use an id "
                "from GET /computeruse/display/windows",
                (unsigned long)w);
    } else if (rc == -ETIMEDOUT) {
        reply_error(r, ERR_WM_TIMEOUT,
                "the window manager did not %s window %lu within %d ms (no window manager, or "
                "the window refused)",
                what, (unsigned long)w, WM_WAIT_MS);
    } else if (rc < 0) {
        reply_error(r, ERR_INTERNAL, "out of memory during the window action");
    } else {
        json_t *j = deskd_window_json(&out);
        x11_windows_free(&out, 1);
        reply_json(r, 200, j);
    }
}

static void api_window_activate(struct req *r) {
    act(r, X11_ACTIVATE, NULL, "activate");
}

static void api_window_close(struct req *r) {
    act(r, X11_CLOSE, NULL, "close");
}

static void api_window_minimize(struct req *r) {
    act(r, X11_MINIMIZE, NULL, "minimize");
}

static void api_window_maximize(struct req *r) {
    act(r, X11_MAXIMIZE, NULL, "maximize");
}

static void api_window_restore(struct req *r) {
    act(r, X11_RESTORE, NULL, "restore");
}

static void api_window_geometry(struct req *r) {
    char err[256];
    struct x11_rect g;
    if (geometry_parse(r->json, &g, err, sizeof err) < 0) {
        reply_error(r, ERR_INVALID_PARAMETER, "%s", err);
        return;
    }
    act(r, X11_GEOMETRY, &g, "move and resize");
}

const struct route api_windows_routes[] = {
        {"GET", "/computeruse/display/windows", api_display_windows, 0},
        {"POST", "/computeruse/windows/*/activate", api_window_activate, ROUTE_ACTS},
        {"POST", "/computeruse/windows/*/close", api_window_close, ROUTE_ACTS},
        {"POST", "/computeruse/windows/*/minimize", api_window_minimize, ROUTE_ACTS},
        {"POST", "/computeruse/windows/*/maximize", api_window_maximize, ROUTE_ACTS},
        {"POST", "/computeruse/windows/*/restore", api_window_restore, ROUTE_ACTS},
        {"POST", "/computeruse/windows/*/geometry", api_window_geometry, ROUTE_JSON | ROUTE_ACTS},
        {NULL, NULL, NULL, 0},
};
