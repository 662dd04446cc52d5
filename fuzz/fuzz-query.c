/*
 * libFuzzer harness: the screenshot query parser (desktop/params.c) on a query
 * string split into key=value pairs as MHD would hand them over (values may
 * hold any byte but NUL, which the HTTP layer refuses before parsing). The
 * first byte picks the route (region, compressed) and the Accept header.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "params.h"

#define MAX_ARGS 32

struct args {
    int n;
    const char *key[MAX_ARGS], *val[MAX_ARGS];
};

static const char *get(const void *ctx, const char *key) {
    const struct args *a = ctx;
    for (int i = 0; i < a->n; i++)
        if (strcmp(a->key[i], key) == 0)
            return a->val[i];
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || size > 4096)
        return 0;
    static char buf[4097];
    memcpy(buf, data + 1, size - 1);
    buf[size - 1] = '\0';
    struct args a = {0};
    for (char *save = NULL, *p = strtok_r(buf, "&", &save); p && a.n < MAX_ARGS;
            p = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(p, '=');
        a.key[a.n] = p;
        a.val[a.n] = eq ? (*eq = '\0', eq + 1) : "";
        a.n++;
    }
    static const char *const accept[] = {NULL, "image/png", "image/jpeg, */*", "image/*;q=0"};
    struct shot_req sr;
    char err[256];
    shot_parse(&sr, data[0] & 1, data[0] & 2, get, &a, accept[(data[0] >> 2) & 3], err, sizeof err);
    bool b;
    if (a.n)
        param_bool(a.val[0], &b);
    return 0;
}
