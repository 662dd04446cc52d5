/*
 * The input worker's queue on its own (desktop/inputw.c) against a bare
 * Xvfb, with a short wait limit so that its bounds show in well under a
 * second: a job is refused at admission when the declared work ahead passes
 * the limit, gives up when it really waited that long behind a job that ran
 * over its declared time, is not run when its requester has gone, and jobs
 * run one at a time. A refused or abandoned job's function never runs.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "check.h"
#include "inputw.h"
#include "util.h"
#include "xconn.h"
#include "xserver.h"

#define LIMIT_MS 300L

static struct inputw *w;
static atomic_bool stopping;

/* A job that runs until released: the one the others queue behind. */
static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static bool gate_open, gate_entered;
static atomic_int running, most_running, runs;

static int gate_fn(struct input *in, void *arg) {
    (void)in;
    (void)arg;
    pthread_mutex_lock(&gate_lock);
    gate_entered = true;
    pthread_cond_broadcast(&gate_cond);
    while (!gate_open)
        pthread_cond_wait(&gate_cond, &gate_lock);
    pthread_mutex_unlock(&gate_lock);
    return 0;
}

static int count_fn(struct input *in, void *arg) {
    int x, y;
    int now = atomic_fetch_add(&running, 1) + 1;
    if (now > atomic_load(&most_running))
        atomic_store(&most_running, now);
    int rc = input_pointer(in, &x, &y); /* a real X round trip on the worker's connection */
    atomic_fetch_add(&runs, 1);
    atomic_fetch_sub(&running, 1);
    (void)arg;
    return rc;
}

struct gated {
    pthread_t thread;
    long cost_ms;
    int rc;
};

static void *run_gate(void *arg) {
    struct gated *g = arg;
    struct inputw_job job = {.fn = gate_fn, .cost_ms = g->cost_ms};
    char err[128];
    g->rc = inputw_run(w, &job, NULL, err, sizeof err);
    return NULL;
}

/* Starts a gate job declaring cost_ms and waits until it runs. */
static void gate_start(struct gated *g, long cost_ms) {
    gate_open = gate_entered = false;
    g->cost_ms = cost_ms;
    pthread_create(&g->thread, NULL, run_gate, g);
    pthread_mutex_lock(&gate_lock);
    while (!gate_entered)
        pthread_cond_wait(&gate_cond, &gate_lock);
    pthread_mutex_unlock(&gate_lock);
}

static void gate_release(struct gated *g) {
    pthread_mutex_lock(&gate_lock);
    gate_open = true;
    pthread_cond_broadcast(&gate_cond);
    pthread_mutex_unlock(&gate_lock);
    pthread_join(g->thread, NULL);
    CHECK_INT(g->rc, 0);
}

static int run_count(long cost_ms, int (*gone)(void *), long *retry) {
    struct inputw_job job = {.fn = count_fn, .cost_ms = cost_ms, .gone = gone};
    char err[128];
    return inputw_run(w, &job, retry, err, sizeof err);
}

static void test_admission(void) {
    struct gated g;
    gate_start(&g, 10 * LIMIT_MS);
    int before = atomic_load(&runs);
    long retry = 0;
    int64_t t0 = util_mono_ms();
    CHECK_INT(run_count(10, NULL, &retry), -EBUSY);
    CHECK(util_mono_ms() - t0 < LIMIT_MS, "refused at once, not after waiting: %lld ms",
            (long long)(util_mono_ms() - t0));
    CHECK(retry >= 1 && retry <= 10 * LIMIT_MS / 1000 + 1, "a retry hint in seconds: %ld", retry);
    CHECK_INT(atomic_load(&runs), before);
    gate_release(&g);
    CHECK_INT(run_count(10, NULL, NULL), 0);
}

static void test_waited_too_long(void) {
    struct gated g;
    gate_start(&g, 10); /* says 10 ms, runs until released */
    int before = atomic_load(&runs);
    int64_t t0 = util_mono_ms();
    CHECK_INT(run_count(10, NULL, NULL), -EBUSY);
    int64_t waited = util_mono_ms() - t0;
    CHECK(waited >= LIMIT_MS - 5 && waited < 10 * LIMIT_MS, "gave up after the limit: %lld ms",
            (long long)waited);
    gate_release(&g);
    CHECK_INT(atomic_load(&runs), before);
    CHECK_INT(run_count(10, NULL, NULL), 0);
    CHECK_INT(atomic_load(&runs), before + 1);
}

static int always_gone(void *arg) {
    (void)arg;
    return 1;
}

static void test_gone(void) {
    int before = atomic_load(&runs);
    CHECK_INT(run_count(10, always_gone, NULL), -ECANCELED);
    CHECK_INT(atomic_load(&runs), before);
}

static void *many(void *arg) {
    (void)arg;
    for (int i = 0; i < 50; i++)
        CHECK_INT(run_count(1, NULL, NULL), 0);
    return NULL;
}

static void test_one_at_a_time(void) {
    pthread_t t[4];
    int before = atomic_load(&runs);
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, many, NULL);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    CHECK_INT(atomic_load(&runs), before + 200);
    CHECK_INT(atomic_load(&most_running), 1);
}

int main(void) {
    check_timeout(60);
    check_require_tool("Xvfb");
    struct xserver xs;
    if (xserver_start_xvfb(&xs, 640, 480) < 0) {
        CHECK(false, "cannot start Xvfb");
        return check_finish();
    }
    xconn_global_init();
    w = inputw_new(xs.name, &stopping, LIMIT_MS);
    CHECK(w != NULL, "inputw_new failed");
    if (w) {
        CHECK_INT(run_count(10, NULL, NULL), 0); /* opens the connection */
        test_admission();
        test_waited_too_long();
        test_gone();
        test_one_at_a_time();
        inputw_destroy(w);
    }
    xserver_stop(&xs);
    return check_finish();
}
