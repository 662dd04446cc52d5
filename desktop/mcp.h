/*
 * mcp: the Model Context Protocol side of POST /mcp (API.md §13) that is
 * plain JSON: the JSON-RPC 2.0 envelope of a message, the protocol versions,
 * the tool table (tools/list), and a tools/call turned into the request of
 * the route the tool runs. Knows nothing of HTTP, sessions or X; api-mcp.c
 * answers, keeps the sessions and runs the routes. The fuzz harness
 * fuzz-mcp runs all of it on any bytes.
 */
#ifndef DESK_MCP_H
#define DESK_MCP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "http.h"
#include "spec.h"

/* JSON-RPC 2.0's error codes. */
#define RPC_PARSE_ERROR      (-32700)
#define RPC_INVALID_REQUEST  (-32600)
#define RPC_METHOD_NOT_FOUND (-32601)
#define RPC_INVALID_PARAMS   (-32602)

/* What a well-formed message asks for. */
enum mcp_kind {
    MCP_INITIALIZE, /* a request "initialize" (needs no session) */
    MCP_NO_ANSWER,  /* a notification, or a response to a request (deskd sends none) */
    MCP_PING,
    MCP_TOOLS_LIST,
    MCP_TOOLS_CALL,
    MCP_UNKNOWN, /* any other method: RPC_METHOD_NOT_FOUND */
};

/* A message's parts, borrowed from it. */
struct mcp_msg {
    enum mcp_kind kind;
    json_t *id;         /* a string or an integer; NULL for a notification (answers go to null) */
    const char *method; /* NULL for a response */
    json_t *params;     /* an object, or NULL */
};

/* A JSON-RPC error: the HTTP status to answer with, the code and the sentence. */
struct mcp_error {
    int status;
    int code;
    char message[256];
};

/*
 * Checks msg (any JSON value) as one JSON-RPC 2.0 message: an object with
 * "jsonrpc": "2.0", an id that is a string or an integer, a method unless it
 * is a response, params an object. 0, or -EINVAL with e set (m->id is the
 * id the error answers to).
 */
int mcp_msg_parse(json_t *msg, struct mcp_msg *m, struct mcp_error *e);

/* Whether deskd speaks protocol version v (may be NULL). */
bool mcp_version_supported(const char *v);
/* The newest version spoken: initialize's answer to an unknown one. */
const char *mcp_version_newest(void);

/* tools/list's "tools": every tool's name, description and input schema. New reference. */
json_t *mcp_tool_list(void);

/* Where a tool's arguments go in its route's request. */
enum mcp_tool_in {
    IN_BODY,   /* the JSON body, with the row's fixed members added */
    IN_QUERY,  /* query arguments (strings, numbers, booleans) */
    IN_WINDOW, /* "id" and "action" make the path; the rest is the body */
};

struct mcp_tool {
    const char *name;
    const char *method;
    const char *path;
    enum mcp_tool_in in;
    const char *fixed; /* JSON object merged into the body (double_click: clicks 2), or NULL */
    const char *const *drop; /* spec fields the tool leaves out (the fixed ones), or NULL */
    const struct spec *spec; /* the route's parameters: the input schema is made from it */
    const char *description; /* for models; the spec's rules are appended */
};

/* The tool table (n rows). */
const struct mcp_tool *mcp_tools(size_t *n);

/* A tools/call as the request of the tool's route. */
struct mcp_call {
    const struct mcp_tool *tool;
    char path[128];
    const char *args[2 * REQ_MAX_ARGS + 1]; /* query key, value, ...; NULL-terminated */
    char *store[REQ_MAX_ARGS];              /* the values' strings */
    json_t *body;                           /* NULL for query tools */
};

/*
 * Turns a tools/call's params ("name", "arguments") into c. 0; -EINVAL with
 * e set when params are not a call of a known tool (a JSON-RPC error);
 * -EPERM with e->message when the arguments cannot make the route's request
 * (a tool result with isError). mcp_call_free, whatever the result.
 */
int mcp_call_parse(json_t *params, struct mcp_call *c, struct mcp_error *e);
void mcp_call_free(struct mcp_call *c);

#endif
