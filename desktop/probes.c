/*
 * probes: the X11 handshake probe and the xfce4 panel probe (see probes.h).
 *
 * Why "painted" and not "mapped": an agent acts as soon as start returns,
 * and for about a second after the panel is mapped the screen is still black
 * (the compositor has not drawn). Painted means the panel's pixels differ
 * from the desktop beside it; a theme where they do not still counts as ready
 * 5 s after the panel was mapped.
 *
 * It owns no connection between calls and keeps no state of its own: what
 * one instance's probes share lives in the caller's struct probe_state.
 */
#define _GNU_SOURCE
#include "probes.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <xcb/xcb.h>

#include "log.h"
#include "util.h"

/*
 * Sends the X connection setup on display num's socket and reads the answer.
 * 1: a server accepted us; 0: nothing there yet; negative: it refused (err).
 */
int probe_x11(int num, int timeout_ms, char *err, size_t errlen) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "/tmp/.X11-unix/X%d", num);
    /* A local connect completes at once or fails (EAGAIN: backlog full: not yet). */
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        close(fd);
        return 0;
    }
    /* Little-endian, protocol 11.0, no authorization. */
    static const unsigned char setup[12] = {'l', 0, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    if (send(fd, setup, sizeof setup, MSG_NOSIGNAL) != (ssize_t)sizeof setup) {
        close(fd);
        return 0;
    }
    unsigned char head[8 + 256];
    size_t got = 0;
    int64_t deadline = util_mono_ms() + timeout_ms;
    while (got < sizeof head) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int left = (int)(deadline - util_mono_ms());
        if (left <= 0 || poll(&p, 1, left) <= 0)
            break;
        ssize_t r = read(fd, head + got, sizeof head - got);
        if (r < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
        if (got >= 8 && head[0] == 1)
            break;
        if (got >= 8 && got >= 8u + head[1])
            break;
    }
    close(fd);
    if (got < 8)
        return 0;
    if (head[0] == 1)
        return 1;
    if (err) {
        int n = head[0] == 0 ? (int)(got - 8 < head[1] ? got - 8 : head[1]) : 0;
        snprintf(err, errlen, "the X server on :%d refused the connection%s%.*s", num,
                n ? ": " : " (it wants authorization)", n, (const char *)head + 8);
    }
    return -EACCES;
}

static xcb_atom_t intern(xcb_connection_t *c, const char *name) {
    xcb_intern_atom_reply_t *r =
            xcb_intern_atom_reply(c, xcb_intern_atom(c, 1, (uint16_t)strlen(name), name), NULL);
    xcb_atom_t a = r ? r->atom : XCB_ATOM_NONE;
    free(r);
    return a;
}

/* Up to max 32-bit values of property prop of win; returns the count. */
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

struct box {
    int x, y, w, h;
};

/* Mean colour (BGRX bytes) and the spread of the brightness over r on the root window. */
static bool sample(
        xcb_connection_t *c, xcb_window_t root, struct box r, double mean[3], double *sd) {
    xcb_get_image_reply_t *img = xcb_get_image_reply(c,
            xcb_get_image(c, XCB_IMAGE_FORMAT_Z_PIXMAP, root, (int16_t)r.x, (int16_t)r.y,
                    (uint16_t)r.w, (uint16_t)r.h, ~0u),
            NULL);
    int len = img ? xcb_get_image_data_length(img) : 0;
    if (!img || len < r.w * r.h * 4 || r.h <= 0) {
        free(img);
        return false;
    }
    const uint8_t *px = xcb_get_image_data(img);
    size_t stride = (size_t)len / (size_t)r.h;
    double sum[3] = {0}, sq = 0;
    for (int y = 0; y < r.h; y++) {
        for (int x = 0; x < r.w; x++) {
            const uint8_t *p = px + (size_t)y * stride + (size_t)x * 4;
            double l = (p[0] + p[1] + p[2]) / 3.0;
            for (int k = 0; k < 3; k++)
                sum[k] += p[k];
            sq += l * l;
        }
    }
    double n = (double)r.w * r.h, ml = 0;
    for (int k = 0; k < 3; k++) {
        mean[k] = sum[k] / n;
        ml += mean[k] / 3.0;
    }
    double var = sq / n - ml * ml;
    *sd = var > 0 ? sqrt(var) : 0;
    free(img);
    return true;
}

static bool clip(struct box *r, int sw, int sh) {
    int x0 = r->x < 0 ? 0 : r->x, y0 = r->y < 0 ? 0 : r->y;
    int x1 = r->x + r->w > sw ? sw : r->x + r->w, y1 = r->y + r->h > sh ? sh : r->y + r->h;
    *r = (struct box){x0, y0, x1 - x0, y1 - y0};
    return r->w > 0 && r->h > 0;
}

/*
 * True when the panel at r and the desktop beside it (towards the middle of
 * the screen) have been painted: the desktop is not black, and the panel shows
 * content and differs clearly from it. Until then a screenshot shows black,
 * or the wallpaper where the panel is.
 */
static bool painted(xcb_connection_t *c, xcb_window_t root, struct box r, int sw, int sh) {
    if (r.h > 64)
        r.h = 64;
    struct box bg = r;
    bg.y = r.y + r.h / 2 < sh / 2 ? r.y + r.h + 8 : r.y - r.h - 8;
    if (!clip(&bg, sw, sh))
        return false;
    double pm[3], bm[3], psd, bsd;
    if (!sample(c, root, r, pm, &psd) || !sample(c, root, bg, bm, &bsd))
        return false;
    double diff = fabs(pm[0] - bm[0]) + fabs(pm[1] - bm[1]) + fabs(pm[2] - bm[2]);
    return diff > 60 && psd > 3 && bm[0] + bm[1] + bm[2] > 24;
}

/* The mapped dock windows (panels) of the screen, clipped to it: up to max into docks. */
static int find_docks(xcb_connection_t *c, xcb_window_t root, xcb_atom_t list, xcb_atom_t type,
        xcb_atom_t dock, struct box *docks, int max, int sw, int sh) {
    uint32_t wins[512];
    int n = prop32(c, root, list, XCB_ATOM_WINDOW, wins, 512);
    int nd = 0;
    for (int k = 0; k < n && nd < max; k++) {
        uint32_t types[16];
        int nt = prop32(c, wins[k], type, XCB_ATOM_ATOM, types, 16);
        bool is_dock = false;
        for (int t = 0; t < nt; t++)
            is_dock |= types[t] == dock;
        if (!is_dock)
            continue;
        xcb_get_window_attributes_reply_t *a =
                xcb_get_window_attributes_reply(c, xcb_get_window_attributes(c, wins[k]), NULL);
        bool viewable = a && a->map_state == XCB_MAP_STATE_VIEWABLE;
        free(a);
        xcb_get_geometry_reply_t *g =
                viewable ? xcb_get_geometry_reply(c, xcb_get_geometry(c, wins[k]), NULL) : NULL;
        xcb_translate_coordinates_reply_t *tr =
                g ? xcb_translate_coordinates_reply(
                            c, xcb_translate_coordinates(c, wins[k], root, 0, 0), NULL)
                  : NULL;
        if (g && tr) {
            struct box b = {tr->dst_x, tr->dst_y, g->width, g->height};
            if (clip(&b, sw, sh) && b.w * b.h >= 100)
                docks[nd++] = b;
        }
        free(g);
        free(tr);
    }
    return nd;
}

/*
 * 1 when the desktop is usable: a window manager runs (its EWMH check window
 * names itself), a panel (a dock window) is mapped, and every mapped panel and
 * the desktop beside it are painted. A panel that cannot be told from the
 * wallpaper (an unusual theme, a black wallpaper) counts PAINT_GRACE_MS after
 * the first panel was mapped.
 */
#define PAINT_GRACE_MS 5000
int probe_xfce(const char *display, int num, struct probe_state *st) {
    /* xcb would wait forever on a server that accepts but never answers. */
    if (probe_x11(num, 300, NULL, 0) != 1)
        return 0;
    int screen = 0;
    xcb_connection_t *c = xcb_connect(display, &screen);
    if (xcb_connection_has_error(c)) {
        xcb_disconnect(c);
        return 0;
    }
    int ready = 0;
    xcb_screen_iterator_t it = xcb_setup_roots_iterator(xcb_get_setup(c));
    for (int k = 0; k < screen && it.rem; k++)
        xcb_screen_next(&it);
    xcb_window_t root = it.data->root;
    int sw = it.data->width_in_pixels, sh = it.data->height_in_pixels;
    xcb_atom_t check = intern(c, "_NET_SUPPORTING_WM_CHECK");
    xcb_atom_t list = intern(c, "_NET_CLIENT_LIST");
    xcb_atom_t type = intern(c, "_NET_WM_WINDOW_TYPE");
    xcb_atom_t dock = intern(c, "_NET_WM_WINDOW_TYPE_DOCK");
    uint32_t wm = 0, wm2 = 0;
    if (!check || !list || !type || !dock)
        goto out;
    if (prop32(c, root, check, XCB_ATOM_WINDOW, &wm, 1) != 1 ||
            prop32(c, wm, check, XCB_ATOM_WINDOW, &wm2, 1) != 1 || wm != wm2)
        goto out;
    struct box docks[8];
    int nd = find_docks(c, root, list, type, dock, docks, 8, sw, sh);
    if (nd == 0)
        goto out;
    int64_t t = util_mono_ms();
    if (!st->panel_mapped_at)
        st->panel_mapped_at = t;
    bool all = true;
    for (int k = 0; k < nd && all; k++)
        all = painted(c, root, docks[k], sw, sh);
    if (all) {
        ready = 1;
    } else if (t - st->panel_mapped_at >= PAINT_GRACE_MS) {
        log_msg(LOG_WARN,
                "xfce4: its panel looks like the desktop behind it %d ms after it "
                "was mapped; taking it as ready",
                PAINT_GRACE_MS);
        ready = 1;
    }
out:
    xcb_disconnect(c);
    return ready;
}
