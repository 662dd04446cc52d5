/*
 * a11y: see a11y.h.
 *
 * Why D-Bus (GDBus) and not libatspi: Daytona's node ids are "<bus
 * name>:<object path>", and libatspi has no public way to turn such a pair
 * back into an AtspiAccessible; libatspi also keeps one global connection
 * and caches behind it and is not thread-safe, so every request would wait
 * behind the slowest. GDBus calls are thread-safe, each with its own
 * timeout, and the AT-SPI interfaces are a small, stable D-Bus protocol.
 */
#define _GNU_SOURCE
#include "a11y.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "a11y-bus.h"
#include "util.h"

#define IFACE_COMPONENT "org.a11y.atspi.Component"
#define IFACE_ACTION    "org.a11y.atspi.Action"
#define IFACE_TEXT_EDIT "org.a11y.atspi.EditableText"
#define IFACE_VALUE     "org.a11y.atspi.Value"
#define IFACE_PROPS     "org.freedesktop.DBus.Properties"

#define NOT_SUPPORTED "action not supported by node"
#define NOT_FOUND     "accessibility node not found"
#define NO_ROOT       "no accessible root for focused window"
#define BAD_REQUEST   "invalid accessibility request"

/* The AT-SPI state bits in order, with Daytona's names. */
static const char *const state_names[A11Y_STATES_MAX] = {"invalid", "active", "armed", "busy",
        "checked", "collapsed", "defunct", "editable", "enabled", "expandable", "expanded",
        "focusable", "focused", "has_tooltip", "horizontal", "iconified", "modal", "multi_line",
        "multiselectable", "opaque", "pressed", "resizable", "selectable", "selected", "sensitive",
        "showing", "single_line", "stale", "transient", "vertical", "visible",
        "manages_descendants", "indeterminate", "required", "truncated", "animated",
        "invalid_entry", "supports_autocompletion", "selectable_text", "is_default", "visited",
        "checkable", "has_popup", "read_only"};

static void set_result(struct a11y_result *res, enum a11y_status st, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static void set_result(struct a11y_result *res, enum a11y_status st, const char *fmt, ...) {
    res->status = st;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->error, sizeof res->error, fmt, ap);
    va_end(ap);
}

int a11y_state_bit(const char *name) {
    for (int i = 0; i < A11Y_STATES_MAX; i++) {
        if (strcmp(state_names[i], name) == 0)
            return i;
    }
    return -1;
}

int a11y_parse_scope(const char *s, enum a11y_scope *out, struct a11y_result *res) {
    char buf[16];
    while (s && isspace((unsigned char)*s))
        s++;
    size_t n = s ? strlen(s) : 0;
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    if (n < sizeof buf) {
        for (size_t k = 0; k < n; k++)
            buf[k] = (char)tolower((unsigned char)s[k]);
        buf[n] = '\0';
        if (n == 0 || strcmp(buf, "focused") == 0) {
            *out = A11Y_SCOPE_FOCUSED;
            return 0;
        }
        if (strcmp(buf, "pid") == 0 || strcmp(buf, "all") == 0) {
            *out = buf[0] == 'p' ? A11Y_SCOPE_PID : A11Y_SCOPE_ALL;
            return 0;
        }
    }
    set_result(res, A11Y_BAD_SCOPE,
            "invalid accessibility scope: got \"%s\", expected focused|pid|all", s ? s : "");
    return -1;
}

int a11y_parse_match(const char *s, enum a11y_match *out, struct a11y_result *res) {
    if (!s || !*s || strcmp(s, "substring") == 0)
        *out = A11Y_MATCH_SUBSTRING;
    else if (strcmp(s, "exact") == 0)
        *out = A11Y_MATCH_EXACT;
    else if (strcmp(s, "regex") == 0)
        *out = A11Y_MATCH_REGEX;
    else {
        set_result(res, A11Y_BAD_REQUEST,
                BAD_REQUEST ": unknown nameMatch mode \"%s\", want exact|substring|regex", s);
        return -1;
    }
    return 0;
}

/* ---- one request's calls ---- */

struct walk {
    GDBusConnection *bus;
    int64_t deadline;
    GHashTable *stalled; /* names of the applications that let a call time out */
    const struct a11y_query *q;
    GRegex *re;
    int budget;
    bool out_of_time;
    GError *fatal;     /* the bus went away: the request fails */
    GMainContext *ctx; /* where the replies of batched calls arrive (this thread's default) */
};

static int walk_open(struct walk *w, const char *session_bus, const struct a11y_query *q,
        struct a11y_result *res) {
    *w = (struct walk){.q = q, .budget = A11Y_BUDGET, .deadline = util_mono_ms() + A11Y_WALK_MS};
    w->bus = a11y_bus_get(session_bus, A11Y_CALL_TIMEOUT_MS, res->error, sizeof res->error);
    if (!w->bus) {
        res->status = A11Y_UNAVAILABLE;
        return -1;
    }
    w->stalled = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    w->ctx = g_main_context_new();
    g_main_context_push_thread_default(w->ctx);
    return 0;
}

static void walk_close(struct walk *w) {
    if (w->bus)
        g_object_unref(w->bus);
    if (w->stalled)
        g_hash_table_destroy(w->stalled);
    if (w->re)
        g_regex_unref(w->re);
    if (w->fatal)
        g_error_free(w->fatal);
    if (w->ctx) {
        g_main_context_pop_thread_default(w->ctx);
        g_main_context_unref(w->ctx);
    }
}

static bool is_closed(const GError *e) {
    return g_error_matches(e, G_IO_ERROR, G_IO_ERROR_CLOSED);
}

/*
 * One method call with the reply type given (NULL: any), bounded by the
 * call timeout and the request's deadline. args may be floating.
 */
static GVariant *call(struct walk *w, const char *name, const char *path, const char *iface,
        const char *method, GVariant *args, const char *type, GError **e) {
    int64_t left = util_ms_left(w->deadline);
    if (left == 0 || g_hash_table_contains(w->stalled, name)) {
        if (args)
            g_variant_unref(g_variant_ref_sink(args));
        if (left == 0)
            w->out_of_time = true;
        g_set_error(e, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "%s did not answer in time", name);
        return NULL;
    }
    int timeout = left < A11Y_CALL_TIMEOUT_MS ? (int)left : A11Y_CALL_TIMEOUT_MS;
    GVariant *r = g_dbus_connection_call_sync(w->bus, name, path, iface, method, args,
            type ? G_VARIANT_TYPE(type) : NULL, G_DBUS_CALL_FLAGS_NONE, timeout, NULL, e);
    if (!r && g_error_matches(*e, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
        g_hash_table_add(w->stalled, g_strdup(name));
    if (!r && is_closed(*e) && !w->fatal)
        w->fatal = g_error_copy(*e);
    return r;
}

/* One call of a batch: the request, and its reply or error once the batch ran. */
struct bcall {
    const char *iface, *method;
    GVariant *args; /* may be floating */
    const char *type;
    GVariant *reply;
    GError *error;
    int *pending;
};

static void batch_reply(GObject *src, GAsyncResult *res, gpointer data) {
    struct bcall *c = data;
    c->reply = g_dbus_connection_call_finish(G_DBUS_CONNECTION(src), res, &c->error);
    (*c->pending)--;
}

/*
 * The calls of c[0..n) to one node, sent together and awaited together: one
 * round trip's wait instead of n. The same bounds as call().
 */
static void batch(struct walk *w, const char *name, const char *path, struct bcall *c, int n) {
    int pending = 0;
    int64_t left = util_ms_left(w->deadline);
    bool stalled = g_hash_table_contains(w->stalled, name);
    int timeout = left < A11Y_CALL_TIMEOUT_MS ? (int)left : A11Y_CALL_TIMEOUT_MS;
    for (int k = 0; k < n; k++) {
        c[k].reply = NULL;
        c[k].error = NULL;
        c[k].pending = &pending;
        if (left == 0 || stalled) {
            if (c[k].args)
                g_variant_unref(g_variant_ref_sink(c[k].args));
            w->out_of_time |= left == 0;
            g_set_error(&c[k].error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "%s did not answer in time",
                    name);
            continue;
        }
        pending++;
        g_dbus_connection_call(w->bus, name, path, c[k].iface, c[k].method, c[k].args,
                c[k].type ? G_VARIANT_TYPE(c[k].type) : NULL, G_DBUS_CALL_FLAGS_NONE, timeout, NULL,
                batch_reply, &c[k]);
    }
    while (pending > 0)
        g_main_context_iteration(w->ctx, TRUE);
    for (int k = 0; k < n; k++) {
        if (g_error_matches(c[k].error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT) && !stalled && left)
            g_hash_table_add(w->stalled, g_strdup(name));
        if (c[k].error && is_closed(c[k].error) && !w->fatal)
            w->fatal = g_error_copy(c[k].error);
    }
}

static void batch_free(struct bcall *c, int n) {
    for (int k = 0; k < n; k++) {
        if (c[k].reply)
            g_variant_unref(c[k].reply);
        g_clear_error(&c[k].error);
    }
}

static GVariant *get_prop(struct walk *w, const char *name, const char *path, const char *iface,
        const char *prop, GError **e) {
    GVariant *r =
            call(w, name, path, IFACE_PROPS, "Get", g_variant_new("(ss)", iface, prop), "(v)", e);
    if (!r)
        return NULL;
    GVariant *v = NULL;
    g_variant_get(r, "(v)", &v);
    g_variant_unref(r);
    return v;
}

/* Whether the node lists iface among its interfaces (false when it cannot say). */
static bool has_iface(struct walk *w, const char *bus, const char *path, const char *iface) {
    GError *e = NULL;
    GVariant *r = call(w, bus, path, A11Y_IFACE, "GetInterfaces", NULL, "(as)", &e);
    g_clear_error(&e);
    if (!r)
        return false;
    const gchar **names = NULL;
    bool found = false;
    g_variant_get(r, "(^a&s)", &names);
    for (size_t k = 0; names && names[k] && !found; k++)
        found = strcmp(names[k], iface) == 0;
    g_free(names);
    g_variant_unref(r);
    return found;
}

/* Daytona's classes of D-Bus errors. */
static enum a11y_status classify(const GError *e) {
    if (is_closed(e))
        return A11Y_UNAVAILABLE;
    gchar *remote = g_dbus_error_get_remote_error(e);
    enum a11y_status st = A11Y_FAILED;
    if (remote) {
        static const char *const unsupported[] = {
                "UnknownMethod", "UnknownInterface", "UnknownProperty", "NotSupported"};
        static const char *const gone[] = {"ServiceUnknown", "NameHasNoOwner", "UnknownObject"};
        const char *p = "org.freedesktop.DBus.Error.";
        if (strncmp(remote, p, strlen(p)) == 0) {
            const char *tail = remote + strlen(p);
            for (size_t k = 0; k < 4; k++)
                st = strcmp(tail, unsupported[k]) == 0 ? A11Y_NOT_SUPPORTED : st;
            for (size_t k = 0; k < 3; k++)
                st = strcmp(tail, gone[k]) == 0 ? A11Y_NODE_NOT_FOUND : st;
        }
        g_free(remote);
    }
    return st;
}

/* The result of a failed call on node (bus, path): what failed, in its class's words. */
static void set_call_error(struct a11y_result *res, const GError *e, const char *bus,
        const char *path, const char *what) {
    char msg[512];
    snprintf(msg, sizeof msg, "%s", e->message);
    gchar *remote = g_dbus_error_get_remote_error(e);
    if (remote) {
        /* GDBus prefixes "GDBus.Error:<name>: "; the name is said once. */
        g_dbus_error_strip_remote_error((GError *)e);
        snprintf(msg, sizeof msg, "%s: %s", remote, e->message);
        g_free(remote);
    }
    g_strchomp(msg);
    switch (classify(e)) {
    case A11Y_UNAVAILABLE:
        set_result(res, A11Y_UNAVAILABLE, A11Y_UNREACHABLE ": %s: %s", what, msg);
        break;
    case A11Y_NODE_NOT_FOUND:
        set_result(res, A11Y_NODE_NOT_FOUND, NOT_FOUND ": %s:%s: %s", bus, path, msg);
        break;
    case A11Y_NOT_SUPPORTED:
        set_result(res, A11Y_NOT_SUPPORTED, NOT_SUPPORTED ": %s: %s", what, msg);
        break;
    default:
        set_result(res, A11Y_FAILED, "%s on %s:%s failed: %s", what, bus, path, msg);
        break;
    }
}

/* ---- nodes ---- */

struct info {
    gchar *role, *name, *description;
    uint64_t states;
    GVariant *children;     /* (a(so)), when asked for and answered */
    bool component, action; /* its interfaces, when asked for */
};

static void info_free(struct info *in) {
    g_free(in->role);
    g_free(in->name);
    g_free(in->description);
    if (in->children)
        g_variant_unref(in->children);
}

enum { WANT_CHILDREN = 1, WANT_IFACES = 2 };

/*
 * Role, name, description, states, and as asked its children and interfaces,
 * in one batch. -1 with *e when the node does not answer its role.
 */
static int node_info(struct walk *w, const char *bus, const char *path, unsigned want,
        struct info *in, GError **e) {
    *in = (struct info){0};
    struct bcall c[5] = {
            {.iface = A11Y_IFACE, .method = "GetRoleName", .type = "(s)"},
            {.iface = IFACE_PROPS,
                    .method = "GetAll",
                    .args = g_variant_new("(s)", A11Y_IFACE),
                    .type = "(a{sv})"},
            {.iface = A11Y_IFACE, .method = "GetState", .type = "(au)"},
    };
    int n = 3;
    if (want & WANT_CHILDREN)
        c[n++] = (struct bcall){.iface = A11Y_IFACE, .method = "GetChildren", .type = "(a(so))"};
    if (want & WANT_IFACES)
        c[n++] = (struct bcall){.iface = A11Y_IFACE, .method = "GetInterfaces", .type = "(as)"};
    batch(w, bus, path, c, n);
    if (!c[0].reply) {
        g_propagate_error(e, c[0].error);
        c[0].error = NULL;
        batch_free(c, n);
        return -1;
    }
    g_variant_get(c[0].reply, "(s)", &in->role);
    if (c[1].reply) {
        GVariant *all = g_variant_get_child_value(c[1].reply, 0);
        g_variant_lookup(all, "Name", "s", &in->name);
        g_variant_lookup(all, "Description", "s", &in->description);
        g_variant_unref(all);
    }
    if (c[2].reply) {
        GVariantIter *it = NULL;
        guint32 word = 0;
        g_variant_get(c[2].reply, "(au)", &it);
        for (int k = 0; k < 2 && g_variant_iter_next(it, "u", &word); k++)
            in->states |= (uint64_t)word << (32 * k);
        g_variant_iter_free(it);
    }
    for (int k = 3; k < n; k++) {
        if (!c[k].reply)
            continue;
        if (strcmp(c[k].method, "GetChildren") == 0) {
            in->children = g_variant_ref(c[k].reply);
            continue;
        }
        GVariantIter *it = NULL;
        const char *iface = NULL;
        g_variant_get(c[k].reply, "(as)", &it);
        while (g_variant_iter_next(it, "&s", &iface)) {
            in->component |= strcmp(iface, IFACE_COMPONENT) == 0;
            in->action |= strcmp(iface, IFACE_ACTION) == 0;
        }
        g_variant_iter_free(it);
    }
    batch_free(c, n);
    if (!in->name)
        in->name = g_strdup("");
    return 0;
}

static json_t *rect_json(int x, int y, int width, int height) {
    return json_pack("{s:i, s:i, s:i, s:i}", "x", x, "y", y, "width", width, "height", height);
}

/* The action names of a node with n actions, in one batch. */
static json_t *action_names(struct walk *w, const char *bus, const char *path, gint32 n) {
    if (n > 64)
        n = 64; /* no widget has more; a bogus count must not cost thousands of calls */
    struct bcall c[64];
    for (gint32 k = 0; k < n; k++)
        c[k] = (struct bcall){.iface = IFACE_ACTION,
                .method = "GetName",
                .args = g_variant_new("(i)", k),
                .type = "(s)"};
    batch(w, bus, path, c, n);
    json_t *names = json_array();
    for (gint32 k = 0; k < n; k++) {
        const char *s = NULL;
        if (c[k].reply) {
            g_variant_get(c[k].reply, "(&s)", &s);
            json_array_append_new(names, json_string(s));
        }
    }
    batch_free(c, n);
    return names;
}

/* The node as Daytona's AccessibilityNode, without children (in has its interfaces). */
static json_t *node_json(struct walk *w, const char *bus, const char *path, const struct info *in) {
    struct bcall c[2];
    int n = 0, extents = -1, count = -1;
    if (in->component) {
        extents = n;
        c[n++] = (struct bcall){.iface = IFACE_COMPONENT,
                .method = "GetExtents",
                .args = g_variant_new("(u)", 0u),
                .type = "((iiii))"};
    }
    if (in->action) {
        count = n;
        c[n++] = (struct bcall){.iface = IFACE_PROPS,
                .method = "Get",
                .args = g_variant_new("(ss)", IFACE_ACTION, "NActions"),
                .type = "(v)"};
    }
    batch(w, bus, path, c, n);
    gint32 x = 0, y = 0, width = 0, height = 0, nactions = 0;
    if (extents >= 0 && c[extents].reply)
        g_variant_get(c[extents].reply, "((iiii))", &x, &y, &width, &height);
    if (count >= 0 && c[count].reply) {
        GVariant *v = NULL;
        g_variant_get(c[count].reply, "(v)", &v);
        if (g_variant_is_of_type(v, G_VARIANT_TYPE_INT32))
            nactions = g_variant_get_int32(v);
        g_variant_unref(v);
    }
    batch_free(c, n);

    json_t *node = json_object();
    char *id = g_strdup_printf("%s:%s", bus, path);
    json_object_set_new(node, "id", json_string(id));
    g_free(id);
    json_object_set_new(node, "role", json_string(in->role));
    json_object_set_new(node, "name", json_string(in->name));
    if (in->description && *in->description)
        json_object_set_new(node, "description", json_string(in->description));
    json_object_set_new(node, "bounds", rect_json(x, y, width, height));
    json_t *states = json_array();
    for (int k = 0; k < A11Y_STATES_MAX; k++) {
        if (in->states & (1ull << k))
            json_array_append_new(states, json_string(state_names[k]));
    }
    json_object_set_new(node, "states", states);
    if (nactions > 0)
        json_object_set_new(node, "actions", action_names(w, bus, path, nactions));
    if (w->q && w->q->space) {
        int sx0, sy0, sx1, sy1;
        space_from_screen(w->q->space, x, y, &sx0, &sy0);
        space_from_screen(w->q->space, x + width, y + height, &sx1, &sy1);
        json_object_set_new(node, "spaceBounds", rect_json(sx0, sy0, sx1 - sx0, sy1 - sy0));
    }
    return node;
}

/* The children of a node as (bus, path) pairs; NULL with *e. */
static GVariant *children_of(struct walk *w, const char *bus, const char *path, GError **e) {
    return call(w, bus, path, A11Y_IFACE, "GetChildren", NULL, "(a(so))", e);
}

static json_t *walk_tree(struct walk *w, const char *bus, const char *path, int depth, GError **e) {
    w->budget--;
    bool deeper = w->q->max_depth < 0 || depth < w->q->max_depth;
    struct info in;
    if (node_info(w, bus, path, WANT_IFACES | (deeper ? WANT_CHILDREN : 0), &in, e) < 0)
        return NULL;
    json_t *n = node_json(w, bus, path, &in);
    if (!in.children) {
        info_free(&in);
        return n;
    }
    json_t *kids = json_array();
    GVariantIter *it = NULL;
    const char *cbus = NULL, *cpath = NULL;
    GError *ce = NULL;
    g_variant_get(in.children, "(a(so))", &it);
    while (w->budget > 0 && !w->fatal && !w->out_of_time &&
            g_variant_iter_next(it, "(&s&o)", &cbus, &cpath)) {
        /* A child that vanished or does not answer is left out, as Daytona skips vanished ones. */
        json_t *c = walk_tree(w, cbus, cpath, depth + 1, &ce);
        if (c)
            json_array_append_new(kids, c);
        g_clear_error(&ce);
    }
    g_variant_iter_free(it);
    info_free(&in);
    if (json_array_size(kids))
        json_object_set_new(n, "children", kids);
    else
        json_decref(kids);
    return n;
}

static bool passes(const struct walk *w, const struct info *in) {
    const struct a11y_query *q = w->q;
    if (q->role && *q->role && strcasecmp(q->role, in->role) != 0)
        return false;
    if (q->name && *q->name) {
        if (q->name_match == A11Y_MATCH_EXACT && strcmp(in->name, q->name) != 0)
            return false;
        if (q->name_match == A11Y_MATCH_SUBSTRING && !strstr(in->name, q->name))
            return false;
        if (q->name_match == A11Y_MATCH_REGEX && !g_regex_match(w->re, in->name, 0, NULL))
            return false;
    }
    return (in->states & q->states) == q->states;
}

/* DFS pre-order; returns false once the search is over (limit, budget, time, bus gone). */
static bool walk_find(struct walk *w, const char *bus, const char *path, json_t *matches) {
    if (w->budget <= 0 || w->fatal || w->out_of_time)
        return false;
    w->budget--;
    struct info in;
    GError *e = NULL;
    /* The interfaces only matter for a match: asking every node for them costs nothing more
     * than a bigger batch, and saves a round trip per match. */
    if (node_info(w, bus, path, WANT_CHILDREN | WANT_IFACES, &in, &e) < 0) {
        g_clear_error(&e);
        return true;
    }
    bool go = true;
    if (passes(w, &in)) {
        json_array_append_new(matches, node_json(w, bus, path, &in));
        go = (int)json_array_size(matches) < w->q->limit;
    }
    if (go && in.children) {
        GVariantIter *it = NULL;
        const char *cbus = NULL, *cpath = NULL;
        g_variant_get(in.children, "(a(so))", &it);
        while (go && g_variant_iter_next(it, "(&s&o)", &cbus, &cpath))
            go = walk_find(w, cbus, cpath, matches);
        g_variant_iter_free(it);
    }
    info_free(&in);
    return go;
}

/* ---- scopes ---- */

static bool has_active_window(struct walk *w, const char *bus, const char *path) {
    GError *e = NULL;
    GVariant *r = children_of(w, bus, path, &e);
    g_clear_error(&e);
    if (!r)
        return false;
    bool active = false;
    GVariantIter *it = NULL;
    const char *cbus = NULL, *cpath = NULL;
    g_variant_get(r, "(a(so))", &it);
    while (!active && g_variant_iter_next(it, "(&s&o)", &cbus, &cpath)) {
        GVariant *s = call(w, cbus, cpath, A11Y_IFACE, "GetState", NULL, "(au)", &e);
        g_clear_error(&e);
        if (!s)
            continue;
        GVariantIter *words = NULL;
        guint32 word = 0;
        g_variant_get(s, "(au)", &words);
        active = g_variant_iter_next(words, "u", &word) && (word & 2u);
        g_variant_iter_free(words);
        g_variant_unref(s);
    }
    g_variant_iter_free(it);
    g_variant_unref(r);
    return active;
}

static long pid_of(struct walk *w, const char *bus) {
    GError *e = NULL;
    GVariant *r = call(w, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
            "GetConnectionUnixProcessID", g_variant_new("(s)", bus), "(u)", &e);
    g_clear_error(&e);
    if (!r)
        return -1;
    guint32 pid = 0;
    g_variant_get(r, "(u)", &pid);
    g_variant_unref(r);
    return (long)pid;
}

/* The root of the walk: (*bus, *path) g_malloc'd. 0, or -1 with res set. */
static int scope_root(struct walk *w, char **bus, char **path, struct a11y_result *res) {
    if (w->q->scope == A11Y_SCOPE_ALL) {
        *bus = g_strdup(A11Y_REGISTRY_BUS);
        *path = g_strdup(A11Y_ROOT_PATH);
        return 0;
    }
    GError *e = NULL;
    GVariant *apps = children_of(w, A11Y_REGISTRY_BUS, A11Y_ROOT_PATH, &e);
    if (!apps) {
        set_call_error(res, e, A11Y_REGISTRY_BUS, A11Y_ROOT_PATH, "GetChildren");
        g_error_free(e);
        return -1;
    }
    *bus = *path = NULL;
    GVariantIter *it = NULL;
    const char *abus = NULL, *apath = NULL;
    g_variant_get(apps, "(a(so))", &it);
    while (!*bus && g_variant_iter_next(it, "(&s&o)", &abus, &apath)) {
        bool hit = w->q->scope == A11Y_SCOPE_PID ? pid_of(w, abus) == w->q->pid
                                                 : has_active_window(w, abus, apath);
        if (hit) {
            *bus = g_strdup(abus);
            *path = g_strdup(apath);
        }
    }
    g_variant_iter_free(it);
    /* Focused: no active window anywhere means the first application. */
    if (!*bus && w->q->scope == A11Y_SCOPE_FOCUSED) {
        GVariant *list = g_variant_get_child_value(apps, 0);
        if (g_variant_n_children(list) > 0) {
            g_variant_get_child(list, 0, "(so)", bus, path);
        }
        g_variant_unref(list);
    }
    g_variant_unref(apps);
    if (!*bus) {
        set_result(res, A11Y_NO_ROOT, NO_ROOT);
        return -1;
    }
    return 0;
}

static bool check_fatal(struct walk *w, struct a11y_result *res) {
    if (!w->fatal)
        return false;
    set_result(res, A11Y_UNAVAILABLE, A11Y_UNREACHABLE ": %s", w->fatal->message);
    return true;
}

json_t *a11y_tree(const char *session_bus, const struct a11y_query *q, bool *truncated,
        struct a11y_result *res) {
    struct walk w;
    json_t *root = NULL;
    char *bus = NULL, *path = NULL;
    if (walk_open(&w, session_bus, q, res) == 0 && scope_root(&w, &bus, &path, res) == 0) {
        GError *e = NULL;
        root = walk_tree(&w, bus, path, 0, &e);
        if (!root && e) {
            set_call_error(res, e, bus, path, "GetRoleName");
            g_error_free(e);
        } else if (!root) {
            set_result(res, A11Y_FAILED, "the root %s:%s did not answer", bus, path);
        } else if (check_fatal(&w, res)) {
            json_decref(root);
            root = NULL;
        }
        *truncated = w.budget <= 0 || w.out_of_time;
    }
    g_free(bus);
    g_free(path);
    walk_close(&w);
    return root;
}

json_t *a11y_find(const char *session_bus, const struct a11y_query *q, bool *truncated,
        struct a11y_result *res) {
    struct walk w;
    json_t *matches = NULL;
    char *bus = NULL, *path = NULL;
    if (walk_open(&w, session_bus, q, res) < 0) {
        walk_close(&w);
        return NULL;
    }
    if (q->name && *q->name && q->name_match == A11Y_MATCH_REGEX) {
        GError *e = NULL;
        if (!(w.re = g_regex_new(q->name, 0, 0, &e))) {
            set_result(res, A11Y_BAD_REQUEST, BAD_REQUEST ": invalid regex for name filter: %s",
                    e->message);
            g_error_free(e);
            walk_close(&w);
            return NULL;
        }
    }
    if (scope_root(&w, &bus, &path, res) == 0) {
        matches = json_array();
        walk_find(&w, bus, path, matches);
        if (check_fatal(&w, res)) {
            json_decref(matches);
            matches = NULL;
        }
        *truncated = w.budget <= 0 || w.out_of_time || (int)json_array_size(matches) >= q->limit;
    }
    g_free(bus);
    g_free(path);
    walk_close(&w);
    return matches;
}

/* ---- node operations ---- */

/* Splits Daytona's "<bus name>:<object path>". 0, or -1 with res set. */
static int parse_id(const char *id, char **bus, const char **path, struct a11y_result *res) {
    const char *slash = strchr(id, '/');
    const char *why = NULL;
    if (!slash || slash - id <= 1)
        why = "missing object path";
    else if (slash[-1] != ':')
        why = "missing ':' separator before object path";
    else if (!g_variant_is_object_path(slash))
        why = "malformed object path";
    if (why) {
        set_result(res, A11Y_BAD_REQUEST, BAD_REQUEST ": invalid node id \"%s\": %s", id, why);
        return -1;
    }
    *bus = g_strndup(id, (gsize)(slash - 1 - id));
    *path = slash;
    return 0;
}

/*
 * Opens the bus for one node operation: w ready and (*bus, *path) parsed, or
 * -1. A node whose widget is gone (GTK keeps its object, with the defunct
 * state, after its window closed) is not found: acting on it would report a
 * success that did nothing.
 */
static int node_open(struct walk *w, const char *session_bus, const char *id, char **bus,
        const char **path, struct a11y_result *res) {
    *w = (struct walk){0};
    *bus = NULL;
    if (parse_id(id, bus, path, res) < 0 || walk_open(w, session_bus, NULL, res) < 0)
        return -1;
    GError *e = NULL;
    GVariant *r = call(w, *bus, *path, A11Y_IFACE, "GetState", NULL, "(au)", &e);
    if (!r) {
        set_call_error(res, e, *bus, *path, "GetState");
        g_error_free(e);
        return -1;
    }
    GVariantIter *words = NULL;
    guint32 word = 0, any = 0;
    g_variant_get(r, "(au)", &words);
    bool defunct = g_variant_iter_next(words, "u", &word) && (word & (1u << 6));
    any = word;
    while (g_variant_iter_next(words, "u", &word))
        any |= word;
    g_variant_iter_free(words);
    g_variant_unref(r);
    /* No state at all: is it still in its application's tree? GTK 3 detaches the
     * objects of a destroyed window (parent: the null object) and keeps them. */
    bool detached = false;
    if (!defunct && any == 0) {
        GVariant *parent = get_prop(w, *bus, *path, A11Y_IFACE, "Parent", &e);
        g_clear_error(&e);
        const char *pbus = NULL, *ppath = NULL;
        if (parent && g_variant_is_of_type(parent, G_VARIANT_TYPE("(so)"))) {
            g_variant_get(parent, "(&s&o)", &pbus, &ppath);
            detached = strcmp(ppath, "/org/a11y/atspi/null") == 0;
        }
        if (parent)
            g_variant_unref(parent);
    }
    if (defunct || detached) {
        set_result(res, A11Y_NODE_NOT_FOUND, NOT_FOUND ": %s: %s", id,
                defunct ? "it is defunct (its widget is gone)"
                        : "it is no longer in its application's tree (its window closed)");
        return -1;
    }
    return 0;
}

/* A call whose boolean answer is the verdict: 1 true, 0 false, -1 failed (res set). */
static int call_bool(struct walk *w, const char *bus, const char *path, const char *iface,
        const char *method, GVariant *args, struct a11y_result *res) {
    GError *e = NULL;
    GVariant *r = call(w, bus, path, iface, method, args, "(b)", &e);
    if (!r) {
        set_call_error(res, e, bus, path, method);
        g_error_free(e);
        return -1;
    }
    gboolean ok = FALSE;
    g_variant_get(r, "(b)", &ok);
    g_variant_unref(r);
    return ok ? 1 : 0;
}

int a11y_focus(const char *session_bus, const char *id, struct a11y_result *res) {
    struct walk w;
    char *bus;
    const char *path;
    int rc = -1;
    if (node_open(&w, session_bus, id, &bus, &path, res) == 0) {
        int ok = call_bool(&w, bus, path, IFACE_COMPONENT, "GrabFocus", NULL, res);
        if (ok == 0)
            set_result(res, A11Y_NOT_SUPPORTED, NOT_SUPPORTED);
        rc = ok == 1 ? 0 : -1;
    }
    g_free(bus);
    walk_close(&w);
    return rc;
}

int a11y_invoke(
        const char *session_bus, const char *id, const char *action, struct a11y_result *res) {
    struct walk w;
    char *bus;
    const char *path;
    int rc = -1;
    if (node_open(&w, session_bus, id, &bus, &path, res) < 0)
        goto out;
    GError *e = NULL;
    /* The bridges answer a property of an interface the node lacks with a generic failure. */
    if (!has_iface(&w, bus, path, IFACE_ACTION)) {
        set_result(res, A11Y_NOT_SUPPORTED, NOT_SUPPORTED ": node has no actions");
        goto out;
    }
    GVariant *count = get_prop(&w, bus, path, IFACE_ACTION, "NActions", &e);
    if (!count) {
        set_call_error(res, e, bus, path, "NActions");
        g_error_free(e);
        goto out;
    }
    gint32 n = g_variant_is_of_type(count, G_VARIANT_TYPE_INT32) ? g_variant_get_int32(count) : 0;
    g_variant_unref(count);
    gint32 index = -1;
    for (gint32 k = 0; k < n && index < 0; k++) {
        if (!action || !*action) {
            index = 0;
            break;
        }
        GVariant *r =
                call(&w, bus, path, IFACE_ACTION, "GetName", g_variant_new("(i)", k), "(s)", &e);
        if (!r) {
            set_call_error(res, e, bus, path, "GetName");
            g_error_free(e);
            goto out;
        }
        const char *name = NULL;
        g_variant_get(r, "(&s)", &name);
        if (strcasecmp(name, action) == 0)
            index = k;
        g_variant_unref(r);
    }
    if (index < 0) {
        if (n <= 0)
            set_result(res, A11Y_NOT_SUPPORTED, NOT_SUPPORTED ": node has no actions");
        else
            set_result(
                    res, A11Y_NOT_SUPPORTED, NOT_SUPPORTED ": node has no action \"%s\"", action);
        goto out;
    }
    int ok = call_bool(&w, bus, path, IFACE_ACTION, "DoAction", g_variant_new("(i)", index), res);
    if (ok == 0)
        set_result(res, A11Y_NOT_SUPPORTED, NOT_SUPPORTED ": DoAction(%d) returned false", index);
    rc = ok == 1 ? 0 : -1;
out:
    g_free(bus);
    walk_close(&w);
    return rc;
}

int a11y_value(
        const char *session_bus, const char *id, const char *value, struct a11y_result *res) {
    struct walk w;
    char *bus;
    const char *path;
    int rc = -1;
    if (node_open(&w, session_bus, id, &bus, &path, res) < 0)
        goto out;
    GError *e = NULL;
    /* Any answer counts, whatever its boolean says (Daytona's rule). */
    GVariant *r = call(&w, bus, path, IFACE_TEXT_EDIT, "SetTextContents",
            g_variant_new("(s)", value), NULL, &e);
    if (r) {
        g_variant_unref(r);
        rc = 0;
        goto out;
    }
    if (classify(e) != A11Y_NOT_SUPPORTED) {
        set_call_error(res, e, bus, path, "SetTextContents");
        g_error_free(e);
        goto out;
    }
    g_clear_error(&e);
    char *end = NULL;
    errno = 0;
    double d = strtod(value, &end);
    if (!*value || *end || isspace((unsigned char)*value) || !isfinite(d)) {
        set_result(res, A11Y_NOT_SUPPORTED,
                NOT_SUPPORTED ": node has no EditableText and \"%s\" is not numeric: "
                              "strconv.ParseFloat: parsing \"%s\": invalid syntax",
                value, value);
        goto out;
    }
    r = call(&w, bus, path, IFACE_PROPS, "Set",
            g_variant_new("(ssv)", IFACE_VALUE, "CurrentValue", g_variant_new_double(d)), NULL, &e);
    if (!r) {
        set_call_error(res, e, bus, path, "Value.CurrentValue");
        g_error_free(e);
        goto out;
    }
    g_variant_unref(r);
    rc = 0;
out:
    g_free(bus);
    walk_close(&w);
    return rc;
}
