/*
 * gate: a relay on loopback between the Daytona-compatible noVNC
 * (websockify) and x11vnc that limits the rate of VNC authentication
 * failures, which x11vnc itself does not (it has no option for it). It reads
 * each connection's RFB handshake as it relays it, byte for byte: after a
 * failed VNC authentication, new connections are refused for 1 s, doubling
 * with each further failure up to 30 s, until one succeeds. Handshakes run
 * one at a time, so parallel connections cannot multiply the guesses. After
 * the handshake it only copies bytes.
 */
#ifndef DESK_VNC_GATE_H
#define DESK_VNC_GATE_H

#include <stddef.h>

#define VNC_GATE_DELAY_MS     1000
#define VNC_GATE_DELAY_MAX_MS 30000

struct vnc_gate;

/* Listens on 127.0.0.1 (a free port) and relays to 127.0.0.1:target_port. NULL with err. */
struct vnc_gate *vnc_gate_start(int target_port, char *err, size_t errlen);
int vnc_gate_port(const struct vnc_gate *g);
/* Failed VNC authentications seen, and connections refused for the rate limit. */
void vnc_gate_counts(struct vnc_gate *g, unsigned long *failures, unsigned long *refused);
/* Stops listening, ends the relayed connections and frees g; accepts NULL. */
void vnc_gate_stop(struct vnc_gate *g);

#endif
