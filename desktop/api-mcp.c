/*
 * POST /mcp (API.md §13): a Model Context Protocol server on the Streamable
 * HTTP transport. JSON-RPC 2.0 over POST, one message per request, answered
 * as application/json (no event streams: a GET is a 405). Protocol versions
 * 2025-06-18 and 2025-11-25 are negotiated at initialize, which issues the
 * Mcp-Session-Id every later request must carry.
 *
 * Every tool is a row of mcp.c's table naming the HTTP route it runs: a tool
 * call is that route run by req_call, with the route's own parsing,
 * validation and execution, so a tool and its route cannot disagree. The
 * envelope checks and the tool table are mcp.c's; here are the sessions, the
 * answers and the running. A route's 4xx/5xx is a tool result with isError
 * and the route's sentence; only malformed JSON-RPC is a JSON-RPC error.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "deskd.h"
#include "log.h"
#include "mcp.h"
#include "spec.h"
#include "util.h"

/* ---- sessions ---- */

#define MAX_SESSIONS 256

static struct session {
    char id[33]; /* 128 random bits in hex; "" when the slot is free */
    char version[16];
    int64_t used_ms;
} sessions[MAX_SESSIONS];
static pthread_mutex_t sessions_lock = PTHREAD_MUTEX_INITIALIZER;

/* A new session speaking version, in id (33 bytes); the least recently used one makes room. */
static int session_new(const char *version, char *id) {
    unsigned char raw[16];
    if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
        return -errno;
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(id + 2 * i, 3, "%02x", raw[i]);
    pthread_mutex_lock(&sessions_lock);
    struct session *slot = &sessions[0];
    for (size_t i = 0; i < MAX_SESSIONS; i++) {
        if (!sessions[i].id[0] || sessions[i].used_ms < slot->used_ms)
            slot = &sessions[i];
        if (!sessions[i].id[0])
            break;
    }
    snprintf(slot->id, sizeof slot->id, "%s", id);
    snprintf(slot->version, sizeof slot->version, "%s", version);
    slot->used_ms = util_mono_ms();
    pthread_mutex_unlock(&sessions_lock);
    return 0;
}

/* Whether id is a live session (and notes its use); drop ends it. */
static bool session_find(const char *id, bool drop) {
    bool found = false;
    pthread_mutex_lock(&sessions_lock);
    for (size_t i = 0; i < MAX_SESSIONS && !found; i++) {
        if (sessions[i].id[0] && strcmp(sessions[i].id, id) == 0) {
            found = true;
            sessions[i].used_ms = util_mono_ms();
            if (drop)
                sessions[i].id[0] = '\0';
        }
    }
    pthread_mutex_unlock(&sessions_lock);
    return found;
}

/* ---- replies ---- */

static void reply_rpc(struct req *r, int status, json_t *msg, const char *session) {
    char *text = json_dumps(msg, JSON_COMPACT);
    json_decref(msg);
    if (!text) {
        reply_error(r, ERR_INTERNAL, "out of memory while building the response");
        return;
    }
    const char *headers[] = {"Mcp-Session-Id", session, NULL};
    reply_bytes(r, status, "application/json", text, strlen(text), session ? headers : NULL);
    free(text);
}

static void reply_rpc_error(struct req *r, int status, json_t *id, int code, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));

/* A JSON-RPC error answer to id (borrowed; NULL: null) with an HTTP status. */
static void reply_rpc_error(struct req *r, int status, json_t *id, int code, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char *clean = util_utf8_clean(msg, strlen(msg), NULL);
    reply_rpc(r, status,
            json_pack("{s:s, s:O, s:{s:i, s:s}}", "jsonrpc", "2.0", "id", id ? id : json_null(),
                    "error", "code", code, "message", clean ? clean : "invalid request"),
            NULL);
    free(clean);
}

static void reply_result(struct req *r, json_t *id, json_t *result, const char *session) {
    reply_rpc(r, 200, json_pack("{s:s, s:O, s:o}", "jsonrpc", "2.0", "id", id, "result", result),
            session);
}

/* ---- tools/list and tools/call ---- */

/* A text content block. */
static json_t *text_block(const char *text) {
    return json_pack("{s:s, s:s}", "type", "text", "text", text);
}

/* A tool result whose text is the JSON dump of what. */
static json_t *json_block(json_t *what) {
    char *text = json_dumps(what, JSON_COMPACT);
    json_t *block = text_block(text ? text : "{}");
    free(text);
    return block;
}

/*
 * The content of a route's 2xx answer: a screenshot (the answer itself, or
 * the "screenshot" the actions route observed) becomes an image block and a
 * text block with frameId, space and region; the rest is JSON text.
 */
static json_t *answer_content(json_t *answer) {
    json_t *content = json_array();
    json_t *shot = json_object_get(answer, "screenshot");
    json_t *img = json_is_string(shot) ? answer : json_is_object(shot) ? shot : NULL;
    if (img && json_is_string(json_object_get(img, "screenshot"))) {
        const char *format = json_string_value(json_object_get(img, "format"));
        char mime[32];
        snprintf(mime, sizeof mime, "image/%s", format ? format : "png");
        json_array_append_new(
                content, json_pack("{s:s, s:O, s:s}", "type", "image", "data",
                                 json_object_get(img, "screenshot"), "mimeType", mime));
        json_t *about = json_pack("{s:{s:O, s:O}}", "space", "width", json_object_get(img, "width"),
                "height", json_object_get(img, "height"));
        if (json_object_get(img, "space"))
            json_object_set(about, "space", json_object_get(img, "space"));
        json_t *keep[] = {json_object_get(img, "region"), json_object_get(img, "frameId"),
                json_object_get(img, "cursorPosition")};
        const char *names[] = {"region", "frameId", "cursorPosition"};
        for (size_t i = 0; i < 3; i++) {
            if (keep[i])
                json_object_set(about, names[i], keep[i]);
        }
        if (img != answer) {
            /* The actions route's answer, without the image itself. */
            json_t *rest = json_deep_copy(answer);
            json_object_del(rest, "screenshot");
            json_object_update(about, rest);
            json_decref(rest);
        }
        json_array_append_new(content, json_block(about));
        json_decref(about);
    } else {
        json_array_append_new(content, json_block(answer));
    }
    return content;
}

/* A tool result with isError and sentence. */
static json_t *tool_error(const char *sentence) {
    return json_pack("{s:[o], s:b}", "content", text_block(sentence), "isError", 1);
}

/* Runs the call through its tool's route; the tools/call result. */
static json_t *tool_run(struct req *r, const struct mcp_call *c) {
    struct req_capture out;
    req_call(r, c->tool->method, c->path, c->args, c->body, &out);
    json_t *answer = out.body ? json_loadb(out.body, out.len, 0, NULL) : NULL;
    free(out.body);
    json_t *result;
    if (out.status == 304) {
        /* ifChangedSince on a screenshot, and nothing changed: no image to send. */
        result = json_pack("{s:[o]}", "content", text_block("{\"unchanged\":true}"));
    } else if (out.status >= 200 && out.status < 300) {
        result = json_pack("{s:o}", "content", answer_content(answer ? answer : json_object()));
    } else if (out.status == 404 && c->tool->in == IN_WINDOW &&
               strcmp(json_string_value(json_object_get(answer, "code")) ?: "", "NOT_FOUND") == 0) {
        /* No such route: the action is not one of the window routes'. */
        result = tool_error("action must be one of activate, close, minimize, maximize, "
                            "restore, geometry");
    } else {
        const char *msg = json_string_value(json_object_get(answer, "message"));
        const char *code = json_string_value(json_object_get(answer, "code"));
        char sentence[1200];
        json_t *failed = json_object_get(answer, "failedIndex"); /* the actions tool's */
        int n = snprintf(sentence, sizeof sentence, "%s (%s, HTTP %d)",
                msg ? msg : "the tool failed", code ? code : "ERROR", out.status);
        if (json_is_integer(failed) && n > 0 && (size_t)n < sizeof sentence)
            snprintf(sentence + n, sizeof sentence - (size_t)n,
                    "; actions[%" JSON_INTEGER_FORMAT "] failed, those before it ran",
                    json_integer_value(failed));
        result = tool_error(sentence);
    }
    json_decref(answer);
    return result;
}

/* ---- the route ---- */

static void on_initialize(struct req *r, json_t *id, json_t *params) {
    const char *asked = json_string_value(json_object_get(params, "protocolVersion"));
    const char *version = mcp_version_supported(asked) ? asked : mcp_version_newest();
    char session[33];
    if (session_new(version, session) < 0) {
        reply_rpc_error(r, 500, id, RPC_INVALID_REQUEST, "no session could be made");
        return;
    }
    json_t *result = json_pack("{s:s, s:{s:{s:b}}, s:{s:s, s:s, s:s}, s:s}", "protocolVersion",
            version, "capabilities", "tools", "listChanged", 0, "serverInfo", "name", "deskd",
            "title", "desk: a Linux desktop", "version", DESK_VERSION, "instructions",
            "Tools to see and drive a Linux desktop: take a screenshot, then act with "
            "coordinates in the screenshot's space (pass its width and height as space).");
    reply_result(r, id, result, session);
}

static void on_call(struct req *r, json_t *id, json_t *params) {
    struct mcp_call c;
    struct mcp_error e;
    /* A model's argument that its tool does not take is an error it can act on, not
     * ignored as the HTTP API ignores unknown members. */
    bool was = spec_strict(true);
    int rc = mcp_call_parse(params, &c, &e);
    if (rc == -EINVAL)
        reply_rpc_error(r, e.status, id, e.code, "%s", e.message);
    else if (rc < 0)
        reply_result(r, id, tool_error(e.message), NULL);
    else
        reply_result(r, id, tool_run(r, &c), NULL);
    spec_strict(was);
    mcp_call_free(&c);
}

/* The checks of a message after initialize: its session and protocol version headers. */
static bool session_ok(struct req *r, json_t *id) {
    const char *session = req_header(r, "Mcp-Session-Id");
    const char *version = req_header(r, "MCP-Protocol-Version");
    if (!session) {
        reply_rpc_error(r, 400, id, RPC_INVALID_REQUEST,
                "the Mcp-Session-Id header is missing: send the one initialize answered");
        return false;
    }
    if (!session_find(session, false)) {
        reply_rpc_error(r, 404, id, RPC_INVALID_REQUEST,
                "session %.40s is unknown or ended: initialize again", session);
        return false;
    }
    if (version && !mcp_version_supported(version)) {
        reply_rpc_error(r, 400, id, RPC_INVALID_REQUEST,
                "MCP-Protocol-Version %.40s is not supported: use 2025-11-25 or 2025-06-18",
                version);
        return false;
    }
    return true;
}

static void api_mcp_post(struct req *r) {
    if (r->body_too_large) {
        reply_rpc_error(r, 413, NULL, RPC_INVALID_REQUEST, "the message exceeds %zu bytes",
                (size_t)REQ_BIG_BODY_LIMIT);
        return;
    }
    json_error_t jerr;
    json_t *msg = r->body ? json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
    if (!msg) {
        reply_rpc_error(r, 400, NULL, RPC_PARSE_ERROR, "the body is not JSON: %s",
                r->body ? jerr.text : "it is empty");
        return;
    }
    struct mcp_msg m;
    struct mcp_error e;
    if (mcp_msg_parse(msg, &m, &e) < 0) {
        reply_rpc_error(r, e.status, m.id, e.code, "%s", e.message);
    } else if (m.kind == MCP_INITIALIZE) {
        on_initialize(r, m.id, m.params);
    } else if (!session_ok(r, m.id)) {
        /* answered */
    } else if (m.kind == MCP_NO_ANSWER) {
        /* Notifications (initialized, cancelled...) and responses need no answer. */
        reply_bytes(r, 202, "application/json", "", 0, NULL);
    } else if (m.kind == MCP_PING) {
        reply_result(r, m.id, json_object(), NULL);
    } else if (m.kind == MCP_TOOLS_LIST) {
        reply_result(r, m.id, json_pack("{s:o}", "tools", mcp_tool_list()), NULL);
    } else if (m.kind == MCP_TOOLS_CALL) {
        on_call(r, m.id, m.params);
    } else {
        reply_rpc_error(r, 200, m.id, RPC_METHOD_NOT_FOUND,
                "method %.64s is not served; deskd answers initialize, ping, tools/list, "
                "tools/call",
                m.method);
    }
    json_decref(msg);
}

/* DELETE /mcp: the client ends its session. */
static void api_mcp_delete(struct req *r) {
    const char *session = req_header(r, "Mcp-Session-Id");
    if (!session)
        reply_error(r, ERR_INVALID_PARAMETER, "the Mcp-Session-Id header is missing");
    else if (!session_find(session, true))
        reply_error(r, ERR_NOT_FOUND, "session %.40s is unknown or ended", session);
    else
        reply_json(r, 200, json_object());
}

const struct route api_mcp_routes[] = {
        {"POST", "/mcp", api_mcp_post, ROUTE_BIG_BODY | ROUTE_OWN_LIMIT},
        {"DELETE", "/mcp", api_mcp_delete, 0},
        {NULL, NULL, NULL, 0},
};
