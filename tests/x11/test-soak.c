/*
 * Two minutes of mixed traffic (screenshots in three formats, regions, mouse
 * moves and clicks, pointer and window queries, typing, /healthz) from eight
 * clients: deskd's resident size, open file descriptors and threads, taken
 * once the traffic is warm and again when it has stopped, may grow by a small
 * bound only. bench/bench-load --soak SECONDS is the longer version.
 */
#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "deskproc.h"
#include "http.h"
#include "xserver.h"

enum { SECONDS = 120, WARM = 15, CLIENTS = 8 };
#define RSS_GROWTH_KB (20L * 1024)
#define FD_GROWTH     8
#define THREAD_GROWTH 8

static atomic_bool stop;
static atomic_long n_ok, n_bad;
static struct deskd_proc d;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long status_field(const char *field) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)d.pid);
    FILE *f = fopen(path, "r");
    long v = -1;
    size_t n = strlen(field);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, field, n) == 0 && line[n] == ':')
            v = strtol(line + n + 1, NULL, 10);
    if (f)
        fclose(f);
    return v;
}

static long fds(void) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)d.pid);
    DIR *dir = opendir(path);
    long n = 0;
    for (struct dirent *e; dir && (e = readdir(dir));)
        n += e->d_name[0] != '.';
    if (dir)
        closedir(dir);
    return n;
}

static void *client(void *arg) {
    long id = (long)arg;
    static const char *const gets[] = {
            "/computeruse/screenshot",
            "/computeruse/screenshot/compressed?format=jpeg&quality=70",
            "/computeruse/screenshot/compressed?format=webp&scale=0.5",
            "/computeruse/screenshot/region?x=10&y=10&width=200&height=100",
            "/computeruse/mouse/position",
            "/computeruse/display/windows",
            "/computeruse/display/info",
            "/healthz",
    };
    static const char *const posts[][2] = {
            {"/computeruse/mouse/move", "{\"x\":100,\"y\":120}"},
            {"/computeruse/mouse/click", "{\"x\":50,\"y\":60}"},
            {"/computeruse/keyboard/type", "{\"text\":\"soak\"}"},
            {"/computeruse/keyboard/key", "{\"key\":\"Escape\"}"},
    };
    const char *hdr[] = {"Content-Type: application/json", NULL};
    for (unsigned i = (unsigned)id; !atomic_load(&stop); i++) {
        char url[256];
        struct http_resp r;
        if (i % 3 == 2) {
            snprintf(url, sizeof url, "%s%s", d.url, posts[i % 4][0]);
            http_request("POST", url, posts[i % 4][1], hdr, &r);
        } else {
            snprintf(url, sizeof url, "%s%s", d.url, gets[i % 8]);
            http_get(url, &r);
        }
        if (r.status == 200)
            atomic_fetch_add(&n_ok, 1);
        else if (atomic_fetch_add(&n_bad, 1) < 5)
            fprintf(stderr, "%s: %ld %.200s\n", url, r.status, r.body ? r.body : "");
        http_resp_free(&r);
    }
    return NULL;
}

int main(void) {
    check_timeout(SECONDS + 90);
    check_require_tool("Xvfb");
    /* AddressSanitizer's quarantine would pass for growth: keep it small. */
    const char *ao = getenv("ASAN_OPTIONS");
    char asan[512];
    snprintf(asan, sizeof asan, "%s%squarantine_size_mb=1", ao ? ao : "", ao && *ao ? ":" : "");
    setenv("ASAN_OPTIONS", asan, 1);
    struct xserver xs;
    if (xserver_start_xvfb(&xs, 800, 600) < 0)
        return 1;
    if (deskd_start(&d, xs.name, NULL) < 0) {
        CHECK(false, "deskd did not start");
        return check_finish();
    }
    pthread_t th[CLIENTS];
    for (long i = 0; i < CLIENTS; i++)
        pthread_create(&th[i], NULL, client, (void *)i);
    double t0 = now_s();
    long rss0 = -1, fd0 = -1, thr0 = -1;
    while (now_s() - t0 < SECONDS && deskd_alive(&d)) {
        struct timespec tick = {1, 0};
        nanosleep(&tick, NULL); /* a sampling period, not a wait for an event */
        if (rss0 < 0 && now_s() - t0 >= WARM) {
            rss0 = status_field("VmRSS"), fd0 = fds(), thr0 = status_field("Threads");
            fprintf(stderr, "warm: RSS %ld kB, %ld fds, %ld threads\n", rss0, fd0, thr0);
        }
    }
    atomic_store(&stop, true);
    for (int i = 0; i < CLIENTS; i++)
        pthread_join(th[i], NULL);
    /* Connections close and their threads end shortly after the last reply. */
    long rss = 0, fd = 0, thr = 0;
    for (double end = now_s() + 5; now_s() < end;) {
        rss = status_field("VmRSS"), fd = fds(), thr = status_field("Threads");
        if (fd <= fd0 + FD_GROWTH && thr <= thr0 + THREAD_GROWTH)
            break;
        struct timespec pause = {0, 100 * 1000000L};
        nanosleep(&pause, NULL);
    }
    fprintf(stderr,
            "end: RSS %ld kB (%+ld), %ld fds (%+ld), %ld threads (%+ld); %ld requests, %ld not "
            "200\n",
            rss, rss - rss0, fd, fd - fd0, thr, thr - thr0, atomic_load(&n_ok),
            atomic_load(&n_bad));
    CHECK(deskd_alive(&d), "deskd alive after %d s", SECONDS);
#if defined(__SANITIZE_ADDRESS__)
    /*
     * ASan keeps bookkeeping for every thread that ran (one per connection
     * here), so deskd's RSS grows with the request count under it (+35 MB
     * for 190,000 requests, where the plain build grew 0.9 MB for 275,000).
     * The bound is checked by the plain build's run (scripts/test); here
     * LeakSanitizer checks at deskd's exit that nothing leaked.
     */
    fprintf(stderr, "RSS bound not checked under AddressSanitizer (grew %ld kB)\n", rss - rss0);
#else
    CHECK(rss - rss0 <= RSS_GROWTH_KB, "RSS grew %ld kB", rss - rss0);
#endif
    CHECK(fd - fd0 <= FD_GROWTH, "fds grew %ld", fd - fd0);
    CHECK(thr - thr0 <= THREAD_GROWTH, "threads grew %ld", thr - thr0);
    CHECK_INT(atomic_load(&n_bad), 0);
    CHECK_INT(deskd_stop(&d), 0);
    if (check_failed)
        deskd_dump_log(&d);
    xserver_stop(&xs);
    return check_finish();
}
