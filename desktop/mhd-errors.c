/*
 * mhd-errors: libmicrohttpd's own refusals, answered with deskd's JSON error.
 *
 * libmicrohttpd 0.9.75 answers some requests itself, before any callback of
 * deskd's runs: a request line or header over the memory it reads a request
 * into (414, 431), an HTTP version it does not speak (505), a request, header,
 * Content-Length or chunk it cannot parse (400) or count (413). It sends a
 * fixed HTML page for each, made with MHD_create_response_from_buffer and
 * queued at once with MHD_queue_response on the same thread, and has no
 * option to change it. Both functions are exported, so the library's own
 * calls go through the dynamic linker, and deskd's definitions below come
 * first: a response made from one of those pages is remembered on its
 * thread, and queueing it queues deskd's JSON error for the same status
 * instead. Every other call passes straight to the library. test-admission
 * sends each kind of request and checks the JSON.
 */
#define _GNU_SOURCE /* RTLD_NEXT */
#include <dlfcn.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "log.h"

static __thread struct MHD_Response *lib_page; /* made from a library page on this thread */
static __thread char lib_page_text[192];       /* its start: which refusal it is */

static struct MHD_Response *(*real_create)(size_t, void *, enum MHD_ResponseMemoryMode);
static enum MHD_Result (*real_queue)(struct MHD_Connection *, unsigned int, struct MHD_Response *);
static pthread_once_t real_once = PTHREAD_ONCE_INIT;

static void find_real(void) {
    /* POSIX's way to a function pointer from dlsym. */
    *(void **)&real_create = dlsym(RTLD_NEXT, "MHD_create_response_from_buffer");
    *(void **)&real_queue = dlsym(RTLD_NEXT, "MHD_queue_response");
}

struct MHD_Response *MHD_create_response_from_buffer(
        size_t size, void *buffer, enum MHD_ResponseMemoryMode mode) {
    static const char page[] = "<html><head><title>";
    pthread_once(&real_once, find_real);
    /* The library queues its page right after making it: anything made since means the
     * remembered one was not a page of that path (nor may a page of deskd's own start so). */
    lib_page = NULL;
    struct MHD_Response *resp = real_create(size, buffer, mode);
    if (resp && mode == MHD_RESPMEM_PERSISTENT && size >= sizeof page - 1 &&
            memcmp(buffer, page, sizeof page - 1) == 0) {
        lib_page = resp;
        size_t n = size < sizeof lib_page_text - 1 ? size : sizeof lib_page_text - 1;
        memcpy(lib_page_text, buffer, n);
        lib_page_text[n] = '\0';
    }
    return resp;
}

/* The code and sentence of a refusal libmicrohttpd made with status and page. */
static enum err_code lib_refusal(unsigned status, const char *page, const char **sentence) {
    switch (status) {
    case 414:
        *sentence = "the request line is longer than deskd can read (32 KiB with the header)";
        return ERR_URI_TOO_LONG;
    case 431:
        *sentence = "the request's header is larger than deskd can read (32 KiB)";
        return ERR_HEADER_TOO_LARGE;
    case 413:
        *sentence = strstr(page, "chunk") ? "a chunk of the body is larger than deskd can count"
                                          : "Content-Length is larger than deskd can count";
        return ERR_BODY_TOO_LARGE;
    case 505:
        *sentence = "deskd speaks HTTP/1.0 and HTTP/1.1 only";
        return ERR_HTTP_VERSION_NOT_SUPPORTED;
    case 400:
        *sentence = strstr(page, "chunked")          ? "the body's chunked framing is malformed"
                    : strstr(page, "Content-Length") ? "Content-Length must be a decimal count "
                                                       "of bytes"
                    : strstr(page, "Host")           ? "an HTTP/1.1 request needs a Host header"
                                                     : "the request line or a header line is not "
                                                       "valid HTTP/1.1";
        return ERR_MALFORMED_REQUEST;
    default:
        *sentence = "deskd could not read the request";
        return ERR_INTERNAL;
    }
}

enum MHD_Result MHD_queue_response(
        struct MHD_Connection *connection, unsigned int status, struct MHD_Response *response) {
    pthread_once(&real_once, find_real);
    if (!response || response != lib_page)
        return real_queue(connection, status, response);
    lib_page = NULL;
    const char *sentence;
    enum err_code code = lib_refusal(status, lib_page_text, &sentence);
    char *text = http_error_text(code, NULL, sentence, "", "", NULL);
    struct MHD_Response *json =
            text ? real_create(strlen(text), text, MHD_RESPMEM_MUST_FREE) : NULL;
    if (!json) {
        free(text);
        return real_queue(connection, status, response);
    }
    log_msg(LOG_INFO, "http: refused before routing: %u %s: %s", status, err_name(code), sentence);
    MHD_add_response_header(json, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    enum MHD_Result rc = real_queue(connection, err_http_status(code), json);
    MHD_destroy_response(json);
    return rc;
}

bool http_lib_errors_ready(void) {
    pthread_once(&real_once, find_real);
    if (real_create && real_queue)
        return true;
    log_msg(LOG_ERROR, "cannot find libmicrohttpd's response functions: %s", dlerror());
    return false;
}
