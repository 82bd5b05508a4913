/* queue.c - the SQL of the order-callback queue (migration 0015): the trigger's switch,
 * sequencing, leases and results. */
#include "callbacks/queue.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

static const struct db_stmt switch_stmt = {"callbacks_switch",
                                           "SELECT order_callbacks_switch($1::boolean)", 1, false};

static const struct db_stmt sequence_stmt = {"callbacks_sequence",
                                             "SELECT order_callbacks_sequence($1::int)", 1, false};

/* Due orders, oldest first, skipping those another instance holds; their lease is
 * next_attempt_at (the order comes back when it ends) and lease_owner. Each order's
 * waiting callbacks follow in sequence order; the body is made here, once per attempt,
 * from the row alone, so every attempt sends the same bytes. */
static const struct db_stmt claim_stmt = {
    "callbacks_claim",
    "WITH claimed AS ("
    "  UPDATE order_callback_orders o"
    "     SET next_attempt_at = now() + $2::int * interval '1 second', lease_owner = $1"
    "   WHERE o.id = ANY (ARRAY(SELECT id FROM order_callback_orders"
    "                           WHERE next_attempt_at <= now()"
    "                           ORDER BY next_attempt_at LIMIT $3"
    "                           FOR UPDATE SKIP LOCKED))"
    "  RETURNING o.id, o.done_sequence)"
    " SELECT cl.id, c.sequence, c.idempotency_key, c.attempts,"
    "        c.at < now() - $5::int * interval '1 second',"
    "        jsonb_strip_nulls(jsonb_build_object("
    "         'callback_id', c.idempotency_key, 'event_id', c.event_id,"
    "         'tenant_id', c.tenant_id, 'message_id', c.message_id, 'channel', c.channel,"
    "         'status', c.status, 'reason', c.reason,"
    "         'error', CASE WHEN c.error_code IS NOT NULL OR c.error_message IS NOT NULL"
    "                  THEN jsonb_build_object('code', c.error_code,"
    "                                          'message', c.error_message) END,"
    "         'follows_id', c.follows_id, 'follows_reason', c.follows_reason,"
    "         'at', to_char(c.at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"
    "         'sequence', c.sequence))::text"
    "   FROM claimed cl LEFT JOIN LATERAL ("
    "        SELECT * FROM order_callbacks c"
    "         WHERE c.order_id = cl.id AND c.sequence > cl.done_sequence"
    "         ORDER BY c.sequence LIMIT $4) c ON true"
    "  ORDER BY cl.id, c.sequence",
    5,
    .replan = true,
};

/* A concurrent sequencing that adds to the order makes this statement see the order's
 * newer last_sequence (the row is re-read after the lock), so nothing added meanwhile
 * is left out of the queue. */
static const struct db_stmt finish_stmt = {
    "callbacks_finish",
    "WITH gone AS (DELETE FROM order_callbacks"
    "               WHERE order_id = $1::bigint AND sequence <= $3::bigint),"
    " tried AS (UPDATE order_callbacks SET attempts = attempts + 1, last_error = $5"
    "            WHERE order_id = $1::bigint AND sequence = $4::bigint)"
    " UPDATE order_callback_orders o"
    "    SET done_sequence = greatest(o.done_sequence, $3::bigint),"
    "        next_attempt_at = CASE WHEN greatest(o.done_sequence, $3::bigint) < o.last_sequence"
    "         THEN now() + $6::bigint * interval '1 millisecond' END,"
    "        lease_owner = NULL, updated_at = now()"
    "  WHERE o.id = $1::bigint AND o.lease_owner = $2",
    6,
    false,
};

static const struct db_stmt prune_stmt = {
    "callbacks_prune",
    "DELETE FROM order_callback_orders"
    " WHERE id = ANY (ARRAY(SELECT id FROM order_callback_orders"
    "                       WHERE next_attempt_at IS NULL"
    "                         AND updated_at < now() - $1::int * interval '1 day'"
    "                       LIMIT 1000 FOR UPDATE SKIP LOCKED))",
    1,
    false,
};

enum db_status callback_queue_switch(bool enable, bool *changed)
{
    PGresult *res = NULL;
    const char *params[] = {enable ? "true" : "false"};
    enum db_status st = db_exec(&switch_stmt, params, &res);
    if (st != DB_OK)
        return st;
    *changed = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    return DB_OK;
}

enum db_status callback_queue_sequence(long max_rows, long *count)
{
    PGresult *res = NULL;
    char n[24];
    snprintf(n, sizeof n, "%ld", max_rows);
    const char *params[] = {n};
    enum db_status st = db_exec_retrying(&sequence_stmt, params, &res);
    if (st != DB_OK)
        return st;
    *count = PQntuples(res) == 1 ? strtol(PQgetvalue(res, 0, 0), NULL, 10) : 0;
    PQclear(res);
    return DB_OK;
}

enum { COL_ORDER, COL_SEQUENCE, COL_KEY, COL_ATTEMPTS, COL_EXPIRED, COL_BODY };

enum db_status callback_queue_claim(const char *owner, long lease_seconds, long max_orders,
                                    long per_order, long max_age_seconds,
                                    struct callback_batch *out)
{
    PGresult *res = NULL;
    char lease[24], orders[24], per[24], age[24];
    snprintf(lease, sizeof lease, "%ld", lease_seconds);
    snprintf(orders, sizeof orders, "%ld", max_orders);
    snprintf(per, sizeof per, "%ld", per_order);
    snprintf(age, sizeof age, "%ld", max_age_seconds);
    const char *params[] = {owner, lease, orders, per, age};
    memset(out, 0, sizeof(*out));
    enum db_status st = db_exec(&claim_stmt, params, &res);
    if (st != DB_OK)
        return st;
    int rows = PQntuples(res);
    out->orders = xcalloc(rows ? (size_t)rows : 1, sizeof(*out->orders));
    for (int i = 0; i < rows; i++) {
        const char *order = PQgetvalue(res, i, COL_ORDER);
        if (out->n == 0 || strcmp(out->orders[out->n - 1].id, order) != 0) {
            out->orders[out->n].id = xstrdup(order);
            out->orders[out->n].items = xcalloc((size_t)per_order, sizeof(struct callback_item));
            out->n++;
        }
        if (PQgetisnull(res, i, COL_SEQUENCE))
            continue; /* leased, nothing waiting */
        struct callback_order *o = &out->orders[out->n - 1];
        struct callback_item *it = &o->items[o->n++];
        it->sequence = strtol(PQgetvalue(res, i, COL_SEQUENCE), NULL, 10);
        it->key = xstrdup(PQgetvalue(res, i, COL_KEY));
        it->attempts = strtol(PQgetvalue(res, i, COL_ATTEMPTS), NULL, 10);
        it->expired = strcmp(PQgetvalue(res, i, COL_EXPIRED), "t") == 0;
        it->body = xstrdup(PQgetvalue(res, i, COL_BODY));
    }
    PQclear(res);
    return DB_OK;
}

void callback_batch_free(struct callback_batch *b)
{
    if (!b || !b->orders)
        return;
    for (size_t i = 0; i < b->n; i++) {
        struct callback_order *o = &b->orders[i];
        for (size_t j = 0; j < o->n; j++) {
            free(o->items[j].key);
            free(o->items[j].body);
        }
        free(o->items);
        free(o->id);
    }
    free(b->orders);
    memset(b, 0, sizeof(*b));
}

enum db_status callback_queue_finish(const char *order_id, const char *owner, long done_sequence,
                                     long failed_sequence, const char *error, long delay_ms)
{
    char done[24], failed[24], delay[24];
    snprintf(done, sizeof done, "%ld", done_sequence);
    snprintf(failed, sizeof failed, "%ld", failed_sequence);
    snprintf(delay, sizeof delay, "%ld", delay_ms);
    const char *params[] = {order_id, owner, done, failed_sequence ? failed : NULL, error, delay};
    return db_exec_retrying(&finish_stmt, params, NULL);
}

enum db_status callback_queue_prune(long days, long *count)
{
    PGresult *res = NULL;
    char d[24];
    snprintf(d, sizeof d, "%ld", days);
    const char *params[] = {d};
    enum db_status st = db_exec(&prune_stmt, params, &res);
    if (st != DB_OK)
        return st;
    *count = strtol(PQcmdTuples(res), NULL, 10);
    PQclear(res);
    return DB_OK;
}
