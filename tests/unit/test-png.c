/*
 * The PNG writer (capture/encode.c) at the edges of its sizes, 1x1 to
 * 8192x8192: every image must decode pixel-exact in three independent
 * readers: libpng, ImageMagick, and (up to 600x600, where a byte loop in
 * Python is quick) Python's zlib with the PNG filters undone by hand, which
 * also checks every chunk's CRC and the zlib stream's Adler-32. 600x600 is
 * past the size where the encoder deflates in strips on several threads, so
 * the stitched stream and its combined Adler-32 meet all three readers.
 *
 * Under valgrind the 8192x8192 case shrinks to 8192x16: a quarter gigabyte
 * frame there takes longer than the test may, and memory errors do not
 * depend on the height.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture.h"
#include "check.h"
#include "image.h"

/* Gradients, flat runs and noise, so that the compressor meets every kind of input. */
static void pixel(int x, int y, uint8_t rgb[3]) {
    uint32_t h = (uint32_t)x * 2654435761u ^ (uint32_t)y * 2246822519u;
    h ^= h >> 15;
    switch ((x / 64 + y / 64) % 3) {
    case 0:
        rgb[0] = (uint8_t)(x + y), rgb[1] = (uint8_t)(x * 3), rgb[2] = (uint8_t)(y * 5);
        break;
    case 1:
        rgb[0] = 200, rgb[1] = 30, rgb[2] = (uint8_t)(y / 64);
        break;
    default:
        rgb[0] = (uint8_t)h, rgb[1] = (uint8_t)(h >> 8), rgb[2] = (uint8_t)(h >> 16);
    }
}

static char dir[] = "/tmp/test-png-XXXXXX";

static int write_file(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t n = fwrite(data, 1, len, f);
    return fclose(f) == 0 && n == len ? 0 : -1;
}

static uint8_t *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
    *len = buf ? fread(buf, 1, (size_t)n, f) : 0;
    fclose(f);
    return buf;
}

/* Python's zlib and a hand-written unfilter; exits 0 when the pixels are rgb_path's bytes. */
static const char py[] =
        "import struct,sys,zlib\n"
        "png=open(sys.argv[1],'rb').read(); want=open(sys.argv[2],'rb').read()\n"
        "assert png[:8]==b'\\x89PNG\\r\\n\\x1a\\n'\n"
        "p=8; idat=b''\n"
        "while p<len(png):\n"
        "  n,=struct.unpack('>I',png[p:p+4]); t=png[p+4:p+8]; d=png[p+8:p+8+n]\n"
        "  assert struct.unpack('>I',png[p+8+n:p+12+n])[0]==zlib.crc32(t+d), 'crc'\n"
        "  if t==b'IHDR': w,h,bd,ct,_,_,il=struct.unpack('>IIBBBBB',d); assert "
        "(bd,ct,il)==(8,2,0)\n"
        "  if t==b'IDAT': idat+=d\n"
        "  p+=12+n\n"
        "raw=zlib.decompress(idat); row=3*w; out=bytearray(); prev=bytearray(row)\n"
        "for y in range(h):\n"
        "  f=raw[y*(row+1)]; cur=bytearray(raw[y*(row+1)+1:(y+1)*(row+1)])\n"
        "  for i in range(row):\n"
        "    a=cur[i-3] if i>=3 else 0; b=prev[i]; c=prev[i-3] if i>=3 else 0\n"
        "    if f==1: cur[i]=(cur[i]+a)&255\n"
        "    elif f==2: cur[i]=(cur[i]+b)&255\n"
        "    elif f==3: cur[i]=(cur[i]+(a+b)//2)&255\n"
        "    elif f==4:\n"
        "      q=a+b-c; pa,pb,pc=abs(q-a),abs(q-b),abs(q-c)\n"
        "      cur[i]=(cur[i]+(a if pa<=pb and pa<=pc else b if pb<=pc else c))&255\n"
        "  out+=cur; prev=cur\n"
        "sys.exit(0 if bytes(out)==want else 1)\n";

static void check_size(struct encoder *e, int w, int h) {
    struct frame f = {.width = w, .height = h, .stride = 4 * w + 4 * (w % 3)};
    f.px = malloc((size_t)f.stride * (size_t)h);
    uint8_t *want = malloc((size_t)w * (size_t)h * 3);
    if (!f.px || !want) {
        CHECK(false, "%dx%d: memory", w, h);
        free(f.px);
        free(want);
        return;
    }
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            uint8_t *p = f.px + (size_t)y * (size_t)f.stride + 4 * (size_t)x;
            uint8_t *rgb = want + ((size_t)y * (size_t)w + (size_t)x) * 3;
            pixel(x, y, rgb);
            p[0] = rgb[2], p[1] = rgb[1], p[2] = rgb[0], p[3] = 0x5a; /* X must not matter */
        }
    }
    const uint8_t *out;
    size_t len;
    int rc = encoder_encode(e, &f, w, h, IMG_PNG, 0, &out, &len);
    CHECK(rc == 0, "%dx%d: encode %d", w, h, rc);
    free(f.px);
    if (rc != 0) {
        free(want);
        return;
    }
    size_t n = (size_t)w * (size_t)h * 3;

    struct image img;
    if (image_decode(out, len, &img) == 0) {
        CHECK(img.width == w && img.height == h && memcmp(img.rgb, want, n) == 0,
                "%dx%d: libpng reads the same pixels (%dx%d)", w, h, img.width, img.height);
        image_free(&img);
    } else {
        CHECK(false, "%dx%d: libpng cannot decode it", w, h);
    }

    char png[64], rgb[64], cmd[256];
    snprintf(png, sizeof png, "%s/img.png", dir);
    snprintf(rgb, sizeof rgb, "%s/want.rgb", dir);
    CHECK(write_file(png, out, len) == 0 && write_file(rgb, want, n) == 0, "temporary files");
    snprintf(cmd, sizeof cmd, "convert png:%s -depth 8 rgb:%s/im.rgb", png, dir);
    CHECK(system(cmd) == 0, "%dx%d: ImageMagick decodes it", w, h);
    snprintf(cmd, sizeof cmd, "%s/im.rgb", dir);
    size_t imlen = 0;
    uint8_t *im = read_file(cmd, &imlen);
    CHECK(im && imlen == n && memcmp(im, want, n) == 0, "%dx%d: ImageMagick reads the same pixels",
            w, h);
    free(im);
    unlink(cmd);
    if ((long)w * h <= 600 * 600) {
        snprintf(cmd, sizeof cmd, "python3 %s/check.py %s %s", dir, png, rgb);
        CHECK(system(cmd) == 0, "%dx%d: Python's zlib reads the same pixels", w, h);
    }
    unlink(png);
    unlink(rgb);
    free(want);
}

int main(void) {
    check_timeout(300);
    check_require_tool("convert");
    check_require_tool("python3");
    if (!mkdtemp(dir)) {
        CHECK(false, "mkdtemp");
        return check_finish();
    }
    char path[64];
    snprintf(path, sizeof path, "%s/check.py", dir);
    CHECK(write_file(path, py, strlen(py)) == 0, "script written");
    bool valgrind = getenv("DESK_TEST_VALGRIND") != NULL;
    static const int sizes[][2] = {{1, 1}, {1, 2}, {2, 1}, {3, 3}, {17, 5}, {64, 64}, {65, 63},
            {255, 257}, {600, 600}, {1, 8192}, {8192, 1}, {1920, 1080}, {8192, 8192}};
    struct encoder *e = encoder_new();
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        int w = sizes[i][0], h = sizes[i][1];
        if (valgrind && w == 8192 && h == 8192)
            h = 16;
        check_size(e, w, h);
    }
    encoder_destroy(e);
    unlink(path);
    rmdir(dir);
    return check_finish();
}
