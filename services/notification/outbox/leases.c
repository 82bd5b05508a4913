/* leases.c - the statements of leases.h. Times are the database's (now()), never a
 * process's clock: instances on several machines agree on who holds what. */
#include "outbox/leases.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "pgarray.h"

static const struct db_stmt st_beat = {
    "leases_beat",
    "INSERT INTO whatsapp_sender_instances (holder, boot) VALUES ($1, $2::uuid)"
    " ON CONFLICT (holder, boot) DO UPDATE SET seen_at = now()",
    2,
};

/* An instance not seen for a lease is gone; the messages its holder had claimed go back
 * to the queue at once (they would after OUTBOX_LEASE_SECONDS) unless a live process of
 * that holder keeps them. Run every renewal: when nobody is gone the scalar subquery
 * makes the UPDATE a one-time filter that reads no message, and otherwise it reads only
 * the queue (the partial index of next_attempt_at), never the months of history. */
static const struct db_stmt st_reap = {
    "leases_reap",
    "WITH gone AS (DELETE FROM whatsapp_sender_instances"
    "               WHERE seen_at < now() - $1::bigint * interval '1 millisecond'"
    "                 AND NOT (holder = $2 AND boot = $3::uuid)"
    "              RETURNING holder),"
    " back AS (UPDATE whatsapp_messages SET next_attempt_at = now()"
    "           WHERE (SELECT count(*) FROM gone) > 0 AND next_attempt_at IS NOT NULL"
    "             AND status = 'sending' AND lease_owner IN (SELECT holder FROM gone)"
    "             AND lease_owner NOT IN (SELECT holder FROM whatsapp_sender_instances"
    "                                      WHERE seen_at >= now() - $1::bigint"
    "                                                      * interval '1 millisecond'))"
    " SELECT count(*) FROM gone",
    3,
};

static const struct db_stmt st_renew = {
    "leases_renew",
    "UPDATE whatsapp_sender_leases"
    "   SET expires_at = now() + $3::bigint * interval '1 millisecond'"
    " WHERE holder = $1 AND boot = $2::uuid AND phone_number_id = ANY ($4::text[])"
    " RETURNING phone_number_id, term",
    4,
};

static const struct db_stmt st_census = {
    "leases_census",
    "SELECT (SELECT count(*) FROM whatsapp_sender_instances"
    "         WHERE seen_at >= now() - $1::bigint * interval '1 millisecond'),"
    "       (SELECT count(*) FROM whatsapp_sender_leases)",
    1,
};

static const struct db_stmt st_register = {
    "leases_register",
    "INSERT INTO whatsapp_sender_leases (phone_number_id)"
    " SELECT DISTINCT unnest($1::text[]) ON CONFLICT DO NOTHING RETURNING 1",
    1,
};

/* Free: given back or expired; or held by an earlier process of the same holder (a
 * restart under the same INSTANCE_ID: that process is gone). Lowest number first, so
 * that instances taking at the same time take different ones (SKIP LOCKED). */
static const struct db_stmt st_take = {
    "leases_take",
    "UPDATE whatsapp_sender_leases l"
    "   SET holder = $1, boot = $2::uuid, term = l.term + 1, taken_at = now(),"
    "       expires_at = now() + $3::bigint * interval '1 millisecond'"
    " WHERE l.phone_number_id = ANY (ARRAY("
    "        SELECT phone_number_id FROM whatsapp_sender_leases"
    "         WHERE ($4::text[] IS NULL OR phone_number_id = ANY ($4::text[]))"
    "           AND (expires_at <= now() OR (holder = $1 AND boot <> $2::uuid))"
    "         ORDER BY phone_number_id LIMIT $5 FOR UPDATE SKIP LOCKED))"
    " RETURNING l.phone_number_id, l.term",
    5,
};

static const struct db_stmt st_release = {
    "leases_release",
    "UPDATE whatsapp_sender_leases"
    "   SET holder = NULL, boot = NULL,"
    "       expires_at = now() + $3::bigint * interval '1 millisecond'"
    " WHERE holder = $1 AND boot = $2::uuid AND phone_number_id = ANY ($4::text[])",
    4,
};

static const struct db_stmt st_requeue_own = {
    "leases_requeue_own",
    "WITH back AS (UPDATE whatsapp_messages SET next_attempt_at = now()"
    "               WHERE next_attempt_at IS NOT NULL AND status = 'sending'"
    "                 AND lease_owner = $1 RETURNING 1)"
    " SELECT count(*) FROM back",
    1,
};

/* The numbers as one array parameter. */
static void number_array(struct buf *b, const char *const *numbers, size_t n)
{
    pgarray_open(b);
    for (size_t i = 0; i < n; i++)
        pgarray_add(b, numbers[i]);
    pgarray_close(b);
}

/* Copies the (number, term) rows of res into out (room for max). */
static size_t read_leases(const PGresult *res, struct lease *out, size_t max)
{
    size_t k = 0;
    for (int row = 0; row < PQntuples(res) && k < max; row++) {
        snprintf(out[k].phone_number_id, sizeof out[k].phone_number_id, "%s",
                 PQgetvalue(res, row, 0));
        out[k].term = strtol(PQgetvalue(res, row, 1), NULL, 10);
        k++;
    }
    return k;
}

static long first_long(const PGresult *res, int col)
{
    return PQntuples(res) > 0 ? strtol(PQgetvalue(res, 0, col), NULL, 10) : 0;
}

enum db_status leases_beat(const struct leases_self *self)
{
    const char *params[] = {self->holder, self->boot};
    return db_exec(&st_beat, params, NULL);
}

enum db_status leases_reap(const struct leases_self *self, long *reaped)
{
    char ms[24];
    PGresult *res = NULL;
    snprintf(ms, sizeof ms, "%ld", self->lease_ms);
    const char *params[] = {ms, self->holder, self->boot};
    *reaped = 0;
    enum db_status st = db_exec_retrying(&st_reap, params, &res);
    if (st == DB_OK)
        *reaped = first_long(res, 0);
    PQclear(res);
    return st;
}

enum db_status leases_renew(const struct leases_self *self, const char *const *numbers, size_t n,
                            struct lease *out, size_t *held)
{
    char ms[24];
    struct buf list = {0};
    PGresult *res = NULL;
    *held = 0;
    if (n == 0)
        return DB_OK;
    snprintf(ms, sizeof ms, "%ld", self->lease_ms);
    number_array(&list, numbers, n);
    const char *params[] = {self->holder, self->boot, ms, list.data};
    enum db_status st = db_exec(&st_renew, params, &res);
    if (st == DB_OK)
        *held = read_leases(res, out, n);
    PQclear(res);
    buf_free(&list);
    return st;
}

enum db_status leases_census(const struct leases_self *self, long *instances, long *numbers)
{
    char ms[24];
    PGresult *res = NULL;
    snprintf(ms, sizeof ms, "%ld", self->lease_ms);
    const char *params[] = {ms};
    enum db_status st = db_exec(&st_census, params, &res);
    if (st == DB_OK) {
        *instances = first_long(res, 0);
        *numbers = first_long(res, 1);
    }
    PQclear(res);
    return st;
}

enum db_status leases_register(const char *const *numbers, size_t n, long *added)
{
    struct buf list = {0};
    PGresult *res = NULL;
    *added = 0;
    if (n == 0)
        return DB_OK;
    number_array(&list, numbers, n);
    const char *params[] = {list.data};
    enum db_status st = db_exec(&st_register, params, &res);
    if (st == DB_OK)
        *added = PQntuples(res);
    PQclear(res);
    buf_free(&list);
    return st;
}

enum db_status leases_take(const struct leases_self *self, const char *const *numbers, size_t n,
                           size_t max, struct lease *out, size_t *taken)
{
    char ms[24], limit[24];
    struct buf list = {0};
    PGresult *res = NULL;
    *taken = 0;
    if (max == 0 || (numbers && n == 0))
        return DB_OK;
    snprintf(ms, sizeof ms, "%ld", self->lease_ms);
    snprintf(limit, sizeof limit, "%zu", max);
    if (numbers)
        number_array(&list, numbers, n);
    const char *params[] = {self->holder, self->boot, ms, numbers ? list.data : NULL, limit};
    enum db_status st = db_exec(&st_take, params, &res);
    if (st == DB_OK)
        *taken = read_leases(res, out, max);
    PQclear(res);
    buf_free(&list);
    return st;
}

enum db_status leases_release(const struct leases_self *self, const char *const *numbers, size_t n,
                              long gap_ms)
{
    char ms[24];
    struct buf list = {0};
    if (n == 0)
        return DB_OK;
    snprintf(ms, sizeof ms, "%ld", gap_ms);
    number_array(&list, numbers, n);
    const char *params[] = {self->holder, self->boot, ms, list.data};
    enum db_status st = db_exec(&st_release, params, NULL);
    buf_free(&list);
    return st;
}

enum db_status leases_requeue_own(const struct leases_self *self, long *requeued)
{
    PGresult *res = NULL;
    const char *params[] = {self->holder};
    *requeued = 0;
    enum db_status st = db_exec(&st_requeue_own, params, &res);
    if (st == DB_OK)
        *requeued = first_long(res, 0);
    PQclear(res);
    return st;
}
