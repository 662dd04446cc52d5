/*
 * params: query-string parsing with the API's exact rules: keys are matched
 * exactly (x, not X), integers are plain decimal (no "1.0", no spaces), the
 * boolean spellings are Go's strconv.ParseBool set, and show_cursor wins over
 * showCursor. Knows nothing of HTTP; the caller supplies a lookup function.
 */
#include "params.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

int param_bool(const char *s, bool *out) {
    static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
    for (size_t i = 0; s && i < sizeof yes / sizeof yes[0]; i++) {
        if (strcmp(s, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcmp(s, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -EINVAL;
}

int param_frame(const char *s, uint64_t *out) {
    long v;
    if (!s || util_parse_long(s, 0, LONG_MAX, &v) < 0)
        return -EINVAL;
    *out = (uint64_t)v;
    return 0;
}

/* The first media type of Accept that deskd can serve decides; image types select binary. */
static void parse_accept(const char *accept, bool *binary, enum img_format *fmt) {
    *binary = false;
    for (const char *p = accept; p && *p;) {
        p += strspn(p, " \t,");
        size_t n = strcspn(p, ",;");
        size_t tn = n;
        while (tn > 0 && (p[tn - 1] == ' ' || p[tn - 1] == '\t'))
            tn--;
        if (tn == strlen("application/json") && strncasecmp(p, "application/json", tn) == 0)
            return;
        int f = desk_wire_format_of_mime(p, tn);
        if (f >= 0) {
            *binary = true;
            *fmt = (enum img_format)f;
            return;
        }
        p += n;
        p += strcspn(p, ","); /* skip parameters such as ;q=0.9 */
    }
}

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        snprintf(err, errlen, __VA_ARGS__);                                                        \
        return -EINVAL;                                                                            \
    } while (0)

static int region_int(
        const char *name, const char *v, int min, int max, int *out, char *err, size_t errlen) {
    if (!v)
        FAIL("%s is required: an integer from %d to %d", name, min, max);
    if (util_parse_int(v, min, max, out) < 0)
        FAIL("%s must be an integer from %d to %d, got \"%.64s\"", name, min, max, v);
    return 0;
}

/* fit, maxLongEdge, maxPixels (§10: their bounds combine) and ifChangedSince (§7). */
static int parse_fit_since(
        struct shot_req *sr, arg_fn get, const void *ctx, char *err, size_t errlen) {
    const char *v;
    if ((v = get(ctx, "fit")) && space_fit_named(v, &sr->fit) < 0)
        FAIL("fit must be xga, wxga or fwxga, got \"%.64s\"", v);
    if ((v = get(ctx, "maxLongEdge")) &&
            util_parse_long(v, 1, SPACE_MAX_SIDE, &sr->fit.max_long_edge) < 0)
        FAIL("maxLongEdge must be an integer from 1 to %d, got \"%.64s\"", SPACE_MAX_SIDE, v);
    if ((v = get(ctx, "maxPixels")) &&
            util_parse_long(v, 1, (long)SPACE_MAX_SIDE * SPACE_MAX_SIDE, &sr->fit.max_pixels) < 0)
        FAIL("maxPixels must be an integer from 1 to %ld, got \"%.64s\"",
                (long)SPACE_MAX_SIDE * SPACE_MAX_SIDE, v);
    if (sr->has_scale && !space_fit_empty(&sr->fit))
        FAIL("scale cannot be combined with fit, maxLongEdge or maxPixels: give one of them");
    if ((v = get(ctx, "ifChangedSince"))) {
        if (param_frame(v, &sr->since) < 0)
            FAIL("ifChangedSince must be a frame id (an integer from 0 to 2^63-1), got \"%.64s\"",
                    v);
        sr->if_changed = true;
    }
    return 0;
}

int shot_parse(struct shot_req *sr, bool region, bool compressed, arg_fn get, const void *ctx,
        const char *accept, char *err, size_t errlen) {
    memset(sr, 0, sizeof *sr);
    sr->region = region;
    sr->compressed = compressed;
    sr->format = IMG_PNG;
    sr->quality = 85;
    sr->scale = 1.0;

    if (region) {
        if (region_int("x", get(ctx, "x"), -SHOT_MAX_COORD, SHOT_MAX_COORD, &sr->x, err, errlen) <
                        0 ||
                region_int("y", get(ctx, "y"), -SHOT_MAX_COORD, SHOT_MAX_COORD, &sr->y, err,
                        errlen) < 0 ||
                region_int("width", get(ctx, "width"), 1, SHOT_MAX_SIDE, &sr->width, err, errlen) <
                        0 ||
                region_int("height", get(ctx, "height"), 1, SHOT_MAX_SIDE, &sr->height, err,
                        errlen) < 0)
            return -EINVAL;
        if ((long)sr->width * sr->height > SHOT_MAX_PIXELS)
            FAIL("width x height must be at most %ld pixels (7680x4320), got %dx%d",
                    SHOT_MAX_PIXELS, sr->width, sr->height);
    }

    /* Older SDKs send show_cursor; when both are present it wins. */
    const char *cname = "show_cursor";
    const char *cv = get(ctx, cname);
    if (!cv) {
        cname = "showCursor";
        cv = get(ctx, cname);
    }
    if (cv && param_bool(cv, &sr->cursor) < 0)
        FAIL("%s must be a boolean (true, false, 1, 0, t, f, TRUE, FALSE, True, False), got "
             "\"%.64s\"",
                cname, cv);

    const char *fv = NULL;
    if (compressed) {
        const char *v;
        fv = get(ctx, "format");
        int f = desk_wire_format_parse(fv);
        if (fv && f < 0)
            FAIL("format must be png, jpeg (or jpg) or webp, got \"%.64s\"", fv);
        if (f >= 0)
            sr->format = (enum img_format)f;
        if ((v = get(ctx, "quality")) && util_parse_int(v, 1, 100, &sr->quality) < 0)
            FAIL("quality must be an integer from 1 to 100, got \"%.64s\"", v);
        if ((v = get(ctx, "scale")) &&
                (util_parse_double(v, &sr->scale) < 0 || sr->scale < 0.1 || sr->scale > 1.0))
            FAIL("scale must be a number from 0.1 to 1.0, got \"%.64s\"", v);
        sr->has_scale = v != NULL;
    }

    if (parse_fit_since(sr, get, ctx, err, errlen) < 0)
        return -EINVAL;

    enum img_format want = sr->format;
    parse_accept(accept, &sr->binary, &want);
    if (sr->binary && want != sr->format) {
        if (!compressed)
            FAIL("this route returns PNG; Accept asks for %s: use the /compressed route with "
                 "format=%s",
                    img_format_mime(want), img_format_name(want));
        if (fv)
            FAIL("format \"%.64s\" disagrees with Accept: %s; omit format or make them agree", fv,
                    img_format_mime(want));
        sr->format = want;
    }
    return 0;
}

void param_format_double(double v, char *buf, size_t len) {
    if (v == floor(v) && fabs(v) < 1e15) {
        snprintf(buf, len, "%.0f", v); /* 1000000, not 1e+06 */
        return;
    }
    /* The fewest digits that read back as v: 100.6, not jansson's 100.59999999999999. */
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, len, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

/* A short rendering of a JSON value for error sentences; numbers as short as they read back. */
static void show_json(json_t *v, char *buf, size_t len) {
    if (json_is_real(v)) {
        param_format_double(json_real_value(v), buf, len);
        return;
    }
    char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    snprintf(buf, len, "%.48s%s", text ? text : "?", text && strlen(text) > 48 ? "..." : "");
    free(text);
}

int body_int(json_t *obj, const char *key, bool required, long min, long max, int *out, char *err,
        size_t errlen) {
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        if (required)
            FAIL("%s is required: an integer from %ld to %ld", key, min, max);
        return 0;
    }
    json_int_t i = json_is_integer(v) ? json_integer_value(v) : 0;
    if (!json_is_integer(v) || i < min || i > max) {
        char shown[64];
        show_json(v, shown, sizeof shown);
        FAIL("%s must be an integer from %ld to %ld, got %s", key, min, max, shown);
    }
    *out = (int)i;
    return 1;
}

int body_number(json_t *obj, const char *key, bool required, double min, double max, double *out,
        char *err, size_t errlen) {
    json_t *v = json_object_get(obj, key);
    double d = v && json_is_number(v) ? json_number_value(v) : NAN;
    bool absent = !v || json_is_null(v);
    if ((absent && !required) || (!absent && isfinite(d) && d >= min && d <= max)) {
        if (!absent)
            *out = d;
        return !absent;
    }
    /* Only a refusal prints the bounds: formatting doubles costs more than the check. */
    char lo[32], hi[32];
    param_format_double(min, lo, sizeof lo);
    param_format_double(max, hi, sizeof hi);
    if (absent)
        FAIL("%s is required: a number from %s to %s", key, lo, hi);
    char shown[64];
    show_json(v, shown, sizeof shown);
    FAIL("%s must be a number from %s to %s, got %s", key, lo, hi, shown);
}

int body_bool(json_t *obj, const char *key, bool *out, char *err, size_t errlen) {
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_boolean(v)) {
        char shown[64];
        show_json(v, shown, sizeof shown);
        FAIL("%s must be true or false, got %s", key, shown);
    }
    *out = json_is_true(v);
    return 1;
}

int body_string(json_t *obj, const char *key, bool required, const char **out, size_t *len,
        char *err, size_t errlen) {
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        if (required)
            FAIL("%s is required: a string", key);
        return 0;
    }
    if (!json_is_string(v)) {
        char shown[64];
        show_json(v, shown, sizeof shown);
        FAIL("%s must be a string, got %s", key, shown);
    }
    *out = json_string_value(v);
    if (len)
        *len = json_string_length(v);
    return 1;
}

/* The optional "region" member: a rectangle of positive size, like the region screenshot's. */
static int wait_region(json_t *body, struct space_rect *out, char *err, size_t errlen) {
    json_t *reg = json_object_get(body, "region");
    if (!reg || json_is_null(reg))
        return 0;
    if (!json_is_object(reg)) {
        snprintf(err, errlen, "region must be an object {\"x\",\"y\",\"width\",\"height\"}");
        return -EINVAL;
    }
    char e[200];
    if (body_int(reg, "x", true, -SHOT_MAX_COORD, SHOT_MAX_COORD, &out->x, e, sizeof e) < 0 ||
            body_int(reg, "y", true, -SHOT_MAX_COORD, SHOT_MAX_COORD, &out->y, e, sizeof e) < 0 ||
            body_int(reg, "width", true, 1, SHOT_MAX_SIDE, &out->width, e, sizeof e) < 0 ||
            body_int(reg, "height", true, 1, SHOT_MAX_SIDE, &out->height, e, sizeof e) < 0) {
        snprintf(err, errlen, "region.%s", e);
        return -EINVAL;
    }
    return 1;
}

int wait_parse(json_t *obj, struct damage_wait_spec *spec, struct space_rect *region, char *err,
        size_t errlen) {
    *spec = (struct damage_wait_spec){.stable_ms = 300, .timeout_ms = 5000};
    const char *until;
    int has_region;
    if (body_string(obj, "until", true, &until, NULL, err, errlen) < 0 ||
            body_int(obj, "stableMs", false, DAMAGE_STABLE_MIN_MS, DAMAGE_STABLE_MAX_MS,
                    &spec->stable_ms, err, errlen) < 0 ||
            body_int(obj, "timeoutMs", false, DAMAGE_TIMEOUT_MIN_MS, DAMAGE_TIMEOUT_MAX_MS,
                    &spec->timeout_ms, err, errlen) < 0 ||
            (has_region = wait_region(obj, region, err, errlen)) < 0)
        return -EINVAL;
    if (strcmp(until, "stable") == 0)
        spec->until = DAMAGE_UNTIL_STABLE;
    else if (strcmp(until, "changed") == 0)
        spec->until = DAMAGE_UNTIL_CHANGED;
    else
        FAIL("until must be \"stable\" or \"changed\", got \"%.64s\"", until);
    json_t *since = json_object_get(obj, "since");
    if (since && !json_is_null(since)) {
        if (!json_is_integer(since) || json_integer_value(since) < 0)
            FAIL("since must be a frame id (an integer from 0 to 2^63-1)");
        spec->has_since = true;
        spec->since = (uint64_t)json_integer_value(since);
    }
    spec->region = has_region ? region : NULL;
    return 0;
}
