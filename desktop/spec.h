/*
 * spec: the parameters of the request shapes, declared once (API.md §4-§15,
 * §13). A route's parser checks a body against its spec before reading it
 * (spec_check: missing member, wrong JSON type, a number out
 * of its bounds, a list of the wrong length), and tools/list's input schemas
 * are generated from the same specs (spec_schema), so the two cannot drift.
 *
 * What a table cannot say stays in the parsers after spec_check and is
 * written in the spec's rules: enum values (the parsers accept them
 * leniently: case, surrounding blanks, aliases such as jpg; the table lists
 * the canonical ones and is checked against the parser by tests/unit
 * test-schemas), list items, and rules across members (path or
 * startX..endY, fit with scale). Query specs (IN_QUERY tools) describe the
 * query arguments their route's parser reads; spec_check is for JSON bodies.
 *
 * Knows JSON and the parsers' limits; knows nothing of HTTP or X.
 */
#ifndef DESK_SPEC_H
#define DESK_SPEC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

enum spec_type {
    SPEC_INT,    /* a JSON integer within [min, max] (both 0: any int) */
    SPEC_NUM,    /* a finite JSON number within [min, max] */
    SPEC_STR,    /* a string; choices, when given, are the values the parser accepts */
    SPEC_BOOL,   /* true or false */
    SPEC_ARRAY,  /* a list of min to max (0: no bound) items of type items */
    SPEC_OBJECT, /* an object with the members of object */
    SPEC_MAP,    /* an object of string values under any names (launch's env) */
};

struct spec;

struct spec_field {
    const char *name;
    enum spec_type type;
    bool required;
    double min, max;            /* INT, NUM: the bounds; ARRAY: the item count */
    const char *const *choices; /* STR, ARRAY of STR: the values, NULL-terminated; or NULL */
    enum spec_type items;       /* ARRAY: the items' type */
    bool unique;                /* ARRAY: the parser refuses an item twice */
    const struct spec *object;  /* OBJECT, ARRAY of OBJECT: the members */
    const char *accepts;        /* ARRAY, OBJECT: "a list of ..." for the type's sentence */
    const char *example;        /* JSON of a value the parser accepts (tests and schema) */
    const char *description;    /* for models: what it is, its unit and space */
};

struct spec {
    const struct spec_field *fields; /* ends with a field whose name is NULL */
    const char *rules;               /* what the parser checks beyond the table, or NULL */
    bool open;                       /* members beyond fields are accepted (query strings) */
};

/* The shapes, one per body or query (the routes name them; mcp.c's tools too). */
extern const struct spec spec_move, spec_click, spec_drag, spec_scroll, spec_button, spec_pointer,
        spec_type_route, spec_type_action, spec_key, spec_hotkey, spec_key_name, spec_release_all,
        spec_wait_action, spec_wait, spec_actions, spec_launch, spec_geometry, spec_window_action,
        spec_clipboard_set, spec_paste, spec_a11y_find, spec_a11y_focus, spec_a11y_invoke,
        spec_a11y_value, spec_screenshot, spec_windows, spec_clipboard_get, spec_a11y_tree,
        spec_none /* a query with no parameters */;

/* A field of s by name; NULL when s has none. */
const struct spec_field *spec_field(const struct spec *s, const char *name);

/*
 * Checks obj (a JSON object, or NULL: no members) against s and, below it,
 * the objects of its OBJECT fields: every required member is present, and
 * each has its JSON type, bounds and item count. A member s does not name
 * (nor also, when not NULL: one more that the caller reads) is ignored, as
 * API.md says of request bodies, unless spec_strict is on. 0, or -EINVAL
 * with the sentence in err naming the member (space.width, observe.settle.x)
 * and what it accepts; numbers' sentences are params.h's body_* ones.
 */
int spec_check(json_t *obj, const struct spec *s, const char *also, char *err, size_t errlen);

/*
 * Whether spec_check refuses unknown members on the calling thread (off by
 * default; MCP tool calls turn it on: their schemas say additionalProperties
 * false). Returns the previous setting, for the caller to restore.
 */
bool spec_strict(bool on);

/*
 * The JSON Schema of s: an object schema with its fields as properties, their
 * bounds, choices, items, descriptions and examples, the required ones, and
 * additionalProperties false unless s is open. drop (NULL-terminated, may be
 * NULL) names fields left out (a tool that fixes them). New reference.
 */
json_t *spec_schema(const struct spec *s, const char *const *drop);

#endif
