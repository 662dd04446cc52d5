/*
 * params: strict parsing of request parameters (query strings), shared by the
 * routes and unit-tested without a server. Every failure fills err with a
 * sentence naming the parameter and the accepted values.
 */
#ifndef DESK_PARAMS_H
#define DESK_PARAMS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "capture.h"
#include "damage.h"
#include "space.h"

#define SHOT_MAX_SIDE  8192
#define SHOT_MAX_COORD 1000000
/* A region's width x height at most: 7680x4320 (8K UHD), 127 MiB of pixels. */
#define SHOT_MAX_PIXELS (7680L * 4320L)

/* Looks up a query argument by exact key; NULL when absent. */
typedef const char *(*arg_fn)(const void *ctx, const char *key);

/* 1 t T TRUE true True 0 f F FALSE false False; 0 or -EINVAL. */
int param_bool(const char *s, bool *out);

struct shot_req {
    bool region, compressed;
    int x, y, width, height; /* region only */
    bool cursor;
    enum img_format format;
    int quality;
    double scale;
    bool has_scale;
    struct space_fit fit; /* fit, maxLongEdge, maxPixels (API.md §10); empty when none given */
    bool if_changed;      /* ifChangedSince was given: */
    uint64_t since;       /* its frame id */
    bool binary;          /* the client asked for the image itself (Accept: image/...) */
};

/* A frame id (API.md §7): a decimal integer 0..2^63-1; 0 or -EINVAL. */
int param_frame(const char *s, uint64_t *out);

/*
 * Parses the query of one of the four screenshot routes and the Accept header
 * (may be NULL). Returns 0, or -EINVAL with the sentence in err.
 */
int shot_parse(struct shot_req *sr, bool region, bool compressed, arg_fn get, const void *ctx,
        const char *accept, char *err, size_t errlen);

/*
 * Request-body fields (a JSON object). Each returns 1 when the field was
 * present and valid, 0 when it is absent and not required (out untouched), or
 * -EINVAL with the sentence in err (wrong JSON type, out of range, missing).
 */
int body_int(json_t *obj, const char *key, bool required, long min, long max, int *out, char *err,
        size_t errlen);
/* A JSON number, integer or with a fraction, finite and within [min, max]. */
int body_number(json_t *obj, const char *key, bool required, double min, double max, double *out,
        char *err, size_t errlen);
int body_bool(json_t *obj, const char *key, bool *out, char *err, size_t errlen);

/* v as digits that read back as v: integers in full (1000000), else the fewest (100.6). */
void param_format_double(double v, char *buf, size_t len);
int body_string(json_t *obj, const char *key, bool required, const char **out, size_t *len,
        char *err, size_t errlen);

/*
 * The body of POST /computeruse/wait (API.md §8), also a batch's wait action
 * with "until": until (stable|changed), stableMs, timeoutMs, since, region.
 * Fills spec (defaults: stable 300 ms, timeout 5000 ms) and *region, and
 * points spec->region at region when the body has one. spec->cancelled and
 * spec->arg are left NULL. Returns 0, or -EINVAL with the sentence in err.
 */
int wait_parse(json_t *obj, struct damage_wait_spec *spec, struct space_rect *region, char *err,
        size_t errlen);

#endif
