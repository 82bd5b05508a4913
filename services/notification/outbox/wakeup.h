/* wakeup.h - how the outbox workers learn that a message was queued (DESIGN.md section
 * 6: woken at once by LISTEN/NOTIFY, not by their one-second poll).
 *
 * A message queued here wakes this process's worker at once, through an eventfd, with
 * no round trip to PostgreSQL, and leaves a NOTIFY whatsapp_outbox owed to the workers
 * of other instances. The worker pays it, at most one per WAKEUP_NOTIFY_GAP_MS and
 * always after the last message of a burst: 3,000 purchase orders a second then cost a
 * hundred notifications, not 3,000 transactions that each signal every listener. An
 * instance without a worker (OUTBOX_ENABLED=false) runs a notifier thread instead, which
 * pays the NOTIFY under the same bound; with neither attached, each message notifies.
 *
 * A wake-up that races the worker's or the notifier's stop may be lost; the workers'
 * one-second poll finds the row then.
 *
 * Thread-safe. The eventfd lives from wakeup_init() to the process's end. */
#ifndef NOTIFICATION_WAKEUP_H
#define NOTIFICATION_WAKEUP_H

#include <stdbool.h>

#define WAKEUP_NOTIFY_GAP_MS 10

/* Creates the eventfd. Returns false (logged) when it cannot. */
bool wakeup_init(void) __attribute__((warn_unused_result));

/* A message was committed as queued: wakes the local worker, or notifies directly when
 * there is none. */
void wakeup_queued(void);

/* For the worker. It attaches while it runs (wakeup_queued() then leaves the NOTIFY to
 * it), polls wakeup_fd() for POLLIN and then calls wakeup_drain(). */
void wakeup_attach(bool attached);
int wakeup_fd(void);
void wakeup_drain(void);
/* True once per wakeup_queued() burst: a NOTIFY is owed to the other instances. */
bool wakeup_take_owed(void);

/* For an instance without a worker: starts the thread that pays the NOTIFY, at most one
 * per WAKEUP_NOTIFY_GAP_MS, on a database connection of its own. After wakeup_init().
 * Returns false (logged) when it cannot start. */
bool wakeup_notifier_start(void) __attribute__((warn_unused_result));

/* Stops the notifier once intake has stopped, announcing what it queued last. Harmless
 * when it was not started. */
void wakeup_notifier_stop(void);

#endif
