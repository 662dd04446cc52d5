/*
 * inputw: the input worker. It owns the input X connection (an xconn) and the
 * struct input on it, and runs input jobs one at a time from a FIFO: requests
 * keep their arrival order and nothing interleaves within a job. Its thread
 * runs queued jobs; a job that arrives with nothing ahead runs at once on its
 * requester's thread under the worker's role (see inputw.c): same order, same
 * exclusion, no hand-off latency.
 * Knows xconn and input/; knows nothing of HTTP or JSON.
 *
 * The queue is bounded by time, not length: a job whose start would wait
 * more than the worker's limit (deskd: INPUTW_WAIT_MAX_MS), from the
 * worst-case durations of the jobs ahead of it, is refused at admission, and
 * one still waiting after that long is taken out of the queue; both are
 * -EBUSY with a retry-after hint.
 */
#ifndef DESK_INPUTW_H
#define DESK_INPUTW_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "input.h"

/* The longest deskd lets a job wait for its turn. */
#define INPUTW_WAIT_MAX_MS (30L * 1000)
/* What admission counts for a job with no long part (a click, a key): generous. */
#define INPUTW_JOB_BASE_MS 100L

struct inputw_job {
    /* Run on the worker with the connection locked; returns 0 or input's negative errno. */
    int (*fn)(struct input *in, void *arg);
    void *arg;
    /* The most this job may take, in ms, for admission of the jobs behind it. */
    long cost_ms;
    /*
     * The requester gave up (its client hung up): a job is not started then
     * (inputw_run returns -ECANCELED), and input_type stops between characters
     * (the job's fn sees -ECANCELED). May be NULL.
     */
    int (*gone)(void *arg);
    void *gone_arg;
    /* The job only reads (the pointer, what is held): it does not count as input for the
     * hold timeout. */
    bool reads_only;

    /* Out, when inputw_run returned 0: fn's result, and whether the display died meanwhile. */
    int rc;
    bool dead;

    /* The worker's. */
    struct inputw_job *next;
    struct inputw *owner;
    int state;
    int result;   /* what inputw_run returns */
    bool holding; /* the down routes hold something after it */
    char *err;
    size_t errlen;
};

struct inputw;

/*
 * Starts the worker for display_name. stopping is read between typed
 * characters: once true, typing stops (deskd is shutting down). wait_max_ms
 * is the longest a job may wait for its turn. Returns NULL on failure (errno
 * set).
 */
struct inputw *inputw_new(const char *display_name, const atomic_bool *stopping, long wait_max_ms);
/*
 * What input_key_set and input_button_set hold (the down routes) is released
 * once the worker has run no job for ms (> 0); until this is called, never.
 */
void inputw_set_hold_timeout(struct inputw *w, long ms);

/* Runs the jobs still queued, stops the thread, closes the connection; accepts NULL. */
void inputw_destroy(struct inputw *w);

/*
 * Queues job (caller-owned, valid until this returns) and waits for it to
 * finish. Returns 0 when it ran (see job->rc, job->dead); -EBUSY when refused
 * or it waited the worker's limit, *retry_s (may be NULL) then says in how many
 * seconds the queue should have room; -ECANCELED when job->gone said so before
 * it started; -ENXIO when the display cannot be opened, err then saying why.
 * After a failed fn, the worker releases every key and button still down.
 */
int inputw_run(struct inputw *w, struct inputw_job *job, long *retry_s, char *err, size_t errlen);

#endif
