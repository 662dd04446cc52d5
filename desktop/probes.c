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
#include "x11.h"

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

/* Mean colour (BGRX bytes) and the spread of the brightness over r on the root window. */
static bool sample(
        xcb_connection_t *c, xcb_window_t root, struct x11_rect r, double mean[3], double *sd) {
    xcb_get_image_reply_t *img = xcb_get_image_reply(c,
            xcb_get_image(c, XCB_IMAGE_FORMAT_Z_PIXMAP, root, (int16_t)r.x, (int16_t)r.y,
                    (uint16_t)r.width, (uint16_t)r.height, ~0u),
            NULL);
    int len = img ? xcb_get_image_data_length(img) : 0;
    if (!img || len < r.width * r.height * 4 || r.height <= 0) {
        free(img);
        return false;
    }
    const uint8_t *px = xcb_get_image_data(img);
    size_t stride = (size_t)len / (size_t)r.height;
    double sum[3] = {0}, sq = 0;
    for (int y = 0; y < r.height; y++) {
        for (int x = 0; x < r.width; x++) {
            const uint8_t *p = px + (size_t)y * stride + (size_t)x * 4;
            double l = (p[0] + p[1] + p[2]) / 3.0;
            for (int k = 0; k < 3; k++)
                sum[k] += p[k];
            sq += l * l;
        }
    }
    double n = (double)r.width * r.height, ml = 0;
    for (int k = 0; k < 3; k++) {
        mean[k] = sum[k] / n;
        ml += mean[k] / 3.0;
    }
    double var = sq / n - ml * ml;
    *sd = var > 0 ? sqrt(var) : 0;
    free(img);
    return true;
}

static bool clip(struct x11_rect *r, int sw, int sh) {
    int x0 = r->x < 0 ? 0 : r->x, y0 = r->y < 0 ? 0 : r->y;
    int x1 = r->x + r->width > sw ? sw : r->x + r->width,
        y1 = r->y + r->height > sh ? sh : r->y + r->height;
    *r = (struct x11_rect){x0, y0, x1 - x0, y1 - y0};
    return r->width > 0 && r->height > 0;
}

/*
 * True when the panel at r and the desktop beside it (towards the middle of
 * the screen) have been painted: the desktop is not black, and the panel shows
 * content and differs clearly from it. Until then a screenshot shows black,
 * or the wallpaper where the panel is.
 */
static bool painted(xcb_connection_t *c, xcb_window_t root, struct x11_rect r, int sw, int sh) {
    if (r.height > 64)
        r.height = 64;
    struct x11_rect bg = r;
    bg.y = r.y + r.height / 2 < sh / 2 ? r.y + r.height + 8 : r.y - r.height - 8;
    if (!clip(&bg, sw, sh))
        return false;
    double pm[3], bm[3], psd, bsd;
    if (!sample(c, root, r, pm, &psd) || !sample(c, root, bg, bm, &bsd))
        return false;
    double diff = fabs(pm[0] - bm[0]) + fabs(pm[1] - bm[1]) + fabs(pm[2] - bm[2]);
    return diff > 60 && psd > 3 && bm[0] + bm[1] + bm[2] > 24;
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
    /* The window manager and its panels, by the rules deskd's window queries use too. */
    struct x11_rect docks[X11_DOCKS_MAX];
    int np = x11_docks(c, root, docks), nd = 0;
    for (int k = 0; k < np; k++) {
        if (clip(&docks[k], sw, sh) && docks[k].width * docks[k].height >= 100)
            docks[nd++] = docks[k];
    }
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
