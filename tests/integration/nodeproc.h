/*
 * nodeproc (integration tests): a node script as a child that the test talks
 * to in lines: the test writes a command line to its stdin and reads its
 * answer, one line of JSON, from its stdout. The child dies with the test.
 */
#ifndef DESK_TEST_NODEPROC_H
#define DESK_TEST_NODEPROC_H

#include <jansson.h>
#include <sys/types.h>

struct nodeproc {
    pid_t pid;
    int in, out;
    char buf[1 << 16];
    size_t len;
};

/* Starts argv (argv[0] looked up in PATH) with pipes on stdin and stdout. Returns 0 or -1. */
int nodeproc_start(struct nodeproc *n, const char *const *argv);
/* The next line of its stdout (the caller frees it); NULL on timeout or end. */
char *nodeproc_line(struct nodeproc *n, int timeout_ms);
/* Writes cmd and a newline, then parses the answer line; NULL on timeout or non-JSON. */
json_t *nodeproc_ask(struct nodeproc *n, int timeout_ms, const char *cmd);
/* Writes last (a line, may be NULL), closes its stdin and waits; its exit status or -1. */
int nodeproc_finish(struct nodeproc *n, const char *last, int timeout_ms);

#endif
