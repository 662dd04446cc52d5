/*
 * GET /computeruse/status answers in milliseconds while the desktop comes up
 * (p99 under 50 ms, none as late as a probe):
 * one client asks for the status without pause while another brings the
 * desktop up with POST /computeruse/start (deskd started with --no-start),
 * then while xfce4 restarts, then while xfce4 restarts and its probe is stuck:
 * Xvfb is stopped (SIGSTOP) until 1.5 s after the new xfce4 was spawned, so
 * each probe of xfce4 waits out its 300 ms X connection timeout. The probes
 * must not hold the supervisor's lock that the status reads.
 */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "deskproc.h"
#include "stack-util.h"
#include "util.h"

/*
 * Nearly every answer within 50 ms (p99), and none as late as one probe (an
 * xfce4 probe waits up to 300 ms for its X connection): a status that queued
 * behind a probe would take that long. The rare answer between the two is the
 * machine's scheduling on two busy cores, not deskd: the test prints the time
 * deskd itself logged for its slowest answer.
 */
#define P99_LATENCY_US 50000
#define MAX_LATENCY_US 300000
#define SAMPLES_MAX    65536

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

struct op {
    struct deskd_proc *d;
    const char *path;
    long status;
    volatile int done;
};

static void *run_op(void *arg) {
    struct op *o = arg;
    o->status = su_call(o->d, "POST", o->path, NULL, NULL, NULL);
    __atomic_store_n(&o->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

/* The answer's body, capped (a status is a few bytes). */
struct body {
    char text[512];
    size_t len;
};

static size_t on_data(char *p, size_t size, size_t n, void *data) {
    struct body *b = data;
    size_t k = size * n, room = sizeof b->text - 1 - b->len;
    memcpy(b->text + b->len, p, k < room ? k : room);
    b->len += k < room ? k : room;
    b->text[b->len] = '\0';
    return k;
}

/*
 * GET /computeruse/status on one kept-alive connection, as the SDKs and
 * libdesk ask: the time measured is deskd's answer, not a TCP handshake.
 */
static long get_status(CURL *c, const char *url, struct body *b) {
    b->len = 0;
    b->text[0] = '\0';
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    if (curl_easy_perform(c) != CURLE_OK)
        return 0;
    long st = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
    return st;
}

/* How many times deskd's log says text. */
static int log_count(const struct deskd_proc *d, const char *text) {
    FILE *f = fopen(d->log_path, "re");
    char line[1024];
    int n = 0;
    while (f && fgets(line, sizeof line, f))
        n += strstr(line, text) != NULL;
    if (f)
        fclose(f);
    return n;
}

/*
 * Xvfb stopped during an operation, from its beginning until 1.5 s after
 * deskd's log says the new xfce4 was started: the new instance's probes
 * connect and then wait out their timeout for an X server that says nothing.
 * (Stopped later, the starting desktop's own clients fill the X socket's
 * backlog first and the probes fail at once instead of hanging.)
 */
struct freeze {
    pid_t pid;         /* Xvfb; 0: no freeze */
    const char *after; /* the log line that starts the last 1.5 s */
    int seen;          /* how many times the log said it before */
    int64_t until;     /* 0: not said yet; then SIGCONT at this time (ms) */
    bool done;
};

static void freeze_step(struct freeze *z, const struct deskd_proc *d, int n) {
    if (!z || !z->pid || z->done)
        return;
    if (z->until == 0 && n % 10 == 0 && log_count(d, z->after) > z->seen) {
        z->until = util_mono_ms() + 1500;
    } else if (z->until && util_mono_ms() >= z->until) {
        kill(z->pid, SIGCONT);
        z->done = true;
    }
}

/*
 * The slowest status answer by deskd's own clock (its log line per request
 * says how long the request took inside deskd): when the client saw more, the
 * rest was spent outside deskd's code (the scheduler of a loaded machine).
 */
static double log_slowest_status(const struct deskd_proc *d) {
    FILE *f = fopen(d->log_path, "re");
    char line[1024];
    double worst = 0;
    const char *key = "GET /computeruse/status 200 ";
    while (f && fgets(line, sizeof line, f)) {
        const char *p = strstr(line, key);
        double ms = p ? strtod(p + strlen(key), NULL) : 0;
        if (ms > worst)
            worst = ms;
    }
    if (f)
        fclose(f);
    return worst;
}

/* Asks for the status until op is done; checks every answer and returns the slowest (us). */
static int64_t hammer(struct deskd_proc *d, const char *path, const char *what, struct freeze *z) {
    int64_t *samples = malloc(SAMPLES_MAX * sizeof *samples);
    CHECK(samples != NULL, "memory for the samples");
    if (!samples)
        return -1;
    struct op o = {.d = d, .path = path};
    if (z)
        CHECK_INT(kill(z->pid, SIGSTOP), 0);
    pthread_t t;
    pthread_create(&t, NULL, run_op, &o);
    int64_t worst = 0;
    int n = 0, partial = 0, bad = 0;
    char url[256];
    snprintf(url, sizeof url, "%s/computeruse/status", d->url);
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Authorization: Bearer " SU_TOKEN);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    struct body b;
    while (!__atomic_load_n(&o.done, __ATOMIC_ACQUIRE)) {
        int64_t t0 = util_mono_ns() / 1000;
        long st = get_status(c, url, &b);
        int64_t took = util_mono_ns() / 1000 - t0;
        if (st != 200 || !strstr(b.text, "\"status\""))
            bad++;
        else if (!strstr(b.text, "\"active\""))
            partial++;
        if (took > worst)
            worst = took;
        if (n < SAMPLES_MAX)
            samples[n] = took;
        n++;
        freeze_step(z, d, n);
        /*
         * A client polling as fast as a person's dashboard ever would (500 a
         * second), not a spinning one: on a 2-core machine a spinning client
         * takes the core deskd and the desktop starting need.
         */
        nanosleep(&(struct timespec){0, 2 * 1000000L}, NULL);
    }
    pthread_join(t, NULL);
    if (z && !z->done)
        kill(z->pid, SIGCONT);
    if (z)
        CHECK(z->until != 0, "%s: Xvfb was stopped while the new xfce4 started", what);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    CHECK_INT(o.status, 200);
    CHECK_INT(bad, 0);
    /* The answers came while it was under way, not only before or after. */
    CHECK(n >= 20 && partial >= 10, "%s: %d answers, %d of them not active", what, n, partial);
    int kept = n < SAMPLES_MAX ? n : SAMPLES_MAX;
    qsort(samples, (size_t)kept, sizeof *samples, cmp_i64);
    int64_t p99 = kept ? samples[(kept * 99) / 100] : 0;
    free(samples);
    CHECK(p99 < P99_LATENCY_US, "%s: 1 in 100 statuses took %.1f ms or more (limit %d ms)", what,
            (double)p99 / 1000.0, P99_LATENCY_US / 1000);
    CHECK(worst < MAX_LATENCY_US, "%s: the slowest status took %.1f ms (limit %d ms)", what,
            (double)worst / 1000.0, MAX_LATENCY_US / 1000);
    printf("%s: %d status answers, %d before it was active; p99 %.1f ms, slowest %.1f ms (inside "
           "deskd, since it started: %.1f ms)\n",
            what, n, partial, (double)p99 / 1000.0, (double)worst / 1000.0, log_slowest_status(d));
    return worst;
}

int main(void) {
    check_timeout(240);
    static const char *const tools[] = {
            "Xvfb", "xfce4-session", "dbus-run-session", "x11vnc", "websockify"};
    for (int i = 0; i < 5; i++)
        check_require_tool(tools[i]);
    if (access("/usr/share/novnc/vnc.html", R_OK) != 0) {
        printf("skipped: noVNC is not installed (/usr/share/novnc)\n");
        return 77;
    }
    struct su_desktop sd;
    if (su_desktop_prepare(&sd, "latency") < 0)
        return check_finish();
    struct deskd_proc d;
    const char *args[] = {"--token", SU_TOKEN, "--display", sd.dpy, "--vnc-port", sd.vnc,
            "--novnc-port", sd.novnc, "--state-dir", sd.state, "--no-start", NULL};
    if (deskd_start(&d, sd.dpy, args) < 0) {
        CHECK(0, "deskd started");
        return check_finish();
    }
    CHECK_STR(su_status(&d), "inactive");
    hammer(&d, "/computeruse/start", "start", NULL);
    CHECK_STR(su_status(&d), "active");
    hammer(&d, "/computeruse/process/xfce4/restart", "restart of xfce4", NULL);
    CHECK_STR(su_status(&d), "active");
    struct freeze z = {.pid = su_pid_of(&d, "xvfb"), .after = "xfce4: started"};
    z.seen = log_count(&d, z.after);
    CHECK(z.pid > 0 && z.seen >= 2, "xvfb's pid %d; xfce4 started %d times", (int)z.pid, z.seen);
    hammer(&d, "/computeruse/process/xfce4/restart", "restart of xfce4, its probe stuck", &z);
    CHECK_STR(su_status(&d), "active");
    CHECK_INT(deskd_stop(&d), 0);
    if (check_failed)
        deskd_dump_log(&d);
    else
        su_rm_rf(sd.top);
    return check_finish();
}
