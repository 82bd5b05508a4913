/* harness_relay.h - a TCP relay between a daemon and the test PostgreSQL that can make
 * the database stall the way a server does at the end of a shutdown or behind a broken
 * network: every relayed connection is cut, and new ones are taken into the kernel's
 * backlog and never answered (the client's connect succeeds, its handshake waits). */
#ifndef TESTS_HARNESS_RELAY_H
#define TESTS_HARNESS_RELAY_H

#include <stdbool.h>
#include <stddef.h>

struct h_relay;

/* Relays a free 127.0.0.1 port to the server of db_url ("...@127.0.0.1:PORT/NAME") and
 * writes the same URL through the relay into relay_url. NULL when it cannot. */
struct h_relay *h_relay_start(const char *db_url, char *relay_url, size_t len);
/* Stalls (true) or relays again (false); returns once the relay thread has done it. */
void h_relay_stall(struct h_relay *r, bool stalled);
/* Stops the relay and closes every connection (NULL is fine). */
void h_relay_free(struct h_relay *r);

#endif
