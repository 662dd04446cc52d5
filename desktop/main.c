/*
 * deskd: the computer-use daemon. Parses the configuration (flags win over
 * environment variables), connects to the X display lazily, serves the HTTP
 * API until SIGTERM or SIGINT, then lets in-flight requests finish and exits 0.
 * Unless attached (--attach), it starts and supervises the desktop on that
 * display (stack.c), and stops all of it after the HTTP server on exit.
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
#include "stack.h"

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
        {"POST", "/computeruse/start", api_process_start, false},
        {"POST", "/computeruse/stop", api_process_stop, false},
        {"GET", "/computeruse/status", api_process_status_all, false},
        {"GET", "/computeruse/process-status", api_process_status_all, false},
        {"GET", "/computeruse/process/*/status", api_process_status, false},
        {"POST", "/computeruse/process/*/restart", api_process_restart, false},
        {"GET", "/computeruse/process/*/logs", api_process_logs, false},
        {"GET", "/computeruse/process/*/errors", api_process_errors, false},
        {"GET", "/computeruse/vnc", api_vnc, false},
};

static void usage(FILE *f) {
    fputs("usage: deskd [options]\n"
          "  --listen HOST:PORT   API address (DESK_LISTEN; default 127.0.0.1:2280; port 0 picks "
          "one)\n"
          "  --token TOKEN        bearer token required on every route (DESK_TOKEN)\n"
          "  --insecure           allow a non-loopback address without a token\n"
          "  --display NAME       X display (DISPLAY; default :1)\n"
          "  --attach             use the running X display; start and stop no processes "
          "(DESK_ATTACH=1)\n"
          "  --no-start           start the desktop only on POST /computeruse/start "
          "(DESK_START=0)\n"
          "  --resolution WxH     Xvfb screen size (VNC_RESOLUTION; default 1280x720)\n"
          "  --vnc-port PORT      x11vnc port, loopback only (VNC_PORT; default 5901)\n"
          "  --novnc-port PORT    noVNC port (NO_VNC_PORT; default 6080)\n"
          "  --novnc-host ADDR    noVNC listen address (DESK_NOVNC_HOST; default all)\n"
          "  --state-dir DIR      process logs (DESK_STATE_DIR; default $HOME/.desk)\n"
          "  --vnc-password-file FILE  VNC password, first line (or DESK_VNC_PASSWORD; "
          "default random)\n"
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
    struct stack_config scfg;
    stack_config_defaults(&scfg);
    bool attach_flag = false, no_start_flag = false;

    enum {
        OPT_LISTEN = 256,
        OPT_TOKEN,
        OPT_INSECURE,
        OPT_DISPLAY,
        OPT_ATTACH,
        OPT_LOG,
        OPT_VERSION,
        OPT_NO_START,
        OPT_RESOLUTION,
        OPT_VNC_PORT,
        OPT_NOVNC_PORT,
        OPT_NOVNC_HOST,
        OPT_STATE_DIR,
        OPT_VNC_PASSWORD_FILE,
    };
    static const struct option opts[] = {
            {"listen", required_argument, NULL, OPT_LISTEN},
            {"token", required_argument, NULL, OPT_TOKEN},
            {"insecure", no_argument, NULL, OPT_INSECURE},
            {"display", required_argument, NULL, OPT_DISPLAY},
            {"attach", no_argument, NULL, OPT_ATTACH},
            {"log-level", required_argument, NULL, OPT_LOG},
            {"version", no_argument, NULL, OPT_VERSION},
            {"no-start", no_argument, NULL, OPT_NO_START},
            {"resolution", required_argument, NULL, OPT_RESOLUTION},
            {"vnc-port", required_argument, NULL, OPT_VNC_PORT},
            {"novnc-port", required_argument, NULL, OPT_NOVNC_PORT},
            {"novnc-host", required_argument, NULL, OPT_NOVNC_HOST},
            {"state-dir", required_argument, NULL, OPT_STATE_DIR},
            {"vnc-password-file", required_argument, NULL, OPT_VNC_PASSWORD_FILE},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case OPT_LISTEN:
            listen = optarg;
            break;
        case OPT_TOKEN: {
            /* Keep a copy and blank the argument, so that ps and /proc/PID/cmdline stop
             * showing it (DESK_TOKEN in the environment is the better way to pass it). */
            static char token_copy[1024];
            if (strlen(optarg) >= sizeof token_copy) {
                fprintf(stderr, "deskd: --token must be shorter than %zu bytes\n",
                        sizeof token_copy);
                return 2;
            }
            token = strcpy(token_copy, optarg);
            memset(optarg, 'x', strlen(optarg));
            break;
        }
        case OPT_INSECURE:
            insecure = true;
            break;
        case OPT_DISPLAY:
            display = optarg;
            break;
        case OPT_ATTACH:
            attach_flag = true;
            break;
        case OPT_NO_START:
            no_start_flag = true;
            break;
        case OPT_RESOLUTION:
            scfg.resolution = optarg;
            break;
        case OPT_VNC_PORT:
            scfg.vnc_port = optarg;
            break;
        case OPT_NOVNC_PORT:
            scfg.novnc_port = optarg;
            break;
        case OPT_NOVNC_HOST:
            scfg.novnc_host = optarg;
            break;
        case OPT_STATE_DIR:
            scfg.state_dir = optarg;
            break;
        case OPT_VNC_PASSWORD_FILE:
            scfg.password_file = optarg;
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
    if (attach_flag && no_start_flag) {
        fprintf(stderr, "deskd: --attach and --no-start exclude each other\n");
        return 2;
    }
    /* Either flag wins over DESK_ATTACH and DESK_START. */
    if (attach_flag)
        scfg.attach = true;
    if (no_start_flag) {
        scfg.attach = false;
        scfg.autostart = false;
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

    /* Before any thread exists: the supervisor blocks SIGCHLD for all of them. */
    scfg.display = display;
    char serr[512];
    if (stack_init(&scfg, serr, sizeof serr) < 0) {
        fprintf(stderr, "deskd: %s\n", serr);
        return 2;
    }

    xconn_global_init();
    deskd.display = display;
    deskd.shots = shots_new(display);
    deskd.input = inputw_new(display, &deskd.stopping);
    deskd.xquery = xconn_new(display, "queries", NULL, NULL, NULL);
    if (!deskd.shots || !deskd.input || !deskd.xquery)
        return 1;

    struct server_config cfg = {
            .host = host,
            .port = port,
            .token = token,
            .routes = routes,
            .nroutes = sizeof routes / sizeof routes[0],
    };
    struct server *srv = server_start(&cfg);
    if (!srv) {
        stack_finish();
        return 1;
    }
    fprintf(stderr, "deskd: listening on http://%s%s%s:%d\n", strchr(host, ':') ? "[" : "", host,
            strchr(host, ':') ? "]" : "", server_port(srv));
    log_msg(LOG_INFO, "X display %s%s", display, token ? "; bearer token required" : "");

    int sig = 0;
    sigwait(&sigs, &sig);
    log_msg(LOG_INFO, "%s: stopping", strsignal(sig));
    deskd.stopping = true;
    stack_quiesce();
    server_stop(srv, 10000);
    inputw_destroy(deskd.input);
    shots_destroy(deskd.shots);
    xconn_destroy(deskd.xquery);
    stack_finish();
    log_msg(LOG_INFO, "stopped");
    return 0;
}
