/*
 * recs: the recordings table, ffmpeg's command line and life, the directory
 * listing and the events files (see recs.h).
 *
 * One lock guards the table. ffmpeg's exit reaches rec_exited on the
 * supervisor thread; that is where a recording ends, stopped or not: it
 * closes the events file, writes the chapters and frees the job. recs_stop
 * only asks ffmpeg to end and waits on R.ended for that.
 */
#define _GNU_SOURCE
#include "recs.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include "jobs.h"
#include "log.h"
#include "proc.h"
#include "util.h"

/* Recordings kept in memory: the running ones and the latest finished ones. */
#define RECS_TABLE 64
#define LABEL_MAX  100

struct rec {
    bool used;
    struct recs_info info;
    int64_t start_ns; /* CLOCK_MONOTONIC when start was asked: events from then on */
    int job;
    int quit_fd; /* ffmpeg's stdin; -1 once "q" was sent */
    bool stopping;
    FILE *events;        /* opened at the first event */
    struct proc_log log; /* ffmpeg's output (NAME.ffmpeg.log), its last lines for a failure */
    int64_t t0_ns;       /* CLOCK_MONOTONIC of the video's first frame: offsets, duration */
    uint64_t seq;        /* which came first, to crowd out the oldest finished one */
};

static struct {
    pthread_mutex_t lock;
    pthread_cond_t ended;
    char dir[768];
    char display[64];
    int max;
    bool record_text;
    bool ready;
    uint64_t seq;
    struct rec recs[RECS_TABLE];
} R;

/* ---- names and times ---- */

void recs_time(const struct timespec *t, char *buf, size_t len) {
    struct tm tm;
    localtime_r(&t->tv_sec, &tm);
    char day[32], frac[16] = "", zone[8] = "Z";
    strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm);
    if (t->tv_nsec) {
        snprintf(frac, sizeof frac, ".%09ld", t->tv_nsec % 1000000000L);
        for (size_t n = strlen(frac); n > 1 && frac[n - 1] == '0'; n--)
            frac[n - 1] = '\0';
    }
    if (tm.tm_gmtoff) {
        long m = labs(tm.tm_gmtoff) / 60;
        snprintf(zone, sizeof zone, "%c%02ld:%02ld", tm.tm_gmtoff < 0 ? '-' : '+', m / 60 % 100,
                m % 60);
    }
    snprintf(buf, len, "%s%s%s", day, frac, zone);
}

bool recs_label_ok(const char *label) {
    if (!label || !*label)
        return true;
    size_t n = strlen(label);
    const char *s = label;
    while (isspace((unsigned char)*s))
        s++;
    if (!*s || n > LABEL_MAX || *s == '.' || strpbrk(label, "/\\"))
        return false;
    for (const char *p = label; *p; p++) {
        unsigned char c = (unsigned char)*p;
        /* Go's \s: space, \t, \n, \f, \r (not \v). */
        if (!isalnum(c) && !strchr(" \t\n\f\r._-", c))
            return false;
    }
    return true;
}

/* NAME.mp4 -> NAME<suffix> in the directory. */
static void companion(const char *path, const char *suffix, char *out, size_t len) {
    size_t n = strlen(path);
    if (n > 4 && strcmp(path + n - 4, ".mp4") == 0)
        n -= 4;
    snprintf(out, len, "%.*s%s", (int)n, path, suffix);
}

/* Removes a recording's file, events and chapters; -errno of the file's removal. */
static int remove_files(const char *path) {
    int rc = unlink(path) < 0 ? -errno : 0;
    char other[1100];
    companion(path, ".events.jsonl", other, sizeof other);
    unlink(other);
    companion(path, ".vtt", other, sizeof other);
    unlink(other);
    companion(path, ".ffmpeg.log", other, sizeof other);
    unlink(other);
    return rc;
}

/* ---- the table (under the lock) ---- */

static struct rec *find(const char *id) {
    for (int k = 0; k < RECS_TABLE; k++) {
        if (R.recs[k].used && strcmp(R.recs[k].info.id, id) == 0)
            return &R.recs[k];
    }
    return NULL;
}

static int running(void) {
    int n = 0;
    for (int k = 0; k < RECS_TABLE; k++)
        n += R.recs[k].used && R.recs[k].info.status == REC_RECORDING;
    return n;
}

/* A free slot, else the oldest finished recording's (it stays listed from the disk). */
static struct rec *slot(void) {
    struct rec *old = NULL;
    for (int k = 0; k < RECS_TABLE; k++) {
        struct rec *r = &R.recs[k];
        if (!r->used)
            return r;
        if (r->info.status != REC_RECORDING && (!old || r->seq < old->seq))
            old = r;
    }
    return old;
}

/* The size of the file now; fills the DTO's sizeBytes. */
static void stat_size(struct recs_info *i) {
    struct stat st;
    i->has_size = stat(i->path, &st) == 0;
    i->size = i->has_size ? (int64_t)st.st_size : 0;
}

/* ---- events and chapters ---- */

/* "HH:MM:SS.mmm" */
static void vtt_time(double s, char *buf, size_t len) {
    long ms = s < 0 ? 0 : (long)(s * 1000 + 0.5);
    snprintf(buf, len, "%02ld:%02ld:%02ld.%03ld", ms / 3600000, ms / 60000 % 60, ms / 1000 % 60,
            ms % 1000);
}

/* The events of the file at path (missing: an empty list); NULL when out of memory. */
static json_t *read_events(const char *path) {
    json_t *list = json_array();
    FILE *f = fopen(path, "re");
    if (!f || !list)
        return list;
    char *line = NULL;
    size_t cap = 0;
    /* A line cut by a crash mid-write is not JSON: it is left out. */
    while (getline(&line, &cap, f) > 0) {
        json_t *e = json_loads(line, 0, NULL);
        if (json_is_object(e))
            json_array_append_new(list, e);
        else
            json_decref(e);
    }
    free(line);
    fclose(f);
    return list;
}

/*
 * Writes the chapters file for the recording at path from its events: each
 * action is a cue from its offset to the next one's (the last lasts until
 * end_s, or a second).
 */
static int write_chapters(const char *path, double end_s) {
    char evpath[1100], vtt[1100], tmp[1110];
    companion(path, ".events.jsonl", evpath, sizeof evpath);
    companion(path, ".vtt", vtt, sizeof vtt);
    snprintf(tmp, sizeof tmp, "%s.tmp", vtt);
    json_t *events = read_events(evpath);
    FILE *f = events ? fopen(tmp, "we") : NULL;
    if (!f) {
        json_decref(events);
        return -errno;
    }
    fputs("WEBVTT - actions taken on the desktop while it was recorded\n", f);
    size_t n = json_array_size(events);
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(events, i);
        double at = json_real_value(json_object_get(e, "offsetSeconds"));
        double next = i + 1 < n ? json_real_value(json_object_get(
                                          json_array_get(events, i + 1), "offsetSeconds"))
                                : (end_s > at ? end_s : at + 1);
        if (next <= at)
            next = at + 0.001;
        char a[32], b[32];
        vtt_time(at, a, sizeof a);
        vtt_time(next, b, sizeof b);
        char *params = json_dumps(json_object_get(e, "params"), JSON_COMPACT | JSON_ENCODE_ANY);
        /* A cue ends at a blank line, and "-->" would start a timing line. */
        for (char *p = params; p && *p; p++) {
            if (*p == '\n' || *p == '\r')
                *p = ' ';
        }
        fprintf(f, "\n%zu\n%s --> %s\n%s %s %s -> %d\n", i + 1, a, b,
                json_string_value(json_object_get(e, "method")),
                json_string_value(json_object_get(e, "route")), params ? params : "{}",
                (int)json_integer_value(json_object_get(e, "status")));
        free(params);
    }
    json_decref(events);
    int rc = fclose(f) == 0 && rename(tmp, vtt) == 0 ? 0 : -errno;
    if (rc < 0)
        unlink(tmp);
    return rc;
}

/*
 * A copy of params with every "text" string (what was typed) and "value"
 * string (what an accessibility node was set to) replaced by its length in
 * code points, as "textLength" and "valueLength".
 */
static json_t *without_text(json_t *v) {
    if (json_is_array(v)) {
        json_t *out = json_array();
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) json_array_append_new(out, without_text(x));
        return out;
    }
    if (!json_is_object(v))
        return json_deep_copy(v);
    json_t *out = json_object();
    const char *k;
    json_t *x;
    json_object_foreach(v, k, x) {
        if ((strcmp(k, "text") == 0 || strcmp(k, "value") == 0) && json_is_string(x)) {
            const char *s = json_string_value(x);
            size_t len = json_string_length(x), cps = 0;
            for (size_t i = 0; i < len; i++)
                cps += ((unsigned char)s[i] & 0xc0) != 0x80;
            char key[16];
            snprintf(key, sizeof key, "%sLength", k);
            json_object_set_new(out, key, json_integer((json_int_t)cps));
        } else {
            json_object_set_new(out, k, without_text(x));
        }
    }
    return out;
}

void recs_note(const char *method, const char *route, json_t *params, int status, int64_t t_ns) {
    pthread_mutex_lock(&R.lock);
    bool any = R.ready && running() > 0;
    pthread_mutex_unlock(&R.lock);
    if (!any)
        return;
    json_t *p = params ? (R.record_text ? json_deep_copy(params) : without_text(params))
                       : json_object();
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    char when[64];
    recs_time(&now, when, sizeof when);
    pthread_mutex_lock(&R.lock);
    for (int k = 0; k < RECS_TABLE; k++) {
        struct rec *r = &R.recs[k];
        if (!r->used || r->info.status != REC_RECORDING || t_ns < r->start_ns)
            continue;
        if (!r->events) {
            char path[1100];
            companion(r->info.path, ".events.jsonl", path, sizeof path);
            r->events = fopen(path, "ae");
        }
        /* Milliseconds are what a viewer can seek to. */
        double off = t_ns > r->t0_ns ? floor((double)(t_ns - r->t0_ns) / 1e6) / 1000.0 : 0;
        json_t *e = json_pack("{s:f, s:s, s:s, s:s, s:O, s:i}", "offsetSeconds", off, "time", when,
                "method", method, "route", route, "params", p, "status", status);
        char *line = e ? json_dumps(e, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
        /* One line, flushed: a crash loses at most the line being written. */
        if (line && r->events) {
            fprintf(r->events, "%s\n", line);
            fflush(r->events);
        }
        free(line);
        json_decref(e);
    }
    pthread_mutex_unlock(&R.lock);
    json_decref(p);
}

/* ---- ffmpeg ---- */

/* On the supervisor thread: ffmpeg is gone; the recording ends here, stopped or not. */
static void rec_exited(void *data, int id, int status) {
    struct rec *r = data;
    pthread_mutex_lock(&R.lock);
    clock_gettime(CLOCK_REALTIME, &r->info.end);
    r->info.has_end = r->info.has_duration = true;
    r->info.duration_s = (double)(util_mono_ns() - r->t0_ns) / 1e9;
    stat_size(&r->info);
    if (r->stopping) {
        r->info.status = REC_COMPLETED;
    } else {
        r->info.status = REC_FAILED;
        char how[128];
        if (WIFSIGNALED(status)) {
            const char *abbrev = sigabbrev_np(WTERMSIG(status));
            snprintf(how, sizeof how, "killed by signal %d (SIG%s)", WTERMSIG(status),
                    abbrev ? abbrev : "?");
        } else if (WEXITSTATUS(status) == 0)
            /* x11grab ends its input when the X server goes away. */
            snprintf(how, sizeof how, "ended on its own: its input, display %.60s, ended",
                    R.display);
        else
            snprintf(how, sizeof how, "exited with status %d", WEXITSTATUS(status));
        /* Only an error has last words worth quoting (else they are statistics). */
        const char *said = WIFEXITED(status) && WEXITSTATUS(status) ? r->log.last : "";
        snprintf(r->info.reason, sizeof r->info.reason, "ffmpeg %s%s%.100s", how, *said ? ": " : "",
                said);
        log_msg(LOG_WARN, "recording %s failed: %s", r->info.id, r->info.reason);
    }
    if (r->events)
        fclose(r->events);
    r->events = NULL;
    proc_log_close(&r->log);
    if (r->quit_fd >= 0)
        close(r->quit_fd);
    r->quit_fd = -1;
    /* Before anyone hears of the end: a start that failed removes what is written here. */
    write_chapters(r->info.path, r->info.duration_s);
    pthread_cond_broadcast(&R.ended);
    pthread_mutex_unlock(&R.lock);
    jobs_release(id);
}

/*
 * Starts ffmpeg recording into i->path for r (its exit callback's data): *job
 * and *quit_fd (its stdin, the caller's) are set. 0 or -errno with a sentence in err.
 */
static int spawn(const struct recs_info *i, int *job, int *quit_fd, const char *ffmpeg,
        struct rec *r, char *err, size_t errlen) {
    int in[2];
    if (pipe2(in, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "cannot make a pipe for ffmpeg: %s", strerror(errno));
        return -errno;
    }
    /*
     * Daytona's command, plus: a keyframe a second and fragments that start at
     * keyframes (empty_moov), so the file plays whenever it is cut; an even
     * frame size, which yuv420p needs.
     */
    const char *argv[] = {"ffmpeg", "-hide_banner", "-nostats", "-loglevel", "info", "-f",
            "x11grab", "-framerate", "30", "-i", R.display, "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2",
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "30",
            "-movflags", "+frag_keyframe+empty_moov+default_base_moof", "-flush_packets", "1", "-y",
            i->path, NULL};
    char marker[128];
    snprintf(marker, sizeof marker, "DESK_RECORDING=%d:%s", (int)getpid(), i->id);
    /* The marker reaches ffmpeg through its environment: ours plus it. */
    size_t n = 0;
    while (environ[n])
        n++;
    const char **envp = calloc(n + 2, sizeof *envp);
    if (!envp) {
        close(in[0]);
        close(in[1]);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    memcpy(envp, environ, n * sizeof *envp);
    envp[n] = marker;
    struct job_spec spec = {
            .file = ffmpeg,
            .argv = argv,
            .envp = envp,
            .stdin_fd = in[0],
            .log = &r->log,
            .marker = marker,
            .stop_signal = SIGTERM,
            .stop_grace_ms = 3000,
            .on_exit = rec_exited,
            .data = r,
    };
    int rc = jobs_start(&spec, job, err, errlen);
    free(envp);
    close(in[0]);
    if (rc < 0) {
        close(in[1]);
        return rc;
    }
    *quit_fd = in[1];
    return 0;
}

/*
 * When r's video starts: x11grab stamps frames with the wall clock, and ffmpeg
 * logs the first one's ("Input #0, x11grab, ... start: 1764463045.312145").
 * Moves r's start (startTime, the duration's and the events' origin) there.
 * False while the log does not say yet.
 */
static bool first_frame(struct rec *r) {
    char buf[4096];
    int fd = open(r->log.path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
    if (fd >= 0)
        close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    const char *in = strstr(buf, "x11grab");
    const char *st = in ? strstr(in, "start: ") : NULL;
    char *end;
    double wall = st ? strtod(st + 7, &end) : 0;
    if (!st || end == st + 7 || wall <= 0)
        return false;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t mono = util_mono_ns();
    double ago = (double)now.tv_sec + (double)now.tv_nsec / 1e9 - wall;
    /* A clock that jumped makes nonsense. */
    if (ago < 0 || ago > RECS_START_MS / 1000.0)
        return true;
    r->t0_ns = mono - (int64_t)(ago * 1e9);
    r->info.start.tv_sec = (time_t)wall;
    r->info.start.tv_nsec = (long)((wall - (double)(time_t)wall) * 1e9) / 1000 * 1000;
    return true;
}

/* mkdir -p */
static int make_dir(const char *dir) {
    char buf[sizeof R.dir];
    snprintf(buf, sizeof buf, "%s", dir);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    return mkdir(buf, 0755) < 0 && errno != EEXIST ? -errno : 0;
}

/*
 * Under the lock: waits until ffmpeg records (it writes the file's header
 * after its first frame), so that what the client does next is in the video,
 * and a display ffmpeg cannot record is an error, not a recording that
 * fails. *out gets r's description. False (r dropped, its files removed, a
 * sentence in err) when ffmpeg ended first.
 */
static bool await_first_frame(
        struct rec *r, const char *id, struct recs_info *out, char *err, size_t errlen) {
    int64_t give_up = util_mono_ms() + RECS_START_MS;
    struct stat st;
    while (r->used && strcmp(r->info.id, id) == 0 && r->info.status == REC_RECORDING &&
            util_mono_ms() < give_up &&
            !(stat(out->path, &st) == 0 && st.st_size > 0 && first_frame(r))) {
        struct timespec ts = util_abstime(CLOCK_MONOTONIC, 10);
        pthread_cond_timedwait(&R.ended, &R.lock, &ts);
    }
    if (!r->used || strcmp(r->info.id, id) != 0)
        return true; /* deleted meanwhile: nothing of ours to say */
    *out = r->info;
    if (r->info.status != REC_FAILED)
        return true;
    snprintf(err, errlen, "ffmpeg could not record display %s: %s", R.display, r->info.reason);
    r->used = false;
    remove_files(out->path);
    return false;
}

enum recs_result recs_start(const char *label, struct recs_info *out, char *err, size_t errlen) {
    /* Daytona's order: the directory, ffmpeg, then the label. */
    int rc = make_dir(R.dir);
    if (rc < 0) {
        snprintf(
                err, errlen, "cannot create the recordings directory %s: %s", R.dir, strerror(-rc));
        return RECS_FAILED;
    }
    char ffmpeg[1024];
    if (proc_which("ffmpeg", util_env_or("PATH", "/usr/local/bin:/usr/bin:/bin"), ffmpeg,
                sizeof ffmpeg) < 0)
        return RECS_NO_FFMPEG;
    if (!recs_label_ok(label))
        return RECS_BAD_LABEL;

    uuid_t u;
    uuid_generate_random(u);
    char id[40];
    uuid_unparse_lower(u, id);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm tm;
    localtime_r(&now.tv_sec, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y%m%d_%H%M%S", &tm);

    pthread_mutex_lock(&R.lock);
    if (!R.ready) {
        pthread_mutex_unlock(&R.lock);
        return RECS_SHUTDOWN;
    }
    struct rec *r = running() < R.max ? slot() : NULL;
    if (!r) {
        pthread_mutex_unlock(&R.lock);
        snprintf(err, errlen,
                "%d recordings are running, the most allowed at once (--recordings-max); stop "
                "one first",
                R.max);
        return RECS_LIMIT;
    }
    int64_t t_ns = util_mono_ns();
    *r = (struct rec){.used = true, .start_ns = t_ns, .t0_ns = t_ns, .quit_fd = -1, .seq = ++R.seq};
    struct recs_info *i = &r->info;
    snprintf(i->id, sizeof i->id, "%s", id);
    snprintf(i->file_name, sizeof i->file_name, "%s_%s_%s.mp4", id,
            label && *label ? label : "session", stamp);
    snprintf(i->path, sizeof i->path, "%s/%s", R.dir, i->file_name);
    i->start = now;
    i->status = REC_RECORDING;
    char logpath[1100];
    companion(i->path, ".ffmpeg.log", logpath, sizeof logpath);
    /* Without its file the log still keeps the last lines. */
    proc_log_open(&r->log, logpath, (size_t)64 * 1024);
    *out = *i;
    pthread_mutex_unlock(&R.lock);

    /*
     * Not under the lock: jobs_start waits for the supervisor thread, which
     * may be in rec_exited for another recording, waiting for the lock.
     */
    int job = 0, quit_fd = -1;
    rc = spawn(out, &job, &quit_fd, ffmpeg, r, err, errlen);
    pthread_mutex_lock(&R.lock);
    if (rc < 0) {
        /* No ffmpeg ran: its log and whatever files were made go with the slot. */
        proc_log_close(&r->log);
        remove_files(out->path);
        r->used = false;
    } else {
        r->job = job;
        /* It may have ended already (rec_exited ran), or been asked to stop meanwhile. */
        if (r->info.status != REC_RECORDING || r->stopping) {
            if (r->stopping) {
                ssize_t w = write(quit_fd, "q", 1);
                (void)w;
            }
            close(quit_fd);
        } else {
            r->quit_fd = quit_fd;
        }
    }
    bool recording = rc == 0 && await_first_frame(r, id, out, err, errlen);
    pthread_mutex_unlock(&R.lock);
    if (rc < 0)
        return RECS_FAILED;
    if (!recording)
        return RECS_FFMPEG_FAILED;
    log_msg(LOG_INFO, "recording %s to %s", id, out->path);
    return RECS_OK;
}

enum recs_result recs_stop(const char *id, struct recs_info *out) {
    pthread_mutex_lock(&R.lock);
    struct rec *r = find(id);
    if (!r) {
        pthread_mutex_unlock(&R.lock);
        return RECS_NOT_FOUND;
    }
    if (r->info.status == REC_RECORDING) {
        r->stopping = true;
        int job = r->job;
        if (r->quit_fd >= 0) {
            /* ffmpeg's own way out: it writes what it holds and ends the file. */
            ssize_t w = write(r->quit_fd, "q", 1);
            (void)w;
            close(r->quit_fd);
            r->quit_fd = -1;
        }
        int64_t term_at = util_mono_ms() + RECS_QUIT_MS;
        bool termed = false;
        while (r->used && strcmp(r->info.id, id) == 0 && r->info.status == REC_RECORDING) {
            if (!termed && util_mono_ms() >= term_at) {
                /* TERM now, KILL after the job's grace (jobs.c). */
                jobs_stop(job);
                termed = true;
            }
            struct timespec ts = util_abstime(CLOCK_MONOTONIC, 200);
            pthread_cond_timedwait(&R.ended, &R.lock, &ts);
        }
        r = find(id);
    }
    if (r)
        *out = r->info;
    pthread_mutex_unlock(&R.lock);
    return r ? RECS_OK : RECS_NOT_FOUND;
}

/* ---- the directory ---- */

static int by_name(const struct dirent **a, const struct dirent **b) {
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int mp4_only(const struct dirent *e) {
    size_t n = strlen(e->d_name);
    return n > 4 && strcmp(e->d_name + n - 4, ".mp4") == 0;
}

/* Daytona's id of a file it did not start: the UUID before the first '_', else UUIDv5(URL, path).
 */
static void disk_id(const char *name, const char *path, char *id, size_t len) {
    const char *us = strchr(name, '_');
    uuid_t u;
    char pre[40];
    if (us && us - name == 36) {
        snprintf(pre, sizeof pre, "%.36s", name);
        if (uuid_parse(pre, u) == 0) {
            snprintf(id, len, "%s", pre);
            return;
        }
    }
    uuid_t ns;
    uuid_copy(ns, *uuid_get_template("url"));
    uuid_generate_sha1(u, ns, path, strlen(path));
    char s[40];
    uuid_unparse_lower(u, s);
    snprintf(id, len, "%s", s);
}

/* A recording from its file alone, as Daytona lists it. */
static bool disk_info(const char *name, struct recs_info *i) {
    *i = (struct recs_info){.status = REC_COMPLETED};
    snprintf(i->file_name, sizeof i->file_name, "%s", name);
    snprintf(i->path, sizeof i->path, "%s/%s", R.dir, name);
    struct stat st;
    if (stat(i->path, &st) < 0 || !S_ISREG(st.st_mode))
        return false;
    disk_id(name, i->path, i->id, sizeof i->id);
    i->start = i->end = st.st_mtim;
    i->has_end = i->has_size = true;
    i->size = (int64_t)st.st_size;
    return true;
}

/* Under the lock: what listing shows for file name (the table's entry when it has one). */
static bool entry_for(const char *name, struct recs_info *i) {
    for (int k = 0; k < RECS_TABLE; k++) {
        struct rec *r = &R.recs[k];
        if (r->used && strcmp(r->info.file_name, name) == 0) {
            if (r->info.status == REC_RECORDING)
                return false; /* listed first already */
            *i = r->info;
            return true;
        }
    }
    return disk_info(name, i);
}

enum recs_result recs_list(struct recs_info **out, size_t *n, char *err, size_t errlen) {
    struct dirent **names = NULL;
    int nn = scandir(R.dir, &names, mp4_only, by_name);
    if (nn < 0 && errno != ENOENT) {
        snprintf(
                err, errlen, "cannot list the recordings directory %s: %s", R.dir, strerror(errno));
        return RECS_FAILED;
    }
    if (nn < 0)
        nn = 0;
    struct recs_info *list = calloc((size_t)nn + RECS_TABLE + 1, sizeof *list);
    size_t k = 0;
    pthread_mutex_lock(&R.lock);
    for (int j = 0; list && j < RECS_TABLE; j++) {
        if (R.recs[j].used && R.recs[j].info.status == REC_RECORDING)
            list[k++] = R.recs[j].info;
    }
    for (int j = 0; list && j < nn; j++)
        k += entry_for(names[j]->d_name, &list[k]);
    pthread_mutex_unlock(&R.lock);
    for (int j = 0; j < nn; j++)
        free(names[j]);
    free(names);
    if (!list) {
        snprintf(err, errlen, "out of memory");
        return RECS_FAILED;
    }
    *out = list;
    *n = k;
    return RECS_OK;
}

/* Fills *out for id from the table, else from the directory. Under the lock. */
static enum recs_result lookup(const char *id, struct recs_info *out) {
    struct rec *r = find(id);
    if (r) {
        *out = r->info;
        return RECS_OK;
    }
    struct dirent **names = NULL;
    int nn = scandir(R.dir, &names, mp4_only, by_name);
    bool found = false;
    for (int j = 0; j < nn; j++) {
        if (!found && disk_info(names[j]->d_name, out) && strcmp(out->id, id) == 0)
            found = true;
        free(names[j]);
    }
    free(names);
    return found ? RECS_OK : RECS_NOT_FOUND;
}

enum recs_result recs_get(const char *id, struct recs_info *out) {
    pthread_mutex_lock(&R.lock);
    enum recs_result res = lookup(id, out);
    pthread_mutex_unlock(&R.lock);
    return res;
}

enum recs_result recs_delete(const char *id, char *err, size_t errlen) {
    struct recs_info i;
    pthread_mutex_lock(&R.lock);
    enum recs_result res = lookup(id, &i);
    if (res == RECS_OK && i.status == REC_RECORDING)
        res = RECS_ACTIVE;
    if (res == RECS_OK) {
        int rc = remove_files(i.path);
        if (rc < 0) {
            res = rc == -ENOENT ? RECS_NOT_FOUND : RECS_FAILED;
            snprintf(err, errlen, "failed to delete recording file: %s", strerror(-rc));
        } else {
            struct rec *r = find(id);
            if (r)
                r->used = false;
        }
    }
    pthread_mutex_unlock(&R.lock);
    return res;
}

enum recs_result recs_events(const char *id, json_t **events, char *chapters, size_t len) {
    struct recs_info i;
    enum recs_result res = recs_get(id, &i);
    if (res != RECS_OK)
        return res;
    char evpath[1100];
    companion(i.path, ".events.jsonl", evpath, sizeof evpath);
    companion(i.path, ".vtt", chapters, len);
    /* An earlier deskd that died mid-recording left the events but no chapters. */
    if (i.status != REC_RECORDING && access(chapters, F_OK) < 0 && access(evpath, F_OK) == 0)
        write_chapters(i.path, i.has_duration ? i.duration_s : 0);
    *events = read_events(evpath);
    return *events ? RECS_OK : RECS_FAILED;
}

/* ---- life ---- */

int recs_init(const struct recs_config *c, char *err, size_t errlen) {
    pthread_mutex_init(&R.lock, NULL);
    util_cond_init_monotonic(&R.ended);
    const char *home = util_env_or("HOME", NULL);
    if (c->dir && *c->dir)
        snprintf(R.dir, sizeof R.dir, "%s", c->dir);
    else if (util_env_or("DAYTONA_RECORDINGS_DIR", NULL))
        snprintf(R.dir, sizeof R.dir, "%s", getenv("DAYTONA_RECORDINGS_DIR"));
    else if (home)
        snprintf(R.dir, sizeof R.dir, "%s/.daytona/recordings", home);
    else {
        snprintf(err, errlen,
                "no recordings directory: set HOME, DAYTONA_RECORDINGS_DIR or --recordings-dir");
        return -1;
    }
    snprintf(R.display, sizeof R.display, "%s", c->display ? c->display : ":1");
    R.max = c->max > 0 ? c->max : RECS_MAX_DEFAULT;
    R.record_text = c->record_text;
    R.ready = true; /* before any thread but the job layer's exists */
    return 0;
}

void recs_finish(void) {
    char ids[RECS_TABLE][40];
    int n = 0;
    pthread_mutex_lock(&R.lock);
    bool was = R.ready;
    R.ready = false; /* no new ones from here on */
    for (int k = 0; was && k < RECS_TABLE; k++) {
        if (R.recs[k].used && R.recs[k].info.status == REC_RECORDING)
            snprintf(ids[n++], sizeof ids[0], "%s", R.recs[k].info.id);
    }
    pthread_mutex_unlock(&R.lock);
    for (int k = 0; k < n; k++) {
        struct recs_info i;
        recs_stop(ids[k], &i);
        log_msg(LOG_INFO, "recording %s stopped: deskd is stopping", ids[k]);
    }
}
