/*
 * bridge: the live view's WebSocket sessions (/vnc/websockify). Each session
 * is a thread with two sockets: the browser's WebSocket (framing by wslay)
 * and a connection of its own to x11vnc on loopback. deskd authenticates to
 * x11vnc (VNC authentication, rfb.h) and offers the browser security type
 * None; the browser's messages pass rfb_filter, which drops input from
 * view-only sessions and ends a session whose stream is malformed. A session
 * ends within a second of its link expiring or being revoked.
 */
#ifndef DESK_BRIDGE_H
#define DESK_BRIDGE_H

#include <stdbool.h>
#include <stddef.h>

#include "http.h"
#include "takeover.h"

/* The WebSocket accept key for a client's Sec-WebSocket-Key (RFC 6455 §4.2.2): 28 characters. */
void bridge_accept_key(const char *key, char out[29]);

/*
 * A session for link (copied), x11vnc on 127.0.0.1:vnc_port with password,
 * once the 101 is sent: pass the result as reply_upgrade's arg, with
 * bridge_upgraded and bridge_discard. NULL when out of memory, or when deskd
 * is stopping.
 */
void *bridge_session_new(const struct link_info *link, int vnc_port, const char *password);
void bridge_upgraded(
        void *session, int fd, const char *extra, size_t extra_len, struct http_upgraded *u);
void bridge_discard(void *session);

/*
 * Ends every session (a WebSocket close) and waits up to wait_ms for them; no
 * new ones start. Sessions still running after that no longer touch their
 * HTTP upgrade handle (the server is stopped next, which frees it).
 */
void bridge_stop_all(int wait_ms);

#endif
