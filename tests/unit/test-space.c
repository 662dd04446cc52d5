/*
 * Unit tests of the screenshot/pointer coordinate mapping (API.md §10): the
 * named fits on common screens, maximality of every fit over many sizes,
 * the mapping formula in both directions, and the JSON members.
 */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "space.h"

static void fit_case(const char *name, int w, int h, int ew, int eh) {
    struct space_fit fit;
    CHECK_INT(space_fit_named(name, &fit), 0);
    int ow = 0, oh = 0;
    space_fit_size(&fit, w, h, &ow, &oh);
    CHECK(ow == ew && oh == eh, "fit %s of %dx%d: %dx%d, expected %dx%d", name, w, h, ow, oh, ew,
            eh);
}

static void test_named_fits(void) {
    fit_case("xga", 1920, 1080, 1024, 576);
    fit_case("wxga", 1920, 1080, 1280, 720);
    fit_case("fwxga", 1920, 1080, 1366, 768); /* 768.375 floored */
    fit_case("xga", 1280, 800, 1024, 640);
    fit_case("wxga", 1280, 720, 1280, 720); /* never upscaled */
    fit_case("xga", 800, 600, 800, 600);
    fit_case("xga", 1080, 1920, 432, 768); /* portrait: the height binds */
    fit_case("xga", 1, 1, 1, 1);
    fit_case("xga", 8192, 1, 1024, 1); /* never below one pixel */
    struct space_fit fit;
    CHECK_INT(space_fit_named("XGA", &fit), -EINVAL);
    CHECK_INT(space_fit_named("", &fit), -EINVAL);
}

static void test_numeric_fits(void) {
    int w, h;
    struct space_fit edge = {.max_long_edge = 1568};
    space_fit_size(&edge, 1920, 1080, &w, &h);
    CHECK(w == 1568 && h == 882, "maxLongEdge 1568 of 1920x1080: %dx%d", w, h);
    /* 1430x804 = 1149720 fits 1150000; 1431x804 does not. */
    struct space_fit px = {.max_pixels = 1150000};
    space_fit_size(&px, 1920, 1080, &w, &h);
    CHECK(w == 1430 && h == 804, "maxPixels 1150000 of 1920x1080: %dx%d", w, h);
    struct space_fit both = {.max_long_edge = 1000, .max_pixels = 100000};
    space_fit_size(&both, 1920, 1080, &w, &h);
    CHECK((long)w * h <= 100000 && w <= 1000, "both bounds of 1920x1080: %dx%d", w, h);
    struct space_fit none = {0};
    CHECK(space_fit_empty(&none), "an all-zero fit bounds nothing");
    space_fit_size(&none, 333, 777, &w, &h);
    CHECK(w == 333 && h == 777, "an empty fit keeps 333x777: %dx%d", w, h);
}

static bool within(const struct space_fit *f, long w, long h) {
    long edge = w > h ? w : h;
    return (!f->max_width || w <= f->max_width) && (!f->max_height || h <= f->max_height) &&
           (!f->max_long_edge || edge <= f->max_long_edge) &&
           (!f->max_pixels || w * h <= f->max_pixels);
}

/* Over many sizes: the fit holds, keeps the aspect, and one more pixel of the long side breaks it.
 */
static void test_fit_maximal(void) {
    const struct space_fit fits[] = {{1024, 768, 0, 0}, {1366, 768, 0, 0}, {0, 0, 997, 0},
            {0, 0, 0, 480000}, {1280, 800, 1200, 700001}};
    int bad = 0, cases = 0;
    for (size_t f = 0; f < sizeof fits / sizeof fits[0]; f++) {
        for (int width = 1; width <= 4099; width += 37) {
            for (int height = 1; height <= 4099; height += 53) {
                int w, h;
                space_fit_size(&fits[f], width, height, &w, &h);
                cases++;
                bool landscape = width >= height;
                long nw = landscape ? w + 1 : (long)(h + 1) * width / height;
                long nh = landscape ? (long)(w + 1) * height / width : h + 1;
                bool ok = w >= 1 && h >= 1 && w <= width && h <= height &&
                          (within(&fits[f], w, h) || (w == 1 || h == 1)) &&
                          (landscape ? h == (long)w * height / width || h == 1
                                     : w == (long)h * width / height || w == 1) &&
                          ((landscape ? w == width : h == height) ||
                                  !within(&fits[f], nw < 1 ? 1 : nw, nh < 1 ? 1 : nh));
                if (!ok && bad++ < 5)
                    CHECK(false, "fit %zu of %dx%d gave %dx%d", f, width, height, w, h);
            }
        }
    }
    CHECK(bad == 0, "%d of %d fits were wrong", bad, cases);
}

static void test_mapping(void) {
    int sx, sy, x, y;
    struct space id = {1920, 1080, {0, 0, 1920, 1080}};
    space_to_screen(&id, 100, 200, &sx, &sy);
    CHECK(sx == 100 && sy == 200, "identity: %d,%d", sx, sy);
    space_to_screen(&id, 100.6, 200.4, &sx, &sy);
    CHECK(sx == 101 && sy == 200, "identity with fractions: %d,%d", sx, sy);

    /* xga of 1920x1080: image 1024x576, each image pixel 1.875 screen pixels. */
    struct space xga = {1024, 576, {0, 0, 1920, 1080}};
    space_to_screen(&xga, 0, 0, &sx, &sy);
    CHECK(sx == 0 && sy == 0, "xga origin: %d,%d", sx, sy);
    space_to_screen(&xga, 1023, 575, &sx, &sy);
    CHECK(sx == 1919 && sy == 1079, "xga last pixel: %d,%d", sx, sy);
    space_to_screen(&xga, 512, 288, &sx, &sy); /* floor(512.5 * 1.875) = 960 */
    CHECK(sx == 960 && sy == 540, "xga centre: %d,%d", sx, sy);
    space_from_screen(&xga, 1919, 1079, &x, &y);
    CHECK(x == 1023 && y == 575, "xga from the last screen pixel: %d,%d", x, y);

    /* A region off the origin, at its own size. */
    struct space reg = {300, 200, {50, 70, 300, 200}};
    space_to_screen(&reg, 0, 0, &sx, &sy);
    CHECK(sx == 50 && sy == 70, "region origin: %d,%d", sx, sy);
    space_from_screen(&reg, 50, 70, &x, &y);
    CHECK(x == 0 && y == 0, "back to the region origin: %d,%d", x, y);
    space_to_screen(&reg, -1, 200, &sx, &sy);
    CHECK(sx == 49 && sy == 270, "outside the image maps outside the region: %d,%d", sx, sy);
}

/*
 * Property over odd and prime sizes: an image pixel's centre lands inside
 * that pixel's footprint on the screen; and for images at least as large as
 * their region, screen -> image -> screen is the identity.
 */
static void test_mapping_properties(void) {
    const int sizes[] = {1, 2, 3, 7, 97, 101, 640, 641, 1023, 1024, 1366, 1920, 2003};
    const int n = (int)(sizeof sizes / sizeof sizes[0]);
    int bad = 0;
    for (int a = 0; a < n; a++) {
        for (int b = 0; b < n; b++) {
            int img = sizes[a], ext = sizes[b];
            struct space s = {img, img, {13, -7, ext, ext}};
            for (int i = 0; i < img; i++) {
                int sx, sy;
                space_to_screen(&s, i, i, &sx, &sy);
                /* Screen pixel [d, d+1) overlaps pixel i's footprint [i, i+1) * ext / img. */
                long d = sx - 13;
                bool in = sx == sy + 20 && d * img < (long)(i + 1) * ext &&
                          (d + 1) * img > (long)i * ext;
                if (!in && bad++ < 5)
                    CHECK(false, "image %d over %d: pixel %d maps to %d", img, ext, i, sx);
            }
            if (img >= ext) {
                for (int v = 13; v < 13 + ext; v++) {
                    int x, y, sx, sy;
                    space_from_screen(&s, v, v - 20, &x, &y);
                    space_to_screen(&s, x, y, &sx, &sy);
                    if ((sx != v || sy != v - 20) && bad++ < 5)
                        CHECK(false, "image %d over %d: screen %d -> %d -> %d", img, ext, v, x, sx);
                }
            }
        }
    }
    CHECK(bad == 0, "%d mapping properties failed", bad);
}

static int parse(const char *json, struct space *s, char *err) {
    json_t *body = json_loads(json, 0, NULL);
    int r = space_parse_json(body, 1280, 720, s, err, 256);
    json_decref(body);
    return r;
}

static void test_parse(void) {
    struct space s;
    char err[256];
    CHECK_INT(parse("{}", &s, err), 0);
    CHECK(s.width == 1280 && s.region.width == 1280 && s.region.x == 0, "identity without space");
    CHECK_INT(parse("{\"space\":{\"width\":1024,\"height\":576}}", &s, err), 1);
    CHECK(s.width == 1024 && s.height == 576 && s.region.width == 1280 && s.region.height == 720,
            "space over the whole screen");
    CHECK_INT(parse("{\"space\":{\"width\":100,\"height\":50},"
                    "\"region\":{\"x\":-10,\"y\":5,\"width\":200,\"height\":100}}",
                      &s, err),
            1);
    CHECK(s.region.x == -10 && s.region.y == 5 && s.region.width == 200, "space with region");
    CHECK_INT(parse("{\"region\":{\"x\":0,\"y\":0,\"width\":2,\"height\":2}}", &s, err), -EINVAL);
    CHECK(strstr(err, "region needs space") != NULL, "region alone: %s", err);
    CHECK_INT(parse("{\"space\":{\"width\":0,\"height\":50}}", &s, err), -EINVAL);
    CHECK(strstr(err, "space.width must be an integer from 1 to 8192") != NULL, "%s", err);
    CHECK_INT(parse("{\"space\":[1,2]}", &s, err), -EINVAL);
    CHECK(strstr(err, "space must be an object") != NULL, "%s", err);
    CHECK_INT(parse("{\"space\":{\"width\":10,\"height\":10},\"region\":{\"x\":0,\"y\":0,"
                    "\"width\":10}}",
                      &s, err),
            -EINVAL);
    CHECK(strstr(err, "region.height is required") != NULL, "%s", err);
}

int main(void) {
    check_timeout(30);
    test_named_fits();
    test_numeric_fits();
    test_fit_maximal();
    test_mapping();
    test_mapping_properties();
    test_parse();
    return check_finish();
}
