/* harness_silent.h - a peer that takes connections, reads each request's first line and
 * never answers: every call to it waits for the caller's own timeout. It stands for a
 * service that hangs (tenant-service or notification-service behind a broken network). */
#ifndef TESTS_HARNESS_SILENT_H
#define TESTS_HARNESS_SILENT_H

#include <stdbool.h>

struct h_silent;

/* Listens on a free 127.0.0.1 port; NULL when it cannot. */
struct h_silent *h_silent_start(void);
/* "http://127.0.0.1:PORT" (valid until the peer is stopped). */
const char *h_silent_url(const struct h_silent *s);
/* How many requests came whose first line ("GET /path?query HTTP/1.1") contains part. */
int h_silent_requests(struct h_silent *s, const char *part);
/* Closes every connection (their callers then see a reset) and frees s; NULL is fine. */
void h_silent_stop(struct h_silent *s);

#endif
