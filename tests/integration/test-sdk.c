/*
 * Daytona's TypeScript SDK against deskd: the real @daytonaio/sdk (pinned in
 * package.json, installed by npm ci --prefix tests/integration) runs its
 * computer-use calls through sdk.js against a deskd attached to a private
 * Xvfb, and this test checks what the SDK's user sees:
 *   - an unknown process is the SDK's DaytonaProcessNotFoundError (which it
 *     picks from the body's "source": "DAYTONA_DAEMON" and "code":
 *     "PROCESS_NOT_FOUND"), with deskd's sentence as its message;
 *   - a bad parameter is the SDK's class for a 400 (DaytonaBadRequestError,
 *     and the DaytonaValidationError that older callers catch), and the 409
 *     of an attached deskd is DaytonaConflictError, each with deskd's
 *     sentence; none of them a DaytonaInvalidArgumentError, which would mean
 *     the SDK refused the call without asking deskd;
 *   - a screenshot decodes to the painted screen at the Xvfb's size, a mouse
 *     move lands where X says the pointer is, and the process routes parse
 *     as the SDK's types in attached mode;
 *   - computerUse.recording: start with and without a label, list, get,
 *     stop, download (a file of the size stop reported, which ffprobe
 *     plays), delete; deleting a running recording is the SDK's
 *     DaytonaRecordingStillActiveError, a bad label its validation error.
 * node or the SDK missing is a failure, not a skip: CI installs both.
 */
#define _GNU_SOURCE
#include <X11/Xlib.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "deskproc.h"
#include "image.h"
#include "shot.h"
#include "stack-util.h"
#include "xserver.h"

#define W      1000
#define H      700
#define SEED   5u
#define MOVE_X 321
#define MOVE_Y 234

static bool on_path(const char *name) {
    const char *path = getenv("PATH");
    char buf[4096];
    for (const char *p = path ? path : ""; *p;) {
        const char *end = strchr(p, ':');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        snprintf(buf, sizeof buf, "%.*s/%s", (int)n, p, name);
        if (access(buf, X_OK) == 0)
            return true;
        p += n + (end ? 1 : 0);
    }
    return false;
}

/* deskd's own sentence for a request, asked without the SDK ("error" of its body). */
static char *sentence(const struct deskd_proc *d, const char *method, const char *path,
        const char *body, long want_status) {
    json_t *j = NULL;
    long st = su_call(d, method, path, body, body ? "application/json" : NULL, &j);
    CHECK(st == want_status, "%s %s answered %ld, expected %ld", method, path, st, want_status);
    const char *s = json_string_value(json_object_get(j, "error"));
    char *copy = s ? strdup(s) : NULL;
    json_decref(j);
    CHECK(copy != NULL && *copy, "%s %s has an error sentence", method, path);
    return copy;
}

static bool has_class(json_t *err, const char *name) {
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(err, "instanceOf"), i, v) {
        if (json_string_value(v) && strcmp(json_string_value(v), name) == 0)
            return true;
    }
    return false;
}

/*
 * The SDK call named what rejected with an error of class (the exact class
 * the SDK constructed), an instance of each of also[], never of
 * DaytonaInvalidArgumentError, with deskd's status and sentence.
 */
static void check_rejected(json_t *report, const char *what, const char *class,
        const char *const *also, long status, const char *want_msg) {
    json_t *o = json_object_get(report, what);
    CHECK(json_is_false(json_object_get(o, "ok")), "%s: the SDK call rejected", what);
    json_t *err = json_object_get(o, "error");
    const char *got = json_string_value(json_object_get(err, "class"));
    CHECK(got && strcmp(got, class) == 0, "%s: the SDK raised %s, expected %s", what,
            got ? got : "(nothing)", class);
    CHECK(has_class(err, class), "%s: instanceof %s", what, class);
    for (int i = 0; also && also[i]; i++)
        CHECK(has_class(err, also[i]), "%s: instanceof %s", what, also[i]);
    CHECK(!has_class(err, "DaytonaInvalidArgumentError"),
            "%s: the SDK sent the request (not a local argument rejection)", what);
    CHECK_INT(json_integer_value(json_object_get(err, "statusCode")), status);
    const char *msg = json_string_value(json_object_get(err, "message"));
    CHECK(msg && want_msg && strcmp(msg, want_msg) == 0,
            "%s: the SDK's message is \"%s\", deskd's sentence is \"%s\"", what,
            msg ? msg : "(null)", want_msg ? want_msg : "(null)");
}

static json_t *value_of(json_t *report, const char *what) {
    json_t *o = json_object_get(report, what);
    bool ok = json_is_true(json_object_get(o, "ok"));
    CHECK(ok, "%s: the SDK call succeeded (error: %s: %s)", what,
            json_string_value(json_object_get(json_object_get(o, "error"), "class")),
            json_string_value(json_object_get(json_object_get(o, "error"), "message")));
    return ok ? json_object_get(o, "value") : NULL;
}

static void check_screenshot(json_t *report, const char *png_path) {
    json_t *v = value_of(report, "screenshot");
    if (!v)
        return;
    CHECK_INT(json_integer_value(json_object_get(v, "width")), W);
    CHECK_INT(json_integer_value(json_object_get(v, "height")), H);
    CHECK_STR(json_string_value(json_object_get(v, "format")), "png");
    CHECK_INT(json_integer_value(json_object_get(v, "sizeBytes")),
            json_integer_value(json_object_get(v, "decodedBytes")));

    /* The image the SDK handed over, decoded: the Xvfb's size and the painted pattern. */
    FILE *f = fopen(png_path, "rb");
    CHECK(f != NULL, "sdk.js wrote the screenshot to %s", png_path);
    if (!f)
        return;
    uint8_t *data = malloc((size_t)W * H * 4 + 4096);
    size_t len = data ? fread(data, 1, (size_t)W * H * 4 + 4096, f) : 0;
    fclose(f);
    struct image img = {0};
    CHECK_INT(data ? image_decode(data, len, &img) : -1, 0);
    free(data);
    CHECK_STR(img.format, "png");
    CHECK_INT(img.width, W);
    CHECK_INT(img.height, H);
    if (img.rgb && img.width == W && img.height == H) {
        int bad = 0, total = 0;
        for (int y = 3; y < H; y += 61) {
            for (int x = 7; x < W; x += 53, total++) {
                unsigned char want[3];
                pattern_rgb(SEED, x, y, want);
                bad += memcmp(image_px(&img, x, y), want, 3) != 0;
            }
        }
        CHECK(bad == 0, "%d of %d sampled pixels differ from the painted screen", bad, total);
    }
    image_free(&img);
}

static long long size_of(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* What the SDK's recording methods returned, against the files deskd wrote into dir. */
static void check_recordings(json_t *report, const char *dir, const char *mp4) {
    json_t *rec = json_object_get(report, "recording");
    json_t *start = value_of(rec, "start"), *nolabel = value_of(rec, "startNoLabel");
    const char *id = json_string_value(json_object_get(start, "id"));
    const char *path = json_string_value(json_object_get(start, "filePath"));
    CHECK_STR(json_string_value(json_object_get(start, "status")), "recording");
    CHECK(id && strlen(id) == 36, "start answered an id");
    CHECK(path && strncmp(path, dir, strlen(dir)) == 0 && strstr(path, "_sdk run_"),
            "the labelled recording is in %s: %s", dir, path ? path : "(none)");
    const char *name2 = json_string_value(json_object_get(nolabel, "fileName"));
    CHECK(name2 && strstr(name2, "_session_"), "no label names it session: %s",
            name2 ? name2 : "(none)");

    json_t *bad = json_object_get(json_object_get(rec, "badLabel"), "error");
    CHECK(json_is_false(json_object_get(json_object_get(rec, "badLabel"), "ok")),
            "a bad label is refused");
    CHECK(has_class(bad, "DaytonaValidationError"), "a bad label is a DaytonaValidationError");
    CHECK_INT(json_integer_value(json_object_get(bad, "statusCode")), 400);
    const char *bmsg = json_string_value(json_object_get(bad, "message"));
    CHECK(bmsg && strncmp(bmsg, "invalid label: must be 1-100 characters", 39) == 0,
            "the SDK shows Daytona's label sentence: %s", bmsg ? bmsg : "(null)");

    json_t *list = json_object_get(value_of(rec, "list"), "recordings");
    CHECK_INT(json_array_size(list), 2);
    CHECK_STR(json_string_value(json_object_get(value_of(rec, "get"), "id")), id);

    static const char *const active[] = {"DaytonaConflictError", "DaytonaError", NULL};
    json_t *da = json_object_get(json_object_get(rec, "deleteActive"), "error");
    CHECK_STR(json_string_value(json_object_get(da, "class")), "DaytonaRecordingStillActiveError");
    for (int i = 0; active[i]; i++)
        CHECK(has_class(da, active[i]), "deleting a running recording: instanceof %s", active[i]);
    CHECK_INT(json_integer_value(json_object_get(da, "statusCode")), 409);

    json_t *stop = value_of(rec, "stop");
    CHECK_STR(json_string_value(json_object_get(stop, "status")), "completed");
    double dur = json_real_value(json_object_get(stop, "durationSeconds"));
    CHECK(dur >= 1.4 && dur < 5, "durationSeconds %.3f", dur);
    CHECK_STR(json_string_value(json_object_get(value_of(rec, "stopNoLabel"), "status")),
            "completed");

    /* The SDK's download is the file deskd wrote, and it plays at the screen's size. */
    value_of(rec, "download");
    long long want = json_integer_value(json_object_get(stop, "sizeBytes"));
    CHECK(size_of(mp4) > 1000 && size_of(mp4) == want,
            "the download has %lld bytes, stop said %lld", size_of(mp4), want);
    const char *argv[] = {"ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
            "stream=codec_name,width,height", "-of", "csv=p=0", mp4, NULL};
    int st = -1;
    char *probe = su_run(argv, 30000, &st, NULL);
    CHECK(st == 0 && probe && strncmp(probe, "h264,1000,700", 13) == 0,
            "ffprobe reads the download as H.264 1000x700: %s", probe ? probe : "(nothing)");
    free(probe);

    value_of(rec, "delete");
    value_of(rec, "deleteNoLabel");
    CHECK(size_of(path) < 0, "delete removed %s", path ? path : "(none)");
    json_t *gd = json_object_get(json_object_get(rec, "getDeleted"), "error");
    CHECK(has_class(gd, "DaytonaNotFoundError"), "a deleted recording is not found");
    CHECK_INT(json_array_size(json_object_get(value_of(rec, "listAfter"), "recordings")), 0);
}

/* deskd's sentences, asked directly, for the same requests the SDK makes. */
struct sentences {
    char *not_found, *bad_region, *bad_click, *attached;
};

static void ask_sentences(const struct deskd_proc *d, struct sentences *s) {
    s->not_found = sentence(d, "GET", "/computeruse/process/foo/status", NULL, 404);
    s->bad_region = sentence(d, "GET",
            "/computeruse/screenshot/region?height=10&width=0&y=0&x=0&showCursor=false", NULL, 400);
    s->bad_click = sentence(d, "POST", "/computeruse/mouse/click",
            "{\"x\":2000000.5,\"y\":2,\"button\":\"left\",\"double\":false}", 400);
    s->attached = sentence(d, "POST", "/computeruse/process/xvfb/restart", NULL, 409);
    /* Sentences that name what they are about, so equal messages mean something. */
    CHECK(s->not_found && strstr(s->not_found, "\"foo\""), "404 sentence: %s", s->not_found);
    CHECK(s->bad_region && strstr(s->bad_region, "width"), "400 sentence: %s", s->bad_region);
    CHECK(s->bad_click && strstr(s->bad_click, "x must be a number") &&
                    strstr(s->bad_click, "got 2000000.5"),
            "400 sentence: %s", s->bad_click);
}

static void free_sentences(struct sentences *s) {
    free(s->not_found);
    free(s->bad_region);
    free(s->bad_click);
    free(s->attached);
}

/* Runs sdk.js against deskd; its report, or NULL (a failed check says why). */
static json_t *run_sdk(const struct deskd_proc *d, const char *png, const char *mp4) {
    char script[1024], mx[16], my[16];
    snprintf(script, sizeof script, "%s/tests/integration/sdk.js", DESK_SOURCE_DIR);
    snprintf(mx, sizeof mx, "%d", MOVE_X);
    snprintf(my, sizeof my, "%d", MOVE_Y);
    const char *argv[] = {"node", script, d->url, SU_TOKEN, png, mx, my, mp4, NULL};
    int64_t t0 = su_ms();
    int status = -1;
    char *out = su_run(argv, 60000, &status, NULL);
    printf("sdk.js ran in %lld ms\n", (long long)(su_ms() - t0));
    CHECK(out != NULL, "sdk.js finished within 60 s");
    CHECK_INT(status, 0);
    json_error_t jerr;
    json_t *report = out ? json_loads(out, JSON_DISABLE_EOF_CHECK, &jerr) : NULL;
    CHECK(report != NULL, "sdk.js printed a JSON report: %s", out ? out : "(nothing)");
    if (report)
        printf("sdk.js report: %s", out);
    free(out);
    return report;
}

static void check_errors(json_t *report, const struct sentences *s) {
    static const char *const nf[] = {"DaytonaNotFoundError", "DaytonaError", NULL};
    check_rejected(report, "processNotFound", "DaytonaProcessNotFoundError", nf, 404, s->not_found);
    json_t *e = json_object_get(json_object_get(report, "processNotFound"), "error");
    CHECK_STR(json_string_value(json_object_get(e, "code")), "PROCESS_NOT_FOUND");
    CHECK_STR(json_string_value(json_object_get(e, "source")), "DAYTONA_DAEMON");

    static const char *const br[] = {"DaytonaBadRequestError", "DaytonaError", NULL};
    check_rejected(report, "badRegion", "DaytonaValidationError", br, 400, s->bad_region);
    check_rejected(report, "badClick", "DaytonaValidationError", br, 400, s->bad_click);
    static const char *const cf[] = {"DaytonaError", NULL};
    check_rejected(report, "restartAttached", "DaytonaConflictError", cf, 409, s->attached);
}

static void check_successes(json_t *report, const char *png, Display *dpy) {
    check_screenshot(report, png);

    json_t *mv = value_of(report, "move"), *pos = value_of(report, "position");
    CHECK_INT(json_integer_value(json_object_get(mv, "x")), MOVE_X);
    CHECK_INT(json_integer_value(json_object_get(mv, "y")), MOVE_Y);
    CHECK_INT(json_integer_value(json_object_get(pos, "x")), MOVE_X);
    CHECK_INT(json_integer_value(json_object_get(pos, "y")), MOVE_Y);
    /* And X agrees: the pointer really is there. */
    Window root_ret, child;
    int rx = -1, ry = -1, wx, wy;
    unsigned mask;
    XQueryPointer(dpy, DefaultRootWindow(dpy), &root_ret, &child, &rx, &ry, &wx, &wy, &mask);
    CHECK_INT(rx, MOVE_X);
    CHECK_INT(ry, MOVE_Y);

    /* Attached: deskd supervises nothing, so no process runs and the desktop is inactive. */
    json_t *xv = value_of(report, "xvfb");
    CHECK_STR(json_string_value(json_object_get(xv, "processName")), "xvfb");
    CHECK(json_is_false(json_object_get(xv, "running")), "xvfb: running is false");
    CHECK_STR(json_string_value(json_object_get(value_of(report, "status"), "status")), "inactive");
}

int main(void) {
    check_timeout(100); /* under the ctest TIMEOUT of 120, so the watchdog speaks first */
    check_require_tool("Xvfb");
    check_require_tool("ffprobe");
    /* Not skips: CI installs node and runs npm ci (scripts/test), so their absence is a defect. */
    char module[1024];
    snprintf(module, sizeof module, "%s/tests/integration/node_modules/@daytonaio/sdk/package.json",
            DESK_SOURCE_DIR);
    bool have_node = on_path("node"), have_sdk = access(module, R_OK) == 0;
    CHECK(have_node, "node is on PATH (scripts/deps.sh test installs it)");
    CHECK(have_sdk, "@daytonaio/sdk is installed: run npm ci --prefix tests/integration");
    if (!have_node || !have_sdk)
        return check_finish();

    struct xserver xs;
    if (xserver_start_xvfb(&xs, W, H) < 0) {
        CHECK(false, "Xvfb started");
        return check_finish();
    }
    Display *dpy = XOpenDisplay(xs.name);
    CHECK(dpy != NULL, "opened %s", xs.name);
    if (!dpy) {
        xserver_stop(&xs);
        return check_finish();
    }
    CHECK_INT(pattern_paint(dpy, SEED), 0);
    /* Somewhere else than where the SDK will move it, so the move is seen. */
    XWarpPointer(dpy, None, DefaultRootWindow(dpy), 0, 0, 0, 0, 17, 19);
    XSync(dpy, False);

    struct deskd_proc d;
    char top[256], png[300], mp4[300], recdir[300];
    CHECK_INT(su_tmpdir(top, sizeof top, "sdk"), 0);
    snprintf(png, sizeof png, "%s/screenshot.png", top);
    snprintf(mp4, sizeof mp4, "%s/downloads/recording.mp4", top);
    snprintf(recdir, sizeof recdir, "%s/recordings", top);
    const char *args[] = {"--attach", "--display", xs.name, "--token", SU_TOKEN, "--recordings-dir",
            recdir, NULL};
    if (deskd_start(&d, xs.name, args) < 0) {
        CHECK(false, "deskd started");
        XCloseDisplay(dpy);
        xserver_stop(&xs);
        return check_finish();
    }

    struct sentences s;
    ask_sentences(&d, &s);
    json_t *report = run_sdk(&d, png, mp4);
    if (report) {
        CHECK_STR(json_string_value(json_object_get(report, "sdkVersion")), "0.218.0");
        check_errors(report, &s);
        check_successes(report, png, dpy);
        check_recordings(report, recdir, mp4);
    }
    json_decref(report);
    free_sentences(&s);

    CHECK_INT(deskd_stop(&d), 0);
    XCloseDisplay(dpy);
    xserver_stop(&xs);
    if (check_failed)
        deskd_dump_log(&d);
    else
        su_rm_rf(top);
    return check_finish();
}
