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
    const char *name, *path; /* the node asked */
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
 * The calls c[0..n), to any nodes, sent together and awaited together: one
 * wait for all instead of one each. The same bounds as call().
 */
static void batch(struct walk *w, struct bcall *c, int n) {
    int pending = 0;
    int64_t left = util_ms_left(w->deadline);
    int timeout = left < A11Y_CALL_TIMEOUT_MS ? (int)left : A11Y_CALL_TIMEOUT_MS;
    for (int k = 0; k < n; k++) {
        c[k].reply = NULL;
        c[k].error = NULL;
        c[k].pending = &pending;
        if (left == 0 || g_hash_table_contains(w->stalled, c[k].name)) {
            if (c[k].args)
                g_variant_unref(g_variant_ref_sink(c[k].args));
            w->out_of_time |= left == 0;
            g_set_error(&c[k].error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "%s did not answer in time",
                    c[k].name);
            continue;
        }
        pending++;
        g_dbus_connection_call(w->bus, c[k].name, c[k].path, c[k].iface, c[k].method, c[k].args,
                c[k].type ? G_VARIANT_TYPE(c[k].type) : NULL, G_DBUS_CALL_FLAGS_NONE, timeout, NULL,
                batch_reply, &c[k]);
    }
    while (pending > 0)
        g_main_context_iteration(w->ctx, TRUE);
    for (int k = 0; k < n; k++) {
        if (g_error_matches(c[k].error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
            g_hash_table_add(w->stalled, g_strdup(c[k].name));
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
    gint32 x, y, width, height, nactions;
    json_t *actions; /* the action names, once fetched */
};

/* A node to read: where it is, what it answered, and the error of its role if it did not. */
struct fetched {
    const char *bus, *path;
    struct info in;
    bool ok;
    GError *error;
};

static void fetched_free(struct fetched *f, int n) {
    for (int i = 0; i < n; i++) {
        g_free(f[i].in.role);
        g_free(f[i].in.name);
        g_free(f[i].in.description);
        if (f[i].in.children)
            g_variant_unref(f[i].in.children);
        json_decref(f[i].in.actions);
        g_clear_error(&f[i].error);
    }
}

enum { WANT_CHILDREN = 1, WANT_IFACES = 2 };
#define MAX_ACTIONS 64 /* no widget has more; a bogus count must not cost thousands of calls */

static void read_basics(struct fetched *f, struct bcall *c, int n) {
    struct info *in = &f->in;
    if (!c[0].reply) {
        f->error = c[0].error;
        c[0].error = NULL;
        return;
    }
    f->ok = true;
    g_variant_get(c[0].reply, "(s)", &in->role);
    if (c[1].reply) {
        GVariant *all = g_variant_get_child_value(c[1].reply, 0);
        g_variant_lookup(all, "Name", "s", &in->name);
        g_variant_lookup(all, "Description", "s", &in->description);
        g_variant_unref(all);
    }
    if (!in->name)
        in->name = g_strdup("");
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
}

/*
 * Reads the nodes f[0..n) at once: role, name, description, states, and as
 * asked children and interfaces, all in one batch. A node that does not
 * answer its role is not ok (f->error says why).
 */
static void fetch_basics(struct walk *w, struct fetched *f, int n, unsigned want) {
    int per = 3 + !!(want & WANT_CHILDREN) + !!(want & WANT_IFACES);
    struct bcall *c = g_new0(struct bcall, (gsize)n * per);
    for (int i = 0; i < n; i++) {
        struct bcall *b = c + (ptrdiff_t)i * per;
        int k = 0;
        b[k++] = (struct bcall){.iface = A11Y_IFACE, .method = "GetRoleName", .type = "(s)"};
        b[k++] = (struct bcall){.iface = IFACE_PROPS,
                .method = "GetAll",
                .args = g_variant_new("(s)", A11Y_IFACE),
                .type = "(a{sv})"};
        b[k++] = (struct bcall){.iface = A11Y_IFACE, .method = "GetState", .type = "(au)"};
        if (want & WANT_CHILDREN)
            b[k++] =
                    (struct bcall){.iface = A11Y_IFACE, .method = "GetChildren", .type = "(a(so))"};
        if (want & WANT_IFACES)
            b[k++] = (struct bcall){.iface = A11Y_IFACE, .method = "GetInterfaces", .type = "(as)"};
        for (k = 0; k < per; k++) {
            b[k].name = f[i].bus;
            b[k].path = f[i].path;
        }
    }
    batch(w, c, n * per);
    for (int i = 0; i < n; i++)
        read_basics(&f[i], c + (ptrdiff_t)i * per, per);
    batch_free(c, n * per);
    g_free(c);
}

/* Then the extents, action counts and action names of the ok nodes, in two batches for all. */
static void fetch_details(struct walk *w, struct fetched *f, int n) {
    struct bcall *c = g_new0(struct bcall, (gsize)n * 2);
    int m = 0;
    for (int i = 0; i < n; i++) {
        struct info *in = &f[i].in;
        if (f[i].ok && in->component)
            c[m++] = (struct bcall){.name = f[i].bus,
                    .path = f[i].path,
                    .iface = IFACE_COMPONENT,
                    .method = "GetExtents",
                    .args = g_variant_new("(u)", 0u),
                    .type = "((iiii))"};
        if (f[i].ok && in->action)
            c[m++] = (struct bcall){.name = f[i].bus,
                    .path = f[i].path,
                    .iface = IFACE_PROPS,
                    .method = "Get",
                    .args = g_variant_new("(ss)", IFACE_ACTION, "NActions"),
                    .type = "(v)"};
    }
    batch(w, c, m);
    int k = 0, names = 0;
    for (int i = 0; i < n; i++) {
        struct info *in = &f[i].in;
        if (f[i].ok && in->component && c[k++].reply)
            g_variant_get(c[k - 1].reply, "((iiii))", &in->x, &in->y, &in->width, &in->height);
        if (f[i].ok && in->action && c[k++].reply) {
            GVariant *v = NULL;
            g_variant_get(c[k - 1].reply, "(v)", &v);
            if (g_variant_is_of_type(v, G_VARIANT_TYPE_INT32))
                in->nactions = g_variant_get_int32(v);
            g_variant_unref(v);
            in->nactions = in->nactions < 0 ? 0 : MIN(in->nactions, MAX_ACTIONS);
            names += in->nactions;
        }
    }
    batch_free(c, m);
    g_free(c);
    if (names == 0)
        return;
    c = g_new0(struct bcall, (gsize)names);
    m = 0;
    for (int i = 0; i < n; i++) {
        for (gint32 a = 0; f[i].ok && a < f[i].in.nactions; a++)
            c[m++] = (struct bcall){.name = f[i].bus,
                    .path = f[i].path,
                    .iface = IFACE_ACTION,
                    .method = "GetName",
                    .args = g_variant_new("(i)", a),
                    .type = "(s)"};
    }
    batch(w, c, m);
    m = 0;
    for (int i = 0; i < n; i++) {
        if (!f[i].ok || f[i].in.nactions == 0)
            continue;
        f[i].in.actions = json_array();
        for (gint32 a = 0; a < f[i].in.nactions; a++, m++) {
            const char *s = NULL;
            if (c[m].reply) {
                g_variant_get(c[m].reply, "(&s)", &s);
                json_array_append_new(f[i].in.actions, json_string(s));
            }
        }
    }
    batch_free(c, names);
    g_free(c);
}

static json_t *rect_json(int x, int y, int width, int height) {
    return json_pack("{s:i, s:i, s:i, s:i}", "x", x, "y", y, "width", width, "height", height);
}

/* The node as Daytona's AccessibilityNode, without children, from what was fetched. */
static json_t *node_json(const struct walk *w, const struct fetched *f) {
    const struct info *in = &f->in;
    json_t *node = json_object();
    char *id = g_strdup_printf("%s:%s", f->bus, f->path);
    json_object_set_new(node, "id", json_string(id));
    g_free(id);
    json_object_set_new(node, "role", json_string(in->role));
    json_object_set_new(node, "name", json_string(in->name));
    if (in->description && *in->description)
        json_object_set_new(node, "description", json_string(in->description));
    json_object_set_new(node, "bounds", rect_json(in->x, in->y, in->width, in->height));
    json_t *states = json_array();
    for (int k = 0; k < A11Y_STATES_MAX; k++) {
        if (in->states & (1ull << k))
            json_array_append_new(states, json_string(state_names[k]));
    }
    json_object_set_new(node, "states", states);
    if (in->actions && json_array_size(in->actions))
        json_object_set_new(node, "actions", json_incref(in->actions));
    if (w->q && w->q->space) {
        int sx0, sy0, sx1, sy1;
        space_from_screen(w->q->space, in->x, in->y, &sx0, &sy0);
        space_from_screen(w->q->space, in->x + in->width, in->y + in->height, &sx1, &sy1);
        json_object_set_new(node, "spaceBounds", rect_json(sx0, sy0, sx1 - sx0, sy1 - sy0));
    }
    return node;
}

/* The children of a node as (bus, path) pairs; NULL with *e. */
static GVariant *children_of(struct walk *w, const char *bus, const char *path, GError **e) {
    return call(w, bus, path, A11Y_IFACE, "GetChildren", NULL, "(a(so))", e);
}

/*
 * The first n children listed in in->children as fetched entries (to free
 * with fetched_free and g_free), their paths borrowed from in; *n is capped
 * by the budget left, since no more of them can be visited.
 */
static struct fetched *children_entries(const struct walk *w, const struct info *in, int *n) {
    *n = 0;
    if (!in->children)
        return NULL;
    GVariant *list = g_variant_get_child_value(in->children, 0);
    gsize count = g_variant_n_children(list);
    g_variant_unref(list);
    int cap = w->budget > 0 ? w->budget : 0;
    *n = count < (gsize)cap ? (int)count : cap;
    struct fetched *f = g_new0(struct fetched, (gsize)(*n > 0 ? *n : 1));
    GVariantIter *it = NULL;
    g_variant_get(in->children, "(a(so))", &it);
    for (int i = 0; i < *n; i++)
        g_variant_iter_next(it, "(&s&o)", &f[i].bus, &f[i].path);
    g_variant_iter_free(it);
    return f;
}

/*
 * Adds the children of node (fetched as parent) at depth, and theirs: every
 * child of one node is read in the same batches, so a node with k children
 * costs three waits, not 3k. The visiting order and the budget are Daytona's
 * (DFS pre-order, one unit per node visited).
 */
static void walk_children(struct walk *w, json_t *node, const struct fetched *parent, int depth) {
    int n = 0;
    struct fetched *f = children_entries(w, &parent->in, &n);
    if (n == 0) {
        g_free(f);
        return;
    }
    bool deeper = w->q->max_depth < 0 || depth + 1 < w->q->max_depth;
    fetch_basics(w, f, n, WANT_IFACES | (deeper ? WANT_CHILDREN : 0));
    fetch_details(w, f, n);
    json_t *kids = json_array();
    for (int i = 0; i < n && w->budget > 0 && !w->fatal && !w->out_of_time; i++) {
        w->budget--;
        /* A child that vanished or does not answer is left out, as Daytona skips vanished ones. */
        if (!f[i].ok)
            continue;
        json_t *c = node_json(w, &f[i]);
        walk_children(w, c, &f[i], depth + 1);
        json_array_append_new(kids, c);
    }
    fetched_free(f, n);
    g_free(f);
    if (json_array_size(kids))
        json_object_set_new(node, "children", kids);
    else
        json_decref(kids);
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

/* Visits the fetched node f in DFS pre-order; false once the search is over. */
static bool find_in(struct walk *w, struct fetched *f, json_t *matches) {
    if (f->ok && passes(w, &f->in)) {
        fetch_details(w, f, 1);
        json_array_append_new(matches, node_json(w, f));
        if ((int)json_array_size(matches) >= w->q->limit)
            return false;
    }
    int n = 0;
    struct fetched *kids = f->ok ? children_entries(w, &f->in, &n) : NULL;
    bool go = true;
    if (n > 0)
        fetch_basics(w, kids, n, WANT_CHILDREN | WANT_IFACES);
    for (int i = 0; i < n && go; i++) {
        if (w->budget <= 0 || w->fatal || w->out_of_time)
            go = false;
        else {
            w->budget--;
            go = find_in(w, &kids[i], matches);
        }
    }
    fetched_free(kids, n);
    g_free(kids);
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
        struct fetched f = {.bus = bus, .path = path};
        bool deeper = q->max_depth != 0;
        w.budget--;
        fetch_basics(&w, &f, 1, WANT_IFACES | (deeper ? WANT_CHILDREN : 0));
        fetch_details(&w, &f, 1);
        if (!f.ok && f.error) {
            set_call_error(res, f.error, bus, path, "GetRoleName");
        } else if (!f.ok) {
            set_result(res, A11Y_FAILED, "the root %s:%s did not answer", bus, path);
        } else if (check_fatal(&w, res)) {
            /* the bus went away */
        } else {
            root = node_json(&w, &f);
            walk_children(&w, root, &f, 0);
            if (check_fatal(&w, res)) {
                json_decref(root);
                root = NULL;
            }
        }
        fetched_free(&f, 1);
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
        struct fetched f = {.bus = bus, .path = path};
        w.budget--;
        fetch_basics(&w, &f, 1, WANT_CHILDREN | WANT_IFACES);
        find_in(&w, &f, matches);
        fetched_free(&f, 1);
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
