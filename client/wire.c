/*
 * wire: the reply side of the contract. Each parser loads one body with jansson, checks
 * every field it hands on (integers are JSON integers within int, strings are strings,
 * lists are lists) and builds the caller's struct only once everything checked, so a
 * malformed reply yields DESK_ERR_PROTOCOL with the offending field named and nothing
 * half-built. Unknown members are ignored, as the contract allows.
 *
 * It does not do HTTP, and it does not validate what a server may reasonably choose
 * (window titles, log text, coordinates outside the screen).
 */
#define _GNU_SOURCE /* memmem */
#include "wire.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "desk/wire.h"
#include "util.h"

void wire_ok(struct desk_err *e) {
    e->status = DESK_OK;
    e->http = 0;
    e->code[0] = '\0';
    e->msg[0] = '\0';
}

void wire_fail_set(struct desk_err *e, enum desk_status status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    e->status = status;
}

void wire_prefix(struct desk_err *e, const char *prefix) {
    size_t cap = sizeof e->msg - 1, pn = strlen(prefix), mn = strlen(e->msg);
    if (pn > cap)
        pn = cap;
    if (mn > cap - pn)
        mn = cap - pn;
    memmove(e->msg + pn, e->msg, mn);
    memcpy(e->msg, prefix, pn);
    e->msg[pn + mn] = '\0';
}

enum desk_status wire_http_status(long http) {
    switch (http) {
    case 400:
        return DESK_ERR_BAD_REQUEST;
    case 401:
        return DESK_ERR_UNAUTHORIZED;
    case 404:
        return DESK_ERR_NOT_FOUND;
    case 405:
        return DESK_ERR_METHOD;
    case 409:
        return DESK_ERR_CONFLICT;
    case 413:
        return DESK_ERR_BODY_TOO_LARGE;
    case 500:
        return DESK_ERR_SERVER;
    case 503:
        return DESK_ERR_UNAVAILABLE;
    default:
        return DESK_ERR_HTTP;
    }
}

/* The first bytes of a body, printable, for messages about replies that are not JSON. */
static void snippet(const char *body, size_t len, char *out, size_t outlen) {
    size_t n = 0;
    for (size_t i = 0; i < len && n + 4 < outlen && i < 60; i++) {
        unsigned char ch = (unsigned char)body[i];
        out[n++] = (char)((ch >= 0x20 && ch < 0x7f) ? ch : '.');
    }
    if (len > 60 && n + 4 < outlen) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
}

#define DESK_WIRE_CODE_ROW_(code, http, client, sentence) {#code, DESK_##client},
static const struct {
    const char *code;
    enum desk_status status;
} wire_codes[] = {DESK_WIRE_ERRORS(DESK_WIRE_CODE_ROW_)};
#undef DESK_WIRE_CODE_ROW_

enum desk_status wire_code_status(const char *code, long http) {
    for (size_t i = 0; code && i < sizeof wire_codes / sizeof wire_codes[0]; i++) {
        if (strcmp(code, wire_codes[i].code) == 0)
            return wire_codes[i].status;
    }
    return wire_http_status(http);
}

enum desk_status wire_error_reply(long http, const char *body, size_t len, struct desk_err *e) {
    e->http = http;
    e->code[0] = '\0';
    json_t *root = len ? json_loadb(body, len, 0, NULL) : NULL;
    const char *msg = json_string_value(json_object_get(root, "message"));
    if (!msg || !*msg)
        msg = json_string_value(json_object_get(root, "error"));
    const char *code = json_string_value(json_object_get(root, "code"));
    if (code)
        snprintf(e->code, sizeof e->code, "%s", code);
    /* The code says more than the status: a 503 may be a stopped desktop or a busy queue. */
    enum desk_status st = wire_code_status(code, http);
    if (msg && *msg) {
        wire_fail(e, st, "%s", msg);
    } else {
        char snip[80];
        snippet(body, len, snip, sizeof snip);
        if (len)
            wire_fail(e, st, "the server answered HTTP %ld without an error message: \"%s\"", http,
                    snip);
        else
            wire_fail(e, st, "the server answered HTTP %ld with an empty body", http);
    }
    json_decref(root);
    return st;
}

/* Loads a body that must be a JSON object. */
static json_t *load_object(const char *body, size_t len, struct desk_err *e) {
    json_error_t jerr;
    json_t *root = json_loadb(body, len, JSON_DECODE_ANY, &jerr);
    if (!root) {
        char snip[80];
        snippet(body, len, snip, sizeof snip);
        wire_fail(e, DESK_ERR_PROTOCOL, "the reply is not JSON (%s): \"%s\"", jerr.text, snip);
        return NULL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        wire_fail(e, DESK_ERR_PROTOCOL, "the reply is JSON but not an object");
        return NULL;
    }
    return root;
}

static enum desk_status get_int(const json_t *obj, const char *key, int *out, struct desk_err *e) {
    const json_t *v = json_object_get(obj, key);
    if (!json_is_integer(v))
        return wire_fail(e, DESK_ERR_PROTOCOL, "\"%s\" is %s, not an integer", key,
                v ? "of another type" : "missing");
    json_int_t n = json_integer_value(v);
    if (n < INT_MIN || n > INT_MAX)
        return wire_fail(e, DESK_ERR_PROTOCOL, "\"%s\" is out of range: %lld", key, (long long)n);
    *out = (int)n;
    return DESK_OK;
}

static enum desk_status get_bool(
        const json_t *obj, const char *key, bool *out, struct desk_err *e) {
    const json_t *v = json_object_get(obj, key);
    if (!json_is_boolean(v))
        return wire_fail(e, DESK_ERR_PROTOCOL, "\"%s\" is %s, not a boolean", key,
                v ? "of another type" : "missing");
    *out = json_is_true(v);
    return DESK_OK;
}

static enum desk_status get_string(
        const json_t *obj, const char *key, const char **out, struct desk_err *e) {
    const json_t *v = json_object_get(obj, key);
    if (!json_is_string(v))
        return wire_fail(e, DESK_ERR_PROTOCOL, "\"%s\" is %s, not a string", key,
                v ? "of another type" : "missing");
    *out = json_string_value(v);
    return DESK_OK;
}

/* An object member that must itself be an object; the key names it in the message. */
static const json_t *get_object(const json_t *obj, const char *key, struct desk_err *e) {
    const json_t *v = json_object_get(obj, key);
    if (!json_is_object(v))
        wire_fail(e, DESK_ERR_PROTOCOL, "\"%s\" is %s, not an object", key,
                v ? "of another type" : "missing");
    return json_is_object(v) ? v : NULL;
}

static const json_t *get_array(const json_t *obj, const char *key, struct desk_err *e) {
    const json_t *v = json_object_get(obj, key);
    if (!json_is_array(v))
        wire_fail(e, DESK_ERR_PROTOCOL, "\"%s\" is %s, not a list", key,
                v ? "of another type" : "missing");
    return json_is_array(v) ? v : NULL;
}

/* Adds "in <where>" to a message about a nested field, keeping the field's own text. */
static enum desk_status nested(struct desk_err *e, const char *where) {
    char inner[sizeof e->msg];
    snprintf(inner, sizeof inner, "%s", e->msg);
    return wire_fail(e, e->status, "%s, in %s", inner, where);
}

static char *dup_string(const char *s, struct desk_err *e) {
    char *d = strdup(s);
    if (!d)
        wire_fail(e, DESK_ERR_NOMEM, "out of memory");
    return d;
}

/* *dst = a copy of s. */
static enum desk_status set_string(char **dst, const char *s, struct desk_err *e) {
    *dst = dup_string(s, e);
    return *dst ? DESK_OK : e->status;
}

enum desk_status wire_health(const char *body, size_t len, struct desk_err *e, char **version) {
    json_t *root = load_object(body, len, e);
    if (!root)
        return e->status;
    const char *st = NULL, *ver = NULL;
    enum desk_status rc = get_string(root, "status", &st, e);
    if (rc == DESK_OK)
        rc = get_string(root, "version", &ver, e);
    if (rc == DESK_OK && strcmp(st, "ok") != 0)
        rc = wire_fail(e, DESK_ERR_PROTOCOL, "\"status\" is \"%.64s\", not \"ok\"", st);
    if (rc == DESK_OK && version && !(*version = dup_string(ver, e)))
        rc = e->status;
    json_decref(root);
    return rc;
}

enum desk_status wire_point(
        const char *body, size_t len, struct desk_err *e, struct desk_point *out) {
    json_t *root = load_object(body, len, e);
    if (!root)
        return e->status;
    struct desk_point p;
    enum desk_status rc = get_int(root, "x", &p.x, e);
    if (rc == DESK_OK)
        rc = get_int(root, "y", &p.y, e);
    if (rc == DESK_OK)
        *out = p;
    json_decref(root);
    return rc;
}

enum desk_status wire_success(const char *body, size_t len, struct desk_err *e) {
    json_t *root = load_object(body, len, e);
    if (!root)
        return e->status;
    bool ok = false;
    enum desk_status rc = get_bool(root, "success", &ok, e);
    if (rc == DESK_OK && !ok)
        rc = wire_fail(e, DESK_ERR_PROTOCOL, "\"success\" is false in a 200 reply");
    json_decref(root);
    return rc;
}

enum desk_status wire_object(const char *body, size_t len, struct desk_err *e) {
    json_t *root = load_object(body, len, e);
    json_decref(root);
    return root ? DESK_OK : e->status;
}

/* "x", "y", "width", "height" and "isActive", as displays and windows carry them. */
static enum desk_status get_geometry(const json_t *o, int *x, int *y, int *width, int *height,
        bool *active, struct desk_err *e) {
    enum desk_status rc = get_int(o, "x", x, e);
    if (rc == DESK_OK)
        rc = get_int(o, "y", y, e);
    if (rc == DESK_OK)
        rc = get_int(o, "width", width, e);
    if (rc == DESK_OK)
        rc = get_int(o, "height", height, e);
    return rc == DESK_OK ? get_bool(o, "isActive", active, e) : rc;
}

/* Builds one list item from an element; the item's memory is zeroed. */
typedef enum desk_status (*item_fn)(const json_t *o, void *item, struct desk_err *e);

/*
 * The array member key, each element made into an item of size bytes by from:
 * *items is a new array (NULL when empty) and *built counts the items made, so
 * that freeing a half-built list is exact. A failure names the element.
 */
static enum desk_status get_list(const json_t *root, const char *key, size_t size, item_fn from,
        void **items, size_t *built, struct desk_err *e) {
    const json_t *list = get_array(root, key, e);
    if (!list)
        return e->status;
    size_t n = json_array_size(list);
    if (n && !(*items = calloc(n, size)))
        return wire_fail(e, DESK_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        enum desk_status rc = from(json_array_get(list, i), (char *)*items + i * size, e);
        if (rc != DESK_OK) {
            char where[64];
            snprintf(where, sizeof where, "%s[%zu]", key, i);
            return nested(e, where);
        }
        (*built)++;
    }
    return DESK_OK;
}

static enum desk_status display_from(const json_t *o, void *item, struct desk_err *e) {
    struct desk_display *d = item;
    if (!json_is_object(o))
        return wire_fail(e, DESK_ERR_PROTOCOL, "a display is not an object");
    enum desk_status rc = get_int(o, "id", &d->id, e);
    return rc == DESK_OK ? get_geometry(o, &d->x, &d->y, &d->width, &d->height, &d->active, e) : rc;
}

enum desk_status wire_display_info(
        const char *body, size_t len, struct desk_err *e, struct desk_display_info **out) {
    *out = NULL;
    json_t *root = load_object(body, len, e);
    if (!root)
        return e->status;
    struct desk_display_info *info = calloc(1, sizeof *info);
    enum desk_status rc = info ? get_list(root, "displays", sizeof *info->displays, display_from,
                                         (void **)&info->displays, &info->count, e)
                               : wire_fail(e, DESK_ERR_NOMEM, "out of memory");
    if (rc == DESK_OK) {
        const json_t *prim = get_object(root, "primary_display", e);
        rc = prim ? display_from(prim, &info->primary, e) : e->status;
        if (prim && rc != DESK_OK)
            nested(e, "primary_display");
    }
    if (rc == DESK_OK)
        rc = get_int(root, "total_displays", &info->total, e);
    json_decref(root);
    if (rc != DESK_OK) {
        desk_display_info_free(info);
        return rc;
    }
    *out = info;
    return DESK_OK;
}

static enum desk_status window_from(const json_t *o, void *item, struct desk_err *e) {
    struct desk_window *w = item;
    if (!json_is_object(o))
        return wire_fail(e, DESK_ERR_PROTOCOL, "a window is not an object");
    const json_t *id = json_object_get(o, "id");
    const json_t *pid = json_object_get(o, "pid");
    const char *title = NULL;
    /* X ids are 29-bit and pids positive: anything negative is not what the contract says. */
    if (!json_is_integer(id) || json_integer_value(id) < 0)
        return wire_fail(e, DESK_ERR_PROTOCOL, "\"id\" is not a non-negative integer");
    if (pid && !json_is_null(pid) && (!json_is_integer(pid) || json_integer_value(pid) < 0))
        return wire_fail(e, DESK_ERR_PROTOCOL, "\"pid\" is not a non-negative integer");
    enum desk_status rc = get_string(o, "title", &title, e);
    if (rc == DESK_OK)
        rc = get_geometry(o, &w->x, &w->y, &w->width, &w->height, &w->active, e);
    if (rc != DESK_OK)
        return rc;
    w->id = (unsigned long)json_integer_value(id);
    w->pid = json_is_integer(pid) ? (long)json_integer_value(pid) : 0;
    /* [ext] type and states: "" from a server that does not send them. */
    const json_t *type = json_object_get(o, "type"), *states = json_object_get(o, "states");
    size_t total = 1, i;
    const json_t *v;
    json_array_foreach(states, i, v) total += json_string_length(v) + 1;
    if (!(w->states = calloc(1, total)))
        return wire_fail(e, DESK_ERR_NOMEM, "out of memory");
    size_t at = 0;
    json_array_foreach(states, i, v) {
        if (!json_is_string(v)) {
            free(w->states);
            w->states = NULL;
            return wire_fail(e, DESK_ERR_PROTOCOL, "\"states\" holds a value that is no string");
        }
        if (i)
            w->states[at++] = ',';
        memcpy(w->states + at, json_string_value(v), json_string_length(v));
        at += json_string_length(v);
    }
    rc = set_string(&w->type, json_is_string(type) ? json_string_value(type) : "", e);
    if (rc == DESK_OK)
        rc = set_string(&w->title, title, e);
    if (rc != DESK_OK) {
        /* Only whole items are freed by the list's owner. */
        free(w->states);
        free(w->type);
        w->states = w->type = NULL;
    }
    return rc;
}

enum desk_status wire_window(
        const char *body, size_t len, struct desk_err *e, struct desk_window_list **out) {
    *out = NULL;
    json_t *root = load_object(body, len, e);
    if (!root)
        return e->status;
    struct desk_window_list *wl = calloc(1, sizeof *wl);
    if (wl)
        wl->windows = calloc(1, sizeof *wl->windows);
    enum desk_status rc = wl && wl->windows ? window_from(root, wl->windows, e)
                                            : wire_fail(e, DESK_ERR_NOMEM, "out of memory");
    if (wl)
        wl->count = 1; /* what window_from filled is freed with it */
    json_decref(root);
    if (rc != DESK_OK) {
        desk_window_list_free(wl);
        return rc;
    }
    *out = wl;
    return DESK_OK;
}

static enum desk_status app_from(const json_t *o, void *item, struct desk_err *e) {
    struct desk_app *a = item;
    const json_t *pid = json_object_get(o, "pid"), *at = json_object_get(o, "startedAt");
    const char *cmd = NULL;
    if (!json_is_object(o) || !json_is_integer(pid) || json_integer_value(pid) <= 0)
        return wire_fail(e, DESK_ERR_PROTOCOL, "an app is not an object with a positive \"pid\"");
    enum desk_status rc = get_string(o, "command", &cmd, e);
    if (rc != DESK_OK)
        return rc;
    a->pid = (long)json_integer_value(pid);
    a->started_ms = json_is_integer(at) ? (int64_t)json_integer_value(at) : 0;
    return set_string(&a->command, cmd, e);
}

enum desk_status wire_apps(
        const char *body, size_t len, struct desk_err *e, struct desk_app_list **out) {
    *out = NULL;
    json_t *root = load_object(body, len, e);
    if (!root)
        return e->status;
    struct desk_app_list *al = calloc(1, sizeof *al);
    enum desk_status rc = al ? get_list(root, "apps", sizeof *al->apps, app_from,
                                       (void **)&al->apps, &al->count, e)
                             : wire_fail(e, DESK_ERR_NOMEM, "out of memory");
    json_decref(root);
    if (rc != DESK_OK) {
        desk_app_list_free(al);
        return rc;
    }
    *out = al;
    return DESK_OK;
}

enum desk_status wire_launch(const char *body, size_t len, struct desk_err *e, long *pid,
        struct desk_window_list **window) {
    if (window)
        *window = NULL;
    json_t *root = load_object(body, len, e);
    if (!root)
        return e->status;
    const json_t *p = json_object_get(root, "pid"), *w = json_object_get(root, "window");
    enum desk_status rc = DESK_OK;
    if (!json_is_integer(p) || json_integer_value(p) <= 0)
        rc = wire_fail(e, DESK_ERR_PROTOCOL, "\"pid\" is not a positive integer");
    else
        *pid = (long)json_integer_value(p);
    if (rc == DESK_OK && window && json_is_object(w)) {
        struct desk_window_list *wl = calloc(1, sizeof *wl);
        if (wl)
            wl->windows = calloc(1, sizeof *wl->windows);
        rc = wl && wl->windows ? window_from(w, wl->windows, e)
                               : wire_fail(e, DESK_ERR_NOMEM, "out of memory");
        if (wl)
            wl->count = 1;
        if (rc == DESK_OK)
            *window = wl;
        else
            desk_window_list_free(wl);
    }
    json_decref(root);
    return rc;
}

enum desk_status wire_windows(
        const char *body, size_t len, struct desk_err *e, struct desk_window_list **out) {
    *out = NULL;
    json_t *root = load_object(body, len, e);
    if (!root)
        return e->status;
    struct desk_window_list *wl = calloc(1, sizeof *wl);
    enum desk_status rc = wl ? get_list(root, "windows", sizeof *wl->windows, window_from,
                                       (void **)&wl->windows, &wl->count, e)
                             : wire_fail(e, DESK_ERR_NOMEM, "out of memory");
    size_t n = wl ? wl->count : 0;
    int count = 0;
    if (rc == DESK_OK)
        rc = get_int(root, "count", &count, e);
    if (rc == DESK_OK && (count < 0 || (size_t)count != n))
        rc = wire_fail(
                e, DESK_ERR_PROTOCOL, "\"count\" is %d but the list has %zu windows", count, n);
    json_decref(root);
    if (rc != DESK_OK) {
        desk_window_list_free(wl);
        return rc;
    }
    *out = wl;
    return DESK_OK;
}

static enum desk_status process_from(
        const char *name, const json_t *o, struct desk_process *p, struct desk_err *e) {
    if (!json_is_object(o))
        return wire_fail(e, DESK_ERR_PROTOCOL, "the status of \"%.64s\" is not an object", name);
    const json_t *pid = json_object_get(o, "pid");
    enum desk_status rc = get_bool(o, "running", &p->running, e);
    if (rc == DESK_OK)
        rc = get_int(o, "priority", &p->priority, e);
    if (rc == DESK_OK)
        rc = get_bool(o, "autoRestart", &p->auto_restart, e);
    if (rc == DESK_OK && !json_is_null(pid) &&
            (!json_is_integer(pid) || json_integer_value(pid) <= 0))
        rc = wire_fail(e, DESK_ERR_PROTOCOL, "\"pid\" is %s, not a positive integer or null",
                pid ? "of another type" : "missing");
    if (rc != DESK_OK) {
        char where[96];
        snprintf(where, sizeof where, "status.%.64s", name);
        return nested(e, where);
    }
    p->pid = json_is_integer(pid) ? (long)json_integer_value(pid) : -1;
    return set_string(&p->name, name, e);
}

enum desk_status wire_processes(
        const char *body, size_t len, struct desk_err *e, struct desk_processes **out) {
    *out = NULL;
    json_t *root = load_object(body, len, e);
    if (!root)
        return e->status;
    struct desk_processes *ps = calloc(1, sizeof *ps);
    const char *message = NULL;
    enum desk_status rc = ps ? get_string(root, "message", &message, e)
                             : wire_fail(e, DESK_ERR_NOMEM, "out of memory");
    const json_t *map = rc == DESK_OK ? get_object(root, "status", e) : NULL;
    if (rc == DESK_OK && !map)
        rc = e->status;
    size_t n = json_object_size(map);
    if (rc == DESK_OK && !(ps->message = dup_string(message, e)))
        rc = e->status;
    if (rc == DESK_OK && n && !(ps->procs = calloc(n, sizeof *ps->procs)))
        rc = wire_fail(e, DESK_ERR_NOMEM, "out of memory");
    /* jansson keeps members in the order received: the server's start order. */
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)map, key, val) {
        if (rc != DESK_OK || ps->count >= n)
            break;
        rc = process_from(key, val, &ps->procs[ps->count], e);
        if (rc == DESK_OK)
            ps->count++;
    }
    json_decref(root);
    if (rc != DESK_OK) {
        desk_processes_free(ps);
        return rc;
    }
    *out = ps;
    return DESK_OK;
}

enum desk_status wire_state(
        const char *body, size_t len, struct desk_err *e, enum desk_desktop_state *out) {
    json_t *root = load_object(body, len, e);
    if (!root)
        return e->status;
    const char *s = NULL;
    enum desk_status rc = get_string(root, "status", &s, e);
    if (rc == DESK_OK) {
        if (strcmp(s, "active") == 0)
            *out = DESK_DESKTOP_ACTIVE;
        else if (strcmp(s, "partial") == 0)
            *out = DESK_DESKTOP_PARTIAL;
        else if (strcmp(s, "inactive") == 0)
            *out = DESK_DESKTOP_INACTIVE;
        else
            rc = wire_fail(e, DESK_ERR_PROTOCOL,
                    "\"status\" is \"%.64s\", not active, partial or inactive", s);
    }
    json_decref(root);
    return rc;
}

enum desk_status wire_running(const char *body, size_t len, struct desk_err *e, bool *running) {
    json_t *root = load_object(body, len, e);
    if (!root)
        return e->status;
    const char *name = NULL;
    bool r = false;
    enum desk_status rc = get_string(root, "processName", &name, e);
    if (rc == DESK_OK)
        rc = get_bool(root, "running", &r, e);
    if (rc == DESK_OK)
        *running = r;
    json_decref(root);
    return rc;
}

enum desk_status wire_text(
        const char *body, size_t len, const char *key, struct desk_err *e, char **out) {
    *out = NULL;
    json_t *root = load_object(body, len, e);
    if (!root)
        return e->status;
    const char *s = NULL;
    enum desk_status rc = get_string(root, key, &s, e);
    if (rc == DESK_OK) {
        /* Logs are text, but a NUL inside would cut them short silently: keep the length. */
        size_t n = json_string_length(json_object_get(root, key));
        char *d = malloc(n + 1);
        if (d) {
            memcpy(d, s, n);
            d[n] = '\0';
            *out = d;
        } else {
            rc = wire_fail(e, DESK_ERR_NOMEM, "out of memory for a %zu-byte \"%s\"", n, key);
        }
    }
    json_decref(root);
    return rc;
}

enum desk_status wire_vnc(const char *body, size_t len, struct desk_err *e, struct desk_vnc **out) {
    *out = NULL;
    json_t *root = load_object(body, len, e);
    if (!root)
        return e->status;
    const char *url = NULL, *password = NULL;
    enum desk_status rc = get_string(root, "url", &url, e);
    if (rc == DESK_OK)
        rc = get_string(root, "password", &password, e);
    struct desk_vnc *v = rc == DESK_OK ? calloc(1, sizeof *v) : NULL;
    if (rc == DESK_OK && !v)
        rc = wire_fail(e, DESK_ERR_NOMEM, "out of memory");
    if (rc == DESK_OK &&
            (!(v->url = dup_string(url, e)) || !(v->password = dup_string(password, e))))
        rc = e->status;
    /* [ext] deskd's own live view; older deskd have none. */
    const char *link = json_string_value(json_object_get(json_object_get(root, "link"), "url"));
    if (rc == DESK_OK && link && !(v->link_url = dup_string(link, e)))
        rc = e->status;
    json_decref(root);
    if (rc != DESK_OK) {
        desk_vnc_free(v);
        return rc;
    }
    *out = v;
    return DESK_OK;
}

static enum desk_status vnc_link_from(const json_t *o, void *item, struct desk_err *e) {
    struct desk_vnc_link *l = item;
    const char *id = NULL, *when = NULL, *url = NULL;
    if (!json_is_object(o))
        return wire_fail(e, DESK_ERR_PROTOCOL, "a link is not an object");
    enum desk_status rc = get_string(o, "id", &id, e);
    if (rc == DESK_OK)
        rc = get_string(o, "expiresAt", &when, e);
    if (rc == DESK_OK)
        rc = get_bool(o, "viewOnly", &l->view_only, e);
    if (rc == DESK_OK && json_object_get(o, "url"))
        rc = get_string(o, "url", &url, e);
    if (rc == DESK_OK && json_object_get(o, "sessions"))
        rc = get_int(o, "sessions", &l->sessions, e);
    if (rc == DESK_OK)
        rc = set_string(&l->id, id, e);
    if (rc == DESK_OK)
        rc = set_string(&l->expires_at, when, e);
    if (rc == DESK_OK && url)
        rc = set_string(&l->url, url, e);
    return rc;
}

enum desk_status wire_vnc_link(
        const char *body, size_t len, struct desk_err *e, struct desk_vnc_link **out) {
    *out = NULL;
    json_t *root = load_object(body, len, e);
    if (!root)
        return e->status;
    struct desk_vnc_link *l = calloc(1, sizeof *l);
    enum desk_status rc =
            l ? vnc_link_from(root, l, e) : wire_fail(e, DESK_ERR_NOMEM, "out of memory");
    if (rc == DESK_OK && !l->url)
        rc = wire_fail(e, DESK_ERR_PROTOCOL, "\"url\" is missing, not a string");
    json_decref(root);
    if (rc != DESK_OK) {
        desk_vnc_link_free(l);
        return rc;
    }
    *out = l;
    return DESK_OK;
}

enum desk_status wire_vnc_links(
        const char *body, size_t len, struct desk_err *e, struct desk_vnc_link_list **out) {
    *out = NULL;
    json_t *root = load_object(body, len, e);
    if (!root)
        return e->status;
    struct desk_vnc_link_list *ll = calloc(1, sizeof *ll);
    enum desk_status rc = ll ? get_list(root, "links", sizeof *ll->items, vnc_link_from,
                                       (void **)&ll->items, &ll->count, e)
                             : wire_fail(e, DESK_ERR_NOMEM, "out of memory");
    json_decref(root);
    if (rc != DESK_OK) {
        desk_vnc_link_list_free(ll);
        return rc;
    }
    *out = ll;
    return DESK_OK;
}

enum desk_status wire_control(
        const char *body, size_t len, struct desk_err *e, enum desk_holder *holder, char **since) {
    json_t *root = load_object(body, len, e);
    if (!root)
        return e->status;
    const char *h = NULL, *when = NULL;
    enum desk_status rc = get_string(root, "holder", &h, e);
    if (rc == DESK_OK)
        rc = get_string(root, "since", &when, e);
    if (rc == DESK_OK && strcmp(h, "agent") != 0 && strcmp(h, "human") != 0)
        rc = wire_fail(e, DESK_ERR_PROTOCOL, "\"holder\" is \"%s\", not agent or human", h);
    if (rc == DESK_OK) {
        *holder = strcmp(h, "human") == 0 ? DESK_HOLDER_HUMAN : DESK_HOLDER_AGENT;
        if (since)
            rc = set_string(since, when, e);
    }
    json_decref(root);
    return rc;
}

/* ---- screenshots ---- */

/* Whether the bytes start the way the format's files start: garbage is caught here. */
static bool signature_ok(enum desk_image_format f, const unsigned char *d, size_t n) {
    switch (f) {
    case DESK_IMAGE_PNG:
        return n >= 8 && memcmp(d, "\x89PNG\r\n\x1a\n", 8) == 0;
    case DESK_IMAGE_JPEG:
        return n >= 3 && d[0] == 0xff && d[1] == 0xd8 && d[2] == 0xff;
    case DESK_IMAGE_WEBP:
        return n >= 12 && memcmp(d, "RIFF", 4) == 0 && memcmp(d + 8, "WEBP", 4) == 0;
    }
    return false;
}

static int format_from_name(const char *s, enum desk_image_format *out) {
    int f = desk_wire_format_parse(s);
    if (f < 0)
        return -1;
    *out = (enum desk_image_format)f;
    return 0;
}

static enum desk_status check_image(const struct desk_image *img, struct desk_err *e) {
    if (img->width <= 0 || img->height <= 0)
        return wire_fail(e, DESK_ERR_PROTOCOL, "the image size %dx%d is not positive", img->width,
                img->height);
    if (img->region.width <= 0 || img->region.height <= 0)
        return wire_fail(e, DESK_ERR_PROTOCOL, "the region size %dx%d is not positive",
                img->region.width, img->region.height);
    if (!signature_ok(img->format, img->data, img->size))
        return wire_fail(e, DESK_ERR_PROTOCOL, "the %zu image bytes are not a %s file", img->size,
                desk_image_format_name(img->format));
    return DESK_OK;
}

/*
 * jansson reads strings a character at a time: 5-6 ms for the half megabyte of
 * base64 in a full-screen screenshot, more than the server needed to make it.
 * So the "screenshot" string is cut out of the text before parsing (base64 has
 * no quotes and no escapes) and decoded where it lies. The parse then shows
 * whether that was really the top-level member (it reads as ""); if not, the
 * whole text is parsed the ordinary way. Returns the parsed object; *b64 and
 * *b64len point into body or into the object.
 */
static json_t *load_screenshot(
        const char *body, size_t len, const char **b64, size_t *b64len, struct desk_err *e) {
    static const char key[] = "\"screenshot\"";
    const char *k = memmem(body, len, key, sizeof key - 1);
    const char *p = k ? k + sizeof key - 1 : NULL, *end = body + len;
    while (p && p < end && (*p == ' ' || *p == ':' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    const char *close =
            p && p < end && *p == '"' ? memchr(p + 1, '"', (size_t)(end - p - 1)) : NULL;
    if (close && !memchr(p + 1, '\\', (size_t)(close - p - 1))) {
        size_t head = (size_t)(p + 1 - body), tail = (size_t)(end - close);
        char *cut = malloc(head + tail + 1);
        if (!cut) {
            wire_fail(e, DESK_ERR_NOMEM, "out of memory");
            return NULL;
        }
        memcpy(cut, body, head);
        memcpy(cut + head, close, tail);
        json_t *root = load_object(cut, head + tail, e);
        free(cut);
        if (!root)
            return NULL;
        json_t *v = json_object_get(root, "screenshot");
        if (json_is_string(v) && json_string_length(v) == 0) {
            *b64 = p + 1;
            *b64len = (size_t)(close - p - 1);
            return root;
        }
        json_decref(root); /* the key was inside some other string: parse it all */
    }
    json_t *root = load_object(body, len, e);
    json_t *v = root ? json_object_get(root, "screenshot") : NULL;
    *b64 = json_is_string(v) ? json_string_value(v) : NULL;
    *b64len = json_is_string(v) ? json_string_length(v) : 0;
    return root;
}

enum desk_status wire_image_json(
        const char *body, size_t len, struct desk_err *e, struct desk_image **out) {
    *out = NULL;
    const char *b64_text = NULL;
    size_t b64_len = 0;
    json_t *root = load_screenshot(body, len, &b64_text, &b64_len, e);
    if (!root)
        return e->status;
    struct desk_image img = {0};
    const char *b64 = NULL, *fmt = NULL;
    const json_t *region = NULL, *cursor = json_object_get(root, "cursorPosition");
    int size_bytes = 0;
    enum desk_status rc = get_string(root, "screenshot", &b64, e);
    if (rc == DESK_OK)
        rc = get_int(root, "width", &img.width, e);
    if (rc == DESK_OK)
        rc = get_int(root, "height", &img.height, e);
    if (rc == DESK_OK)
        rc = get_string(root, "format", &fmt, e);
    if (rc == DESK_OK && format_from_name(fmt, &img.format) < 0)
        rc = wire_fail(e, DESK_ERR_PROTOCOL, "\"format\" is \"%.32s\", not png, jpeg or webp", fmt);
    if (rc == DESK_OK)
        rc = get_int(root, "sizeBytes", &size_bytes, e);
    if (rc == DESK_OK && !(region = get_object(root, "region", e)))
        rc = e->status;
    if (rc == DESK_OK) {
        if (get_int(region, "x", &img.region.x, e) || get_int(region, "y", &img.region.y, e) ||
                get_int(region, "width", &img.region.width, e) ||
                get_int(region, "height", &img.region.height, e))
            rc = nested(e, "region");
    }
    const json_t *frame = json_object_get(root, "frameId");
    if (rc == DESK_OK && frame && !json_is_null(frame)) {
        if (!json_is_integer(frame) || json_integer_value(frame) < 0)
            rc = wire_fail(e, DESK_ERR_PROTOCOL, "\"frameId\" is not a non-negative integer");
        else
            img.frame_id = (unsigned long long)json_integer_value(frame);
    }
    if (rc == DESK_OK && cursor && !json_is_null(cursor)) {
        if (!json_is_object(cursor))
            rc = wire_fail(e, DESK_ERR_PROTOCOL, "\"cursorPosition\" is not an object");
        else if (get_int(cursor, "x", &img.cursor.x, e) || get_int(cursor, "y", &img.cursor.y, e))
            rc = nested(e, "cursorPosition");
        img.has_cursor = rc == DESK_OK;
    }
    if (rc == DESK_OK) {
        int b = util_base64_decode(b64_text, b64_len, &img.data, &img.size);
        if (b == -ENOMEM)
            rc = wire_fail(e, DESK_ERR_NOMEM, "out of memory decoding the screenshot");
        else if (b < 0)
            rc = wire_fail(e, DESK_ERR_PROTOCOL, "\"screenshot\" is not valid base64");
    }
    if (rc == DESK_OK && (size_t)size_bytes != img.size)
        rc = wire_fail(e, DESK_ERR_PROTOCOL, "\"sizeBytes\" is %d but the image has %zu bytes",
                size_bytes, img.size);
    if (rc == DESK_OK)
        rc = check_image(&img, e);
    struct desk_image *res = rc == DESK_OK ? malloc(sizeof *res) : NULL;
    if (rc == DESK_OK && !res)
        rc = wire_fail(e, DESK_ERR_NOMEM, "out of memory");
    json_decref(root);
    if (rc != DESK_OK) {
        free(img.data);
        return rc;
    }
    *res = img;
    *out = res;
    return DESK_OK;
}

/* A header that must be one decimal integer, nothing around it. */
static int header_int(const char *s, int *out) {
    if (!s)
        return -1;
    const char *p = s + (*s == '-');
    if (*p < '0' || *p > '9')
        return -1;
    errno = 0;
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || errno || v < INT_MIN || v > INT_MAX)
        return -1;
    *out = (int)v;
    return 0;
}

/* "x,y,w,h": four integers separated by single commas. */
static int header_region(const char *s, struct desk_rect *r) {
    int v[4];
    char part[24];
    for (int i = 0; i < 4; i++) {
        if (!s)
            return -1;
        size_t n = strcspn(s, ",");
        if (n == 0 || n >= sizeof part || (i < 3) != (s[n] == ','))
            return -1;
        memcpy(part, s, n);
        part[n] = '\0';
        if (header_int(part, &v[i]) < 0)
            return -1;
        s = i < 3 ? s + n + 1 : NULL;
    }
    *r = (struct desk_rect){v[0], v[1], v[2], v[3]};
    return 0;
}

static int format_from_mime(const char *ct, enum desk_image_format *out) {
    int f = ct ? desk_wire_format_of_mime(ct, strcspn(ct, "; \t")) : -1;
    if (f < 0)
        return -1;
    *out = (enum desk_image_format)f;
    return 0;
}

static int header_frame(const char *s, unsigned long long *out) {
    char *end;
    errno = 0;
    if (!s || *s < '0' || *s > '9')
        return -1;
    *out = strtoull(s, &end, 10);
    return errno || *end ? -1 : 0;
}

enum desk_status wire_image_unchanged(
        const char *frame, struct desk_err *e, struct desk_image **out) {
    *out = NULL;
    struct desk_image img = {.unchanged = true};
    if (header_frame(frame, &img.frame_id) < 0)
        return wire_fail(e, DESK_ERR_PROTOCOL,
                "a 304 answer must carry X-Desk-Frame as an integer, got \"%.32s\"",
                frame ? frame : "(none)");
    struct desk_image *res = malloc(sizeof *res);
    if (!res)
        return wire_fail(e, DESK_ERR_NOMEM, "out of memory");
    *res = img;
    *out = res;
    return DESK_OK;
}

/* The "frameId", "changed" and "regions" members shared by the two answers. */
static enum desk_status get_changes(
        const json_t *root, struct desk_changes *c, struct desk_err *e) {
    memset(c, 0, sizeof *c);
    const json_t *frame = json_object_get(root, "frameId");
    if (!json_is_integer(frame) || json_integer_value(frame) < 0)
        return wire_fail(e, DESK_ERR_PROTOCOL, "\"frameId\" is missing or not an integer");
    c->frame_id = (unsigned long long)json_integer_value(frame);
    enum desk_status rc = get_bool(root, "changed", &c->changed, e);
    const json_t *list = rc == DESK_OK ? get_array(root, "regions", e) : NULL;
    if (!list)
        return e->status;
    if (json_array_size(list) > DESK_CHANGES_MAX)
        return wire_fail(
                e, DESK_ERR_PROTOCOL, "\"regions\" has more than %d rectangles", DESK_CHANGES_MAX);
    for (size_t i = 0; i < json_array_size(list); i++) {
        struct desk_rect *r = &c->regions[i];
        const json_t *o = json_array_get(list, i);
        if (get_int(o, "x", &r->x, e) || get_int(o, "y", &r->y, e) ||
                get_int(o, "width", &r->width, e) || get_int(o, "height", &r->height, e))
            return nested(e, "regions");
        c->count++;
    }
    return DESK_OK;
}

enum desk_status wire_changes(
        const char *body, size_t len, struct desk_err *e, struct desk_changes *out) {
    json_t *root = load_object(body, len, e);
    if (!root)
        return e->status;
    enum desk_status rc = get_changes(root, out, e);
    if (rc == DESK_OK)
        rc = get_bool(root, "complete", &out->complete, e);
    json_decref(root);
    return rc;
}

enum desk_status wire_wait(
        const char *body, size_t len, struct desk_err *e, struct desk_wait_result *out) {
    json_t *root = load_object(body, len, e);
    if (!root)
        return e->status;
    memset(out, 0, sizeof *out);
    enum desk_status rc = get_changes(root, &out->changes, e);
    out->changes.complete = true;
    out->changed = out->changes.changed;
    if (rc == DESK_OK)
        rc = get_bool(root, "stable", &out->stable, e);
    if (rc == DESK_OK)
        rc = get_bool(root, "timedOut", &out->timed_out, e);
    int waited = 0;
    if (rc == DESK_OK)
        rc = get_int(root, "waitedMs", &waited, e);
    out->waited_ms = waited;
    json_decref(root);
    return rc;
}

enum desk_status wire_image_binary(unsigned char *data, size_t size,
        const struct wire_shot_headers *h, struct desk_err *e, struct desk_image **out) {
    *out = NULL;
    struct desk_image img = {.data = data, .size = size};
    if (format_from_mime(h->content_type, &img.format) < 0)
        return wire_fail(e, DESK_ERR_PROTOCOL,
                "the reply's Content-Type \"%.64s\" is not image/png, image/jpeg or image/webp",
                h->content_type ? h->content_type : "");
    if (header_int(h->width, &img.width) < 0 || header_int(h->height, &img.height) < 0)
        return wire_fail(e, DESK_ERR_PROTOCOL,
                "X-Desk-Width and X-Desk-Height must be integers, got \"%.32s\" and \"%.32s\"",
                h->width ? h->width : "(none)", h->height ? h->height : "(none)");
    if (header_region(h->region, &img.region) < 0)
        return wire_fail(e, DESK_ERR_PROTOCOL, "X-Desk-Region must be \"x,y,w,h\", got \"%.64s\"",
                h->region ? h->region : "(none)");
    if (h->cursor_x || h->cursor_y) {
        if (header_int(h->cursor_x, &img.cursor.x) < 0 ||
                header_int(h->cursor_y, &img.cursor.y) < 0)
            return wire_fail(e, DESK_ERR_PROTOCOL,
                    "X-Desk-Cursor-X and X-Desk-Cursor-Y must both be integers");
        img.has_cursor = true;
    }
    if (h->frame && header_frame(h->frame, &img.frame_id) < 0)
        return wire_fail(
                e, DESK_ERR_PROTOCOL, "X-Desk-Frame must be an integer, got \"%.32s\"", h->frame);
    enum desk_status rc = check_image(&img, e);
    if (rc != DESK_OK)
        return rc;
    struct desk_image *res = malloc(sizeof *res);
    if (!res)
        return wire_fail(e, DESK_ERR_NOMEM, "out of memory");
    *res = img;
    *out = res;
    return DESK_OK;
}

/* A list of strings into a malloc'd array of copies. */
static enum desk_status string_list(
        const json_t *root, const char *key, char ***out, size_t *n, struct desk_err *e) {
    const json_t *list = get_array(root, key, e);
    if (!list)
        return e->status;
    *out = calloc(json_array_size(list) + 1, sizeof **out);
    if (!*out)
        return wire_fail(e, DESK_ERR_NOMEM, "out of memory");
    size_t i;
    const json_t *v;
    json_array_foreach(list, i, v) {
        if (!json_is_string(v))
            return wire_fail(e, DESK_ERR_PROTOCOL, "\"%s\"[%zu] is not a string", key, i);
        if (set_string(&(*out)[i], json_string_value(v), e) != DESK_OK)
            return e->status;
        (*n)++;
    }
    return DESK_OK;
}

enum desk_status wire_held(
        const char *body, size_t len, struct desk_err *e, struct desk_held **out) {
    *out = NULL;
    json_t *root = load_object(body, len, e);
    if (!root)
        return e->status;
    struct desk_held *h = calloc(1, sizeof *h);
    enum desk_status st = h ? DESK_OK : wire_fail(e, DESK_ERR_NOMEM, "out of memory");
    if (st == DESK_OK)
        st = string_list(root, "keys", &h->keys, &h->nkeys, e);
    if (st == DESK_OK)
        st = string_list(root, "buttons", &h->buttons, &h->nbuttons, e);
    json_decref(root);
    if (st != DESK_OK) {
        desk_held_free(h);
        return st;
    }
    *out = h;
    return DESK_OK;
}

enum desk_status wire_actions(
        const char *body, size_t len, struct desk_err *e, struct desk_actions_result **out) {
    *out = NULL;
    json_t *root = load_object(body, len, e);
    if (!root)
        return e->status;
    struct desk_actions_result *r = calloc(1, sizeof *r);
    const json_t *results = get_array(root, "results", e);
    enum desk_status st = !r         ? wire_fail(e, DESK_ERR_NOMEM, "out of memory")
                          : !results ? e->status
                                     : DESK_OK;
    const json_t *failed = json_object_get(root, "failedIndex");
    if (st == DESK_OK) {
        r->failed_index = json_is_integer(failed) ? (long)json_integer_value(failed) : -1;
        r->completed = json_array_size(results);
        r->points = calloc(r->completed + 1, sizeof *r->points);
        r->has_point = calloc(r->completed + 1, sizeof *r->has_point);
        if (!r->points || !r->has_point)
            st = wire_fail(e, DESK_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; st == DESK_OK && i < r->completed; i++) {
        const json_t *one = json_array_get(results, i);
        if (!json_is_object(one)) {
            st = wire_fail(e, DESK_ERR_PROTOCOL, "\"results\"[%zu] is not an object", i);
        } else if (json_object_get(one, "x")) {
            if (get_int(one, "x", &r->points[i].x, e) || get_int(one, "y", &r->points[i].y, e))
                st = nested(e, "results");
            r->has_point[i] = true;
        }
    }
    const json_t *shot = json_object_get(root, "screenshot");
    if (st == DESK_OK && json_is_object(shot)) {
        char *text = json_dumps(shot, JSON_COMPACT);
        st = text ? wire_image_json(text, strlen(text), e, &r->screenshot)
                  : wire_fail(e, DESK_ERR_NOMEM, "out of memory");
        free(text);
    }
    json_decref(root);
    if (st != DESK_OK) {
        desk_actions_result_free(r);
        return st;
    }
    *out = r;
    return DESK_OK;
}

/* One Recording DTO into r (zeroed first); on failure r holds what it had time to take. */
static enum desk_status recording_from(
        const json_t *o, struct desk_recording *r, struct desk_err *e) {
    static const char *const states[] = {[DESK_RECORDING_ACTIVE] = "recording",
            [DESK_RECORDING_COMPLETED] = "completed",
            [DESK_RECORDING_FAILED] = "failed"};
    *r = (struct desk_recording){.duration_s = -1, .size_bytes = -1};
    if (!json_is_object(o))
        return wire_fail(e, DESK_ERR_PROTOCOL, "a recording is not an object");
    const char *id, *name, *path, *start, *status;
    enum desk_status rc = get_string(o, "id", &id, e);
    if (rc == DESK_OK)
        rc = get_string(o, "fileName", &name, e);
    if (rc == DESK_OK)
        rc = get_string(o, "filePath", &path, e);
    if (rc == DESK_OK)
        rc = get_string(o, "startTime", &start, e);
    if (rc == DESK_OK)
        rc = get_string(o, "status", &status, e);
    if (rc != DESK_OK)
        return rc;
    int state = -1;
    for (int i = 0; i < 3; i++) {
        if (strcmp(status, states[i]) == 0)
            state = i;
    }
    if (state < 0)
        return wire_fail(
                e, DESK_ERR_PROTOCOL, "\"status\" is \"%.32s\", not a recording state", status);
    r->state = (enum desk_recording_state)state;
    const json_t *end = json_object_get(o, "endTime"), *why = json_object_get(o, "reason");
    const json_t *dur = json_object_get(o, "durationSeconds"),
                 *size = json_object_get(o, "sizeBytes");
    if (json_is_number(dur))
        r->duration_s = json_number_value(dur);
    if (json_is_integer(size))
        r->size_bytes = (long long)json_integer_value(size);
    if (set_string(&r->id, id, e) || set_string(&r->file_name, name, e) ||
            set_string(&r->file_path, path, e) || set_string(&r->start_time, start, e) ||
            (json_is_string(end) && set_string(&r->end_time, json_string_value(end), e)) ||
            (json_is_string(why) && set_string(&r->reason, json_string_value(why), e)))
        return e->status;
    return DESK_OK;
}

enum desk_status wire_recording(
        const char *body, size_t len, struct desk_err *e, struct desk_recording **out) {
    *out = NULL;
    json_t *root = load_object(body, len, e);
    if (!root)
        return e->status;
    struct desk_recording *r = calloc(1, sizeof *r);
    enum desk_status rc =
            r ? recording_from(root, r, e) : wire_fail(e, DESK_ERR_NOMEM, "out of memory");
    json_decref(root);
    if (rc != DESK_OK) {
        desk_recording_free(r);
        return rc;
    }
    *out = r;
    return DESK_OK;
}

enum desk_status wire_recordings(
        const char *body, size_t len, struct desk_err *e, struct desk_recording_list **out) {
    *out = NULL;
    json_t *root = load_object(body, len, e);
    if (!root)
        return e->status;
    const json_t *arr = get_array(root, "recordings", e);
    if (!arr) {
        json_decref(root);
        return e->status;
    }
    struct desk_recording_list *l = calloc(1, sizeof *l);
    size_t n = json_array_size(arr);
    enum desk_status rc = DESK_OK;
    if (!l || (n && !(l->items = calloc(n, sizeof *l->items))))
        rc = wire_fail(e, DESK_ERR_NOMEM, "out of memory");
    for (size_t i = 0; rc == DESK_OK && l && i < n; i++) {
        rc = recording_from(json_array_get(arr, i), &l->items[i], e);
        l->count = i + 1; /* what it took is freed with the list, also on failure */
        if (rc != DESK_OK)
            nested(e, "recordings");
    }
    json_decref(root);
    if (rc != DESK_OK) {
        desk_recording_list_free(l);
        return rc;
    }
    *out = l;
    return DESK_OK;
}
