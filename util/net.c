/*
 * util: sockets and host names (see util.h).
 */
#define _GNU_SOURCE /* POLLRDHUP */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>

#include "util.h"

bool util_fd_hung_up(int fd) {
    struct pollfd p = {.fd = fd, .events = POLLRDHUP};
    return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

bool util_host_is_loopback(const char *host) {
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
    if (getaddrinfo(host, NULL, &hints, &ai) != 0)
        return false;
    bool all = true;
    for (struct addrinfo *a = ai; a; a = a->ai_next) {
        if (a->ai_family == AF_INET) {
            uint32_t v = ntohl(((struct sockaddr_in *)a->ai_addr)->sin_addr.s_addr);
            all = all && (v >> 24) == 127;
        } else if (a->ai_family == AF_INET6) {
            all = all && IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)a->ai_addr)->sin6_addr);
        } else {
            all = false;
        }
    }
    freeaddrinfo(ai);
    return all;
}

int util_split_host_port(const char *s, char *host, size_t hostlen, int *port) {
    const char *colon = strrchr(s, ':');
    if (!colon)
        return -EINVAL;
    const char *h = s;
    size_t hl = (size_t)(colon - s);
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']')
        h++, hl -= 2;
    if (hl == 0)
        h = "0.0.0.0", hl = strlen(h);
    if (hl >= hostlen || util_parse_int(colon + 1, 0, 65535, port) < 0 || colon[1] == '+' ||
            colon[1] == '-')
        return -EINVAL;
    memcpy(host, h, hl);
    host[hl] = '\0';
    return 0;
}

const char *util_host_of_header(const char *h, char *buf, size_t len) {
    if (!h || !*h)
        return NULL;
    size_t n;
    if (h[0] == '[') {
        const char *close = strchr(h, ']');
        if (!close)
            return NULL;
        n = (size_t)(close - h) + 1;
        if (strspn(h + 1, "0123456789abcdefABCDEF:.") != n - 2)
            return NULL;
    } else {
        n = strcspn(h, ":");
        if (strspn(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") != n)
            return NULL;
    }
    if (n == 0 || n >= len)
        return NULL;
    memcpy(buf, h, n);
    buf[n] = '\0';
    return buf;
}
