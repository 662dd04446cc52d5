/*
 * api-recordings: Daytona's six recording routes (API.md §14) and the [ext]
 * events route, as HTTP and JSON around recs.c. Daytona's "error" strings are
 * kept as they are ("recording not found"), and "message" carries deskd's
 * sentence with the codes Daytona's SDKs map to their classes.
 *
 * The download is served from the file as the client reads it, with single
 * byte ranges (206, 416) and If-Modified-Since (304), as Go's http.ServeFile
 * behind Daytona's route does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "deskd.h"
#include "log.h"
#include "recs.h"

#define NOT_FOUND "recording not found"

static json_t *dto(const struct recs_info *i) {
    static const char *const status[] = {
            [REC_RECORDING] = "recording", [REC_COMPLETED] = "completed", [REC_FAILED] = "failed"};
    char t[64];
    recs_time(&i->start, t, sizeof t);
    json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "id", i->id, "fileName", i->file_name, "filePath",
            i->path, "startTime", t);
    if (!o)
        return NULL;
    if (i->has_end) {
        recs_time(&i->end, t, sizeof t);
        json_object_set_new(o, "endTime", json_string(t));
    }
    json_object_set_new(o, "status", json_string(status[i->status]));
    if (i->has_duration)
        json_object_set_new(o, "durationSeconds", json_real(i->duration_s));
    if (i->has_size)
        json_object_set_new(o, "sizeBytes", json_integer(i->size));
    /* [ext] why a recording failed: what ffmpeg said last. */
    if (i->reason[0])
        json_object_set_new(o, "reason", json_string(i->reason));
    return o;
}

/* Seconds read best with their meaningful digits (5.345, not 5.3448655399999998). */
static void reply_rec(struct req *r, int status, json_t *root) {
    char *text = root ? json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
    json_decref(root);
    if (!text)
        reply_error(r, ERR_INTERNAL, "out of memory while building the response");
    else
        reply_json_text(r, status, text, strlen(text));
}

static void reply_not_found(struct req *r, const char *id) {
    reply_error_as(r, ERR_NOT_FOUND, NOT_FOUND,
            "recording not found: no recording has id \"%s\" (GET /computeruse/recordings lists "
            "them)",
            id);
}

static void api_rec_start(struct req *r) {
    /* Daytona reads a body that is not JSON, or a label that is not a string, as no label. */
    json_t *body = r->body ? json_loadb(r->body, r->body_len, 0, NULL) : NULL;
    const char *label = json_string_value(json_object_get(body, "label"));
    struct recs_info info;
    char err[256] = "";
    enum recs_result res = recs_start(label, &info, err, sizeof err);
    json_decref(body);
    switch (res) {
    case RECS_OK:
        if (req_client_gone(r)) {
            /* Nobody got its id: left running, it would hold a place of the limit unseen. */
            struct recs_info stopped;
            recs_stop(info.id, &stopped);
            log_msg(LOG_INFO, "recording %s stopped: its client hung up before the answer",
                    info.id);
            break;
        }
        reply_rec(r, 201, dto(&info));
        break;
    case RECS_NO_FFMPEG:
        reply_error_as(r, ERR_RECORDING_FFMPEG_NOT_FOUND, "ffmpeg_not_found",
                "FFmpeg must be installed and available in PATH to use screen recording");
        break;
    case RECS_BAD_LABEL:
        reply_error_as(r, ERR_INVALID_PARAMETER, "invalid_label",
                "invalid label: must be 1-100 characters, cannot start with dot, cannot contain "
                "path separators (/ or \\), and can only contain letters, numbers, spaces, dots, "
                "underscores, and hyphens");
        break;
    case RECS_LIMIT:
        reply_error(r, ERR_RECORDING_LIMIT, "%s", err);
        break;
    case RECS_FFMPEG_FAILED:
        reply_error(r, ERR_DISPLAY_UNAVAILABLE, "%s", err);
        break;
    case RECS_SHUTDOWN:
        reply_error(r, ERR_SHUTTING_DOWN, "deskd is stopping; it starts no recording now");
        break;
    default:
        reply_error(r, ERR_INTERNAL, "%s", err);
        break;
    }
}

static void api_rec_stop(struct req *r) {
    json_t *body = r->body ? json_loadb(r->body, r->body_len, 0, NULL) : NULL;
    const char *id = json_string_value(json_object_get(body, "id"));
    if (!id || !*id) {
        json_decref(body);
        reply_error_as(r, ERR_INVALID_PARAMETER, "invalid request: id is required",
                "invalid request: id is required: send {\"id\": \"<recording id>\"} as the JSON "
                "body");
        return;
    }
    struct recs_info info;
    if (recs_stop(id, &info) == RECS_OK)
        reply_rec(r, 200, dto(&info));
    else
        reply_not_found(r, id);
    json_decref(body);
}

static void api_rec_list(struct req *r) {
    struct recs_info *list = NULL;
    size_t n = 0;
    char err[512];
    if (recs_list(&list, &n, err, sizeof err) != RECS_OK) {
        reply_error(r, ERR_INTERNAL, "%s", err);
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, dto(&list[i]));
    free(list);
    reply_rec(r, 200, json_pack("{s:o}", "recordings", arr));
}

static void api_rec_get(struct req *r) {
    struct recs_info info;
    if (recs_get(r->path_param, &info) == RECS_OK)
        reply_rec(r, 200, dto(&info));
    else
        reply_not_found(r, r->path_param);
}

static void api_rec_delete(struct req *r) {
    char err[512] = "";
    switch (recs_delete(r->path_param, err, sizeof err)) {
    case RECS_OK:
        reply_bytes(r, 204, "application/json", "", 0, NULL);
        break;
    case RECS_NOT_FOUND:
        reply_not_found(r, r->path_param);
        break;
    case RECS_ACTIVE:
        reply_error_as(r, ERR_RECORDING_STILL_ACTIVE,
                "cannot delete an active recording, stop it first",
                "cannot delete an active recording, stop it first (POST "
                "/computeruse/recordings/stop with {\"id\": \"%s\"})",
                r->path_param);
        break;
    default:
        reply_error_as(r, ERR_INTERNAL, err, "%s", err);
        break;
    }
}

/* An HTTP date (RFC 9110 IMF-fixdate). */
static void http_date(time_t t, char *buf, size_t len) {
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, len, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

/* -1 when absent or not an HTTP date (then it is ignored, as RFC 9110 says). */
static time_t parse_http_date(const char *s) {
    struct tm tm = {0};
    const char *end = s ? strptime(s, "%a, %d %b %Y %H:%M:%S GMT", &tm) : NULL;
    return end && !*end ? timegm(&tm) : (time_t)-1;
}

/*
 * A single byte range of a file of size bytes: 1 with [*from, *from + *len),
 * 0 when there is no Range to honour (absent, several ranges, another unit:
 * the whole file is sent), -1 when it cannot be satisfied (416).
 */
static int parse_range(const char *h, uint64_t size, uint64_t *from, uint64_t *len) {
    if (!h || strncmp(h, "bytes=", 6) != 0 || strchr(h, ','))
        return 0;
    const char *s = h + 6;
    while (*s == ' ')
        s++;
    char *end;
    if (*s == '-') {
        /* The last N bytes. */
        errno = 0;
        unsigned long long n = strtoull(s + 1, &end, 10);
        if (end == s + 1 || *end || errno || n == 0 || size == 0)
            return -1;
        *len = n < size ? n : size;
        *from = size - *len;
        return 1;
    }
    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    unsigned long long a = strtoull(s, &end, 10);
    if (*end != '-' || errno || a >= size)
        return -1;
    const char *bs = end + 1;
    unsigned long long b = size - 1;
    if (*bs) {
        if (*bs < '0' || *bs > '9')
            return -1;
        b = strtoull(bs, &end, 10);
        if (*end || errno || b < a)
            return -1;
        if (b >= size)
            b = size - 1;
    }
    *from = a;
    *len = b - a + 1;
    return 1;
}

static void api_rec_download(struct req *r) {
    struct recs_info info;
    if (recs_get(r->path_param, &info) != RECS_OK) {
        reply_not_found(r, r->path_param);
        return;
    }
    int fd = open(info.path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        reply_error_as(r, ERR_NOT_FOUND, "file not found",
                "file not found: the file of recording %s (%s) is gone", r->path_param, info.path);
        return;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        close(fd);
        reply_error(r, ERR_INTERNAL, "cannot read %s: %s", info.path, strerror(errno));
        return;
    }
    uint64_t size = (uint64_t)st.st_size;
    char modified[64], crange[96];
    http_date(st.st_mtim.tv_sec, modified, sizeof modified);
    const char *headers[] = {"Accept-Ranges", "bytes", "Last-Modified", modified, NULL, NULL, NULL};
    time_t since = parse_http_date(req_header(r, "If-Modified-Since"));
    if (since != (time_t)-1 && st.st_mtim.tv_sec <= since) {
        close(fd);
        reply_bytes(r, 304, "video/mp4", "", 0, headers);
        return;
    }
    uint64_t from = 0, len = size;
    int range = parse_range(req_header(r, "Range"), size, &from, &len);
    if (range < 0) {
        close(fd);
        snprintf(crange, sizeof crange, "bytes */%" PRIu64, size);
        headers[4] = "Content-Range";
        headers[5] = crange;
        reply_bytes(r, 416, "text/plain", "", 0, headers);
        return;
    }
    if (range > 0) {
        snprintf(crange, sizeof crange, "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, from,
                from + len - 1, size);
        headers[4] = "Content-Range";
        headers[5] = crange;
    }
    reply_fd(r, range > 0 ? 206 : 200, "video/mp4", fd, from, len, headers);
}

static void api_rec_events(struct req *r) {
    json_t *events = NULL;
    char chapters[1100];
    enum recs_result res = recs_events(r->path_param, &events, chapters, sizeof chapters);
    if (res == RECS_NOT_FOUND) {
        reply_not_found(r, r->path_param);
        return;
    }
    if (res != RECS_OK) {
        reply_error(r, ERR_INTERNAL, "out of memory while reading the events of %s", r->path_param);
        return;
    }
    reply_rec(r, 200,
            json_pack("{s:s, s:o, s:s}", "id", r->path_param, "events", events, "chapters",
                    chapters));
}

void api_recordings_acted(const struct req *r) {
    /* Routes that read their body themselves have no r->json: their parameters all the same. */
    json_t *body = r->json ? NULL : r->body ? json_loadb(r->body, r->body_len, 0, NULL) : NULL;
    recs_note(r->method, r->path, r->json ? r->json : body, r->status, r->start_ns);
    json_decref(body);
}

const struct route api_recordings_routes[] = {
        {"POST", "/computeruse/recordings/start", api_rec_start, 0},
        {"POST", "/computeruse/recordings/stop", api_rec_stop, 0},
        {"GET", "/computeruse/recordings", api_rec_list, 0},
        {"GET", "/computeruse/recordings/*", api_rec_get, 0},
        {"DELETE", "/computeruse/recordings/*", api_rec_delete, 0},
        {"GET", "/computeruse/recordings/*/download", api_rec_download, 0},
        {"GET", "/computeruse/recordings/*/events", api_rec_events, 0},
        {NULL, NULL, NULL, 0},
};
