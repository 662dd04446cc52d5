/*
 * bench-screenshot: times deskd's screenshot routes from the client's side and, in the same
 * run, the way peers take the same picture: scrot and ImageMagick's import run as
 * subprocesses, timed from spawn to exit. Each screen size gets its own Xvfb with an xfce4
 * session and two terminals full of text (or xterm/xlogo/xclock when xfce4 is missing), so
 * the encoders see a real desktop and not a flat colour. Prints p50/p95 per case and
 * peer p50 / deskd p50.
 *
 * Every request to deskd goes through libdesk, on one kept-alive handle per screen size that
 * is switched between the JSON and the binary form of screenshots.
 *
 * deskd answers a repeated request from its last image while the screen is unchanged, so
 * the capture cases change one pixel inside the captured area (from the benchmark's own X
 * connection, outside the timed part) before each request: they time a fresh capture and
 * encode. Two cases time the unchanged screen instead: the kept image, and the 304 answer
 * to ifChangedSince. Beside each capture case is the in-process floor: the same grab and
 * encode through capture/ in this process, with no HTTP, and the ratio deskd / floor.
 *
 * It is a benchmark, not a test: it fails only when something cannot run or deskd answers
 * wrongly, never because a number is slow.
 *
 * A supervisor process (bench-util's) owns the clean-up. It runs the benchmark in a child,
 * enforces the overall timeout, and on every exit kills each process that carries this run's
 * marker in its environment: the xfce4 session daemonises dbus-daemon, ssh-agent and others
 * out of any process group we could signal. It is also the child subreaper, so they are
 * reaped.
 */
#define _GNU_SOURCE
#include <X11/Xlib.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench-util.h"
#include "capture.h"

#ifndef DESKD_PATH
#define DESKD_PATH "deskd"
#endif

#define MAX_SIZES   4
#define MAX_RESULTS 32

/* The region cases, inside both default screen sizes and over the first terminal. */
#define REG_X 200
#define REG_Y 150
#define REG_W 400
#define REG_H 300

static struct {
    const char *deskd;
    int runs, warmup, timeout_s;
    bool peers, xfce, keep_tmp;
    int nsizes;
    int w[MAX_SIZES], h[MAX_SIZES];
} opt = {
        .deskd = DESKD_PATH,
        .runs = 30,
        .warmup = 5,
        .timeout_s = 900,
        .peers = true,
        .xfce = true,
};

/* ---- the desktop ------------------------------------------------------------------------ */

struct desk {
    int w, h;
    char display[16];
    char **env;
    const char *kind; /* "xfce4 session" or the fallback */
    struct kid *xvfb, *session, *deskd;
    Display *dpy;        /* the benchmark's own: touches pixels, and grabs for the floor */
    Window dot;          /* a 1x1 window on top of everything: the pixel that changes */
    struct capture *cap; /* the floor's capture and encoder */
    struct encoder *enc;
    char url[64];
    char deskd_log[128];
};

static int desk_xvfb(struct desk *d) {
    d->xvfb = start_xvfb(d->w, d->h, d->display, sizeof d->display);
    return d->xvfb ? 0 : -1;
}

/* Waits until xdotool sees at least n visible windows of a class matching the regex. */
static int wait_windows(struct desk *d, const char *cls, int n, int timeout_ms, struct kid *watch) {
    const char *argv[] = {"xdotool", "search", "--onlyvisible", "--class", cls, NULL};
    char out[4096];
    for (double end = now_ms() + timeout_ms; now_ms() < end; nap_ms(100)) {
        int got = 0;
        if (run_capture(argv, d->env, out, sizeof out) == 0)
            for (const char *p = out; (p = strchr(p, '\n')); p++)
                got++;
        if (got >= n)
            return 0;
        if (watch && !kid_alive(watch)) {
            say("%s exited (status %d) before %d \"%s\" window(s) appeared", watch->name,
                    watch->status, n, cls);
            return -1;
        }
    }
    say("no %d visible \"%s\" window(s) after %d s", n, cls, timeout_ms / 1000);
    return -1;
}

/* xfconf defaults for the session: no ssh-agent or gpg-agent, nothing to do with screens. */
static const char session_xml[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<channel name=\"xfce4-session\" version=\"1.0\">\n"
        "  <property name=\"startup\" type=\"empty\">\n"
        "    <property name=\"ssh-agent\" type=\"empty\">\n"
        "      <property name=\"enabled\" type=\"bool\" value=\"false\"/>\n"
        "    </property>\n"
        "    <property name=\"gpg-agent\" type=\"empty\">\n"
        "      <property name=\"enabled\" type=\"bool\" value=\"false\"/>\n"
        "    </property>\n"
        "  </property>\n"
        "</channel>\n";

static bool have_xfce(void) {
    return in_path("dbus-launch") && in_path("xfce4-session") && in_path("xfce4-terminal");
}

static int start_xfce(struct desk *d) {
    char log[128], path[256];
    snprintf(path, sizeof path, "%s/config/xfce4/xfconf/xfce-perchannel-xml", tmpdir);
    if (mkdirs(path, 0755) < 0)
        return -1;
    strncat(path, "/xfce4-session.xml", sizeof path - strlen(path) - 1);
    if (write_file(path, session_xml) < 0)
        return -1;

    snprintf(log, sizeof log, "%s/session-%dx%d.log", tmpdir, d->w, d->h);
    const char *sess[] = {"dbus-launch", "--exit-with-session", "xfce4-session", NULL};
    d->session = kid_start("xfce4-session", sess, d->env, log, -1);
    if (!d->session)
        return -1;
    /* The panels and the desktop (wallpaper, icons) are what a session looks like. */
    if (wait_windows(d, "xfce4-panel", 1, 60000, d->session) < 0 ||
            wait_windows(d, "xfdesktop", 1, 60000, d->session) < 0)
        goto error;

    const char *t1[] = {"xfce4-terminal", "--disable-server", "--geometry=110x42+40+60", "--hold",
            "-x", "ls", "-la", "/usr/bin", NULL};
    const char *t2[] = {"xfce4-terminal", "--disable-server", "--geometry=100x30+860+360", "-x",
            "top", "-d", "3", NULL};
    if (!kid_start("xfce4-terminal", t1, d->env, log, -1) ||
            !kid_start("xfce4-terminal", t2, d->env, log, -1) ||
            wait_windows(d, "xfce4-terminal", 2, 30000, NULL) < 0)
        goto error;
    d->kind = "xfce4 session + 2 xfce4-terminals (ls -la /usr/bin, top)";
    return 0;
error:
    print_file_tail(log, 3000);
    return -1;
}

/* Without xfce4: a few plain X clients over the black root window. */
static int start_plain(struct desk *d) {
    char log[128];
    int want = 0;
    snprintf(log, sizeof log, "%s/clients-%dx%d.log", tmpdir, d->w, d->h);
    if (in_path("xterm")) {
        const char *t1[] = {
                "xterm", "-geometry", "110x42+40+60", "-hold", "-e", "ls", "-la", "/usr/bin", NULL};
        const char *t2[] = {"xterm", "-geometry", "100x30+860+360", "-e", "top", "-d", "3", NULL};
        want += !!kid_start("xterm", t1, d->env, log, -1);
        want += !!kid_start("xterm", t2, d->env, log, -1);
    }
    if (in_path("xlogo")) {
        const char *a[] = {"xlogo", "-geometry", "300x300+1500+60", NULL};
        want += !!kid_start("xlogo", a, d->env, log, -1);
    }
    if (in_path("xclock")) {
        const char *a[] = {"xclock", "-geometry", "220x220+1100+60", NULL};
        want += !!kid_start("xclock", a, d->env, log, -1);
    }
    if (want == 0) {
        say("neither xfce4 nor xterm/xlogo/xclock is installed: nothing to put on the screen");
        return -1;
    }
    if (wait_windows(d, "xterm|xlogo|xclock", want, 30000, NULL) < 0)
        return -1;
    d->kind = "no xfce4: xterm/xlogo/xclock windows";
    return 0;
}

static int desk_deskd(struct desk *d) {
    snprintf(d->deskd_log, sizeof d->deskd_log, "%s/deskd-%dx%d.log", tmpdir, d->w, d->h);
    d->deskd = start_deskd(opt.deskd, d->display, d->env, d->deskd_log, d->url, sizeof d->url);
    return d->deskd ? 0 : -1;
}

/* ---- cases ------------------------------------------------------------------------------ */

struct result {
    char name[48];
    bool ran, ok;
    char err[200];
    double p50, p95;
    long image_bytes;
    int width, height;
    const char *key;  /* which peer it compares with, or NULL */
    const char *tool; /* peers: "scrot" / "import"; deskd: NULL */
    double target_ms; /* 0: none */
    double floor_p50; /* the in-process capture + encode of the same case; 0: none */
};

/* Marks the case failed; returns -1 so that callers can return it. */
__attribute__((format(printf, 2, 3))) static int result_fail(
        struct result *r, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err, sizeof r->err, fmt, ap);
    va_end(ap);
    r->ok = false;
    return -1;
}

static void result_stats(struct result *r, double *samples, int n) {
    percentiles(samples, n, &r->p50, &r->p95);
}

static bool magic_ok(enum desk_image_format fmt, const uint8_t *p, size_t n) {
    if (fmt == DESK_IMAGE_PNG)
        return n >= 8 && memcmp(p, "\x89PNG\r\n\x1a\n", 8) == 0;
    if (fmt == DESK_IMAGE_JPEG)
        return n >= 3 && memcmp(p, "\xff\xd8\xff", 3) == 0;
    return n >= 12 && memcmp(p, "RIFF", 4) == 0 && memcmp(p + 8, "WEBP", 4) == 0;
}

/* The routes, each a libdesk call. */
enum route { SHOT, COMPRESSED, REGION_COMPRESSED };

/* What the screen does between requests. */
enum mode {
    FRESH,        /* a pixel in the captured area changes before each request: capture and encode */
    KEPT,         /* nothing changes: deskd answers from the image it kept */
    NOT_MODIFIED, /* nothing changes, and the request says ifChangedSince: a 304 */
};

struct dcase {
    const char *name;
    enum route route;
    enum mode mode;
    bool binary;                /* deskd's binary form (Accept: image/...), else JSON/base64 */
    enum desk_image_format fmt; /* asked for, and expected back */
    int quality;                /* 0: the server's default (not sent) */
    double scale;               /* 1: not sent */
    const char *key;            /* peer key, NULL: no like-for-like peer */
    double target_ms;
};

#define STR_(x) #x
#define STR(x)  STR_(x)

static const struct dcase dcases[] = {
        {"/screenshot (png) JSON", SHOT, FRESH, false, DESK_IMAGE_PNG, 0, 1, "png", 30},
        {"png JSON", COMPRESSED, FRESH, false, DESK_IMAGE_PNG, 0, 1, "png", 30},
        {"png binary", COMPRESSED, FRESH, true, DESK_IMAGE_PNG, 0, 1, "png", 12},
        {"jpeg q75 JSON", COMPRESSED, FRESH, false, DESK_IMAGE_JPEG, 75, 1, "jpg", 8},
        {"jpeg q75 binary", COMPRESSED, FRESH, true, DESK_IMAGE_JPEG, 75, 1, "jpg", 0},
        {"webp q80 JSON", COMPRESSED, FRESH, false, DESK_IMAGE_WEBP, 80, 1, NULL, 60},
        {"webp q80 binary", COMPRESSED, FRESH, true, DESK_IMAGE_WEBP, 80, 1, NULL, 25},
        {"jpeg q75 scale 0.5 JSON", COMPRESSED, FRESH, false, DESK_IMAGE_JPEG, 75, 0.5, NULL, 0},
        {"region 400x300 png JSON", REGION_COMPRESSED, FRESH, false, DESK_IMAGE_PNG, 0, 1, "rpng",
                0},
        {"region 400x300 jpeg q75 JSON", REGION_COMPRESSED, FRESH, false, DESK_IMAGE_JPEG, 75, 1,
                "rjpg", 0},
        {"png binary, unchanged: kept image", COMPRESSED, KEPT, true, DESK_IMAGE_PNG, 0, 1, NULL,
                0.5},
        {"png binary, unchanged: 304", COMPRESSED, NOT_MODIFIED, true, DESK_IMAGE_PNG, 0, 1, NULL,
                0.5},
};

struct pcase {
    const char *name, *tool, *key, *file;
    const char *argv[12]; /* "@" is replaced by the output file */
};

#define REGION_SCROT STR(REG_X) "," STR(REG_Y) "," STR(REG_W) "," STR(REG_H)

static const struct pcase pcases[] = {
        {"scrot png", "scrot", "png", "shot.png", {"scrot", "-o", "@", NULL}},
        {"scrot jpg q75", "scrot", "jpg", "shot.jpg", {"scrot", "-o", "-q", "75", "@", NULL}},
        {"import png", "import", "png", "shot.png", {"import", "-window", "root", "@", NULL}},
        {"import jpg q75", "import", "jpg", "shot.jpg",
                {"import", "-window", "root", "-quality", "75", "@", NULL}},
        {"scrot region 400x300 png", "scrot", "rpng", "region.png",
                {"scrot", "-o", "-a", REGION_SCROT, "@", NULL}},
        {"scrot region 400x300 jpg q75", "scrot", "rjpg", "region.jpg",
                {"scrot", "-o", "-q", "75", "-a", REGION_SCROT, "@", NULL}},
};

#define NDCASES (sizeof dcases / sizeof dcases[0])
#define NPCASES (sizeof pcases / sizeof pcases[0])

/* One screenshot of case c through libdesk, in the form the handle is set to. */
static enum desk_status take(
        desk_client *cl, const struct dcase *c, unsigned long long since, struct desk_image **img) {
    static const struct desk_rect region = {REG_X, REG_Y, REG_W, REG_H};
    struct desk_shot_options o = {.region = c->route == REGION_COMPRESSED ? &region : NULL,
            .compressed = c->route != SHOT,
            .format = c->fmt,
            .quality = c->quality,
            .scale = c->scale < 1 ? c->scale : 0,
            .if_changed_since = since};
    return desk_screenshot_ex(cl, &o, img);
}

/* Changes one pixel inside every case's captured area, and returns once X has drawn it. */
static void touch(struct desk *d, int i) {
    XSetWindowBackground(d->dpy, d->dot, i % 2 ? 0x102030 : 0x203040);
    XClearWindow(d->dpy, d->dot);
    XSync(d->dpy, False);
}

/* The floor: the case's grab and encode in this process (p50 ms), or 0 when it failed. */
static double floor_case(struct desk *d, const struct dcase *c, double *samples) {
    for (int i = 0; i < opt.warmup + opt.runs; i++) {
        touch(d, i);
        struct frame f;
        const uint8_t *out;
        size_t len;
        double t0 = now_ms();
        int rc = c->route == REGION_COMPRESSED
                         ? capture_grab(d->cap, REG_X, REG_Y, REG_W, REG_H, &f)
                         : capture_grab_screen(d->cap, &f);
        if (rc == 0)
            rc = encoder_encode(d->enc, &f, scale_length(f.width, c->scale),
                    scale_length(f.height, c->scale), (enum img_format)c->fmt,
                    c->quality ? c->quality : 85, &out, &len);
        double ms = now_ms() - t0;
        if (rc != 0)
            return 0;
        if (i >= opt.warmup)
            samples[i - opt.warmup] = ms;
    }
    double p50, p95;
    percentiles(samples, opt.runs, &p50, &p95);
    return p50;
}

/* Checks the last image of a case: format, file signature, dimensions. libdesk has already
 * checked every reply of it (the Content-Type, or the JSON fields with sizeBytes against the
 * decoded base64, and a positive size). */
static int check_image(
        const struct desk_image *img, const struct dcase *c, int ew, int eh, struct result *r) {
    const char *want = desk_image_format_name(c->fmt);
    if (img->format != c->fmt)
        return result_fail(r, "a %s image, expected %s",
                desk_image_format_name(img->format) ? desk_image_format_name(img->format) : "?",
                want);
    if (!magic_ok(c->fmt, img->data, img->size))
        return result_fail(r, "the image is not a %s file", want);
    if (img->width != ew || img->height != eh)
        return result_fail(r, "image %dx%d, expected %dx%d", img->width, img->height, ew, eh);
    r->image_bytes = (long)img->size;
    r->width = img->width;
    r->height = img->height;
    return 0;
}

static int run_deskd_case(
        desk_client *cl, const struct dcase *c, struct desk *d, struct result *r, double *samples) {
    int ew = c->route == REGION_COMPRESSED ? REG_W : d->w;
    int eh = c->route == REGION_COMPRESSED ? REG_H : d->h;
    struct desk_image *img = NULL;
    char why[400];
    if (c->scale < 1) {
        ew = (int)floor(ew * c->scale);
        eh = (int)floor(eh * c->scale);
    }
    snprintf(r->name, sizeof r->name, "deskd %s", c->name);
    r->ran = r->ok = true;
    r->key = c->key;
    r->target_ms = d->w == 1920 && d->h == 1080 ? c->target_ms : 0;
    if (desk_client_set_binary_screenshots(cl, c->binary) != DESK_OK)
        return result_fail(r, "%.190s", bench_desk_error(cl, why, sizeof why));
    /* The unchanged cases start from an image of the screen as it stays. */
    unsigned long long since = 0;
    if (c->mode != FRESH) {
        if (take(cl, c, 0, &img) != DESK_OK)
            return result_fail(r, "%.190s", bench_desk_error(cl, why, sizeof why));
        since = c->mode == NOT_MODIFIED ? img->frame_id : 0;
        if (c->mode == NOT_MODIFIED && !since)
            return result_fail(r, "this deskd sends no frameId");
    }
    for (int i = 0; i < opt.warmup + opt.runs; i++) {
        desk_image_free(img);
        if (c->mode == FRESH)
            touch(d, i);
        double t0 = now_ms();
        enum desk_status st = take(cl, c, since, &img);
        double ms = now_ms() - t0;
        if (st != DESK_OK)
            return result_fail(r, "%.190s", bench_desk_error(cl, why, sizeof why));
        if (c->mode == NOT_MODIFIED && !img->unchanged)
            return result_fail(r, "an image came back for an unchanged screen (no 304)");
        if (i >= opt.warmup)
            samples[i - opt.warmup] = ms;
    }
    result_stats(r, samples, opt.runs);
    int rc = c->mode == NOT_MODIFIED ? 0 : check_image(img, c, ew, eh, r);
    desk_image_free(img);
    if (rc == 0 && c->mode == FRESH)
        r->floor_p50 = floor_case(d, c, samples);
    return rc;
}

static int run_peer_case(
        const struct pcase *c, const struct desk *d, struct result *r, double *samples) {
    char file[128], log[128];
    const char *argv[12];
    struct stat st;
    snprintf(file, sizeof file, "%s/%s", tmpdir, c->file);
    snprintf(log, sizeof log, "%s/peers.log", tmpdir);
    for (int i = 0; i < 12; i++)
        argv[i] = c->argv[i] && strcmp(c->argv[i], "@") == 0 ? file : c->argv[i];
    snprintf(r->name, sizeof r->name, "%s", c->name);
    r->key = c->key;
    r->tool = c->tool;
    r->ran = r->ok = true;
    struct spawn_opts so = {.log = log, .out_fd = -1, .pass_fd = -1};
    for (int i = 0; i < opt.warmup + opt.runs; i++) {
        unlink(file);
        double t0 = now_ms();
        pid_t pid = spawn(argv, d->env, &so);
        int status = pid < 0 ? -1 : wait_exit(pid);
        double ms = now_ms() - t0;
        if (status != 0)
            return result_fail(r, "exit status %d (see %s)", status, log);
        if (i >= opt.warmup)
            samples[i - opt.warmup] = ms;
    }
    if (stat(file, &st) < 0 || st.st_size == 0)
        return result_fail(r, "wrote no %s", c->file);
    r->image_bytes = (long)st.st_size;
    result_stats(r, samples, opt.runs);
    return 0;
}

/* Waits until the picture stops changing: three JPEG sizes in a row within 1 %. */
static int wait_settled(desk_client *cl) {
    const struct desk_compress q = {.format = DESK_IMAGE_JPEG, .quality = 75};
    double last[3] = {0};
    int n = 0;
    for (double end = now_ms() + 30000; now_ms() < end; nap_ms(250)) {
        struct desk_image *img;
        char why[400];
        if (desk_client_set_binary_screenshots(cl, true) != DESK_OK ||
                desk_screenshot_compressed(cl, &q, &img) != DESK_OK) {
            say("deskd failed the settle probe: %s", bench_desk_error(cl, why, sizeof why));
            return -1;
        }
        last[n++ % 3] = (double)img->size;
        desk_image_free(img);
        if (n >= 3) {
            double lo = fmin(last[0], fmin(last[1], last[2]));
            double hi = fmax(last[0], fmax(last[1], last[2]));
            if (hi <= lo * 1.01)
                return 0;
        }
    }
    say("the screen did not settle in 30 s; measuring anyway");
    return 0;
}

/* CPU time, in clock ticks, of this run's processes other than skip. */
static long run_ticks(pid_t skip) {
    pid_t pids[256];
    long sum = 0;
    int n = marker_pids(pids, 256);
    for (int i = 0; i < n; i++) {
        char path[64], buf[1024];
        unsigned long ut, st;
        if (pids[i] == skip)
            continue;
        snprintf(path, sizeof path, "/proc/%d/stat", (int)pids[i]);
        FILE *f = fopen(path, "r");
        size_t len = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
        if (f)
            fclose(f);
        buf[len] = '\0';
        /* Fields after the command name, which may hold spaces: state is field 3. */
        const char *p = strrchr(buf, ')');
        if (p &&
                sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) == 2)
            sum += (long)(ut + st);
    }
    return sum;
}

/* Waits until the desktop's own processes (X, the session, its daemons, the terminals) use
 * under 5 % of a CPU over half a second: a session still starting up competes with what we
 * time. */
static void wait_idle(pid_t deskd) {
    long hz = sysconf(_SC_CLK_TCK), prev = run_ticks(deskd);
    for (double end = now_ms() + 30000; now_ms() < end;) {
        nap_ms(500);
        long cur = run_ticks(deskd);
        if ((cur - prev) * 1000 / hz < 25)
            return;
        prev = cur;
    }
    say("the desktop still keeps a CPU busy after 30 s; measuring anyway");
}

/* ---- report ----------------------------------------------------------------------------- */

static const struct result *find_peer(
        const struct result *res, int n, const char *tool, const char *key) {
    for (int i = 0; i < n; i++)
        if (res[i].tool && res[i].ok && strcmp(res[i].tool, tool) == 0 && res[i].key && key &&
                strcmp(res[i].key, key) == 0)
            return &res[i];
    return NULL;
}

static void ratio_cell(char *buf, size_t len, const struct result *r, const struct result *peer) {
    if (!peer || !r->ok || r->tool)
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%.1fx", peer->p50 / r->p50);
}

static const struct result *find_named(const struct result *res, int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (res[i].ok && strcmp(res[i].name, name) == 0)
            return &res[i];
    return NULL;
}

static void report(
        const struct desk *d, const struct result *res, int n, long rss0, long rss1, long conns) {
    printf("\n== %dx%d: %s; deskd %s; %d timed requests after %d warm-up; ms at the client ==\n",
            d->w, d->h, d->kind, d->url, opt.runs, opt.warmup);
    printf("%-36s %8s %8s %9s %9s %9s %9s %8s %7s  %s\n", "case", "p50", "p95", "image B", "WxH",
            "vs scrot", "vs import", "floor", "/floor", "target (p50)");
    for (int i = 0; i < n; i++) {
        const struct result *r = &res[i];
        if (!r->ran)
            continue;
        if (!r->ok) {
            printf("%-36s FAILED: %s\n", r->name, r->err);
            continue;
        }
        char dims[24] = "-", vs[2][16], target[32] = "", fl[16] = "-", flr[16] = "-";
        if (r->floor_p50 > 0) {
            snprintf(fl, sizeof fl, "%.1f", r->floor_p50);
            snprintf(flr, sizeof flr, "%.2f", r->p50 / r->floor_p50);
        }
        if (!r->tool)
            snprintf(dims, sizeof dims, "%dx%d", r->width, r->height);
        ratio_cell(vs[0], sizeof vs[0], r, find_peer(res, n, "scrot", r->key));
        ratio_cell(vs[1], sizeof vs[1], r, find_peer(res, n, "import", r->key));
        if (r->target_ms > 0)
            snprintf(target, sizeof target, "<= %g %s", r->target_ms,
                    r->p50 <= r->target_ms ? "ok" : "MISSED");
        printf("%-36s %8.2f %8.2f %9ld %9s %9s %9s %8s %7s  %s\n", r->name, r->p50, r->p95,
                r->image_bytes, dims, vs[0], vs[1], fl, flr, target);
    }

    printf("-- floor = the same grab + encode in this process through capture/ (no HTTP); "
           "/floor = deskd p50 / floor p50\n");
    printf("-- ratio = peer p50 / deskd p50, same format and quality (region: scrot -a)\n");
    for (int i = 0; i < n; i++) {
        const struct result *r = &res[i], *s = find_peer(res, n, "scrot", r->key);
        if (r->tool || !r->ok || !s)
            continue;
        double x = s->p50 / r->p50;
        printf("   %s is %.1fx %s than %s\n", r->name, x >= 1 ? x : 1 / x,
                x >= 1 ? "faster" : "slower", s->name);
    }
    static const char *const pairs[][3] = {{"png", "deskd png JSON", "deskd png binary"},
            {"jpeg", "deskd jpeg q75 JSON", "deskd jpeg q75 binary"},
            {"webp", "deskd webp q80 JSON", "deskd webp q80 binary"}};
    printf("-- binary / JSON p50 (below 1: binary is faster):");
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        const struct result *j = find_named(res, n, pairs[i][1]);
        const struct result *b = find_named(res, n, pairs[i][2]);
        if (j && b)
            printf(" %s %.2f (%.1f vs %.1f ms)%s", pairs[i][0], b->p50 / j->p50, b->p50, j->p50,
                    i + 1 < sizeof pairs / sizeof pairs[0] ? "," : "");
    }
    printf("\n-- deskd RSS: %ld KiB after start-up, %ld KiB at the end; libdesk opened %ld "
           "connection(s) for all the requests\n",
            rss0, rss1, conns);
    fflush(stdout);
}

/* ---- one screen size -------------------------------------------------------------------- */

static int bench_size(int w, int h) {
    struct desk d = {.w = w, .h = h};
    desk_client *cl = NULL;
    struct result res[MAX_RESULTS] = {0};
    double *samples = calloc((size_t)opt.runs, sizeof *samples);
    int n = 0, rc = -1;
    long rss0, rss1;

    if (!samples)
        return -1;
    say("%dx%d: starting Xvfb", w, h);
    if (desk_xvfb(&d) < 0 || !(d.env = env_build(d.display)))
        goto out;
    bool xfce = opt.xfce && have_xfce();
    say("%dx%d: X on %s; starting %s", w, h, d.display, xfce ? "xfce4" : "plain X clients");
    if ((xfce ? start_xfce(&d) : start_plain(&d)) < 0 || desk_deskd(&d) < 0)
        goto out;
    if (!(cl = bench_client(d.url)) || wait_settled(cl) < 0)
        goto out;
    if (!(d.dpy = XOpenDisplay(d.display)) || !(d.cap = capture_new(d.dpy)) ||
            !(d.enc = encoder_new())) {
        say("%dx%d: cannot open %s for the in-process floor", w, h, d.display);
        goto out;
    }
    /* Override-redirect: no window manager frames or moves it, and it stays on top. */
    XSetWindowAttributes wa = {.override_redirect = True};
    d.dot = XCreateWindow(d.dpy, DefaultRootWindow(d.dpy), REG_X + REG_W / 2, REG_Y + REG_H / 2, 1,
            1, 0, CopyFromParent, InputOutput, CopyFromParent, CWOverrideRedirect, &wa);
    XMapRaised(d.dpy, d.dot);
    XSync(d.dpy, False);
    double t_idle = now_ms();
    wait_idle(d.deskd->pid);
    say("%dx%d: desktop idle after %.1f s more", w, h, (now_ms() - t_idle) / 1e3);
    rss0 = rss_kib(d.deskd->pid);

    for (size_t i = 0; i < NDCASES; i++) {
        say("%dx%d: deskd %s", w, h, dcases[i].name);
        run_deskd_case(cl, &dcases[i], &d, &res[n++], samples);
    }
    for (size_t i = 0; opt.peers && i < NPCASES; i++) {
        if (!in_path(pcases[i].tool)) {
            say("%s is not installed: skipping %s", pcases[i].tool, pcases[i].name);
            continue;
        }
        say("%dx%d: %s", w, h, pcases[i].name);
        run_peer_case(&pcases[i], &d, &res[n++], samples);
    }
    rss1 = rss_kib(d.deskd->pid);
    bool deskd_up = kid_alive(d.deskd);
    report(&d, res, n, rss0, rss1, desk_client_connections(cl));

    rc = 0;
    for (int i = 0; i < n; i++)
        if (res[i].ran && !res[i].ok)
            rc = -1;
    if (!deskd_up) {
        say("deskd exited (status %d) during the run", d.deskd->status);
        rc = -1;
    }
    if (rc < 0)
        print_file_tail(d.deskd_log, 3000);
out:
    desk_client_free(cl);
    encoder_destroy(d.enc);
    capture_destroy(d.cap);
    if (d.dpy)
        XCloseDisplay(d.dpy);
    stop_kids();
    env_free(d.env);
    free(samples);
    return rc;
}

static int worker(void) {
    int rc = 0;
    if (!in_path("Xvfb") || !in_path("xdotool")) {
        say("Xvfb and xdotool are needed");
        return 1;
    }
    if (!in_path(opt.deskd)) {
        say("no deskd at %s (build it, or pass --deskd PATH)", opt.deskd);
        return 1;
    }
    for (int i = 0; i < opt.nsizes && rc == 0; i++)
        rc = bench_size(opt.w[i], opt.h[i]);
    return rc < 0 ? 1 : 0;
}

/* ---- supervisor ------------------------------------------------------------------------- */

static void usage(FILE *f) {
    fprintf(f, "usage: bench-screenshot [options]\n"
               "  --deskd PATH       deskd to run (default: the one this build made)\n"
               "  -n, --runs N       timed requests per case (default 30)\n"
               "  --warmup N         untimed requests before them (default 5)\n"
               "  --sizes WxH[,WxH]  screen sizes, each with its own Xvfb "
               "(default 1920x1080,1280x720)\n"
               "  --timeout SEC      stop everything after SEC seconds (default 900)\n"
               "  --no-peers         skip scrot and import\n"
               "  --no-xfce          plain X clients instead of an xfce4 session\n"
               "  --keep-tmp         keep the temporary directory (logs, peers' files)\n");
}

static int parse_sizes(const char *s) {
    opt.nsizes = 0;
    while (*s) {
        int w, h, used;
        if (opt.nsizes == MAX_SIZES || sscanf(s, "%dx%d%n", &w, &h, &used) != 2 || w < 500 ||
                h < 400 || w > 8192 || h > 8192)
            return -1;
        opt.w[opt.nsizes] = w;
        opt.h[opt.nsizes++] = h;
        s += used;
        if (*s == ',')
            s++;
        else if (*s)
            return -1;
    }
    return opt.nsizes ? 0 : -1;
}

static int parse_args(int argc, char **argv) {
    enum { O_DESKD = 256, O_WARMUP, O_SIZES, O_TIMEOUT, O_NOPEERS, O_NOXFCE, O_KEEP };
    static const struct option lo[] = {{"deskd", required_argument, NULL, O_DESKD},
            {"runs", required_argument, NULL, 'n'}, {"warmup", required_argument, NULL, O_WARMUP},
            {"sizes", required_argument, NULL, O_SIZES},
            {"timeout", required_argument, NULL, O_TIMEOUT},
            {"no-peers", no_argument, NULL, O_NOPEERS}, {"no-xfce", no_argument, NULL, O_NOXFCE},
            {"keep-tmp", no_argument, NULL, O_KEEP}, {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0}};
    int c;
    parse_sizes("1920x1080,1280x720");
    while ((c = getopt_long(argc, argv, "n:h", lo, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case O_DESKD:
            opt.deskd = optarg;
            break;
        case 'n':
            bad = parse_int(optarg, 1, 100000, &opt.runs);
            break;
        case O_WARMUP:
            bad = parse_int(optarg, 0, 1000, &opt.warmup);
            break;
        case O_SIZES:
            bad = parse_sizes(optarg);
            break;
        case O_TIMEOUT:
            bad = parse_int(optarg, 10, 86400, &opt.timeout_s);
            break;
        case O_NOPEERS:
            opt.peers = false;
            break;
        case O_NOXFCE:
            opt.xfce = false;
            break;
        case O_KEEP:
            opt.keep_tmp = true;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return -1;
        }
        if (bad) {
            say("bad value \"%s\" for an option", optarg);
            return -1;
        }
    }
    if (optind < argc) {
        usage(stderr);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv) {
    bench_name = "bench-screenshot";
    if (parse_args(argc, argv) < 0)
        return 2;
    return bench_supervise(worker, opt.timeout_s, opt.keep_tmp);
}
