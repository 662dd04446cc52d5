/*
 * cursor: draws the current pointer image (XFixes) into a grabbed frame.
 *
 * X servers leave the cursor out of GetImage results, so a screenshot shows it
 * only if we put it back. XFixes hands it over as premultiplied ARGB, one
 * pixel in each unsigned long (64 bits on LP64, so never memcpy'd as 32-bit).
 *
 * Not here: cursor shape change events, pointer motion, scaling the cursor.
 */
#include <X11/extensions/Xfixes.h>
#include <errno.h>

#include "capture.h"

/* Rounded a * b / 255 for bytes. */
static inline unsigned mul255(unsigned a, unsigned b) {
    unsigned t = a * b + 128;
    return (t + (t >> 8)) >> 8;
}

int capture_draw_cursor(Display *dpy, struct frame *f, int fx, int fy, int *px, int *py) {
    int ev_base, err_base;
    /* Cheap after the first call: Xlib caches extension presence per display. */
    if (!XFixesQueryExtension(dpy, &ev_base, &err_base))
        return -EIO;
    XFixesCursorImage *ci = XFixesGetCursorImage(dpy);
    if (!ci)
        return -EIO;
    if (px)
        *px = ci->x;
    if (py)
        *py = ci->y;

    /* Cursor origin in frame coordinates, then the part of it inside the frame. */
    long long ox = (long long)ci->x - ci->xhot - fx, oy = (long long)ci->y - ci->yhot - fy;
    long long cx0 = ox < 0 ? -ox : 0, cy0 = oy < 0 ? -oy : 0;
    long long cx1 = ci->width, cy1 = ci->height;
    if (ox + cx1 > f->width)
        cx1 = f->width - ox;
    if (oy + cy1 > f->height)
        cy1 = f->height - oy;

    if (cx0 >= cx1 || cy0 >= cy1)
        cy1 = cy0; /* wholly outside the frame */
    for (long long cy = cy0; cy < cy1; cy++) {
        const unsigned long *s = ci->pixels + cy * ci->width;
        uint8_t *d = f->px + (size_t)(oy + cy) * (size_t)f->stride + 4 * (size_t)(ox + cx0);
        for (long long cx = cx0; cx < cx1; cx++, d += 4) {
            unsigned long p = s[cx];
            unsigned a = (p >> 24) & 0xff;
            if (!a)
                continue;
            unsigned r = (p >> 16) & 0xff, g = (p >> 8) & 0xff, b = p & 0xff;
            if (a == 255) {
                d[0] = (uint8_t)b;
                d[1] = (uint8_t)g;
                d[2] = (uint8_t)r;
                continue;
            }
            /* Premultiplied "over": src + dst * (1 - alpha), clamped against bad input. */
            unsigned nb = b + mul255(d[0], 255 - a), ng = g + mul255(d[1], 255 - a),
                     nr = r + mul255(d[2], 255 - a);
            d[0] = (uint8_t)(nb > 255 ? 255 : nb);
            d[1] = (uint8_t)(ng > 255 ? 255 : ng);
            d[2] = (uint8_t)(nr > 255 ? 255 : nr);
        }
    }
    XFree(ci);
    return 0;
}
