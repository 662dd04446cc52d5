/*
 * rfb: the parts of the RFB protocol (RFC 6143) that deskd's browser bridge
 * speaks itself. Toward x11vnc it is a client: version 3.8, VNC
 * authentication (DES of the server's challenge, through nettle). Toward the
 * browser it is a server offering security type None, so the browser never
 * holds the VNC password. Between them, rfb_filter reads the browser's
 * client-to-server message stream message by message: it checks every
 * message's type and length and, for a view-only session, drops the ones
 * that act on the desktop.
 *
 * Knows sockets and bytes; knows nothing of HTTP or WebSockets.
 */
#ifndef DESK_RFB_H
#define DESK_RFB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* RFB 3.8's client-to-server message types (RFC 6143 §7.5, and the registered extensions). */
enum rfb_msg {
    RFB_SET_PIXEL_FORMAT = 0,
    RFB_SET_ENCODINGS = 2,
    RFB_UPDATE_REQUEST = 3,
    RFB_KEY_EVENT = 4,
    RFB_POINTER_EVENT = 5,
    RFB_CLIENT_CUT_TEXT = 6,
    RFB_ENABLE_CONTINUOUS_UPDATES = 150,
    RFB_CLIENT_FENCE = 248,
    RFB_SET_DESKTOP_SIZE = 251,
    RFB_XVP = 250,
    RFB_QEMU = 255,
};

/* The longest ClientCutText deskd passes on (x11vnc's own limit is far above). */
#define RFB_CUT_TEXT_MAX (16u << 20)

/*
 * The response to a VNC authentication challenge: each half of challenge
 * encrypted with DES under the password's first 8 bytes (zero-padded), each
 * key byte's bits reversed, as VNC does.
 */
void rfb_vnc_auth_response(const char *password, const uint8_t challenge[16], uint8_t out[16]);

/*
 * Connects to 127.0.0.1:port and completes the RFB 3.8 handshake as a client
 * up to and including the SecurityResult: VNC authentication with password
 * when the server offers it, else None. Everything within timeout_ms.
 * Returns the connected socket (blocking, close-on-exec), or -1 with a
 * sentence in err. The ClientInit is the caller's to send.
 */
int rfb_connect(int port, const char *password, int timeout_ms, char *err, size_t errlen);

/* The server side toward the browser: what rfb_serve_* expect and send. */
#define RFB_VERSION_38 "RFB 003.008\n"

/*
 * The client-to-server stream of one session, read in pieces of any size.
 * view_only: only SetPixelFormat, SetEncodings, FramebufferUpdateRequest,
 * EnableContinuousUpdates and ClientFence pass; the rest is dropped and
 * counted.
 */
struct rfb_filter {
    bool view_only;
    /* Counts of dropped messages by kind (view-only sessions). */
    unsigned long dropped_keys, dropped_pointer, dropped_cut, dropped_other;
    unsigned long passed;
    /* The parser's state: the current message's header so far, what is left of it. */
    uint8_t head[12];
    size_t have;   /* bytes of head collected */
    size_t need;   /* header bytes needed before the length is known */
    uint64_t rest; /* body bytes of the current message still to come */
    bool passing;  /* the current message goes to the server */
    int type;      /* the current message's type, -1 between messages */
    char err[128]; /* why the stream is malformed */
};

void rfb_filter_init(struct rfb_filter *f, bool view_only);

/*
 * Takes n bytes of the browser's stream and appends what goes on to the
 * server to out (room for n bytes; *outn set to the count). Returns 0, or
 * -EPROTO when the stream is malformed (an unknown message type, a length
 * out of range): f->err says why and the session must end.
 */
int rfb_filter_feed(struct rfb_filter *f, const uint8_t *in, size_t n, uint8_t *out, size_t *outn);

#endif
