/* settings_listener.h - wakes the parked settings-feed requests (settings_feed.c) and the
 * console's live stream (console_events.c) when
 * any tenant-service instance commits a settings change: a thread LISTENing on the
 * channel the migration 0003 trigger notifies. While its connection is down it wakes
 * them every SETTINGS_LISTENER_DOWN_WAKE_MS instead, so a change is never later than
 * that. */
#ifndef TENANT_SETTINGS_LISTENER_H
#define TENANT_SETTINGS_LISTENER_H

#include "http.h"

#define SETTINGS_TOPIC 1 /* http_park() topic of the feed */
#define SETTINGS_LISTENER_DOWN_WAKE_MS 250

/* Starts the thread; srv must outlive settings_listener_stop(). False when it cannot. */
bool settings_listener_start(struct http_server *srv) __attribute__((warn_unused_result));
/* Stops and joins the thread (a no-op when it was not started). */
void settings_listener_stop(void);

#endif
