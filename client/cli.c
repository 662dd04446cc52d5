/*
 * desk: the command-line tool on libdesk. One table of commands; each entry names its
 * arguments, its options and the function that runs it. Options may come anywhere after
 * `desk` (before or after the command); a lone argument that looks like a negative number
 * is an argument, not an option, so `desk move -5 10` works.
 *
 * Output is a short human line by default and, with --json, the API's own JSON shape.
 * On failure it prints "desk: COMMAND: <the server's message>" on stderr and exits 1;
 * a usage error exits 2. It does not retry or wait for anything the server does not.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "desk/desk.h"
#include "desk/wire.h"
#include "mcp-stdio.h"
#include "util.h"

#define EXIT_FAIL  1
#define EXIT_USAGE 2
#define MAX_POS    16
#define STDIN_MAX  (1 << 20)

enum opt_id {
    O_URL,
    O_TOKEN,
    O_JSON,
    O_TIMEOUT,
    O_HELP,
    O_OUTPUT,
    O_FORMAT,
    O_QUALITY,
    O_SCALE,
    O_REGION,
    O_CURSOR,
    O_BUTTON,
    O_DOUBLE,
    O_DELAY,
    O_ERRORS,
    O_KEEP_NEWLINE,
    O_FIT,
    O_MAX_EDGE,
    O_MAX_PIXELS,
    O_IF_CHANGED,
    O_STABLE_MS,
    O_TIMEOUT_MS,
    O_SINCE,
    O_SPACE,
    O_CLICKS,
    O_TYPE,
    O_PRIMARY,
    O_PASTE,
    O_PASTE_KEYS,
    O_WAIT,
    O_CWD,
    O_WAIT_MS,
    O_TTL,
    O_VIEW_ONLY,
    O_COUNT
};

#define BIT(o)      (1ull << (o))
#define COMMON_OPTS (BIT(O_URL) | BIT(O_TOKEN) | BIT(O_JSON) | BIT(O_TIMEOUT) | BIT(O_HELP))

static const struct opt {
    const char *name;
    char short_name;
    const char *arg; /* NULL for a flag */
    const char *help;
} opts[O_COUNT] = {
        [O_URL] = {"url", 0, "URL", "deskd's address (DESK_URL; default " DESK_DEFAULT_URL ")"},
        [O_TOKEN] = {"token", 0, "TOKEN", "bearer token (DESK_TOKEN)"},
        [O_JSON] = {"json", 0, NULL, "print the API's JSON instead of text"},
        [O_TIMEOUT] = {"timeout", 0, "MS", "give up after MS milliseconds (default 60000)"},
        [O_HELP] = {"help", 'h', NULL, "show this help"},
        [O_OUTPUT] = {"output", 'o', "FILE",
                "write the image or recording to FILE ('-' or none: stdout)"},
        [O_FORMAT] = {"format", 0, "F", "png, jpeg or webp (compressed route)"},
        [O_QUALITY] = {"quality", 0, "Q", "1-100 for jpeg and webp (compressed route)"},
        [O_SCALE] = {"scale", 0, "S", "0.1-1.0 (compressed route)"},
        [O_REGION] = {"region", 0, "X,Y,W,H", "capture this rectangle only"},
        [O_CURSOR] = {"cursor", 0, NULL, "draw the pointer into the image"},
        [O_BUTTON] = {"button", 0, "B", "left (default), middle, right, back or forward"},
        [O_SPACE] = {"space", 0, "WxH",
                "coordinates (and answers) are pixels of a WxH image of the screen, such as a "
                "scaled screenshot"},
        [O_CLICKS] = {"clicks", 0, "N", "click N times (1-3; 3 is a triple click)"},
        [O_DOUBLE] = {"double", 0, NULL, "double click"},
        [O_DELAY] = {"delay", 0, "MS", "wait MS milliseconds between characters"},
        [O_ERRORS] = {"errors", 0, NULL, "show the stderr log instead of stdout's"},
        [O_TYPE] = {"type", 0, "T", "only windows of EWMH type T (normal, dialog, dock...)"},
        [O_PRIMARY] = {"primary", 0, NULL, "the PRIMARY selection instead of CLIPBOARD"},
        [O_PASTE] = {"paste", 0, NULL, "paste the text through the clipboard (restored after)"},
        [O_PASTE_KEYS] = {"paste-keys", 0, "COMBO", "the paste chord (default ctrl+v)"},
        [O_WAIT] = {"wait", 0, NULL, "answer once the program's window is managed"},
        [O_CWD] = {"cwd", 0, "DIR", "working directory (default the desktop's HOME)"},
        [O_WAIT_MS] = {"wait-ms", 0, "MS", "how long --wait waits (default 10000)"},
        [O_TTL] = {"ttl", 0, "S", "vnc link: the link lives S seconds (1-86400; default 300)"},
        [O_VIEW_ONLY] = {"view-only", 0, NULL,
                "vnc link: the browser may watch only (deskd drops its input)"},
        [O_KEEP_NEWLINE] = {"keep-newline", 0, NULL,
                "type the final newline of stdin as Enter too"},
        [O_FIT] = {"fit", 0, "NAME", "xga, wxga or fwxga: the largest image within that size"},
        [O_MAX_EDGE] = {"max-long-edge", 0, "N", "the image's longer side at most N pixels"},
        [O_MAX_PIXELS] = {"max-pixels", 0, "N", "the image at most N pixels in all"},
        [O_IF_CHANGED] = {"if-changed-since", 0, "F",
                "print \"unchanged\" instead when nothing changed since frame F"},
        [O_STABLE_MS] = {"stable-ms", 0, "MS", "quiet time that counts as stable, 10-10000 (300)"},
        [O_TIMEOUT_MS] = {"timeout-ms", 0, "MS", "give up waiting after MS, 1-60000 (5000)"},
        [O_SINCE] = {"since", 0, "F", "changed: after frame F (default: from now)"},
};

struct ctx {
    const struct cmd *cmd;
    desk_client *c;
    bool json;
    const char *pos[MAX_POS];
    int npos;
    const char *val[O_COUNT];
    bool set[O_COUNT];
};

struct cmd {
    const char *name;
    const char *args; /* positional arguments, for the usage line */
    int min_args, max_args;
    unsigned long long opts; /* besides the common ones */
    const char *summary;
    int (*run)(struct ctx *x);
};

/* ---- helpers ---- */

static int usage_error(const struct ctx *x, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static int usage_error(const struct ctx *x, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "desk: %s%s", x->cmd ? x->cmd->name : "", x->cmd ? ": " : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see desk %s%s--help)\n", x->cmd ? x->cmd->name : "", x->cmd ? " " : "");
    return EXIT_USAGE;
}

/* Reports a failed call with the server's (or the library's) sentence. */
static int failed(const struct ctx *x, enum desk_status st) {
    const char *msg = desk_last_error(x->c);
    fprintf(stderr, "desk: %s: %s", x->cmd->name, *msg ? msg : desk_strerror(st));
    long http = desk_last_http_status(x->c);
    const char *code = desk_last_error_code(x->c);
    if (http >= 300)
        fprintf(stderr, " (HTTP %ld%s%s)", http, *code ? " " : "", code);
    else
        fprintf(stderr, " (%s)", desk_status_name(st));
    fputc('\n', stderr);
    return EXIT_FAIL;
}

static bool parse_int(const char *s, int min, int max, int *out) {
    return util_parse_int(s, min, max, out) == 0;
}

static int int_arg(const struct ctx *x, const char *what, const char *s, int *out) {
    if (!parse_int(s, INT_MIN, INT_MAX, out))
        return usage_error(x, "%s must be an integer, got \"%s\"", what, s);
    return 0;
}

/* Prints a JSON value on stdout and frees it. */
static int print_json(json_t *v) {
    if (!v) {
        fputs("desk: out of memory\n", stderr);
        return EXIT_FAIL;
    }
    char *s = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(v);
    if (!s)
        return EXIT_FAIL;
    puts(s);
    free(s);
    return 0;
}

static int print_point(const struct ctx *x, struct desk_point p) {
    if (x->json)
        return print_json(json_pack("{s:i, s:i}", "x", p.x, "y", p.y));
    printf("%d %d\n", p.x, p.y);
    return 0;
}

static int button_opt(const struct ctx *x, enum desk_button *b) {
    static const char *const names[] = {"left", "middle", "right", "back", "forward"};
    *b = DESK_BUTTON_LEFT;
    if (!x->set[O_BUTTON])
        return 0;
    for (int i = 0; i < 5; i++) {
        if (strcmp(x->val[O_BUTTON], names[i]) == 0) {
            *b = (enum desk_button)i;
            return 0;
        }
    }
    return usage_error(x, "--button must be left, middle, right, back or forward, got \"%s\"",
            x->val[O_BUTTON]);
}

/* --space WxH: the client's pointer calls use that space. */
static int space_opt(const struct ctx *x) {
    if (!x->set[O_SPACE])
        return 0;
    struct desk_space s = {0};
    char w[16] = "";
    const char *v = x->val[O_SPACE], *sep = strchr(v, 'x');
    if (sep && (size_t)(sep - v) < sizeof w)
        memcpy(w, v, (size_t)(sep - v));
    if (!sep || !parse_int(w, 1, 8192, &s.width) || !parse_int(sep + 1, 1, 8192, &s.height))
        return usage_error(
                x, "--space must be WxH with sides from 1 to 8192, got \"%s\"", x->val[O_SPACE]);
    return desk_client_set_space(x->c, &s) == DESK_OK ? 0 : failed(x, desk_last_status(x->c));
}

/* The image as base64 text, NUL-terminated; malloc'd, NULL when out of memory. */
static char *base64(const unsigned char *d, size_t n) {
    char *out = malloc(util_base64_len(n) + 1);
    if (out)
        out[util_base64_encode(d, n, out)] = '\0';
    return out;
}

/* ---- commands ---- */

static int cmd_health(struct ctx *x) {
    char *version = NULL;
    enum desk_status st = desk_health(x->c, &version);
    if (st != DESK_OK)
        return failed(x, st);
    int rc = 0;
    if (x->json)
        rc = print_json(json_pack("{s:s, s:s}", "status", "ok", "version", version));
    else
        printf("ok %s\n", version);
    desk_free(version);
    return rc;
}

/* "X,Y,W,H": four decimal integers separated by single commas. */
static int parse_region(const char *s, struct desk_rect *r) {
    int *v[4] = {&r->x, &r->y, &r->width, &r->height};
    for (int i = 0; i < 4; i++) {
        char part[24];
        size_t n = strcspn(s, ",");
        if (n >= sizeof part || (i < 3) != (s[n] == ','))
            return -1;
        memcpy(part, s, n);
        part[n] = '\0';
        if (util_parse_int(part, INT_MIN, INT_MAX, v[i]) < 0)
            return -1;
        s += n + (i < 3);
    }
    return 0;
}

static int write_all(FILE *f, const unsigned char *d, size_t n) {
    return fwrite(d, 1, n, f) == n ? 0 : -1;
}

/* A frame id: a decimal integer from an earlier answer. */
static int frame_arg(
        const struct ctx *x, const char *what, const char *s, unsigned long long *out) {
    long v;
    if (util_parse_long(s, 1, LONG_MAX, &v) < 0)
        return usage_error(x, "%s must be a frame id (a positive integer), got \"%s\"", what, s);
    *out = (unsigned long long)v;
    return 0;
}

/* The screenshot options from the command line; 0, or a usage error's exit status. */
static int shot_options(struct ctx *x, struct desk_shot_options *o, struct desk_rect *region) {
    struct desk_shot_options opt = {0};
    opt.compressed = x->set[O_FORMAT] || x->set[O_QUALITY] || x->set[O_SCALE];
    opt.fit = x->set[O_FIT] ? x->val[O_FIT] : NULL;
    if (x->set[O_MAX_EDGE] && int_arg(x, "--max-long-edge", x->val[O_MAX_EDGE], &opt.max_long_edge))
        return EXIT_USAGE;
    if (x->set[O_MAX_PIXELS] &&
            util_parse_long(x->val[O_MAX_PIXELS], 1, LONG_MAX, &opt.max_pixels) < 0)
        return usage_error(
                x, "--max-pixels must be a positive integer, got \"%s\"", x->val[O_MAX_PIXELS]);
    if (x->set[O_IF_CHANGED] &&
            frame_arg(x, "--if-changed-since", x->val[O_IF_CHANGED], &opt.if_changed_since))
        return EXIT_USAGE;
    if (x->set[O_FORMAT]) {
        const char *f = x->val[O_FORMAT];
        int fi = desk_wire_format_parse(f);
        if (fi < 0)
            return usage_error(x, "--format must be png, jpeg or webp, got \"%s\"", f);
        opt.format = (enum desk_image_format)fi;
    }
    if (x->set[O_QUALITY] && int_arg(x, "--quality", x->val[O_QUALITY], &opt.quality))
        return EXIT_USAGE;
    /* libdesk reads 0 as "the server's default": a 0 given here would be dropped unsaid. */
    if (x->set[O_QUALITY] && opt.quality < 1)
        return usage_error(x, "--quality must be from 1 to 100, got %d", opt.quality);
    if (x->set[O_SCALE]) {
        char *end;
        opt.scale = strtod(x->val[O_SCALE], &end);
        if (end == x->val[O_SCALE] || *end || !isfinite(opt.scale))
            return usage_error(x, "--scale must be a number, got \"%s\"", x->val[O_SCALE]);
    }
    if (x->set[O_REGION] && parse_region(x->val[O_REGION], region) < 0)
        return usage_error(x, "--region must be X,Y,W,H, got \"%s\"", x->val[O_REGION]);
    opt.region = x->set[O_REGION] ? region : NULL;
    opt.show_cursor = x->set[O_CURSOR];
    *o = opt;
    return 0;
}

static int cmd_screenshot(struct ctx *x) {
    struct desk_shot_options opt = {0};
    struct desk_rect region;
    int urc = shot_options(x, &opt, &region);
    if (urc)
        return urc;
    const char *file = x->set[O_OUTPUT] ? x->val[O_OUTPUT] : NULL;
    bool to_stdout = (!file && !x->json) || (file && strcmp(file, "-") == 0);
    if (to_stdout && x->json)
        return usage_error(x, "--json and -o - would both write to stdout; give -o a file");
    if (to_stdout && isatty(1))
        return usage_error(x, "will not write an image to a terminal; use -o FILE");

    struct desk_image *img = NULL;
    enum desk_status st = desk_screenshot_ex(x->c, &opt, &img);
    if (st != DESK_OK)
        return failed(x, st);
    if (img->unchanged) {
        /* Nothing is written: the caller's earlier image is still the screen. */
        int rc = 0;
        if (x->json)
            rc = print_json(
                    json_pack("{s:b, s:I}", "unchanged", 1, "frameId", (json_int_t)img->frame_id));
        else
            fprintf(to_stdout ? stderr : stdout, "unchanged since frame %llu (now %llu)\n",
                    opt.if_changed_since, img->frame_id);
        desk_image_free(img);
        return rc;
    }

    int rc = 0;
    if (to_stdout) {
        if (write_all(stdout, img->data, img->size) < 0 || fflush(stdout) != 0) {
            fprintf(stderr, "desk: screenshot: cannot write to stdout: %s\n", strerror(errno));
            rc = EXIT_FAIL;
        }
    } else if (file) {
        FILE *f = fopen(file, "wb");
        bool ok = f && write_all(f, img->data, img->size) == 0;
        if (f && fclose(f) != 0)
            ok = false;
        if (!ok) {
            fprintf(stderr, "desk: screenshot: cannot write %s: %s\n", file, strerror(errno));
            rc = EXIT_FAIL;
        }
    }
    if (rc == 0 && x->json) {
        json_t *o = json_pack("{s:i, s:i, s:s, s:I, s:{s:i, s:i, s:i, s:i}}", "width", img->width,
                "height", img->height, "format", desk_image_format_name(img->format), "sizeBytes",
                (json_int_t)img->size, "region", "x", img->region.x, "y", img->region.y, "width",
                img->region.width, "height", img->region.height);
        if (o && img->frame_id)
            json_object_set_new(o, "frameId", json_integer((json_int_t)img->frame_id));
        if (o && img->has_cursor)
            json_object_set_new(o, "cursorPosition",
                    json_pack("{s:i, s:i}", "x", img->cursor.x, "y", img->cursor.y));
        if (o && file)
            json_object_set_new(o, "file", json_string(file));
        /* Without a file the JSON carries the image, as the API's own JSON form does. */
        char *b64 = (o && !file) ? base64(img->data, img->size) : NULL;
        if (b64)
            json_object_set_new(o, "screenshot", json_string(b64));
        free(b64);
        rc = print_json(o);
    } else if (rc == 0 && file && !to_stdout) {
        printf("%s: %dx%d %s, %zu bytes", file, img->width, img->height,
                desk_image_format_name(img->format), img->size);
        if (img->has_cursor)
            printf(", cursor %d,%d", img->cursor.x, img->cursor.y);
        if (img->frame_id)
            printf(", frame %llu", img->frame_id);
        putchar('\n');
    }
    desk_image_free(img);
    return rc;
}

static json_t *changes_json(const struct desk_changes *c) {
    json_t *list = json_array();
    for (int i = 0; list && i < c->count; i++)
        json_array_append_new(
                list, json_pack("{s:i, s:i, s:i, s:i}", "x", c->regions[i].x, "y", c->regions[i].y,
                              "width", c->regions[i].width, "height", c->regions[i].height));
    return list;
}

static void print_regions(const struct desk_changes *c) {
    for (int i = 0; i < c->count; i++)
        printf("  %d,%d %dx%d\n", c->regions[i].x, c->regions[i].y, c->regions[i].width,
                c->regions[i].height);
}

static int cmd_wait(struct ctx *x) {
    struct desk_wait_options o = {0};
    struct desk_rect region;
    if (strcmp(x->pos[0], "stable") == 0)
        o.until = DESK_WAIT_STABLE;
    else if (strcmp(x->pos[0], "changed") == 0)
        o.until = DESK_WAIT_CHANGED;
    else
        return usage_error(x, "wait for stable or changed, not \"%s\"", x->pos[0]);
    if (x->set[O_STABLE_MS] && (!parse_int(x->val[O_STABLE_MS], 10, 10000, &o.stable_ms)))
        return usage_error(
                x, "--stable-ms must be from 10 to 10000, got \"%s\"", x->val[O_STABLE_MS]);
    if (x->set[O_TIMEOUT_MS] && !parse_int(x->val[O_TIMEOUT_MS], 1, 60000, &o.timeout_ms))
        return usage_error(
                x, "--timeout-ms must be from 1 to 60000, got \"%s\"", x->val[O_TIMEOUT_MS]);
    if (x->set[O_SINCE] && frame_arg(x, "--since", x->val[O_SINCE], &o.since))
        return EXIT_USAGE;
    if (x->set[O_REGION]) {
        if (parse_region(x->val[O_REGION], &region) < 0)
            return usage_error(x, "--region must be X,Y,W,H, got \"%s\"", x->val[O_REGION]);
        o.region = &region;
    }
    struct desk_wait_result r;
    enum desk_status st = desk_wait(x->c, &o, &r);
    if (st != DESK_OK)
        return failed(x, st);
    int rc = 0;
    if (x->json)
        rc = print_json(json_pack("{s:I, s:b, s:b, s:b, s:I, s:o}", "frameId",
                (json_int_t)r.changes.frame_id, "changed", r.changed, "stable", r.stable,
                "timedOut", r.timed_out, "waitedMs", (json_int_t)r.waited_ms, "regions",
                changes_json(&r.changes)));
    else {
        printf("%s after %ld ms, frame %llu\n",
                r.timed_out ? "timed out"
                : r.stable  ? "stable"
                            : "changed",
                r.waited_ms, r.changes.frame_id);
        print_regions(&r.changes);
    }
    /* Scripts can tell: desk wait changed && ... */
    return rc ? rc : r.timed_out ? EXIT_FAIL : 0;
}

static int cmd_changes(struct ctx *x) {
    unsigned long long since = 0;
    if (frame_arg(x, "SINCE", x->pos[0], &since))
        return EXIT_USAGE;
    struct desk_changes c;
    enum desk_status st = desk_screen_changes(x->c, since, &c);
    if (st != DESK_OK)
        return failed(x, st);
    if (x->json)
        return print_json(json_pack("{s:I, s:b, s:o, s:b}", "frameId", (json_int_t)c.frame_id,
                "changed", c.changed, "regions", changes_json(&c), "complete", c.complete));
    printf("%s since frame %llu, now %llu%s\n", c.changed ? "changed" : "unchanged", since,
            c.frame_id, c.complete ? "" : " (history too short: the whole screen)");
    print_regions(&c);
    return 0;
}

static int cmd_position(struct ctx *x) {
    struct desk_point p;
    enum desk_status st = desk_mouse_position(x->c, &p);
    return st == DESK_OK ? print_point(x, p) : failed(x, st);
}

static int cmd_move(struct ctx *x) {
    int px, py;
    if (int_arg(x, "X", x->pos[0], &px) || int_arg(x, "Y", x->pos[1], &py) || space_opt(x))
        return EXIT_USAGE;
    struct desk_point p;
    enum desk_status st = desk_mouse_move(x->c, px, py, &p);
    return st == DESK_OK ? print_point(x, p) : failed(x, st);
}

static int cmd_click(struct ctx *x) {
    int px, py;
    enum desk_button b;
    int clicks = x->set[O_DOUBLE] ? 2 : 1;
    if (int_arg(x, "X", x->pos[0], &px) || int_arg(x, "Y", x->pos[1], &py) || button_opt(x, &b) ||
            space_opt(x))
        return EXIT_USAGE;
    if (x->set[O_CLICKS] && !parse_int(x->val[O_CLICKS], 1, 3, &clicks))
        return usage_error(x, "--clicks must be 1, 2 or 3, got \"%s\"", x->val[O_CLICKS]);
    struct desk_point p;
    enum desk_status st = desk_mouse_click_n(x->c, px, py, b, clicks, &p);
    return st == DESK_OK ? print_point(x, p) : failed(x, st);
}

static int cmd_drag(struct ctx *x) {
    int v[4];
    static const char *const names[] = {"X1", "Y1", "X2", "Y2"};
    for (int i = 0; i < 4; i++) {
        if (int_arg(x, names[i], x->pos[i], &v[i]))
            return EXIT_USAGE;
    }
    enum desk_button b;
    if (button_opt(x, &b) || space_opt(x))
        return EXIT_USAGE;
    struct desk_point p;
    enum desk_status st = desk_mouse_drag(x->c, v[0], v[1], v[2], v[3], b, &p);
    return st == DESK_OK ? print_point(x, p) : failed(x, st);
}

static int cmd_scroll(struct ctx *x) {
    static const char *const dirs[] = {"up", "down", "left", "right"};
    int px, py, amount = 1, d = -1;
    if (int_arg(x, "X", x->pos[0], &px) || int_arg(x, "Y", x->pos[1], &py))
        return EXIT_USAGE;
    for (int i = 0; i < 4; i++) {
        if (strcmp(x->pos[2], dirs[i]) == 0)
            d = i;
    }
    if (d < 0)
        return usage_error(
                x, "the direction must be up, down, left or right, got \"%s\"", x->pos[2]);
    if ((x->npos > 3 && int_arg(x, "N", x->pos[3], &amount)) || space_opt(x))
        return EXIT_USAGE;
    enum desk_status st = desk_mouse_scroll(x->c, px, py, (enum desk_scroll)d, amount);
    if (st != DESK_OK)
        return failed(x, st);
    return x->json ? print_json(json_pack("{s:b}", "success", 1)) : 0;
}

/* All of f, capped; NULL with a message on failure. */
static char *read_all(FILE *f, const char *what) {
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        size_t n = fread(buf + len, 1, cap - len - 1, f);
        len += n;
        if (n == 0)
            break;
        if (len + 1 == cap) {
            if (cap >= STDIN_MAX) {
                fprintf(stderr, "desk: %s is longer than %d bytes\n", what, STDIN_MAX);
                free(buf);
                return NULL;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb)
                free(buf);
            buf = nb;
            cap *= 2;
        }
    }
    if (buf)
        buf[len] = '\0';
    return buf;
}

static int cmd_type(struct ctx *x) {
    int delay = 0;
    if (x->set[O_DELAY] && int_arg(x, "--delay", x->val[O_DELAY], &delay))
        return EXIT_USAGE;
    char *in = NULL;
    if (strcmp(x->pos[0], "-") == 0 && !(in = read_all(stdin, "type: stdin")))
        return EXIT_FAIL;
    /* Text from a pipe or a file ends in a newline that is not meant as Enter. */
    size_t n = in ? strlen(in) : 0;
    if (n > 0 && in[n - 1] == '\n' && !x->set[O_KEEP_NEWLINE]) {
        in[--n] = '\0';
        if (n > 0 && in[n - 1] == '\r')
            in[--n] = '\0';
    }
    const char *text = in ? in : x->pos[0];
    enum desk_status st = x->set[O_PASTE] || x->set[O_PASTE_KEYS]
                                  ? desk_keyboard_paste(x->c, text, x->val[O_PASTE_KEYS])
                                  : desk_keyboard_type(x->c, text, delay);
    free(in);
    if (st != DESK_OK)
        return failed(x, st);
    return x->json ? print_json(json_object()) : 0;
}

static int cmd_key(struct ctx *x) {
    enum desk_status st = desk_keyboard_key(x->c, x->pos[0], x->pos + 1, (size_t)(x->npos - 1));
    if (st != DESK_OK)
        return failed(x, st);
    return x->json ? print_json(json_object()) : 0;
}

static int cmd_hotkey(struct ctx *x) {
    enum desk_status st = desk_keyboard_hotkey(x->c, x->pos[0]);
    if (st != DESK_OK)
        return failed(x, st);
    return x->json ? print_json(json_object()) : 0;
}

/* The whole of a file, or of stdin for "-"; NULL with a message naming cmd on failure. */
static char *read_input(const char *cmd, const char *path) {
    if (strcmp(path, "-") == 0) {
        char what[32];
        snprintf(what, sizeof what, "%s: stdin", cmd);
        return read_all(stdin, what);
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "desk: %s: %s: %s\n", cmd, path, strerror(errno));
        return NULL;
    }
    char *text = read_all(f, path);
    fclose(f);
    return text;
}

static int cmd_do(struct ctx *x) {
    char *text = read_input("do", x->pos[0]);
    if (!text || space_opt(x)) {
        free(text);
        return text ? EXIT_USAGE : EXIT_FAIL;
    }
    desk_actions *a = desk_actions_from_json(text);
    free(text);
    struct desk_actions_result *res = NULL;
    enum desk_status st = a ? desk_actions_run(x->c, a, &res) : DESK_ERR_NOMEM;
    desk_actions_free(a);
    int rc = 0;
    if (st != DESK_OK) {
        if (res)
            fprintf(stderr, "desk: do: %zu actions ran; action %ld failed\n", res->completed,
                    res->failed_index);
        rc = failed(x, st);
    } else if (x->json) {
        json_t *list = json_array();
        for (size_t i = 0; list && i < res->completed; i++)
            json_array_append_new(list,
                    res->has_point[i]
                            ? json_pack("{s:i, s:i}", "x", res->points[i].x, "y", res->points[i].y)
                            : json_object());
        rc = print_json(
                list ? json_pack("{s:o, s:i}", "results", list, "completed", (int)res->completed)
                     : NULL);
    } else {
        for (size_t i = 0; i < res->completed; i++) {
            if (res->has_point[i])
                printf("%zu: %d %d\n", i, res->points[i].x, res->points[i].y);
            else
                printf("%zu: done\n", i);
        }
    }
    if (rc == 0 && res && res->screenshot) {
        const char *out = x->set[O_OUTPUT] ? x->val[O_OUTPUT] : NULL;
        FILE *f = out && strcmp(out, "-") != 0 ? fopen(out, "wb") : NULL;
        if (f) {
            fwrite(res->screenshot->data, 1, res->screenshot->size, f);
            fclose(f);
        } else if (out && strcmp(out, "-") != 0) {
            fprintf(stderr, "desk: do: %s: %s\n", out, strerror(errno));
            rc = EXIT_FAIL;
        } else if (!x->json) {
            printf("screenshot: %dx%d %s, %zu bytes (-o FILE writes it)\n", res->screenshot->width,
                    res->screenshot->height, desk_image_format_name(res->screenshot->format),
                    res->screenshot->size);
        }
    }
    desk_actions_result_free(res);
    return rc;
}

static json_t *display_json(const struct desk_display *d) {
    return json_pack("{s:i, s:i, s:i, s:i, s:i, s:b}", "id", d->id, "x", d->x, "y", d->y, "width",
            d->width, "height", d->height, "isActive", d->active);
}

static int cmd_displays(struct ctx *x) {
    struct desk_display_info *info = NULL;
    enum desk_status st = desk_display_info(x->c, &info);
    if (st != DESK_OK)
        return failed(x, st);
    int rc = 0;
    if (x->json) {
        json_t *list = json_array();
        for (size_t i = 0; list && i < info->count; i++)
            json_array_append_new(list, display_json(&info->displays[i]));
        rc = print_json(json_pack("{s:o, s:o, s:i}", "displays", list, "primary_display",
                display_json(&info->primary), "total_displays", info->total));
    } else {
        for (size_t i = 0; i < info->count; i++) {
            const struct desk_display *d = &info->displays[i];
            printf("%d %d,%d %dx%d%s\n", d->id, d->x, d->y, d->width, d->height,
                    d->id == info->primary.id ? " primary" : "");
        }
    }
    desk_display_info_free(info);
    return rc;
}

static json_t *window_json(const struct desk_window *w) {
    json_t *states = json_array();
    char *copy = strdup(w->states ? w->states : "");
    for (char *save = NULL, *t = copy ? strtok_r(copy, ",", &save) : NULL; t;
            t = strtok_r(NULL, ",", &save))
        json_array_append_new(states, json_string(t));
    free(copy);
    return json_pack("{s:I, s:s, s:i, s:i, s:i, s:i, s:b, s:I, s:s, s:o}", "id", (json_int_t)w->id,
            "title", w->title, "x", w->x, "y", w->y, "width", w->width, "height", w->height,
            "isActive", w->active, "pid", (json_int_t)w->pid, "type", w->type ? w->type : "",
            "states", states);
}

static void print_window(const struct desk_window *w) {
    printf("%lu %d,%d %dx%d pid %ld %s%s%s%s %s\n", w->id, w->x, w->y, w->width, w->height, w->pid,
            w->type && *w->type ? w->type : "-", w->active ? " active" : "",
            w->states && *w->states ? " " : "", w->states ? w->states : "", w->title);
}

static int cmd_windows(struct ctx *x) {
    struct desk_window_list *wl = NULL;
    enum desk_status st = x->set[O_TYPE] ? desk_display_windows_of_type(x->c, x->val[O_TYPE], &wl)
                                         : desk_display_windows(x->c, &wl);
    if (st != DESK_OK)
        return failed(x, st);
    int rc = 0;
    if (x->json) {
        json_t *list = json_array();
        for (size_t i = 0; list && i < wl->count; i++)
            json_array_append_new(list, window_json(&wl->windows[i]));
        rc = print_json(json_pack("{s:o, s:I}", "windows", list, "count", (json_int_t)wl->count));
    } else {
        for (size_t i = 0; i < wl->count; i++)
            print_window(&wl->windows[i]);
    }
    desk_window_list_free(wl);
    return rc;
}

/* desk window ID activate|close|minimize|maximize|restore, or ID geometry X Y W H. */
static int cmd_window(struct ctx *x) {
    static const char *const actions[] = {"activate", "close", "minimize", "maximize", "restore"};
    long id;
    if (util_parse_long(x->pos[0], 1, 0x1fffffff, &id) < 0 &&
            !(strncmp(x->pos[0], "0x", 2) == 0 && (id = strtol(x->pos[0], NULL, 16)) > 0))
        return usage_error(x, "ID must be a window id from desk windows (decimal or 0x hex)");
    struct desk_window_list *wl = NULL;
    enum desk_status st;
    if (strcmp(x->pos[1], "geometry") == 0) {
        static const char *const names[] = {"X", "Y", "W", "H"};
        int v[4];
        if (x->npos != 6)
            return usage_error(x, "geometry expects X Y W H");
        for (int i = 0; i < 4; i++) {
            if (int_arg(x, names[i], x->pos[2 + i], &v[i]))
                return EXIT_USAGE;
        }
        st = desk_window_geometry(x->c, (unsigned long)id, v[0], v[1], v[2], v[3], &wl);
    } else {
        size_t a = 0;
        while (a < 5 && strcmp(x->pos[1], actions[a]) != 0)
            a++;
        if (a == 5 || x->npos != 2)
            return usage_error(x, "ACTION must be activate, close, minimize, maximize, restore or "
                                  "geometry X Y W H");
        st = desk_window_action(x->c, (unsigned long)id, (enum desk_window_action)a, &wl);
    }
    if (st != DESK_OK)
        return failed(x, st);
    int rc = 0;
    if (x->json)
        rc = print_json(window_json(&wl->windows[0]));
    else
        print_window(&wl->windows[0]);
    desk_window_list_free(wl);
    return rc;
}

/* desk clip get | desk clip set TEXT|- */
static int cmd_clip(struct ctx *x) {
    enum desk_selection sel = x->set[O_PRIMARY] ? DESK_PRIMARY : DESK_CLIPBOARD;
    enum desk_status st;
    if (strcmp(x->pos[0], "get") == 0 && x->npos == 1) {
        char *text = NULL;
        size_t len = 0;
        if ((st = desk_clipboard_get(x->c, sel, &text, &len)) != DESK_OK)
            return failed(x, st);
        int rc = 0;
        if (x->json)
            rc = print_json(json_pack("{s:s%, s:s}", "text", text, len, "selection",
                    sel == DESK_PRIMARY ? "primary" : "clipboard"));
        else
            fwrite(text, 1, len, stdout);
        free(text);
        return rc;
    }
    if (strcmp(x->pos[0], "set") != 0 || x->npos != 2)
        return usage_error(x, "expects get, or set TEXT (- reads stdin)");
    char *in = NULL;
    if (strcmp(x->pos[1], "-") == 0 && !(in = read_all(stdin, "clip: stdin")))
        return EXIT_FAIL;
    st = desk_clipboard_set(x->c, sel, in ? in : x->pos[1]);
    free(in);
    if (st != DESK_OK)
        return failed(x, st);
    return x->json ? print_json(json_object()) : 0;
}

/* desk launch [--wait] [--cwd DIR] -- PROGRAM [ARGS...] */
static int cmd_launch(struct ctx *x) {
    int wait_ms = 0;
    if (x->set[O_WAIT_MS] && int_arg(x, "--wait-ms", x->val[O_WAIT_MS], &wait_ms))
        return EXIT_USAGE;
    const char *argv[MAX_POS + 1] = {0};
    for (int i = 0; i < x->npos; i++)
        argv[i] = x->pos[i];
    struct desk_launch l = {.argv = argv,
            .cwd = x->val[O_CWD],
            .wait_for_window = x->set[O_WAIT] || x->set[O_WAIT_MS],
            .timeout_ms = wait_ms};
    long pid = 0;
    struct desk_window_list *wl = NULL;
    enum desk_status st = desk_app_launch(x->c, &l, &pid, &wl);
    if (st != DESK_OK)
        return failed(x, st);
    int rc = 0;
    if (x->json) {
        json_t *o = json_pack("{s:I}", "pid", (json_int_t)pid);
        if (wl)
            json_object_set_new(o, "window", window_json(&wl->windows[0]));
        rc = print_json(o);
    } else {
        printf("pid %ld\n", pid);
        if (wl)
            print_window(&wl->windows[0]);
    }
    desk_window_list_free(wl);
    return rc;
}

static int cmd_apps(struct ctx *x) {
    struct desk_app_list *al = NULL;
    enum desk_status st = desk_apps(x->c, &al);
    if (st != DESK_OK)
        return failed(x, st);
    int rc = 0;
    if (x->json) {
        json_t *list = json_array();
        for (size_t i = 0; list && i < al->count; i++)
            json_array_append_new(list,
                    json_pack("{s:I, s:s, s:I}", "pid", (json_int_t)al->apps[i].pid, "command",
                            al->apps[i].command, "startedAt", (json_int_t)al->apps[i].started_ms));
        rc = print_json(json_pack("{s:o, s:I}", "apps", list, "count", (json_int_t)al->count));
    } else {
        for (size_t i = 0; i < al->count; i++)
            printf("%ld %s\n", al->apps[i].pid, al->apps[i].command);
    }
    desk_app_list_free(al);
    return rc;
}

static int cmd_kill(struct ctx *x) {
    int pid;
    if (int_arg(x, "PID", x->pos[0], &pid))
        return EXIT_USAGE;
    enum desk_status st = desk_app_kill(x->c, pid);
    if (st != DESK_OK)
        return failed(x, st);
    return x->json ? print_json(json_object()) : 0;
}

static int print_processes(const struct ctx *x, const struct desk_processes *ps) {
    if (x->json) {
        json_t *map = json_object();
        for (size_t i = 0; map && i < ps->count; i++) {
            const struct desk_process *p = &ps->procs[i];
            json_object_set_new(map, p->name,
                    json_pack("{s:b, s:i, s:b, s:o}", "running", p->running, "priority",
                            p->priority, "autoRestart", p->auto_restart, "pid",
                            p->pid >= 0 ? json_integer(p->pid) : json_null()));
        }
        return print_json(json_pack("{s:s, s:o}", "message", ps->message, "status", map));
    }
    puts(ps->message);
    for (size_t i = 0; i < ps->count; i++) {
        const struct desk_process *p = &ps->procs[i];
        printf("%-8s %s", p->name, p->running ? "running" : "stopped");
        if (p->pid >= 0)
            printf(" pid %ld", p->pid);
        printf(" priority %d%s\n", p->priority, p->auto_restart ? " auto-restart" : "");
    }
    return 0;
}

static int start_stop(struct ctx *x, bool start) {
    struct desk_processes *ps = NULL;
    enum desk_status st =
            start ? desk_computeruse_start(x->c, &ps) : desk_computeruse_stop(x->c, &ps);
    if (st != DESK_OK)
        return failed(x, st);
    int rc = print_processes(x, ps);
    desk_processes_free(ps);
    return rc;
}

static int cmd_start(struct ctx *x) {
    return start_stop(x, true);
}

static int cmd_stop(struct ctx *x) {
    return start_stop(x, false);
}

static int cmd_status(struct ctx *x) {
    enum desk_status st;
    if (x->npos == 1) {
        bool running = false;
        st = desk_process_status(x->c, x->pos[0], &running);
        if (st != DESK_OK)
            return failed(x, st);
        if (x->json)
            return print_json(
                    json_pack("{s:s, s:b}", "processName", x->pos[0], "running", running));
        printf("%s %s\n", x->pos[0], running ? "running" : "stopped");
        return 0;
    }
    enum desk_desktop_state state;
    st = desk_computeruse_status(x->c, &state);
    if (st != DESK_OK)
        return failed(x, st);
    if (x->json)
        return print_json(json_pack("{s:s}", "status", desk_desktop_state_name(state)));
    puts(desk_desktop_state_name(state));
    return 0;
}

static int cmd_logs(struct ctx *x) {
    char *text = NULL;
    bool err = x->set[O_ERRORS];
    enum desk_status st = err ? desk_process_errors(x->c, x->pos[0], &text)
                              : desk_process_logs(x->c, x->pos[0], &text);
    if (st != DESK_OK)
        return failed(x, st);
    int rc = 0;
    if (x->json) {
        rc = print_json(
                json_pack("{s:s, s:s}", "processName", x->pos[0], err ? "errors" : "logs", text));
    } else {
        size_t n = strlen(text);
        fputs(text, stdout);
        if (n && text[n - 1] != '\n')
            putchar('\n');
    }
    desk_free(text);
    return rc;
}

static int cmd_restart(struct ctx *x) {
    char *msg = NULL;
    enum desk_status st = desk_process_restart(x->c, x->pos[0], &msg);
    if (st != DESK_OK)
        return failed(x, st);
    int rc = 0;
    if (x->json)
        rc = print_json(json_pack("{s:s, s:s}", "message", msg, "processName", x->pos[0]));
    else
        puts(msg);
    desk_free(msg);
    return rc;
}

static json_t *link_json(const struct desk_vnc_link *l) {
    json_t *o = json_pack(
            "{s:s, s:s, s:b}", "id", l->id, "expiresAt", l->expires_at, "viewOnly", l->view_only);
    if (o && l->url)
        json_object_set_new(o, "url", json_string(l->url));
    else if (o)
        json_object_set_new(o, "sessions", json_integer(l->sessions));
    return o;
}

/* vnc link [--ttl S] [--view-only], vnc links, vnc revoke ID. */
static int vnc_links(struct ctx *x) {
    const char *sub = x->pos[0];
    enum desk_status st;
    if (strcmp(sub, "link") == 0 && x->npos == 1) {
        int ttl = 0;
        if (x->set[O_TTL] && !parse_int(x->val[O_TTL], 1, DESK_VNC_LINK_TTL_MAX, &ttl))
            return usage_error(x, "--ttl must be from 1 to %d seconds, not \"%s\"",
                    DESK_VNC_LINK_TTL_MAX, x->val[O_TTL]);
        struct desk_vnc_link *l = NULL;
        if ((st = desk_vnc_link_create(x->c, ttl, x->set[O_VIEW_ONLY], &l)) != DESK_OK)
            return failed(x, st);
        int rc = 0;
        if (x->json)
            rc = print_json(link_json(l));
        else
            printf("%s\nid %s, %s, until %s\n", l->url, l->id,
                    l->view_only ? "view-only" : "full control", l->expires_at);
        desk_vnc_link_free(l);
        return rc;
    }
    if (strcmp(sub, "links") == 0 && x->npos == 1) {
        struct desk_vnc_link_list *ll = NULL;
        if ((st = desk_vnc_link_list(x->c, &ll)) != DESK_OK)
            return failed(x, st);
        int rc = 0;
        if (x->json) {
            json_t *arr = json_array();
            for (size_t i = 0; arr && i < ll->count; i++)
                json_array_append_new(arr, link_json(&ll->items[i]));
            rc = print_json(json_pack("{s:o}", "links", arr));
        } else {
            for (size_t i = 0; i < ll->count; i++)
                printf("%s %s until %s, %d open\n", ll->items[i].id,
                        ll->items[i].view_only ? "view-only" : "full-control",
                        ll->items[i].expires_at, ll->items[i].sessions);
        }
        desk_vnc_link_list_free(ll);
        return rc;
    }
    if (strcmp(sub, "revoke") == 0 && x->npos == 2) {
        if ((st = desk_vnc_link_revoke(x->c, x->pos[1])) != DESK_OK)
            return failed(x, st);
        return x->json ? print_json(json_object()) : 0;
    }
    return usage_error(x, "vnc takes nothing, link, links or revoke ID, not \"%s\"%s", sub,
            x->npos > 1 && strcmp(sub, "revoke") != 0 ? " with more" : "");
}

static int cmd_vnc(struct ctx *x) {
    if (x->npos > 0)
        return vnc_links(x);
    if (x->set[O_TTL] || x->set[O_VIEW_ONLY])
        return usage_error(x, "--ttl and --view-only are options of vnc link");
    struct desk_vnc *v = NULL;
    enum desk_status st = desk_vnc(x->c, &v);
    if (st != DESK_OK)
        return failed(x, st);
    int rc = 0;
    if (x->json) {
        json_t *o = json_pack("{s:s, s:s}", "url", v->url, "password", v->password);
        if (o && v->link_url)
            json_object_set_new(o, "link", json_pack("{s:s}", "url", v->link_url));
        rc = print_json(o);
    } else {
        printf("url %s\npassword %s\n", v->url, v->password);
        if (v->link_url)
            printf("link %s\n", v->link_url);
    }
    desk_vnc_free(v);
    return rc;
}

/* control: who holds it; control human|agent hands it over. */
static int cmd_control(struct ctx *x) {
    enum desk_status st;
    if (x->npos == 1) {
        enum desk_holder h;
        if (strcmp(x->pos[0], "human") == 0)
            h = DESK_HOLDER_HUMAN;
        else if (strcmp(x->pos[0], "agent") == 0)
            h = DESK_HOLDER_AGENT;
        else
            return usage_error(x, "control takes human or agent, not \"%s\"", x->pos[0]);
        if ((st = desk_control_set(x->c, h)) != DESK_OK)
            return failed(x, st);
    }
    enum desk_holder holder;
    char *since = NULL;
    if ((st = desk_control_get(x->c, &holder, &since)) != DESK_OK)
        return failed(x, st);
    int rc = 0;
    if (x->json)
        rc = print_json(
                json_pack("{s:s, s:s}", "holder", desk_holder_name(holder), "since", since));
    else
        printf("%s since %s\n", desk_holder_name(holder), since);
    desk_free(since);
    return rc;
}

/* ---- recordings ---- */

static json_t *recording_json(const struct desk_recording *r) {
    json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "id", r->id, "fileName", r->file_name, "filePath",
            r->file_path, "startTime", r->start_time);
    if (o && r->end_time)
        json_object_set_new(o, "endTime", json_string(r->end_time));
    if (o)
        json_object_set_new(o, "status", json_string(desk_recording_state_name(r->state)));
    if (o && r->duration_s >= 0)
        json_object_set_new(o, "durationSeconds", json_real(r->duration_s));
    if (o && r->size_bytes >= 0)
        json_object_set_new(o, "sizeBytes", json_integer(r->size_bytes));
    if (o && r->reason)
        json_object_set_new(o, "reason", json_string(r->reason));
    return o;
}

/* One line: id, state, seconds, bytes, path (and why it failed). */
static void print_recording_line(const struct desk_recording *r) {
    printf("%s %s", r->id, desk_recording_state_name(r->state));
    if (r->duration_s >= 0)
        printf(" %.1fs", r->duration_s);
    if (r->size_bytes >= 0)
        printf(" %lldB", r->size_bytes);
    printf(" %s", r->file_path);
    if (r->reason)
        printf(" (%s)", r->reason);
    putchar('\n');
}

static int print_recording(const struct ctx *x, struct desk_recording *r) {
    int rc = 0;
    if (x->json)
        rc = print_json(recording_json(r));
    else
        print_recording_line(r);
    desk_recording_free(r);
    return rc;
}

static int rec_download(struct ctx *x, const char *id) {
    const char *file = x->set[O_OUTPUT] ? x->val[O_OUTPUT] : "-";
    bool out = strcmp(file, "-") == 0;
    if (out && isatty(1))
        return usage_error(x, "will not write an MP4 to a terminal; use -o FILE");
    int fd = out ? 1 : open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "desk: rec: cannot write %s: %s\n", file, strerror(errno));
        return EXIT_FAIL;
    }
    long long n = 0;
    enum desk_status st = desk_recording_download(x->c, id, fd, &n);
    if (!out && close(fd) < 0 && st == DESK_OK) {
        fprintf(stderr, "desk: rec: cannot write %s: %s\n", file, strerror(errno));
        return EXIT_FAIL;
    }
    if (st != DESK_OK) {
        if (!out)
            unlink(file);
        return failed(x, st);
    }
    if (!out)
        fprintf(stderr, "%lld bytes written to %s\n", n, file);
    return 0;
}

static int cmd_rec(struct ctx *x) {
    const char *sub = x->pos[0], *arg = x->npos > 1 ? x->pos[1] : NULL;
    struct desk_recording *r = NULL;
    enum desk_status st;
    bool takes_id = strcmp(sub, "start") != 0 && strcmp(sub, "ls") != 0;
    if (takes_id && !arg)
        return usage_error(x, "%s needs a recording id", sub);
    if (!takes_id && arg && strcmp(sub, "ls") == 0)
        return usage_error(x, "ls takes no argument");
    if (strcmp(sub, "start") == 0) {
        st = desk_recording_start(x->c, arg, &r);
    } else if (strcmp(sub, "stop") == 0) {
        st = desk_recording_stop(x->c, arg, &r);
    } else if (strcmp(sub, "get") == 0) {
        st = desk_recording_get(x->c, arg, &r);
    } else if (strcmp(sub, "rm") == 0) {
        st = desk_recording_delete(x->c, arg);
        return st == DESK_OK ? 0 : failed(x, st);
    } else if (strcmp(sub, "download") == 0) {
        return rec_download(x, arg);
    } else if (strcmp(sub, "ls") == 0) {
        struct desk_recording_list *l = NULL;
        st = desk_recording_list(x->c, &l);
        if (st != DESK_OK)
            return failed(x, st);
        int rc = 0;
        if (x->json) {
            json_t *arr = json_array();
            for (size_t i = 0; i < l->count; i++)
                json_array_append_new(arr, recording_json(&l->items[i]));
            rc = print_json(json_pack("{s:o}", "recordings", arr));
        } else {
            for (size_t i = 0; i < l->count; i++)
                print_recording_line(&l->items[i]);
        }
        desk_recording_list_free(l);
        return rc;
    } else {
        return usage_error(x,
                "unknown rec command \"%s\"; use start, stop, ls, get, rm or "
                "download",
                sub);
    }
    return st == DESK_OK ? print_recording(x, r) : failed(x, st);
}

/* desk a11y tree|find|focus|invoke|value ...: the answers of tree and find are JSON. */
static int cmd_a11y(struct ctx *x) {
    const char *sub = x->pos[0];
    char *text = NULL;
    enum desk_status st;
    int n = x->npos;
    if (strcmp(sub, "tree") == 0 && n <= 4) {
        int pid = 0, depth = -1;
        if ((n > 2 && int_arg(x, "PID", x->pos[2], &pid) != 0) ||
                (n > 3 && int_arg(x, "MAXDEPTH", x->pos[3], &depth) != 0))
            return EXIT_USAGE;
        st = desk_a11y_tree(x->c, n > 1 ? x->pos[1] : NULL, pid, depth, &text);
    } else if (strcmp(sub, "find") == 0 && n <= 2) {
        st = desk_a11y_find(x->c, n > 1 ? x->pos[1] : NULL, &text);
    } else if (strcmp(sub, "focus") == 0 && n == 2) {
        st = desk_a11y_focus(x->c, x->pos[1]);
    } else if (strcmp(sub, "invoke") == 0 && (n == 2 || n == 3)) {
        st = desk_a11y_invoke(x->c, x->pos[1], n > 2 ? x->pos[2] : NULL);
    } else if (strcmp(sub, "value") == 0 && n == 3) {
        st = desk_a11y_value(x->c, x->pos[1], x->pos[2]);
    } else {
        return usage_error(x, "a11y takes tree [SCOPE [PID [MAXDEPTH]]], find [QUERY_JSON], "
                              "focus ID, invoke ID [ACTION] or value ID VALUE");
    }
    if (st != DESK_OK)
        return failed(x, st);
    if (text)
        puts(text);
    else
        puts(x->json ? "{}" : "ok");
    desk_free(text);
    return 0;
}

/* Writes the base64 image b64 to path; 0, or EXIT_FAIL with a message. */
static int write_image(const char *b64, const char *path) {
    unsigned char *bytes = NULL;
    size_t len = 0;
    if (util_base64_decode(b64, strlen(b64), &bytes, &len) < 0) {
        fprintf(stderr, "desk: tool: the answer's image is not base64\n");
        return EXIT_FAIL;
    }
    FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "wb");
    bool ok = f && fwrite(bytes, 1, len, f) == len;
    if (f && f != stdout)
        ok &= fclose(f) == 0;
    free(bytes);
    if (!ok)
        fprintf(stderr, "desk: tool: %s: %s\n", path, strerror(errno));
    return ok ? 0 : EXIT_FAIL;
}

/*
 * A model's computer tool call from FILE, as Anthropic's or OpenAI's tool shapes it: prints
 * the answer's text (--json: the whole answer), -o writes its image. A mistake of the
 * model's (is_error, error) is exit 1 with the sentence on stderr.
 */
static int cmd_tool(struct ctx *x) {
    const char *provider = x->pos[0];
    bool anthropic = strcmp(provider, "anthropic") == 0;
    if (!anthropic && strcmp(provider, "openai") != 0)
        return usage_error(x, "tool takes anthropic or openai, then FILE");
    char *call = read_input("tool", x->pos[1]);
    if (!call)
        return EXIT_FAIL;
    char *text = NULL;
    enum desk_status st = desk_tool_call(x->c, provider, call, &text);
    free(call);
    if (st != DESK_OK)
        return failed(x, st);
    json_t *answer = json_loads(text, 0, NULL);
    const char *image = NULL, *error = NULL, *said = NULL;
    if (anthropic) {
        size_t i;
        json_t *b;
        json_array_foreach(json_object_get(answer, "content"), i, b) {
            const char *type = json_string_value(json_object_get(b, "type"));
            if (type && strcmp(type, "image") == 0)
                image = json_string_value(json_object_get(json_object_get(b, "source"), "data"));
            else if (type && strcmp(type, "text") == 0)
                said = json_string_value(json_object_get(b, "text"));
        }
        if (json_is_true(json_object_get(answer, "is_error")))
            error = said ? said : "the action failed";
        else if (said && !x->json)
            puts(said);
    } else {
        const char *url =
                json_string_value(json_object_get(json_object_get(answer, "output"), "image_url"));
        image = url && strstr(url, ";base64,") ? strstr(url, ";base64,") + 8 : NULL;
        error = json_string_value(json_object_get(answer, "error"));
    }
    const char *out = x->set[O_OUTPUT] ? x->val[O_OUTPUT] : NULL;
    int rc = 0;
    if (x->json)
        puts(text);
    else if (image && !out)
        printf("image: %zu bytes of base64 (-o FILE writes it)\n", strlen(image));
    if (image && out)
        rc = write_image(image, out);
    if (error) {
        fprintf(stderr, "desk: tool: %s\n", error);
        rc = EXIT_FAIL;
    }
    json_decref(answer);
    desk_free(text);
    return rc;
}

/* The MCP tools on stdio for hosts that start their servers as children (mcp-stdio.c). */
static int cmd_mcp(struct ctx *x) {
    const char *token = x->set[O_TOKEN] ? x->val[O_TOKEN] : getenv("DESK_TOKEN");
    int timeout = 60000;
    if (x->set[O_TIMEOUT])
        parse_int(x->val[O_TIMEOUT], 1, INT_MAX, &timeout); /* main checked it */
    return mcp_stdio_run(desk_client_url(x->c), token, timeout);
}

static const struct cmd cmds[] = {
        {"screenshot", "", 0, 0,
                BIT(O_OUTPUT) | BIT(O_FORMAT) | BIT(O_QUALITY) | BIT(O_SCALE) | BIT(O_REGION) |
                        BIT(O_CURSOR) | BIT(O_FIT) | BIT(O_MAX_EDGE) | BIT(O_MAX_PIXELS) |
                        BIT(O_IF_CHANGED),
                "take a screenshot (PNG, or the --format asked)", cmd_screenshot},
        {"wait", "stable|changed", 1, 1,
                BIT(O_STABLE_MS) | BIT(O_TIMEOUT_MS) | BIT(O_SINCE) | BIT(O_REGION),
                "wait until the screen is stable or changed (exit 1 on timeout)", cmd_wait},
        {"changes", "SINCE", 1, 1, 0, "what changed on the screen after frame SINCE", cmd_changes},
        {"position", "", 0, 0, 0, "print the pointer's position", cmd_position},
        {"move", "X Y", 2, 2, BIT(O_SPACE), "move the pointer", cmd_move},
        {"click", "X Y", 2, 2, BIT(O_BUTTON) | BIT(O_DOUBLE) | BIT(O_CLICKS) | BIT(O_SPACE),
                "click at X,Y", cmd_click},
        {"drag", "X1 Y1 X2 Y2", 4, 4, BIT(O_BUTTON) | BIT(O_SPACE),
                "press at X1,Y1, release at X2,Y2", cmd_drag},
        {"scroll", "X Y up|down|left|right [N]", 3, 4, BIT(O_SPACE),
                "scroll N steps (default 1) at X,Y", cmd_scroll},
        {"do", "FILE", 1, 1, BIT(O_SPACE) | BIT(O_OUTPUT),
                "run a batch of actions, POST /computeruse/actions's JSON, from FILE ('-': "
                "stdin); -o writes the observing screenshot",
                cmd_do},
        {"type", "TEXT", 1, 1,
                BIT(O_DELAY) | BIT(O_KEEP_NEWLINE) | BIT(O_PASTE) | BIT(O_PASTE_KEYS),
                "type TEXT ('-' reads it from stdin, less one final newline)", cmd_type},
        {"key", "KEY [MOD...]", 1, MAX_POS, 0, "tap KEY with modifiers (ctrl alt shift cmd) held",
                cmd_key},
        {"hotkey", "COMBO", 1, 1, 0, "press a chord such as ctrl+shift+t", cmd_hotkey},
        {"displays", "", 0, 0, 0, "list the monitors", cmd_displays},
        {"windows", "", 0, 0, BIT(O_TYPE), "list the top-level windows", cmd_windows},
        {"window", "ID ACTION [X Y W H]", 2, 6, 0,
                "activate, close, minimize, maximize, restore a window, or set its geometry",
                cmd_window},
        {"clip", "get|set [TEXT]", 1, 2, BIT(O_PRIMARY), "read or set the clipboard", cmd_clip},
        {"launch", "-- PROGRAM [ARG...]", 1, MAX_POS, BIT(O_WAIT) | BIT(O_CWD) | BIT(O_WAIT_MS),
                "start a program in the desktop session (no shell)", cmd_launch},
        {"apps", "", 0, 0, 0, "list the launched programs that still run", cmd_apps},
        {"kill", "PID", 1, 1, 0, "end a launched program (SIGTERM, SIGKILL after 3 s)", cmd_kill},
        {"start", "", 0, 0, 0, "start the desktop processes", cmd_start},
        {"stop", "", 0, 0, 0, "stop the desktop processes", cmd_stop},
        {"status", "[NAME]", 0, 1, 0, "the desktop's state, or whether process NAME runs",
                cmd_status},
        {"logs", "NAME", 1, 1, BIT(O_ERRORS), "print a desktop process's log", cmd_logs},
        {"restart", "NAME", 1, 1, 0, "restart a desktop process", cmd_restart},
        {"vnc", "[link | links | revoke ID]", 0, 2, BIT(O_TTL) | BIT(O_VIEW_ONLY),
                "print the noVNC address and password; make (link), list or revoke links to "
                "deskd's live view",
                cmd_vnc},
        {"control", "[human|agent]", 0, 1, 0,
                "who may send input (a person holding it pauses the API's input); hand it over",
                cmd_control},
        {"rec", "start [LABEL] | stop ID | ls | get ID | rm ID | download ID", 1, 2, BIT(O_OUTPUT),
                "record the screen to MP4 files, and fetch them", cmd_rec},
        {"a11y", "tree|find|focus|invoke|value [ARGS...]", 1, 4, 0,
                "the accessibility tree (tree [SCOPE [PID [MAXDEPTH]]], find [QUERY_JSON]) and "
                "its nodes (focus ID, invoke ID [ACTION], value ID VALUE)",
                cmd_a11y},
        {"tool", "anthropic|openai FILE", 2, 2, BIT(O_OUTPUT),
                "run a model's computer tool call from FILE ('-': stdin) as the provider shapes "
                "it (a computer tool_use input; a computer_call); -o writes the answer's image",
                cmd_tool},
        {"health", "", 0, 0, 0, "check that deskd answers; print its version", cmd_health},
        {"mcp", "", 0, 0, 0,
                "serve deskd's MCP tools on stdin/stdout (newline-delimited JSON-RPC), for MCP "
                "hosts that start a command",
                cmd_mcp},
};

#define NCMDS (sizeof cmds / sizeof cmds[0])

static void print_opts(FILE *f, unsigned long long mask) {
    for (int i = 0; i < O_COUNT; i++) {
        if (!(mask & BIT(i)))
            continue;
        char left[64];
        snprintf(left, sizeof left, "%s%c%s--%s%s%s", opts[i].short_name ? "-" : "",
                opts[i].short_name ? opts[i].short_name : ' ', opts[i].short_name ? ", " : " ",
                opts[i].name, opts[i].arg ? " " : "", opts[i].arg ? opts[i].arg : "");
        fprintf(f, "  %-24s %s\n", opts[i].short_name ? left : left + 2, opts[i].help);
    }
}

static void usage_main(FILE *f) {
    fputs("usage: desk [--url URL] [--token TOKEN] [--json] COMMAND [ARGS...]\n\n"
          "Drives a desktop through deskd's computer-use API.\n\ncommands:\n",
            f);
    for (size_t i = 0; i < NCMDS; i++) {
        char left[64];
        snprintf(left, sizeof left, "%s %s", cmds[i].name, cmds[i].args);
        fprintf(f, "  %-34s %s\n", left, cmds[i].summary);
    }
    fputs("\noptions of every command:\n", f);
    print_opts(f, COMMON_OPTS);
    fputs("\n`desk COMMAND --help` shows a command's options. Exit status: 0 on success, 1 when\n"
          "the request failed (the reason on stderr), 2 on a usage error.\n",
            f);
}

static void usage_cmd(FILE *f, const struct cmd *c) {
    fprintf(f, "usage: desk %s%s%s [options]\n\n%s.\n\noptions:\n", c->name, *c->args ? " " : "",
            c->args, c->summary);
    print_opts(f, c->opts);
    print_opts(f, COMMON_OPTS);
}

/* "-5", "-1.5": a negative number is an argument, not an option. */
static bool is_number(const char *s) {
    if (*s == '-')
        s++;
    return isdigit((unsigned char)*s);
}

static const struct opt *find_opt(const char *arg, enum opt_id *id, const char **inline_val) {
    *inline_val = NULL;
    for (int i = 0; i < O_COUNT; i++) {
        if (arg[1] != '-') {
            if (opts[i].short_name && arg[1] == opts[i].short_name && !arg[2]) {
                *id = (enum opt_id)i;
                return &opts[i];
            }
            continue;
        }
        size_t n = strcspn(arg + 2, "=");
        if (strlen(opts[i].name) == n && strncmp(arg + 2, opts[i].name, n) == 0) {
            *id = (enum opt_id)i;
            if (arg[2 + n] == '=')
                *inline_val = arg + 3 + n;
            return &opts[i];
        }
    }
    return NULL;
}

static const struct cmd *find_cmd(const char *name) {
    for (size_t i = 0; i < NCMDS; i++) {
        if (strcmp(cmds[i].name, name) == 0)
            return &cmds[i];
    }
    return NULL;
}

/* Splits argv into the command, its positional arguments and the options. */
static int parse_args(int argc, char **argv, struct ctx *x) {
    bool only_pos = false;
    const char *name = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!only_pos && strcmp(a, "--") == 0) {
            only_pos = true;
            continue;
        }
        if (only_pos || a[0] != '-' || !a[1] || is_number(a)) {
            if (!name) {
                name = a;
                if (!(x->cmd = find_cmd(a)))
                    return usage_error(x, "unknown command \"%s\"", a);
            } else if (x->npos < MAX_POS) {
                x->pos[x->npos++] = a;
            } else {
                return usage_error(x, "too many arguments");
            }
            continue;
        }
        enum opt_id id;
        const char *v;
        const struct opt *o = find_opt(a, &id, &v);
        if (!o)
            return usage_error(x, "unknown option \"%s\"", a);
        if (o->arg && !v) {
            if (i + 1 >= argc)
                return usage_error(x, "%s needs a value (%s)", a, o->arg);
            v = argv[++i];
        } else if (!o->arg && v) {
            return usage_error(x, "--%s takes no value", o->name);
        }
        x->set[id] = true;
        x->val[id] = v;
    }
    return 0;
}

int main(int argc, char **argv) {
    struct ctx x = {0};
    if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
        printf("desk %s (libdesk %s)\n", DESK_VERSION_STRING, desk_version_string());
        return 0;
    }
    int rc = parse_args(argc, argv, &x);
    if (rc)
        return rc;
    if (!x.cmd) {
        usage_main(x.set[O_HELP] ? stdout : stderr);
        return x.set[O_HELP] ? 0 : EXIT_USAGE;
    }
    if (x.set[O_HELP]) {
        usage_cmd(stdout, x.cmd);
        return 0;
    }
    for (int i = 0; i < O_COUNT; i++) {
        if (x.set[i] && !(BIT(i) & (COMMON_OPTS | x.cmd->opts)))
            return usage_error(&x, "--%s is not an option of %s", opts[i].name, x.cmd->name);
    }
    if (x.npos < x.cmd->min_args || x.npos > x.cmd->max_args)
        return usage_error(&x, "expects %s%s", *x.cmd->args ? x.cmd->args : "no arguments",
                x.npos < x.cmd->min_args ? "" : ", got more");

    const char *url = x.set[O_URL] ? x.val[O_URL] : getenv("DESK_URL");
    const char *token = x.set[O_TOKEN] ? x.val[O_TOKEN] : getenv("DESK_TOKEN");
    int timeout = 60000;
    if (x.set[O_TIMEOUT] && !parse_int(x.val[O_TIMEOUT], 1, INT_MAX, &timeout))
        return usage_error(&x, "--timeout must be a positive number of milliseconds");
    x.json = x.set[O_JSON];
    x.c = desk_client_new(url && *url ? url : NULL);
    if (!x.c) {
        fputs("desk: out of memory\n", stderr);
        return EXIT_FAIL;
    }
    enum desk_status st = desk_last_status(x.c);
    if (st == DESK_OK)
        st = desk_client_set_token(x.c, token);
    if (st == DESK_OK)
        st = desk_client_set_timeouts(x.c, timeout < 5000 ? timeout : 5000, timeout);
    rc = st == DESK_OK ? x.cmd->run(&x) : failed(&x, st);
    desk_client_free(x.c);
    return rc;
}
