/* owners.h - which sender numbers this instance owns (issue 23). Meta's limits are per
 * number (80 messages/s, one message per pair and interval), and the sender keeps them
 * in memory: that is exact only while one instance sends from a number. So each number
 * is owned by one instance at a time, through a lease in PostgreSQL (leases.h), and an
 * instance claims, and sends, only messages of numbers it owns; a message whose number
 * another instance owns goes back to the queue naming its number, for its owner.
 *
 * A keeper thread renews the leases every SENDER_LEASE_SECONDS / 5 and spreads the
 * numbers evenly over the live instances: an instance with more than its share (the
 * numbers divided by the instances, rounded up) stops sending from the surplus at once
 * and gives it back a renewal later; one with less takes free or expired leases. A lease
 * lasts 7/10 of SENDER_LEASE_SECONDS after a renewal and is trusted here for 5/10, so
 * that an instance has stopped sending from a number for at least a second before its
 * lease can expire; a dead instance's numbers are taken within SENDER_LEASE_SECONDS. The
 * keeper listens on the database (channel whatsapp_senders, also how instances tell each
 * other to look again), so when its connection breaks this instance stops sending at
 * once: it may no longer own anything. Once connected again it takes back the leases
 * nobody took meanwhile.
 *
 * Thread-safe: the keeper writes, the worker's claimer and the sender read. */
#ifndef NOTIFICATION_OWNERS_H
#define NOTIFICATION_OWNERS_H

#include <stdbool.h>
#include <stddef.h>

#include "alloc.h"

struct owners_config {
    const char *holder;         /* INSTANCE_ID or host:pid: the claim's owner name too */
    long lease_seconds;         /* SENDER_LEASE_SECONDS */
    long release_gap_ms;        /* a given-back number waits this long for its next owner */
    const char *default_number; /* WHATSAPP_PHONE_NUMBER_ID, "" when none: known at start */
    int notify_fd;              /* an eventfd written when numbers were taken (-1: none) */
};

struct owners;

/* Starts the keeper. cfg's strings must outlive it. NULL (logged) when the thread cannot
 * start; a database that cannot be reached is waited for. */
struct owners *owners_start(const struct owners_config *cfg) __attribute__((warn_unused_result));
/* Gives every lease back (another instance takes them after the release gap), says the
 * instance is gone, stops the keeper and frees o. Call once nothing sends any more. NULL
 * is fine. */
void owners_stop(struct owners *o);

/* True when this instance may send from phone_number_id now. */
bool owners_has(struct owners *o, const char *phone_number_id);
/* Makes the n numbers known and takes those that are free, as far as this instance's
 * share allows, on the calling thread's database connection: a number a message was
 * just routed to is owned without waiting for the keeper. Returns how many of the n this
 * instance owns afterwards. */
size_t owners_acquire(struct owners *o, const char *const *numbers, size_t n);
/* Writes the numbers this instance may send from now as a PostgreSQL array literal. */
void owners_array(struct owners *o, struct buf *out);

#endif
