/*
 * api-windows: GET /computeruse/display/windows, the window manager's managed
 * top-level windows (_NET_CLIENT_LIST) with real X window ids, UTF-8 titles,
 * frame geometry in root coordinates (the window manager's frame, found by
 * walking up to the root's child), the active flag (_NET_ACTIVE_WINDOW) and
 * the owning pid (_NET_WM_PID, else the X resource extension's client pid,
 * else 0). Runs on the capture connection: these are short queries.
 */
#include <X11/Xatom.h>
#include <X11/Xlib.h>
#include <X11/Xutil.h>
#include <X11/extensions/XRes.h>
#include <stdlib.h>
#include <string.h>

#include "deskd.h"
#include "util.h"
#include "xtrap.h"

#define MAX_WINDOWS 1024

/* A property of 32-bit items (returned as longs by Xlib); NULL when absent. */
static unsigned long *get_cardinals(
        Display *dpy, Window w, Atom prop, Atom type, unsigned long *n) {
    Atom actual;
    int format;
    unsigned long after;
    unsigned char *data = NULL;
    *n = 0;
    if (XGetWindowProperty(dpy, w, prop, 0, MAX_WINDOWS, False, type, &actual, &format, n, &after,
                &data) != Success ||
            !data || format != 32) {
        if (data)
            XFree(data);
        *n = 0;
        return NULL;
    }
    return (unsigned long *)data;
}

/* The window's title as a malloc'd UTF-8 string (never NULL unless out of memory). */
static char *window_title(Display *dpy, Window w, Atom net_wm_name, Atom utf8) {
    Atom actual;
    int format;
    unsigned long n, after;
    unsigned char *data = NULL;
    if (XGetWindowProperty(dpy, w, net_wm_name, 0, 4096, False, utf8, &actual, &format, &n, &after,
                &data) == Success &&
            data && actual == utf8 && format == 8) {
        /* Clients put any bytes there; JSON needs UTF-8. */
        char *s = util_utf8_clean((char *)data, n, NULL);
        XFree(data);
        return s;
    }
    if (data)
        XFree(data);
    /* WM_NAME may be Latin-1 or compound text: let Xlib convert it. */
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

static long client_pid(Display *dpy, Window w, Atom net_wm_pid) {
    unsigned long n;
    unsigned long *pid = get_cardinals(dpy, w, net_wm_pid, XA_CARDINAL, &n);
    long result = pid && n ? (long)pid[0] : 0;
    if (pid)
        XFree(pid);
    if (result)
        return result;
    int ev, er;
    if (!XResQueryExtension(dpy, &ev, &er))
        return 0;
    XResClientIdSpec spec = {.client = w, .mask = XRES_CLIENT_ID_PID_MASK};
    long count = 0;
    XResClientIdValue *ids = NULL;
    if (XResQueryClientIds(dpy, 1, &spec, &count, &ids) == Success) {
        for (long i = 0; i < count; i++) {
            if (XResGetClientIdType(&ids[i]) == XRES_CLIENT_ID_PID)
                result = XResGetClientPid(&ids[i]);
        }
        XResClientIdsDestroy(count, ids);
    }
    return result > 0 ? result : 0;
}

/* The window manager's frame: the ancestor that is a child of the root. */
static Window frame_of(Display *dpy, Window w, Window root) {
    for (int depth = 0; depth < 16; depth++) {
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

static json_t *window_json(Display *dpy, Window w, Window root, Window active, Atom *atoms) {
    Window frame = frame_of(dpy, w, root);
    XWindowAttributes wa;
    if (!XGetWindowAttributes(dpy, frame, &wa))
        return NULL; /* gone meanwhile */
    int x, y;
    Window child;
    XTranslateCoordinates(dpy, frame, root, 0, 0, &x, &y, &child);
    char *title = window_title(dpy, w, atoms[0], atoms[1]);
    json_t *o = json_pack("{s:I, s:s, s:i, s:i, s:i, s:i, s:b, s:I}", "id", (json_int_t)w, "title",
            title ? title : "", "x", x - wa.border_width, "y", y - wa.border_width, "width",
            wa.width + 2 * wa.border_width, "height", wa.height + 2 * wa.border_width, "isActive",
            w == active, "pid", (json_int_t)client_pid(dpy, w, atoms[2]));
    free(title);
    return o;
}

static void api_display_windows(struct req *r) {
    char err[256];
    Display *dpy = xconn_lock(req_deskd(r)->xcap, err, sizeof err);
    if (!dpy) {
        reply_no_display(r, err);
        return;
    }
    static const char *const names[] = {
            "_NET_WM_NAME", "UTF8_STRING", "_NET_WM_PID", "_NET_CLIENT_LIST", "_NET_ACTIVE_WINDOW"};
    Atom atoms[5];
    XInternAtoms(dpy, (char **)names, 5, False, atoms);
    Window root = DefaultRootWindow(dpy);

    /* Windows come and go while we look: their errors are expected, not news. */
    struct xtrap trap;
    xtrap_begin(&trap, dpy);
    unsigned long n = 0, na = 0;
    unsigned long *list = get_cardinals(dpy, root, atoms[3], XA_WINDOW, &n);
    unsigned long *act = get_cardinals(dpy, root, atoms[4], XA_WINDOW, &na);
    Window active = act && na ? (Window)act[0] : None;
    json_t *windows = json_array();
    for (unsigned long i = 0; i < n; i++) {
        json_t *w = window_json(dpy, (Window)list[i], root, active, atoms);
        if (w)
            json_array_append_new(windows, w);
    }
    xtrap_end(&trap, false);
    if (list)
        XFree(list);
    if (act)
        XFree(act);
    bool dead = xconn_dead(req_deskd(r)->xcap);
    xconn_unlock(req_deskd(r)->xcap);
    if (dead) {
        json_decref(windows);
        reply_no_display(r, "the X display went away during the query");
        return;
    }
    size_t count = json_array_size(windows);
    reply_json(r, 200, json_pack("{s:o, s:I}", "windows", windows, "count", (json_int_t)count));
}

const struct route api_windows_routes[] = {
        {"GET", "/computeruse/display/windows", api_display_windows, 0},
        {NULL, NULL, NULL, 0},
};
