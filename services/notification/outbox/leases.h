/* leases.h - the SQL of sender-number ownership (migration 0017): which instance may send
 * from which number. An instance says it is alive (leases_beat), renews the leases it
 * holds (leases_renew), takes free or expired ones (leases_take) and gives back what it
 * has too many of (leases_release); instances that stopped saying they are alive are
 * reaped and the messages they had claimed go back to the queue (leases_reap). Runs on
 * the calling thread's db.h connection; every call answers an enum db_status. */
#ifndef NOTIFICATION_LEASES_H
#define NOTIFICATION_LEASES_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "tenants/settings.h"

/* One process's identity: holder is INSTANCE_ID (or host:pid) and is also the owner name
 * of the messages it claims; boot tells this process from an earlier one of the same
 * holder. */
struct leases_self {
    const char *holder;
    const char *boot; /* a UUID */
    long lease_ms;    /* how long a lease lasts after a renewal */
};

/* A lease held: the number and its term (how many times it was taken, a fencing
 * token for the logs). */
struct lease {
    char phone_number_id[TENANT_PHONE_ID_MAX];
    long term;
};

/* Records that self is alive now. */
enum db_status leases_beat(const struct leases_self *self) __attribute__((warn_unused_result));

/* Forgets the instances not seen for a lease's length, and puts the messages they held
 * claimed back in the queue at once (unless their holder runs again: a process of the
 * same INSTANCE_ID takes its claims back itself). *reaped gets how many instances. */
enum db_status leases_reap(const struct leases_self *self, long *reaped)
    __attribute__((warn_unused_result));

/* Renews, until lease_ms from now, the leases among the n numbers that self still holds;
 * out (room for n) gets them, *held how many. */
enum db_status leases_renew(const struct leases_self *self, const char *const *numbers, size_t n,
                            struct lease *out, size_t *held) __attribute__((warn_unused_result));

/* The instances alive (seen within a lease's length) and the numbers there are. */
enum db_status leases_census(const struct leases_self *self, long *instances, long *numbers)
    __attribute__((warn_unused_result));

/* Makes the n numbers known (a lease row each, held by nobody), so that some instance
 * takes them; *added gets how many were not known before. */
enum db_status leases_register(const char *const *numbers, size_t n, long *added)
    __attribute__((warn_unused_result));

/* Takes at most max leases that are free or expired (or held by an earlier process of
 * the same holder): among the n numbers given, or among all when numbers is NULL. out
 * (room for max) gets them, *taken how many. */
enum db_status leases_take(const struct leases_self *self, const char *const *numbers, size_t n,
                           size_t max, struct lease *out, size_t *taken)
    __attribute__((warn_unused_result));

/* Gives back the n numbers' leases; another instance may take them gap_ms from now (the
 * time the last sends take to leave Meta's one-second window). */
enum db_status leases_release(const struct leases_self *self, const char *const *numbers, size_t n,
                              long gap_ms) __attribute__((warn_unused_result));

/* Puts back in the queue the messages an earlier process of self's holder had claimed
 * (it is gone: this one is the holder now). *requeued gets how many. */
enum db_status leases_requeue_own(const struct leases_self *self, long *requeued)
    __attribute__((warn_unused_result));

#endif
