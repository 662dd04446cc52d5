/*
 * bodies: the batch, apps, window and clipboard bodies (see bodies.h). The
 * sentences are the routes' own: a route replies err as it is.
 */
#define _GNU_SOURCE
#include "bodies.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apps.h"
#include "keys.h"
#include "params.h"
#include "space.h"
#include "spec.h"

#define BAD(...)                                                                                   \
    do {                                                                                           \
        snprintf(err, errlen, __VA_ARGS__);                                                        \
        return -EINVAL;                                                                            \
    } while (0)

int wait_body_parse(json_t *body, struct damage_wait_spec *spec, struct space_rect *region,
        char *err, size_t errlen) {
    if (spec_check(body, &spec_wait, NULL, err, errlen) < 0)
        return -EINVAL;
    return wait_parse(body, spec, region, err, errlen);
}

/* Checked by batch_parse's spec_check (spec_actions has observe). */
int observe_parse(json_t *body, struct observe *o, char *err, size_t errlen) {
    memset(o, 0, sizeof *o);
    json_t *ob = json_object_get(body, "observe");
    if (!ob || json_is_null(ob))
        return 0;
    if (!json_is_object(ob))
        BAD("observe must be an object {\"settle\"?, \"screenshot\"?}");
    char e[200];
    json_t *settle = json_object_get(ob, "settle");
    if (settle && !json_is_null(settle)) {
        if (!json_is_object(settle))
            BAD("observe.settle must be an object {\"stableMs\"?, \"timeoutMs\"?}");
        o->settle = true;
        o->wait = (struct damage_wait_spec){
                .until = DAMAGE_UNTIL_STABLE, .stable_ms = 300, .timeout_ms = 5000};
        if (body_int(settle, "stableMs", false, DAMAGE_STABLE_MIN_MS, DAMAGE_STABLE_MAX_MS,
                    &o->wait.stable_ms, e, sizeof e) < 0 ||
                body_int(settle, "timeoutMs", false, DAMAGE_TIMEOUT_MIN_MS, DAMAGE_TIMEOUT_MAX_MS,
                        &o->wait.timeout_ms, e, sizeof e) < 0)
            BAD("observe.settle.%s", e);
    }
    json_t *sh = json_object_get(ob, "screenshot");
    if (!sh || json_is_null(sh))
        return 0;
    if (!json_is_object(sh))
        BAD("observe.screenshot must be an object {\"format\"?, \"quality\"?, \"scale\"?, "
            "\"showCursor\"?}");
    o->shot = true;
    o->spec = (struct shot_spec){.whole = true, .scale = 1.0, .format = IMG_PNG, .quality = 85};
    const char *fmt = NULL, *fit = NULL;
    double scale = 1.0;
    int edge = 0, pixels = 0, has_scale = 0;
    if (body_string(sh, "fit", false, &fit, NULL, e, sizeof e) < 0 ||
            body_int(sh, "maxLongEdge", false, 1, SPACE_MAX_SIDE, &edge, e, sizeof e) < 0 ||
            body_int(sh, "maxPixels", false, 1, (long)SPACE_MAX_SIDE * SPACE_MAX_SIDE, &pixels, e,
                    sizeof e) < 0 ||
            (has_scale = body_number(sh, "scale", false, 0.1, 1.0, &scale, e, sizeof e)) < 0 ||
            body_string(sh, "format", false, &fmt, NULL, e, sizeof e) < 0 ||
            body_int(sh, "quality", false, 1, 100, &o->spec.quality, e, sizeof e) < 0 ||
            body_bool(sh, "showCursor", &o->spec.cursor, e, sizeof e) < 0)
        BAD("observe.screenshot.%s", e);
    if (fit && space_fit_named(fit, &o->spec.fit) < 0)
        BAD("observe.screenshot.fit must be xga, wxga or fwxga, got \"%.64s\"", fit);
    o->spec.fit.max_long_edge = edge;
    o->spec.fit.max_pixels = pixels;
    if (has_scale && !space_fit_empty(&o->spec.fit))
        BAD("observe.screenshot.scale cannot be combined with fit, maxLongEdge or maxPixels: "
            "give one of them");
    int f = fmt ? desk_wire_format_parse(fmt) : IMG_PNG;
    if (f < 0)
        BAD("observe.screenshot.format must be png, jpeg (or jpg) or webp, got \"%.64s\"", fmt);
    o->spec.format = (enum img_format)f;
    o->spec.scale = scale;
    return 0;
}

/* Parses every action; on failure err names actions[N] and the member. */
int batch_parse(json_t *body, struct batch *b, char *err, size_t errlen) {
    char e[512];
    if (spec_check(body, &spec_actions, NULL, err, errlen) < 0)
        return -EINVAL;
    json_t *list = json_object_get(body, "actions");
    struct space dflt;
    int sp = space_parse_json(body, 0, 0, &dflt, e, sizeof e);
    if (sp < 0)
        BAD("%s", e);
    b->n = (int)json_array_size(list);
    b->acts = calloc((size_t)b->n + 1, sizeof *b->acts);
    if (!b->acts)
        BAD("out of memory for %d actions", b->n);
    long cost = 0;
    for (int i = 0; i < b->n; i++) {
        json_t *obj = json_array_get(list, (size_t)i);
        const char *type = NULL, *field = "";
        enum act_kind kind;
        if (!json_is_object(obj))
            BAD("actions[%d] must be an object {\"type\", ...}", i);
        if (body_string(obj, "type", true, &type, NULL, e, sizeof e) < 0)
            BAD("actions[%d].%s", i, e);
        if (act_kind_of(type, &kind) < 0)
            BAD("actions[%d].type must be move, click, drag, scroll, type, key, hotkey, keyDown, "
                "keyUp, buttonDown, buttonUp, releaseAll or wait, got \"%.64s\"",
                    i, type);
        if (act_parse(obj, kind, &dflt, sp > 0, &b->acts[i], &field, e, sizeof e) < 0) {
            size_t fl = strlen(field);
            if (fl && strncmp(e, field, fl) == 0 && strchr(" .[", e[fl]))
                BAD("actions[%d].%s", i, e);
            BAD("actions[%d].%s: %s", i, field, e);
        }
        cost += act_cost_ms(&b->acts[i]);
    }
    if (cost > BATCH_TIME_MAX_MS)
        BAD("the actions could take up to %ld s (their delays, holds, waits and drags), more "
            "than the limit of %ld s for one request; split them",
                cost / 1000, BATCH_TIME_MAX_MS / 1000);
    return 0;
}

void batch_free(struct batch *b) {
    for (int i = 0; b->acts && i < b->n; i++)
        act_free(&b->acts[i]);
    free(b->acts);
}

void launch_req_free(struct launch_req *l) {
    for (size_t i = 0; l->env_owned && i < l->nenv; i++)
        free(l->env_owned[i]);
    free(l->env_owned);
    free(l->env);
    free(l->argv);
}

/* argv: a list of strings, the first not empty. 0, or -EINVAL / -ENOMEM with err. */
static int parse_argv(json_t *b, struct launch_req *l, char *err, size_t errlen) {
    json_t *ja = json_object_get(b, "argv");
    size_t n = json_array_size(ja);
    if (!json_is_array(ja) || n == 0 || n > ARGV_MAX) {
        snprintf(err, errlen,
                "argv must be a list of 1 to %d strings, the program first (no shell): "
                "[\"xfce4-terminal\", \"--title\", \"x\"]",
                ARGV_MAX);
        return -EINVAL;
    }
    if (!(l->argv = calloc(n + 1, sizeof *l->argv)))
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(ja, i);
        if (!json_is_string(v)) {
            snprintf(err, errlen, "argv[%zu] must be a string", i);
            return -EINVAL;
        }
        l->argv[i] = json_string_value(v);
    }
    if (!l->argv[0] || !l->argv[0][0]) {
        snprintf(err, errlen, "argv[0] must name the program (it is empty)");
        return -EINVAL;
    }
    return 0;
}

/* env: an object of strings, as NAME=VALUE entries. 0, or -EINVAL / -ENOMEM with err. */
static int parse_env(json_t *b, struct launch_req *l, char *err, size_t errlen) {
    json_t *je = json_object_get(b, "env");
    if (!je || json_is_null(je))
        return 0;
    if (!json_is_object(je) || json_object_size(je) > ENV_MAX) {
        snprintf(err, errlen,
                "env must be an object of at most %d string values: {\"NAME\": \"value\"}",
                ENV_MAX);
        return -EINVAL;
    }
    l->env = calloc(json_object_size(je) + 1, sizeof *l->env);
    l->env_owned = calloc(json_object_size(je) + 1, sizeof *l->env_owned);
    if (!l->env || !l->env_owned)
        return -ENOMEM;
    const char *key;
    json_t *v;
    json_object_foreach(je, key, v) {
        if (!json_is_string(v)) {
            snprintf(err, errlen, "env.%s must be a string", key);
            return -EINVAL;
        }
        if (!key[0] || strchr(key, '=')) {
            snprintf(err, errlen, "env names must be non-empty and without '=' (got \"%s\")", key);
            return -EINVAL;
        }
        if (asprintf(&l->env_owned[l->nenv], "%s=%s", key, json_string_value(v)) < 0) {
            l->env_owned[l->nenv] = NULL;
            return -ENOMEM;
        }
        l->env[l->nenv] = l->env_owned[l->nenv];
        l->nenv++;
    }
    return 0;
}

int launch_parse(json_t *b, struct launch_req *l, char *err, size_t errlen) {
    if (spec_check(b, &spec_launch, NULL, err, errlen) < 0)
        return -EINVAL;
    int rc = parse_argv(b, l, err, errlen);
    if (rc == 0)
        rc = parse_env(b, l, err, errlen);
    if (rc == 0 && (body_string(b, "cwd", false, &l->cwd, NULL, err, errlen) < 0 ||
                           body_bool(b, "waitForWindow", &l->wait, err, errlen) < 0 ||
                           body_int(b, "timeoutMs", false, 1, APPS_WAIT_MAX_MS, &l->timeout_ms, err,
                                   errlen) < 0))
        rc = -EINVAL;
    return rc;
}

int geometry_parse(json_t *body, struct x11_rect *g, char *err, size_t errlen) {
    if (spec_check(body, &spec_geometry, NULL, err, errlen) < 0)
        return -EINVAL;
    /* The table required each, an integer within its bounds. */
    g->x = (int)json_integer_value(json_object_get(body, "x"));
    g->y = (int)json_integer_value(json_object_get(body, "y"));
    g->width = (int)json_integer_value(json_object_get(body, "width"));
    g->height = (int)json_integer_value(json_object_get(body, "height"));
    return 0;
}

int windows_type_parse(const char *s, int *type, char *err, size_t errlen) {
    *type = -1;
    if (s && (*type = x11_type_parse(s)) < 0)
        BAD("type must be one of normal, dialog, utility, dock, desktop, splash, menu, toolbar, "
            "notification, dropdown_menu, popup_menu, tooltip, combo, dnd (got \"%.64s\")",
                s);
    return 0;
}

int clip_selection_parse(const char *s, enum clip_sel *out, char *err, size_t errlen) {
    if (!s || strcmp(s, "clipboard") == 0)
        *out = CLIP_CLIPBOARD;
    else if (strcmp(s, "primary") == 0)
        *out = CLIP_PRIMARY;
    else
        BAD("selection must be \"clipboard\" or \"primary\" (got \"%.64s\")", s);
    return 0;
}

int clip_text_parse(json_t *body, const char **text, size_t *len, char *err, size_t errlen) {
    if (body_string(body, "text", true, text, len, err, errlen) < 0)
        return -EINVAL;
    if (*len > CLIP_MAX)
        BAD("text has %zu bytes; the clipboard holds at most 16 MiB (%zu bytes)", *len, CLIP_MAX);
    return 0;
}

int type_method_parse(json_t *body, bool *paste, char *err, size_t errlen) {
    const char *method = "type";
    if (body_string(body, "method", false, &method, NULL, err, errlen) < 0)
        return -EINVAL;
    *paste = strcmp(method, "paste") == 0;
    if (!*paste && strcmp(method, "type") != 0)
        BAD("method must be \"type\" (key by key) or \"paste\" (through the clipboard)");
    return 0;
}

int clip_set_parse(json_t *body, const char **text, size_t *len, enum clip_sel *sel, char *err,
        size_t errlen) {
    if (spec_check(body, &spec_clipboard_set, NULL, err, errlen) < 0 ||
            clip_text_parse(body, text, len, err, errlen) < 0)
        return -EINVAL;
    /* A string or absent (null too), as the table checked. */
    return clip_selection_parse(
            json_string_value(json_object_get(body, "selection")), sel, err, errlen);
}

int paste_parse(json_t *body, const char **text, size_t *len, const char **keys,
        struct key_combo *combo, char *err, size_t errlen) {
    char e[256];
    *keys = "ctrl+v";
    if (spec_check(body, &spec_type_route, NULL, err, errlen) < 0 ||
            clip_text_parse(body, text, len, err, errlen) < 0)
        return -EINVAL;
    if (body_string(body, "pasteKeys", false, keys, NULL, e, sizeof e) < 0 ||
            keys_parse_hotkey(*keys, combo, e, sizeof e) < 0)
        BAD("pasteKeys: %s", e);
    return 0;
}

/* Daytona's binding error for a11y bodies: A11Y_BAD_REQUEST with the sentence. */
#define A11Y_BAD(res, ...)                                                                         \
    do {                                                                                           \
        (res)->status = A11Y_BAD_REQUEST;                                                          \
        snprintf((res)->error, sizeof(res)->error, __VA_ARGS__);                                   \
        return -1;                                                                                 \
    } while (0)

/* An optional string member ("" when absent or null). */
static int member_string(json_t *body, const char *key, const char **out, struct a11y_result *res) {
    json_t *v = json_object_get(body, key);
    *out = "";
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        A11Y_BAD(res, "invalid accessibility request: %s must be a string", key);
    *out = json_string_value(v);
    return 0;
}

static int member_int(json_t *body, const char *key, long *out, struct a11y_result *res) {
    json_t *v = json_object_get(body, key);
    *out = 0;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < INT_MIN || json_integer_value(v) > INT_MAX)
        A11Y_BAD(res, "invalid accessibility request: %s must be an integer", key);
    *out = (long)json_integer_value(v);
    return 0;
}

/* spec_check as Daytona's binding error. */
static int a11y_check(json_t *body, const struct spec *s, struct a11y_result *res) {
    char e[400];
    if (spec_check(body, s, NULL, e, sizeof e) < 0)
        A11Y_BAD(res, "invalid accessibility request: %s", e);
    return 0;
}

int a11y_find_parse(json_t *body, struct a11y_query *q, struct a11y_result *res) {
    const char *scope, *match;
    long pid, limit;
    if (a11y_check(body, &spec_a11y_find, res) < 0 ||
            member_string(body, "scope", &scope, res) < 0 ||
            member_int(body, "pid", &pid, res) < 0 ||
            member_string(body, "role", &q->role, res) < 0 ||
            member_string(body, "name", &q->name, res) < 0 ||
            member_string(body, "nameMatch", &match, res) < 0 ||
            member_int(body, "limit", &limit, res) < 0 ||
            a11y_parse_scope(scope, &q->scope, res) < 0 ||
            a11y_parse_match(match, &q->name_match, res) < 0)
        return -1;
    if (q->scope == A11Y_SCOPE_PID && pid <= 0)
        A11Y_BAD(res, "invalid accessibility request: pid must be positive");
    q->pid = pid;
    q->limit = limit <= 0                    ? A11Y_FIND_LIMIT
               : limit > A11Y_FIND_LIMIT_MAX ? A11Y_FIND_LIMIT_MAX
                                             : (int)limit;
    json_t *states = json_object_get(body, "states"), *s;
    size_t k;
    if (states && !json_is_null(states) && !json_is_array(states))
        A11Y_BAD(res, "invalid accessibility request: states must be an array of state names");
    json_array_foreach(states, k, s) {
        int bit = json_is_string(s) ? a11y_state_bit(json_string_value(s)) : -1;
        /* Daytona matches nothing for an unknown name; naming it helps more. */
        if (bit < 0)
            A11Y_BAD(res, "invalid accessibility request: states[%zu] is not a state name (%s)", k,
                    "focused, enabled, sensitive, showing, visible, checked, editable, ...");
        q->states |= 1ull << bit;
    }
    return 0;
}

int a11y_node_parse(json_t *body, const char *arg_key, const char **id, const char **arg,
        struct a11y_result *res) {
    *arg = "";
    const struct spec *s = !arg_key                        ? &spec_a11y_focus
                           : strcmp(arg_key, "value") == 0 ? &spec_a11y_value
                                                           : &spec_a11y_invoke;
    if (a11y_check(body, s, res) < 0 || member_string(body, "id", id, res) < 0 ||
            (arg_key && member_string(body, arg_key, arg, res) < 0))
        return -1;
    return 0;
}

/* A decimal int query value (absent or "": dflt). */
static int query_int(
        arg_fn get, const void *ctx, const char *key, int dflt, int *out, struct a11y_result *res) {
    const char *s = get(ctx, key);
    *out = dflt;
    if (!s || !*s)
        return 0;
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < INT_MIN || v > INT_MAX)
        A11Y_BAD(res, "invalid accessibility request: %s must be a decimal integer, got \"%s\"",
                key, s);
    *out = (int)v;
    return 0;
}

int a11y_tree_parse(arg_fn get, const void *ctx, struct a11y_query *q, struct a11y_result *res) {
    int pid;
    if (a11y_parse_scope(get(ctx, "scope"), &q->scope, res) < 0 ||
            query_int(get, ctx, "pid", 0, &pid, res) < 0 ||
            query_int(get, ctx, "maxDepth", -1, &q->max_depth, res) < 0)
        return -1;
    if (q->scope == A11Y_SCOPE_PID && pid <= 0)
        A11Y_BAD(res, "invalid accessibility request: pid must be positive");
    q->pid = pid;
    return 0;
}

/* n decimal integers separated by sep, and nothing else, into v. */
static bool ints(const char *s, char sep, long *v, int n) {
    for (int k = 0; k < n; k++) {
        char *end = NULL;
        errno = 0;
        v[k] = strtol(s, &end, 10);
        if (errno || end == s || *end != (k + 1 < n ? sep : '\0'))
            return false;
        s = end + 1;
    }
    return true;
}

int space_query_parse(
        const char *s, const char *rg, int sw, int sh, struct space *sp, char *err, size_t errlen) {
    if (!s && rg)
        BAD("region is accepted only with space=WIDTHxHEIGHT");
    if (!s)
        return 0;
    /* space_parse_json knows the bounds; the query form is turned into its JSON. */
    json_t *body = json_object();
    long v[4];
    json_object_set_new(body, "space",
            ints(s, 'x', v, 2)
                    ? json_pack("{s:I, s:I}", "width", (json_int_t)v[0], "height", (json_int_t)v[1])
                    : json_string(s));
    if (rg) {
        json_object_set_new(body, "region",
                ints(rg, ',', v, 4) ? json_pack("{s:I, s:I, s:I, s:I}", "x", (json_int_t)v[0], "y",
                                              (json_int_t)v[1], "width", (json_int_t)v[2], "height",
                                              (json_int_t)v[3])
                                    : json_string(rg));
    }
    char e[256];
    int rc = space_parse_json(body, sw, sh, sp, e, sizeof e);
    json_decref(body);
    if (rc < 0)
        BAD("%s (query form: space=WIDTHxHEIGHT, region=X,Y,WIDTH,HEIGHT)", e);
    return rc;
}
