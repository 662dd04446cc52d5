/*
 * The X server replaced over and over under load: for 60 s the display's Xvfb
 * is killed and started again back to back (so deaths land while deskd is
 * connecting, capturing, moving the mouse and closing), while clients loop
 * mouse moves and JPEG screenshots. deskd must stay alive, answer every
 * request 200 or 503 (never 500, never no answer), and show the last server's
 * screen afterwards.
 */
#include <X11/Xlib.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "deskproc.h"
#include "http.h"
#include "shot.h"
#include "xserver.h"

enum { SECONDS = 60, CLIENTS = 4 };

static atomic_bool stop;
static atomic_long n_ok, n_503, n_other;
static char base[64];

static void count(long status, const char *what, const char *body) {
    if (status == 200) {
        atomic_fetch_add(&n_ok, 1);
    } else if (status == 503) {
        atomic_fetch_add(&n_503, 1);
    } else {
        /* Only the first few are worth printing. */
        if (atomic_fetch_add(&n_other, 1) < 5)
            fprintf(stderr, "%s answered %ld: %.200s\n", what, status, body ? body : "");
    }
}

static void *client(void *arg) {
    long id = (long)arg;
    char url[256];
    for (unsigned i = 0; !atomic_load(&stop); i++) {
        struct http_resp r;
        if (id % 2 == 0) {
            char body[64];
            snprintf(body, sizeof body, "{\"x\":%u,\"y\":%u}", i % 300, (i * 7) % 200);
            snprintf(url, sizeof url, "%s/computeruse/mouse/move", base);
            const char *hdr[] = {"Content-Type: application/json", NULL};
            http_request("POST", url, body, hdr, &r);
            count(r.status, "mouse/move", r.body);
        } else {
            snprintf(url, sizeof url, "%s/computeruse/screenshot/compressed?format=jpeg&quality=60",
                    base);
            http_get(url, &r);
            count(r.status, "JPEG screenshot", r.body);
        }
        http_resp_free(&r);
    }
    return NULL;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void paint(const char *name, unsigned seed) {
    Display *dpy = XOpenDisplay(name);
    CHECK(dpy, "open %s", name);
    if (dpy) {
        pattern_paint(dpy, seed);
        XCloseDisplay(dpy);
    }
}

int main(void) {
    check_timeout(SECONDS + 90);
    check_require_tool("Xvfb");
    /* A display number of our own: none takes it while it is free between two servers. */
    struct xserver xs;
    if (xserver_start_xvfb_own(&xs, 320, 240) < 0)
        return 1;
    const char *argv[] = {"Xvfb", xs.name, "-screen", "0", "320x240x24", "-nolisten", "tcp", NULL};
    struct deskd_proc d;
    if (deskd_start(&d, xs.name, NULL) < 0) {
        CHECK(false, "deskd did not start");
        return check_finish();
    }
    snprintf(base, sizeof base, "%s", d.url);
    pthread_t th[CLIENTS];
    for (long i = 0; i < CLIENTS; i++)
        pthread_create(&th[i], NULL, client, (void *)i);

    int restarts = 0;
    unsigned seed = 1;
    for (double end = now_s() + SECONDS; now_s() < end && deskd_alive(&d); restarts++) {
        /* Alternate a crash with an orderly exit; vary how long each server lives (0-150 ms)
         * so that deaths fall at every stage of deskd's connections. */
        kill(xs.pid, restarts % 2 ? SIGTERM : SIGKILL);
        waitpid(xs.pid, NULL, 0);
        xs.pid = 0;
        /* Xvfb itself sometimes fails to come up while clients knock (a few in a thousand
         * starts): that is not deskd's doing, so it gets three tries. */
        int starts = 0;
        while (xserver_start(&xs, argv, NULL) < 0 && ++starts < 3)
            fprintf(stderr, "Xvfb %s did not start; again\n", xs.name);
        if (starts == 3) {
            CHECK(false, "Xvfb %s did not start again", xs.name);
            break;
        }
        struct timespec life = {0, (long)(rand_r(&seed) % 150) * 1000000L};
        nanosleep(&life, NULL);
    }
    atomic_store(&stop, true);
    for (int i = 0; i < CLIENTS; i++)
        pthread_join(th[i], NULL);
    fprintf(stderr, "%d restarts; %ld answers 200, %ld 503, %ld other\n", restarts,
            atomic_load(&n_ok), atomic_load(&n_503), atomic_load(&n_other));
    CHECK(deskd_alive(&d), "deskd survived %d X server restarts", restarts);
    CHECK(restarts >= 20, "the X server was replaced %d times", restarts);
    CHECK_INT(atomic_load(&n_other), 0);
    CHECK(atomic_load(&n_ok) > 0, "some requests were served between restarts");

    /* The last server's screen, without a deskd restart. */
    paint(xs.name, 7);
    unsigned char want[3];
    pattern_rgb(7, 100, 50, want);
    bool shown = false;
    for (double end = now_s() + 10; !shown && now_s() < end && deskd_alive(&d);) {
        struct shot s;
        if (shot_try(d.url, "/computeruse/screenshot/compressed?format=png", &s) == 0 &&
                s.status == 200)
            shown = memcmp(image_px(&s.img, 100, 50), want, 3) == 0;
        shot_free(&s);
    }
    CHECK(shown, "the last X server's screen is captured");
    CHECK_INT(deskd_stop(&d), 0);
    if (check_failed)
        deskd_dump_log(&d);
    xserver_stop(&xs);
    return check_finish();
}
