/*
 * bench-agent: the step of an agent's loop (act, wait, look) on a real application, timed
 * the peers' way and deskd's way in the same run.
 *
 * The desktop: Xvfb, xfwm4 and one xfce4-terminal. The steps, in turn: open the terminal's
 * menu (F10), open its Find dialog (ctrl+shift+f), type a command with its output
 * (echo ... Enter). Each step is timed from the action's request to the screenshot in hand,
 * with one of three waits between them:
 *   - sleep 2000 ms (the reference computer-use loop's fixed sleep after each action);
 *   - sleep 300 ms (a shorter guess);
 *   - POST /computeruse/wait until stable for 150 ms (deskd's way).
 * The screenshot is stale when it differs from one taken 3 s later (the final state).
 * Between steps the menu or dialog is closed (Escape) and the screen left to settle,
 * outside the timed part. Prints per-method p50/p95 step time and stale counts, and the
 * ratios against deskd's way.
 *
 * It is a benchmark, not a test: it fails only when something cannot run.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench-util.h"

#ifndef DESKD_PATH
#define DESKD_PATH "deskd"
#endif

#define W 1280
#define H 720

static struct {
    const char *deskd;
    int steps, timeout_s;
    bool keep_tmp;
} opt = {.deskd = DESKD_PATH, .steps = 99, .timeout_s = 1800};

enum method { SLEEP_2000, SLEEP_300, WAIT_STABLE, NMETHODS };
static const char *const method_names[NMETHODS] = {
        "sleep 2000 ms", "sleep 300 ms", "wait stable 150 ms"};
static const char *const step_names[3] = {"menu (F10)", "dialog (ctrl+shift+f)", "type + Enter"};

static enum desk_status act(desk_client *c, int kind, int i) {
    char text[64];
    switch (kind) {
    case 0:
        return desk_keyboard_key(c, "F10", NULL, 0);
    case 1:
        return desk_keyboard_hotkey(c, "ctrl+shift+f");
    default:
        snprintf(text, sizeof text, "echo step_%d_done\n", i);
        return desk_keyboard_type(c, text, 0);
    }
}

/* Untimed: closes what the step opened and lets the screen settle. */
static enum desk_status reset(desk_client *c, int kind) {
    enum desk_status st = DESK_OK;
    if (kind != 2)
        st = desk_keyboard_key(c, "Escape", NULL, 0);
    struct desk_wait_options w = {.until = DESK_WAIT_STABLE, .stable_ms = 500, .timeout_ms = 10000};
    struct desk_wait_result r;
    return st == DESK_OK ? desk_wait(c, &w, &r) : st;
}

static enum desk_status settle(desk_client *c, enum method m) {
    if (m == SLEEP_2000) {
        nap_ms(2000);
        return DESK_OK;
    }
    if (m == SLEEP_300) {
        nap_ms(300);
        return DESK_OK;
    }
    struct desk_wait_options w = {.until = DESK_WAIT_STABLE, .stable_ms = 150, .timeout_ms = 5000};
    struct desk_wait_result r;
    return desk_wait(c, &w, &r);
}

static enum desk_status png(desk_client *c, struct desk_image **img) {
    return desk_screenshot(c, false, img);
}

struct stats {
    double *ms;
    int n, stale, stale_by_kind[3];
    double p50, p95;
};

static int run_method(desk_client *c, enum method m, struct stats *s) {
    char why[400];
    for (int i = 0; i < opt.steps; i++) {
        int kind = i % 3;
        struct desk_image *now = NULL, *later = NULL;
        double t0 = now_ms();
        enum desk_status st = act(c, kind, i);
        if (st == DESK_OK)
            st = settle(c, m);
        if (st == DESK_OK)
            st = png(c, &now);
        double ms = now_ms() - t0;
        if (st == DESK_OK) {
            nap_ms(3000);
            st = png(c, &later);
        }
        if (st == DESK_OK)
            st = reset(c, kind);
        if (st != DESK_OK) {
            say("%s, step %d: %s", method_names[m], i, bench_desk_error(c, why, sizeof why));
            desk_image_free(now);
            desk_image_free(later);
            return -1;
        }
        bool stale = now->size != later->size || memcmp(now->data, later->data, now->size) != 0;
        s->ms[s->n++] = ms;
        s->stale += stale;
        s->stale_by_kind[kind] += stale;
        desk_image_free(now);
        desk_image_free(later);
    }
    percentiles(s->ms, s->n, &s->p50, &s->p95);
    return 0;
}

static int worker(void) {
    if (!in_path("Xvfb") || !in_path("xfwm4") || !in_path("xfce4-terminal") ||
            !in_path("xdotool")) {
        say("Xvfb, xfwm4, xfce4-terminal and xdotool are needed");
        return 1;
    }
    char display[16], url[64], log[128];
    struct kid *x = start_xvfb(W, H, display, sizeof display);
    char **env = x ? env_build(display) : NULL;
    if (!env)
        return 1;
    snprintf(log, sizeof log, "%s/desktop.log", tmpdir);
    const char *wm[] = {"xfwm4", "--compositor=off", NULL};
    const char *term[] = {"xfce4-terminal", "--disable-server", "--geometry=100x30+40+40", NULL};
    if (!kid_start("xfwm4", wm, env, log, -1) || !kid_start("xfce4-terminal", term, env, log, -1))
        return 1;
    const char *search[] = {
            "xdotool", "search", "--sync", "--onlyvisible", "--class", "xfce4-terminal", NULL};
    char out[256];
    if (run_capture(search, env, out, sizeof out) != 0) {
        say("no xfce4-terminal window appeared");
        return 1;
    }
    char dlog[128];
    snprintf(dlog, sizeof dlog, "%s/deskd.log", tmpdir);
    struct kid *d = start_deskd(opt.deskd, display, env, dlog, url, sizeof url);
    desk_client *c = d ? bench_client(url) : NULL;
    if (!c)
        return 1;
    struct desk_wait_options w = {
            .until = DESK_WAIT_STABLE, .stable_ms = 1000, .timeout_ms = 30000};
    struct desk_wait_result wr;
    if (desk_wait(c, &w, &wr) != DESK_OK)
        return 1;

    struct stats s[NMETHODS] = {0};
    int rc = 0;
    for (int m = 0; m < NMETHODS && rc == 0; m++) {
        s[m].ms = calloc((size_t)opt.steps, sizeof(double));
        say("%s: %d steps", method_names[m], opt.steps);
        rc = s[m].ms ? run_method(c, (enum method)m, &s[m]) : -1;
    }
    if (rc == 0) {
        printf("\n== agent step on xfce4-terminal (xfwm4, Xvfb %dx%d): action, wait, PNG "
               "screenshot; %d steps each (%s, %s, %s in turn); ms at the client ==\n",
                W, H, opt.steps, step_names[0], step_names[1], step_names[2]);
        printf("%-22s %9s %9s %12s %24s %14s\n", "wait", "step p50", "step p95", "stale",
                "stale menu/dialog/type", "p50 vs deskd");
        for (int m = 0; m < NMETHODS; m++)
            printf("%-22s %9.1f %9.1f %6d/%-5d %13d/%d/%d %13.1fx\n", method_names[m], s[m].p50,
                    s[m].p95, s[m].stale, s[m].n, s[m].stale_by_kind[0], s[m].stale_by_kind[1],
                    s[m].stale_by_kind[2], s[m].p50 / s[WAIT_STABLE].p50);
        printf("-- stale: the screenshot differs from one taken 3 s later\n");
    }
    for (int m = 0; m < NMETHODS; m++)
        free(s[m].ms);
    desk_client_free(c);
    stop_kids();
    env_free(env);
    return rc < 0 ? 1 : 0;
}

int main(int argc, char **argv) {
    bench_name = "bench-agent";
    static const struct option lo[] = {{"deskd", required_argument, NULL, 'd'},
            {"steps", required_argument, NULL, 'n'}, {"keep-tmp", no_argument, NULL, 'k'},
            {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "n:h", lo, NULL)) != -1) {
        if (ch == 'd') {
            opt.deskd = optarg;
        } else if (ch == 'n') {
            if (parse_int(optarg, 3, 100000, &opt.steps) < 0) {
                fprintf(stderr, "bench-agent: --steps must be an integer from 3 on\n");
                return 2;
            }
        } else if (ch == 'k') {
            opt.keep_tmp = true;
        } else {
            printf("usage: bench-agent [--steps N (default 99)] [--deskd PATH] [--keep-tmp]\n");
            return ch == 'h' ? 0 : 2;
        }
    }
    return bench_supervise(worker, opt.timeout_s, opt.keep_tmp);
}
