/*
 * libdesk: the C client of deskd's computer-use API (the HTTP/JSON contract in API.md,
 * wire-compatible with Daytona's sandbox computer-use toolbox). One function per route.
 *
 * Conventions, true of every function below unless its comment says otherwise:
 *
 * - A client handle (desk_client) is made once and reused: it keeps its HTTP connection
 *   alive between calls. One handle is used by one thread at a time; separate handles are
 *   independent and may be used from different threads at once.
 * - Every call returns DESK_OK or an error status, and records the outcome on the handle:
 *   desk_last_error() gives a sentence (the server's own when it sent one),
 *   desk_last_http_status() the HTTP status, desk_last_error_code() the server's code.
 * - A NULL client is accepted and gives DESK_ERR_INVALID_ARG (nowhere to record more).
 * - What a function returns through T **out belongs to the caller, who frees it with the
 *   matching desk_*_free (each accepts NULL). On failure *out is set to NULL. Strings read
 *   from the handle are borrowed until the next call on it.
 * - The library never prints, never exits and never reads the environment (no proxy from
 *   http_proxy either: requests go straight to the URL given).
 */
#ifndef DESK_DESK_H
#define DESK_DESK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version of this header. DESK_VERSION_NUM is 0xMMmmpp, for #if comparisons. */
#define DESK_VERSION_MAJOR  0
#define DESK_VERSION_MINOR  1
#define DESK_VERSION_PATCH  0
#define DESK_VERSION_STRING "0.1.0"
#define DESK_VERSION_NUM                                                                           \
    ((DESK_VERSION_MAJOR << 16) | (DESK_VERSION_MINOR << 8) | DESK_VERSION_PATCH)

#if defined(__GNUC__)
#define DESK_EXPORT __attribute__((visibility("default")))
#else
#define DESK_EXPORT
#endif

/*
 * One status for the whole API. Append-only: values never change meaning or number.
 * 0 is success; client-side failures come first, then one status per HTTP error class.
 */
enum desk_status {
    DESK_OK = 0,
    DESK_ERR_INVALID_ARG = 1,     /* the caller passed an argument the client refuses */
    DESK_ERR_NOMEM = 2,           /* out of memory */
    DESK_ERR_URL = 3,             /* the base URL is not an http:// or https:// URL */
    DESK_ERR_CONNECT = 4,         /* no connection: refused, unreachable, name not resolved */
    DESK_ERR_TIMEOUT = 5,         /* the connect or total timeout expired */
    DESK_ERR_TRANSPORT = 6,       /* the connection failed mid-way (reset, TLS, truncated) */
    DESK_ERR_PROTOCOL = 7,        /* the reply is not JSON, or not the shape API.md promises */
    DESK_ERR_TOO_LARGE = 8,       /* the reply is over the handle's size cap */
    DESK_ERR_BAD_REQUEST = 9,     /* HTTP 400: the server rejected a parameter */
    DESK_ERR_UNAUTHORIZED = 10,   /* HTTP 401: missing or wrong token */
    DESK_ERR_NOT_FOUND = 11,      /* HTTP 404: unknown route or object (process name) */
    DESK_ERR_METHOD = 12,         /* HTTP 405 */
    DESK_ERR_CONFLICT = 13,       /* HTTP 409: not possible in the desktop's current state */
    DESK_ERR_BODY_TOO_LARGE = 14, /* HTTP 413: the request body is over the server's cap */
    DESK_ERR_UNAVAILABLE = 15,    /* HTTP 503: the desktop (X display) is not running */
    DESK_ERR_SERVER = 16,         /* HTTP 500: an internal fault in the server */
    DESK_ERR_HTTP = 17,           /* any other non-2xx HTTP status */
    DESK_ERR_NOT_READY = 18,      /* 503 NOT_READY: a desktop process could not become ready */
    DESK_ERR_SHUTTING_DOWN = 19,  /* 503 SHUTTING_DOWN: deskd is stopping */
    DESK_ERR_CANCELLED = 20,      /* 503 CANCELLED: the request was dropped before it completed */
    DESK_ERR_NO_KEYCODE = 21,     /* 503 NO_SPARE_KEYCODE: no keycode free for a character */
    DESK_ERR_BUSY = 22,           /* 503 INPUT_BUSY: too much input queued; retry later */
    DESK_ERR_NO_RESPONSE = 23,    /* 504: the window manager or an X client did not act in time */
};

/* A short English sentence for a status; never NULL ("unknown status" for unknown values). */
DESK_EXPORT const char *desk_strerror(enum desk_status status);
/* The enumerator's name, e.g. "DESK_ERR_CONNECT"; never NULL ("DESK_UNKNOWN" when unknown). */
DESK_EXPORT const char *desk_status_name(enum desk_status status);
/* The library's version as DESK_VERSION_NUM and as a string, to compare with the header's. */
DESK_EXPORT unsigned desk_version(void);
DESK_EXPORT const char *desk_version_string(void);

/* ---- the client handle ------------------------------------------------------------------ */

typedef struct desk_client desk_client;

#define DESK_DEFAULT_URL "http://127.0.0.1:2280"

/*
 * Makes a handle for the deskd at base_url ("http://HOST:PORT", optionally with a path
 * prefix; NULL means DESK_DEFAULT_URL). Nothing is sent yet. Returns NULL only when memory
 * runs out or libcurl cannot initialise. A URL that is not http(s) still gives a handle,
 * hiredis-style: its desk_last_status() is DESK_ERR_URL and every call on it fails with
 * DESK_ERR_URL. Defaults: no token, connect timeout 5 s, total timeout 60 s, reply cap 256 MiB,
 * binary screenshots.
 */
DESK_EXPORT desk_client *desk_client_new(const char *base_url);
/* Closes the connection and frees the handle. NULL is accepted. */
DESK_EXPORT void desk_client_free(desk_client *c);
/* The normalised base URL (no trailing '/'); borrowed for the handle's life. NULL for NULL. */
DESK_EXPORT const char *desk_client_url(const desk_client *c);

/* The bearer token sent on every request; NULL or "" sends none. The string is copied. */
DESK_EXPORT enum desk_status desk_client_set_token(desk_client *c, const char *token);
/*
 * Timeouts in milliseconds: connect_ms for establishing a connection, total_ms for a whole
 * call. 0 means no limit; negative values are DESK_ERR_INVALID_ARG.
 */
DESK_EXPORT enum desk_status desk_client_set_timeouts(
        desk_client *c, long connect_ms, long total_ms);
/* Largest reply body accepted, in bytes (at least 1024); larger ones fail DESK_ERR_TOO_LARGE. */
DESK_EXPORT enum desk_status desk_client_set_max_reply(desk_client *c, size_t bytes);
/*
 * true (the default): screenshots are fetched as image bytes (deskd's [ext] binary form,
 * Accept: image/...). false: they are fetched in the JSON form with base64 and decoded here,
 * as Daytona's own server answers. Both give the same struct desk_image.
 */
DESK_EXPORT enum desk_status desk_client_set_binary_screenshots(desk_client *c, bool binary);
/* How many TCP connections the handle has opened so far (1 while keep-alive holds). */
DESK_EXPORT long desk_client_connections(const desk_client *c);

/* ---- the last call's outcome ------------------------------------------------------------ */

/* The status of the last call (DESK_ERR_INVALID_ARG for NULL). */
DESK_EXPORT enum desk_status desk_last_status(const desk_client *c);
/* The HTTP status of the last call's reply, 0 when none arrived. */
DESK_EXPORT long desk_last_http_status(const desk_client *c);
/*
 * The last call's error sentence: the server's "error" text for HTTP errors, else the
 * client's own; "" after success. Never NULL; borrowed until the next call on c.
 */
DESK_EXPORT const char *desk_last_error(const desk_client *c);
/* The server's machine-readable "code" (e.g. "INVALID_PARAMETER"), "" when none. Never NULL. */
DESK_EXPORT const char *desk_last_error_code(const desk_client *c);

/* Frees a string the library returned (logs, versions). NULL is accepted. */
DESK_EXPORT void desk_free(void *p);

/* ---- common types ----------------------------------------------------------------------- */

struct desk_point {
    int x, y;
};

struct desk_rect {
    int x, y, width, height;
};

/* ---- health ----------------------------------------------------------------------------- */

/*
 * GET /healthz: needs no token and no desktop. On success *version (when version is not
 * NULL) is the server's version string, freed with desk_free.
 */
DESK_EXPORT enum desk_status desk_health(desk_client *c, char **version);

/* ---- screenshots ------------------------------------------------------------------------ */

enum desk_image_format {
    DESK_IMAGE_PNG = 0,
    DESK_IMAGE_JPEG = 1,
    DESK_IMAGE_WEBP = 2,
};

/* "png", "jpeg", "webp"; NULL for an unknown value. */
DESK_EXPORT const char *desk_image_format_name(enum desk_image_format format);

/* Options of the compressed routes. Zeroed means PNG, server-default quality, no scaling. */
struct desk_compress {
    enum desk_image_format format;
    int quality;      /* 1..100; 0 = the server's default (85) */
    double scale;     /* 0.1..1.0; 0 = 1.0 */
    bool show_cursor; /* draw the pointer and report its position */
};

/* A screenshot: the encoded image bytes (PNG, JPEG or WebP file contents, not base64). */
struct desk_image {
    unsigned char *data;
    size_t size;
    enum desk_image_format format;
    int width, height;        /* of the image (after scaling) */
    struct desk_rect region;  /* the captured screen rectangle */
    bool has_cursor;          /* whether the server reported the pointer's position */
    struct desk_point cursor; /* in the image's space: relative to the region, then scaled */
    /* [ext] Added in 0.1: images are only made by the library, so these may grow. */
    unsigned long long frame_id; /* names the screen contents shown (frameId); 0: not sent */
    /*
     * true: the answer to if_changed_since was "not modified" (HTTP 304): data is NULL,
     * size and the sizes are 0, and nothing in the region changed since that frame.
     */
    bool unchanged;
};

/*
 * GET /computeruse/screenshot: the full screen as PNG. The pointer's position is always
 * reported; show_cursor also draws it. On success *out is a new image.
 */
DESK_EXPORT enum desk_status desk_screenshot(
        desk_client *c, bool show_cursor, struct desk_image **out);
/* GET /computeruse/screenshot/region: region must not be NULL (width, height 1..8192). */
DESK_EXPORT enum desk_status desk_screenshot_region(
        desk_client *c, const struct desk_rect *region, bool show_cursor, struct desk_image **out);
/* GET /computeruse/screenshot/compressed; opt NULL means all defaults (PNG). */
DESK_EXPORT enum desk_status desk_screenshot_compressed(
        desk_client *c, const struct desk_compress *opt, struct desk_image **out);
/* GET /computeruse/screenshot/region/compressed; region must not be NULL, opt may be. */
DESK_EXPORT enum desk_status desk_screenshot_region_compressed(desk_client *c,
        const struct desk_rect *region, const struct desk_compress *opt, struct desk_image **out);
/* Frees an image and its bytes. NULL is accepted. */
DESK_EXPORT void desk_image_free(struct desk_image *img);

/*
 * [ext] Every screenshot option deskd knows (API.md §3, §7, §10). Zeroed means the full
 * screen as PNG through the uncompressed route.
 */
struct desk_shot_options {
    const struct desk_rect *region; /* NULL: the full screen */
    bool compressed;                /* the /compressed routes: format and quality apply */
    enum desk_image_format format;
    int quality;       /* 1..100; 0 = the server's default (85) */
    double scale;      /* 0.1..1.0; 0 = none (not with a fit) */
    const char *fit;   /* "xga" (1024x768), "wxga" (1280x800), "fwxga" (1366x768); NULL: none */
    int max_long_edge; /* > 0: the image's longer side at most this */
    long max_pixels;   /* > 0: width * height at most this */
    bool show_cursor;
    /* > 0: answer "unchanged" (image->unchanged) when nothing in the region changed since. */
    unsigned long long if_changed_since;
};

/*
 * [ext] A screenshot with any options. On success *out is a new image; with
 * if_changed_since it may be an "unchanged" image without bytes (still freed with
 * desk_image_free). A fitted or scaled image shows opt->region (or the screen) in
 * width x height pixels: map its points with the space of API.md §10.
 */
DESK_EXPORT enum desk_status desk_screenshot_ex(
        desk_client *c, const struct desk_shot_options *opt, struct desk_image **out);

/* ---- [ext] frames, changes and waiting (API.md §7, §8) ---------------------------------- */

/* The most rectangles an answer carries (deskd merges beyond it). */
#define DESK_CHANGES_MAX 32

struct desk_changes {
    unsigned long long frame_id; /* the frame now */
    bool changed;
    bool complete; /* false: the server's history did not reach back; regions is the screen */
    int count;
    struct desk_rect regions[DESK_CHANGES_MAX]; /* merged, clipped to the screen */
};

/* GET /computeruse/screen/changes: what changed after frame since (from an earlier answer). */
DESK_EXPORT enum desk_status desk_screen_changes(
        desk_client *c, unsigned long long since, struct desk_changes *out);

enum desk_wait_until {
    DESK_WAIT_STABLE = 0,  /* until the region had no change for stable_ms */
    DESK_WAIT_CHANGED = 1, /* until the region changed after since */
};

struct desk_wait_options {
    enum desk_wait_until until;
    int stable_ms;                  /* 10..10000; 0 = the server's default (300) */
    int timeout_ms;                 /* 1..60000; 0 = the server's default (5000) */
    unsigned long long since;       /* changed: after this frame; 0 = from the call */
    const struct desk_rect *region; /* NULL: the whole screen */
};

struct desk_wait_result {
    bool changed, stable, timed_out; /* a timeout is DESK_OK with timed_out set */
    long waited_ms;
    struct desk_changes changes; /* frame_id at the return; what changed during the wait */
};

/*
 * POST /computeruse/wait: returns when the screen (region) is stable or changed, or at
 * the timeout. The handle's total timeout must exceed timeout_ms.
 */
DESK_EXPORT enum desk_status desk_wait(
        desk_client *c, const struct desk_wait_options *opt, struct desk_wait_result *out);

/* ---- mouse ------------------------------------------------------------------------------ */

enum desk_button {
    DESK_BUTTON_LEFT = 0,
    DESK_BUTTON_MIDDLE = 1,
    DESK_BUTTON_RIGHT = 2,
    DESK_BUTTON_BACK = 3,    /* [ext] X button 8 */
    DESK_BUTTON_FORWARD = 4, /* [ext] X button 9 */
};

/*
 * [ext] The coordinates of pointer calls as pixels of a width x height image
 * showing region of the screen (API.md §10), e.g. a scaled screenshot: deskd
 * maps them to the screen and answers positions in the same space. A region
 * with width 0 is the whole screen.
 */
struct desk_space {
    int width, height;
    struct desk_rect region;
};

/*
 * [ext] Pointer calls of c (move, click, drag, scroll, down, up) send their
 * coordinates in space s from now on, and read positions in it; NULL goes back to screen
 * pixels. s is copied.
 */
DESK_EXPORT enum desk_status desk_client_set_space(desk_client *c, const struct desk_space *s);

enum desk_scroll {
    DESK_SCROLL_UP = 0,
    DESK_SCROLL_DOWN = 1,
    DESK_SCROLL_LEFT = 2,  /* [ext] */
    DESK_SCROLL_RIGHT = 3, /* [ext] */
};

/* GET /computeruse/mouse/position. out must not be NULL. */
DESK_EXPORT enum desk_status desk_mouse_position(desk_client *c, struct desk_point *out);
/* POST /computeruse/mouse/move; *pos (when pos is not NULL) is where the pointer ended up. */
DESK_EXPORT enum desk_status desk_mouse_move(desk_client *c, int x, int y, struct desk_point *pos);
/* POST /computeruse/mouse/click; double_click is a real double click. pos may be NULL. */
DESK_EXPORT enum desk_status desk_mouse_click(desk_client *c, int x, int y, enum desk_button button,
        bool double_click, struct desk_point *pos);
/*
 * POST /computeruse/mouse/drag: press at (x1, y1), move, release at (x2, y2). pos (may be
 * NULL) is where the pointer ended up.
 */
DESK_EXPORT enum desk_status desk_mouse_drag(desk_client *c, int x1, int y1, int x2, int y2,
        enum desk_button button, struct desk_point *pos);
/* POST /computeruse/mouse/scroll; amount >= 0 (0 means 1). */
DESK_EXPORT enum desk_status desk_mouse_scroll(
        desk_client *c, int x, int y, enum desk_scroll direction, int amount);
/* [ext] POST /computeruse/mouse/click with "clicks" 1..3 (3: a triple click). pos may be NULL. */
DESK_EXPORT enum desk_status desk_mouse_click_n(
        desk_client *c, int x, int y, enum desk_button button, int clicks, struct desk_point *pos);
/*
 * [ext] POST /computeruse/mouse/down and /mouse/up: press or release button, at (at->x,
 * at->y) when at is not NULL. The button stays down after mouse/down answers, until
 * mouse/up, desk_input_release or the server's hold timeout (DESK_HOLD_TIMEOUT, 60 s).
 */
DESK_EXPORT enum desk_status desk_mouse_down(
        desk_client *c, enum desk_button button, const struct desk_point *at);
DESK_EXPORT enum desk_status desk_mouse_up(
        desk_client *c, enum desk_button button, const struct desk_point *at);

/* ---- keyboard --------------------------------------------------------------------------- */

/*
 * POST /computeruse/keyboard/type: types UTF-8 text (must not be NULL) whatever the layout;
 * delay_ms >= 0 is waited after each character.
 */
DESK_EXPORT enum desk_status desk_keyboard_type(desk_client *c, const char *text, int delay_ms);
/*
 * POST /computeruse/keyboard/key: taps key (must not be NULL) with nmods modifiers held
 * ("ctrl", "alt", "shift", "cmd"); modifiers may be NULL when nmods is 0.
 */
DESK_EXPORT enum desk_status desk_keyboard_key(
        desk_client *c, const char *key, const char *const *modifiers, size_t nmods);
/* POST /computeruse/keyboard/hotkey: one chord such as "ctrl+shift+t" (must not be NULL). */
DESK_EXPORT enum desk_status desk_keyboard_hotkey(desk_client *c, const char *keys);
/*
 * [ext] POST /computeruse/keyboard/down and /keyboard/up: press or release one key ("shift",
 * "a"); it stays down until keyboard/up, desk_input_release or the hold timeout.
 */
DESK_EXPORT enum desk_status desk_keyboard_down(desk_client *c, const char *key);
DESK_EXPORT enum desk_status desk_keyboard_up(desk_client *c, const char *key);

/* [ext] What is down on the X server, whoever pressed it (GET /computeruse/input/held). */
struct desk_held {
    char **keys; /* keysym names ("Shift_L"), nkeys of them */
    size_t nkeys;
    char **buttons; /* "left", "middle", "right", "back", "forward"... */
    size_t nbuttons;
};
/* On success *out is new, freed with desk_held_free. */
DESK_EXPORT enum desk_status desk_input_held(desk_client *c, struct desk_held **out);
DESK_EXPORT void desk_held_free(struct desk_held *h);
/* [ext] POST /computeruse/input/release: releases every key and button deskd holds. */
DESK_EXPORT enum desk_status desk_input_release(desk_client *c);

/* ---- [ext] many actions in one request (POST /computeruse/actions) ---------------------- */

/*
 * A batch, built by the desk_act_* calls in the order the actions are to run, then sent by
 * desk_actions_run as one request: deskd checks it all before anything happens, runs it with
 * no other request's input in between, and stops at the first failure with every key and
 * button the batch pressed released. For example:
 *
 *     desk_actions *a = desk_actions_new();
 *     desk_act_click(a, 512, 300, DESK_BUTTON_LEFT, 1);
 *     desk_act_type(a, "hello\n");
 *     desk_act_hotkey(a, "ctrl+s");
 *     desk_actions_observe(a, &(struct desk_compress){.format = DESK_IMAGE_JPEG});
 *     struct desk_actions_result *res;
 *     if (desk_actions_run(c, a, &res) == DESK_OK) ...
 *     desk_actions_free(a);
 *
 * The builder calls return a and never fail; a mistake (an allocation failure, NULL text)
 * is kept and reported by desk_actions_run as DESK_ERR_INVALID_ARG or DESK_ERR_NOMEM.
 * Coordinates are doubles: in a space (desk_actions_space, or the client's) they may have
 * fractions. Batches are not thread-safe; one batch may be run many times.
 */
typedef struct desk_actions desk_actions;

DESK_EXPORT desk_actions *desk_actions_new(void);
/*
 * A batch from the JSON of the route's body: {"actions": [...], "space"?, "observe"?}, or
 * the list of actions alone. Text that is neither is kept as a builder mistake. NULL only
 * when out of memory.
 */
DESK_EXPORT desk_actions *desk_actions_from_json(const char *json);
DESK_EXPORT void desk_actions_free(desk_actions *a);
/* The space of the batch's coordinates (else the client's, else screen pixels); NULL clears. */
DESK_EXPORT desk_actions *desk_actions_space(desk_actions *a, const struct desk_space *s);
/* After the actions, take a screenshot with shot's options (NULL: no screenshot). */
DESK_EXPORT desk_actions *desk_actions_observe(desk_actions *a, const struct desk_compress *shot);

DESK_EXPORT desk_actions *desk_act_move(desk_actions *a, double x, double y);
/* clicks 1..3. */
DESK_EXPORT desk_actions *desk_act_click(
        desk_actions *a, double x, double y, enum desk_button button, int clicks);
DESK_EXPORT desk_actions *desk_act_drag(
        desk_actions *a, double x1, double y1, double x2, double y2, enum desk_button button);
/* A drag through n (2..1000) points xy[0], xy[1], xy[2], xy[3]...: x, y pairs. */
DESK_EXPORT desk_actions *desk_act_drag_path(
        desk_actions *a, const double *xy, size_t n, enum desk_button button);
DESK_EXPORT desk_actions *desk_act_scroll(
        desk_actions *a, double x, double y, enum desk_scroll direction, int amount);
/* Holds keys ("shift+ctrl") during the last move, click, drag or scroll added. */
DESK_EXPORT desk_actions *desk_act_hold_keys(desk_actions *a, const char *keys);
DESK_EXPORT desk_actions *desk_act_type(desk_actions *a, const char *text);
/* Taps key (as keyboard/key), holding it hold_ms (0..60000). */
DESK_EXPORT desk_actions *desk_act_key(desk_actions *a, const char *key, int hold_ms);
DESK_EXPORT desk_actions *desk_act_hotkey(desk_actions *a, const char *keys);
DESK_EXPORT desk_actions *desk_act_key_down(desk_actions *a, const char *key);
DESK_EXPORT desk_actions *desk_act_key_up(desk_actions *a, const char *key);
DESK_EXPORT desk_actions *desk_act_button_down(desk_actions *a, enum desk_button button);
DESK_EXPORT desk_actions *desk_act_button_up(desk_actions *a, enum desk_button button);
DESK_EXPORT desk_actions *desk_act_release_all(desk_actions *a);
/* Waits ms (0..60000) with nothing else's input in between. */
DESK_EXPORT desk_actions *desk_act_wait(desk_actions *a, int ms);

struct desk_actions_result {
    size_t completed;  /* the actions that ran */
    long failed_index; /* the action that failed, or -1 */
    /* Per completed action: where the pointer ended (in the action's space), when has_point. */
    struct desk_point *points;
    bool *has_point;
    struct desk_image *screenshot; /* with desk_actions_observe, else NULL */
};

/*
 * Sends the batch. On DESK_OK *out is new (free with desk_actions_result_free). When an
 * action failed, the status is that failure's, and *out (still to be freed) says which
 * action and what the ones before it answered. *out is NULL on other errors.
 */
DESK_EXPORT enum desk_status desk_actions_run(
        desk_client *c, const desk_actions *a, struct desk_actions_result **out);
DESK_EXPORT void desk_actions_result_free(struct desk_actions_result *r);

/* ---- displays and windows --------------------------------------------------------------- */

struct desk_display {
    int id; /* 0 is the primary */
    int x, y, width, height;
    bool active;
};

struct desk_display_info {
    struct desk_display *displays;
    size_t count;
    struct desk_display primary;
    int total; /* total_displays as the server sent it */
};

/* GET /computeruse/display/info. On success *out is new; free with desk_display_info_free. */
DESK_EXPORT enum desk_status desk_display_info(desk_client *c, struct desk_display_info **out);
DESK_EXPORT void desk_display_info_free(struct desk_display_info *info);

struct desk_window {
    unsigned long id;        /* the X window id */
    char *title;             /* UTF-8, never NULL */
    int x, y, width, height; /* frame geometry in root coordinates */
    bool active;
    long pid; /* 0 when unknown */
    /* [ext] EWMH: "normal", "dialog", "dock"... ("" from a server that does not say). */
    char *type;
    /* [ext] its states joined by commas: "maximized,above" ("" when none). */
    char *states;
};

struct desk_window_list {
    struct desk_window *windows;
    size_t count;
};

/* GET /computeruse/display/windows. On success *out is new; free with desk_window_list_free. */
DESK_EXPORT enum desk_status desk_display_windows(desk_client *c, struct desk_window_list **out);
DESK_EXPORT void desk_window_list_free(struct desk_window_list *list);
/* [ext] The same, only windows of EWMH type type ("normal", "dialog", "dock"...). */
DESK_EXPORT enum desk_status desk_display_windows_of_type(
        desk_client *c, const char *type, struct desk_window_list **out);

/* [ext] What desk_window_action asks the window manager for. */
enum desk_window_action {
    DESK_WINDOW_ACTIVATE = 0,
    DESK_WINDOW_CLOSE = 1,
    DESK_WINDOW_MINIMIZE = 2,
    DESK_WINDOW_MAXIMIZE = 3,
    DESK_WINDOW_RESTORE = 4,
};
/*
 * [ext] POST /computeruse/windows/{id}/{action}: answers once the change is
 * visible, with the window as it is then (for close: as it was) in *out, a
 * list of one (may be NULL; free with desk_window_list_free). Errors: an
 * unknown or vanished id DESK_ERR_NOT_FOUND; DESK_ERR_NO_RESPONSE when the
 * window manager made no change within 2 s; DESK_ERR_BAD_REQUEST for an id
 * that is no managed top-level window.
 */
DESK_EXPORT enum desk_status desk_window_action(desk_client *c, unsigned long id,
        enum desk_window_action action, struct desk_window_list **out);
/* [ext] POST .../geometry: moves and resizes the window's frame (root coordinates); as above. */
DESK_EXPORT enum desk_status desk_window_geometry(desk_client *c, unsigned long id, int x, int y,
        int width, int height, struct desk_window_list **out);

/* ---- [ext] clipboard ------------------------------------------------------------------------ */

enum desk_selection { DESK_CLIPBOARD = 0, DESK_PRIMARY = 1 };

/*
 * GET /computeruse/clipboard: the selection's text as UTF-8 (deskd's own, or
 * read from the application that owns it; "" when none does). On success
 * *text is malloc'd and NUL-terminated, *len (may be NULL) its length.
 * DESK_ERR_NO_RESPONSE when the owner did not answer in 2 s.
 */
DESK_EXPORT enum desk_status desk_clipboard_get(
        desk_client *c, enum desk_selection sel, char **text, size_t *len);
/* POST /computeruse/clipboard: deskd owns the selection with text (UTF-8, up to 16 MiB). */
DESK_EXPORT enum desk_status desk_clipboard_set(
        desk_client *c, enum desk_selection sel, const char *text);
/*
 * POST /computeruse/keyboard/type with "method": "paste": text goes through
 * the clipboard and the paste chord (paste_keys, NULL: "ctrl+v"; a terminal
 * wants "ctrl+shift+v"), and the previous clipboard comes back.
 * DESK_ERR_NO_RESPONSE when no application asked for the text in 2 s.
 */
DESK_EXPORT enum desk_status desk_keyboard_paste(
        desk_client *c, const char *text, const char *paste_keys);

/* ---- [ext] launched applications -------------------------------------------------------- */

struct desk_launch {
    const char *const *argv; /* NULL-terminated, argv[0] the program (no shell) */
    const char *const *env;  /* NULL-terminated "NAME=VALUE" added to the session's; may be NULL */
    const char *cwd;         /* NULL: the desktop's HOME */
    bool wait_for_window;    /* answer once its window (matched by pid) is managed */
    int timeout_ms;          /* for that wait; 0: the server's 10 s */
};
/*
 * POST /computeruse/apps/launch. *pid gets the program's pid; with
 * wait_for_window, *window (may be NULL) a list of one window (free with
 * desk_window_list_free). A missing executable is DESK_ERR_BAD_REQUEST naming it.
 */
DESK_EXPORT enum desk_status desk_app_launch(
        desk_client *c, const struct desk_launch *l, long *pid, struct desk_window_list **window);

struct desk_app {
    long pid;
    char *command;      /* its argv joined by spaces */
    int64_t started_ms; /* Unix time in ms */
};
struct desk_app_list {
    struct desk_app *apps;
    size_t count;
};
/* GET /computeruse/apps: the launched programs that still run; free with desk_app_list_free. */
DESK_EXPORT enum desk_status desk_apps(desk_client *c, struct desk_app_list **out);
DESK_EXPORT void desk_app_list_free(struct desk_app_list *list);
/* POST /computeruse/apps/{pid}/kill: SIGTERM, SIGKILL after 3 s; returns once it ended. */
DESK_EXPORT enum desk_status desk_app_kill(desk_client *c, long pid);

/* ---- desktop processes ------------------------------------------------------------------ */

enum desk_desktop_state {
    DESK_DESKTOP_INACTIVE = 0, /* no desktop process runs */
    DESK_DESKTOP_PARTIAL = 1,  /* some run */
    DESK_DESKTOP_ACTIVE = 2,   /* all run */
};

/* "inactive", "partial", "active"; NULL for an unknown value. */
DESK_EXPORT const char *desk_desktop_state_name(enum desk_desktop_state state);

struct desk_process {
    char *name; /* "xvfb", "xfce4", "atspi", "x11vnc", "novnc"; never NULL */
    bool running;
    int priority;
    bool auto_restart;
    long pid; /* -1 when the server sent null */
};

/* What start and stop answer: a message and each process's state, in the server's order. */
struct desk_processes {
    char *message; /* never NULL */
    struct desk_process *procs;
    size_t count;
};

/*
 * POST /computeruse/start: starts the desktop processes and returns once each is ready.
 * *out (when out is not NULL) is new; free with desk_processes_free. Give this call a long
 * total timeout (desk_client_set_timeouts): starting a desktop takes seconds.
 */
DESK_EXPORT enum desk_status desk_computeruse_start(desk_client *c, struct desk_processes **out);
/* POST /computeruse/stop: stops them in reverse order. out as for start. */
DESK_EXPORT enum desk_status desk_computeruse_stop(desk_client *c, struct desk_processes **out);
DESK_EXPORT void desk_processes_free(struct desk_processes *p);
/* GET /computeruse/status. out must not be NULL. */
DESK_EXPORT enum desk_status desk_computeruse_status(desk_client *c, enum desk_desktop_state *out);
/* GET /computeruse/process-status (the SDKs' name for the same answer). out must not be NULL. */
DESK_EXPORT enum desk_status desk_computeruse_process_status(
        desk_client *c, enum desk_desktop_state *out);

/*
 * The routes under /computeruse/process/{name}/: name must not be NULL or empty (it is
 * percent-encoded, at most 128 bytes). An unknown name is DESK_ERR_NOT_FOUND with the
 * server's list of valid names in desk_last_error().
 */
/* GET .../status; running must not be NULL. */
DESK_EXPORT enum desk_status desk_process_status(desk_client *c, const char *name, bool *running);
/* POST .../restart; *message (when message is not NULL) is freed with desk_free. */
DESK_EXPORT enum desk_status desk_process_restart(desk_client *c, const char *name, char **message);
/* GET .../logs: the process's stdout log. logs must not be NULL; *logs is freed with desk_free. */
DESK_EXPORT enum desk_status desk_process_logs(desk_client *c, const char *name, char **logs);
/* GET .../errors: the process's stderr log; as for desk_process_logs. */
DESK_EXPORT enum desk_status desk_process_errors(desk_client *c, const char *name, char **errors);

/* ---- recordings (API.md §14) ------------------------------------------------------------ */

enum desk_recording_state {
    DESK_RECORDING_ACTIVE = 0,    /* "recording": ffmpeg is writing it */
    DESK_RECORDING_COMPLETED = 1, /* "completed": stopped, or a file found on disk */
    DESK_RECORDING_FAILED = 2,    /* "failed": ffmpeg ended on its own; reason says why */
};

/* A recording as deskd describes it (Daytona's Recording DTO). Strings are UTF-8. */
struct desk_recording {
    char *id;                    /* a UUID; never NULL */
    char *file_name, *file_path; /* the MP4 on deskd's machine; never NULL */
    char *start_time;            /* RFC 3339 (the video's first frame); never NULL */
    char *end_time;              /* RFC 3339; NULL while recording */
    enum desk_recording_state state;
    double duration_s;    /* seconds; -1 when the server gave none (while recording) */
    long long size_bytes; /* the file's size; -1 when the server gave none */
    char *reason;         /* why it failed; NULL otherwise */
};

struct desk_recording_list {
    struct desk_recording *items; /* running ones first, then the files by name */
    size_t count;
};

/*
 * POST /computeruse/recordings/start: starts recording the screen to an MP4 and returns once
 * the first frame is in it. label (NULL or "" for none) names the file; deskd refuses
 * labels Daytona refuses (DESK_ERR_BAD_REQUEST). Without ffmpeg: DESK_ERR_UNAVAILABLE with
 * code RECORDING_FFMPEG_NOT_FOUND; too many running: DESK_ERR_CONFLICT. *out (when out is
 * not NULL) is new; free with desk_recording_free.
 */
DESK_EXPORT enum desk_status desk_recording_start(
        desk_client *c, const char *label, struct desk_recording **out);
/* POST /computeruse/recordings/stop: returns once the file is finished. out as for start. */
DESK_EXPORT enum desk_status desk_recording_stop(
        desk_client *c, const char *id, struct desk_recording **out);
/* GET /computeruse/recordings/{id}; out must not be NULL. Unknown id: DESK_ERR_NOT_FOUND. */
DESK_EXPORT enum desk_status desk_recording_get(
        desk_client *c, const char *id, struct desk_recording **out);
/* GET /computeruse/recordings; out must not be NULL; free with desk_recording_list_free. */
DESK_EXPORT enum desk_status desk_recording_list(desk_client *c, struct desk_recording_list **out);
/*
 * DELETE /computeruse/recordings/{id}: removes the file (and its events and chapters). A
 * running recording is DESK_ERR_CONFLICT (code RECORDING_STILL_ACTIVE).
 */
DESK_EXPORT enum desk_status desk_recording_delete(desk_client *c, const char *id);
/*
 * GET /computeruse/recordings/{id}/download: writes the MP4 to fd (the caller's, left
 * open) as it arrives, whatever its size (the reply cap does not apply). *written (may be
 * NULL) gets the bytes written. On failure fd may hold part of the file. A write error on fd
 * is DESK_ERR_TRANSPORT naming errno's sentence.
 */
DESK_EXPORT enum desk_status desk_recording_download(
        desk_client *c, const char *id, int fd, long long *written);
/* "recording", "completed", "failed"; NULL for an unknown value. */
DESK_EXPORT const char *desk_recording_state_name(enum desk_recording_state state);
DESK_EXPORT void desk_recording_free(struct desk_recording *r);
DESK_EXPORT void desk_recording_list_free(struct desk_recording_list *list);

/* ---- [ext] takeover --------------------------------------------------------------------- */

struct desk_vnc {
    char *url;      /* the noVNC page; never NULL */
    char *password; /* never NULL */
    /* A fresh full-control link to deskd's own live view (300 s); NULL from a deskd without
     * one. */
    char *link_url;
};

/* GET /computeruse/vnc. On success *out is new; free with desk_vnc_free. */
DESK_EXPORT enum desk_status desk_vnc(desk_client *c, struct desk_vnc **out);
DESK_EXPORT void desk_vnc_free(struct desk_vnc *v);

/* A link to deskd's live view (API.md §16). Strings are UTF-8. */
struct desk_vnc_link {
    char *id;         /* names the link for desk_vnc_link_revoke; never NULL */
    char *url;        /* the page, with the link's token; NULL in a list (shown once only) */
    char *expires_at; /* RFC 3339, UTC; never NULL */
    bool view_only;
    int sessions; /* browsers on it now (lists only; 0 from create) */
};

struct desk_vnc_link_list {
    struct desk_vnc_link *items; /* the live links, soonest to expire first */
    size_t count;
};

#define DESK_VNC_LINK_TTL_MAX 86400

/*
 * POST /computeruse/vnc/links: a link living ttl_s seconds (1 to DESK_VNC_LINK_TTL_MAX;
 * 0 for deskd's default, 300). A view-only link's browser sees the desktop and sends
 * nothing to it (deskd drops its input). *out is new; free with desk_vnc_link_free.
 * Attached deskd: DESK_ERR_CONFLICT (code ATTACHED).
 */
DESK_EXPORT enum desk_status desk_vnc_link_create(
        desk_client *c, int ttl_s, bool view_only, struct desk_vnc_link **out);
/* GET /computeruse/vnc/links; free with desk_vnc_link_list_free. */
DESK_EXPORT enum desk_status desk_vnc_link_list(desk_client *c, struct desk_vnc_link_list **out);
/*
 * DELETE /computeruse/vnc/links/{id}: the link is refused from now on and its open sessions
 * close within a second. Unknown or expired id: DESK_ERR_NOT_FOUND.
 */
DESK_EXPORT enum desk_status desk_vnc_link_revoke(desk_client *c, const char *id);
DESK_EXPORT void desk_vnc_link_free(struct desk_vnc_link *l);
DESK_EXPORT void desk_vnc_link_list_free(struct desk_vnc_link_list *list);

/* Who may send input: the agent (through the API) or a person (through the live view). */
enum desk_holder {
    DESK_HOLDER_AGENT = 0,
    DESK_HOLDER_HUMAN = 1,
};

/*
 * GET /computeruse/control: the holder, and since when (*since, RFC 3339, new, free with
 * desk_free; since may be NULL). While DESK_HOLDER_HUMAN holds it, every input call answers
 * DESK_ERR_CONFLICT with code HUMAN_IN_CONTROL; screenshots keep working.
 */
DESK_EXPORT enum desk_status desk_control_get(
        desk_client *c, enum desk_holder *holder, char **since);
/* POST /computeruse/control: hands control to holder (taking it releases what deskd holds). */
DESK_EXPORT enum desk_status desk_control_set(desk_client *c, enum desk_holder holder);
/* "agent", "human"; NULL for an unknown value. */
DESK_EXPORT const char *desk_holder_name(enum desk_holder holder);

/* ---- accessibility (API.md §15, Daytona's routes) ------------------------------------- */

/*
 * GET /computeruse/a11y/tree: the AT-SPI tree of scope ("focused", "pid" with pid > 0, or
 * "all"; NULL: focused) down to max_depth levels (< 0: all; 0: the root alone). *json gets
 * the server's answer, {"root": AccessibilityNode, "truncated": bool}, as JSON text (free
 * with desk_free); nodes are recursive, so they are left to the caller's JSON parser.
 * A code of A11Y_* in desk_last_error_code() says why it failed (A11Y_UNAVAILABLE: the
 * desktop's accessibility bus is down, DESK_ERR_UNAVAILABLE).
 */
DESK_EXPORT enum desk_status desk_a11y_tree(
        desk_client *c, const char *scope, long pid, int max_depth, char **json);
/*
 * POST /computeruse/a11y/find with query, a JSON object text ({"scope","pid","role","name",
 * "nameMatch","states","limit"}; NULL: {}). *json gets {"matches": [...], "truncated"}.
 */
DESK_EXPORT enum desk_status desk_a11y_find(desk_client *c, const char *query, char **json);
/*
 * [ext] A model's computer tool call, as the provider shapes it (API.md §13): POST
 * /computeruse/tools/PROVIDER, provider "anthropic" (call: the input of a computer
 * tool_use, or the block) or "openai" (call: a computer_call item, or {"action"} /
 * {"actions"}), call a JSON object text that may also carry "display", "screenshot",
 * "settle", "format", "quality". *json gets the answer as JSON text (free with desk_free):
 * {"content", "is_error", "display"} or {"output", "display", "error"?}. A mistake of the
 * model's is DESK_OK with is_error or error in the answer; a bad provider or call is
 * DESK_ERR_INVALID_ARG, checked here before anything is sent.
 */
DESK_EXPORT enum desk_status desk_tool_call(
        desk_client *c, const char *provider, const char *call, char **json);
/* POST .../node/focus: gives node id (as tree and find name it) the keyboard focus. */
DESK_EXPORT enum desk_status desk_a11y_focus(desk_client *c, const char *id);
/* POST .../node/invoke: runs the node's action called action (NULL: its first one). */
DESK_EXPORT enum desk_status desk_a11y_invoke(desk_client *c, const char *id, const char *action);
/* POST .../node/value: sets a text node's text, or a value node's number (value in decimal). */
DESK_EXPORT enum desk_status desk_a11y_value(desk_client *c, const char *id, const char *value);

#ifdef __cplusplus
}
#endif

#endif
