/*
 * capture: grabs root-window rectangles as BGRX frames.
 *
 * Through MIT-SHM when the server offers it and accepts our segment: one
 * segment the size of the screen, kept between grabs and re-made only when the
 * screen grows; a rectangle wholly on screen comes back as the segment memory
 * itself (no copy). Otherwise through XGetImage (remote displays, containers
 * without a shared IPC namespace, DESK_NO_SHM=1 in the environment, which the
 * tests use to reach this path). Parts of a rectangle off the root window are
 * black, composed in a buffer kept here.
 *
 * The screen size is asked of the server on every grab (XGetGeometry on the
 * root, one short round trip), so a RandR resize needs no event plumbing.
 *
 * X errors of our requests are caught by an xtrap and become -EIO. Supported
 * pixel layout: 32 bits a pixel with red 0xff0000, green 0xff00, blue 0xff (depth 24 or 32
 * TrueColor), either byte order; anything else grabs as -EIO.
 *
 * Not here: opening or reconnecting displays, cursors (cursor.c), scaling.
 */
#include "capture.h"

#include <X11/Xlib.h>
#include <X11/Xutil.h>
#include <X11/extensions/XShm.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>

#include "xtrap.h"

struct capture {
    Display *dpy;
    Window root;
    Visual *visual;
    int depth;
    bool format_ok; /* the visual is one we can return as BGRX */
    bool swap;      /* MSBFirst server: pixels need a byte swap */
    bool use_shm;
    XShmSegmentInfo shm;
    size_t shm_size; /* 0: no segment attached */
    XImage *shm_img; /* header over the segment for the last grab size */
    XImage *img;     /* the last XGetImage result, freed on the next grab */
    uint8_t *pad;    /* rectangles reaching off screen are composed here */
    size_t pad_cap;
};

static void shm_drop(struct capture *c) {
    if (c->shm_img) {
        /* Its data is the segment: free only the header. */
        XFree(c->shm_img);
        c->shm_img = NULL;
    }
    if (!c->shm_size)
        return;
    struct xtrap t;
    xtrap_begin(&t, c->dpy);
    XShmDetach(c->dpy, &c->shm);
    xtrap_end(&t, true);
    shmdt(c->shm.shmaddr);
    c->shm_size = 0;
}

static int shm_make(struct capture *c, size_t size) {
    shm_drop(c);
    int id = shmget(IPC_PRIVATE, size, IPC_CREAT | 0600);
    if (id < 0)
        return -errno;
    void *addr = shmat(id, NULL, 0);
    if (addr == (void *)-1) {
        int err = errno;
        shmctl(id, IPC_RMID, NULL);
        return -err;
    }
    c->shm.shmid = id;
    c->shm.shmaddr = addr;
    c->shm.readOnly = False;
    struct xtrap t;
    xtrap_begin(&t, c->dpy);
    Status ok = XShmAttach(c->dpy, &c->shm);
    int xerr = xtrap_end(&t, true);
    /* The server holds its own attachment now: the id can go, the memory stays. */
    shmctl(id, IPC_RMID, NULL);
    if (!ok || xerr) {
        shmdt(addr);
        return -EIO;
    }
    c->shm_size = size;
    return 0;
}

static bool screen_size(struct capture *c, int *w, int *h) {
    Window root;
    int x, y;
    unsigned int gw, gh, border, depth;
    if (!XGetGeometry(c->dpy, c->root, &root, &x, &y, &gw, &gh, &border, &depth))
        return false;
    *w = (int)gw;
    *h = (int)gh;
    return true;
}

static bool visual_ok(Display *dpy, Visual *v, int depth) {
    if (v->class != TrueColor || v->red_mask != 0xff0000 || v->green_mask != 0xff00 ||
            v->blue_mask != 0xff)
        return false;
    int n = 0, bpp = 0;
    XPixmapFormatValues *f = XListPixmapFormats(dpy, &n);
    for (int i = 0; f && i < n; i++)
        if (f[i].depth == depth)
            bpp = f[i].bits_per_pixel;
    if (f)
        XFree(f);
    return bpp == 32;
}

struct capture *capture_new(Display *dpy) {
    struct capture *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    int scr = DefaultScreen(dpy);
    c->dpy = dpy;
    c->root = RootWindow(dpy, scr);
    c->visual = DefaultVisual(dpy, scr);
    c->depth = DefaultDepth(dpy, scr);
    c->format_ok = visual_ok(dpy, c->visual, c->depth);
    c->swap = ImageByteOrder(dpy) == MSBFirst;
    c->shm.shmid = -1;

    /* DESK_NO_SHM=1 forces the XGetImage path (tests, debugging). */
    const char *no_shm = getenv("DESK_NO_SHM");
    if (no_shm && *no_shm && strcmp(no_shm, "0") != 0)
        return c;
    if (!c->format_ok || !XShmQueryExtension(dpy))
        return c;
    /* Attach now, so that capture_uses_shm() tells the truth before the first grab. */
    int w, h;
    struct xtrap t;
    xtrap_begin(&t, dpy);
    bool ok = screen_size(c, &w, &h);
    xtrap_end(&t, false);
    if (ok && shm_make(c, (size_t)w * (size_t)h * 4) == 0)
        c->use_shm = true;
    return c;
}

void capture_destroy(struct capture *c) {
    if (!c)
        return;
    shm_drop(c);
    if (c->img)
        XDestroyImage(c->img);
    free(c->pad);
    free(c);
}

bool capture_uses_shm(const struct capture *c) {
    return c && c->use_shm;
}

/*
 * Fetches the on-screen rectangle (x, y, w, h), screen sw x sh, into X-owned
 * or segment memory. Runs inside the caller's trap: an X error makes the
 * caller return -EIO whatever this returned.
 */
static int fetch(
        struct capture *c, int x, int y, int w, int h, int sw, int sh, uint8_t **px, int *stride) {
    if (c->use_shm) {
        size_t need = (size_t)sw * (size_t)sh * 4;
        if (need > c->shm_size && shm_make(c, need) < 0) {
            /* The server took a segment before; it may again after a resize, but not now. */
            c->use_shm = false;
        }
    }
    if (c->use_shm) {
        if (!c->shm_img || c->shm_img->width != w || c->shm_img->height != h) {
            if (c->shm_img)
                XFree(c->shm_img);
            c->shm_img = XShmCreateImage(c->dpy, c->visual, (unsigned)c->depth, ZPixmap,
                    c->shm.shmaddr, &c->shm, (unsigned)w, (unsigned)h);
            if (!c->shm_img)
                return -ENOMEM;
        }
        XImage *im = c->shm_img;
        if (im->bits_per_pixel != 32 || (size_t)im->bytes_per_line * (size_t)h > c->shm_size)
            return -EIO;
        if (!XShmGetImage(c->dpy, c->root, im, x, y, AllPlanes))
            return -EIO;
        *px = (uint8_t *)im->data;
        *stride = im->bytes_per_line;
        return 0;
    }
    c->img = XGetImage(c->dpy, c->root, x, y, (unsigned)w, (unsigned)h, AllPlanes, ZPixmap);
    if (!c->img)
        return -EIO;
    if (c->img->bits_per_pixel != 32)
        return -EIO;
    *px = (uint8_t *)c->img->data;
    *stride = c->img->bytes_per_line;
    return 0;
}

static void swap_rows(uint8_t *px, int w, int h, int stride) {
    for (int y = 0; y < h; y++) {
        uint8_t *p = px + (size_t)y * (size_t)stride;
        for (int x = 0; x < w; x++, p += 4) {
            uint8_t t0 = p[0], t1 = p[1];
            p[0] = p[3];
            p[1] = p[2];
            p[2] = t1;
            p[3] = t0;
        }
    }
}

size_t capture_release_big(struct capture *c, size_t keep) {
    if (c->pad_cap <= keep)
        return 0;
    size_t freed = c->pad_cap;
    free(c->pad);
    c->pad = NULL;
    c->pad_cap = 0;
    return freed;
}

/* Makes room for need bytes of composition, giving back a buffer far bigger than the screen. */
static int pad_reserve(struct capture *c, size_t need, size_t screen) {
    size_t keep = need > 2 * screen ? need : 2 * screen;
    if (c->pad_cap > keep) {
        free(c->pad);
        c->pad = NULL;
        c->pad_cap = 0;
    }
    if (need <= c->pad_cap)
        return 0;
    free(c->pad);
    c->pad = malloc(need);
    c->pad_cap = c->pad ? need : 0;
    return c->pad ? 0 : -ENOMEM;
}

/* Grabs (x, y, w, h), or the whole screen when whole (x, y, w, h then ignored). */
static int grab_once(struct capture *c, bool whole, int x, int y, int w, int h, struct frame *out) {
    if (c->img) {
        XDestroyImage(c->img);
        c->img = NULL;
    }
    struct xtrap t;
    xtrap_begin(&t, c->dpy);
    int sw, sh;
    if (!screen_size(c, &sw, &sh)) {
        xtrap_end(&t, false);
        return -EIO;
    }
    if (whole)
        x = 0, y = 0, w = sw, h = sh;
    /* The part on screen, in 64 bits: x + w may pass INT_MAX. */
    long long x0 = x > 0 ? x : 0, y0 = y > 0 ? y : 0;
    long long x1 = (long long)x + w < sw ? (long long)x + w : sw;
    long long y1 = (long long)y + h < sh ? (long long)y + h : sh;
    int iw = x1 > x0 ? (int)(x1 - x0) : 0, ih = y1 > y0 ? (int)(y1 - y0) : 0;
    uint8_t *src = NULL;
    int sstride = 0, r = 0;
    if (iw && ih)
        r = fetch(c, (int)x0, (int)y0, iw, ih, sw, sh, &src, &sstride);
    if (xtrap_end(&t, false))
        r = -EIO;
    if (r < 0)
        return r;

    size_t screen = (size_t)sw * (size_t)sh * 4;
    if (iw == w && ih == h) {
        if (c->pad_cap > 2 * screen)
            pad_reserve(c, 0, screen);
        if (c->swap)
            swap_rows(src, w, h, sstride);
        *out = (struct frame){.px = src, .width = w, .height = h, .stride = sstride};
        return 0;
    }

    size_t stride = 4 * (size_t)w;
    if (pad_reserve(c, stride * (size_t)h, screen) < 0)
        return -ENOMEM;
    /* Only the off-screen bytes are cleared: the rest is overwritten anyway. */
    size_t left = 4 * (size_t)(x0 - x), mid = 4 * (size_t)iw;
    for (int row = 0; row < h; row++) {
        uint8_t *d = c->pad + (size_t)row * stride;
        long long sy = (long long)y + row;
        if (!src || sy < y0 || sy >= y1) { /* !src: nothing on screen at all */
            memset(d, 0, stride);
            continue;
        }
        memset(d, 0, left);
        memcpy(d + left, src + (size_t)(sy - y0) * (size_t)sstride, mid);
        memset(d + left + mid, 0, stride - left - mid);
    }
    if (c->swap)
        swap_rows(c->pad, w, h, (int)stride);
    *out = (struct frame){.px = c->pad, .width = w, .height = h, .stride = (int)stride};
    return 0;
}

int capture_grab(struct capture *c, int x, int y, int w, int h, struct frame *out) {
    if (!c || !out || w <= 0 || h <= 0)
        return -EINVAL;
    if (w > INT_MAX / 4 || (size_t)h > SIZE_MAX / 4 / (size_t)w)
        return -ENOMEM;
    if (!c->format_ok)
        return -EIO;
    /* A resize between our XGetGeometry and the image request fails the latter: once more. */
    int r = grab_once(c, false, x, y, w, h, out);
    if (r == -EIO)
        r = grab_once(c, false, x, y, w, h, out);
    return r;
}

int capture_grab_screen(struct capture *c, struct frame *out) {
    if (!c || !out)
        return -EINVAL;
    if (!c->format_ok)
        return -EIO;
    int r = grab_once(c, true, 0, 0, 0, 0, out);
    if (r == -EIO)
        r = grab_once(c, true, 0, 0, 0, 0, out);
    return r;
}
