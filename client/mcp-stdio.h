/*
 * mcp-stdio: `desk mcp`, deskd's MCP server (POST /mcp, API.md §13) for MCP
 * hosts that only start servers as child processes speaking stdio.
 */
#ifndef DESK_MCP_STDIO_H
#define DESK_MCP_STDIO_H

/*
 * Reads newline-delimited JSON-RPC messages from stdin and posts each to
 * base_url + "/mcp" (with token as the bearer, NULL for none), carrying the
 * Mcp-Session-Id deskd issued at initialize; writes each JSON-RPC answer as
 * one line on stdout (nothing for notifications). An answer deskd could not
 * give (connection refused, 401) becomes a JSON-RPC error for that request's
 * id, with the reason. At end of input it ends the session (DELETE /mcp).
 * timeout_ms bounds each request. Returns the process exit status: 0 at end
 * of input, 1 when libcurl cannot start. Diagnostics go to stderr.
 */
int mcp_stdio_run(const char *base_url, const char *token, long timeout_ms);

#endif
