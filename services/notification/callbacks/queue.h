/* queue.h - the durable queue of order callbacks (migration 0015): every statement of
 * it. A trigger on whatsapp_messages fills it in the transaction of each change of a
 * purchase order's state; these functions switch that trigger, give the new rows their
 * place in their order's sequence, lease due orders to one instance and record what
 * was posted. Each returns a db_status (db.h). */
#ifndef NOTIFICATION_CALLBACKS_QUEUE_H
#define NOTIFICATION_CALLBACKS_QUEUE_H

#include <stdbool.h>
#include <stddef.h>

#include "db.h"

/* Turns the enqueueing trigger on or off; *changed says whether it was the other way.
 * Takes the table's lock only to change it (waits at most 5 s). */
enum db_status callback_queue_switch(bool enable, bool *changed)
    __attribute__((warn_unused_result));

/* Moves up to max_rows committed changes from the triggers' inbox to their orders'
 * sequences (see order_callbacks_sequence()). *count: how many, or -1 when another
 * instance was doing it. */
enum db_status callback_queue_sequence(long max_rows, long *count)
    __attribute__((warn_unused_result));

/* One callback to post: its body is the JSON text PostgreSQL made of its row, the same
 * bytes on every attempt. */
struct callback_item {
    long sequence; /* its place in its order, from 1 */
    char *key;     /* the idempotency key */
    long attempts;
    bool expired; /* older than the max age: a failure drops it */
    char *body;
};

/* A leased order and its waiting callbacks, in sequence order (n may be 0). */
struct callback_order {
    char *id;
    struct callback_item *items;
    size_t n;
};

struct callback_batch {
    struct callback_order *orders;
    size_t n;
};

/* Leases up to max_orders due orders to owner for lease_seconds and reads up to
 * per_order of each one's waiting callbacks. *out is filled (free it with
 * callback_batch_free()); empty when nothing is due. */
enum db_status callback_queue_claim(const char *owner, long lease_seconds, long max_orders,
                                    long per_order, long max_age_seconds,
                                    struct callback_batch *out) __attribute__((warn_unused_result));
void callback_batch_free(struct callback_batch *b);

/* Ends owner's lease of order_id: callbacks up to done_sequence (0: none) are done and
 * deleted; the one at failed_sequence (0: none) counts an attempt and keeps error; the
 * order is due again after delay_ms when callbacks remain, else leaves the queue. */
enum db_status callback_queue_finish(const char *order_id, const char *owner, long done_sequence,
                                     long failed_sequence, const char *error, long delay_ms)
    __attribute__((warn_unused_result));

/* Deletes up to 1000 orders with nothing waiting, untouched for days; *count: how many. */
enum db_status callback_queue_prune(long days, long *count) __attribute__((warn_unused_result));

#endif
