/* outbox.c - every statement of the sending side. Batches travel as PostgreSQL array
 * literals unnested on the server, so a batch of results costs one round trip. */
#include "outbox/outbox.h"

#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "log.h"
#include "outbox/holds.h"
#include "outbox/pause.h"
#include "pgarray.h"
#include "outbox/status_sql.h"

/* The claim: due rows oldest first, skipping rows another worker holds locked. (The
 * rows are matched by "id = ANY (ARRAY(...))", here and in the batch statements below,
 * so that the plan finds them by primary key whatever it guesses of the batch's size: a
 * join planned for 10% of the queue scanned the whole table.) A row
 * is in the queue while it has a next_attempt_at (migration 0005): a queued row's is
 * when it is due, a sending row's is the end of its lease, so a row whose worker died
 * comes back when the lease runs out. The payload's fields come out as text so amounts
 * stay exact decimals. */
#define CLAIM_SQL(due)                                                                             \
    "UPDATE whatsapp_messages m"                                                                   \
    "   SET status = 'sending', lease_owner = $1,"                                                 \
    "       lease_expires_at = now() + $3::int * interval '1 second',"                             \
    "       next_attempt_at = now() + $3::int * interval '1 second', updated_at = now()"           \
    " WHERE m.id = ANY (ARRAY(SELECT id FROM whatsapp_messages"                                    \
    "                         WHERE " due                                                          \
    "                           AND (channel = 'email' OR phone_number_id IS NULL"                 \
    "                                OR phone_number_id = ANY ($4::text[]))"                       \
    "                         ORDER BY next_attempt_at"                                            \
    "                         LIMIT $2"                                                            \
    "                         FOR UPDATE SKIP LOCKED))"                                            \
    " RETURNING m.id, m.tenant_id, m.kind, m.recipient_phone, m.template_name,"                    \
    "           m.template_language, m.template_parameters::text, m.attempts,"                     \
    "           (extract(epoch FROM m.created_at) * 1000000)::bigint,"                             \
    "           m.payload->>'supplier_name', m.payload->>'po_number',"                             \
    "           m.payload->>'total_amount', m.payload->>'currency',"                               \
    "           EXISTS (SELECT 1 FROM whatsapp_opt_outs o"                                         \
    "                    WHERE o.tenant_id = m.tenant_id"                                          \
    "                      AND o.recipient_phone = m.recipient_phone),"                            \
    "           coalesce(m.quota_month::text, ''), m.reach_taken,"                                 \
    "           m.channel = 'email', coalesce(m.recipient_email, ''),"                             \
    "           coalesce(m.follows_reason, ''), m.payload ? 'supplier_email'"

static const struct db_stmt claim_stmt = {
    "outbox_claim",
    CLAIM_SQL("next_attempt_at <= now()"),
    4,
    .replan = true,
};

/* While WhatsApp's account is paused, emails still go. */
static const struct db_stmt claim_email_stmt = {
    "outbox_claim_email",
    CLAIM_SQL("next_attempt_at <= now() AND channel = 'email'"),
    4,
    .replan = true,
};

enum {
    COL_ID,
    COL_TENANT,
    COL_KIND,
    COL_RECIPIENT,
    COL_TEMPLATE,
    COL_LANGUAGE,
    COL_PARAMETERS,
    COL_ATTEMPTS,
    COL_CREATED_MS,
    COL_SUPPLIER,
    COL_PO_NUMBER,
    COL_AMOUNT,
    COL_CURRENCY,
    COL_OPTED_OUT,
    COL_QUOTA_MONTH,
    COL_REACH_TAKEN,
    COL_EMAIL,
    COL_RECIPIENT_EMAIL,
    COL_FOLLOWS,
    COL_HAS_EMAIL,
    CLAIM_COLUMNS
};

/* The results: one row per message from parallel arrays. A row a webhook already moved
 * past 'sending' (whatsapp_status_rank >= 2: an earlier request of it, say one that timed
 * out here, was accepted by Graph) keeps its status whatever this result says: a late
 * 'sent' does not lower delivered/read/failed, a 'retry' does not queue it again (a
 * duplicate send), a 'failed' does not undo read. A failed or skipped row keeps its
 * error; a sent/delivered/read one ends without one. Only a row queued again (retry,
 * release) keeps a next_attempt_at: every other one leaves the queue.
 *
 * The owner ($1) reaches the final UPDATE through r, as a join condition: as a filter on
 * the table PostgreSQL estimates that it keeps almost no row (most rows have no owner),
 * and it then planned a nested loop that compared each row of the batch with every
 * result (300 results: 90,000 comparisons, 60% of the statement). As a join condition
 * the batch's rows and the results are joined by hash. */
static const struct db_stmt apply_stmt = {
    "outbox_apply",
    "WITH r AS (SELECT *, $1::text AS owner FROM unnest($2::uuid[], $3::text[], $4::int[], "
    "$5::int[], $6::int[],"
    "             $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::jsonb[],"
    "             $13::bigint[], $14::text[])"
    "      AS r(id, outcome, used, delay_ms, error_code, error_message, skip_reason,"
    "           wamid, phone_number_id, language, parameters, answered_ms, fallback_from)),"
    /* the quota unit of a message Graph did not accept goes back */
    " back AS (UPDATE whatsapp_quota_usage q SET used = greatest(q.used - b.n, 0)"
    "  FROM (SELECT m.tenant_id, m.quota_month, count(*) AS n FROM r"
    "        JOIN whatsapp_messages m ON m.id = r.id AND m.lease_owner = $1"
    "        WHERE m.quota_month IS NOT NULL AND r.outcome <> 'sent' GROUP BY 1, 2) b"
    "  WHERE q.tenant_id = b.tenant_id AND q.month = b.quota_month),"
    /* and so does the messaging-limit place it took (migration 0013) */
    " gone AS (DELETE FROM whatsapp_reach x USING r, whatsapp_messages m"
    "  WHERE m.id = r.id AND m.lease_owner = $1 AND m.reach_taken AND r.outcome <> 'sent'"
    "    AND x.recipient_phone = m.recipient_phone AND x.message_id = m.id)"
    " UPDATE whatsapp_messages m SET"
    "  status = CASE WHEN whatsapp_status_rank(m.status) >= 2 THEN m.status"
    "                WHEN r.outcome = 'sent' THEN 'sent'"
    "                WHEN r.outcome = 'failed' THEN 'failed'"
    "                WHEN r.outcome = 'skipped' THEN 'skipped'"
    "                ELSE 'queued' END,"
    "  wamid = CASE WHEN r.outcome = 'sent' THEN coalesce(r.wamid, m.wamid) ELSE m.wamid END,"
    "  phone_number_id = coalesce(r.phone_number_id, m.phone_number_id),"
    "  template_language = coalesce(r.language, m.template_language),"
    "  fallback_from_language = CASE WHEN r.outcome = 'sent' THEN r.fallback_from"
    "                                ELSE m.fallback_from_language END,"
    "  quota_month = CASE WHEN r.outcome = 'sent' THEN m.quota_month END,"
    "  reach_taken = false,"
    "  template_parameters = coalesce(r.parameters, m.template_parameters),"
    "  attempts = m.attempts + r.used,"
    "  next_attempt_at = CASE WHEN whatsapp_status_rank(m.status) >= 2 THEN NULL"
    "                         WHEN r.outcome IN ('retry', 'release')"
    "                         THEN now() + r.delay_ms * interval '1 millisecond' END,"
    "  error_code = CASE WHEN m.status IN ('failed', 'skipped') THEN m.error_code"
    "                    WHEN r.outcome IN ('sent', 'skipped')"
    "                         OR whatsapp_status_rank(m.status) >= 2 THEN NULL"
    "                    WHEN r.error_message IS NOT NULL THEN r.error_code"
    "                    ELSE m.error_code END,"
    "  error_message = CASE WHEN m.status IN ('failed', 'skipped') THEN m.error_message"
    "                       WHEN r.outcome IN ('sent', 'skipped')"
    "                            OR whatsapp_status_rank(m.status) >= 2 THEN NULL"
    "                       ELSE coalesce(r.error_message, m.error_message) END,"
    "  skip_reason = CASE WHEN r.outcome = 'skipped' AND whatsapp_status_rank(m.status) < 2"
    "                     THEN r.skip_reason ELSE m.skip_reason END,"
    "  sent_at = CASE WHEN r.outcome = 'sent'"
    "                 THEN coalesce(m.sent_at, to_timestamp(r.answered_ms / 1000.0), now())"
    "                 ELSE m.sent_at END,"
    "  failed_at = CASE WHEN r.outcome = 'failed' AND whatsapp_status_rank(m.status) < 2"
    "                   THEN coalesce(to_timestamp(r.answered_ms / 1000.0), now())"
    "                   ELSE m.failed_at END,"
    "  lease_owner = NULL, lease_expires_at = NULL, updated_at = now()"
    " FROM r WHERE m.id = r.id AND m.id = ANY ($2::uuid[]) AND m.lease_owner = r.owner",
    14,
    .replan = true,
};

static const struct db_stmt pending_stmt = {
    "outbox_pending",
    "SELECT DISTINCT wamid FROM whatsapp_pending_statuses WHERE wamid = ANY($1::text[])",
    1,
    .replan = true,
};

static const char *const outcome_names[] = {
    [OUTBOX_SENT] = "sent",       [OUTBOX_RETRY] = "retry",     [OUTBOX_FAILED] = "failed",
    [OUTBOX_SKIPPED] = "skipped", [OUTBOX_RELEASE] = "release",
};

/* A column as a string, or NULL when it is SQL NULL. */
static const char *value_or_null(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

enum db_status outbox_claim(const char *owner, long lease_seconds, size_t limit, bool email_only,
                            const char *owned, struct outbox_claim *out)
{
    char lease[24], lim[24];
    snprintf(lease, sizeof lease, "%ld", lease_seconds);
    snprintf(lim, sizeof lim, "%zu", limit);
    const char *params[] = {owner, lim, lease, owned};

    memset(out, 0, sizeof(*out));
    enum db_status st = db_exec(email_only ? &claim_email_stmt : &claim_stmt, params, &out->res);
    if (st != DB_OK)
        return st;
    if (PQnfields(out->res) != CLAIM_COLUMNS) {
        log_error("outbox claim returned an unexpected shape\tcolumns=%d", PQnfields(out->res));
        return DB_ERROR;
    }
    out->n = (size_t)PQntuples(out->res);
    out->rows = out->n ? xcalloc(out->n, sizeof(*out->rows)) : NULL;
    for (size_t i = 0; i < out->n; i++) {
        const PGresult *res = out->res;
        int row = (int)i;
        struct outbox_row *r = &out->rows[i];
        r->id = PQgetvalue(res, row, COL_ID);
        r->tenant_id = PQgetvalue(res, row, COL_TENANT);
        r->kind = strcmp(PQgetvalue(res, row, COL_KIND), "purchase_order") == 0
                      ? OUTBOX_PURCHASE_ORDER
                      : OUTBOX_TEMPLATE;
        r->recipient = PQgetvalue(res, row, COL_RECIPIENT);
        r->template_name = PQgetvalue(res, row, COL_TEMPLATE);
        r->language = value_or_null(res, row, COL_LANGUAGE);
        r->parameters = PQgetvalue(res, row, COL_PARAMETERS);
        r->attempts = (int)strtol(PQgetvalue(res, row, COL_ATTEMPTS), NULL, 10);
        r->created_us = strtoll(PQgetvalue(res, row, COL_CREATED_MS), NULL, 10);
        r->supplier_name = value_or_null(res, row, COL_SUPPLIER);
        r->po_number = value_or_null(res, row, COL_PO_NUMBER);
        r->total_amount = value_or_null(res, row, COL_AMOUNT);
        r->currency = value_or_null(res, row, COL_CURRENCY);
        r->opted_out = PQgetvalue(res, row, COL_OPTED_OUT)[0] == 't';
        r->quota_month = PQgetvalue(res, row, COL_QUOTA_MONTH);
        r->reach_taken = PQgetvalue(res, row, COL_REACH_TAKEN)[0] == 't';
        r->email = PQgetvalue(res, row, COL_EMAIL)[0] == 't';
        r->recipient_email = PQgetvalue(res, row, COL_RECIPIENT_EMAIL);
        r->follows_reason = PQgetvalue(res, row, COL_FOLLOWS);
        r->has_email = PQgetvalue(res, row, COL_HAS_EMAIL)[0] == 't';
    }
    return DB_OK;
}

void outbox_claim_free(struct outbox_claim *c)
{
    PQclear(c->res);
    free(c->rows);
    memset(c, 0, sizeof(*c));
}

void outbox_result_clear(struct outbox_result *r)
{
    free(r->error_message);
    free(r->wamid);
    free(r->phone_number_id);
    free(r->language);
    free(r->parameters);
    free(r->fallback_from);
    r->error_message = r->wamid = r->phone_number_id = r->language = r->parameters = NULL;
    r->fallback_from = NULL;
}

enum {
    A_ID,
    A_OUTCOME,
    A_USED,
    A_DELAY,
    A_CODE,
    A_MESSAGE,
    A_SKIP,
    A_WAMID,
    A_PHONE,
    A_LANGUAGE,
    A_PARAMETERS,
    A_ANSWERED,
    A_FALLBACK_FROM,
    NARRAYS
};

static int by_id(const void *a, const void *b)
{
    const struct outbox_result *const *x = a, *const *y = b;
    return strcmp((*x)->id, (*y)->id);
}

enum db_status outbox_apply(const char *owner, struct outbox_result *const *results, size_t n)
{
    struct buf arrays[NARRAYS];
    const char *params[NARRAYS + 1];
    enum db_status st = DB_OK;

    if (n == 0)
        return DB_OK;
    /* In id order (a UUID's text sorts as its bytes), the order the webhook's statement
     * locks rows in too, so that the two cannot deadlock. */
    struct outbox_result **sorted = xmalloc(n * sizeof(*sorted));
    memcpy(sorted, results, n * sizeof(*sorted));
    qsort(sorted, n, sizeof(*sorted), by_id);
    memset(arrays, 0, sizeof arrays);
    for (size_t a = 0; a < NARRAYS; a++)
        pgarray_open(&arrays[a]);
    for (size_t i = 0; i < n; i++) {
        const struct outbox_result *r = sorted[i];
        pgarray_add(&arrays[A_ID], r->id);
        pgarray_add(&arrays[A_OUTCOME], outcome_names[r->outcome]);
        pgarray_add_long(&arrays[A_USED], r->attempt_used ? 1 : 0, false);
        pgarray_add_long(&arrays[A_DELAY], r->delay_ms, false);
        pgarray_add_long(&arrays[A_CODE], r->error_code, r->error_code == OUTBOX_NO_CODE);
        pgarray_add(&arrays[A_MESSAGE], r->error_message);
        pgarray_add(&arrays[A_SKIP], r->skip_reason);
        pgarray_add(&arrays[A_WAMID], r->wamid);
        pgarray_add(&arrays[A_PHONE], r->phone_number_id);
        pgarray_add(&arrays[A_LANGUAGE], r->language);
        pgarray_add(&arrays[A_PARAMETERS], r->parameters);
        pgarray_add_long(&arrays[A_ANSWERED], r->answered_ms, r->answered_ms == 0);
        pgarray_add(&arrays[A_FALLBACK_FROM], r->fallback_from);
    }
    params[0] = owner;
    for (size_t a = 0; a < NARRAYS; a++) {
        pgarray_close(&arrays[a]);
        params[a + 1] = arrays[a].data;
    }
    st = db_exec(&apply_stmt, params, NULL);
    for (size_t a = 0; a < NARRAYS; a++)
        buf_free(&arrays[a]);
    free(sorted);
    return st;
}

enum db_status outbox_pending(const char *const *wamids, size_t n, bool *pending)
{
    struct buf list = {0};
    PGresult *res = NULL;
    enum db_status st = DB_OK;

    for (size_t i = 0; i < n; i++)
        pending[i] = false;
    if (n == 0)
        return DB_OK;
    pgarray_open(&list);
    for (size_t i = 0; i < n; i++)
        pgarray_add(&list, wamids[i]);
    pgarray_close(&list);
    const char *params[] = {list.data};
    st = db_exec(&pending_stmt, params, &res);
    if (st != DB_OK)
        goto out;
    for (int row = 0; row < PQntuples(res); row++) {
        const char *w = PQgetvalue(res, row, 0);
        for (size_t i = 0; i < n; i++) {
            if (wamids[i] && strcmp(wamids[i], w) == 0)
                pending[i] = true;
        }
    }
out:
    PQclear(res);
    buf_free(&list);
    return st;
}

/* ---------- statuses that beat their send's answer ---------- */

/* The wamid $1 has just been stored on message $2: its pending statuses apply now. */
static const struct db_stmt st_pending_apply = {
    "outbox_pending_apply",
    "WITH ev AS ("
    " DELETE FROM whatsapp_pending_statuses p WHERE p.wamid = $1"
    " RETURNING p.wamid, p.status, extract(epoch FROM p.status_ts)::bigint AS ts,"
    "  p.error_code, p.error_message, $2::uuid AS callback_id, p.pricing,"
    "  p.recipient_user_id AS user_id, 0::bigint AS ord)," APPLY_EVENTS
    " SELECT (SELECT count(*) FROM ev), (SELECT coalesce(sum(n), 0) FROM upd)",
    2,
    .replan = true,
};

enum db_status outbox_pending_apply(const char *message_id, const char *wamid, long *applied)
{
    PGresult *res = NULL;
    const char *params[] = {wamid, message_id};

    *applied = 0;
    enum db_status st = db_exec_retrying(&st_pending_apply, params, &res);
    if (st == DB_OK)
        *applied = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return st;
}

/* ---------- quotas ---------- */

/* One statement per batch: each tenant's units taken (its month row locked; tenants in
 * id order, so concurrent batches never deadlock), and the granted messages marked as
 * holding one, so a message re-claimed after a crash never takes a second. */
static const struct db_stmt st_quota_take = {
    "outbox_quota_take",
    "WITH mm AS (SELECT date_trunc('month', now() AT TIME ZONE $4)::date AS m),"
    " req AS (SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::int[]) WITH ORDINALITY"
    "         AS r(tenant, id, quota, i)),"
    " per AS (SELECT tenant, max(quota) AS quota, count(*)::int AS want FROM req"
    "         GROUP BY tenant ORDER BY tenant),"
    " g AS (SELECT p.tenant, t.granted, t.used_before FROM per p, mm,"
    "       LATERAL whatsapp_quota_take(p.tenant, mm.m, p.want, p.quota) t),"
    " ranked AS (SELECT r.*, row_number() OVER (PARTITION BY r.tenant ORDER BY r.i) AS k"
    "            FROM req r),"
    " marked AS (UPDATE whatsapp_messages m SET quota_month = mm.m FROM ranked x, g, mm"
    "            WHERE g.tenant = x.tenant AND x.k <= g.granted AND m.id = x.id"
    "            RETURNING m.id)"
    " SELECT x.k <= g.granted, g.used_before, g.granted, mm.m::text"
    " FROM ranked x JOIN g ON g.tenant = x.tenant, mm ORDER BY x.i",
    4,
    .replan = true,
};

enum db_status outbox_quota_take(struct outbox_quota_request *req, size_t n, const char *timezone)
{
    struct buf arrays[3] = {{0}};
    PGresult *res = NULL;
    for (int a = 0; a < 3; a++)
        pgarray_open(&arrays[a]);
    for (size_t i = 0; i < n; i++) {
        pgarray_add(&arrays[0], req[i].tenant_id);
        pgarray_add(&arrays[1], req[i].message_id);
        pgarray_add_long(&arrays[2], req[i].quota, false);
    }
    for (int a = 0; a < 3; a++)
        pgarray_close(&arrays[a]);
    const char *params[] = {arrays[0].data, arrays[1].data, arrays[2].data, timezone};
    enum db_status st = db_exec_retrying(&st_quota_take, params, &res);
    if (st == DB_OK && (size_t)PQntuples(res) != n)
        st = DB_ERROR;
    for (size_t i = 0; st == DB_OK && i < n; i++) {
        req[i].granted = PQgetvalue(res, (int)i, 0)[0] == 't';
        req[i].used_before = strtol(PQgetvalue(res, (int)i, 1), NULL, 10);
        req[i].tenant_granted = strtol(PQgetvalue(res, (int)i, 2), NULL, 10);
        snprintf(req[i].month, sizeof req[i].month, "%s", PQgetvalue(res, (int)i, 3));
    }
    PQclear(res);
    for (int a = 0; a < 3; a++)
        buf_free(&arrays[a]);
    return st;
}

/* ---------- email ---------- */

/* The order's email row beside its WhatsApp one (migration 0014's columns; the key and
 * the check that the order has no email row yet are migration 0016's, so an order gets
 * one however its email comes about). */
static const struct db_stmt st_email_siblings = {
    "outbox_email_siblings",
    "INSERT INTO whatsapp_messages (id, tenant_id, idempotency_key, kind, request_hash,"
    "  recipient_phone, template_name, template_language, template_parameters, payload,"
    "  status, next_attempt_at, channel, recipient_email, order_event_id)"
    " SELECT gen_random_uuid(), m.tenant_id,"
    "        coalesce(m.order_event_id, m.idempotency_key) || '#email', m.kind, m.request_hash,"
    "        m.recipient_phone, m.template_name, m.template_language, '[]', m.payload,"
    "        'queued', now(), 'email', m.payload ->> 'supplier_email',"
    "        coalesce(m.order_event_id, m.idempotency_key)"
    "   FROM whatsapp_messages m"
    "  WHERE m.id = ANY ($1::uuid[]) AND m.payload ? 'supplier_email'"
    "    AND NOT EXISTS (SELECT 1 FROM whatsapp_messages e"
    "                     WHERE e.tenant_id = m.tenant_id AND e.channel = 'email'"
    "                       AND e.order_event_id = coalesce(m.order_event_id, m.idempotency_key))"
    " ON CONFLICT (tenant_id, idempotency_key) DO NOTHING",
    1,
    .replan = true,
};

enum db_status outbox_email_siblings(const char *const *ids, size_t n)
{
    struct buf a = {0};
    PGresult *res = NULL;
    pgarray_open(&a);
    for (size_t i = 0; i < n; i++)
        pgarray_add(&a, ids[i]);
    pgarray_close(&a);
    const char *params[] = {a.data};
    enum db_status st = db_exec_retrying(&st_email_siblings, params, &res);
    PQclear(res);
    buf_free(&a);
    return st;
}

/* ---------- the messaging limit ---------- */

static const struct db_stmt st_messaging_limit = {
    "outbox_messaging_limit",
    "SELECT coalesce(reported, -1) FROM whatsapp_messaging_limit",
    0,
};

enum db_status outbox_messaging_limit(long *limit)
{
    PGresult *res = NULL;
    enum db_status st = db_exec(&st_messaging_limit, NULL, &res);
    if (st == DB_OK && PQntuples(res) != 1)
        st = DB_ERROR;
    if (st == DB_OK)
        *limit = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return st;
}

static const struct db_stmt st_reach_take = {
    "outbox_reach_take",
    "SELECT granted, taken, used, coalesce(frees_in_ms, 0)"
    " FROM whatsapp_reach_take($1::uuid[], $2::text[], $3::uuid[], $4::int, $5::int)",
    5,
    .replan = true,
};

enum db_status outbox_reach_take(struct outbox_reach_request *req, size_t n, long limit, long share,
                                 long *used, long *frees_in_ms)
{
    struct buf arrays[3] = {{0}};
    PGresult *res = NULL;
    char lim[24], sh[24];
    snprintf(lim, sizeof lim, "%ld", limit);
    snprintf(sh, sizeof sh, "%ld", share);
    for (int a = 0; a < 3; a++)
        pgarray_open(&arrays[a]);
    for (size_t i = 0; i < n; i++) {
        pgarray_add(&arrays[0], req[i].tenant_id);
        pgarray_add(&arrays[1], req[i].recipient);
        pgarray_add(&arrays[2], req[i].message_id);
    }
    for (int a = 0; a < 3; a++)
        pgarray_close(&arrays[a]);
    const char *params[] = {arrays[0].data, arrays[1].data, arrays[2].data, lim, sh};
    enum db_status st = db_exec_retrying(&st_reach_take, params, &res);
    if (st == DB_OK && (size_t)PQntuples(res) != n)
        st = DB_ERROR;
    for (size_t i = 0; st == DB_OK && i < n; i++) {
        req[i].granted = PQgetvalue(res, (int)i, 0)[0] == 't';
        req[i].taken = PQgetvalue(res, (int)i, 1)[0] == 't';
        *used = strtol(PQgetvalue(res, (int)i, 2), NULL, 10);
        *frees_in_ms = strtol(PQgetvalue(res, (int)i, 3), NULL, 10);
    }
    PQclear(res);
    for (int a = 0; a < 3; a++)
        buf_free(&arrays[a]);
    return st;
}

/* ---------- template holds ---------- */

static const struct db_stmt st_template_statuses = {
    "outbox_template_statuses",
    "SELECT DISTINCT ON (value->>'message_template_name', value->>'message_template_language')"
    "  value->>'message_template_name', value->>'message_template_language', value->>'event',"
    "  coalesce(value->>'reason', ''), extract(epoch FROM event_time)::bigint, id"
    " FROM whatsapp_account_events"
    " WHERE field = 'message_template_status_update'"
    "  AND value->>'message_template_name' IS NOT NULL"
    "  AND value->>'message_template_language' IS NOT NULL AND value->>'event' IS NOT NULL"
    " ORDER BY value->>'message_template_name', value->>'message_template_language',"
    "  event_time DESC, id DESC",
    0,
};

enum db_status outbox_template_statuses(size_t *changed)
{
    PGresult *res = NULL;
    *changed = 0;
    enum db_status st = db_exec(&st_template_statuses, NULL, &res);
    for (int i = 0; st == DB_OK && i < PQntuples(res); i++) {
        if (PQgetlength(res, i, 0) >= HOLDS_NAME_MAX ||
            PQgetlength(res, i, 1) >= HOLDS_LANGUAGE_MAX)
            continue;
        struct holds_event_key key = {strtoll(PQgetvalue(res, i, 4), NULL, 10),
                                      strtoll(PQgetvalue(res, i, 5), NULL, 10)};
        if (holds_template_status(PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
                                  PQgetvalue(res, i, 2), PQgetvalue(res, i, 3),
                                  key) == HOLDS_CHANGED)
            (*changed)++;
    }
    PQclear(res);
    return st;
}

/* ---------- LISTEN and NOTIFY ---------- */

/* Wakes the outbox workers, in a transaction of its own after intake's insert: PostgreSQL
 * serializes the commits of notifying transactions on one lock held through their WAL
 * flush, so a NOTIFY inside the durable insert would undo group commit. This transaction
 * writes nothing worth flushing, hence synchronous_commit off; a lost wake-up costs at
 * most the workers' poll interval. */
static const struct db_stmt st_outbox_wake = {
    "outbox_wake",
    "SELECT set_config('synchronous_commit', 'off', true), pg_notify('whatsapp_outbox', '')",
    0,
};

enum db_status outbox_notify(void)
{
    return db_exec(&st_outbox_wake, NULL, NULL);
}

PGconn *outbox_listen(void)
{
    return db_listen("whatsapp_outbox", "bakery-whatsapp outbox listener");
}

int outbox_listen_drain(PGconn *c)
{
    return db_listen_drain(c);
}

bool outbox_listen_notify(PGconn *c)
{
    /* PQexec blocks even on a non-blocking connection; notifications that arrive
     * meanwhile wait in c for outbox_listen_drain(). */
    PGresult *res = PQexec(c, "NOTIFY whatsapp_outbox");
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    if (!ok)
        log_warn("cannot NOTIFY whatsapp_outbox\terror=\"%.200s\"", PQerrorMessage(c));
    return ok;
}

/* ---------- the account's pause, shared ---------- */

static const struct db_stmt st_pause_write = {
    "outbox_pause_write",
    "WITH w AS (UPDATE whatsapp_account_pause"
    "   SET paused = $1::boolean, code = $2::int, reason = $3, source = $4,"
    "       since = to_timestamp($5::bigint / 1000.0), version = version + 1"
    " RETURNING version)"
    " SELECT version, pg_notify('whatsapp_outbox', '') FROM w",
    5,
};

static const struct db_stmt st_pause_read = {
    "outbox_pause_read",
    "SELECT paused, coalesce(code, -1), coalesce(reason, ''), coalesce(source, 'send'),"
    "       coalesce((extract(epoch FROM since) * 1000)::bigint, 0), version"
    "  FROM whatsapp_account_pause",
    0,
};

enum db_status outbox_pause_write(const struct pause_state *st, long *version)
{
    char code[24], since[24];
    PGresult *res = NULL;
    snprintf(code, sizeof code, "%ld", st->code);
    snprintf(since, sizeof since, "%lld", (long long)st->since_ms);
    const char *params[] = {
        st->paused ? "true" : "false", st->paused ? code : NULL, st->paused ? st->reason : NULL,
        st->paused ? pause_source_name(st->source) : NULL, st->paused ? since : NULL};
    enum db_status st_ = db_exec(&st_pause_write, params, &res);
    if (st_ == DB_OK && PQntuples(res) == 1)
        *version = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    else if (st_ == DB_OK)
        st_ = DB_ERROR; /* the row of migration 0017 is missing */
    PQclear(res);
    return st_;
}

enum db_status outbox_pause_read(struct pause_state *out, long *version)
{
    PGresult *res = NULL;
    enum db_status st = db_exec(&st_pause_read, NULL, &res);
    if (st == DB_OK && PQntuples(res) == 1) {
        memset(out, 0, sizeof(*out));
        out->paused = PQgetvalue(res, 0, 0)[0] == 't';
        out->code = strtol(PQgetvalue(res, 0, 1), NULL, 10);
        snprintf(out->reason, sizeof out->reason, "%s", PQgetvalue(res, 0, 2));
        out->source = strcmp(PQgetvalue(res, 0, 3), "event") == 0 ? PAUSE_BY_EVENT : PAUSE_BY_SEND;
        out->since_ms = strtoll(PQgetvalue(res, 0, 4), NULL, 10);
        *version = strtol(PQgetvalue(res, 0, 5), NULL, 10);
    } else if (st == DB_OK) {
        st = DB_ERROR;
    }
    PQclear(res);
    return st;
}
