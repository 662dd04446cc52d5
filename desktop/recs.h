/*
 * recs: screen recordings, as Daytona's daemon keeps them (API.md §14). Each
 * recording is an ffmpeg (x11grab -> H.264) run as a job of deskd (jobs.c),
 * writing a fragmented MP4 into the recordings directory, so that a file cut
 * short (ffmpeg or deskd killed, the X server gone) still plays up to its last
 * fragment (one a second).
 *
 * What it keeps: the recordings of this deskd, in memory (running ones, and
 * finished ones until deleted or crowded out), and the directory itself: every
 * *.mp4 there is a recording, also those of an earlier deskd, listed as
 * "completed" with the file's time and size (Daytona's rule).
 *
 * Next to NAME.mp4 it writes NAME.events.jsonl (one JSON line per desktop
 * action taken while it ran, appended as each happens) and, when it ends,
 * NAME.vtt: the same actions as WebVTT cues, which players show.
 *
 * Stop: "q" on ffmpeg's stdin (it finishes the file), then SIGTERM after
 * RECS_QUIT_MS, then SIGKILL. ffmpeg ending on its own (killed, the display
 * gone) makes the recording "failed", with the reason.
 *
 * Thread model: every function may be called from any thread between
 * recs_init and recs_finish. Not here: HTTP and JSON replies (api-recordings.c).
 */
#ifndef DESK_RECS_H
#define DESK_RECS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define RECS_MAX_DEFAULT 4
#define RECS_MAX_LIMIT   16
/* How long ffmpeg has to finish its file after "q" before it gets SIGTERM. */
#define RECS_QUIT_MS 5000
/* How long start waits for ffmpeg's first frame before it answers all the same. */
#define RECS_START_MS 10000

struct recs_config {
    const char *dir;     /* NULL: $DAYTONA_RECORDINGS_DIR, else $HOME/.daytona/recordings */
    const char *display; /* the X display ffmpeg records, ":N" */
    int max;             /* recordings running at once, 1..RECS_MAX_LIMIT; 0: the default */
    bool record_text;    /* keep typed text in the events (else only its length) */
};

enum recs_status { REC_RECORDING, REC_COMPLETED, REC_FAILED };

/* What a recording is, as the Recording DTO shows it. */
struct recs_info {
    char id[40];
    char file_name[256];
    char path[1024];
    struct timespec start, end; /* CLOCK_REALTIME; end only when has_end */
    bool has_end, has_duration, has_size;
    enum recs_status status;
    double duration_s;
    int64_t size;
    char reason[256]; /* why it failed; "" otherwise */
};

enum recs_result {
    RECS_OK,
    RECS_NOT_FOUND,     /* no recording with that id */
    RECS_ACTIVE,        /* it is still running (delete) */
    RECS_NO_FFMPEG,     /* ffmpeg is not on the PATH */
    RECS_BAD_LABEL,     /* the label breaks Daytona's rule */
    RECS_LIMIT,         /* the most recordings allowed at once are running */
    RECS_FAILED,        /* a file or a process could not be made; err says which */
    RECS_FFMPEG_FAILED, /* ffmpeg ended before its first frame (the display is gone); err */
    RECS_SHUTDOWN,      /* deskd is stopping (recs_finish ran) */
};

/*
 * Remembers the configuration and resolves the directory (made at the first
 * start, as Daytona does). Returns 0, or -1 with a sentence in err (no
 * directory can be named).
 */
int recs_init(const struct recs_config *c, char *err, size_t errlen);
/*
 * Refuses new recordings from now on (RECS_SHUTDOWN) and stops every running
 * one as recs_stop does, each file finished by ffmpeg. Call before the job
 * layer ends (stack_finish).
 */
void recs_finish(void);

/*
 * Daytona's label rule (1-100 bytes, not blank, no path separator, no
 * leading dot, letters, digits, spaces, '.', '_', '-'). NULL or "" is no label.
 */
bool recs_label_ok(const char *label);
/*
 * Starts recording and returns once ffmpeg records (its first frame is in the
 * file); *out describes it. err gets a sentence for RECS_FAILED,
 * RECS_FFMPEG_FAILED and RECS_LIMIT.
 */
enum recs_result recs_start(const char *label, struct recs_info *out, char *err, size_t errlen);
/*
 * Stops recording id and waits until ffmpeg finished the file. A recording
 * that ended already is answered as it is.
 */
enum recs_result recs_stop(const char *id, struct recs_info *out);
/* Every recording: running ones first, then every *.mp4 of the directory by name. */
enum recs_result recs_list(struct recs_info **out, size_t *n, char *err, size_t errlen);
enum recs_result recs_get(const char *id, struct recs_info *out);
/* Removes a recording that is not running: its file, events and chapters. */
enum recs_result recs_delete(const char *id, char *err, size_t errlen);
/*
 * The actions taken during recording id, in order: a new JSON array of
 * {"offsetSeconds","time","method","route","params","status"} (the caller's).
 * *chapters gets the path of its WebVTT file (written here if it is missing).
 */
enum recs_result recs_events(const char *id, json_t **events, char *chapters, size_t len);

/*
 * Notes an action on the desktop in every running recording: a request of
 * method to route that arrived at t_ns (CLOCK_MONOTONIC ns), with its body
 * params (borrowed; may be NULL) and the status it was answered with.
 */
void recs_note(const char *method, const char *route, json_t *params, int status, int64_t t_ns);

/* RFC 3339 with nanoseconds, trailing zeros trimmed, as Go prints a time. */
void recs_time(const struct timespec *t, char *buf, size_t len);

#endif
