/*
 * config: deskd's command line and environment (see config.h and the
 * README's Configuration table, which lists the same settings).
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "deskd.h"
#include "util.h"

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
          "  --novnc-host ADDR    noVNC listen address (DESK_NOVNC_HOST; default 127.0.0.1;\n"
          "                       0.0.0.0 or :: for every interface)\n"
          "  --state-dir DIR      process logs (DESK_STATE_DIR; default $HOME/.desk)\n"
          "  --vnc-password-file FILE  VNC password, first line (or DESK_VNC_PASSWORD; "
          "default random)\n"
          "  --recordings-dir DIR where recordings go (DAYTONA_RECORDINGS_DIR; default "
          "$HOME/.daytona/recordings)\n"
          "  --recordings-max N   recordings running at once, 1-16 (DESK_RECORDINGS_MAX; "
          "default 4)\n"
          "  --record-text        keep typed text in recording events (DESK_RECORD_TEXT=1)\n"
          "  --log-level LEVEL    error, warn, info or debug (DESK_LOG_LEVEL; default info)\n"
          "  --allow-state-keys   accept key names that switch XKB features (StickyKeys_Enable, "
          "Pointer_*;\n"
          "                       DESK_ALLOW_STATE_KEYS=1); what they switch is still undone "
          "after each request\n"
          "DESK_HOLD_TIMEOUT=S: keys and buttons the down routes hold are released after S "
          "seconds without input (default 60)\n"
          "  --version, --help\n",
            f);
}

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
    OPT_RECORDINGS_DIR,
    OPT_RECORDINGS_MAX,
    OPT_RECORD_TEXT,
    OPT_ALLOW_STATE_KEYS,
};

static const struct option options[] = {
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
        {"recordings-dir", required_argument, NULL, OPT_RECORDINGS_DIR},
        {"recordings-max", required_argument, NULL, OPT_RECORDINGS_MAX},
        {"record-text", no_argument, NULL, OPT_RECORD_TEXT},
        {"allow-state-keys", no_argument, NULL, OPT_ALLOW_STATE_KEYS},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
};

/* What the command line said, before the environment's defaults are applied. */
struct flags {
    const char *listen, *level, *recordings_max;
    bool insecure, attach, no_start;
};

/*
 * Keeps a copy of the token and blanks the argument, so that ps and
 * /proc/PID/cmdline stop showing it (DESK_TOKEN in the environment is the
 * better way to pass it).
 */
static const char *take_token(char *arg) {
    static char copy[1024];
    if (strlen(arg) >= sizeof copy) {
        fprintf(stderr, "deskd: --token must be shorter than %zu bytes\n", sizeof copy);
        return NULL;
    }
    memcpy(copy, arg, strlen(arg) + 1);
    memset(arg, 'x', strlen(arg));
    return copy;
}

/* One option; returns CONFIG_RUN to go on. */
static enum config_result option(int opt, char *arg, struct config *c, struct flags *f) {
    struct stack_config *s = &c->stack;
    switch (opt) {
    case OPT_LISTEN:
        f->listen = arg;
        break;
    case OPT_TOKEN:
        if (!(c->token = take_token(arg)))
            return CONFIG_USAGE;
        break;
    case OPT_INSECURE:
        f->insecure = true;
        break;
    case OPT_DISPLAY:
        c->display = arg;
        break;
    case OPT_ATTACH:
        f->attach = true;
        break;
    case OPT_NO_START:
        f->no_start = true;
        break;
    case OPT_RESOLUTION:
        s->resolution = arg;
        break;
    case OPT_VNC_PORT:
        s->vnc_port = arg;
        break;
    case OPT_NOVNC_PORT:
        s->novnc_port = arg;
        break;
    case OPT_NOVNC_HOST:
        s->novnc_host = arg;
        break;
    case OPT_STATE_DIR:
        s->state_dir = arg;
        break;
    case OPT_VNC_PASSWORD_FILE:
        s->password_file = arg;
        break;
    case OPT_RECORDINGS_DIR:
        c->recs.dir = arg;
        break;
    case OPT_RECORDINGS_MAX:
        f->recordings_max = arg;
        break;
    case OPT_RECORD_TEXT:
        c->recs.record_text = true;
        break;
    case OPT_LOG:
        f->level = arg;
        break;
    case OPT_ALLOW_STATE_KEYS:
        c->allow_state_keys = true;
        break;
    case OPT_VERSION:
        puts("deskd " DESK_VERSION);
        return CONFIG_EXIT;
    case 'h':
        usage(stdout);
        return CONFIG_EXIT;
    default:
        usage(stderr);
        return CONFIG_USAGE;
    }
    return CONFIG_RUN;
}

/* The checks that need the whole command line. */
static enum config_result check(struct config *c, const struct flags *f) {
    if (f->attach && f->no_start) {
        fprintf(stderr, "deskd: --attach and --no-start exclude each other\n");
        return CONFIG_USAGE;
    }
    c->allow_state_keys |= util_env_true("DESK_ALLOW_STATE_KEYS");
    /* Either flag wins over DESK_ATTACH and DESK_START. */
    if (f->attach)
        c->stack.attach = true;
    if (f->no_start) {
        c->stack.attach = false;
        c->stack.autostart = false;
    }
    if (log_parse_level(f->level, &c->log_level) < 0) {
        fprintf(stderr, "deskd: --log-level must be error, warn, info or debug, got \"%s\"\n",
                f->level);
        return CONFIG_USAGE;
    }
    if (util_split_host_port(f->listen, c->host, sizeof c->host, &c->port) < 0) {
        fprintf(stderr,
                "deskd: --listen must be HOST:PORT with a port from 0 to 65535, got \"%s\"\n",
                f->listen);
        return CONFIG_USAGE;
    }
    if (c->token && !*c->token)
        c->token = NULL;
    if (!c->token && !f->insecure && !util_host_is_loopback(c->host)) {
        fprintf(stderr,
                "deskd: refusing to listen on %s without a token: set DESK_TOKEN or "
                "--token, or pass --insecure\n",
                c->host);
        return CONFIG_USAGE;
    }
    if (util_parse_int(f->recordings_max, 1, RECS_MAX_LIMIT, &c->recs.max) < 0) {
        fprintf(stderr, "deskd: --recordings-max must be a whole number from 1 to %d, got \"%s\"\n",
                RECS_MAX_LIMIT, f->recordings_max);
        return CONFIG_USAGE;
    }
    c->stack.display = c->display;
    c->recs.display = c->display;
    const char *hold = util_env_or("DESK_HOLD_TIMEOUT", "60");
    double secs = 0;
    if (util_parse_double(hold, &secs) < 0 || !(secs > 0 && secs <= 86400)) {
        fprintf(stderr,
                "deskd: DESK_HOLD_TIMEOUT must be a number of seconds above 0 and at most 86400, "
                "got \"%s\"\n",
                hold);
        return CONFIG_USAGE;
    }
    c->hold_timeout_ms = (long)(secs * 1000);
    return CONFIG_RUN;
}

enum config_result config_parse(int argc, char **argv, struct config *c) {
    memset(c, 0, sizeof *c);
    struct flags f = {
            .listen = util_env_or("DESK_LISTEN", "127.0.0.1:2280"),
            .level = util_env_or("DESK_LOG_LEVEL", "info"),
            .recordings_max = util_env_or("DESK_RECORDINGS_MAX", "4"),
    };
    c->recs.record_text = util_env_true("DESK_RECORD_TEXT");
    c->token = util_env_or("DESK_TOKEN", NULL);
    c->display = util_env_or("DISPLAY", ":1");
    c->allow_state_keys = false;
    stack_config_defaults(&c->stack);
    int opt;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        enum config_result res = option(opt, optarg, c, &f);
        if (res != CONFIG_RUN)
            return res;
    }
    if (optind < argc) {
        fprintf(stderr, "deskd: unexpected argument \"%s\"\n", argv[optind]);
        return CONFIG_USAGE;
    }
    return check(c, &f);
}
