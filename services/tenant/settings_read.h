/* settings_read.h - GET of a tenant's notification settings: from this instance's cache
 * when it may answer (settings_cache.h), else in groups (common/group.h):
 * the reads that arrive while one is in flight go to PostgreSQL together, one statement
 * for all of them, and every request waits parked rather than holding an HTTP thread
 * (and the requests behind it on that thread's connections). A lone read runs at once
 * on its own thread. */
#ifndef TENANT_SETTINGS_READ_H
#define TENANT_SETTINGS_READ_H

#include <stdbool.h>

/* Starts the group's thread. Returns false (logged) when it cannot. */
bool settings_read_start(void) __attribute__((warn_unused_result));
/* After the HTTP server stopped. */
void settings_read_stop(void);

/* handle_settings_get() (handlers.h) is the route's handler. */

#endif
