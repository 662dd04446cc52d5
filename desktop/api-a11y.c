/*
 * api-a11y: Daytona's accessibility routes (API.md §15):
 *
 *   GET  /computeruse/a11y/tree        scope, pid, maxDepth   {"root", "truncated"}
 *   POST /computeruse/a11y/find        {"scope","pid","role","name","nameMatch","states","limit"}
 *   POST /computeruse/a11y/node/focus  {"id"}                 {}
 *   POST /computeruse/a11y/node/invoke {"id","action"?}       {}
 *   POST /computeruse/a11y/node/value  {"id","value"}         {}
 *
 * Errors carry Daytona's A11Y_* codes (every body failure too, as Daytona's
 * binding errors do), with the common error fields. [ext] tree and find take
 * a screenshot space (tree: query space=WxH and region=x,y,w,h; find: the
 * body's "space" and "region" of §10): each node then also has
 * "spaceBounds", its bounds in that space.
 *
 * Not here: D-Bus (a11y.c).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "a11y.h"
#include "bodies.h"
#include "deskd.h"
#include "stack.h"

static void reply_a11y(struct req *r, const struct a11y_result *res) {
    static const enum err_code codes[] = {
            [A11Y_OK] = ERR_A11Y_INTERNAL,
            [A11Y_UNAVAILABLE] = ERR_A11Y_UNAVAILABLE,
            [A11Y_NODE_NOT_FOUND] = ERR_A11Y_NODE_NOT_FOUND,
            [A11Y_NO_ROOT] = ERR_A11Y_NO_ACCESSIBLE_ROOT,
            [A11Y_NOT_SUPPORTED] = ERR_A11Y_ACTION_NOT_SUPPORTED,
            [A11Y_BAD_SCOPE] = ERR_A11Y_INVALID_SCOPE,
            [A11Y_BAD_REQUEST] = ERR_A11Y_INVALID_REQUEST,
            [A11Y_FAILED] = ERR_A11Y_INTERNAL,
    };
    reply_error(r, codes[res->status], "%s", res->error);
}

#define bad_request(r, ...) reply_error(r, ERR_A11Y_INVALID_REQUEST, __VA_ARGS__)

/* The screen's size, for a space. false when the display does not answer (reply sent). */
static bool screen_size(struct req *r, int *w, int *h) {
    char err[256];
    Display *dpy = xconn_lock(req_deskd(r)->xquery, err, sizeof err);
    if (!dpy) {
        reply_no_display(r, err);
        return false;
    }
    *w = DisplayWidth(dpy, DefaultScreen(dpy));
    *h = DisplayHeight(dpy, DefaultScreen(dpy));
    xconn_unlock(req_deskd(r)->xquery);
    return true;
}

static const char *arg_get(const void *ctx, const char *key) {
    return req_arg(ctx, key);
}

/* [ext] the tree's space=WxH and region=x,y,w,h. false: replied. */
static bool query_space(struct req *r, struct space *sp, bool *given) {
    const char *s = req_arg(r, "space"), *rg = req_arg(r, "region");
    int sw = 0, sh = 0, rc;
    char err[400];
    if (s && !screen_size(r, &sw, &sh))
        return false;
    if ((rc = space_query_parse(s, rg, sw, sh, sp, err, sizeof err)) < 0) {
        bad_request(r, "%s", err);
        return false;
    }
    *given = rc > 0;
    return true;
}

static void api_tree(struct req *r) {
    struct a11y_result res = {0};
    struct a11y_query q = {0};
    struct space sp;
    bool with_space;
    if (a11y_tree_parse(arg_get, r, &q, &res) < 0) {
        reply_a11y(r, &res);
        return;
    }
    if (!query_space(r, &sp, &with_space))
        return;
    q.space = with_space ? &sp : NULL;
    bool truncated = false;
    json_t *root = a11y_tree(stack_session_bus(), &q, &truncated, &res);
    if (!root) {
        reply_a11y(r, &res);
        return;
    }
    reply_json(r, 200, json_pack("{s:o, s:b}", "root", root, "truncated", truncated));
}

/* The body as a JSON object (Daytona's binding: an empty body is "EOF"). NULL: replied. */
static json_t *body_object(struct req *r) {
    if (!r->body || !r->body_len) {
        bad_request(r, "EOF: the request body must be a JSON object");
        return NULL;
    }
    json_error_t je;
    json_t *j = json_loadb(r->body, r->body_len, 0, &je);
    if (!j || !json_is_object(j)) {
        bad_request(
                r, "the request body must be a JSON object%s%s", j ? "" : ": ", j ? "" : je.text);
        json_decref(j);
        return NULL;
    }
    return j;
}

/* Parses find's body into q (strings borrowed from body). false: replied. */
static bool find_query(struct req *r, json_t *body, struct a11y_query *q, struct space *sp) {
    struct a11y_result res = {0};
    if (a11y_find_parse(body, q, &res) < 0) {
        reply_a11y(r, &res);
        return false;
    }
    if (json_object_get(body, "space") || json_object_get(body, "region")) {
        int sw, sh;
        char err[256];
        if (!screen_size(r, &sw, &sh))
            return false;
        if (space_parse_json(body, sw, sh, sp, err, sizeof err) < 0) {
            bad_request(r, "%s", err);
            return false;
        }
        q->space = sp;
    }
    return true;
}

static void api_find(struct req *r) {
    json_t *body = body_object(r);
    if (!body)
        return;
    struct a11y_query q = {0};
    struct space sp;
    if (find_query(r, body, &q, &sp)) {
        struct a11y_result res = {0};
        bool truncated = false;
        json_t *m = a11y_find(stack_session_bus(), &q, &truncated, &res);
        if (m)
            reply_json(r, 200, json_pack("{s:o, s:b}", "matches", m, "truncated", truncated));
        else
            reply_a11y(r, &res);
    }
    json_decref(body);
}

enum node_op { OP_FOCUS, OP_INVOKE, OP_VALUE };

static void node_route(struct req *r, enum node_op op) {
    json_t *body = body_object(r);
    if (!body)
        return;
    const char *id, *arg;
    struct a11y_result res = {0};
    if (a11y_node_parse(body,
                op == OP_FOCUS    ? NULL
                : op == OP_INVOKE ? "action"
                                  : "value",
                &id, &arg, &res) < 0) {
        reply_a11y(r, &res);
    } else if (input_gate(r, "the accessibility action")) {
        const char *bus = stack_session_bus();
        int rc = op == OP_FOCUS    ? a11y_focus(bus, id, &res)
                 : op == OP_INVOKE ? a11y_invoke(bus, id, arg, &res)
                                   : a11y_value(bus, id, arg, &res);
        if (rc == 0)
            reply_json(r, 200, json_object());
        else
            reply_a11y(r, &res);
    }
    json_decref(body);
}

static void api_focus(struct req *r) {
    node_route(r, OP_FOCUS);
}

static void api_invoke(struct req *r) {
    node_route(r, OP_INVOKE);
}

static void api_value(struct req *r) {
    node_route(r, OP_VALUE);
}

const struct route api_a11y_routes[] = {
        {"GET", "/computeruse/a11y/tree", api_tree, 0},
        {"POST", "/computeruse/a11y/find", api_find, 0},
        {"POST", "/computeruse/a11y/node/focus", api_focus, ROUTE_ACTS},
        {"POST", "/computeruse/a11y/node/invoke", api_invoke, ROUTE_ACTS},
        {"POST", "/computeruse/a11y/node/value", api_value, ROUTE_ACTS},
        {NULL, NULL, NULL, 0},
};
