/* image (tests): decoders for checking what deskd sent, pixel by pixel. */
#include "image.h"

#include <png.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>
#include <webp/decode.h>

static int decode_png(const uint8_t *data, size_t len, struct image *out) {
    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_memory(&img, data, len))
        return -1;
    img.format = PNG_FORMAT_RGB;
    out->rgb = malloc(PNG_IMAGE_SIZE(img));
    if (!out->rgb || !png_image_finish_read(&img, NULL, out->rgb, 0, NULL)) {
        png_image_free(&img);
        free(out->rgb);
        out->rgb = NULL;
        return -1;
    }
    out->width = (int)img.width;
    out->height = (int)img.height;
    strcpy(out->format, "png");
    return 0;
}

static int decode_jpeg(const uint8_t *data, size_t len, struct image *out) {
    tjhandle tj = tjInitDecompress();
    int w, h, sub, cs;
    int rc = -1;
    if (tj && tjDecompressHeader3(tj, data, (unsigned long)len, &w, &h, &sub, &cs) == 0) {
        out->rgb = malloc((size_t)w * (size_t)h * 3);
        if (out->rgb &&
                tjDecompress2(tj, data, (unsigned long)len, out->rgb, w, 0, h, TJPF_RGB, 0) == 0) {
            out->width = w;
            out->height = h;
            strcpy(out->format, "jpeg");
            rc = 0;
        }
    }
    if (tj)
        tjDestroy(tj);
    return rc;
}

static int decode_webp(const uint8_t *data, size_t len, struct image *out) {
    int w, h;
    out->rgb = WebPDecodeRGB(data, len, &w, &h);
    if (!out->rgb)
        return -1;
    /* WebP's buffer comes from its own allocator; copy into ours so image_free is uniform. */
    uint8_t *copy = malloc((size_t)w * (size_t)h * 3);
    if (copy)
        memcpy(copy, out->rgb, (size_t)w * (size_t)h * 3);
    WebPFree(out->rgb);
    out->rgb = copy;
    out->width = w;
    out->height = h;
    strcpy(out->format, "webp");
    return copy ? 0 : -1;
}

int image_decode(const uint8_t *data, size_t len, struct image *out) {
    memset(out, 0, sizeof *out);
    if (len >= 8 && memcmp(data, "\x89PNG\r\n\x1a\n", 8) == 0)
        return decode_png(data, len, out);
    if (len >= 3 && memcmp(data, "\xff\xd8\xff", 3) == 0)
        return decode_jpeg(data, len, out);
    if (len >= 12 && memcmp(data, "RIFF", 4) == 0 && memcmp(data + 8, "WEBP", 4) == 0)
        return decode_webp(data, len, out);
    return -1;
}

void image_free(struct image *img) {
    free(img->rgb);
    img->rgb = NULL;
}

static int b64val(unsigned char c) {
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int base64_decode(const char *in, size_t inlen, uint8_t **out, size_t *outlen) {
    if (inlen % 4)
        return -1;
    uint8_t *o = malloc(inlen / 4 * 3 + 1);
    if (!o)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < inlen; i += 4) {
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; k++) {
            unsigned char c = (unsigned char)in[i + k];
            if (c == '=' && i + 4 == inlen && k >= 2) {
                v[k] = 0;
                pad++;
            } else if ((v[k] = b64val(c)) < 0 || pad) {
                free(o);
                return -1;
            }
        }
        uint32_t w =
                (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        o[n++] = (uint8_t)(w >> 16);
        if (pad < 2)
            o[n++] = (uint8_t)(w >> 8);
        if (pad < 1)
            o[n++] = (uint8_t)w;
    }
    *out = o;
    *outlen = n;
    return 0;
}
