/*
 * bench-manage: window actions and the clipboard (API.md §12), timed from the client's side,
 * with the peers' way and the in-process floor in the same run.
 *
 * It starts its own Xvfb with xfwm4, two evlog windows and deskd attached to that display.
 * - activate, alternating between the two windows: deskd (libdesk, request to reply, which
 *   comes once the change is visible), `xdotool windowactivate --sync ID` run as a
 *   subprocess as peers do (spawn to exit), and the floor: x11_window_act in this process on
 *   its own connection. Each one is checked on our connection (_NET_ACTIVE_WINDOW).
 * - the clipboard, 2 MiB of UTF-8: deskd's POST /computeruse/clipboard plus a read by the
 *   tests' independent selection client clipc (INCR), checked byte for byte; and, when
 *   xclip is installed, `xclip -selection clipboard -i FILE` plus the same read.
 * Waits are on X state and on processes, never on timers. Clean-up is bench-util's.
 */
#define _GNU_SOURCE
#include <X11/Xatom.h>
#include <X11/Xlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench-util.h"
#include "x11.h"

#define RUNS      40
#define CLIP_RUNS 10
#define CLIP_SIZE (2u << 20)

static Display *dpy;

static Window root_window_prop(const char *name) {
    Atom type;
    int format;
    unsigned long n, after;
    unsigned char *data = NULL;
    Window v = None;
    if (XGetWindowProperty(dpy, DefaultRootWindow(dpy), XInternAtom(dpy, name, False), 0, 1, False,
                XA_WINDOW, &type, &format, &n, &after, &data) == Success &&
            data && n == 1)
        v = *(Window *)data;
    if (data)
        XFree(data);
    return v;
}

/* The evlog window titled title, once xfwm4 manages it (at most 10 s). */
static Window managed_window(const char *title) {
    for (int waited = 0; waited < 10000; waited += 20) {
        struct x11_window wins[64];
        int n = x11_windows(dpy, wins, 64);
        Window found = None;
        for (int i = 0; i < n; i++)
            found = strcmp(wins[i].title, title) == 0 ? wins[i].id : found;
        x11_windows_free(wins, n > 0 ? n : 0);
        if (found)
            return found;
        nap_ms(20);
    }
    return None;
}

static void row(const char *name, double *s, int n, int bad, double base) {
    double p50 = 0, p95 = 0;
    percentiles(s, n, &p50, &p95);
    char ratio[32] = "";
    if (base > 0)
        snprintf(ratio, sizeof ratio, "%.2fx", p50 / base);
    printf("%-52s %9.2f %9.2f %4d %4d %8s\n", name, p50, p95, n, bad, ratio);
}

/* clipc get: true when the clipboard holds exactly want. */
static bool clipc_reads(char **env, const char *want, size_t len, char *buf) {
    const char *argv[] = {CLIPC_PATH, "get", NULL};
    return run_capture(argv, env, buf, len + 2) == 0 && memcmp(buf, want, len) == 0 &&
           buf[len] == '\0';
}

static int worker(void) {
    char display[32], url[128], log[160];
    char **env = NULL;
    int rc = 1;
    if (!start_xvfb(1280, 720, display, sizeof display) || !(env = env_build(display)) ||
            !(dpy = XOpenDisplay(display)))
        goto out;
    const char *wm[] = {"xfwm4", "--compositor=off", "--sm-client-disable", NULL};
    snprintf(log, sizeof log, "%s/xfwm4.log", tmpdir);
    if (!kid_start("xfwm4", wm, env, log, -1))
        goto out;
    for (int waited = 0; !root_window_prop("_NET_SUPPORTING_WM_CHECK") && waited < 15000;
            waited += 20)
        nap_ms(20);
    const char *a_argv[] = {EVLOG_PATH, "--geometry", "400x300+50+50", "--title", "bench a", NULL};
    const char *b_argv[] = {
            EVLOG_PATH, "--geometry", "400x300+600+300", "--title", "bench b", NULL};
    if (!kid_start("evlog-a", a_argv, env, NULL, -1) ||
            !kid_start("evlog-b", b_argv, env, NULL, -1))
        goto out;
    Window w[2] = {managed_window("bench a"), managed_window("bench b")};
    snprintf(log, sizeof log, "%s/deskd.log", tmpdir);
    desk_client *c = NULL;
    if (!w[0] || !w[1] || !start_deskd(DESKD_PATH, display, env, log, url, sizeof url) ||
            !(c = bench_client(url))) {
        say("set-up failed (windows 0x%lx 0x%lx)", w[0], w[1]);
        goto out;
    }
    say("xfwm4 with two windows on %s, deskd at %s", display, url);

    double deskd_s[RUNS], peer_s[RUNS], floor_s[RUNS];
    int bad_d = 0, bad_p = 0, bad_f = 0, np = 0;
    bool xdotool = in_path("xdotool");
    for (int i = 0; i < RUNS; i++) {
        Window t = w[i % 2];
        double t0 = now_ms();
        enum desk_status st = desk_window_action(c, t, DESK_WINDOW_ACTIVATE, NULL);
        deskd_s[i] = now_ms() - t0;
        bad_d += st != DESK_OK || root_window_prop("_NET_ACTIVE_WINDOW") != t;
    }
    for (int i = 0; xdotool && i < RUNS; i++) {
        Window t = w[i % 2];
        char id[32], out[64];
        snprintf(id, sizeof id, "%lu", (unsigned long)t);
        const char *argv[] = {"xdotool", "windowactivate", "--sync", id, NULL};
        double t0 = now_ms();
        int ex = run_capture(argv, env, out, sizeof out);
        peer_s[np++] = now_ms() - t0;
        bad_p += ex != 0 || root_window_prop("_NET_ACTIVE_WINDOW") != t;
    }
    for (int i = 0; i < RUNS; i++) {
        Window t = w[i % 2];
        struct x11_window out;
        double t0 = now_ms();
        int r = x11_window_act(dpy, t, X11_ACTIVATE, NULL, 2000, NULL, &out);
        floor_s[i] = now_ms() - t0;
        if (r == 0)
            x11_windows_free(&out, 1);
        bad_f += r != 0 || root_window_prop("_NET_ACTIVE_WINDOW") != t;
    }

    /* 2 MiB of multi-byte text. */
    static const char unit[] = "héllo ✓ 日本語 0123456789 abcdefghij\n";
    char *text = malloc(CLIP_SIZE + 1), *buf = malloc(CLIP_SIZE + 8);
    size_t u = sizeof unit - 1, len = 0;
    while (len + u <= CLIP_SIZE) {
        memcpy(text + len, unit, u);
        len += u;
    }
    text[len] = '\0';
    char path[160];
    snprintf(path, sizeof path, "%s/clip.txt", tmpdir);
    write_file(path, text);
    double clip_d[CLIP_RUNS], clip_p[CLIP_RUNS];
    int bad_cd = 0, bad_cp = 0, ncp = 0;
    bool xclip = in_path("xclip");
    for (int i = 0; i < CLIP_RUNS; i++) {
        text[0] = (char)('A' + i); /* a new text each time */
        double t0 = now_ms();
        enum desk_status st = desk_clipboard_set(c, DESK_CLIPBOARD, text);
        bool ok = st == DESK_OK && clipc_reads(env, text, len, buf);
        clip_d[i] = now_ms() - t0;
        bad_cd += !ok;
    }
    for (int i = 0; xclip && i < CLIP_RUNS; i++) {
        text[0] = (char)('a' + i);
        write_file(path, text);
        const char *argv[] = {"xclip", "-selection", "clipboard", "-i", path, NULL};
        /* xclip forks a child that owns the selection: its output goes nowhere, so that
         * waiting for xclip is waiting for the parent. */
        struct spawn_opts so = {.out_fd = -1, .pass_fd = -1};
        double t0 = now_ms();
        pid_t pid = spawn(argv, env, &so);
        bool ok = pid > 0 && wait_exit(pid) == 0 && clipc_reads(env, text, len, buf);
        clip_p[ncp++] = now_ms() - t0;
        bad_cp += !ok;
    }

    printf("\n%-52s %9s %9s %4s %4s %8s\n", "case (ms, client side)", "p50", "p95", "n", "bad",
            "vs floor");
    double f50 = 0, f95 = 0;
    percentiles(floor_s, RUNS, &f50, &f95);
    row("activate: in-process x11_window_act (floor)", floor_s, RUNS, bad_f, f50);
    row("activate: deskd POST windows/{id}/activate", deskd_s, RUNS, bad_d, f50);
    if (xdotool)
        row("activate: xdotool windowactivate --sync (spawn)", peer_s, np, bad_p, f50);
    else
        printf("%-52s %s\n", "activate: xdotool windowactivate --sync", "n/a (no xdotool)");
    double d50 = 0, d95 = 0;
    percentiles(clip_d, CLIP_RUNS, &d50, &d95);
    row("clipboard 2 MiB: deskd set + clipc read", clip_d, CLIP_RUNS, bad_cd, 0);
    if (xclip)
        row("clipboard 2 MiB: xclip -i + clipc read (vs deskd)", clip_p, ncp, bad_cp, d50);
    else
        printf("%-52s %s\n", "clipboard 2 MiB: xclip -i + clipc read", "n/a (no xclip)");
    rc = bad_d || bad_f || bad_cd ? 1 : 0;
    if (rc)
        say("deskd or the floor got something wrong (see bad)");
    free(text);
    free(buf);
    desk_client_free(c);
out:
    if (dpy)
        XCloseDisplay(dpy);
    env_free(env);
    return rc;
}

int main(void) {
    bench_name = "bench-manage";
    return bench_supervise(worker, 300, false);
}
