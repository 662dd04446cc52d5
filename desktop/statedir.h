/* statedir: the state directory, the VNC password, and orphans of a dead deskd (see statedir.c). */
#ifndef DESK_STATEDIR_H
#define DESK_STATEDIR_H

#include <limits.h>
#include <stddef.h>

#include "vnc.h"

struct statedir {
    char home[PATH_MAX]; /* $HOME, else the passwd entry's; "" when neither */
    char path[400];      /* the state directory */
    char logs_dir[450];  /* path/logs */
    char xdg_dir[450];   /* path/xdg: first on the desktop's XDG_CONFIG_DIRS */
    char passwd_path[450];
    char novnc_web[450];    /* path/novnc-web: what websockify serves (vnc_web_mirror) */
    char bus_services[450]; /* path/dbus-services: first of the session bus's service dirs */
};

/*
 * Chooses the directory (configured when not NULL or "", else $HOME/.desk,
 * else /tmp/desk-UID), makes it and its subdirectories, refuses one that is a
 * link or not ours, makes it 0700 and writes the autostart overrides. Returns
 * 0, or -1 with a sentence in err.
 */
int statedir_init(struct statedir *d, const char *configured, char *err, size_t errlen);
/*
 * The VNC password into out: the first line of file when file is not NULL,
 * else given when not NULL, else a generated one. Returns 0, or -1 with a
 * sentence in err (an unusable password says why).
 */
int statedir_password(const char *given, const char *file, char out[VNC_PASSWORD_MAX + 1],
        char *err, size_t errlen);
/* Kills what a deskd that died left behind (its processes carry its pid in their mark). */
void statedir_sweep_orphans(void);

#endif
