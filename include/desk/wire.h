/*
 * The wire contract as data, shared by deskd and libdesk: the error table and
 * the image formats. Each is an X-macro list, libuv style: a user defines X to
 * take the columns it needs, so the daemon's wire codes and HTTP statuses and
 * the client's statuses come from one table and cannot drift apart.
 *
 * Not installed: libdesk users see only desk.h, where the client statuses are
 * declared; this header names them without the DESK_ prefix so that it needs
 * no include.
 */
#ifndef DESK_WIRE_H
#define DESK_WIRE_H

#include <stddef.h>
#include <string.h>
#include <strings.h>

/*
 * X(code, http, client, sentence): the wire code deskd sends as "code" in an
 * error body, the HTTP status it goes with, the libdesk status a client maps it
 * to (enum desk_status without DESK_), and the sentence that describes the
 * class of error (a reply carries its own, more precise sentence).
 *
 * Codes follow Daytona's daemon codes where one exists (PROCESS_NOT_FOUND),
 * since Daytona's SDKs pick their error classes from them. Append only: codes
 * are part of the API.
 */
#define DESK_WIRE_ERRORS(X)                                                                        \
    X(INVALID_PARAMETER, 400, ERR_BAD_REQUEST, "a parameter is missing or not accepted")           \
    X(INVALID_BODY, 400, ERR_BAD_REQUEST, "the request body is not a JSON object")                 \
    X(UNAUTHORIZED, 401, ERR_UNAUTHORIZED, "missing or wrong bearer token")                        \
    X(NOT_FOUND, 404, ERR_NOT_FOUND, "no such route")                                              \
    X(PROCESS_NOT_FOUND, 404, ERR_NOT_FOUND, "no desktop process of that name")                    \
    X(METHOD_NOT_ALLOWED, 405, ERR_METHOD, "the route does not accept this method")                \
    X(CONFLICT, 409, ERR_CONFLICT, "another desktop operation is in progress")                     \
    X(ATTACHED, 409, ERR_CONFLICT, "deskd is attached to a display it does not manage")            \
    X(MODIFIER_HELD, 409, ERR_CONFLICT, "another client holds a modifier key down")                \
    X(BODY_TOO_LARGE, 413, ERR_BODY_TOO_LARGE, "the request body is too large")                    \
    X(MALFORMED_REQUEST, 400, ERR_BAD_REQUEST, "the request is not well-formed HTTP/1.1")          \
    X(URI_TOO_LONG, 414, ERR_BAD_REQUEST, "the request target (path and query) is too long")       \
    X(HEADER_TOO_LARGE, 431, ERR_BAD_REQUEST, "the request's header fields are too large")         \
    X(INTERNAL, 500, ERR_SERVER, "an internal fault in deskd")                                     \
    X(HTTP_VERSION_NOT_SUPPORTED, 505, ERR_BAD_REQUEST, "deskd speaks HTTP/1.0 and 1.1 only")      \
    X(CAPTURE_FAILED, 500, ERR_SERVER, "the screen capture failed")                                \
    X(ENCODE_FAILED, 500, ERR_SERVER, "encoding the image failed")                                 \
    X(INPUT_FAILED, 500, ERR_SERVER, "the input action failed")                                    \
    X(DISPLAY_UNAVAILABLE, 503, ERR_UNAVAILABLE, "the X display is not available")                 \
    X(NOT_READY, 503, ERR_NOT_READY, "a desktop process could not become ready")                   \
    X(SHUTTING_DOWN, 503, ERR_SHUTTING_DOWN, "deskd is shutting down")                             \
    X(CANCELLED, 503, ERR_CANCELLED, "the request was cancelled before it completed")              \
    X(NO_SPARE_KEYCODE, 503, ERR_NO_KEYCODE, "no spare keycode is free for a character")           \
    X(INPUT_BUSY, 503, ERR_BUSY, "input is busy with earlier requests")                            \
    X(BUSY, 503, ERR_BUSY, "deskd has no room for the request now (connections, encoders)")        \
    X(A11Y_UNAVAILABLE, 503, ERR_UNAVAILABLE, "the accessibility bus is not reachable")            \
    X(A11Y_NODE_NOT_FOUND, 404, ERR_NOT_FOUND, "no such accessibility node")                       \
    X(A11Y_NO_ACCESSIBLE_ROOT, 404, ERR_NOT_FOUND, "no application matches the scope")             \
    X(A11Y_ACTION_NOT_SUPPORTED, 400, ERR_BAD_REQUEST, "the node does not support the action")     \
    X(A11Y_INVALID_SCOPE, 400, ERR_BAD_REQUEST, "the scope is not focused, pid or all")            \
    X(A11Y_INVALID_REQUEST, 400, ERR_BAD_REQUEST, "the accessibility request is malformed")        \
    X(A11Y_INTERNAL, 500, ERR_SERVER, "an accessibility call failed")                              \
    X(RECORDING_STILL_ACTIVE, 409, ERR_CONFLICT, "the recording is still running")                 \
    X(RECORDING_FFMPEG_NOT_FOUND, 503, ERR_UNAVAILABLE, "ffmpeg is not installed")                 \
    X(RECORDING_LIMIT, 409, ERR_CONFLICT, "as many recordings as allowed are running")             \
    X(WINDOW_NOT_FOUND, 404, ERR_NOT_FOUND, "no managed top-level window of that id")              \
    X(WM_TIMEOUT, 504, ERR_NO_RESPONSE, "the window manager did not make the change in time")      \
    X(CLIPBOARD_TIMEOUT, 504, ERR_NO_RESPONSE, "the selection's owner did not answer in time")     \
    X(CLIPBOARD_TOO_LARGE, 413, ERR_BODY_TOO_LARGE, "the selection holds more than 16 MiB")        \
    X(PASTE_NOT_TAKEN, 504, ERR_NO_RESPONSE, "no application asked for the pasted text in time")   \
    X(HUMAN_IN_CONTROL, 409, ERR_CONFLICT, "a person holds control of the desktop")

/* The "source" of every error body: what Daytona's SDKs look for to read "code". */
#define DESK_WIRE_ERROR_SOURCE "DAYTONA_DAEMON"

/*
 * X(id, name, mime): the image formats, in the order of libdesk's enum
 * desk_image_format and capture's enum img_format. "jpg" is accepted as a
 * spelling of jpeg wherever a format is parsed.
 */
#define DESK_WIRE_IMAGE_FORMATS(X)                                                                 \
    X(PNG, "png", "image/png")                                                                     \
    X(JPEG, "jpeg", "image/jpeg")                                                                  \
    X(WEBP, "webp", "image/webp")

#define DESK_WIRE_FORMAT_NAME_(id, name, mime) name,
#define DESK_WIRE_FORMAT_MIME_(id, name, mime) mime,
static const char *const desk_wire_format_names[] = {
        DESK_WIRE_IMAGE_FORMATS(DESK_WIRE_FORMAT_NAME_)};
static const char *const desk_wire_format_mimes[] = {
        DESK_WIRE_IMAGE_FORMATS(DESK_WIRE_FORMAT_MIME_)};
#define DESK_WIRE_NFORMATS ((int)(sizeof desk_wire_format_names / sizeof desk_wire_format_names[0]))

/* The format called s (any case; "jpg" too), or -1. */
static inline int desk_wire_format_parse(const char *s) {
    if (s && strcasecmp(s, "jpg") == 0)
        s = "jpeg";
    for (int i = 0; s && i < DESK_WIRE_NFORMATS; i++) {
        if (strcasecmp(s, desk_wire_format_names[i]) == 0)
            return i;
    }
    return -1;
}

/* The format whose MIME type is the first n bytes of s (any case), or -1. */
static inline int desk_wire_format_of_mime(const char *s, size_t n) {
    for (int i = 0; s && i < DESK_WIRE_NFORMATS; i++) {
        if (n == strlen(desk_wire_format_mimes[i]) &&
                strncasecmp(s, desk_wire_format_mimes[i], n) == 0)
            return i;
    }
    return -1;
}

#endif
