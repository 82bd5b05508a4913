/* activity_store.c - a tenant's recent WhatsApp messages counted by status and skip
 * reason, as one JSON document built by PostgreSQL (one round trip, one snapshot). */
#include "api/activity_store.h"

#include <stdio.h>

/* Statuses only move forward (sent < delivered < read), so each count includes the later
 * ones: "sent" is every message Meta accepted. Email rows are another channel's. The
 * (tenant_id, created_at) index serves it; at most the retention's days of rows. */
static const struct db_stmt st_activity = {
    "api_activity",
    "WITH m AS ("
    " SELECT status, skip_reason FROM whatsapp_messages"
    "  WHERE tenant_id = $1::uuid AND channel = 'whatsapp'"
    "    AND created_at >= now() - make_interval(days => $2::int))"
    " SELECT json_build_object("
    "  'tenant_id', $1::uuid, 'days', $2::int,"
    "  'since', to_char((now() - make_interval(days => $2::int)) AT TIME ZONE 'UTC',"
    "                   'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),"
    "  'total', (SELECT count(*) FROM m),"
    "  'pending', (SELECT count(*) FROM m WHERE status IN ('queued', 'sending')),"
    "  'sent', (SELECT count(*) FROM m WHERE status IN ('sent', 'delivered', 'read')),"
    "  'delivered', (SELECT count(*) FROM m WHERE status IN ('delivered', 'read')),"
    "  'read', (SELECT count(*) FROM m WHERE status = 'read'),"
    "  'failed', (SELECT count(*) FROM m WHERE status = 'failed'),"
    "  'canceled', (SELECT count(*) FROM m WHERE status = 'canceled'),"
    "  'skipped', (SELECT count(*) FROM m WHERE status = 'skipped'),"
    "  'skipped_by_reason', (SELECT coalesce(json_object_agg(reason, n ORDER BY reason), '{}')"
    "    FROM (SELECT coalesce(skip_reason, 'unknown') AS reason, count(*) AS n FROM m"
    "          WHERE status = 'skipped' GROUP BY 1) r))::text",
    2,
};

enum db_status activity_store_count(const char *tenant_id, long days, json_t **out)
{
    PGresult *res = NULL;
    char days_text[24];
    snprintf(days_text, sizeof days_text, "%ld", days);
    const char *params[] = {tenant_id, days_text};
    enum db_status st = db_exec(&st_activity, params, &res);
    if (st == DB_OK && PQntuples(res) != 1)
        st = DB_ERROR;
    if (st == DB_OK) {
        *out = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
        if (!*out)
            st = DB_ERROR;
    }
    PQclear(res);
    return st;
}
