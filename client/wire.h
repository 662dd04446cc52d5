/*
 * wire (libdesk, internal): turns deskd's replies (status, headers, body) into libdesk's
 * result structs, and the error value every failure fills. Knows JSON and the contract in
 * API.md; knows nothing of HTTP transport, so the unit tests feed it literal strings.
 */
#ifndef DESK_CLIENT_WIRE_H
#define DESK_CLIENT_WIRE_H

#include <stddef.h>

#include "desk/desk.h"

/* The outcome of a call: fixed size, so that the error path never allocates. */
struct desk_err {
    enum desk_status status;
    long http;     /* HTTP status of the reply, 0 when none */
    char code[48]; /* the server's "code", "" when none */
    char msg[512]; /* "" on success */
};

/* Clears e to success. */
void wire_ok(struct desk_err *e);
/*
 * Sets e to status with a printf-style message and returns status. A macro over
 * wire_fail_set, so that the value it returns is visible where it is used (the
 * static analyser does not follow variadic functions).
 */
void wire_fail_set(struct desk_err *e, enum desk_status status, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static inline enum desk_status wire_status_(enum desk_status status) {
    return status;
}
#define wire_fail(e, status, ...)                                                                  \
    wire_status_((wire_fail_set((e), (status), __VA_ARGS__), (status)))
/* Puts prefix before e->msg, truncating the end when the two do not fit. */
void wire_prefix(struct desk_err *e, const char *prefix);
/* The status for a non-2xx HTTP status. */
enum desk_status wire_http_status(long http);
/* The status for a server error code (desk/wire.h's table); the HTTP status's when unknown. */
enum desk_status wire_code_status(const char *code, long http);
/*
 * Fills e from a non-2xx reply: the status from the body's "code" when deskd's error table
 * knows it, else from the HTTP status; the message from "message" (or "error"), or a
 * sentence naming the HTTP status when the body has neither.
 * body need not be NUL-terminated. Returns e->status.
 */
enum desk_status wire_error_reply(long http, const char *body, size_t len, struct desk_err *e);

/*
 * Parsers of 2xx bodies. Each returns DESK_OK, or DESK_ERR_PROTOCOL (the body is not JSON
 * or lacks a field: e->msg names it) or DESK_ERR_NOMEM. On failure nothing is returned
 * through the out pointers and nothing leaks. body need not be NUL-terminated.
 */
enum desk_status wire_health(const char *body, size_t len, struct desk_err *e, char **version);
/* {"x","y"} (move, click, drag and position answers). */
enum desk_status wire_point(
        const char *body, size_t len, struct desk_err *e, struct desk_point *out);
/* {"success": true} (scroll). */
enum desk_status wire_success(const char *body, size_t len, struct desk_err *e);
/* Any JSON object, such as the keyboard routes' {}. */
enum desk_status wire_object(const char *body, size_t len, struct desk_err *e);
enum desk_status wire_display_info(
        const char *body, size_t len, struct desk_err *e, struct desk_display_info **out);
enum desk_status wire_windows(
        const char *body, size_t len, struct desk_err *e, struct desk_window_list **out);
/* One WindowInfo (the window actions), as a list of one. */
enum desk_status wire_window(
        const char *body, size_t len, struct desk_err *e, struct desk_window_list **out);
/* {"apps": [{"pid","command","startedAt"}], "count"}. */
enum desk_status wire_apps(
        const char *body, size_t len, struct desk_err *e, struct desk_app_list **out);
/* {"pid", "window"?}; window may be NULL. */
enum desk_status wire_launch(const char *body, size_t len, struct desk_err *e, long *pid,
        struct desk_window_list **window);
/* {"message", "status": {NAME: ProcessStatus}} (start and stop). */
enum desk_status wire_processes(
        const char *body, size_t len, struct desk_err *e, struct desk_processes **out);
/* {"status": "active"|"partial"|"inactive"}. */
enum desk_status wire_state(
        const char *body, size_t len, struct desk_err *e, enum desk_desktop_state *out);
/* {"processName", "running": bool}. */
enum desk_status wire_running(const char *body, size_t len, struct desk_err *e, bool *running);
/* The string member key of an object ("logs", "errors", "message"); *out is malloc'd. */
enum desk_status wire_text(
        const char *body, size_t len, const char *key, struct desk_err *e, char **out);
enum desk_status wire_vnc(const char *body, size_t len, struct desk_err *e, struct desk_vnc **out);
/* A link as POST /computeruse/vnc/links answers it (url required). */
enum desk_status wire_vnc_link(
        const char *body, size_t len, struct desk_err *e, struct desk_vnc_link **out);
enum desk_status wire_vnc_links(
        const char *body, size_t len, struct desk_err *e, struct desk_vnc_link_list **out);
/* {"holder","since"}; since may be NULL, else gets a new string. */
enum desk_status wire_control(
        const char *body, size_t len, struct desk_err *e, enum desk_holder *holder, char **since);
/* A Recording DTO, and {"recordings": [Recording]}. */
enum desk_status wire_recording(
        const char *body, size_t len, struct desk_err *e, struct desk_recording **out);
enum desk_status wire_recordings(
        const char *body, size_t len, struct desk_err *e, struct desk_recording_list **out);

/* {"keys": [names], "buttons": [names]} (input/held). */
enum desk_status wire_held(
        const char *body, size_t len, struct desk_err *e, struct desk_held **out);
/*
 * The actions route's answer, or its error reply when that carries failedIndex (then
 * failed_index is set); {"results", "completed", "screenshot"?}.
 */
enum desk_status wire_actions(
        const char *body, size_t len, struct desk_err *e, struct desk_actions_result **out);

/* A screenshot in the JSON form: base64 decoded here. */
enum desk_status wire_image_json(
        const char *body, size_t len, struct desk_err *e, struct desk_image **out);

/* The headers of a binary screenshot, as received (NULL when absent). */
struct wire_shot_headers {
    const char *content_type;
    const char *width, *height;
    const char *region;
    const char *cursor_x, *cursor_y;
    const char *frame; /* X-Desk-Frame */
};

/*
 * A screenshot in the binary form. On success the image takes ownership of data (malloc'd,
 * size bytes); on failure data is left to the caller.
 */
enum desk_status wire_image_binary(unsigned char *data, size_t size,
        const struct wire_shot_headers *h, struct desk_err *e, struct desk_image **out);
/* The answer "not modified" to ifChangedSince: an image without bytes, frame from X-Desk-Frame. */
enum desk_status wire_image_unchanged(
        const char *frame, struct desk_err *e, struct desk_image **out);
/* The answers of GET /computeruse/screen/changes and POST /computeruse/wait. */
enum desk_status wire_changes(
        const char *body, size_t len, struct desk_err *e, struct desk_changes *out);
enum desk_status wire_wait(
        const char *body, size_t len, struct desk_err *e, struct desk_wait_result *out);

#endif
