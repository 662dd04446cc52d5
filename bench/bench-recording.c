/*
 * bench-recording: what a screen recording costs. For each screen size (default 1280x720,
 * then 1920x1080) it starts its own Xvfb, paints a text-like picture and keeps a square
 * moving across it at 30 fps (so the encoder has work every frame), and starts deskd on that
 * display. Then:
 *
 *   - screenshots (JPEG q75, binary) and clicks through libdesk, p50/p95, while nothing
 *     records;
 *   - a recording started through libdesk (deskd's ffmpeg: fragmented MP4, a keyframe a
 *     second): ffmpeg's CPU (utime + stime over the window, % of one core) and RSS, and the
 *     same screenshots and clicks while it records;
 *   - the peer's way, in the same run on the same screen: Daytona's own ffmpeg command
 *     (x11grab -> libx264 ultrafast, a plain MP4) run as a subprocess, its CPU and RSS over
 *     the same window.
 *
 * Prints per size: CPU and RSS of both recorders and their ratio, and the screenshot and
 * click p50/p95 idle (before and after) and while recording with their ratio, and whether
 * the click p50 stays within its 1 ms budget. It fails only when something cannot run or deskd
 * answers wrongly.
 */
#define _GNU_SOURCE
#include <X11/Xlib.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench-util.h"

#ifndef DESKD_PATH
#define DESKD_PATH "deskd"
#endif

#define MAX_RUNS 10000

static struct {
    const char *deskd;
    int runs, window_s, timeout_s, nsizes;
    int w[4], h[4];
    bool keep_tmp;
} opt = {DESKD_PATH, 200, 10, 600, 2, {1280, 1920}, {720, 1080}, false};

/* ---- the moving picture ---- */

struct painter {
    const char *display;
    int w, h;
    atomic_bool stop;
    pthread_t thread;
};

/* A text-like background once, then a square moving at 30 fps, until stop. */
static void *paint(void *arg) {
    struct painter *p = arg;
    Display *dpy = XOpenDisplay(p->display);
    if (!dpy)
        return NULL;
    Window root = DefaultRootWindow(dpy);
    GC gc = XCreateGC(dpy, root, 0, NULL);
    XSetForeground(dpy, gc, 0xf0f0f0);
    XFillRectangle(dpy, root, gc, 0, 0, (unsigned)p->w, (unsigned)p->h);
    unsigned seed = 7;
    for (int y = 8; y < p->h; y += 14) {
        for (int x = 8; x < p->w; x += 7) {
            seed = seed * 1103515245u + 12345u;
            if ((seed >> 16) % 5 == 0)
                continue;
            XSetForeground(dpy, gc, (seed >> 8) & 0x3f3f3f);
            XFillRectangle(dpy, root, gc, x, y, 5, 9);
        }
    }
    XSync(dpy, False);
    for (int i = 0; !atomic_load(&p->stop); i++) {
        int x = (i * 12) % (p->w - 200), y = (i * 7) % (p->h - 200);
        XSetForeground(dpy, gc, 0x2060c0 + (unsigned)(i % 64));
        XFillRectangle(dpy, root, gc, x, y, 200, 200);
        XSync(dpy, False);
        nap_ms(33);
    }
    XFreeGC(dpy, gc);
    XCloseDisplay(dpy);
    return NULL;
}

/* ---- measurements ---- */

/* utime + stime of pid in clock ticks, -1 when it is gone. */
static long long cpu_ticks(pid_t pid) {
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
    if (fd >= 0)
        close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    /* Fields after the command's ")" : state is 3, utime 14, stime 15. */
    const char *p = strrchr(buf, ')');
    unsigned long long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    return (long long)(ut + st);
}

/* The live process whose command line has arg (exactly), or 0. */
static pid_t pid_with_arg(const char *arg) {
    pid_t pids[256];
    int n = marker_pids(pids, 256);
    for (int i = 0; i < n && i < 256; i++) {
        char path[64], buf[8192];
        snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pids[i]);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t len = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
        if (fd >= 0)
            close(fd);
        for (ssize_t off = 0; len > 0 && off < len; off += (ssize_t)strlen(buf + off) + 1) {
            buf[len] = '\0';
            if (strcmp(buf + off, arg) == 0)
                return pids[i];
        }
    }
    return 0;
}

struct usage {
    double cpu_pct; /* of one core */
    long rss_kib;
};

/* pid's CPU over window_s seconds and its RSS at the end. */
static struct usage measure(pid_t pid) {
    long hz = sysconf(_SC_CLK_TCK);
    long long t0 = cpu_ticks(pid);
    double w0 = now_ms();
    nap_ms(opt.window_s * 1000);
    long long t1 = cpu_ticks(pid);
    double secs = (now_ms() - w0) / 1000.0;
    struct usage u = {-1, rss_kib(pid)};
    if (t0 >= 0 && t1 >= t0)
        u.cpu_pct = 100.0 * (double)(t1 - t0) / (double)hz / secs;
    return u;
}

struct lat {
    double shot50, shot95, click50, click95;
};

/* Screenshots then clicks, opt.runs each; false when deskd answered wrongly. */
static bool latencies(desk_client *c, struct lat *out) {
    static double s[MAX_RUNS];
    struct desk_compress jpeg = {.format = DESK_IMAGE_JPEG, .quality = 75};
    char err[512];
    for (int i = -5; i < opt.runs; i++) {
        struct desk_image *img = NULL;
        double t = now_ms();
        if (desk_screenshot_compressed(c, &jpeg, &img) != DESK_OK) {
            say("screenshot: %s", bench_desk_error(c, err, sizeof err));
            return false;
        }
        if (i >= 0)
            s[i] = now_ms() - t;
        desk_image_free(img);
    }
    percentiles(s, opt.runs, &out->shot50, &out->shot95);
    for (int i = -5; i < opt.runs; i++) {
        double t = now_ms();
        if (desk_mouse_click(c, 10 + i % 50, 10, DESK_BUTTON_LEFT, false, NULL) != DESK_OK) {
            say("click: %s", bench_desk_error(c, err, sizeof err));
            return false;
        }
        if (i >= 0)
            s[i] = now_ms() - t;
    }
    percentiles(s, opt.runs, &out->click50, &out->click95);
    return true;
}

/* Daytona's recorder as a subprocess for the window: its CPU and RSS. */
static bool peer(const char *display, char **env, struct usage *u) {
    char out[256];
    snprintf(out, sizeof out, "%s/daytona.mp4", tmpdir);
    const char *argv[] = {"ffmpeg", "-nostdin", "-loglevel", "error", "-f", "x11grab", "-framerate",
            "30", "-i", display, "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
            "-y", out, NULL};
    char log[256];
    snprintf(log, sizeof log, "%s/daytona-ffmpeg.log", tmpdir);
    struct kid *k = kid_start("ffmpeg", argv, env, log, -1);
    if (!k)
        return false;
    nap_ms(1000); /* past its start-up, as deskd's start is */
    *u = measure(k->pid);
    kill(k->pid, SIGINT);
    wait_exit(k->pid);
    k->reaped = true;
    unlink(out);
    return u->cpu_pct >= 0;
}

static bool one_size(int w, int h) {
    char display[16], url[128], log[256], recdir[160];
    struct kid *x = start_xvfb(w, h, display, sizeof display);
    if (!x)
        return false;
    struct painter p = {.display = display, .w = w, .h = h};
    pthread_create(&p.thread, NULL, paint, &p);
    snprintf(recdir, sizeof recdir, "%s/recordings-%dx%d", tmpdir, w, h);
    setenv("DAYTONA_RECORDINGS_DIR", recdir, 1);
    char **env = env_build(display);
    snprintf(log, sizeof log, "%s/deskd-%dx%d.log", tmpdir, w, h);
    struct kid *d = env ? start_deskd(opt.deskd, display, env, log, url, sizeof url) : NULL;
    desk_client *c = d ? bench_client(url) : NULL;
    bool ok = c != NULL;
    struct lat idle = {0}, rec = {0}, after = {0};
    struct usage ours = {-1, 0}, theirs = {-1, 0};
    char err[512];
    ok = ok && latencies(c, &idle);

    struct desk_recording *r = NULL;
    if (ok && desk_recording_start(c, "bench", &r) != DESK_OK) {
        say("recording start: %s", bench_desk_error(c, err, sizeof err));
        ok = false;
    }
    pid_t ff = r ? pid_with_arg(r->file_path) : 0;
    if (ok && !ff) {
        say("no ffmpeg writes %s", r->file_path);
        ok = false;
    }
    if (ok) {
        nap_ms(1000);
        ours = measure(ff);
        ok = latencies(c, &rec);
    }
    struct desk_recording *done = NULL;
    if (r && desk_recording_stop(c, r->id, &done) != DESK_OK) {
        say("recording stop: %s", bench_desk_error(c, err, sizeof err));
        ok = false;
    }
    /* Idle again: the machine is shared, so its noise shows as the two idle rows' spread. */
    ok = ok && latencies(c, &after);
    ok = ok && peer(display, env, &theirs);

    if (ok) {
        printf("\n%dx%d at 30 fps, %d s windows, %d runs per latency case\n", w, h, opt.window_s,
                opt.runs);
        printf("  %-34s %10s %10s\n", "recorder", "CPU %core", "RSS MiB");
        printf("  %-34s %10.1f %10.1f\n", "deskd (fragmented MP4, g=30)", ours.cpu_pct,
                (double)ours.rss_kib / 1024);
        printf("  %-34s %10.1f %10.1f\n", "Daytona's ffmpeg command", theirs.cpu_pct,
                (double)theirs.rss_kib / 1024);
        printf("  ratio deskd/Daytona: CPU %.2fx, RSS %.2fx; file %lld bytes for %.1f s\n",
                theirs.cpu_pct > 0 ? ours.cpu_pct / theirs.cpu_pct : 0,
                theirs.rss_kib > 0 ? (double)ours.rss_kib / (double)theirs.rss_kib : 0,
                done ? done->size_bytes : -1, done ? done->duration_s : -1);
        /* rec/idle: the recording's p50 over the mean of the idle p50s before and after. */
        printf("  %-30s %8s %8s %8s %8s %8s %8s %8s\n", "ms", "idle p50", "idle p95", "rec p50",
                "rec p95", "idle p50", "idle p95", "rec/idle");
        printf("  %-30s %8.2f %8.2f %8.2f %8.2f %8.2f %8.2f %7.2fx\n",
                "screenshot JPEG q75 (binary)", idle.shot50, idle.shot95, rec.shot50, rec.shot95,
                after.shot50, after.shot95, 2 * rec.shot50 / (idle.shot50 + after.shot50));
        printf("  %-30s %8.2f %8.2f %8.2f %8.2f %8.2f %8.2f %7.2fx\n", "click", idle.click50,
                idle.click95, rec.click50, rec.click95, after.click50, after.click95,
                2 * rec.click50 / (idle.click50 + after.click50));
        printf("  click p50 while recording: %.2f ms, %s the 1 ms budget\n", rec.click50,
                rec.click50 < 1.0 ? "within" : "OVER");
        fflush(stdout);
    }
    desk_recording_free(r);
    desk_recording_free(done);
    desk_client_free(c);
    atomic_store(&p.stop, true);
    pthread_join(p.thread, NULL);
    env_free(env);
    stop_kids();
    return ok;
}

static int worker(void) {
    if (!in_path("Xvfb") || !in_path("ffmpeg")) {
        say("Xvfb and ffmpeg are needed");
        return 1;
    }
    XInitThreads();
    for (int i = 0; i < opt.nsizes; i++) {
        if (!one_size(opt.w[i], opt.h[i]))
            return 1;
    }
    return 0;
}

static int parse_args(int argc, char **argv) {
    enum { O_DESKD = 256, O_WINDOW, O_TIMEOUT, O_SIZES, O_KEEP };
    static const struct option lo[] = {{"deskd", required_argument, NULL, O_DESKD},
            {"runs", required_argument, NULL, 'n'}, {"window", required_argument, NULL, O_WINDOW},
            {"timeout", required_argument, NULL, O_TIMEOUT},
            {"sizes", required_argument, NULL, O_SIZES}, {"keep-tmp", no_argument, NULL, O_KEEP},
            {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "n:h", lo, NULL)) != -1) {
        switch (c) {
        case O_DESKD:
            opt.deskd = optarg;
            break;
        case 'n':
            if (parse_int(optarg, 1, MAX_RUNS, &opt.runs) < 0)
                return -1;
            break;
        case O_WINDOW:
            if (parse_int(optarg, 1, 600, &opt.window_s) < 0)
                return -1;
            break;
        case O_TIMEOUT:
            if (parse_int(optarg, 10, 86400, &opt.timeout_s) < 0)
                return -1;
            break;
        case O_SIZES: {
            opt.nsizes = 0;
            for (char *s = optarg; s && *s && opt.nsizes < 4;) {
                if (sscanf(s, "%dx%d", &opt.w[opt.nsizes], &opt.h[opt.nsizes]) != 2 ||
                        opt.w[opt.nsizes] < 320 || opt.h[opt.nsizes] < 240)
                    return -1;
                opt.nsizes++;
                s = strchr(s, ',');
                s = s ? s + 1 : NULL;
            }
            break;
        }
        case O_KEEP:
            opt.keep_tmp = true;
            break;
        default:
            fprintf(c == 'h' ? stdout : stderr,
                    "usage: bench-recording [--deskd PATH] [-n RUNS] [--window SEC] "
                    "[--sizes WxH[,WxH]] [--timeout SEC] [--keep-tmp]\n");
            return c == 'h' ? 1 : -1;
        }
    }
    return 0;
}

int main(int argc, char **argv) {
    bench_name = "bench-recording";
    int rc = parse_args(argc, argv);
    if (rc)
        return rc < 0 ? 2 : 0;
    return bench_supervise(worker, opt.timeout_s, opt.keep_tmp);
}
