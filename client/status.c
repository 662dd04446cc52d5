/*
 * status: the names and sentences of libdesk's status enum, and the library's version.
 * One table, indexed by the enum, so that a new status is one new line. It does not
 * format per-call messages (those live on the handle, see client.c and wire.c).
 */
#include "desk/desk.h"

struct status_text {
    const char *name;
    const char *sentence;
};

static const struct status_text statuses[] = {
        [DESK_OK] = {"DESK_OK", "success"},
        [DESK_ERR_INVALID_ARG] = {"DESK_ERR_INVALID_ARG", "invalid argument"},
        [DESK_ERR_NOMEM] = {"DESK_ERR_NOMEM", "out of memory"},
        [DESK_ERR_URL] = {"DESK_ERR_URL", "the server URL is not a valid http(s) URL"},
        [DESK_ERR_CONNECT] = {"DESK_ERR_CONNECT", "cannot connect to the server"},
        [DESK_ERR_TIMEOUT] = {"DESK_ERR_TIMEOUT", "the request timed out"},
        [DESK_ERR_TRANSPORT] = {"DESK_ERR_TRANSPORT", "the connection failed during the request"},
        [DESK_ERR_PROTOCOL] = {"DESK_ERR_PROTOCOL", "the reply is not what the API promises"},
        [DESK_ERR_TOO_LARGE] = {"DESK_ERR_TOO_LARGE", "the reply is larger than the client's cap"},
        [DESK_ERR_BAD_REQUEST] = {"DESK_ERR_BAD_REQUEST", "the server rejected the request"},
        [DESK_ERR_UNAUTHORIZED] = {"DESK_ERR_UNAUTHORIZED", "missing or wrong token"},
        [DESK_ERR_NOT_FOUND] = {"DESK_ERR_NOT_FOUND", "no such route or object"},
        [DESK_ERR_METHOD] = {"DESK_ERR_METHOD", "the route does not accept this method"},
        [DESK_ERR_CONFLICT] = {"DESK_ERR_CONFLICT", "not possible in the desktop's current state"},
        [DESK_ERR_BODY_TOO_LARGE] = {"DESK_ERR_BODY_TOO_LARGE",
                "the request body is larger than the server accepts"},
        [DESK_ERR_UNAVAILABLE] = {"DESK_ERR_UNAVAILABLE", "the desktop is not running"},
        [DESK_ERR_SERVER] = {"DESK_ERR_SERVER", "internal server error"},
        [DESK_ERR_HTTP] = {"DESK_ERR_HTTP", "unexpected HTTP status"},
        [DESK_ERR_NOT_READY] = {"DESK_ERR_NOT_READY", "a desktop process could not become ready"},
        [DESK_ERR_SHUTTING_DOWN] = {"DESK_ERR_SHUTTING_DOWN", "the server is shutting down"},
        [DESK_ERR_CANCELLED] = {"DESK_ERR_CANCELLED", "the request was cancelled"},
        [DESK_ERR_NO_KEYCODE] = {"DESK_ERR_NO_KEYCODE",
                "the keyboard map has no room for a character of the text"},
        [DESK_ERR_BUSY] = {"DESK_ERR_BUSY", "the server is busy with earlier input; try again"},
};

static const struct status_text *lookup(enum desk_status status) {
    unsigned i = (unsigned)status;
    if (i >= sizeof statuses / sizeof statuses[0] || !statuses[i].name)
        return NULL;
    return &statuses[i];
}

const char *desk_strerror(enum desk_status status) {
    const struct status_text *t = lookup(status);
    return t ? t->sentence : "unknown status";
}

const char *desk_status_name(enum desk_status status) {
    const struct status_text *t = lookup(status);
    return t ? t->name : "DESK_UNKNOWN";
}

unsigned desk_version(void) {
    return DESK_VERSION_NUM;
}

const char *desk_version_string(void) {
    return DESK_VERSION_STRING;
}
