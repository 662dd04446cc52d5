/*
 * The shared library's interface: its dynamic symbol table (nm -D --defined-only) holds
 * exactly the functions that desk.h declares with DESK_EXPORT, all named desk_*, and
 * nothing else (no jansson, curl or internal helpers leaking out); its SONAME is
 * libdesk.so.<major>. The header is read as text, so a function added to the header but
 * not exported (or the reverse) fails here.
 */
#include <ctype.h>
#include <desk/desk.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define MAX_SYMS 256

struct names {
    char *v[MAX_SYMS];
    int n;
};

static void add(struct names *s, const char *name, size_t len) {
    if (s->n < MAX_SYMS)
        s->v[s->n++] = strndup(name, len);
}

static bool has(const struct names *s, const char *name) {
    for (int i = 0; i < s->n; i++) {
        if (strcmp(s->v[i], name) == 0)
            return true;
    }
    return false;
}

static void free_names(struct names *s) {
    for (int i = 0; i < s->n; i++)
        free(s->v[i]);
    s->n = 0;
}

/* The identifier right before the first '(' after each "DESK_EXPORT" in the header. */
static int header_functions(const char *path, struct names *out) {
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    static char text[1 << 17];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    for (const char *p = text; (p = strstr(p, "DESK_EXPORT")); p += 11) {
        const char *line = p;
        while (line > text && line[-1] != '\n')
            line--;
        if (strncmp(line, "#", 1) == 0)
            continue; /* the macro's own definition */
        const char *paren = strchr(p, '(');
        if (!paren)
            break;
        const char *end = paren, *start = paren;
        while (start > p && (isalnum((unsigned char)start[-1]) || start[-1] == '_'))
            start--;
        add(out, start, (size_t)(end - start));
    }
    return 0;
}

static int dynamic_symbols(const char *lib, struct names *out) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "nm -D --defined-only '%s'", lib);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    char line[512];
    while (fgets(line, sizeof line, p)) {
        char addr[64], type[8], name[256];
        if (sscanf(line, "%63s %7s %255s", addr, type, name) == 3)
            add(out, name, strlen(name));
    }
    return pclose(p) == 0 ? 0 : -1;
}

int main(void) {
    check_timeout(30);
    check_require_tool("nm");
    check_require_tool("readelf");
    struct names decl = {0}, syms = {0};
    CHECK(header_functions(DESK_HEADER_PATH, &decl) == 0, "read %s", DESK_HEADER_PATH);
    CHECK(dynamic_symbols(LIBDESK_PATH, &syms) == 0, "nm -D %s", LIBDESK_PATH);
    CHECK(decl.n >= 40, "the header declares %d exported functions", decl.n);

    for (int i = 0; i < syms.n; i++) {
        CHECK(strncmp(syms.v[i], "desk_", 5) == 0, "exported symbol %s is not desk_*", syms.v[i]);
        CHECK(has(&decl, syms.v[i]), "%s is exported but not declared in desk.h", syms.v[i]);
    }
    for (int i = 0; i < decl.n; i++)
        CHECK(has(&syms, decl.v[i]), "%s is declared in desk.h but not exported", decl.v[i]);
    printf("%d symbols exported, %d declared\n", syms.n, decl.n);

    char cmd[1024], line[512], want[64];
    snprintf(want, sizeof want, "[libdesk.so.%d]", DESK_VERSION_MAJOR);
    snprintf(cmd, sizeof cmd, "readelf -d '%s'", LIBDESK_PATH);
    FILE *p = popen(cmd, "r");
    bool soname = false;
    while (p && fgets(line, sizeof line, p))
        soname = soname || (strstr(line, "(SONAME)") && strstr(line, want));
    if (p)
        pclose(p);
    CHECK(soname, "SONAME %s", want);

    free_names(&decl);
    free_names(&syms);
    return check_finish();
}
