/*
 * x11: monitors, EWMH windows and the window manager checks of x11.h.
 *
 * Every query runs under an xtrap: windows come and go while we look, and
 * their BadWindow errors are expected, not news. A failed connection shows as
 * Xlib's I/O error path (the owner's handler marks it dead) and replies that
 * never come: what we read then is zero, and the owner, not this module,
 * decides that the display is gone.
 *
 * Not here: opening displays, locks, JSON, input, capture.
 */
#include "x11.h"

#include <X11/Xatom.h>
#include <X11/Xutil.h>
#include <X11/extensions/XRes.h>
#include <X11/extensions/Xinerama.h>
#include <X11/extensions/Xrandr.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "xtrap.h"

/* _NET_WM_NAME is read up to this many 32-bit units (16 KiB). */
#define TITLE_UNITS 4096
/* The deepest frame nesting walked up from a client to the root's child. */
#define FRAME_DEPTH 16

static int randr_monitors(Display *dpy, struct x11_monitor *out) {
    int ev, er, major = 0, minor = 0;
    if (!XRRQueryExtension(dpy, &ev, &er) || !XRRQueryVersion(dpy, &major, &minor) ||
            (major == 1 && minor < 5))
        return 0;
    int n = 0;
    XRRMonitorInfo *m = XRRGetMonitors(dpy, DefaultRootWindow(dpy), True, &n);
    if (!m)
        return 0;
    int k = 0;
    for (; k < n && k < X11_MONITORS_MAX; k++)
        out[k] = (struct x11_monitor){{m[k].x, m[k].y, m[k].width, m[k].height}, m[k].primary != 0};
    XRRFreeMonitors(m);
    return k;
}

static int xinerama_heads(Display *dpy, struct x11_monitor *out) {
    int ev, er;
    if (!XineramaQueryExtension(dpy, &ev, &er) || !XineramaIsActive(dpy))
        return 0;
    int n = 0;
    XineramaScreenInfo *s = XineramaQueryScreens(dpy, &n);
    if (!s)
        return 0;
    int k = 0;
    for (; k < n && k < X11_MONITORS_MAX; k++)
        out[k] = (struct x11_monitor){{s[k].x_org, s[k].y_org, s[k].width, s[k].height}, k == 0};
    XFree(s);
    return k;
}

int x11_monitors(Display *dpy, struct x11_monitor out[X11_MONITORS_MAX]) {
    struct x11_monitor xi[X11_MONITORS_MAX];
    int nr = randr_monitors(dpy, out);
    int nx = xinerama_heads(dpy, xi);
    if (nx > nr) {
        memcpy(out, xi, (size_t)nx * sizeof *xi);
        nr = nx;
    }
    if (nr == 0) {
        Window root;
        int gx, gy;
        unsigned gw = 0, gh = 0, border, depth;
        if (!XGetGeometry(dpy, DefaultRootWindow(dpy), &root, &gx, &gy, &gw, &gh, &border, &depth))
            return -EIO;
        out[0] = (struct x11_monitor){{0, 0, (int)gw, (int)gh}, true};
        return 1;
    }
    /* RandR may name no primary (none set): the first one is. */
    bool any = false;
    for (int i = 0; i < nr; i++) {
        out[i].primary = out[i].primary && !any;
        any = any || out[i].primary;
    }
    if (!any)
        out[0].primary = true;
    return nr;
}

/* A property of 32-bit items (longs in Xlib's hands) of the given type; NULL when absent. */
static unsigned long *get_longs(
        Display *dpy, Window w, Atom prop, Atom type, long max, unsigned long *n) {
    Atom actual;
    int format;
    unsigned long after;
    unsigned char *data = NULL;
    *n = 0;
    if (XGetWindowProperty(dpy, w, prop, 0, max, False, type, &actual, &format, n, &after, &data) !=
                    Success ||
            !data || format != 32 || actual != type) {
        if (data)
            XFree(data);
        *n = 0;
        return NULL;
    }
    return (unsigned long *)data;
}

/* The first item of a 32-bit property, or 0. */
static unsigned long get_long(Display *dpy, Window w, Atom prop, Atom type) {
    unsigned long n;
    unsigned long *v = get_longs(dpy, w, prop, type, 1, &n);
    unsigned long r = v && n ? v[0] : 0;
    if (v)
        XFree(v);
    return r;
}

static const char *const type_names[] = {
#define X11_TYPE_NAME_(id, name) name,
        X11_WINDOW_TYPES(X11_TYPE_NAME_)
#undef X11_TYPE_NAME_
};
static const char *const state_names[] = {
#define X11_STATE_NAME_(id, name) name,
        X11_WINDOW_STATES(X11_STATE_NAME_)
#undef X11_STATE_NAME_
};

const char *x11_type_name(enum x11_window_type t) {
    return (unsigned)t < X11_TYPES_N ? type_names[t] : "normal";
}

int x11_type_parse(const char *name) {
    for (int i = 0; name && i < X11_TYPES_N; i++) {
        if (strcmp(name, type_names[i]) == 0)
            return i;
    }
    return -1;
}

const char *x11_state_name(int i) {
    return i >= 0 && i < X11_STATES_N ? state_names[i] : "";
}

/* The atoms a window's description needs: fixed ones, then one per type and per state. */
enum {
    A_NET_WM_NAME,
    A_UTF8,
    A_NET_WM_PID,
    A_CLIENT_LIST,
    A_ACTIVE,
    A_WM_STATE,
    A_NET_WM_STATE,
    A_NET_WM_TYPE,
    A_FIXED,
    A_TYPE0 = A_FIXED,
    A_STATE0 = A_TYPE0 + X11_TYPES_N,
    A_N = A_STATE0 + X11_STATES_N,
};

struct atoms {
    Atom a[A_N];
};

static void intern_atoms(Display *dpy, struct atoms *a) {
    char names[A_N][64];
    static const char *const fixed[] = {"_NET_WM_NAME", "UTF8_STRING", "_NET_WM_PID",
            "_NET_CLIENT_LIST", "_NET_ACTIVE_WINDOW", "WM_STATE", "_NET_WM_STATE",
            "_NET_WM_WINDOW_TYPE"};
    for (int i = 0; i < A_FIXED; i++)
        snprintf(names[i], sizeof names[i], "%s", fixed[i]);
    for (int i = 0; i < X11_TYPES_N; i++) {
        int n = snprintf(names[A_TYPE0 + i], 64, "_NET_WM_WINDOW_TYPE_%s", type_names[i]);
        for (int k = 20; k < n; k++)
            names[A_TYPE0 + i][k] = (char)toupper((unsigned char)names[A_TYPE0 + i][k]);
    }
    for (int i = 0; i < X11_STATES_N; i++) {
        int n = snprintf(names[A_STATE0 + i], 64, "_NET_WM_STATE_%s", state_names[i]);
        for (int k = 14; k < n; k++)
            names[A_STATE0 + i][k] = (char)toupper((unsigned char)names[A_STATE0 + i][k]);
    }
    char *list[A_N];
    for (int i = 0; i < A_N; i++)
        list[i] = names[i];
    memset(a, 0, sizeof *a);
    XInternAtoms(dpy, list, A_N, False, a->a);
}

static enum x11_window_type window_type(Display *dpy, Window w, const struct atoms *a) {
    unsigned long n;
    unsigned long *types = get_longs(dpy, w, a->a[A_NET_WM_TYPE], XA_ATOM, 32, &n);
    int found = -1;
    for (unsigned long i = 0; i < n && found < 0; i++) {
        for (int t = 0; t < X11_TYPES_N && found < 0; t++) {
            if (types[i] == a->a[A_TYPE0 + t])
                found = t;
        }
    }
    if (types)
        XFree(types);
    if (found >= 0)
        return (enum x11_window_type)found;
    Window owner = None;
    return XGetTransientForHint(dpy, w, &owner) && owner != None ? X11_TYPE_DIALOG
                                                                 : X11_TYPE_NORMAL;
}

static unsigned window_states(Display *dpy, Window w, const struct atoms *a) {
    unsigned states = 0;
    unsigned long n;
    unsigned long *v = get_longs(dpy, w, a->a[A_NET_WM_STATE], XA_ATOM, 64, &n);
    for (unsigned long i = 0; i < n; i++) {
        for (int s = 0; s < X11_STATES_N; s++) {
            if (v[i] == a->a[A_STATE0 + s])
                states |= 1u << s;
        }
    }
    if (v)
        XFree(v);
    /* "_NET_WM_STATE_MINIMIZED" is no EWMH atom: minimized is ICCCM's IconicState. */
    states &= ~X11_STATE(MINIMIZED);
    if (get_long(dpy, w, a->a[A_WM_STATE], a->a[A_WM_STATE]) == IconicState)
        states |= X11_STATE(MINIMIZED);
    return states;
}

/* _NET_WM_NAME as UTF-8, else WM_NAME converted by Xlib (Latin-1, compound text); malloc'd. */
static char *window_title(Display *dpy, Window w, const struct atoms *a) {
    Atom actual;
    int format;
    unsigned long n, after;
    unsigned char *data = NULL;
    Atom utf8 = a->a[A_UTF8];
    if (XGetWindowProperty(dpy, w, a->a[A_NET_WM_NAME], 0, TITLE_UNITS, False, utf8, &actual,
                &format, &n, &after, &data) == Success &&
            data && actual == utf8 && format == 8) {
        /* Clients put any bytes there; our callers promise UTF-8. */
        char *s = util_utf8_clean((char *)data, n, NULL);
        XFree(data);
        return s;
    }
    if (data)
        XFree(data);
    XTextProperty tp;
    char *title = NULL;
    if (XGetWMName(dpy, w, &tp) && tp.value) {
        char **list = NULL;
        int count = 0;
        if (Xutf8TextPropertyToTextList(dpy, &tp, &list, &count) >= Success && count > 0 && list)
            title = util_utf8_clean(list[0], strlen(list[0]), NULL);
        if (list)
            XFreeStringList(list);
        XFree(tp.value);
    }
    return title ? title : strdup("");
}

static long client_pid(Display *dpy, Window w, const struct atoms *a) {
    long pid = (long)get_long(dpy, w, a->a[A_NET_WM_PID], XA_CARDINAL);
    if (pid > 0)
        return pid;
    int ev, er;
    if (!XResQueryExtension(dpy, &ev, &er))
        return 0;
    XResClientIdSpec spec = {.client = w, .mask = XRES_CLIENT_ID_PID_MASK};
    long count = 0;
    XResClientIdValue *ids = NULL;
    pid = 0;
    if (XResQueryClientIds(dpy, 1, &spec, &count, &ids) == Success) {
        for (long i = 0; i < count; i++) {
            if (XResGetClientIdType(&ids[i]) == XRES_CLIENT_ID_PID)
                pid = XResGetClientPid(&ids[i]);
        }
        XResClientIdsDestroy(count, ids);
    }
    return pid > 0 ? pid : 0;
}

/* The window manager's frame: the ancestor that is a child of the root. */
static Window frame_of(Display *dpy, Window w, Window root) {
    for (int depth = 0; depth < FRAME_DEPTH; depth++) {
        Window r, parent, *children = NULL;
        unsigned n;
        if (!XQueryTree(dpy, w, &r, &parent, &children, &n))
            return w;
        if (children)
            XFree(children);
        if (parent == root || parent == None)
            return w;
        w = parent;
    }
    return w;
}

/* w's outer rectangle (border included) in root coordinates; false when it is gone. */
static bool root_rect(Display *dpy, Window w, Window root, struct x11_rect *r) {
    XWindowAttributes wa;
    if (!XGetWindowAttributes(dpy, w, &wa))
        return false;
    int x = 0, y = 0;
    Window child;
    if (!XTranslateCoordinates(dpy, w, root, 0, 0, &x, &y, &child))
        return false;
    *r = (struct x11_rect){x - wa.border_width, y - wa.border_width, wa.width + 2 * wa.border_width,
            wa.height + 2 * wa.border_width};
    return true;
}

/* Fills *out for client w; 0, 1 when it vanished meanwhile, -ENOMEM. */
static int read_window(Display *dpy, Window w, Window root, Window active, const struct atoms *a,
        struct x11_window *out) {
    struct x11_rect frame;
    if (!root_rect(dpy, frame_of(dpy, w, root), root, &frame))
        return 1;
    char *title = window_title(dpy, w, a);
    if (!title)
        return -ENOMEM;
    *out = (struct x11_window){.id = w,
            .title = title,
            .frame = frame,
            .active = w == active,
            .pid = client_pid(dpy, w, a),
            .type = window_type(dpy, w, a),
            .states = window_states(dpy, w, a)};
    return 0;
}

int x11_windows(Display *dpy, struct x11_window *out, int max) {
    struct atoms a;
    intern_atoms(dpy, &a);
    Window root = DefaultRootWindow(dpy);
    struct xtrap trap;
    xtrap_begin(&trap, dpy);
    unsigned long n = 0;
    unsigned long *list = get_longs(dpy, root, a.a[A_CLIENT_LIST], XA_WINDOW, X11_WINDOWS_MAX, &n);
    Window active = (Window)get_long(dpy, root, a.a[A_ACTIVE], XA_WINDOW);
    int count = 0, rc = 0;
    for (unsigned long i = 0; i < n && count < max && rc >= 0; i++) {
        rc = read_window(dpy, (Window)list[i], root, active, &a, &out[count]);
        if (rc == 0)
            count++;
    }
    xtrap_end(&trap, false);
    if (list)
        XFree(list);
    if (rc < 0) {
        x11_windows_free(out, count);
        return rc;
    }
    return count;
}

void x11_windows_free(struct x11_window *out, int n) {
    for (int i = 0; i < n; i++) {
        free(out[i].title);
        out[i].title = NULL;
    }
}

int x11_window_get(Display *dpy, Window w, struct x11_window *out) {
    struct atoms a;
    intern_atoms(dpy, &a);
    Window root = DefaultRootWindow(dpy);
    struct xtrap trap;
    xtrap_begin(&trap, dpy);
    XWindowAttributes wa;
    int rc = XGetWindowAttributes(dpy, w, &wa) ? -ENOTDIR : -ENOENT;
    unsigned long n = 0;
    unsigned long *list = rc == -ENOTDIR ? get_longs(dpy, root, a.a[A_CLIENT_LIST], XA_WINDOW,
                                                   X11_WINDOWS_MAX, &n)
                                         : NULL;
    for (unsigned long i = 0; i < n; i++) {
        if ((Window)list[i] == w) {
            Window active = (Window)get_long(dpy, root, a.a[A_ACTIVE], XA_WINDOW);
            rc = read_window(dpy, w, root, active, &a, out);
            if (rc == 1)
                rc = -ENOENT;
            break;
        }
    }
    xtrap_end(&trap, false);
    if (list)
        XFree(list);
    return rc;
}
