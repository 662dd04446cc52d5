/*
 * bodies: the request bodies of the batch, apps, window, clipboard and
 * accessibility routes (API.md §9, §12, §15), parsed into plain structures.
 * Knows JSON and the parsers of params.h, acts.h, keys.h and a11y.h; knows
 * nothing of HTTP and opens no X connection, so the fuzz harnesses (fuzz/)
 * run them as the routes do.
 *
 * Every parser returns 0, or -EINVAL with a sentence in err naming the
 * member and what it accepts (-ENOMEM where it allocates); the a11y ones
 * fill a struct a11y_result instead. Strings in the
 * results are borrowed from the body, which must outlive them.
 */
#ifndef DESK_BODIES_H
#define DESK_BODIES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "a11y.h"
#include "acts.h"
#include "clipw.h"
#include "damage.h"
#include "params.h"
#include "shots.h"
#include "x11.h"

/* The most actions in one batch. */
#define BATCH_MAX 1000
/* The longest one batch may take by its actions' worst cases, as one type request may. */
#define BATCH_TIME_MAX_MS (10L * 60 * 1000)

struct batch {
    struct act *acts; /* n, calloc'd; batch_free */
    int n;
    int done; /* out: the actions that succeeded */
};

/* "actions" and the batch's "space": every action, checked in full. batch_free, whatever. */
int batch_parse(json_t *body, struct batch *b, char *err, size_t errlen);
/* Frees the actions (and their paths); b zeroed or parsed. */
void batch_free(struct batch *b);

/* observe.settle (a §8 stable wait) and observe.screenshot: the compressed route's (§3, §10). */
struct observe {
    bool settle;
    struct damage_wait_spec wait; /* cancelled and arg left NULL */
    bool shot;
    struct shot_spec spec;
};

int observe_parse(json_t *body, struct observe *o, char *err, size_t errlen);

/* The most strings in a launch's argv, and variables in its env. */
#define ARGV_MAX 256
#define ENV_MAX  256

/* POST /computeruse/apps/launch: the strings are the body's, the arrays calloc'd. */
struct launch_req {
    const char **argv, **env; /* NULL-terminated; env NULL when the body has none */
    char **env_owned;
    size_t nenv;
    const char *cwd;
    bool wait;
    int timeout_ms; /* the caller's default stays when the body has no timeoutMs */
};

int launch_parse(json_t *b, struct launch_req *l, char *err, size_t errlen);
/* Frees what launch_parse allocated, whatever it returned. */
void launch_req_free(struct launch_req *l);

/* The largest frame side a window geometry request may ask for. */
#define GEOM_MAX_SIDE 32767
/* The largest window id (an X resource id has 29 bits). */
#define WINDOW_ID_MAX 0x1fffffff

/* GET /computeruse/display/windows's "type" (NULL: any, *type -1): x11_type_parse's. */
int windows_type_parse(const char *s, int *type, char *err, size_t errlen);

/* POST /computeruse/wait (API.md §8): the body checked whole, then wait_parse. */
int wait_body_parse(json_t *body, struct damage_wait_spec *spec, struct space_rect *region,
        char *err, size_t errlen);

/* POST /computeruse/windows/{id}/geometry: x, y, width, height, all required. */
int geometry_parse(json_t *body, struct x11_rect *g, char *err, size_t errlen);

/* A selection's name ("clipboard", NULL or absent: the clipboard; "primary"). */
int clip_selection_parse(const char *s, enum clip_sel *out, char *err, size_t errlen);
/* The "text" of a clipboard or paste body, at most CLIP_MAX bytes. */
int clip_text_parse(json_t *body, const char **text, size_t *len, char *err, size_t errlen);
/* keyboard/type's [ext] "method": type (the default) or paste (*paste true). */
int type_method_parse(json_t *body, bool *paste, char *err, size_t errlen);

/* POST /computeruse/clipboard: "text" and "selection". */
int clip_set_parse(
        json_t *body, const char **text, size_t *len, enum clip_sel *sel, char *err, size_t errlen);
/*
 * A paste's body (keyboard/type with "method": "paste"): its text and
 * "pasteKeys" (default ctrl+v) as a chord; *keys names it.
 */
int paste_parse(json_t *body, const char **text, size_t *len, const char **keys,
        struct key_combo *combo, char *err, size_t errlen);

/*
 * POST /computeruse/a11y/find: scope, pid, role, name, nameMatch, states,
 * limit into q (not its space: that needs the screen's size). 0, or -1 with
 * res set as Daytona's binding errors are (A11Y_BAD_REQUEST, A11Y_BAD_SCOPE).
 */
int a11y_find_parse(json_t *body, struct a11y_query *q, struct a11y_result *res);
/*
 * The a11y node routes' "id" and, when arg_key is not NULL, that member:
 * "action" (invoke; "" when absent) or "value" (set value, required).
 */
int a11y_node_parse(json_t *body, const char *arg_key, const char **id, const char **arg,
        struct a11y_result *res);

/*
 * GET /computeruse/a11y/tree's scope, pid and maxDepth (-1 when absent) from
 * the query (get, ctx: params.h's arg_fn) into q. 0, or -1 with res set.
 */
int a11y_tree_parse(arg_fn get, const void *ctx, struct a11y_query *q, struct a11y_result *res);
/*
 * The [ext] query form of a space: s "WIDTHxHEIGHT" and rg "X,Y,WIDTH,HEIGHT"
 * (either may be NULL; rg needs s) for a screen of sw x sh, as
 * space_parse_json reads them. 1, 0 when s is NULL, or -EINVAL with the
 * sentence in err.
 */
int space_query_parse(
        const char *s, const char *rg, int sw, int sh, struct space *sp, char *err, size_t errlen);

#endif
