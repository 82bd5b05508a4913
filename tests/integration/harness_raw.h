/* harness_raw.h - byte-exact HTTP for the bad-input and security suites: requests written
 * to a fresh TCP connection as given (odd paths, invalid UTF-8, NUL bytes, chunked or
 * lying bodies), and the route tables of both services read from their source, so a
 * suite can fail when a route exists that it does not cover. */
#ifndef TESTS_HARNESS_RAW_H
#define TESTS_HARNESS_RAW_H

#include <stdbool.h>
#include <stddef.h>

#include "alloc.h"
#include "harness.h"

/* Sends len bytes of req to 127.0.0.1:port on a new connection and reads the answer until
 * the server closes or its Content-Length is complete, for at most timeout_ms. status is
 * 0 when no complete status line came in time (a hang or a drop). When head is not NULL
 * it receives the status line and headers (a fresh string the caller frees). */
struct h_resp h_raw(unsigned port, const void *req, size_t len, int timeout_ms, char **head);

/* Builds "METHOD TARGET HTTP/1.1" with Host, Connection: close, the extra header lines
 * (each ending in "\r\n"; may be NULL) and, when body is not NULL, Content-Length and the
 * body bytes, then sends it with h_raw (10 s). */
struct h_resp h_raw_request(unsigned port, const char *method, const char *target,
                            const char *headers, const void *body, size_t body_len, char **head);

/* The value of header name in head (case-insensitive), copied into out; false if absent. */
bool h_head_value(const char *head, const char *name, char *out, size_t outlen);

/* True when r is DESIGN.md's error shape: a JSON object with success false, a snake_case
 * error code, a non-empty message and, when present, a string field. */
bool h_is_error_shape(const struct h_resp *r);

/* An open GET /api/v1/events (tenant-service's live stream) and what it has sent. */
struct h_stream {
    int fd;
    struct buf got;
};

/* Opens GET /api/v1/events on p with the extra header lines (each ending in "\r\n").
 * False when it cannot connect or send; h_stream_close() it either way. */
bool h_stream_open(struct h_stream *s, const struct h_proc *p, const char *headers);
/* Reads until the stream has shown needle (after what was consumed) or timeout_ms has
 * passed. Returns true when it has; the text up to and including it is consumed. */
bool h_stream_wait(struct h_stream *s, const char *needle, long timeout_ms);
/* Reads until the stream has shown a whole event (up to its blank line) of type ("event:
 * TYPE") that contains needle, or timeout_ms has passed; the events before it are
 * consumed and skipped. Returns the event's text (a fresh string), or NULL. */
char *h_stream_event(struct h_stream *s, const char *type, const char *needle, long timeout_ms);
void h_stream_close(struct h_stream *s);

/* A route of a service's table as written in services/<service>/routes.c. */
struct h_route {
    char method[8];
    char pattern[160];
};

/* Reads services/<service>/routes.c ("tenant" or "notification") and lists its routes
 * into out (at most max), resolving patterns given as #define'd names. Returns the
 * count, or -1 when the file cannot be read or holds no route. */
int h_source_routes(const char *service, struct h_route *out, size_t max);

#endif
