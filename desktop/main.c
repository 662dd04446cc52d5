/*
 * deskd: the computer-use daemon. Parses the configuration (flags win over
 * environment variables), connects to the X display lazily, serves the HTTP
 * API until SIGTERM or SIGINT, then lets in-flight requests finish and exits 0.
 * It does not yet start a desktop of its own: it attaches to the display named
 * by --display or DISPLAY.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deskd.h"
#include "log.h"

struct deskd deskd;

static void api_healthz(struct req *r) {
    reply_json(r, 200, json_pack("{s:s, s:s}", "status", "ok", "version", DESK_VERSION));
}

static const struct route routes[] = {
        {"GET", "/healthz", api_healthz, true},
        {"GET", "/computeruse/screenshot", api_screenshot, false},
        {"GET", "/computeruse/screenshot/region", api_screenshot_region, false},
        {"GET", "/computeruse/screenshot/compressed", api_screenshot_compressed, false},
        {"GET", "/computeruse/screenshot/region/compressed", api_screenshot_region_compressed,
                false},
        {"GET", "/computeruse/display/info", api_display_info, false},
        {"GET", "/computeruse/display/windows", api_display_windows, false},
        {"GET", "/computeruse/mouse/position", api_mouse_position, false},
        {"POST", "/computeruse/mouse/move", api_mouse_move, false},
        {"POST", "/computeruse/mouse/click", api_mouse_click, false},
        {"POST", "/computeruse/mouse/drag", api_mouse_drag, false},
        {"POST", "/computeruse/mouse/scroll", api_mouse_scroll, false},
        {"POST", "/computeruse/keyboard/type", api_keyboard_type, false},
        {"POST", "/computeruse/keyboard/key", api_keyboard_key, false},
        {"POST", "/computeruse/keyboard/hotkey", api_keyboard_hotkey, false},
};

static void usage(FILE *f) {
    fputs("usage: deskd [options]\n"
          "  --listen HOST:PORT   API address (DESK_LISTEN; default 127.0.0.1:2280; port 0 picks "
          "one)\n"
          "  --token TOKEN        bearer token required on every route (DESK_TOKEN)\n"
          "  --insecure           allow a non-loopback address without a token\n"
          "  --display NAME       X display (DISPLAY; default :1)\n"
          "  --attach             use the running X display (DESK_ATTACH=1; the only mode so far)\n"
          "  --log-level LEVEL    error, warn, info or debug (DESK_LOG_LEVEL; default info)\n"
          "  --version, --help\n",
            f);
}

/* Splits "HOST:PORT", "[v6]:PORT" or ":PORT". */
static int parse_listen(const char *s, char *host, size_t hostlen, int *port) {
    const char *colon = strrchr(s, ':');
    if (!colon)
        return -EINVAL;
    const char *h = s;
    size_t hl = (size_t)(colon - s);
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']')
        h++, hl -= 2;
    if (hl == 0)
        h = "0.0.0.0", hl = strlen(h);
    if (hl >= hostlen)
        return -EINVAL;
    memcpy(host, h, hl);
    host[hl] = '\0';
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (!colon[1] || *end || p < 0 || p > 65535)
        return -EINVAL;
    *port = (int)p;
    return 0;
}

/* True when every address the host resolves to is a loopback address. */
static bool is_loopback(const char *host) {
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

static const char *env_or(const char *name, const char *def) {
    const char *v = getenv(name);
    return v && *v ? v : def;
}

int main(int argc, char **argv) {
    const char *listen = env_or("DESK_LISTEN", "127.0.0.1:2280");
    const char *token = env_or("DESK_TOKEN", NULL);
    const char *display = env_or("DISPLAY", ":1");
    const char *level = env_or("DESK_LOG_LEVEL", "info");
    bool insecure = false;

    enum {
        OPT_LISTEN = 256,
        OPT_TOKEN,
        OPT_INSECURE,
        OPT_DISPLAY,
        OPT_ATTACH,
        OPT_LOG,
        OPT_VERSION
    };
    static const struct option opts[] = {
            {"listen", required_argument, NULL, OPT_LISTEN},
            {"token", required_argument, NULL, OPT_TOKEN},
            {"insecure", no_argument, NULL, OPT_INSECURE},
            {"display", required_argument, NULL, OPT_DISPLAY},
            {"attach", no_argument, NULL, OPT_ATTACH},
            {"log-level", required_argument, NULL, OPT_LOG},
            {"version", no_argument, NULL, OPT_VERSION},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_LISTEN:
            listen = optarg;
            break;
        case OPT_TOKEN:
            token = optarg;
            break;
        case OPT_INSECURE:
            insecure = true;
            break;
        case OPT_DISPLAY:
            display = optarg;
            break;
        case OPT_ATTACH:
            break;
        case OPT_LOG:
            level = optarg;
            break;
        case OPT_VERSION:
            puts("deskd " DESK_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "deskd: unexpected argument \"%s\"\n", argv[optind]);
        return 2;
    }
    if (log_parse_level(level, &log_threshold) < 0) {
        fprintf(stderr, "deskd: --log-level must be error, warn, info or debug, got \"%s\"\n",
                level);
        return 2;
    }
    char host[256];
    int port;
    if (parse_listen(listen, host, sizeof host, &port) < 0) {
        fprintf(stderr,
                "deskd: --listen must be HOST:PORT with a port from 0 to 65535, got \"%s\"\n",
                listen);
        return 2;
    }
    if (token && !*token)
        token = NULL;
    if (!token && !insecure && !is_loopback(host)) {
        fprintf(stderr,
                "deskd: refusing to listen on %s without a token: set DESK_TOKEN or "
                "--token, or pass --insecure\n",
                host);
        return 2;
    }

    /* Screenshot bodies are megabytes: keep them on the heap and reuse the pages,
     * instead of a fresh mmap (and its page faults) per request. */
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 256 << 20);

    /* Signals go to the main thread only, through sigwait. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    xconn_global_init();
    deskd.display = display;
    deskd.xcap = xconn_new(display, "capture", shots_open, shots_close, NULL);
    deskd.xinput = xconn_new(display, "input", inputs_open, inputs_close, NULL);
    if (!deskd.xcap || !deskd.xinput)
        return 1;

    struct server_config cfg = {
            .host = host,
            .port = port,
            .token = token,
            .routes = routes,
            .nroutes = sizeof routes / sizeof routes[0],
    };
    struct server *srv = server_start(&cfg);
    if (!srv)
        return 1;
    fprintf(stderr, "deskd: listening on http://%s%s%s:%d\n", strchr(host, ':') ? "[" : "", host,
            strchr(host, ':') ? "]" : "", server_port(srv));
    log_msg(LOG_INFO, "X display %s%s", display, token ? "; bearer token required" : "");

    int sig = 0;
    sigwait(&sigs, &sig);
    log_msg(LOG_INFO, "%s: stopping", strsignal(sig));
    deskd.stopping = true;
    server_stop(srv, 10000);
    xconn_destroy(deskd.xinput);
    xconn_destroy(deskd.xcap);
    shots_finish();
    log_msg(LOG_INFO, "stopped");
    return 0;
}
