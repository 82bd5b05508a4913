/* harness_receiver.h - an HTTP receiver inside the test process, on 127.0.0.1: what
 * graph-sim's webhooks and notification-service's order callbacks are sent to. Each POST
 * is read whole and handed to the suite's function, which keeps what it wants and says
 * which status to answer; anything but a POST is 405. */
#ifndef TESTS_HARNESS_RECEIVER_H
#define TESTS_HARNESS_RECEIVER_H

#include <stddef.h>

/* One POST as it arrived. */
struct h_post {
    const char *body; /* NUL-terminated copy; len bytes */
    size_t len;
    void *conn; /* the connection, for h_post_header() */
};

/* The value of the request header name, or NULL. */
const char *h_post_header(const struct h_post *p, const char *name);

/* Called on the receiver's threads for each POST; returns the HTTP status to answer. */
typedef unsigned (*h_on_post)(void *arg, const struct h_post *p);

struct h_receiver;

/* Starts a receiver on port (0: a free one the system picks); NULL when it cannot. */
struct h_receiver *h_receiver_start(unsigned port, h_on_post fn, void *arg);
unsigned h_receiver_port(const struct h_receiver *r);
/* Stops it (connections refused from now on) and frees it; NULL is fine. */
void h_receiver_stop(struct h_receiver *r);

#endif
