/* settings_readers.h - keeps the settings caches of every tenant-service instance on one
 * database correct: a change answered by any instance is in effect for the very next
 * read on every instance (DESIGN.md, issue 10), through the settings_readers table
 * (migration 0008).
 *
 * Reader side: a thread registers this instance, LISTENs for settings changes, and on
 * each change (and every SETTINGS_READER_RENEW_MS) applies the changes after the last
 * position it applied to the cache (settings_cache.h), then acknowledges the new
 * position and renews its lease in one UPDATE. The cache answers only until the lease
 * it measured from before that round trip is over (less a margin), so it stops before
 * the database's lease does. Without its LISTEN connection, or when a round trip fails,
 * it empties the cache and reads the database until it has registered and caught up.
 *
 * Writer side: settings_readers_await() after the commit of anything that changes what
 * the settings GET returns. */
#ifndef TENANT_SETTINGS_READERS_H
#define TENANT_SETTINGS_READERS_H

#include <stdbool.h>

#include "store.h"

#define SETTINGS_READER_LEASE_MS 2000 /* what a renewal grants */
#define SETTINGS_READER_RENEW_MS 500  /* a renewal at least this often */
#define SETTINGS_READER_MARGIN_MS 250 /* the cache stops answering this long before */
#define SETTINGS_READER_AWAIT_MS 3000 /* a writer waits this long for an acknowledgement */

/* Registers the writer's metrics and, when the cache is enabled, starts the reader's
 * thread. False (logged) when it cannot. */
bool settings_readers_start(void) __attribute__((warn_unused_result));
/* Stops the thread and takes this instance out of the table (after the HTTP server). */
void settings_readers_stop(void);

/* Returns once every registered reader, of every instance, has applied the settings
 * changes committed so far, or has lost its lease (and with it its cache). A reader
 * still behind after SETTINGS_READER_AWAIT_MS is unregistered and its lease waited out,
 * so the wait is bounded. STORE_UNAVAILABLE when the database could not be asked. */
enum store_status settings_readers_await(void) __attribute__((warn_unused_result));

#endif
