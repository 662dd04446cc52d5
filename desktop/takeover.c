/*
 * takeover: the link table and the control holder, each under one mutex.
 */
#define _GNU_SOURCE
#include "takeover.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "log.h"

struct link {
    struct link_info info;
    char token[LINK_TOKEN_LEN + 1];
    bool used;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct link links[LINKS_MAX];
static atomic_bool human;
static int64_t control_since;

static int64_t wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int random_hex(char *out, size_t bytes) {
    unsigned char buf[32];
    size_t got = 0;
    while (got < bytes) {
        ssize_t r = getrandom(buf + got, bytes - got, 0);
        if (r < 0 && errno != EINTR)
            return -errno;
        if (r > 0)
            got += (size_t)r;
    }
    for (size_t i = 0; i < bytes; i++)
        snprintf(out + 2 * i, 3, "%02x", buf[i]);
    explicit_bzero(buf, sizeof buf);
    return 0;
}

/* Whether l counts (under the lock): made, not revoked, not expired. Frees it otherwise. */
static bool live(struct link *l, int64_t now) {
    if (l->used && l->info.expires_ms <= now && l->info.sessions == 0) {
        explicit_bzero(l, sizeof *l);
        return false;
    }
    return l->used && l->info.expires_ms > now;
}

int link_create(int ttl_s, bool view_only, struct link_info *out, char token[LINK_TOKEN_LEN + 1]) {
    pthread_mutex_lock(&lock);
    int64_t now = wall_ms();
    struct link *slot = NULL;
    for (int i = 0; i < LINKS_MAX; i++) {
        if (!live(&links[i], now) && !links[i].used && !slot)
            slot = &links[i];
    }
    int rc = -ENOSPC;
    if (slot && (rc = random_hex(slot->token, LINK_TOKEN_LEN / 2)) == 0 &&
            (rc = random_hex(slot->info.id, LINK_ID_LEN / 2)) == 0) {
        slot->used = true;
        slot->info.expires_ms = now + (int64_t)ttl_s * 1000;
        slot->info.view_only = view_only;
        slot->info.sessions = 0;
        *out = slot->info;
        memcpy(token, slot->token, LINK_TOKEN_LEN + 1);
        log_msg(LOG_INFO, "vnc link %s made: %s, for %d s", out->id,
                view_only ? "view-only" : "full control", ttl_s);
    } else if (slot) {
        explicit_bzero(slot, sizeof *slot);
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

int link_list(struct link_info *out, int max) {
    pthread_mutex_lock(&lock);
    int64_t now = wall_ms();
    int n = 0;
    for (int i = 0; i < LINKS_MAX; i++) {
        if (live(&links[i], now) && n < max)
            out[n++] = links[i].info;
    }
    pthread_mutex_unlock(&lock);
    /* Soonest to expire first. */
    for (int i = 1; i < n; i++) {
        struct link_info t = out[i];
        int j = i;
        for (; j > 0 && out[j - 1].expires_ms > t.expires_ms; j--)
            out[j] = out[j - 1];
        out[j] = t;
    }
    return n;
}

int link_revoke(const char *id) {
    pthread_mutex_lock(&lock);
    int64_t now = wall_ms();
    int rc = -ENOENT;
    for (int i = 0; i < LINKS_MAX; i++) {
        struct link *l = &links[i];
        if (live(l, now) && strcmp(l->info.id, id) == 0) {
            /* Expired now: sessions on it end, and it is freed once they did. */
            l->info.expires_ms = 0;
            explicit_bzero(l->token, sizeof l->token);
            rc = 0;
            log_msg(LOG_INFO, "vnc link %s revoked; its %d open sessions close", id,
                    l->info.sessions);
            live(l, now);
        }
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

/* Constant-time comparison of two strings of LINK_TOKEN_LEN characters (given may differ). */
static bool token_equal(const char *given, const char *want) {
    size_t lg = strnlen(given, LINK_TOKEN_LEN + 1);
    volatile unsigned char diff = (unsigned char)(lg != LINK_TOKEN_LEN);
    for (size_t i = 0; i < LINK_TOKEN_LEN; i++)
        diff |= (unsigned char)((i < lg ? given[i] : 0) ^ want[i]);
    return diff == 0;
}

int link_by_token(const char *token, struct link_info *out) {
    pthread_mutex_lock(&lock);
    int64_t now = wall_ms();
    int rc = -ENOENT;
    /* Every link is compared, found or not, so the time says nothing about the table. */
    for (int i = 0; i < LINKS_MAX; i++) {
        struct link *l = &links[i];
        bool ok = live(l, now);
        bool eq = token_equal(token, l->token);
        if (ok && eq && rc != 0) {
            *out = l->info;
            rc = 0;
        }
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

bool link_alive(const char *id) {
    pthread_mutex_lock(&lock);
    int64_t now = wall_ms();
    bool alive = false;
    for (int i = 0; i < LINKS_MAX && !alive; i++)
        alive = links[i].used && links[i].info.expires_ms > now &&
                strcmp(links[i].info.id, id) == 0;
    pthread_mutex_unlock(&lock);
    return alive;
}

void link_sessions_add(const char *id, int d) {
    pthread_mutex_lock(&lock);
    for (int i = 0; i < LINKS_MAX; i++) {
        if (links[i].used && strcmp(links[i].info.id, id) == 0) {
            links[i].info.sessions += d;
            live(&links[i], wall_ms());
            break;
        }
    }
    pthread_mutex_unlock(&lock);
}

bool control_human(void) {
    return atomic_load(&human);
}

const char *control_name(enum holder h) {
    return h == HOLDER_HUMAN ? "human" : "agent";
}

enum holder control_get(int64_t *since_ms) {
    pthread_mutex_lock(&lock);
    if (control_since == 0)
        control_since = wall_ms();
    *since_ms = control_since;
    enum holder h = atomic_load(&human) ? HOLDER_HUMAN : HOLDER_AGENT;
    pthread_mutex_unlock(&lock);
    return h;
}

void control_set(enum holder h, const char *by) {
    pthread_mutex_lock(&lock);
    bool was = atomic_load(&human);
    if (was != (h == HOLDER_HUMAN) || control_since == 0) {
        atomic_store(&human, h == HOLDER_HUMAN);
        control_since = wall_ms();
        if (was != (h == HOLDER_HUMAN))
            log_msg(LOG_INFO, "control: %s -> %s (asked by %s)%s",
                    control_name(was ? HOLDER_HUMAN : HOLDER_AGENT), control_name(h), by,
                    h == HOLDER_HUMAN ? "; API input answers 409 HUMAN_IN_CONTROL" : "");
    }
    pthread_mutex_unlock(&lock);
}
