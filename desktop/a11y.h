/*
 * a11y: Daytona's accessibility operations over AT-SPI, spoken as D-Bus on
 * the accessibility bus (a11y-bus.h): the tree of a scope, find, focus,
 * invoke and value, with Daytona's node ids, scopes, budgets, state names
 * and error classes (API.md §15; the details in DAYTONA-A11Y-RECORDINGS.md
 * §3.6). Knows no HTTP: the routes (api-a11y.c) parse requests into the
 * structures below and map enum a11y_status to the wire codes.
 *
 * Bounded in time: every D-Bus call has a timeout (A11Y_CALL_TIMEOUT_MS, less
 * when the request's deadline is nearer), a walk stops at its deadline
 * (A11Y_WALK_MS) and reports itself truncated, and an application that let
 * one call time out is not asked again in the same request. Requests run in
 * parallel on their own threads; nothing here serialises them.
 */
#ifndef DESK_A11Y_H
#define DESK_A11Y_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "space.h"

#define A11Y_BUDGET          20000 /* nodes visited per tree or find (Daytona's) */
#define A11Y_CALL_TIMEOUT_MS 1000
#define A11Y_WALK_MS         10000
#define A11Y_FIND_LIMIT      500  /* limit <= 0 */
#define A11Y_FIND_LIMIT_MAX  5000 /* larger limits are capped */

/* Daytona's error classes; each sentence starts with the class's sentinel. */
enum a11y_status {
    A11Y_OK,
    A11Y_UNAVAILABLE,    /* "accessibility bus not reachable" */
    A11Y_NODE_NOT_FOUND, /* "accessibility node not found" */
    A11Y_NO_ROOT,        /* "no accessible root for focused window" */
    A11Y_NOT_SUPPORTED,  /* "action not supported by node" */
    A11Y_BAD_SCOPE,      /* "invalid accessibility scope" */
    A11Y_BAD_REQUEST,    /* "invalid accessibility request" */
    A11Y_FAILED,         /* anything else (Daytona's A11Y_INTERNAL) */
};

struct a11y_result {
    enum a11y_status status;
    char error[768];
};

enum a11y_scope { A11Y_SCOPE_FOCUSED, A11Y_SCOPE_PID, A11Y_SCOPE_ALL };
enum a11y_match { A11Y_MATCH_SUBSTRING, A11Y_MATCH_EXACT, A11Y_MATCH_REGEX };

#define A11Y_STATES_MAX 44

struct a11y_query {
    enum a11y_scope scope;
    long pid;      /* the pid scope's application (> 0) */
    int max_depth; /* tree: < 0 unbounded, 0 the root alone */
    /* find: every filter given must hold (NULL or "": none) */
    const char *role; /* case-insensitive exact */
    const char *name;
    enum a11y_match name_match;
    unsigned long long states; /* bit i: state i must be set */
    int limit;                 /* 1..A11Y_FIND_LIMIT_MAX */
    /* [ext] not NULL: every node also carries "spaceBounds", its bounds in this space */
    const struct space *space;
};

/* Parses Daytona's scope (trimmed, any case; "" is focused). 0, or -1 with res set. */
int a11y_parse_scope(const char *s, enum a11y_scope *out, struct a11y_result *res);
/* Parses nameMatch ("" is substring). 0, or -1 with res set. */
int a11y_parse_match(const char *s, enum a11y_match *out, struct a11y_result *res);
/* The bit of state name (lowercase, as Daytona names them), or -1. */
int a11y_state_bit(const char *name);

/*
 * The tree of q's scope: the root node with its children (AccessibilityNode
 * JSON, Daytona's key order); *truncated when the budget or the deadline ran
 * out. NULL with res set on failure.
 */
json_t *a11y_tree(const char *session_bus, const struct a11y_query *q, bool *truncated,
        struct a11y_result *res);
/* The nodes of q's scope that pass its filters, DFS pre-order, without children; or NULL. */
json_t *a11y_find(const char *session_bus, const struct a11y_query *q, bool *truncated,
        struct a11y_result *res);
/* Component.GrabFocus on node id. 0, or -1 with res set. */
int a11y_focus(const char *session_bus, const char *id, struct a11y_result *res);
/* Runs the action called action (any case; NULL or "": the first one). 0, or -1. */
int a11y_invoke(
        const char *session_bus, const char *id, const char *action, struct a11y_result *res);
/* EditableText.SetTextContents, else Value.CurrentValue when value is a number. 0, or -1. */
int a11y_value(const char *session_bus, const char *id, const char *value, struct a11y_result *res);

#endif
