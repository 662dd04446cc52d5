/*
 * Recordings (API.md §14) with the real ffmpeg, checked as a user would: the
 * file ffprobe reads and the frames ffmpeg decodes from it, the bytes a
 * download hands over, what is left on disk after a crash.
 *
 *   - a 3 s recording while this test paints the root window red, green,
 *     blue: H.264 at the screen size, the right duration, each colour at its
 *     time; a click made at 1.5 s is an event at 1.5 s, in the chapters too;
 *   - downloads: the whole file, single ranges (206), a range past the end
 *     (416), If-Modified-Since (304);
 *   - bad input changes nothing; delete removes the files;
 *   - ffmpeg killed: "failed" with the reason, the file plays up to the kill;
 *     deskd killed: the next deskd lists the file as completed and it plays;
 *     deskd stopped: it finishes the recording first; the concurrency limit;
 *     --record-text keeps typed text in the events; the X server gone: failed;
 *     no ffmpeg on the PATH: 503 RECORDING_FFMPEG_NOT_FOUND.
 * deskd is attached to an Xvfb of the test's own.
 */
#define _GNU_SOURCE
#include <X11/Xlib.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "deskproc.h"
#include "http.h"
#include "stack-util.h"
#include "xserver.h"

#define W 640
#define H 480

static char dir[300];

static void paint(Display *dpy, unsigned long rgb) {
    XSetWindowBackground(dpy, DefaultRootWindow(dpy), rgb);
    XClearWindow(dpy, DefaultRootWindow(dpy));
    XSync(dpy, False);
}

/* Sleeps until t0 + ms (the test's schedule of what it does on the screen). */
static void until(int64_t t0, int64_t ms) {
    int64_t left = t0 + ms - su_ms();
    if (left > 0) {
        struct timespec ts = {left / 1000, (left % 1000) * 1000000};
        nanosleep(&ts, NULL);
    }
}

static json_t *call(const struct deskd_proc *d, const char *method, const char *path,
        const char *body, long want) {
    json_t *j = NULL;
    long st = su_call(d, method, path, body, body ? "application/json" : NULL, &j);
    char *text = st != want && j ? json_dumps(j, JSON_COMPACT) : NULL;
    CHECK(st == want, "%s %s answered %ld, expected %ld: %s", method, path, st, want,
            text ? text : "");
    free(text);
    return j;
}

static const char *str(json_t *o, const char *key) {
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static long long file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    *len = buf ? fread(buf, 1, (size_t)n, f) : 0;
    if (buf)
        buf[*len] = '\0';
    fclose(f);
    return buf;
}

/* ffprobe's view: codec, size, duration; false when it cannot read the file. */
static bool probe(const char *path, char *codec, int *w, int *h, double *dur) {
    const char *argv[] = {"ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
            "stream=codec_name,width,height:format=duration", "-of", "json", path, NULL};
    int st = -1;
    char *out = su_run(argv, 30000, &st, NULL);
    json_t *j = out && st == 0 ? json_loads(out, 0, NULL) : NULL;
    free(out);
    json_t *s = json_array_get(json_object_get(j, "streams"), 0);
    snprintf(codec, 32, "%s", str(s, "codec_name"));
    *w = (int)json_integer_value(json_object_get(s, "width"));
    *h = (int)json_integer_value(json_object_get(s, "height"));
    *dur = atof(str(json_object_get(j, "format"), "duration"));
    bool ok = j != NULL && s != NULL;
    json_decref(j);
    return ok;
}

/* The whole file decodes without an error (what a player needs). */
static bool decodes(const char *path) {
    const char *argv[] = {"ffmpeg", "-v", "error", "-xerror", "-i", path, "-f", "null", "-", NULL};
    int st = -1;
    free(su_run(argv, 60000, &st, NULL));
    return st == 0;
}

/* A pixel of the frame at t seconds, decoded by ffmpeg, away from the pointer ffmpeg draws. */
static bool frame_rgb(const char *path, double t, unsigned char rgb[3]) {
    char ts[32];
    snprintf(ts, sizeof ts, "%.3f", t);
    const char *argv[] = {"ffmpeg", "-v", "error", "-ss", ts, "-i", path, "-frames:v", "1", "-f",
            "rawvideo", "-pix_fmt", "rgb24", "-", NULL};
    int st = -1;
    size_t len = 0;
    unsigned char *out = (unsigned char *)su_run(argv, 30000, &st, &len);
    bool ok = out && st == 0 && len == (size_t)W * H * 3;
    if (ok)
        memcpy(rgb, out + ((size_t)(H * 3 / 4) * W + W * 3 / 4) * 3, 3);
    free(out);
    return ok;
}

static bool near_rgb(const unsigned char got[3], unsigned long want) {
    int w[3] = {(int)(want >> 16) & 255, (int)(want >> 8) & 255, (int)want & 255};
    for (int i = 0; i < 3; i++) {
        if (abs(got[i] - w[i]) > 40)
            return false;
    }
    return true;
}

/* Polls GET /recordings/{id} until its status is want; the last answer (to free), or NULL. */
static json_t *wait_status(const struct deskd_proc *d, const char *id, const char *want, int ms) {
    char path[256];
    snprintf(path, sizeof path, "/computeruse/recordings/%s", id);
    int64_t end = su_ms() + ms;
    json_t *j = NULL;
    do {
        json_decref(j);
        j = NULL;
        su_call(d, "GET", path, NULL, NULL, &j);
        if (strcmp(str(j, "status"), want) == 0)
            return j;
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    } while (su_ms() < end);
    CHECK(false, "recording %s became %s within %d ms (is %s)", id, want, ms, str(j, "status"));
    json_decref(j);
    return NULL;
}

/*
 * Waits until ffmpeg has written n fragments after the file's header: the
 * muxer writes a fragment (a second of video) at once, so each is a growth.
 */
static void wait_fragments(const char *path, int n, int ms) {
    int64_t end = su_ms() + ms;
    long long last = file_size(path);
    int seen = 0;
    while (seen < n && su_ms() < end) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
        long long now = file_size(path);
        seen += now > last;
        last = now;
    }
    CHECK(seen >= n, "%s got %d fragments (%d)", path, n, seen);
}

static int count_entries(const char *d) {
    const char *argv[] = {"ls", "-A", d, NULL};
    int st = -1;
    char *out = su_run(argv, 5000, &st, NULL);
    int n = 0;
    for (char *p = out; p && *p; p++)
        n += *p == '\n';
    free(out);
    return n;
}

static void bad_input(const struct deskd_proc *d) {
    json_t *j = call(d, "POST", "/computeruse/recordings/start", "{\"label\":\"../x\"}", 400);
    CHECK_STR(str(j, "error"), "invalid_label");
    CHECK_STR(str(j, "code"), "INVALID_PARAMETER");
    CHECK(strstr(str(j, "message"), "invalid label") != NULL, "message: %s", str(j, "message"));
    json_decref(j);
    j = call(d, "POST", "/computeruse/recordings/start", "{\"label\":\".hidden\"}", 400);
    json_decref(j);
    j = call(d, "POST", "/computeruse/recordings/stop", "{}", 400);
    CHECK_STR(str(j, "error"), "invalid request: id is required");
    json_decref(j);
    j = call(d, "POST", "/computeruse/recordings/stop", "not json", 400);
    json_decref(j);
    j = call(d, "GET", "/computeruse/recordings/0f9a1c1e-0000-4000-8000-000000000000", NULL, 404);
    CHECK_STR(str(j, "error"), "recording not found");
    json_decref(j);
    j = call(d, "GET", "/computeruse/recordings/..", NULL, 404);
    json_decref(j);
    j = call(d, "DELETE", "/computeruse/recordings/..%2Fx", NULL, 404);
    json_decref(j);
    j = call(d, "POST", "/computeruse/recordings/stop", "{\"id\":\"../x\"}", 404);
    CHECK_STR(str(j, "error"), "recording not found");
    json_decref(j);
    /* Nothing was recorded or created by any of it. */
    j = call(d, "GET", "/computeruse/recordings", NULL, 200);
    CHECK_INT(json_array_size(json_object_get(j, "recordings")), 0);
    json_decref(j);
    CHECK_INT(count_entries(dir), 0);
}

/* GET .../download with extra request headers; the response (to free). */
static void download(
        const struct deskd_proc *d, const char *id, const char *header, struct http_resp *out) {
    char url[512];
    snprintf(url, sizeof url, "%s/computeruse/recordings/%s/download", d->url, id);
    const char *headers[] = {"Authorization: Bearer " SU_TOKEN, header, NULL};
    http_request("GET", url, NULL, headers, out);
}

static void check_download(const struct deskd_proc *d, const char *id, const char *path) {
    size_t len = 0;
    char *file = read_file(path, &len);
    CHECK(file && len > 1000, "the recording has %zu bytes", len);
    if (!file)
        return;
    struct http_resp r;
    char h[128], want[128];
    download(d, id, NULL, &r);
    CHECK_INT(r.status, 200);
    CHECK(r.len == len && memcmp(r.body, file, len) == 0, "the download is the file (%zu bytes)",
            r.len);
    CHECK_STR(http_header(&r, "Content-Type", h, sizeof h), "video/mp4");
    CHECK_STR(http_header(&r, "Accept-Ranges", h, sizeof h), "bytes");
    char modified[128];
    snprintf(modified, sizeof modified, "%s", http_header(&r, "Last-Modified", h, sizeof h));
    CHECK(strstr(modified, "GMT") != NULL, "Last-Modified: %s", modified);
    http_resp_free(&r);

    download(d, id, "Range: bytes=100-1099", &r);
    CHECK_INT(r.status, 206);
    CHECK(r.len == 1000 && memcmp(r.body, file + 100, 1000) == 0, "bytes 100-1099 (%zu)", r.len);
    snprintf(want, sizeof want, "bytes 100-1099/%zu", len);
    CHECK_STR(http_header(&r, "Content-Range", h, sizeof h), want);
    CHECK_STR(http_header(&r, "Content-Length", h, sizeof h), "1000");
    http_resp_free(&r);

    download(d, id, "Range: bytes=-64", &r);
    CHECK_INT(r.status, 206);
    CHECK(r.len == 64 && memcmp(r.body, file + len - 64, 64) == 0, "the last 64 bytes");
    http_resp_free(&r);

    char range[64];
    snprintf(range, sizeof range, "Range: bytes=%zu-", len - 10);
    download(d, id, range, &r);
    CHECK_INT(r.status, 206);
    CHECK(r.len == 10 && memcmp(r.body, file + len - 10, 10) == 0, "an open range to the end");
    http_resp_free(&r);

    snprintf(range, sizeof range, "Range: bytes=%zu-", len);
    download(d, id, range, &r);
    CHECK_INT(r.status, 416);
    snprintf(want, sizeof want, "bytes */%zu", len);
    CHECK_STR(http_header(&r, "Content-Range", h, sizeof h), want);
    http_resp_free(&r);

    char ims[160];
    snprintf(ims, sizeof ims, "If-Modified-Since: %s", modified);
    download(d, id, ims, &r);
    CHECK_INT(r.status, 304);
    CHECK_INT(r.len, 0);
    http_resp_free(&r);
    download(d, id, "If-Modified-Since: Mon, 01 Jan 2001 00:00:00 GMT", &r);
    CHECK_INT(r.status, 200);
    CHECK_INT(r.len, len);
    http_resp_free(&r);
    free(file);
}

/* An RFC 3339 time ("2026-11-30T00:43:07.669667535Z", or with +hh:mm) as seconds since 1970. */
static double rfc3339(const char *s) {
    struct tm tm = {0};
    const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!p)
        return 0;
    double t = (double)timegm(&tm);
    if (*p == '.') {
        char *end;
        t += strtod(p, &end);
        p = end;
    }
    if (*p == '+' || *p == '-') {
        int hh = atoi(p + 1), mm = atoi(p + 4);
        t -= (*p == '+' ? 1 : -1) * (hh * 3600 + mm * 60);
    }
    return t;
}

/* CLOCK_MONOTONIC ms (su_ms) of a wall-clock time in seconds. */
static int64_t mono_of(double wall) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    double ago = (double)now.tv_sec + (double)now.tv_nsec / 1e9 - wall;
    return su_ms() - (int64_t)(ago * 1000);
}

/* The 3 s colour recording with a click and typing: file, frames, events, chapters, download. */
static void colours(const struct deskd_proc *d, Display *dpy) {
    const unsigned long red = 0xff0000, green = 0x00ff00, blue = 0x0000ff;
    paint(dpy, red);
    json_t *j = call(d, "POST", "/computeruse/recordings/start", "{\"label\":\"colour run\"}", 201);
    /* The recording's clock: startTime is its first frame (the video's 0 s). */
    double start = rfc3339(str(j, "startTime"));
    int64_t t0 = mono_of(start);
    CHECK(start > 0 && su_ms() - t0 >= 0 && su_ms() - t0 < 3000, "startTime %s is a moment ago",
            str(j, "startTime"));
    char id[64], path[1024], name[512];
    snprintf(id, sizeof id, "%s", str(j, "id"));
    snprintf(path, sizeof path, "%s", str(j, "filePath"));
    snprintf(name, sizeof name, "%s", str(j, "fileName"));
    CHECK_STR(str(j, "status"), "recording");
    CHECK(strlen(id) == 36, "id is a UUID: %s", id);
    char prefix[128];
    snprintf(prefix, sizeof prefix, "%s_colour run_", id);
    CHECK(strncmp(name, prefix, strlen(prefix)) == 0 && strlen(name) == strlen(prefix) + 19 &&
                    strcmp(name + strlen(name) - 4, ".mp4") == 0,
            "file name %s is <id>_<label>_<YYYYMMDD_HHMMSS>.mp4", name);
    char want_path[1024];
    snprintf(want_path, sizeof want_path, "%s/%s", dir, name);
    CHECK_STR(path, want_path);
    CHECK(json_object_get(j, "endTime") == NULL, "no endTime while recording");
    json_decref(j);

    until(t0, 1000);
    paint(dpy, green);
    until(t0, 1500);
    double t_click = (double)(su_ms() - t0) / 1000.0;
    json_decref(call(d, "POST", "/computeruse/mouse/click", "{\"x\":20,\"y\":30}", 200));
    json_decref(call(d, "POST", "/computeruse/keyboard/type", "{\"text\":\"secret\"}", 200));
    until(t0, 2000);
    paint(dpy, blue);
    /* Deleting a running recording is refused and deletes nothing. */
    char rpath[256];
    snprintf(rpath, sizeof rpath, "/computeruse/recordings/%s", id);
    j = call(d, "DELETE", rpath, NULL, 409);
    CHECK_STR(str(j, "code"), "RECORDING_STILL_ACTIVE");
    CHECK_STR(str(j, "error"), "cannot delete an active recording, stop it first");
    json_decref(j);
    CHECK(file_size(path) > 0, "the file is still there");

    until(t0, 3000);
    char body[128];
    snprintf(body, sizeof body, "{\"id\":\"%s\"}", id);
    j = call(d, "POST", "/computeruse/recordings/stop", body, 200);
    CHECK_STR(str(j, "status"), "completed");
    double dur = json_real_value(json_object_get(j, "durationSeconds"));
    CHECK(fabs(dur - 3.0) < 0.5, "durationSeconds %.3f is 3 +- 0.5", dur);
    CHECK_INT(json_integer_value(json_object_get(j, "sizeBytes")), file_size(path));
    CHECK(json_object_get(j, "endTime") != NULL, "endTime once stopped");
    json_decref(j);

    char codec[32];
    int w = 0, h = 0;
    double fdur = 0;
    CHECK(probe(path, codec, &w, &h, &fdur), "ffprobe reads %s", path);
    CHECK_STR(codec, "h264");
    CHECK_INT(w, W);
    CHECK_INT(h, H);
    CHECK(fabs(fdur - 3.0) <= 0.5, "the video lasts %.3f s, 3 +- 0.5", fdur);
    CHECK(decodes(path), "the whole file decodes");
    struct {
        double t;
        unsigned long rgb;
        const char *name;
    } samples[] = {{0.5, red, "red"}, {1.6, green, "green"}, {2.7, blue, "blue"}};
    for (int i = 0; i < 3; i++) {
        unsigned char px[3] = {0};
        bool ok = frame_rgb(path, samples[i].t, px);
        CHECK(ok && near_rgb(px, samples[i].rgb), "the frame at %.1f s is %s (%d,%d,%d)",
                samples[i].t, samples[i].name, px[0], px[1], px[2]);
    }

    /* The events: the click where it happened, the typed text only as its length. */
    char epath[256];
    snprintf(epath, sizeof epath, "/computeruse/recordings/%s/events", id);
    j = call(d, "GET", epath, NULL, 200);
    json_t *events = json_object_get(j, "events");
    CHECK_INT(json_array_size(events), 2);
    json_t *click = json_array_get(events, 0), *type = json_array_get(events, 1);
    CHECK_STR(str(click, "route"), "/computeruse/mouse/click");
    CHECK_STR(str(click, "method"), "POST");
    CHECK_INT(json_integer_value(json_object_get(click, "status")), 200);
    CHECK_INT(json_integer_value(json_object_get(json_object_get(click, "params"), "x")), 20);
    double off = json_real_value(json_object_get(click, "offsetSeconds"));
    CHECK(fabs(t_click - 1.5) < 0.1, "the click was made at %.3f s", t_click);
    CHECK(fabs(off - 1.5) <= 0.3 && fabs(off - t_click) <= 0.3,
            "the click is at %.3f s in the events (made at %.3f s)", off, t_click);
    CHECK_STR(str(type, "route"), "/computeruse/keyboard/type");
    json_t *tp = json_object_get(type, "params");
    CHECK(json_object_get(tp, "text") == NULL, "the typed text is not kept");
    CHECK_INT(json_integer_value(json_object_get(tp, "textLength")), 6);
    /* The chapters file, next to the MP4, which ffmpeg reads as WebVTT with two cues. */
    char vtt[1100];
    snprintf(vtt, sizeof vtt, "%s", str(j, "chapters"));
    CHECK(strstr(vtt, ".vtt") && strncmp(vtt, path, strlen(path) - 4) == 0, "chapters %s", vtt);
    json_decref(j);
    size_t vlen = 0;
    char *text = read_file(vtt, &vlen);
    CHECK(text && strncmp(text, "WEBVTT", 6) == 0, "%s is WebVTT", vtt);
    CHECK(text && strstr(text, "/computeruse/mouse/click") && !strstr(text, "secret"),
            "the chapters name the click and not the text:\n%s", text ? text : "");
    free(text);
    const char *argv[] = {"ffprobe", "-v", "error", "-show_entries", "packet=pts_time", "-of",
            "csv=p=0", vtt, NULL};
    int st = -1;
    char *cues = su_run(argv, 10000, &st, NULL);
    CHECK(st == 0 && cues && fabs(atof(cues) - off) < 0.01 && strchr(cues, '\n') &&
                    strchr(strchr(cues, '\n') + 1, '\n'),
            "ffprobe reads two cues, the first at %.3f s: %s", off, cues ? cues : "(none)");
    free(cues);

    /* Listed and got as completed. */
    j = call(d, "GET", "/computeruse/recordings", NULL, 200);
    json_t *first = json_array_get(json_object_get(j, "recordings"), 0);
    CHECK_STR(str(first, "id"), id);
    CHECK_STR(str(first, "status"), "completed");
    json_decref(j);

    check_download(d, id, path);

    j = call(d, "DELETE", rpath, NULL, 204);
    json_decref(j);
    CHECK(file_size(path) < 0 && file_size(vtt) < 0, "delete removed the file and chapters");
    CHECK_INT(count_entries(dir), 0);
    json_decref(call(d, "GET", rpath, NULL, 404));
    json_decref(call(d, "DELETE", rpath, NULL, 404));
}

/* desk, the CLI: rec start, ls, stop, download, rm, get. Its stdout (to free) and exit status. */
static char *desk(const struct deskd_proc *d, int *st, const char *a1, const char *a2,
        const char *a3, const char *a4) {
    const char *argv[] = {
            DESK_CLI_PATH, "--url", d->url, "--token", SU_TOKEN, "rec", a1, a2, a3, a4, NULL};
    return su_run(argv, 30000, st, NULL);
}

static void cli(const struct deskd_proc *d) {
    int st = -1;
    char *out = desk(d, &st, "start", "cli run", "--json", NULL);
    CHECK_INT(st, 0);
    json_t *j = out ? json_loads(out, 0, NULL) : NULL;
    free(out);
    char id[64], path[1024];
    snprintf(id, sizeof id, "%s", str(j, "id"));
    snprintf(path, sizeof path, "%s", str(j, "filePath"));
    CHECK_STR(str(j, "status"), "recording");
    json_decref(j);
    out = desk(d, &st, "ls", NULL, NULL, NULL);
    char want[128];
    snprintf(want, sizeof want, "%s recording ", id);
    CHECK(st == 0 && out && strstr(out, want), "desk rec ls lists it: %s", out ? out : "");
    free(out);
    /* A batch is one event, its typed text only a length too. */
    json_decref(call(d, "POST", "/computeruse/actions",
            "{\"actions\":[{\"type\":\"type\",\"text\":\"hidden\"}]}", 200));
    wait_fragments(path, 1, 10000);
    out = desk(d, &st, "stop", id, NULL, NULL);
    snprintf(want, sizeof want, "%s completed ", id);
    CHECK(st == 0 && out && strncmp(out, want, strlen(want)) == 0, "desk rec stop: %s",
            out ? out : "");
    free(out);
    char copy[1100];
    snprintf(copy, sizeof copy, "%s/../cli-copy.mp4", dir);
    char epath[256];
    snprintf(epath, sizeof epath, "/computeruse/recordings/%s/events", id);
    j = call(d, "GET", epath, NULL, 200);
    json_t *ev = json_array_get(json_object_get(j, "events"), 0);
    json_t *act = json_array_get(json_object_get(json_object_get(ev, "params"), "actions"), 0);
    CHECK_STR(str(ev, "route"), "/computeruse/actions");
    CHECK(json_object_get(act, "text") == NULL &&
                    json_integer_value(json_object_get(act, "textLength")) == 6,
            "the batch's text is only its length");
    json_decref(j);
    free(desk(d, &st, "download", id, "-o", copy));
    CHECK_INT(st, 0);
    size_t a = 0, b = 0;
    char *fa = read_file(path, &a), *fb = read_file(copy, &b);
    CHECK(fa && fb && a == b && a > 0 && memcmp(fa, fb, a) == 0,
            "desk rec download wrote the recording (%zu of %zu bytes)", b, a);
    free(fa);
    free(fb);
    unlink(copy);
    free(desk(d, &st, "rm", id, NULL, NULL));
    CHECK_INT(st, 0);
    CHECK(file_size(path) < 0, "desk rec rm removed %s", path);
    free(desk(d, &st, "get", id, NULL, NULL));
    CHECK_INT(st, 1);
    free(desk(d, &st, "rm", NULL, NULL, NULL));
    CHECK_INT(st, 2);
}

/* ffmpeg killed mid-recording: failed, with why, and the file plays up to the kill. */
static void ffmpeg_killed(const struct deskd_proc *d) {
    json_t *j = call(d, "POST", "/computeruse/recordings/start", NULL, 201);
    char id[64], path[1024];
    snprintf(id, sizeof id, "%s", str(j, "id"));
    snprintf(path, sizeof path, "%s", str(j, "filePath"));
    json_decref(j);
    CHECK(strstr(path, "_session_") != NULL, "no label: %s", path);
    wait_fragments(path, 2, 10000);
    pid_t ff = su_cmdline_has(path, true, 0);
    CHECK(ff > 0, "ffmpeg records into %s", path);
    if (ff > 0)
        kill(ff, SIGKILL);
    j = wait_status(d, id, "failed", 10000);
    CHECK(strstr(str(j, "reason"), "killed by signal 9 (SIGKILL)") != NULL, "reason: %s",
            str(j, "reason"));
    CHECK(json_object_get(j, "endTime") != NULL, "a failed recording has an endTime");
    json_decref(j);
    char codec[32];
    int w = 0, h = 0;
    double dur = 0;
    CHECK(probe(path, codec, &w, &h, &dur), "ffprobe reads the cut file");
    CHECK_STR(codec, "h264");
    CHECK(dur >= 0.5, "the cut file plays %.3f s", dur);
    CHECK(decodes(path), "the cut file decodes");
    /* Stop answers what happened; delete works on it. */
    char body[128], rpath[256];
    snprintf(body, sizeof body, "{\"id\":\"%s\"}", id);
    j = call(d, "POST", "/computeruse/recordings/stop", body, 200);
    CHECK_STR(str(j, "status"), "failed");
    json_decref(j);
    snprintf(rpath, sizeof rpath, "/computeruse/recordings/%s", id);
    json_decref(call(d, "DELETE", rpath, NULL, 204));
}

/*
 * A client that hangs up before start answers never learns the id: the
 * recording it asked for is stopped rather than left running unseen.
 */
static void start_hung_up(const struct deskd_proc *d) {
    char url[512], auth[128];
    snprintf(url, sizeof url, "%s/computeruse/recordings/start", d->url);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", SU_TOKEN);
    json_t *before = call(d, "GET", "/computeruse/recordings", NULL, 200);
    int had = (int)json_array_size(json_object_get(before, "recordings"));
    pid_t pid = fork();
    if (pid == 0) {
        execlp("curl", "curl", "-s", "-o", "/dev/null", "-m", "0.01", "-XPOST", "-H", auth, url,
                (char *)NULL);
        _exit(127);
    }
    CHECK(pid > 0, "curl started");
    if (pid > 0)
        waitpid(pid, NULL, 0);
    int running = -1, listed = 0;
    for (int waited = 0; waited < 15000; waited += 100) {
        json_t *j = call(d, "GET", "/computeruse/recordings", NULL, 200);
        json_t *list = json_object_get(j, "recordings");
        running = 0;
        listed = (int)json_array_size(list);
        for (size_t i = 0; i < json_array_size(list); i++)
            running += strcmp(str(json_array_get(list, i), "status"), "recording") == 0;
        json_decref(j);
        if (listed > had && running == 0)
            break;
        usleep(100 * 1000);
    }
    CHECK(listed == had + 1 && running == 0,
            "the recording of a client that hung up was stopped: %d listed (%d before), %d "
            "running",
            listed, had, running);
    /* The new file goes, so that the directory is as the next cases expect it. */
    json_t *now = call(d, "GET", "/computeruse/recordings", NULL, 200);
    json_t *list = json_object_get(now, "recordings"), *old = json_object_get(before, "recordings");
    for (size_t i = 0; i < json_array_size(list); i++) {
        const char *id = str(json_array_get(list, i), "id");
        bool seen = false;
        for (size_t k = 0; k < json_array_size(old); k++)
            seen = seen || strcmp(id, str(json_array_get(old, k), "id")) == 0;
        char rpath[256];
        snprintf(rpath, sizeof rpath, "/computeruse/recordings/%s", id);
        if (!seen)
            json_decref(call(d, "DELETE", rpath, NULL, 204));
    }
    json_decref(now);
    json_decref(before);
}

/* The concurrency limit, and deskd stopping with recordings running: both finished first. */
static void limit_and_shutdown(struct deskd_proc *d) {
    char paths[2][1024];
    for (int i = 0; i < 2; i++) {
        json_t *j = call(d, "POST", "/computeruse/recordings/start", NULL, 201);
        snprintf(paths[i], sizeof paths[i], "%s", str(j, "filePath"));
        json_decref(j);
    }
    json_t *j = call(d, "POST", "/computeruse/recordings/start", NULL, 409);
    CHECK_STR(str(j, "code"), "RECORDING_LIMIT");
    CHECK(strstr(str(j, "message"), "2 recordings") != NULL, "message: %s", str(j, "message"));
    json_decref(j);
    wait_fragments(paths[0], 2, 10000);
    CHECK_INT(deskd_stop(d), 0);
    for (int i = 0; i < 2; i++) {
        char vtt[1100];
        snprintf(vtt, sizeof vtt, "%.*s.vtt", (int)strlen(paths[i]) - 4, paths[i]);
        CHECK(file_size(vtt) > 0, "the recording was finished before deskd exited (%s)", vtt);
        CHECK(decodes(paths[i]), "%s decodes", paths[i]);
        unlink(paths[i]);
        unlink(vtt);
    }
}

/* deskd killed mid-recording: the file plays, and the next deskd lists it as completed. */
static void deskd_killed(const char *dpy_name) {
    struct deskd_proc d;
    const char *args[] = {"--attach", "--display", dpy_name, "--token", SU_TOKEN,
            "--recordings-dir", dir, "--recordings-max", "2", "--record-text", NULL};
    if (deskd_start(&d, dpy_name, args) < 0) {
        CHECK(false, "deskd started");
        return;
    }
    json_t *j = call(&d, "POST", "/computeruse/recordings/start", "{\"label\":\"crash\"}", 201);
    char id[64], path[1024];
    snprintf(id, sizeof id, "%s", str(j, "id"));
    snprintf(path, sizeof path, "%s", str(j, "filePath"));
    json_decref(j);
    json_decref(call(&d, "POST", "/computeruse/mouse/move", "{\"x\":5,\"y\":6}", 200));
    json_decref(call(&d, "POST", "/computeruse/keyboard/type", "{\"text\":\"abc\"}", 200));
    wait_fragments(path, 2, 10000);
    pid_t ff = su_cmdline_has(path, true, 0);
    kill(d.pid, SIGKILL);
    waitpid(d.pid, NULL, 0);
    d.pid = 0;
    /* ffmpeg dies with it (its parent-death signal): wait for that. */
    int64_t end = su_ms() + 5000;
    while (ff > 0 && kill(ff, 0) == 0 && su_ms() < end) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    CHECK(ff > 0 && kill(ff, 0) < 0, "ffmpeg %d ended with deskd", (int)ff);
    char codec[32];
    int w = 0, h = 0;
    double dur = 0;
    CHECK(probe(path, codec, &w, &h, &dur) && dur >= 0.5,
            "the file of a killed deskd plays (%.3f s)", dur);
    CHECK(decodes(path), "it decodes");

    if (deskd_start(&d, dpy_name, args) < 0) {
        CHECK(false, "the next deskd started");
        return;
    }
    j = call(&d, "GET", "/computeruse/recordings", NULL, 200);
    json_t *rec = json_array_get(json_object_get(j, "recordings"), 0);
    CHECK_INT(json_array_size(json_object_get(j, "recordings")), 1);
    CHECK_STR(str(rec, "id"), id);
    CHECK_STR(str(rec, "status"), "completed");
    CHECK_INT(json_integer_value(json_object_get(rec, "sizeBytes")), file_size(path));
    CHECK_STR(str(rec, "startTime"), str(rec, "endTime"));
    json_decref(j);
    /* Its events survived too, and the chapters are written for it now. */
    char epath[256];
    snprintf(epath, sizeof epath, "/computeruse/recordings/%s/events", id);
    j = call(&d, "GET", epath, NULL, 200);
    json_t *ev = json_array_get(json_object_get(j, "events"), 0);
    CHECK_STR(str(ev, "route"), "/computeruse/mouse/move");
    /* --record-text: the typed text is kept. */
    ev = json_array_get(json_object_get(j, "events"), 1);
    CHECK_STR(str(json_object_get(ev, "params"), "text"), "abc");
    CHECK(file_size(str(j, "chapters")) > 0, "chapters written for it: %s", str(j, "chapters"));
    json_decref(j);

    limit_and_shutdown(&d);
}

/* No ffmpeg on deskd's PATH: 503 with Daytona's code, and nothing made. */
static void no_ffmpeg(const char *dpy_name) {
    char *old = strdup(getenv("PATH") ? getenv("PATH") : "");
    setenv("PATH", "/nonexistent", 1);
    struct deskd_proc d;
    char nodir[400];
    snprintf(nodir, sizeof nodir, "%s/none", dir);
    const char *args[] = {"--attach", "--display", dpy_name, "--token", SU_TOKEN,
            "--recordings-dir", nodir, NULL};
    int rc = deskd_start(&d, dpy_name, args);
    setenv("PATH", old, 1);
    free(old);
    if (rc < 0) {
        CHECK(false, "deskd started");
        return;
    }
    json_t *j = call(&d, "POST", "/computeruse/recordings/start", NULL, 503);
    CHECK_STR(str(j, "code"), "RECORDING_FFMPEG_NOT_FOUND");
    CHECK_STR(str(j, "error"), "ffmpeg_not_found");
    json_decref(j);
    j = call(&d, "GET", "/computeruse/recordings", NULL, 200);
    CHECK_INT(json_array_size(json_object_get(j, "recordings")), 0);
    json_decref(j);
    CHECK_INT(deskd_stop(&d), 0);
    rmdir(nodir);
}

/* The X server goes away mid-recording: failed, saying so, and the file plays up to then. */
static void x_gone(const struct deskd_proc *d, struct xserver *xs) {
    json_t *j = call(d, "POST", "/computeruse/recordings/start", NULL, 201);
    char id[64], path[1024];
    snprintf(id, sizeof id, "%s", str(j, "id"));
    snprintf(path, sizeof path, "%s", str(j, "filePath"));
    json_decref(j);
    wait_fragments(path, 2, 10000);
    xserver_stop(xs);
    j = wait_status(d, id, "failed", 15000);
    CHECK(strstr(str(j, "reason"), "ended on its own") != NULL, "reason: %s", str(j, "reason"));
    json_decref(j);
    char codec[32];
    int w = 0, h = 0;
    double dur = 0;
    CHECK(probe(path, codec, &w, &h, &dur) && dur >= 0.5,
            "the recording of a display that went away plays (%.3f s)", dur);
    CHECK(decodes(path), "it decodes");
    /* Without a display, start is refused and leaves nothing behind. */
    int before = count_entries(dir);
    j = call(d, "POST", "/computeruse/recordings/start", NULL, 503);
    CHECK_STR(str(j, "code"), "DISPLAY_UNAVAILABLE");
    CHECK(strstr(str(j, "message"), "ffmpeg could not record display") != NULL, "message: %s",
            str(j, "message"));
    json_decref(j);
    CHECK_INT(count_entries(dir), before);
}

int main(void) {
    check_timeout(280);
    check_require_tool("Xvfb");
    check_require_tool("ffmpeg");
    check_require_tool("ffprobe");
    struct xserver xs;
    if (xserver_start_xvfb(&xs, W, H) < 0) {
        CHECK(false, "Xvfb started");
        return check_finish();
    }
    Display *dpy = XOpenDisplay(xs.name);
    char top[256];
    CHECK_INT(su_tmpdir(top, sizeof top, "rec"), 0);
    snprintf(dir, sizeof dir, "%s/recordings", top);
    /* The directory as Daytona names it, by the environment (made at the first start). */
    setenv("DAYTONA_RECORDINGS_DIR", dir, 1);
    struct deskd_proc d;
    const char *args[] = {"--attach", "--display", xs.name, "--token", SU_TOKEN, NULL};
    if (!dpy || deskd_start(&d, xs.name, args) < 0) {
        CHECK(false, "X and deskd started");
        xserver_stop(&xs);
        return check_finish();
    }
    unsetenv("DAYTONA_RECORDINGS_DIR");
    bad_input(&d);
    colours(&d, dpy);
    cli(&d);
    ffmpeg_killed(&d);
    start_hung_up(&d);
    CHECK_INT(deskd_stop(&d), 0);
    deskd_killed(xs.name);
    no_ffmpeg(xs.name);
    XCloseDisplay(dpy);

    const char *again[] = {
            "--attach", "--display", xs.name, "--token", SU_TOKEN, "--recordings-dir", dir, NULL};
    if (deskd_start(&d, xs.name, again) == 0) {
        x_gone(&d, &xs);
        CHECK_INT(deskd_stop(&d), 0);
    } else {
        CHECK(false, "deskd started again");
    }
    xserver_stop(&xs);
    if (check_failed)
        deskd_dump_log(&d);
    else
        su_rm_rf(top);
    return check_finish();
}
