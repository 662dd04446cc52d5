/*
 * config: every flag and environment variable of deskd, read and checked once
 * at start-up (flags win over the environment). What the desktop's own
 * settings mean is checked by stack_init; what is checked here is the shape
 * of the command line, the listen address, the token rule and the log level.
 */
#ifndef DESK_CONFIG_H
#define DESK_CONFIG_H

#include <stdbool.h>

#include "log.h"
#include "recs.h"
#include "stack.h"

struct config {
    char host[256];    /* listen address, brackets removed */
    int port;          /* 0 picks a free port */
    const char *token; /* NULL: no token required */
    const char *display;
    enum log_level log_level;
    bool allow_state_keys; /* key names that switch XKB features are accepted */
    long hold_timeout_ms;  /* DESK_HOLD_TIMEOUT: what the down routes hold is released after this */
    struct stack_config stack; /* .display is set too */
    struct recs_config recs;   /* .display is set too */
};

enum config_result {
    CONFIG_RUN,   /* start deskd */
    CONFIG_EXIT,  /* --help or --version was answered: exit 0 */
    CONFIG_USAGE, /* a usage error was printed: exit 2 */
};

/*
 * Reads the environment and argv into c. Blanks the value of --token in argv,
 * so that ps stops showing it. Strings in c point into argv, the environment
 * or static storage.
 */
enum config_result config_parse(int argc, char **argv, struct config *c);

#endif
