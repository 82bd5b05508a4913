/* store.c - every statement of the API side, parameterized and prepared once per
 * connection. Status batches travel as PostgreSQL array literals, one statement per
 * webhook request, so a webhook costs one round trip however many statuses it carries. */
#include "api/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "hmap.h"
#include "log.h"
#include "pgarray.h"
#include "outbox/status_sql.h"

/* Closes to_char(ts ...: ISO 8601 in UTC with microseconds, exact enough to serve as a
 * keyset cursor. */
#define ISO_UTC " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

#define MESSAGE_FIELDS                                                                             \
    "'id', id, 'tenant_id', tenant_id, 'kind', kind, 'idempotency_key', idempotency_key,"          \
    " 'recipient_phone', recipient_phone, 'template_name', template_name,"                         \
    " 'template_language', template_language, 'template_parameters', template_parameters,"         \
    " 'phone_number_id', phone_number_id, 'status', status, 'skip_reason', skip_reason,"           \
    " 'wamid', wamid, 'attempts', attempts, 'error_code', error_code,"                             \
    " 'error_message', error_message,"                                                             \
    " 'created_at', to_char(created_at" ISO_UTC ","                                                \
    " 'updated_at', to_char(updated_at" ISO_UTC ","                                                \
    " 'next_attempt_at', to_char(next_attempt_at" ISO_UTC ","                                      \
    " 'sent_at', to_char(sent_at" ISO_UTC ","                                                      \
    " 'delivered_at', to_char(greatest(delivered_at, CASE WHEN delivered_at IS NOT NULL"           \
    "  THEN sent_at END)" ISO_UTC ","                                                              \
    " 'read_at', to_char(greatest(read_at, CASE WHEN read_at IS NOT NULL"                          \
    "  THEN greatest(delivered_at, sent_at) END)" ISO_UTC ","                                      \
    " 'delivered_reported_at', to_char(delivered_reported_at" ISO_UTC ","                          \
    " 'read_reported_at', to_char(read_reported_at" ISO_UTC ","                                    \
    " 'failed_at', to_char(failed_at" ISO_UTC ", 'pricing', pricing,"                              \
    " 'recipient_user_id', recipient_user_id,"                                                     \
    " 'fallback_from_language', fallback_from_language, 'channel', channel,"                       \
    " 'recipient_email', recipient_email, 'order_event_id', order_event_id,"                       \
    " 'follows_id', follows_id, 'follows_reason', follows_reason"

/* ---------- intake ---------- */

static const struct db_stmt st_message_insert = {
    "api_message_insert",
    "WITH ins AS ("
    " INSERT INTO whatsapp_messages (id, tenant_id, idempotency_key, kind, request_hash,"
    "  recipient_phone, template_name, template_language, template_parameters, payload,"
    "  status, skip_reason, next_attempt_at)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10::jsonb, $11, $12,"
    "  CASE WHEN $11 = 'queued' THEN now() END)"
    " ON CONFLICT (tenant_id, idempotency_key) DO NOTHING"
    " RETURNING id, status)"
    " SELECT id, status FROM ins",
    12,
};

/* A group commit's rows ($1..$12: parallel arrays, one key each) in one statement and so
 * one transaction: each input row answered in order with the row its key holds, whether
 * this statement made it (a retry after a lost connection finds its own id), and that
 * row's request hash. A key committed by another transaction after this statement's
 * snapshot comes back with a NULL id: the caller asks again. The LIMIT keeps the lookup
 * a subquery run only for rows not inserted, by the unique index, whatever the
 * statistics: flattened into a join, a plan made on an empty table hashes the whole
 * table for every batch. */
static const struct db_stmt st_message_insert_batch = {
    "api_message_insert_batch",
    "WITH i AS ("
    " SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[],"
    "  $6::text[], $7::text[], $8::text[], $9::jsonb[], $10::jsonb[], $11::text[], $12::text[])"
    "  WITH ORDINALITY AS i(id, tenant_id, idempotency_key, kind, request_hash,"
    "  recipient_phone, template_name, template_language, template_parameters, payload,"
    "  status, skip_reason, ord)),"
    " ins AS ("
    " INSERT INTO whatsapp_messages (id, tenant_id, idempotency_key, kind, request_hash,"
    "  recipient_phone, template_name, template_language, template_parameters, payload,"
    "  status, skip_reason, next_attempt_at)"
    " SELECT id, tenant_id, idempotency_key, kind, request_hash, recipient_phone,"
    "  template_name, template_language, template_parameters, payload, status, skip_reason,"
    "  CASE WHEN status = 'queued' THEN now() END FROM i ORDER BY ord"
    " ON CONFLICT (tenant_id, idempotency_key) DO NOTHING"
    " RETURNING id, status)"
    " SELECT coalesce(ins.id, w.id), coalesce(ins.status, w.status),"
    "  ins.id IS NOT NULL OR w.id = i.id, coalesce(w.request_hash, i.request_hash)"
    " FROM i LEFT JOIN ins ON ins.id = i.id"
    " LEFT JOIN LATERAL (SELECT w.id, w.status, w.request_hash FROM whatsapp_messages w"
    "  WHERE ins.id IS NULL AND w.tenant_id = i.tenant_id"
    "  AND w.idempotency_key = i.idempotency_key LIMIT 1) w ON true"
    " ORDER BY i.ord",
    12,
};

static const struct db_stmt st_message_existing = {
    "api_message_existing",
    "SELECT id, status, request_hash = $3, id = $4 FROM whatsapp_messages"
    " WHERE tenant_id = $1 AND idempotency_key = $2",
    4,
};

/* ---------- reading ---------- */

static const struct db_stmt st_message_list = {
    "api_message_list",
    "SELECT json_build_object(" MESSAGE_FIELDS ")::text FROM whatsapp_messages"
    " WHERE ($1::uuid IS NULL OR tenant_id = $1::uuid)"
    "  AND ($2::text IS NULL OR status = $2::text)"
    "  AND ($3::timestamptz IS NULL OR created_at >= $3::timestamptz)"
    "  AND ($4::timestamptz IS NULL OR (created_at, id) < ($4::timestamptz, $5::uuid))"
    " ORDER BY created_at DESC, id DESC LIMIT $6",
    6,
    .replan = true,
};

static const struct db_stmt st_message_get = {
    "api_message_get",
    "SELECT json_build_object(" MESSAGE_FIELDS ", 'payload', payload)::text"
    " FROM whatsapp_messages WHERE id = $1 AND ($2::uuid IS NULL OR tenant_id = $2::uuid)",
    2,
};

/* ---------- an order's story, resend and cancel ---------- */

/* One row of an order: whether it is the event's own (the only one without an
 * order_event_id), the event's stored request, and the message. */
#define ORDER_ROW                                                                                  \
    "json_build_object('event', order_event_id IS NULL, 'payload',"                                \
    " CASE WHEN order_event_id IS NULL THEN payload END,"                                          \
    " 'message', json_build_object(" MESSAGE_FIELDS "))"

/* Found by the two indexes: the event's row by (tenant_id, idempotency_key), the rows
 * derived from it by (tenant_id, order_event_id). */
static const struct db_stmt st_order_rows = {
    "api_order_rows",
    "SELECT " ORDER_ROW "::text FROM whatsapp_messages"
    " WHERE tenant_id = $1::uuid AND ((idempotency_key = $2 AND kind = 'purchase_order'"
    "  AND order_event_id IS NULL) OR order_event_id = $2)"
    " ORDER BY created_at, id",
    2,
};

/* The tenant's last $2 events by its created_at index, then each one's rows. */
static const struct db_stmt st_order_recent = {
    "api_order_recent",
    "WITH ev AS (SELECT id, idempotency_key, created_at FROM whatsapp_messages"
    "  WHERE tenant_id = $1::uuid AND kind = 'purchase_order' AND order_event_id IS NULL"
    "  ORDER BY created_at DESC, id DESC LIMIT $2::int)"
    " SELECT (r.doc::jsonb || jsonb_build_object('event_id', ev.idempotency_key))::text"
    " FROM ev, LATERAL (SELECT " ORDER_ROW " AS doc, created_at AS at, id AS mid"
    "  FROM whatsapp_messages WHERE tenant_id = $1::uuid"
    "   AND (id = ev.id OR order_event_id = ev.idempotency_key)) r"
    " ORDER BY ev.created_at DESC, ev.id DESC, r.at, r.mid",
    2,
    .replan = true,
};

static const struct db_stmt st_message_head = {
    "api_message_head",
    "SELECT tenant_id, kind, channel, status, payload::text, recipient_phone, recipient_email"
    " FROM whatsapp_messages WHERE id = $1 AND ($2::uuid IS NULL OR tenant_id = $2::uuid)",
    2,
};

/* The new row takes the template and the parameters intake stored from the corrected
 * request; a purchase order's language is chosen at send time, as for a new order. */
static const struct db_stmt st_message_resend = {
    "api_message_resend",
    "INSERT INTO whatsapp_messages (id, tenant_id, idempotency_key, kind, request_hash, channel,"
    "  recipient_phone, recipient_email, template_name, template_language, template_parameters,"
    "  payload, status, skip_reason, next_attempt_at, order_event_id, follows_id, follows_reason)"
    " SELECT $1, o.tenant_id, $3, o.kind, $4, $5, $6, $7, o.template_name, p.v->>'language',"
    "  CASE WHEN o.kind = 'purchase_order'"
    "   THEN jsonb_build_array(p.v->'supplier_name', p.v->'po_number') ELSE p.v->'parameters' END,"
    "  p.v, $9::text, $10, CASE WHEN $9::text = 'queued' THEN now() END,"
    "  coalesce(o.order_event_id, CASE WHEN o.kind = 'purchase_order' THEN o.idempotency_key END),"
    "  o.id, 'resend'"
    " FROM whatsapp_messages o, (SELECT $8::jsonb AS v) p WHERE o.id = $2"
    " ON CONFLICT (tenant_id, idempotency_key) DO NOTHING RETURNING id, status",
    10,
};

/* Only a queued row is canceled: one being sent holds the row lock of its claim, so the
 * update waits for it and then finds it 'sending' (or further) and leaves it. */
static const struct db_stmt st_message_cancel = {
    "api_message_cancel",
    "WITH c AS (UPDATE whatsapp_messages SET status = 'canceled', next_attempt_at = NULL,"
    "  lease_owner = NULL, lease_expires_at = NULL, updated_at = now()"
    "  WHERE id = $1 AND ($2::uuid IS NULL OR tenant_id = $2::uuid) AND status = 'queued'"
    "  RETURNING status)"
    " SELECT coalesce((SELECT status FROM c), (SELECT status FROM whatsapp_messages"
    "  WHERE id = $1 AND ($2::uuid IS NULL OR tenant_id = $2::uuid)), ''),"
    "  EXISTS (SELECT 1 FROM c)",
    2,
};

/* ---------- statuses ---------- */

/* A webhook's batch: $1..$6 are parallel arrays; unmatched events become pending. */
static const struct db_stmt st_statuses_apply = {
    "api_statuses_apply",
    "WITH ev AS ("
    " SELECT e.* FROM unnest($1::text[], $2::text[], $3::bigint[], $4::int[], $5::text[],"
    "  $6::uuid[], $7::jsonb[], $8::text[]) WITH ORDINALITY"
    "  AS e(wamid, status, ts, error_code, error_message, callback_id, pricing, user_id, "
    "ord))," APPLY_EVENTS ", pend AS ("
    "  INSERT INTO whatsapp_pending_statuses (wamid, message_id, status, status_ts,"
    "   error_code, error_message, pricing, recipient_user_id)"
    "  SELECT DISTINCT ON (wamid, status) wamid, callback_id, status, to_timestamp(ts),"
    "   error_code, error_message, pricing, user_id"
    "  FROM matched WHERE message_id IS NULL ORDER BY wamid, status, ts, ord"
    "  ON CONFLICT (wamid, status) DO NOTHING RETURNING 1)"
    " SELECT (SELECT count(*) FROM matched WHERE message_id IS NOT NULL),"
    "  (SELECT coalesce(sum(n), 0) FROM upd), (SELECT count(*) FROM pend)",
    8,
    .replan = true,
};

/* After a batch left statuses pending: a sender that stored one of those wamids in the
 * meantime looked for pending statuses before they were committed, so look again. */
static const struct db_stmt st_pending_resolve = {
    "api_pending_resolve",
    "WITH ev AS ("
    " DELETE FROM whatsapp_pending_statuses p USING whatsapp_messages w"
    " WHERE p.wamid = w.wamid AND p.wamid = ANY($1::text[])"
    " RETURNING p.wamid, p.status, extract(epoch FROM p.status_ts)::bigint AS ts,"
    "  p.error_code, p.error_message, p.message_id AS callback_id, p.pricing,"
    "  p.recipient_user_id AS user_id, 0::bigint AS ord)," APPLY_EVENTS
    " SELECT (SELECT count(*) FROM ev), (SELECT coalesce(sum(n), 0) FROM upd)",
    1,
    .replan = true,
};

/* ---------- opt-outs ---------- */

/* The phone a business-scoped user id was last seen with: its newest message's, kept by
 * the statuses (migration 0020). */
static const struct db_stmt st_user_phone = {
    "api_user_phone",
    "SELECT phone FROM whatsapp_user_phones WHERE user_id = $1",
    1,
};

/* The tenants an inbound message to number $1 from $2 concerns: those that sent to $2
 * from $1, else the one that last sent from $1. */
#define OPT_TENANTS                                                                                \
    "WITH sent_to AS ("                                                                            \
    " SELECT DISTINCT tenant_id FROM whatsapp_messages"                                            \
    " WHERE phone_number_id = $1 AND recipient_phone = $2),"                                       \
    " tenants AS ("                                                                                \
    " SELECT tenant_id FROM sent_to UNION ALL"                                                     \
    " (SELECT tenant_id FROM whatsapp_messages"                                                    \
    "  WHERE phone_number_id = $1 AND NOT EXISTS (SELECT 1 FROM sent_to)"                          \
    "  ORDER BY created_at DESC LIMIT 1)),"

static const struct db_stmt st_opt_out = {
    "api_opt_out",
    OPT_TENANTS
    " changed AS ("
    "  INSERT INTO whatsapp_opt_outs (tenant_id, recipient_phone, opted_out_at,"
    "   source_message_id)"
    "  SELECT tenant_id, $2, to_timestamp($3), $4 FROM tenants"
    "  ON CONFLICT (tenant_id, recipient_phone) DO UPDATE"
    "  SET opted_out_at = greatest(whatsapp_opt_outs.opted_out_at, EXCLUDED.opted_out_at),"
    "   source_message_id = EXCLUDED.source_message_id"
    "  RETURNING 1)"
    " SELECT (SELECT count(*) FROM tenants), (SELECT count(*) FROM changed)",
    4,
    .replan = true,
};

/* The source message id ($4) matters only to an opt-out: three parameters here. */
static const struct db_stmt st_opt_in = {
    "api_opt_in",
    OPT_TENANTS " changed AS ("
                "  DELETE FROM whatsapp_opt_outs o USING tenants t"
                "  WHERE o.tenant_id = t.tenant_id AND o.recipient_phone = $2"
                "   AND o.opted_out_at <= to_timestamp($3)"
                "  RETURNING 1)"
                " SELECT (SELECT count(*) FROM tenants), (SELECT count(*) FROM changed)",
    3,
    .replan = true,
};

/* ---------- account events ---------- */

/* The digest covers what Meta sent, in jsonb's canonical text: a repeated delivery is
 * stored once, whatever the key order or spacing of its body. */
static const struct db_stmt st_account_event_add = {
    "api_account_event_add",
    "INSERT INTO whatsapp_account_events (field, waba_id, event_time, value, digest)"
    " SELECT $1, $2, to_timestamp($3::bigint), v,"
    "  sha256(convert_to($1 || ' ' || $3 || ' ' || v::text, 'UTF8'))"
    " FROM (SELECT $4::jsonb AS v) s"
    " ON CONFLICT (digest) DO NOTHING RETURNING id",
    4,
};

static const struct db_stmt st_account_event_list = {
    "api_account_event_list",
    "SELECT json_build_object('id', id, 'field', field, 'waba_id', waba_id,"
    "  'event_time', to_char(event_time AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
    "  'received_at', to_char(received_at AT TIME ZONE 'UTC',"
    "   'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), 'value', value)::text"
    " FROM whatsapp_account_events"
    " WHERE ($1::text IS NULL OR field = $1) AND ($2::bigint IS NULL OR id < $2)"
    " ORDER BY id DESC LIMIT $3::int",
    3,
    .replan = true,
};

static const struct db_stmt st_account_events_prune = {
    "api_account_events_prune",
    "DELETE FROM whatsapp_account_events WHERE received_at < now() - make_interval(days => "
    "$1::int)",
    1,
    .replan = true,
};

/* A user id's phone is kept as long as the newest message that named it. */
static const struct db_stmt st_user_phones_prune = {
    "api_user_phones_prune",
    "DELETE FROM whatsapp_user_phones WHERE message_created_at < now() - make_interval(days => "
    "$1::int)",
    1,
    .replan = true,
};

static const struct db_stmt st_messaging_limit_report = {
    "api_messaging_limit_report",
    "UPDATE whatsapp_messaging_limit SET reported = $1::int, source = $2, reported_at = now()"
    " WHERE reported IS DISTINCT FROM $1::int",
    2,
};

/* ---------- quota usage ---------- */

/* The tenant's count of the current month in the billing time zone; no row is 0. */
static const struct db_stmt st_quota_usage = {
    "api_quota_usage",
    "WITH mm AS (SELECT date_trunc('month', now() AT TIME ZONE $2)::date AS m)"
    " SELECT to_char(mm.m, 'YYYY-MM'), coalesce(q.used, 0)"
    "   FROM mm LEFT JOIN whatsapp_quota_usage q ON q.tenant_id = $1 AND q.month = mm.m",
    2,
};

/* ---------- retention and gauges ---------- */

/* The deleted messages' counters go to their tenant's month in the same statement
 * (whatsapp_usage_counters, migration 0011): a month's usage is the same before and after,
 * and no message is counted twice (usage_store.c adds the rollup to the stored rows).
 * Keys are upserted in one order, so two instances' batches cannot deadlock. */
static const struct db_stmt st_retention_delete = {
    "api_retention_delete",
    "WITH gone AS ("
    " DELETE FROM whatsapp_messages WHERE id IN ("
    "  SELECT id FROM whatsapp_messages"
    "  WHERE created_at < now() - make_interval(days => $1::int)"
    "  LIMIT $2::int FOR UPDATE SKIP LOCKED)"
    " RETURNING tenant_id, created_at, status, skip_reason, wamid, pricing, recipient_phone,"
    "  channel),"
    " rolled AS ("
    " INSERT INTO whatsapp_usage_rollup (month, tenant_id, counter, key, country, n)"
    " SELECT date_trunc('month', g.created_at AT TIME ZONE $3)::date, g.tenant_id, u.counter,"
    "  u.key, u.country, count(*)"
    " FROM gone g, LATERAL whatsapp_usage_counters(g.status, g.skip_reason, g.wamid, g.pricing,"
    "  g.recipient_phone) u"
    " WHERE g.channel = 'whatsapp'" /* emails cost Meta nothing (migration 0014) */
    " GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5"
    " ON CONFLICT (month, tenant_id, counter, key, country)"
    " DO UPDATE SET n = whatsapp_usage_rollup.n + EXCLUDED.n RETURNING 1)"
    " SELECT (SELECT count(*) FROM gone), (SELECT count(*) FROM rolled)",
    3,
    .replan = true,
};

static const struct db_stmt st_pending_prune = {
    "api_pending_prune",
    "DELETE FROM whatsapp_pending_statuses"
    " WHERE received_at < now() - make_interval(secs => $1::int)",
    1,
    .replan = true,
};

static const struct db_stmt st_queue_stats = {
    "api_queue_stats",
    "SELECT (SELECT count(*) FROM whatsapp_messages WHERE next_attempt_at IS NOT NULL),"
    " (SELECT coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8"
    "  FROM whatsapp_messages WHERE next_attempt_at IS NOT NULL AND status = 'queued')",
    0,
    .replan = true,
};

/* ---------- helpers ---------- */

static long get_long(const PGresult *res, int row, int col)
{
    return strtol(PQgetvalue(res, row, col), NULL, 10);
}

/* Parses one row of JSON text produced by the database (a bug if it fails). */
static json_t *row_json(const PGresult *res, int row)
{
    json_error_t err;
    const char *text = PQgetvalue(res, row, 0);
    json_t *v = json_loads(text, 0, &err);
    if (!v)
        log_error("database returned malformed JSON\terror=\"%s\"", err.text);
    return v;
}

/* ---------- intake ---------- */

void store_message_fields(const struct store_new_message *m, const char *out[STORE_MESSAGE_FIELDS])
{
    const char *f[STORE_MESSAGE_FIELDS] = {m->id,
                                           m->tenant_id,
                                           m->idempotency_key,
                                           m->kind,
                                           m->request_hash,
                                           m->recipient_phone,
                                           m->template_name,
                                           m->template_language,
                                           m->template_parameters,
                                           m->payload,
                                           m->status,
                                           m->skip_reason};
    memcpy(out, f, sizeof f);
}

struct store_new_message *store_message_copy(const struct store_new_message *m)
{
    const char *f[STORE_MESSAGE_FIELDS];
    size_t len[STORE_MESSAGE_FIELDS], total = 0;
    store_message_fields(m, f);
    for (size_t i = 0; i < STORE_MESSAGE_FIELDS; i++) {
        len[i] = f[i] ? strlen(f[i]) + 1 : 0;
        total += len[i];
    }
    struct store_new_message *copy = xmalloc(sizeof(*copy) + total);
    char *p = (char *)(copy + 1);
    const char *c[STORE_MESSAGE_FIELDS];
    for (size_t i = 0; i < STORE_MESSAGE_FIELDS; i++) {
        c[i] = f[i] ? memcpy(p, f[i], len[i]) : NULL;
        p += len[i];
    }
    *copy = (struct store_new_message){
        .id = c[0],
        .tenant_id = c[1],
        .idempotency_key = c[2],
        .kind = c[3],
        .request_hash = c[4],
        .recipient_phone = c[5],
        .template_name = c[6],
        .template_language = c[7],
        .template_parameters = c[8],
        .payload = c[9],
        .status = c[10],
        .skip_reason = c[11],
    };
    return copy;
}

enum db_status store_message_create(const struct store_new_message *m,
                                    struct store_message_ref *out)
{
    enum db_status st = DB_ERROR;
    PGresult *res = NULL;
    const char *insert[STORE_MESSAGE_FIELDS];
    store_message_fields(m, insert);
    const char *existing[] = {m->tenant_id, m->idempotency_key, m->request_hash, m->id};

    memset(out, 0, sizeof(*out));
    /* The existing row may be deleted by retention between the two statements: then the
     * insert wins on the next round. */
    for (int round = 0; round < 3; round++) {
        st = db_exec(&st_message_insert, insert, &res);
        if (st != DB_OK)
            goto out;
        if (PQntuples(res) == 1) {
            out->created = true;
            out->same_request = true;
            break;
        }
        PQclear(res);
        res = NULL;
        st = db_exec(&st_message_existing, existing, &res);
        if (st != DB_OK)
            goto out;
        if (PQntuples(res) == 1) {
            out->same_request = strcmp(PQgetvalue(res, 0, 2), "t") == 0;
            /* Our own id: the insert committed, but its answer was lost with the
             * connection and db_exec() ran it again. */
            out->created = strcmp(PQgetvalue(res, 0, 3), "t") == 0;
            break;
        }
        PQclear(res);
        res = NULL;
    }
    if (!res) {
        st = DB_ERROR;
        goto out;
    }
    snprintf(out->id, sizeof out->id, "%s", PQgetvalue(res, 0, 0));
    snprintf(out->status, sizeof out->status, "%s", PQgetvalue(res, 0, 1));
out:
    PQclear(res);
    out->st = st;
    return st;
}

/* One message of a batch while its rows are gathered: the first message of its key, or a
 * repeat answered from the first's row. */
struct batch_key {
    struct hmap_node node;
    size_t first; /* index in m of the first message with this key */
    int row;      /* its row in the statement, -1 before */
};

static bool same_key(const struct store_new_message *a, const struct store_new_message *b)
{
    return strcmp(a->tenant_id, b->tenant_id) == 0 &&
           strcmp(a->idempotency_key, b->idempotency_key) == 0;
}

/* Fills out from row i of res (id, status, made here, stored request hash) for m. */
static void batch_ref(PGresult *res, int i, const struct store_new_message *m,
                      struct store_message_ref *out)
{
    memset(out, 0, sizeof(*out));
    out->st = DB_OK;
    snprintf(out->id, sizeof out->id, "%s", PQgetvalue(res, i, 0));
    snprintf(out->status, sizeof out->status, "%s", PQgetvalue(res, i, 1));
    out->created = strcmp(PQgetvalue(res, i, 2), "t") == 0;
    out->same_request = strcmp(PQgetvalue(res, i, 3), m->request_hash) == 0;
}

enum db_status store_messages_create(const struct store_new_message *m, size_t n,
                                     struct store_message_ref *out)
{
    if (n == 1) /* a lone request: the plain INSERT costs PostgreSQL less than the batch's */
        return store_message_create(m, out);
    enum db_status st = DB_OK;
    PGresult *res = NULL;
    struct batch_key *keys = xcalloc(n, sizeof(*keys));
    size_t *first_of = xcalloc(n, sizeof(*first_of)); /* m[i]'s key entry */
    struct buf cols[STORE_MESSAGE_FIELDS] = {{0}};
    struct hmap seen;
    int rows = 0;

    hmap_init(&seen, n * 2);
    for (size_t c = 0; c < STORE_MESSAGE_FIELDS; c++)
        pgarray_open(&cols[c]);
    for (size_t i = 0; i < n; i++) {
        uint64_t h = hmap_hash_more(hmap_hash_str(m[i].tenant_id), '\n', m[i].idempotency_key);
        struct batch_key *k = NULL;
        for (struct hmap_node *e = hmap_first(&seen, h); e && !k; e = hmap_next(e)) {
            struct batch_key *cand = hmap_entry(e, struct batch_key, node);
            if (same_key(&m[cand->first], &m[i]))
                k = cand;
        }
        if (k) { /* a repeat within the batch: answered from its first's row */
            first_of[i] = (size_t)(k - keys);
            continue;
        }
        keys[i] = (struct batch_key){.first = i, .row = rows++};
        hmap_insert(&seen, &keys[i].node, h);
        first_of[i] = i;
        const char *v[STORE_MESSAGE_FIELDS];
        store_message_fields(&m[i], v);
        for (size_t c = 0; c < STORE_MESSAGE_FIELDS; c++)
            pgarray_add(&cols[c], v[c]);
    }
    const char *params[STORE_MESSAGE_FIELDS];
    for (size_t c = 0; c < STORE_MESSAGE_FIELDS; c++) {
        pgarray_close(&cols[c]);
        params[c] = cols[c].data;
    }
    st = db_exec(&st_message_insert_batch, params, &res);
    if (st != DB_OK)
        goto out;
    if (PQntuples(res) != rows) {
        st = DB_ERROR;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const struct batch_key *k = &keys[first_of[i]];
        if (PQgetisnull(res, k->row, 0)) {
            /* Committed by someone else after this statement began (or gone since):
             * one key at a time, as a lone request would. */
            out[i].st = store_message_create(&m[i], &out[i]);
            continue;
        }
        batch_ref(res, k->row, &m[i], &out[i]);
        if (k->first != i)
            out[i].created = false; /* the first of its key made it, not this one */
    }
out:
    PQclear(res);
    for (size_t c = 0; c < STORE_MESSAGE_FIELDS; c++)
        buf_free(&cols[c]);
    hmap_free(&seen);
    free(first_of);
    free(keys);
    return st;
}

/* ---------- reading ---------- */

enum db_status store_message_list(const struct store_message_filter *f, json_t **out)
{
    PGresult *res = NULL;
    char limit[24];
    snprintf(limit, sizeof limit, "%ld", f->limit);
    const char *params[] = {f->tenant_id, f->status, f->since, f->before_at, f->before_id, limit};

    *out = NULL;
    enum db_status st = db_exec(&st_message_list, params, &res);
    if (st != DB_OK)
        goto out;
    json_t *rows = json_array();
    for (int i = 0; i < PQntuples(res); i++) {
        json_t *row = row_json(res, i);
        if (row)
            json_array_append_new(rows, row);
    }
    *out = rows;
out:
    PQclear(res);
    return st;
}

enum db_status store_message_get(const char *id, const char *tenant_id, json_t **out)
{
    PGresult *res = NULL;
    const char *params[] = {id, tenant_id};

    *out = NULL;
    enum db_status st = db_exec(&st_message_get, params, &res);
    if (st == DB_OK && PQntuples(res) == 1)
        *out = row_json(res, 0);
    PQclear(res);
    return st;
}

/* ---------- an order's story, resend and cancel ---------- */

/* Every row of res as parsed JSON, in a new array. */
static json_t *rows_json(const PGresult *res)
{
    json_t *rows = json_array();
    for (int i = 0; i < PQntuples(res); i++) {
        json_t *row = row_json(res, i);
        if (row)
            json_array_append_new(rows, row);
    }
    return rows;
}

enum db_status store_order_rows(const char *tenant_id, const char *event_id, json_t **out)
{
    PGresult *res = NULL;
    const char *params[] = {tenant_id, event_id};
    *out = NULL;
    enum db_status st = db_exec(&st_order_rows, params, &res);
    if (st == DB_OK)
        *out = rows_json(res);
    PQclear(res);
    return st;
}

enum db_status store_order_recent(const char *tenant_id, long limit, json_t **out)
{
    PGresult *res = NULL;
    char l[24];
    snprintf(l, sizeof l, "%ld", limit);
    const char *params[] = {tenant_id, l};
    *out = NULL;
    enum db_status st = db_exec(&st_order_recent, params, &res);
    if (st == DB_OK)
        *out = rows_json(res);
    PQclear(res);
    return st;
}

enum db_status store_message_head(const char *id, const char *tenant_id,
                                  struct store_message_head *out)
{
    PGresult *res = NULL;
    const char *params[] = {id, tenant_id};
    memset(out, 0, sizeof(*out));
    enum db_status st = db_exec(&st_message_head, params, &res);
    if (st != DB_OK || PQntuples(res) != 1)
        goto out;
    out->payload = json_loads(PQgetvalue(res, 0, 4), 0, NULL);
    if (!out->payload) {
        log_error("database returned a malformed payload\tmessage_id=%s", id);
        st = DB_ERROR;
        goto out;
    }
    out->found = true;
    snprintf(out->tenant_id, sizeof out->tenant_id, "%s", PQgetvalue(res, 0, 0));
    snprintf(out->kind, sizeof out->kind, "%s", PQgetvalue(res, 0, 1));
    snprintf(out->channel, sizeof out->channel, "%s", PQgetvalue(res, 0, 2));
    snprintf(out->status, sizeof out->status, "%s", PQgetvalue(res, 0, 3));
    out->recipient_phone = xstrdup(PQgetvalue(res, 0, 5));
    out->recipient_email = PQgetisnull(res, 0, 6) ? NULL : xstrdup(PQgetvalue(res, 0, 6));
out:
    PQclear(res);
    return st;
}

void store_message_head_free(struct store_message_head *h)
{
    json_decref(h->payload);
    free(h->recipient_phone);
    free(h->recipient_email);
    memset(h, 0, sizeof(*h));
}

enum db_status store_message_resend(const struct store_resend *r, struct store_message_ref *out)
{
    PGresult *res = NULL;
    const char *insert[] = {r->id,      r->follows,         r->idempotency_key, r->request_hash,
                            r->channel, r->recipient_phone, r->recipient_email, r->payload,
                            r->status,  r->skip_reason};
    /* st_message_existing's four parameters; the fourth (is it this id?) is unused here */
    const char *existing[] = {r->tenant_id, r->idempotency_key, r->request_hash, r->id};

    memset(out, 0, sizeof(*out));
    enum db_status st = db_exec(&st_message_resend, insert, &res);
    if (st != DB_OK)
        goto out;
    if (PQntuples(res) == 1) {
        out->created = true;
        out->same_request = true;
    } else {
        /* The key was used, or the message resent is gone (retention): then no row. */
        PQclear(res);
        res = NULL;
        st = db_exec(&st_message_existing, existing, &res);
        if (st != DB_OK || PQntuples(res) != 1)
            goto out;
        out->same_request = strcmp(PQgetvalue(res, 0, 2), "t") == 0;
    }
    snprintf(out->id, sizeof out->id, "%s", PQgetvalue(res, 0, 0));
    snprintf(out->status, sizeof out->status, "%s", PQgetvalue(res, 0, 1));
out:
    PQclear(res);
    return st;
}

enum db_status store_message_cancel(const char *id, const char *tenant_id, char status[16],
                                    bool *canceled)
{
    PGresult *res = NULL;
    const char *params[] = {id, tenant_id};
    status[0] = '\0';
    *canceled = false;
    enum db_status st = db_exec(&st_message_cancel, params, &res);
    if (st == DB_OK && PQntuples(res) == 1) {
        snprintf(status, 16, "%s", PQgetvalue(res, 0, 0));
        *canceled = PQgetvalue(res, 0, 1)[0] == 't';
    }
    PQclear(res);
    return st;
}

/* ---------- statuses ---------- */

enum db_status store_statuses_apply(const struct webhook_status *ev, size_t n,
                                    struct store_status_counts *out)
{
    enum db_status st = DB_OK;
    PGresult *res = NULL;
    struct buf cols[8] = {{0}};

    memset(out, 0, sizeof(*out));
    if (n == 0)
        goto out;
    for (size_t c = 0; c < 8; c++)
        pgarray_open(&cols[c]);
    for (size_t i = 0; i < n; i++) {
        pgarray_add(&cols[0], ev[i].wamid);
        pgarray_add(&cols[1], ev[i].status);
        pgarray_add_long(&cols[2], ev[i].ts, false);
        pgarray_add_long(&cols[3], ev[i].error_code, !ev[i].has_error_code);
        pgarray_add(&cols[4], ev[i].error_message);
        pgarray_add(&cols[5], ev[i].callback_id);
        pgarray_add(&cols[6], ev[i].pricing);
        pgarray_add(&cols[7], ev[i].user_id);
    }
    for (size_t c = 0; c < 8; c++)
        pgarray_close(&cols[c]);
    const char *params[] = {cols[0].data, cols[1].data, cols[2].data, cols[3].data,
                            cols[4].data, cols[5].data, cols[6].data, cols[7].data};
    st = db_exec_retrying(&st_statuses_apply, params, &res);
    if (st != DB_OK)
        goto out;
    out->matched = get_long(res, 0, 0);
    out->applied = get_long(res, 0, 1);
    out->pending = get_long(res, 0, 2);
    if (out->pending == 0)
        goto out;
    PQclear(res);
    res = NULL;
    const char *wamids[] = {cols[0].data};
    st = db_exec_retrying(&st_pending_resolve, wamids, &res);
    if (st != DB_OK)
        goto out;
    long resolved = get_long(res, 0, 0);
    out->pending -= resolved;
    out->matched += resolved;
    out->applied += get_long(res, 0, 1);
out:
    PQclear(res);
    for (size_t c = 0; c < 8; c++)
        buf_free(&cols[c]);
    return st;
}

/* ---------- opt-outs ---------- */

enum db_status store_opt_change(bool opt_out, const char *phone_number_id, const char *phone,
                                long long ts, const char *source_id, long *tenants)
{
    PGresult *res = NULL;
    char when[24];
    snprintf(when, sizeof when, "%lld", ts);
    const char *params[] = {phone_number_id, phone, when, source_id ? source_id : ""};

    *tenants = 0;
    enum db_status st = db_exec_retrying(opt_out ? &st_opt_out : &st_opt_in, params, &res);
    if (st == DB_OK)
        *tenants = get_long(res, 0, 0);
    PQclear(res);
    return st;
}

enum db_status store_user_phone(const char *user_id, char *phone, size_t len)
{
    PGresult *res = NULL;
    const char *params[] = {user_id};
    phone[0] = '\0';
    enum db_status st = db_exec(&st_user_phone, params, &res);
    if (st == DB_OK && PQntuples(res) == 1)
        snprintf(phone, len, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return st;
}

/* ---------- account events ---------- */

enum db_status store_account_event_add(const char *field, const char *waba_id, long long time,
                                       const char *value, long long *id)
{
    PGresult *res = NULL;
    char t[24];
    snprintf(t, sizeof t, "%lld", time);
    const char *params[] = {field, waba_id, t, value};
    *id = 0;
    enum db_status st = db_exec(&st_account_event_add, params, &res);
    if (st == DB_OK && PQntuples(res) == 1)
        *id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return st;
}

enum db_status store_account_event_list(const char *field, const char *before_id, long limit,
                                        json_t **out)
{
    PGresult *res = NULL;
    char l[24];
    snprintf(l, sizeof l, "%ld", limit);
    const char *params[] = {field, before_id, l};
    *out = NULL;
    enum db_status st = db_exec(&st_account_event_list, params, &res);
    if (st == DB_OK) {
        json_t *rows = json_array();
        for (int i = 0; i < PQntuples(res); i++)
            json_array_append_new(rows, json_loads(PQgetvalue(res, i, 0), 0, NULL));
        *out = rows;
    }
    PQclear(res);
    return st;
}

/* Runs a DELETE of rows older than days ($1); *deleted is how many it deleted. */
static enum db_status prune_older(const struct db_stmt *stmt, long days, long *deleted)
{
    PGresult *res = NULL;
    char d[24];
    snprintf(d, sizeof d, "%ld", days);
    const char *params[] = {d};
    *deleted = 0;
    enum db_status st = db_exec(stmt, params, &res);
    if (st == DB_OK)
        *deleted = strtol(PQcmdTuples(res), NULL, 10);
    PQclear(res);
    return st;
}

enum db_status store_account_events_prune(long days, long *deleted)
{
    return prune_older(&st_account_events_prune, days, deleted);
}

enum db_status store_user_phones_prune(long days, long *deleted)
{
    return prune_older(&st_user_phones_prune, days, deleted);
}

enum db_status store_messaging_limit_report(long limit, const char *source, bool *changed)
{
    PGresult *res = NULL;
    char l[24];
    snprintf(l, sizeof l, "%ld", limit);
    const char *params[] = {l, source};
    *changed = false;
    enum db_status st = db_exec_retrying(&st_messaging_limit_report, params, &res);
    if (st == DB_OK)
        *changed = strcmp(PQcmdTuples(res), "1") == 0;
    PQclear(res);
    return st;
}

/* ---------- retention and gauges ---------- */

enum db_status store_retention_delete(long days, long batch, const char *billing_tz, long *deleted)
{
    PGresult *res = NULL;
    char d[24], b[24];
    snprintf(d, sizeof d, "%ld", days);
    snprintf(b, sizeof b, "%ld", batch);
    const char *params[] = {d, b, billing_tz};

    *deleted = 0;
    enum db_status st = db_exec_retrying(&st_retention_delete, params, &res);
    if (st == DB_OK)
        *deleted = get_long(res, 0, 0);
    PQclear(res);
    return st;
}

enum db_status store_pending_prune(long max_age_seconds, long *deleted)
{
    PGresult *res = NULL;
    char age[24];
    snprintf(age, sizeof age, "%ld", max_age_seconds);
    const char *params[] = {age};

    *deleted = 0;
    enum db_status st = db_exec(&st_pending_prune, params, &res);
    if (st == DB_OK)
        *deleted = strtol(PQcmdTuples(res), NULL, 10);
    PQclear(res);
    return st;
}

enum db_status store_queue_stats(long *depth, double *oldest_queued_seconds)
{
    PGresult *res = NULL;
    enum db_status st = db_exec(&st_queue_stats, NULL, &res);
    if (st == DB_OK) {
        *depth = get_long(res, 0, 0);
        *oldest_queued_seconds = strtod(PQgetvalue(res, 0, 1), NULL);
    }
    PQclear(res);
    return st;
}

enum db_status store_quota_usage(const char *tenant_id, const char *billing_tz, char month[8],
                                 long *used)
{
    PGresult *res = NULL;
    const char *params[] = {tenant_id, billing_tz};
    enum db_status st = db_exec(&st_quota_usage, params, &res);
    if (st == DB_OK && PQntuples(res) != 1)
        st = DB_ERROR;
    if (st == DB_OK) {
        snprintf(month, 8, "%s", PQgetvalue(res, 0, 0));
        *used = strtol(PQgetvalue(res, 0, 1), NULL, 10);
    }
    PQclear(res);
    return st;
}
