/*
 * check: the tests' tiny assertion kit. A failed CHECK prints where and why and
 * counts a failure; test_main-style programs end with check_finish(), which
 * prints "N passed, N failed" and returns the exit status. Exit 77 means
 * "skipped" to ctest (SKIP_RETURN_CODE), used only when a needed tool is missing
 * and DESK_TEST_ALLOW_SKIP=1 asks for skips.
 */
#ifndef DESK_TEST_CHECK_H
#define DESK_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

extern int check_passed, check_failed;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (cond) {                                                                                \
            check_passed++;                                                                        \
        } else {                                                                                   \
            check_failed++;                                                                        \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);               \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

#define CHECK_INT(a, b)                                                                            \
    do {                                                                                           \
        long long check_a_ = (long long)(a), check_b_ = (long long)(b);                            \
        CHECK(check_a_ == check_b_, "%s = %lld, expected %lld", #a, check_a_, check_b_);           \
    } while (0)

#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *check_a_ = (a), *check_b_ = (b);                                               \
        CHECK(check_a_ &&check_b_ &&strcmp(check_a_, check_b_) == 0,                               \
                "%s = \"%s\", expected \"%s\"", #a, check_a_ ? check_a_ : "(null)",                \
                check_b_ ? check_b_ : "(null)");                                                   \
    } while (0)

/* Arms a watchdog: the test process aborts with a message after this many seconds. */
void check_timeout(unsigned seconds);
/* Prints the summary line and returns the exit status for main. */
int check_finish(void);
/*
 * Fails the test (exit 1) when a required executable is not on PATH; with
 * DESK_TEST_ALLOW_SKIP=1 in the environment it exits 77 (skipped) instead.
 */
void check_require_tool(const char *name);

#endif
