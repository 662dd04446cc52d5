/*
 * x11: the window-manager checks of x11.h, over xcb (see there why): is an
 * EWMH window manager up, and where are its panels.
 *
 * An xcb request that fails (a window that vanished, a lost server) gives no
 * reply and its error comes back here, never to Xlib's error handlers; such a
 * window is left out.
 *
 * Not here: opening connections, pixels (the probe samples them), Xlib.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "x11.h"

/* The most managed windows looked at for panels. */
#define CLIENTS_MAX 512

static xcb_atom_t intern(xcb_connection_t *c, const char *name) {
    xcb_intern_atom_reply_t *r =
            xcb_intern_atom_reply(c, xcb_intern_atom(c, 1, (uint16_t)strlen(name), name), NULL);
    xcb_atom_t a = r ? r->atom : XCB_ATOM_NONE;
    free(r);
    return a;
}

/* Up to max 32-bit values of property prop (of type type) of win; returns the count. */
static int prop32(xcb_connection_t *c, xcb_window_t win, xcb_atom_t prop, xcb_atom_t type,
        uint32_t *out, int max) {
    xcb_get_property_reply_t *r = xcb_get_property_reply(
            c, xcb_get_property(c, 0, win, prop, type, 0, (uint32_t)max), NULL);
    int n = 0;
    if (r && r->format == 32) {
        n = xcb_get_property_value_length(r) / 4;
        if (n > max)
            n = max;
        memcpy(out, xcb_get_property_value(r), (size_t)n * 4);
    }
    free(r);
    return n;
}

/* The check window names itself: a stale property of a dead window manager does not. */
static bool wm_present(xcb_connection_t *c, xcb_window_t root, xcb_atom_t check) {
    uint32_t wm = 0, wm2 = 0;
    return check != XCB_ATOM_NONE && prop32(c, root, check, XCB_ATOM_WINDOW, &wm, 1) == 1 &&
           prop32(c, wm, check, XCB_ATOM_WINDOW, &wm2, 1) == 1 && wm == wm2;
}

bool x11_wm_present(xcb_connection_t *c, xcb_window_t root) {
    return wm_present(c, root, intern(c, "_NET_SUPPORTING_WM_CHECK"));
}

static bool has_type(xcb_connection_t *c, xcb_window_t w, xcb_atom_t prop, xcb_atom_t want) {
    uint32_t types[16];
    int nt = prop32(c, w, prop, XCB_ATOM_ATOM, types, 16);
    for (int t = 0; t < nt; t++) {
        if (types[t] == want)
            return true;
    }
    return false;
}

/* w's outer rectangle (border included) in root coordinates, when it is viewable. */
static bool viewable_rect(
        xcb_connection_t *c, xcb_window_t w, xcb_window_t root, struct x11_rect *out) {
    xcb_get_window_attributes_reply_t *a =
            xcb_get_window_attributes_reply(c, xcb_get_window_attributes(c, w), NULL);
    bool viewable = a && a->map_state == XCB_MAP_STATE_VIEWABLE;
    free(a);
    xcb_get_geometry_reply_t *g =
            viewable ? xcb_get_geometry_reply(c, xcb_get_geometry(c, w), NULL) : NULL;
    xcb_translate_coordinates_reply_t *tr =
            g ? xcb_translate_coordinates_reply(
                        c, xcb_translate_coordinates(c, w, root, 0, 0), NULL)
              : NULL;
    if (tr) {
        int b = g->border_width;
        *out = (struct x11_rect){tr->dst_x - b, tr->dst_y - b, g->width + 2 * b, g->height + 2 * b};
    }
    free(g);
    free(tr);
    return tr != NULL;
}

int x11_docks(xcb_connection_t *c, xcb_window_t root, struct x11_rect out[X11_DOCKS_MAX]) {
    xcb_atom_t check = intern(c, "_NET_SUPPORTING_WM_CHECK");
    xcb_atom_t list = intern(c, "_NET_CLIENT_LIST");
    xcb_atom_t type = intern(c, "_NET_WM_WINDOW_TYPE");
    xcb_atom_t dock = intern(c, "_NET_WM_WINDOW_TYPE_DOCK");
    if (xcb_connection_has_error(c))
        return -EIO;
    if (!list || !type || !dock || !wm_present(c, root, check))
        return 0;
    uint32_t *wins = malloc(CLIENTS_MAX * sizeof *wins);
    if (!wins)
        return -ENOMEM;
    int n = prop32(c, root, list, XCB_ATOM_WINDOW, wins, CLIENTS_MAX);
    int nd = 0;
    for (int k = 0; k < n && nd < X11_DOCKS_MAX; k++) {
        if (has_type(c, wins[k], type, dock) && viewable_rect(c, wins[k], root, &out[nd]))
            nd++;
    }
    free(wins);
    return xcb_connection_has_error(c) ? -EIO : nd;
}
