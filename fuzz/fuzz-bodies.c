/*
 * libFuzzer harness: every JSON request-body parser of deskd, run as the
 * routes run them, without a server or a display. The first byte picks the
 * parser (and, for the input actions, whether they are a single route's
 * body or a batch's action, with or without the batch's default space);
 * the rest is the body, parsed as http.c parses ROUTE_JSON
 * bodies (duplicate keys refused) or, for the a11y and recording routes that
 * read their own, as they do.
 *
 * Beyond memory errors, it aborts when a parser breaks its contract: a
 * refusal without a sentence, or a success that left a required result
 * empty.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "acts.h"
#include "bodies.h"
#include "params.h"
#include "recs.h"
#include "space.h"

enum which {
    P_ACT_FIRST = 0, /* ACT_POINTER .. ACT_WAIT: the single input routes and batch actions */
    P_WAIT = ACT_WAIT + 1,
    P_BATCH,
    P_LAUNCH,
    P_GEOMETRY,
    P_CLIPBOARD,
    P_PASTE,
    P_A11Y_FIND,
    P_A11Y_NODE,
    P_RECORDING,
    P_N,
};

/* A refusal must say why. */
static void refused(int rc, const char *err) {
    if (rc < 0 && !err[0])
        abort();
}

/* variant 0: a single route's body; 1: a batch's action; 2: one with the batch's space. */
static void act(json_t *body, enum act_kind kind, int variant) {
    struct space dflt = {0};
    char err[512] = "";
    const char *field = NULL;
    bool spaced = variant == 2;
    if (spaced && space_parse_json(body, 1280, 720, &dflt, err, sizeof err) < 0) {
        refused(-1, err);
        return;
    }
    struct act a;
    int rc = act_parse(body, kind, variant ? &dflt : NULL, spaced, &a, &field, err, sizeof err);
    refused(rc, err);
    if (rc < 0 && !field)
        abort(); /* a batch names actions[N].field from it */
    if (rc == 0) {
        (void)act_cost_ms(&a);
        (void)act_answers_xy(&a);
        if (kind == ACT_DRAG && (!a.path || a.npath < 2))
            abort();
    }
    act_free(&a);
}

static void batch(json_t *body) {
    char err[768] = "";
    struct batch b = {0};
    struct observe ob;
    int rc = batch_parse(body, &b, err, sizeof err);
    refused(rc, err);
    batch_free(&b);
    err[0] = '\0';
    refused(observe_parse(body, &ob, err, sizeof err), err);
}

static void launch(json_t *body) {
    char err[512] = "";
    struct launch_req l = {.timeout_ms = 10000};
    int rc = launch_parse(body, &l, err, sizeof err);
    if (rc == -EINVAL)
        refused(rc, err);
    if (rc == 0 && (!l.argv || !l.argv[0] || !l.argv[0][0]))
        abort();
    launch_req_free(&l);
}

static void clipboard(json_t *body, bool paste) {
    char err[256] = "";
    const char *text = NULL, *keys = NULL;
    size_t len = 0;
    enum clip_sel s;
    struct key_combo combo;
    bool by_paste;
    if (paste) {
        int rc = type_method_parse(body, &by_paste, err, sizeof err);
        if (rc == 0 && by_paste)
            rc = paste_parse(body, &text, &len, &keys, &combo, err, sizeof err);
        refused(rc, err);
        return;
    }
    refused(clip_set_parse(body, &text, &len, &s, err, sizeof err), err);
}

static void a11y(json_t *body, int variant) {
    struct a11y_result res = {0};
    if (variant == 0) {
        struct a11y_query q = {0};
        struct space sp;
        char err[256] = "";
        if (a11y_find_parse(body, &q, &res) < 0)
            refused(-1, res.error);
        else if (q.limit < 1 || q.limit > A11Y_FIND_LIMIT_MAX)
            abort();
        else if (space_parse_json(body, 1920, 1080, &sp, err, sizeof err) < 0)
            refused(-1, err);
        return;
    }
    const char *id, *arg;
    static const char *const keys[] = {NULL, "action", "value"};
    if (a11y_node_parse(body, keys[variant % 3], &id, &arg, &res) < 0)
        refused(-1, res.error);
    else if (!id || !arg)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1)
        return 0;
    int which = data[0] % P_N;
    bool own_body = which == P_A11Y_FIND || which == P_A11Y_NODE || which == P_RECORDING;
    json_t *body = json_loadb(
            (const char *)data + 1, size - 1, own_body ? 0 : JSON_REJECT_DUPLICATES, NULL);
    if (!body)
        return 0;
    /* http.c hands ROUTE_JSON routes objects only. */
    if (!json_is_object(body) && !own_body) {
        json_decref(body);
        return 0;
    }
    char err[512] = "";
    struct damage_wait_spec spec;
    struct space_rect region;
    struct x11_rect g;
    switch (which) {
    case P_WAIT:
        refused(wait_body_parse(body, &spec, &region, err, sizeof err), err);
        break;
    case P_BATCH:
        batch(body);
        break;
    case P_LAUNCH:
        launch(body);
        break;
    case P_GEOMETRY:
        refused(geometry_parse(body, &g, err, sizeof err), err);
        break;
    case P_CLIPBOARD:
    case P_PASTE:
        clipboard(body, which == P_PASTE);
        break;
    case P_A11Y_FIND:
    case P_A11Y_NODE:
        a11y(body, which == P_A11Y_FIND ? 0 : 1 + (data[0] / P_N) % 3);
        break;
    case P_RECORDING:
        /* Daytona reads a label that is not a string as no label. */
        (void)recs_label_ok(json_string_value(json_object_get(body, "label")));
        break;
    default:
        act(body, (enum act_kind)which, (data[0] / P_N) % 3);
        break;
    }
    json_decref(body);
    return 0;
}
