/*
 * takeover: who holds control of the desktop (the agent, through the API, or
 * a person, through the browser), and the links that open the live view
 * (API.md §16). In memory only: a deskd restart forgets every link and gives
 * control back to the agent.
 *
 * A link is a random id (public: it names the link in the API) and a random
 * token (secret: the only thing the /vnc/ page and its WebSocket accept),
 * with an expiry and a view-only flag. Tokens are compared in constant time.
 * Knows nothing of HTTP.
 */
#ifndef DESK_TAKEOVER_H
#define DESK_TAKEOVER_H

#include <stdbool.h>
#include <stdint.h>

/* 24 bytes from getrandom, as hex: 192 bits. */
#define LINK_TOKEN_LEN 48
#define LINK_ID_LEN    16
#define LINK_TTL_MAX   86400
#define LINK_TTL_DFLT  300
/* Links alive at once; expired and revoked ones make room. */
#define LINKS_MAX 256

struct link_info {
    char id[LINK_ID_LEN + 1];
    int64_t expires_ms; /* wall clock, ms since the epoch */
    bool view_only;
    int sessions; /* open WebSocket sessions on it */
};

/*
 * A new link living ttl_s seconds (1..LINK_TTL_MAX). Fills *out and token.
 * 0, -ENOSPC when LINKS_MAX are alive, or getrandom's -errno.
 */
int link_create(int ttl_s, bool view_only, struct link_info *out, char token[LINK_TOKEN_LEN + 1]);
/* The live links, soonest to expire first, at most max; returns the count. */
int link_list(struct link_info *out, int max);
/* Revokes id: its sessions see link_alive false from now on. 0 or -ENOENT. */
int link_revoke(const char *id);
/* The live link whose token is token (compared in constant time): 0, or -ENOENT. */
int link_by_token(const char *token, struct link_info *out);
/* Whether link id is still alive (not expired, not revoked). */
bool link_alive(const char *id);
/* Counts a session opening (+1) or ending (-1) on link id. */
void link_sessions_add(const char *id, int d);

enum holder { HOLDER_AGENT, HOLDER_HUMAN };

/* Whether a person holds control now: input from the API is refused meanwhile. */
bool control_human(void);
/* The holder and since when (wall clock, ms since the epoch; deskd's start at first). */
enum holder control_get(int64_t *since_ms);
/* Hands control to h, logging the change and who asked (by); no change when h holds it. */
void control_set(enum holder h, const char *by);
const char *control_name(enum holder h);

#endif
