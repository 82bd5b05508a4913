/* deliver.h - order callbacks (issue 21): each change of a purchase order's delivery
 * state, POSTed to ORDER_CALLBACK_URL as JSON signed with
 * "X-Signature-256: sha256=<hex HMAC-SHA256 of the body with ORDER_CALLBACK_SECRET>",
 * with an Idempotency-Key, in order per order, at least once, from the durable queue of
 * callbacks/queue.h, by a thread of its own: a slow or failing receiver never touches
 * the send path. */
#ifndef NOTIFICATION_CALLBACKS_DELIVER_H
#define NOTIFICATION_CALLBACKS_DELIVER_H

#include <stdbool.h>
#include <stddef.h>

#include "app.h"

/* Checks the callback settings of cfg: a URL must be an http(s) URL with a host and
 * come with a secret. False with the reason in err (naming the variable). */
bool callbacks_config_valid(const struct notification_config *cfg, char *err, size_t errlen);

/* Turns the database's enqueueing on when ORDER_CALLBACK_URL is set, off otherwise (for
 * every instance on the database: they share one configuration). Call once at start, on
 * the migrated database. False (logged) when the database failed. */
bool callbacks_switch(const struct notification_config *cfg) __attribute__((warn_unused_result));

/* Starts the delivering thread when ORDER_CALLBACK_URL is set (cfg borrowed; true and
 * nothing started otherwise). False (logged) when it cannot start. */
bool callbacks_start(const struct notification_config *cfg) __attribute__((warn_unused_result));

/* Stops the thread: a request under way is cut short, its callback stays queued.
 * Harmless when not started. */
void callbacks_stop(void);

#endif
