/* Unit tests of the screenshot query rules: a table of query strings and outcomes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "params.h"
#include "util.h"

struct query {
    const char *keys[8];
    const char *vals[8];
};

static const char *lookup(const void *ctx, const char *key) {
    const struct query *q = ctx;
    for (int i = 0; i < 8 && q->keys[i]; i++) {
        if (strcmp(q->keys[i], key) == 0)
            return q->vals[i];
    }
    return NULL;
}

/* "k=v&k=v" into a struct query (test data has no escapes). */
static struct query parse_qs(const char *qs, char *store) {
    struct query q = {0};
    strcpy(store, qs);
    int n = 0;
    for (char *tok = strtok(store, "&"); tok && n < 8; tok = strtok(NULL, "&")) {
        char *eq = strchr(tok, '=');
        if (eq)
            *eq = '\0';
        q.keys[n] = tok;
        q.vals[n] = eq ? eq + 1 : "";
        n++;
    }
    return q;
}

struct tcase {
    bool region, compressed;
    const char *qs;
    const char *accept;
    const char *err; /* substring expected in the error sentence; NULL: success */
};

static const struct tcase cases[] = {
        {true, false, "y=0&width=10&height=10", NULL, "x is required"},
        {true, false, "x=1.0&y=0&width=10&height=10", NULL, "x must be an integer"},
        {true, false, "x= 1&y=0&width=10&height=10", NULL, "x must be an integer"},
        {true, false, "x=abc&y=0&width=10&height=10", NULL, "got \"abc\""},
        {true, false, "x=0&y=0&width=0&height=10", NULL, "width must be an integer from 1 to 8192"},
        {true, false, "x=0&y=0&width=10&height=-5", NULL, "height must be an integer from 1"},
        {true, false, "x=0&y=0&width=8193&height=10", NULL, "width must be"},
        {true, false, "x=-20&y=-30&width=10&height=10", NULL, NULL},
        {true, false, "x=0&y=0&width=8192&height=8192", NULL,
                "width x height must be at most 33177600 pixels (7680x4320), got 8192x8192"},
        {true, false, "x=0&y=0&width=7680&height=4320", NULL, NULL},
        {true, false, "x=0&y=0&width=8192&height=4050", NULL, NULL},
        {true, false, "X=0&y=0&width=10&height=10", NULL, "x is required"},
        {true, false, "x=0&y=0&Width=10&height=10", NULL, "width is required"},
        {true, false, "x=99999999999&y=0&width=10&height=10", NULL, "x must be an integer"},
        {false, true, "quality=0", NULL, "quality must be an integer from 1 to 100, got \"0\""},
        {false, true, "quality=101", NULL, "quality must be an integer from 1 to 100"},
        {false, true, "quality=abc", NULL, "quality must be"},
        {false, true, "quality=1", NULL, NULL},
        {false, true, "quality=100", NULL, NULL},
        {false, true, "scale=0.05", NULL, "scale must be a number from 0.1 to 1.0"},
        {false, true, "scale=1.5", NULL, "scale must be a number"},
        {false, true, "scale=abc", NULL, "scale must be a number"},
        {false, true, "scale=nan", NULL, "scale must be a number"},
        {false, true, "scale=0.1", NULL, NULL},
        {false, true, "scale=1", NULL, NULL},
        {false, true, "format=gif", NULL, "format must be png, jpeg (or jpg) or webp, got \"gif\""},
        {false, true, "format=JPG", NULL, NULL},
        {false, true, "format=WebP", NULL, NULL},
        {false, false, "showCursor=yes", NULL, "showCursor must be a boolean"},
        {false, false, "show_cursor=yes&showCursor=true", NULL, "show_cursor must be a boolean"},
        {false, false, "showCursor=True", NULL, NULL},
        {false, true, "format=png", "image/jpeg", "disagrees with Accept: image/jpeg"},
        {false, false, "", "image/webp", "this route returns PNG"},
        {false, true, "", "image/webp, */*;q=0.8", NULL},
        {false, true, "", "application/json, image/png", NULL},
        {false, false, "fit=xga", NULL, NULL},
        {false, true, "fit=XGA", NULL, "fit must be xga, wxga or fwxga, got \"XGA\""},
        {false, true, "fit=xga&scale=0.5", NULL, "scale cannot be combined with fit"},
        {false, true, "maxPixels=100&scale=0.5", NULL, "scale cannot be combined"},
        {false, true, "maxLongEdge=0", NULL, "maxLongEdge must be an integer from 1 to 8192"},
        {false, true, "maxLongEdge=8193", NULL, "maxLongEdge must be"},
        {false, false, "maxPixels=1.5", NULL, "maxPixels must be an integer"},
        {false, false, "ifChangedSince=-1", NULL, "ifChangedSince must be a frame id"},
        {false, false, "ifChangedSince=12abc", NULL, "ifChangedSince must be a frame id"},
        {false, false, "ifChangedSince=1795999124925687", NULL, NULL},
};

static void test_table(void) {
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct tcase *t = &cases[i];
        char store[256], err[256] = "";
        struct query q = parse_qs(t->qs, store);
        struct shot_req sr;
        int rc = shot_parse(&sr, t->region, t->compressed, lookup, &q, t->accept, err, sizeof err);
        if (t->err) {
            CHECK(rc == -EINVAL && strstr(err, t->err), "case \"%s\": rc %d, err \"%s\"", t->qs, rc,
                    err);
        } else {
            CHECK(rc == 0, "case \"%s\": rc %d, err \"%s\"", t->qs, rc, err);
        }
    }
}

static void test_values(void) {
    char store[256], err[256];
    struct shot_req sr;
    struct query q = parse_qs("x=-20&y=30&width=11&height=12&showCursor=1", store);
    CHECK_INT(shot_parse(&sr, true, true, lookup, &q, NULL, err, sizeof err), 0);
    CHECK_INT(sr.x, -20);
    CHECK_INT(sr.y, 30);
    CHECK_INT(sr.width, 11);
    CHECK_INT(sr.height, 12);
    CHECK(sr.cursor, "showCursor=1 is true");
    CHECK_INT(sr.format, IMG_PNG);
    CHECK_INT(sr.quality, 85);
    CHECK(sr.scale == 1.0, "default scale 1.0");
    CHECK(!sr.binary, "JSON by default");

    /* show_cursor wins over showCursor. */
    q = parse_qs("showCursor=true&show_cursor=false", store);
    CHECK_INT(shot_parse(&sr, false, false, lookup, &q, NULL, err, sizeof err), 0);
    CHECK(!sr.cursor, "show_cursor=false wins");
    q = parse_qs("showCursor=false&show_cursor=T", store);
    CHECK_INT(shot_parse(&sr, false, false, lookup, &q, NULL, err, sizeof err), 0);
    CHECK(sr.cursor, "show_cursor=T wins");

    q = parse_qs("format=jpg&quality=75&scale=0.5", store);
    CHECK_INT(shot_parse(&sr, false, true, lookup, &q, NULL, err, sizeof err), 0);
    CHECK_INT(sr.format, IMG_JPEG);
    CHECK_INT(sr.quality, 75);
    CHECK(sr.scale == 0.5, "scale 0.5");

    /* Accept selects the format when format is absent, and the binary form. */
    q = parse_qs("", store);
    CHECK_INT(shot_parse(&sr, false, true, lookup, &q, "image/webp", err, sizeof err), 0);
    CHECK_INT(sr.format, IMG_WEBP);
    CHECK(sr.binary, "Accept: image/webp is binary");
    CHECK_INT(shot_parse(&sr, false, false, lookup, &q, "image/png", err, sizeof err), 0);
    CHECK(sr.binary && sr.format == IMG_PNG, "uncompressed route, Accept: image/png");

    /* The fit bounds combine; ifChangedSince keeps all 64 bits a frame id may use. */
    q = parse_qs(
            "fit=wxga&maxLongEdge=1000&maxPixels=500000&ifChangedSince=9007199254740993", store);
    CHECK_INT(shot_parse(&sr, false, false, lookup, &q, NULL, err, sizeof err), 0);
    CHECK(sr.fit.max_width == 1280 && sr.fit.max_height == 800 && sr.fit.max_long_edge == 1000 &&
                    sr.fit.max_pixels == 500000 && !sr.has_scale,
            "fit bounds");
    CHECK(sr.if_changed && sr.since == 9007199254740993ULL, "ifChangedSince %llu",
            (unsigned long long)sr.since);

    /* Region parameters are ignored on the full-screen routes. */
    q = parse_qs("x=abc", store);
    CHECK_INT(shot_parse(&sr, false, true, lookup, &q, NULL, err, sizeof err), 0);
}

static void test_scalars(void) {
    int v;
    bool b;
    double d;
    CHECK_INT(util_parse_int("-0", -5, 5, &v), 0);
    CHECK_INT(util_parse_int("+3", -5, 5, &v), 0);
    CHECK_INT(v, 3);
    CHECK_INT(util_parse_int("6", -5, 5, &v), -EINVAL);
    CHECK_INT(util_parse_int("", -5, 5, &v), -EINVAL);
    CHECK_INT(util_parse_int("1e2", -500, 500, &v), -EINVAL);
    CHECK_INT(util_parse_int("0x10", -500, 500, &v), -EINVAL);
    const char *yes[] = {"1", "t", "T", "TRUE", "true", "True"};
    const char *no[] = {"0", "f", "F", "FALSE", "false", "False"};
    for (int i = 0; i < 6; i++) {
        CHECK(param_bool(yes[i], &b) == 0 && b, "%s is true", yes[i]);
        CHECK(param_bool(no[i], &b) == 0 && !b, "%s is false", no[i]);
    }
    CHECK_INT(param_bool("yes", &b), -EINVAL);
    CHECK_INT(param_bool("tRUE", &b), -EINVAL);
    CHECK_INT(param_bool("", &b), -EINVAL);
    CHECK_INT(util_parse_double("0.25", &d), 0);
    CHECK(d == 0.25, "0.25");
    CHECK_INT(util_parse_double("inf", &d), -EINVAL);
    CHECK_INT(util_parse_double("0.5x", &d), -EINVAL);
}

/* Body numbers: integers and fractions, finite, in range; sentences print them as sent. */
static void test_body_number(void) {
    static const struct {
        const char *json;
        int rc;
        double value;
        const char *err;
    } nums[] = {
            {"{\"x\":100}", 1, 100, ""},
            {"{\"x\":100.6}", 1, 100.6, ""},
            {"{\"x\":-0.25}", 1, -0.25, ""},
            {"{\"x\":1e3}", 1, 1000, ""},
            {"{}", 0, 0, ""},
            {"{\"x\":null}", 0, 0, ""},
            {"{\"x\":\"100\"}", -EINVAL, 0,
                    "x must be a number from -1000000 to 1000000, got \"100\""},
            {"{\"x\":true}", -EINVAL, 0, "x must be a number from -1000000 to 1000000, got true"},
            {"{\"x\":1000000.6}", -EINVAL, 0,
                    "x must be a number from -1000000 to 1000000, got 1000000.6"},
            {"{\"x\":1e7}", -EINVAL, 0,
                    "x must be a number from -1000000 to 1000000, got 10000000"},
            {"{\"x\":0.1}", 1, 0.1, ""},
    };
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        json_t *o = json_loads(nums[i].json, 0, NULL);
        double v = 0;
        char err[256] = "";
        int rc = body_number(o, "x", false, -1000000, 1000000, &v, err, sizeof err);
        CHECK(rc == nums[i].rc && (rc != 1 || v == nums[i].value) && strcmp(err, nums[i].err) == 0,
                "%s: %d %g \"%s\"", nums[i].json, rc, v, err);
        json_decref(o);
    }
    char err[256] = "";
    double v;
    json_t *o = json_loads("{}", 0, NULL);
    CHECK(body_number(o, "y", true, -5, 5, &v, err, sizeof err) == -EINVAL &&
                    strcmp(err, "y is required: a number from -5 to 5") == 0,
            "required: %s", err);
    json_decref(o);
    /* The shortest text that reads back: what a client computing 100.6 meant. */
    static const double vals[] = {100.6, 0.1, 1.0 / 3, 123456.789, -2.5e-7, 1e300};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        char buf[64];
        param_format_double(vals[i], buf, sizeof buf);
        CHECK(strtod(buf, NULL) == vals[i] && strlen(buf) <= 24, "%.17g prints as %s", vals[i],
                buf);
    }
    char buf[64];
    param_format_double(100.6, buf, sizeof buf);
    CHECK_STR(buf, "100.6");
}

int main(void) {
    check_timeout(30);
    test_body_number();
    test_table();
    test_values();
    test_scalars();
    return check_finish();
}
