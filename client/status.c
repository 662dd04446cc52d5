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

/* One row a status: its name is the enumerator's, its sentence desk_strerror's. */
#define ROW(st, sentence) [DESK_##st] = {"DESK_" #st, sentence}
static const struct status_text statuses[] = {
        ROW(OK, "success"),
        ROW(ERR_INVALID_ARG, "invalid argument"),
        ROW(ERR_NOMEM, "out of memory"),
        ROW(ERR_URL, "the server URL is not a valid http(s) URL"),
        ROW(ERR_CONNECT, "cannot connect to the server"),
        ROW(ERR_TIMEOUT, "the request timed out"),
        ROW(ERR_TRANSPORT, "the connection failed during the request"),
        ROW(ERR_PROTOCOL, "the reply is not what the API promises"),
        ROW(ERR_TOO_LARGE, "the reply is larger than the client's cap"),
        ROW(ERR_BAD_REQUEST, "the server rejected the request"),
        ROW(ERR_UNAUTHORIZED, "missing or wrong token"),
        ROW(ERR_NOT_FOUND, "no such route or object"),
        ROW(ERR_METHOD, "the route does not accept this method"),
        ROW(ERR_CONFLICT, "not possible in the desktop's current state"),
        ROW(ERR_BODY_TOO_LARGE, "the request body is larger than the server accepts"),
        ROW(ERR_UNAVAILABLE, "the desktop is not running"),
        ROW(ERR_SERVER, "internal server error"),
        ROW(ERR_HTTP, "unexpected HTTP status"),
        ROW(ERR_NOT_READY, "a desktop process could not become ready"),
        ROW(ERR_SHUTTING_DOWN, "the server is shutting down"),
        ROW(ERR_CANCELLED, "the request was cancelled"),
        ROW(ERR_NO_KEYCODE, "the keyboard map has no room for a character of the text"),
        ROW(ERR_BUSY, "the server is busy with earlier input; try again"),
        ROW(ERR_NO_RESPONSE, "the window manager or another X client did not act in time"),
};
#undef ROW

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
