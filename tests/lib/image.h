/* image (tests): decode PNG, JPEG and WebP into RGB with the codecs' own libraries. */
#ifndef DESK_TEST_IMAGE_H
#define DESK_TEST_IMAGE_H

#include <stddef.h>
#include <stdint.h>

struct image {
    int width, height;
    uint8_t *rgb; /* 3 bytes a pixel, rows packed */
    char format[8];
};

/* Detects the format by its signature. Returns 0 or -1. */
int image_decode(const uint8_t *data, size_t len, struct image *out);
void image_free(struct image *img);
/* Standard base64 with padding; returns 0 or -1 on a bad character or length. */
int base64_decode(const char *in, size_t inlen, uint8_t **out, size_t *outlen);
/* Pointer to pixel (x, y). */
static inline const uint8_t *image_px(const struct image *img, int x, int y) {
    return img->rgb + ((size_t)y * (size_t)img->width + (size_t)x) * 3;
}

#endif
