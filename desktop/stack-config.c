/*
 * stack-config: the desktop's settings, from defaults and the environment
 * (stack_config_defaults) and checked before anything starts
 * (stack_config_check): a local display, a sane screen size, two distinct
 * ports, a numeric noVNC address. Every refusal names the flag and the
 * variable to change.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "stack-int.h"
#include "util.h"

void stack_config_defaults(struct stack_config *c) {
    memset(c, 0, sizeof *c);
    c->resolution = util_env_or("VNC_RESOLUTION", "1280x720");
    c->vnc_port = util_env_or("VNC_PORT", "5901");
    c->novnc_port = util_env_or("NO_VNC_PORT", "6080");
    c->novnc_host = util_env_or("DESK_NOVNC_HOST", "127.0.0.1");
    c->state_dir = util_env_or("DESK_STATE_DIR", NULL);
    c->vnc_password = util_env_or("DESK_VNC_PASSWORD", NULL);
    c->attach = util_env_true("DESK_ATTACH");
    c->autostart = !util_env_false("DESK_START");
}

int stack_config_check(const struct stack_config *c, char *err, size_t errlen) {
    /* Only a local display can be started: ":N" or ":N.S". */
    char *end;
    long num = stk.display[0] == ':' ? strtol(stk.display + 1, &end, 10) : -1;
    if (num < 0 || num > 65535 || end == stk.display + 1 || (*end && *end != '.')) {
        snprintf(err, errlen,
                "only a local display such as :1 can be started, not \"%s\"; use --attach to "
                "use a running one",
                stk.display);
        return -1;
    }
    stk.display_num = (int)num;
    const char *x = strchr(c->resolution, 'x');
    char wbuf[16];
    if (!x || (size_t)(x - c->resolution) >= sizeof wbuf) {
        snprintf(err, errlen,
                "--resolution (VNC_RESOLUTION) must be WxH, like 1280x720, not \"%s\"",
                c->resolution);
        return -1;
    }
    memcpy(wbuf, c->resolution, (size_t)(x - c->resolution));
    wbuf[x - c->resolution] = '\0';
    if (util_parse_int(wbuf, 16, 8192, &stk.width) < 0 ||
            util_parse_int(x + 1, 16, 8192, &stk.height) < 0) {
        snprintf(err, errlen,
                "--resolution (VNC_RESOLUTION) must be WxH with sides from 16 to 8192, not \"%s\"",
                c->resolution);
        return -1;
    }
    int vport, nport;
    if (util_parse_int(c->vnc_port, 1, 65535, &vport) < 0 ||
            util_parse_int(c->novnc_port, 1, 65535, &nport) < 0 || vport == nport) {
        snprintf(err, errlen,
                "--vnc-port (VNC_PORT) and --novnc-port (NO_VNC_PORT) must be two different ports "
                "from 1 to 65535, not \"%s\" and \"%s\"",
                c->vnc_port, c->novnc_port);
        return -1;
    }
    snprintf(stk.novnc_host, sizeof stk.novnc_host, "%s", c->novnc_host ? c->novnc_host : "");
    if (stk.novnc_host[0]) {
        struct addrinfo hints = {.ai_flags = AI_NUMERICHOST}, *ai = NULL;
        if (getaddrinfo(stk.novnc_host, NULL, &hints, &ai) != 0) {
            snprintf(err, errlen,
                    "--novnc-host (DESK_NOVNC_HOST) must be a numeric address, not "
                    "\"%s\"",
                    stk.novnc_host);
            return -1;
        }
        freeaddrinfo(ai);
    }
    stk.vnc = (struct vnc_config){
            .display = stk.display,
            .vnc_port = vport,
            .novnc_port = nport,
            .novnc_host = stk.novnc_host,
            .web_dir = NOVNC_WEB,
            .passwd_file = stk.dir.passwd_path,
            .novnc_web = stk.dir.novnc_web,
    };
    return 0;
}
