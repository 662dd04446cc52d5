/*
 * accept: deskd's own accept loop on its listening socket, which sorts new
 * connections by their first request before an HTTP server takes them.
 *
 * In thread-per-connection mode the HTTP server creates a thread per
 * connection on the thread that accepts, one after the other; in a burst of
 * connects (hundreds of clients starting at once) a liveness probe's
 * connection waits in the kernel's accept queue behind all of them, and under
 * load each thread creation waits for a core. Here a thread of its own takes
 * every pending connection at once, looks at the bytes already sent without
 * consuming them (MSG_PEEK), and hands a connection that sends one liveness
 * probe and asks to be closed after it (GET or HEAD of /healthz, nothing
 * after it, Connection: close or HTTP/1.0: as Kubernetes' kubelet and most
 * health checkers send their probes) to one consumer and every other
 * connection to another. A kept-alive connection stays with the other
 * consumer, whatever it asks first. A connection that has sent
 * nothing yet waits here at most ACCEPT_SORT_MS, then goes to the other
 * consumer as it is (the server's own header deadline applies from there).
 */
#ifndef DESK_ACCEPT_H
#define DESK_ACCEPT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* How long a connection may stay silent before it is handed over unsorted (ms). */
#define ACCEPT_SORT_MS 200
/* Connections waiting for their first bytes at most; past it new ones are handed over
 * unsorted. */
#define ACCEPT_MAX_WAITING 1024
/* Bytes looked at: a probe's request (line and header fields) must fit in them. */
#define ACCEPT_PEEK_BYTES 4096

enum accept_kind {
    ACCEPT_MORE,  /* could still be a probe: wait for more bytes */
    ACCEPT_PROBE, /* the whole first request is a probe, and nothing follows it */
    ACCEPT_OTHER, /* anything else */
};

/*
 * What the first n bytes a client sent are. A probe is "GET" or "HEAD", the
 * target "/healthz" exactly (no query; not /readyz, whose answer may wait for
 * the X server), HTTP/1.0 or 1.1, header
 * fields without Content-Length, Transfer-Encoding, Expect or Upgrade, a
 * connection that closes after the answer (HTTP/1.1 with Connection: close;
 * HTTP/1.0 without Connection: keep-alive), the header's end, and no byte
 * after it (no pipelined request).
 */
enum accept_kind accept_classify(const char *buf, size_t n);

/*
 * Takes a connected socket (non-blocking, close-on-exec) and its peer address;
 * owns the socket from then on (closes it on failure). Called on the accept
 * thread.
 */
typedef void (*accept_hand_fn)(void *arg, int fd, const struct sockaddr *addr, socklen_t len);

struct acceptor;

/*
 * Starts the accept thread on listen_fd (which it owns from then on: closed
 * by acceptor_stop, or here on failure). Probes go to probe(arg, ...), every
 * other connection to other(arg, ...). NULL on failure, with errno set.
 */
struct acceptor *acceptor_start(
        int listen_fd, accept_hand_fn probe, accept_hand_fn other, void *arg);

/*
 * Stops accepting: closes the listening socket (new connects are refused)
 * and the connections still waiting for their first bytes, joins the
 * thread and frees a. Accepts NULL.
 */
void acceptor_stop(struct acceptor *a);

#endif
