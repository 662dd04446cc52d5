/*
 * The MCP tools' input schemas against their routes' parsers: for every tool
 * of tools/list, each property its schema offers (and the members of its
 * object properties) is sent through tools/call's translation (mcp.c) to the
 * parser the route runs (acts.c, bodies.c, params.c), as a route receives
 * it. Each property's example and its bounds are accepted; just outside the
 * bounds, a wrong JSON type, a value outside its enum and a missing required
 * property are refused with a sentence naming it; a member the schema does
 * not offer is refused, so nothing the parser takes is missing from it.
 * The batch's actions are walked the same way, each kind's spec as the
 * schema of one action of the actions tool.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acts.h"
#include "bodies.h"
#include "check.h"
#include "mcp.h"
#include "params.h"
#include "spec.h"

/* A screen size for the parsers that map a space (a11y find and tree). */
#define SCREEN_W 1920
#define SCREEN_H 1080

static const char *arg_of(const void *ctx, const char *key) {
    const struct mcp_call *c = ctx;
    for (int i = 0; c->args[i]; i += 2) {
        if (strcmp(c->args[i], key) == 0)
            return c->args[i + 1];
    }
    return NULL;
}

static int act(json_t *body, enum act_kind kind, char *err, size_t len) {
    struct act a;
    const char *field;
    int rc = act_parse(body, kind, NULL, false, &a, &field, err, len);
    act_free(&a);
    return rc;
}

static int a11y_err(int rc, const struct a11y_result *res, char *err, size_t len) {
    if (rc < 0)
        snprintf(err, len, "%s", res->error);
    return rc < 0 ? -1 : 0;
}

/* The route's parser for c, as the route runs it. 0, or < 0 with the sentence in err. */
static int route_parse(const struct mcp_call *c, char *err, size_t len) {
    static const struct {
        const char *path;
        enum act_kind kind;
    } acts[] = {
            {"/computeruse/mouse/position", ACT_POINTER},
            {"/computeruse/mouse/click", ACT_CLICK},
            {"/computeruse/mouse/move", ACT_MOVE},
            {"/computeruse/mouse/drag", ACT_DRAG},
            {"/computeruse/mouse/scroll", ACT_SCROLL},
            {"/computeruse/keyboard/key", ACT_KEY},
            {"/computeruse/keyboard/hotkey", ACT_HOTKEY},
    };
    const char *p = c->path;
    json_t *b = c->body;
    struct a11y_result res = {0};
    struct a11y_query q = {0};
    struct space sp;
    for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++) {
        if (strcmp(p, acts[i].path) == 0)
            return act(b, acts[i].kind, err, len);
    }
    if (strcmp(p, "/computeruse/screenshot/compressed") == 0 ||
            strcmp(p, "/computeruse/screenshot/region/compressed") == 0) {
        struct shot_req sr;
        return shot_parse(&sr, strstr(p, "region") != NULL, true, arg_of, c, NULL, err, len);
    }
    if (strcmp(p, "/computeruse/keyboard/type") == 0) {
        bool paste;
        const char *text, *keys;
        size_t n;
        struct key_combo combo;
        if (type_method_parse(b, &paste, err, len) < 0)
            return -1;
        return paste ? paste_parse(b, &text, &n, &keys, &combo, err, len)
                     : act(b, ACT_TYPE, err, len);
    }
    if (strcmp(p, "/computeruse/wait") == 0) {
        struct damage_wait_spec spec;
        struct space_rect region;
        return wait_body_parse(b, &spec, &region, err, len);
    }
    if (strcmp(p, "/computeruse/actions") == 0) {
        struct batch batch = {0};
        struct observe ob;
        int rc = batch_parse(b, &batch, err, len);
        if (rc == 0)
            rc = observe_parse(b, &ob, err, len);
        batch_free(&batch);
        return rc;
    }
    if (strcmp(p, "/computeruse/display/windows") == 0) {
        int type;
        return windows_type_parse(arg_of(c, "type"), &type, err, len);
    }
    if (strncmp(p, "/computeruse/windows/", 21) == 0) {
        struct x11_rect g;
        /* Only the geometry route reads a body. */
        return strstr(p, "/geometry") ? geometry_parse(b, &g, err, len) : 0;
    }
    if (strcmp(p, "/computeruse/clipboard") == 0 && !b) {
        enum clip_sel sel;
        return clip_selection_parse(arg_of(c, "selection"), &sel, err, len);
    }
    if (strcmp(p, "/computeruse/clipboard") == 0) {
        const char *text;
        size_t n;
        enum clip_sel sel;
        return clip_set_parse(b, &text, &n, &sel, err, len);
    }
    if (strcmp(p, "/computeruse/apps/launch") == 0) {
        struct launch_req l = {0};
        int rc = launch_parse(b, &l, err, len);
        launch_req_free(&l);
        return rc;
    }
    if (strcmp(p, "/computeruse/a11y/tree") == 0) {
        if (a11y_err(a11y_tree_parse(arg_of, c, &q, &res), &res, err, len) < 0)
            return -1;
        return space_query_parse(
                arg_of(c, "space"), arg_of(c, "region"), SCREEN_W, SCREEN_H, &sp, err, len);
    }
    if (strcmp(p, "/computeruse/a11y/find") == 0) {
        if (a11y_err(a11y_find_parse(b, &q, &res), &res, err, len) < 0)
            return -1;
        return space_parse_json(b, SCREEN_W, SCREEN_H, &sp, err, len);
    }
    if (strncmp(p, "/computeruse/a11y/node/", 23) == 0) {
        const char *id, *arg;
        const char *key = strstr(p, "invoke") ? "action" : strstr(p, "value") ? "value" : NULL;
        return a11y_err(a11y_node_parse(b, key, &id, &arg, &res), &res, err, len);
    }
    snprintf(err, len, "the test knows no parser for %s", p);
    CHECK(0, "%s", err);
    return -1;
}

/* The arguments a property is tried with, where a tool's rules need company. */
static const struct {
    const char *tool;
    const char *base;
} bases[] = {
        {"screenshot", "{\"x\": 0, \"y\": 0, \"width\": 100, \"height\": 100}"},
        {"drag", "{\"startX\": 1, \"startY\": 1, \"endX\": 20, \"endY\": 20}"},
        {"drag", "{\"path\": [{\"x\": 1, \"y\": 1}, {\"x\": 20, \"y\": 20}]}"},
        {"window_action",
                "{\"id\": 1, \"action\": \"geometry\", \"x\": 0, \"y\": 0, \"width\": 640, "
                "\"height\": 480}"},
        {"a11y_tree", "{\"scope\": \"pid\", \"pid\": 1, \"space\": \"1024x768\"}"},
        {"a11y_find", "{\"pid\": 1, \"space\": {\"width\": 1024, \"height\": 768}}"},
        {"buttonDown", "{\"x\": 10, \"y\": 10}"},
        {"buttonUp", "{\"x\": 10, \"y\": 10}"},
        {"wait action", "{\"ms\": 100}"},
        {"wait action",
                "{\"until\": \"stable\", \"stableMs\": 300, \"timeoutMs\": 5000, \"since\": 0, "
                "\"region\": {\"x\": 0, \"y\": 0, \"width\": 10, \"height\": 10}}"},
};

/* The first example of a schema property. */
static json_t *example(json_t *prop) {
    return json_array_get(json_object_get(prop, "examples"), 0);
}

/*
 * The base arguments for property name of tool: the first of bases[] that has
 * it (else the first of the tool's); without one, the required properties'
 * examples and the space's. New reference.
 */
static json_t *base_for(const char *tool, json_t *schema, const char *name) {
    json_t *first = NULL;
    for (size_t i = 0; i < sizeof bases / sizeof bases[0]; i++) {
        if (strcmp(bases[i].tool, tool) != 0)
            continue;
        json_t *b = json_loads(bases[i].base, 0, NULL);
        if (name && json_object_get(b, name)) {
            json_decref(first);
            return b;
        }
        if (!first)
            first = b;
        else
            json_decref(b);
    }
    json_t *b = first ? first : json_object(), *props = json_object_get(schema, "properties");
    json_t *req;
    size_t i;
    json_array_foreach(json_object_get(schema, "required"), i, req) {
        const char *k = json_string_value(req);
        if (!first)
            json_object_set_new(b, k, json_deep_copy(example(json_object_get(props, k))));
    }
    /* A region is read with a space only. */
    if (json_object_get(props, "space") && !json_object_get(b, "space"))
        json_object_set_new(b, "space", json_deep_copy(example(json_object_get(props, "space"))));
    return b;
}

/*
 * Runs tool with args through tools/call and its route's parser; with kind,
 * args are one action of that type of the actions tool. 0 or -1 with err.
 */
static int call(const char *tool, const char *kind, json_t *args, char *err, size_t len) {
    struct mcp_call c;
    struct mcp_error e = {0};
    json_t *action = json_deep_copy(args);
    if (kind)
        json_object_set_new(action, "type", json_string(kind));
    json_t *params =
            kind ? json_pack("{s:s, s:{s:[o]}}", "name", "actions", "arguments", "actions", action)
                 : json_pack("{s:s, s:o}", "name", tool, "arguments", action);
    bool was = spec_strict(true); /* as POST /mcp runs a tool call */
    int rc = mcp_call_parse(params, &c, &e);
    if (rc < 0)
        snprintf(err, len, "%s", e.message);
    else
        rc = route_parse(&c, err, len) < 0 ? -1 : 0;
    spec_strict(was);
    mcp_call_free(&c);
    json_decref(params);
    return rc < 0 ? -1 : 0;
}

/* Where a property lives: tool's arguments, then names down into objects. */
struct at {
    const char *tool; /* a tool, or the name bases[] gives a batch action's kind */
    const char *kind; /* a batch action's type, or NULL */
    json_t *schema;   /* the tool's (the kind's spec's) */
    const char *path[4];
    int depth;
    bool query;
};

/* The arguments with v (borrowed; NULL: removed) at a's path. New reference. */
static json_t *with(const struct at *a, json_t *v) {
    json_t *args = base_for(a->tool, a->schema, a->path[0]);
    json_t *o = args;
    json_t *props = json_object_get(a->schema, "properties");
    for (int i = 0; i < a->depth - 1; i++) {
        json_t *prop = json_object_get(props, a->path[i]);
        json_t *next = json_object_get(o, a->path[i]);
        if (!json_is_object(next)) {
            next = json_deep_copy(example(prop));
            if (!json_is_object(next))
                next = json_object();
            json_object_set_new(o, a->path[i], next);
        }
        o = next;
        props = json_object_get(prop, "properties");
    }
    const char *last = a->path[a->depth - 1];
    if (v)
        json_object_set(o, last, v);
    else
        json_object_del(o, last);
    return args;
}

static const char *name_of(const struct at *a, char *buf, size_t len) {
    size_t n = 0;
    for (int i = 0; i < a->depth; i++)
        n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? "." : "", a->path[i]);
    return buf;
}

static void accepts(const struct at *a, json_t *v, const char *what) {
    char err[1024] = "", name[128];
    json_t *args = with(a, v);
    char *shown = json_dumps(args, JSON_COMPACT);
    CHECK(call(a->tool, a->kind, args, err, sizeof err) == 0, "%s: %s %s (%s) refused: %s", a->tool,
            name_of(a, name, sizeof name), what, shown, err);
    free(shown);
    json_decref(args);
}

static void refuses(const struct at *a, json_t *v, const char *what) {
    char err[1024] = "", name[128];
    json_t *args = with(a, v);
    char *shown = json_dumps(args, JSON_COMPACT);
    int rc = call(a->tool, a->kind, args, err, sizeof err);
    CHECK(rc < 0, "%s: %s %s (%s) accepted", a->tool, name_of(a, name, sizeof name), what, shown);
    CHECK(rc == 0 || strstr(err, a->path[a->depth - 1]), "%s: %s %s: the sentence names it: %s",
            a->tool, name_of(a, name, sizeof name), what, err);
    free(shown);
    json_decref(args);
}

/* A list of n copies of the example's first item. New reference. */
static json_t *list_of(json_t *ex, size_t n) {
    json_t *l = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append(l, json_array_get(ex, 0));
    return l;
}

static void property(struct at *a, json_t *prop, bool required);

/* The members of an object property (space, region, observe...). */
static void members(struct at *a, json_t *schema) {
    json_t *props = json_object_get(schema, "properties");
    const char *name;
    json_t *prop;
    json_object_foreach(props, name, prop) {
        bool req = false;
        size_t i;
        json_t *r;
        json_array_foreach(json_object_get(schema, "required"), i, r) {
            req |= strcmp(json_string_value(r), name) == 0;
        }
        a->path[a->depth++] = name;
        property(a, prop, req);
        a->depth--;
    }
    if (json_is_false(json_object_get(schema, "additionalProperties"))) {
        json_t *one = json_integer(1);
        a->path[a->depth++] = "nonesuch";
        refuses(a, one, "an unknown member");
        a->depth--;
        json_decref(one);
    }
}

static void property(struct at *a, json_t *prop, bool required) {
    const char *type = json_string_value(json_object_get(prop, "type"));
    json_t *ex = example(prop);
    CHECK(type && ex, "%s: %s has a type and an example", a->tool, a->path[a->depth - 1]);
    if (!type || !ex)
        return;
    accepts(a, ex, "its example");
    json_t *lo = json_object_get(prop, "minimum"), *hi = json_object_get(prop, "maximum");
    bool integer = strcmp(type, "integer") == 0;
    if (lo && hi) {
        double l = json_number_value(lo), h = json_number_value(hi);
        double d = integer ? 1 : (h - l) / 100;
        json_t *v;
        accepts(a, v = json_deep_copy(lo), "at its minimum");
        json_decref(v);
        accepts(a, v = json_deep_copy(hi), "at its maximum");
        json_decref(v);
        refuses(a, v = integer ? json_integer((json_int_t)(l - d)) : json_real(l - d),
                "below its minimum");
        json_decref(v);
        refuses(a, v = integer ? json_integer((json_int_t)(h + d)) : json_real(h + d),
                "above its maximum");
        json_decref(v);
    } else if (lo) {
        json_t *v = json_integer(json_integer_value(lo) - 1);
        refuses(a, v, "below its minimum");
        json_decref(v);
    }
    json_t *choices = json_object_get(prop, "enum");
    size_t i;
    json_t *c;
    json_array_foreach(choices, i, c) {
        accepts(a, c, "one of its enum");
    }
    if (choices) {
        json_t *v = json_string("nonesuch");
        refuses(a, v, "outside its enum");
        json_decref(v);
    }
    /* A wrong type: a query has strings only, so a string is never one there. */
    json_t *wrong = NULL;
    if (strcmp(type, "integer") == 0 || strcmp(type, "number") == 0 || strcmp(type, "array") == 0)
        wrong = json_string("abc");
    else if (strcmp(type, "boolean") == 0)
        wrong = a->query ? json_string("maybe") : json_integer(5);
    else if (!a->query)
        wrong = json_integer(5);
    if (wrong)
        refuses(a, wrong, "of the wrong type");
    json_decref(wrong);
    if (strcmp(type, "array") == 0) {
        json_t *mn = json_object_get(prop, "minItems"), *mx = json_object_get(prop, "maxItems");
        json_t *v;
        /* Copies of one item reach the most only where the parser takes an item twice. */
        if (mx && !json_is_true(json_object_get(prop, "uniqueItems"))) {
            accepts(a, v = list_of(ex, (size_t)json_integer_value(mx)), "at its most items");
            json_decref(v);
        }
        if (mx) {
            refuses(a, v = list_of(ex, (size_t)json_integer_value(mx) + 1), "with too many items");
            json_decref(v);
        }
        if (mn && json_integer_value(mn) > 0) {
            refuses(a, v = list_of(ex, (size_t)json_integer_value(mn) - 1), "with too few items");
            json_decref(v);
        }
    }
    json_t *mp = json_object_get(prop, "maxProperties");
    if (mp) {
        json_t *v = json_object();
        for (json_int_t k = 0; k <= json_integer_value(mp); k++) {
            char key[32];
            snprintf(key, sizeof key, "V%d", (int)k);
            json_object_set_new(v, key, json_string("x"));
        }
        refuses(a, v, "with too many members");
        json_decref(v);
    }
    if (required)
        refuses(a, NULL, "absent though required");
    if (strcmp(type, "object") == 0 && json_object_get(prop, "properties") && a->depth < 3)
        members(a, prop);
}

static void test_tools(void) {
    json_t *list = mcp_tool_list();
    size_t n = 0, i;
    const struct mcp_tool *tools = mcp_tools(&n);
    CHECK_INT((int)json_array_size(list), (int)n);
    json_t *tool;
    json_array_foreach(list, i, tool) {
        const char *name = json_string_value(json_object_get(tool, "name"));
        json_t *schema = json_object_get(tool, "inputSchema");
        CHECK(json_is_object(schema) &&
                        strcmp(json_string_value(json_object_get(schema, "type")) ?: "",
                                "object") == 0 &&
                        json_is_object(json_object_get(schema, "properties")),
                "%s: an object schema with properties", name);
        /* Every member the route's spec has is offered, but what the tool fixes. */
        const struct spec_field *f;
        for (f = tools[i].spec->fields; f->name; f++) {
            bool fixed = false;
            for (size_t k = 0; tools[i].drop && tools[i].drop[k]; k++)
                fixed |= strcmp(tools[i].drop[k], f->name) == 0;
            CHECK(fixed != !!json_object_get(json_object_get(schema, "properties"), f->name),
                    "%s: %s is offered unless the tool fixes it", name, f->name);
        }
        struct at a = {.tool = name, .schema = schema, .query = tools[i].in == IN_QUERY};
        char err[1024];
        json_t *args = base_for(name, schema, NULL);
        CHECK(call(name, NULL, args, err, sizeof err) == 0, "%s: its base arguments pass: %s", name,
                err);
        json_decref(args);
        members(&a, schema);
        for (size_t k = 0; tools[i].drop && tools[i].drop[k]; k++) {
            a.path[0] = tools[i].drop[k];
            a.depth = 1;
            refuses(&a, json_true(), "though the tool fixes it");
        }
    }
    json_decref(list);
}

/* Every kind of batch action, its spec's schema against act_parse as batch_parse runs it. */
static void test_actions(void) {
    static const struct {
        const char *kind;
        const struct spec *spec;
    } kinds[] = {
            {"move", &spec_move},
            {"click", &spec_click},
            {"drag", &spec_drag},
            {"scroll", &spec_scroll},
            {"type", &spec_type_action},
            {"key", &spec_key},
            {"hotkey", &spec_hotkey},
            {"keyDown", &spec_key_name},
            {"keyUp", &spec_key_name},
            {"buttonDown", &spec_button},
            {"buttonUp", &spec_button},
            {"releaseAll", &spec_release_all},
            {"wait", &spec_wait_action},
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        json_t *schema = spec_schema(kinds[i].spec, NULL);
        const char *kind = kinds[i].kind;
        struct at a = {.tool = strcmp(kind, "wait") == 0 ? "wait action" : kind,
                .kind = kind,
                .schema = schema};
        char err[1024];
        json_t *args = base_for(a.tool, schema, NULL);
        CHECK(call(a.tool, kind, args, err, sizeof err) == 0, "action %s: its base passes: %s",
                kind, err);
        json_decref(args);
        members(&a, schema);
        json_decref(schema);
    }
}

/* Over HTTP a member a route does not take is ignored (API.md: unknown keys are ignored). */
static void test_http_ignores_unknown(void) {
    char err[512] = "";
    json_t *click = json_pack("{s:i, s:i, s:s}", "x", 5, "y", 6, "colour", "red");
    CHECK(spec_check(click, &spec_click, NULL, err, sizeof err) == 0,
            "an unknown member is ignored over HTTP: %s", err);
    bool was = spec_strict(true);
    CHECK(spec_check(click, &spec_click, NULL, err, sizeof err) < 0 && strstr(err, "colour"),
            "and refused, naming it, for MCP: %s", err);
    spec_strict(was);
    json_t *bad = json_pack("{s:s, s:i, s:s}", "x", "5", "y", 6, "colour", "red");
    CHECK(spec_check(bad, &spec_click, NULL, err, sizeof err) < 0 && strstr(err, "x"),
            "a known member of the wrong type is still refused over HTTP: %s", err);
    json_decref(click);
    json_decref(bad);
}

int main(void) {
    check_timeout(60);
    test_http_ignores_unknown();
    test_tools();
    test_actions();
    return check_finish();
}
