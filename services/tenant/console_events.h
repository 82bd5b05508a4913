/* console_events.h - the web pages' live stream (GET /api/v1/events, issue 22): one
 * thread reads what changed from the database (the settings change sequence and the
 * audit log) when any instance's commit is heard (settings_listener.c), and tells every
 * open stream that may see it, as Server-Sent Events. Nothing comes from this process's
 * memory, so a change made through another instance is told the same way. */
#ifndef TENANT_CONSOLE_EVENTS_H
#define TENANT_CONSOLE_EVENTS_H

#include <stdbool.h>

#define CONSOLE_EVENTS_HEARTBEAT_MS 15000 /* a comment line, so dead clients are found */
#define CONSOLE_EVENTS_RETRY_MS 2000      /* the browser's reconnection delay */

/* Starts the thread; at most max_streams streams are open at once (EVENTS_MAX_STREAMS).
 * False when it cannot start. */
bool console_events_start(long max_streams) __attribute__((warn_unused_result));
/* Ends every stream and joins the thread (a no-op when not started). */
void console_events_stop(void);
/* Something may have been committed: the thread looks. Safe from any thread. */
void console_events_changed(void);

#endif
