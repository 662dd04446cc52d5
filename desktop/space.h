/*
 * space: how the pixels of a scaled screenshot map to the screen, and back
 * (API.md §10). One mapping serves both directions of the agent loop: the
 * screenshot routes say which space their image is in, and the pointer
 * routes read coordinates given in that space. Knows no X, HTTP or JSON
 * beyond the two small parsers at the end.
 */
#ifndef DESK_SPACE_H
#define DESK_SPACE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* A screen rectangle in root-window pixels. */
struct space_rect {
    int x, y, width, height;
};

/*
 * An image of width x height pixels showing region of the screen. The
 * identity space of a screen is {w, h, {0, 0, w, h}}.
 */
struct space {
    int width, height;
    struct space_rect region;
};

/*
 * Bounds on a fitted image; 0 means no bound. max_width/max_height come from
 * the named fits (xga 1024x768, wxga 1280x800, fwxga 1366x768).
 */
struct space_fit {
    int max_width, max_height;
    long max_long_edge;
    long max_pixels;
};

#define SPACE_MAX_SIDE 8192

/* Fills fit from a name (xga, wxga, fwxga); 0, or -EINVAL for another name. */
int space_fit_named(const char *name, struct space_fit *fit);

/* True when fit bounds nothing. */
bool space_fit_empty(const struct space_fit *fit);

/*
 * The largest image of a width x height region within every bound of fit,
 * aspect ratio kept (each side floored), never larger than the region and
 * never smaller than 1x1. width and height must be at least 1.
 */
void space_fit_size(const struct space_fit *fit, int width, int height, int *out_w, int *out_h);

/*
 * Maps the point (x, y) of an image in space s to the screen pixel whose
 * area holds it: screen_x = region.x + floor((x + 0.5) * region.width /
 * space.width), the same for y. x and y may have fractions (clients compute
 * them from scaled images) and may lie outside the image (then the result
 * lies outside the region). Integral inputs are mapped in exact integer
 * arithmetic. x and y must be finite.
 */
void space_to_screen(const struct space *s, double x, double y, int *sx, int *sy);

/*
 * Maps the screen pixel (sx, sy) to the pixel of an image in space s that
 * holds its centre: x = floor((sx - region.x + 0.5) * space.width /
 * region.width). For an image at least as large as its region,
 * space_to_screen of the result gives (sx, sy) back.
 */
void space_from_screen(const struct space *s, int sx, int sy, int *x, int *y);

/*
 * Reads the optional "space" ({"width","height"}, 1..SPACE_MAX_SIDE each)
 * and "region" ({"x","y","width","height"} with the screenshot region
 * route's bounds: x and y within +-1000000, sides 1..8192; it may reach off
 * the screen) members of a JSON request body into out, for a screen of screen_w x
 * screen_h. Without "space" out is the screen's identity space and "region"
 * is refused (it means nothing alone). Returns 1 when "space" was given, 0
 * when not, or -EINVAL with a sentence naming the member in err.
 */
int space_parse_json(
        json_t *body, int screen_w, int screen_h, struct space *out, char *err, size_t errlen);

#endif
