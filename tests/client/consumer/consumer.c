/*
 * consumer: a program built against an installed libdesk, the way a user builds one (CMake
 * find_package or pkg-config). It checks that the header and the library agree on the
 * version and that a call works without a server: a bad URL gives DESK_ERR_URL.
 */
#include <desk/desk.h>
#include <stdio.h>
#include <string.h>

int main(void) {
    desk_client *c = desk_client_new("ftp://nowhere");
    int ok = c && desk_last_status(c) == DESK_ERR_URL && desk_version() == DESK_VERSION_NUM &&
             strcmp(desk_version_string(), DESK_VERSION_STRING) == 0;
    printf("libdesk %s: %s\n", desk_version_string(), ok ? "ok" : "MISMATCH");
    desk_client_free(c);
    return ok ? 0 : 1;
}
