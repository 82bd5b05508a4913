/* usage_store.c - the usage ledger's statements. What a message counts for is one SQL
 * function (whatsapp_usage_counters, migration 0011) shared with the retention statement
 * that rolls deleted messages up (store.c), so stored and rolled-up messages count alike. */
#include "api/usage_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "pgarray.h"

/* The newest card and a month's counters in one snapshot. The card row always exists
 * (migration 0011 seeds one, a PUT only adds), so the answer has at least one row; a
 * row with a NULL tenant means no counter. */
static const struct db_stmt st_month = {
    "usage_month",
    "WITH card AS (SELECT id, effective_date FROM whatsapp_rate_cards ORDER BY id DESC LIMIT 1),"
    " bounds AS (SELECT $1::date::timestamp AT TIME ZONE $2 AS lo,"
    "  ($1::date + interval '1 month') AT TIME ZONE $2 AS hi),"
    " c AS ("
    "  SELECT r.tenant_id, r.counter, r.key, r.country, r.n FROM whatsapp_usage_rollup r"
    "   WHERE r.month = $1::date AND ($3::uuid IS NULL OR r.tenant_id = $3::uuid)"
    "  UNION ALL"
    "  SELECT m.tenant_id, u.counter, u.key, u.country, 1 FROM bounds, whatsapp_messages m,"
    "   LATERAL whatsapp_usage_counters(m.status, m.skip_reason, m.wamid, m.pricing,"
    "    m.recipient_phone) u"
    "   WHERE m.created_at >= bounds.lo AND m.created_at < bounds.hi AND m.channel = 'whatsapp'"
    "    AND ($3::uuid IS NULL OR m.tenant_id = $3::uuid)),"
    " s AS (SELECT tenant_id, counter, key, country, sum(n) AS n FROM c GROUP BY 1, 2, 3, 4),"
    " priced AS (SELECT s.tenant_id, s.counter, s.key, s.n,"
    "  CASE WHEN s.counter = 'billable' THEN s.n * coalesce("
    "   (SELECT w.price_eur FROM whatsapp_rates w, card WHERE w.card_id = card.id"
    "     AND w.category = s.key AND w.country = s.country),"
    "   (SELECT w.price_eur FROM whatsapp_rates w, card WHERE w.card_id = card.id"
    "     AND w.category = s.key AND w.country = '*'), 0) ELSE 0 END AS cost FROM s),"
    " t AS (SELECT tenant_id, counter, key, sum(n) AS n, sum(cost) AS cost FROM priced"
    "  GROUP BY 1, 2, 3)"
    " SELECT card.effective_date::text, t.tenant_id, t.counter, t.key, t.n,"
    "  (t.cost * 10000)::bigint"
    " FROM card LEFT JOIN t ON true ORDER BY t.tenant_id, t.counter, t.key COLLATE \"C\"",
    3,
    .replan = true,
};

static const struct db_stmt st_card = {
    "usage_card",
    "SELECT c.effective_date::text, c.source, r.category, r.country, r.price_eur::text"
    " FROM (SELECT * FROM whatsapp_rate_cards ORDER BY id DESC LIMIT 1) c"
    " LEFT JOIN whatsapp_rates r ON r.card_id = c.id"
    " ORDER BY r.category COLLATE \"C\", r.country COLLATE \"C\"",
    0,
};

static const struct db_stmt st_card_replace = {
    "usage_card_replace",
    "WITH card AS (INSERT INTO whatsapp_rate_cards (effective_date, source, created_by)"
    "  VALUES (coalesce($1::date, (now() AT TIME ZONE $7)::date), $2, $3) RETURNING id)"
    " INSERT INTO whatsapp_rates (card_id, category, country, price_eur)"
    " SELECT card.id, r.category, r.country, r.price"
    "  FROM card, unnest($4::text[], $5::text[], $6::numeric[]) AS r(category, country, price)",
    7,
};

/* The zone is known when the expression the months are computed with accepts it (22023
 * otherwise). pg_timezone_names would read every zone file: tens of milliseconds of a
 * start-up. */
static const struct db_stmt st_timezone_known = {
    "usage_timezone_known",
    "SELECT (now() AT TIME ZONE $1) IS NOT NULL",
    1,
};

enum db_status usage_store_month(const char *first_day, const char *tz, const char *tenant_id,
                                 struct usage_month *out)
{
    const char *params[] = {first_day, tz, tenant_id};
    PGresult *res = NULL;

    memset(out, 0, sizeof(*out));
    enum db_status st = db_exec(&st_month, params, &res);
    if (st != DB_OK)
        return st;
    int rows = PQntuples(res);
    if (rows < 1) { /* no rate card at all: the migration's was deleted by hand */
        PQclear(res);
        return DB_ERROR;
    }
    snprintf(out->rate_card_date, sizeof out->rate_card_date, "%s", PQgetvalue(res, 0, 0));
    out->rows = xcalloc((size_t)rows, sizeof(*out->rows));
    for (int i = 0; i < rows; i++) {
        if (PQgetisnull(res, i, 1))
            continue;
        struct usage_row *r = &out->rows[out->n++];
        r->tenant_id = PQgetvalue(res, i, 1);
        r->counter = PQgetvalue(res, i, 2);
        r->key = PQgetvalue(res, i, 3);
        r->n = strtoll(PQgetvalue(res, i, 4), NULL, 10);
        r->cost = strtoll(PQgetvalue(res, i, 5), NULL, 10);
    }
    out->res = res;
    return DB_OK;
}

void usage_month_free(struct usage_month *m)
{
    free(m->rows);
    PQclear(m->res);
    memset(m, 0, sizeof(*m));
}

enum db_status usage_store_card(struct usage_card *out)
{
    PGresult *res = NULL;

    memset(out, 0, sizeof(*out));
    enum db_status st = db_exec(&st_card, NULL, &res);
    if (st != DB_OK)
        return st;
    int rows = PQntuples(res);
    if (rows < 1) {
        PQclear(res);
        return DB_ERROR;
    }
    out->effective_date = PQgetvalue(res, 0, 0);
    out->source = PQgetvalue(res, 0, 1);
    out->rates = xcalloc((size_t)rows, sizeof(*out->rates));
    for (int i = 0; i < rows; i++) {
        if (PQgetisnull(res, i, 2))
            continue; /* a card without rates */
        out->rates[out->n++] = (struct usage_rate){PQgetvalue(res, i, 2), PQgetvalue(res, i, 3),
                                                   PQgetvalue(res, i, 4)};
    }
    out->res = res;
    return DB_OK;
}

void usage_card_free(struct usage_card *c)
{
    free(c->rates);
    PQclear(c->res);
    memset(c, 0, sizeof(*c));
}

enum db_status usage_store_card_replace(const struct usage_rate *rates, size_t n,
                                        const char *effective_date, const char *source,
                                        const char *by, const char *tz)
{
    struct buf cols[3] = {{0}};
    for (int c = 0; c < 3; c++)
        pgarray_open(&cols[c]);
    for (size_t i = 0; i < n; i++) {
        pgarray_add(&cols[0], rates[i].category);
        pgarray_add(&cols[1], rates[i].country);
        pgarray_add(&cols[2], rates[i].price);
    }
    for (int c = 0; c < 3; c++)
        pgarray_close(&cols[c]);
    const char *params[] = {effective_date, source,       by, cols[0].data,
                            cols[1].data,   cols[2].data, tz};
    enum db_status st = db_exec(&st_card_replace, params, NULL);
    for (int c = 0; c < 3; c++)
        buf_free(&cols[c]);
    return st;
}

enum db_status usage_store_timezone_known(const char *tz, bool *known)
{
    const char *params[] = {tz};
    PGresult *res = NULL;

    *known = false;
    enum db_status st = db_exec(&st_timezone_known, params, &res);
    if (st == DB_OK)
        *known = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    if (st == DB_ERROR && strcmp(db_error_sqlstate(), "22023") == 0)
        return DB_OK; /* "time zone ... not recognized" */
    return st;
}
