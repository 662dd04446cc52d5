/*
 * A hung X server: Xvfb stopped with SIGSTOP keeps its socket but answers
 * nothing. Requests that need the display (in flight when it stopped, and
 * new ones) must answer 503 within a few seconds instead of waiting forever,
 * /status and /readyz must say the display does not answer, /healthz stays
 * 200 (also while a kubelet-style /readyz waits for the display), and after
 * SIGCONT everything works again without a deskd restart.
 */
#include <X11/Xlib.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "deskproc.h"
#include "http.h"
#include "xserver.h"

/* Well beyond deskd's watchdog (about 2.7 s), well below a client's patience. */
#define DEADLINE_MS 5000.0

static char base[64];

struct call {
    const char *method, *path, *body;
    struct http_resp r;
    pthread_t th;
};

static void *run(void *arg) {
    struct call *c = arg;
    char url[256];
    snprintf(url, sizeof url, "%s%s", base, c->path);
    const char *hdr[] = {"Content-Type: application/json", NULL};
    http_request(c->method, url, c->body, hdr, &c->r);
    return NULL;
}

/* A call with its own header list. */
struct with {
    struct call *c;
    const char *const *hdr;
};

static void *run_with(void *arg) {
    struct with *w = arg;
    char url[256];
    snprintf(url, sizeof url, "%s%s", base, w->c->path);
    http_request(w->c->method, url, w->c->body, w->hdr, &w->c->r);
    return NULL;
}

static struct call calls[] = {
        {"GET", "/computeruse/screenshot", NULL, {0}, 0},
        {"GET", "/computeruse/screenshot/compressed?format=jpeg", NULL, {0}, 0},
        {"POST", "/computeruse/mouse/move", "{\"x\":10,\"y\":20}", {0}, 0},
        {"POST", "/computeruse/keyboard/type", "{\"text\":\"abc\"}", {0}, 0},
        {"GET", "/computeruse/display/windows", NULL, {0}, 0},
        {"GET", "/computeruse/display/info", NULL, {0}, 0},
        {"GET", "/computeruse/mouse/position", NULL, {0}, 0},
        {"POST", "/computeruse/clipboard", "{\"text\":\"hung?\"}", {0}, 0},
};
enum { NCALLS = sizeof calls / sizeof calls[0] };

/* All calls at once; each must answer want within the deadline. */
static void all_at_once(long want, const char *when) {
    for (int i = 0; i < NCALLS; i++)
        pthread_create(&calls[i].th, NULL, run, &calls[i]);
    for (int i = 0; i < NCALLS; i++) {
        struct call *c = &calls[i];
        pthread_join(c->th, NULL);
        CHECK(c->r.status == want, "%s: %s %s answered %ld (want %ld): %.200s", when, c->method,
                c->path, c->r.status, want, c->r.body ? c->r.body : "");
        CHECK(c->r.ms < DEADLINE_MS, "%s: %s %s took %.0f ms", when, c->method, c->path, c->r.ms);
        if (want == 503) {
            json_t *j = http_json(&c->r);
            const char *code = json_string_value(json_object_get(j, "code"));
            CHECK(code && strcmp(code, "DISPLAY_UNAVAILABLE") == 0, "%s %s: code %s", c->method,
                    c->path, code ? code : "(none)");
            json_decref(j);
        }
        http_resp_free(&c->r);
    }
}

static json_t *get_json(const char *path, long *status) {
    char url[256];
    snprintf(url, sizeof url, "%s%s", base, path);
    struct http_resp r;
    http_get(url, &r);
    *status = r.status;
    json_t *j = http_json(&r);
    http_resp_free(&r);
    return j;
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/*
 * kubelet's probes (Connection: close): a readiness probe waiting for the hung
 * display must not hold up the liveness probes sent meanwhile, or kubelet
 * (1 s timeout) kills deskd for what should only make it unready.
 */
static void probes_while_ready_waits(void) {
    static const char *const close_hdr[] = {"Connection: close", NULL};
    struct call ready = {"GET", "/readyz", NULL, {0}, 0};
    struct with w = {&ready, close_hdr};
    double t0 = now_ms();
    pthread_create(&ready.th, NULL, run_with, &w);
    double worst = 0;
    for (int i = 0; i < 5; i++) {
        char url[128];
        struct http_resp r;
        snprintf(url, sizeof url, "%s/healthz", base);
        http_request("GET", url, NULL, close_hdr, &r);
        CHECK_INT(r.status, 200);
        worst = r.ms > worst ? r.ms : worst;
        http_resp_free(&r);
    }
    pthread_join(ready.th, NULL);
    double ready_ms = now_ms() - t0;
    fprintf(stderr, "/readyz in flight for %.0f ms; the slowest of 5 /healthz meanwhile: %.1f ms\n",
            ready_ms, worst);
    CHECK_INT(ready.r.status, 503);
    CHECK(ready_ms > worst + 500, "the probes overlapped the readiness wait (%.0f ms)", ready_ms);
    CHECK(worst < 500, "a liveness probe waited %.0f ms behind /readyz", worst);
    http_resp_free(&ready.r);
}

int main(void) {
    check_timeout(120);
    check_require_tool("Xvfb");
    struct xserver xs;
    if (xserver_start_xvfb(&xs, 320, 240) < 0)
        return 1;
    struct deskd_proc d;
    if (deskd_start(&d, xs.name, NULL) < 0) {
        CHECK(false, "deskd did not start");
        return check_finish();
    }
    snprintf(base, sizeof base, "%s", d.url);
    all_at_once(200, "before the stop");
    long status;
    json_t *j = get_json("/computeruse/status", &status);
    char before[32];
    snprintf(before, sizeof before, "%s", json_string_value(json_object_get(j, "status")));
    json_decref(j);

    kill(xs.pid, SIGSTOP);
    /* In flight when the server stops answering (deskd's connections are open and idle). */
    all_at_once(503, "stopped, first requests");
    /* And once deskd knows. */
    all_at_once(503, "stopped, later requests");
    j = get_json("/computeruse/status", &status);
    CHECK_INT(status, 200);
    const char *st = json_string_value(json_object_get(j, "status"));
    const char *disp = json_string_value(json_object_get(j, "display"));
    CHECK(st && strcmp(st, "active") != 0, "status while stopped: %s", st ? st : "(none)");
    CHECK(disp && strcmp(disp, "unresponsive") == 0, "display while stopped: %s",
            disp ? disp : "(none)");
    json_decref(j);
    double t0 = now_ms();
    json_decref(get_json("/readyz", &status));
    CHECK_INT(status, 503);
    CHECK(now_ms() - t0 < DEADLINE_MS, "readyz took %.0f ms", now_ms() - t0);
    json_decref(get_json("/healthz", &status));
    CHECK_INT(status, 200);

    kill(xs.pid, SIGCONT);
    bool back = false;
    for (double end = now_ms() + 15000; !back && now_ms() < end;) {
        j = get_json("/computeruse/screenshot/compressed?format=png", &status);
        back = status == 200;
        json_decref(j);
    }
    CHECK(back, "screenshots are back after SIGCONT");
    all_at_once(200, "after SIGCONT");
    j = get_json("/computeruse/status", &status);
    st = json_string_value(json_object_get(j, "status"));
    CHECK(st && strcmp(st, before) == 0, "status after SIGCONT: %s (before: %s)",
            st ? st : "(none)", before);
    CHECK(!json_object_get(j, "display"), "no display remark after SIGCONT");
    json_decref(j);

    /* Stopped again: this time a readiness probe is the first to find it out. */
    kill(xs.pid, SIGSTOP);
    probes_while_ready_waits();
    kill(xs.pid, SIGCONT);

    CHECK(deskd_alive(&d), "deskd alive");
    CHECK_INT(deskd_stop(&d), 0);
    if (check_failed)
        deskd_dump_log(&d);
    xserver_stop(&xs);
    return check_finish();
}
