/*
 * shot (tests): fetch a screenshot from deskd in its JSON form, check the
 * response's shape against API.md §3, and decode the image.
 */
#ifndef DESK_TEST_SHOT_H
#define DESK_TEST_SHOT_H

#include <stdbool.h>

#include "image.h"

struct shot {
    long status;
    struct image img;
    int width, height;  /* as the JSON says */
    int rx, ry, rw, rh; /* region */
    bool has_cursor;
    int cursor_x, cursor_y;
    unsigned long long frame; /* frameId, 0 when absent */
    char format[8];
    char error[512]; /* the error sentence of a non-200 answer */
};

/*
 * GET base + path_and_query; checks every field. Returns 0 on 200 with a decodable image.
 * shot_get also counts a failed check unless the status is 200; shot_try is for the
 * callers that expect an error (s->status and s->error tell which).
 */
int shot_get(const char *base, const char *path_and_query, struct shot *s);
int shot_try(const char *base, const char *path_and_query, struct shot *s);
void shot_free(struct shot *s);

/* Paints the root window of dpy with the tests' pattern (a root background pixmap). */
struct _XDisplay;
int pattern_paint(struct _XDisplay *dpy, unsigned seed);
/* The pattern's colour at screen position (x, y). */
void pattern_rgb(unsigned seed, int x, int y, unsigned char rgb[3]);

#endif
