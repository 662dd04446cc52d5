/*
 * libFuzzer harness: POST /mcp's JSON-RPC handling (desktop/mcp.c) on any
 * bytes, as api-mcp.c runs it: the body parsed with duplicate keys refused,
 * the envelope checked, tools/list built, and a tools/call turned into its
 * route's request. Aborts when an error has no sentence or no JSON-RPC
 * code, or when a call's request leaves the route family it names (a path
 * outside /computeruse/, a window path with more segments than
 * /computeruse/windows/{id}/{action}).
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mcp.h"

static void check_call(const struct mcp_call *c) {
    if (!c->tool || strncmp(c->path, "/computeruse/", 13) != 0)
        abort();
    int slashes = 0;
    for (const char *p = c->path; *p; p++)
        slashes += *p == '/';
    if (c->tool->in == IN_WINDOW && slashes != 4)
        abort();
    if (c->tool->in == IN_QUERY && c->body)
        abort();
    for (int i = 0; c->args[i]; i++)
        if (i >= 2 * REQ_MAX_ARGS)
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    json_error_t jerr;
    json_t *msg = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
    if (!msg)
        return 0;
    struct mcp_msg m;
    struct mcp_error e = {0};
    if (mcp_msg_parse(msg, &m, &e) < 0) {
        if (!e.message[0] || e.code >= 0 || e.status < 400)
            abort();
    } else if (m.kind == MCP_TOOLS_CALL) {
        struct mcp_call c;
        int rc = mcp_call_parse(m.params, &c, &e);
        if (rc < 0 && !e.message[0])
            abort();
        if (rc == 0)
            check_call(&c);
        mcp_call_free(&c);
    } else if (m.kind == MCP_INITIALIZE) {
        const char *v = json_string_value(json_object_get(m.params, "protocolVersion"));
        (void)mcp_version_supported(v);
    } else if (m.kind == MCP_TOOLS_LIST && size % 64 == 0) {
        /* Not every time: the list is the same for every input. */
        json_decref(mcp_tool_list());
    }
    json_decref(msg);
    return 0;
}
