/* usage_store.h - the SQL of the usage ledger (issue 20): a month's counters per tenant
 * from the monthly rollup and the messages still stored, priced with the rate card; the
 * rate card itself; and the check of BILLING_TIMEZONE. Every function returns a db_status
 * (DB_OK, or DB_UNAVAILABLE to answer 503 with). */
#ifndef NOTIFICATION_USAGE_STORE_H
#define NOTIFICATION_USAGE_STORE_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

#include "db.h"

/* One counter of one tenant's month (whatsapp_usage_counters() in migration 0011),
 * summed over the rollup and the stored messages and, for billable, over countries. */
struct usage_row {
    const char *tenant_id;
    const char *counter; /* accepted, delivered, read, failed, skipped, billable, free */
    const char *key;     /* skip reason, pricing category or free type; "" for the others */
    long long n;
    long long cost; /* billable: n times the card's price, in 1/10000 EUR; else 0 */
};

/* A month's counters, ordered by tenant, counter and key. The strings of rows point into
 * res and live as long as it: free everything with usage_month_free(). */
struct usage_month {
    char rate_card_date[11]; /* the priced card's effective date, "2026-01-01" */
    struct usage_row *rows;
    size_t n;
    PGresult *res;
};

/* The counters of the month that starts on first_day ("2026-11-01") in time zone tz, of
 * tenant_id's messages (NULL: every tenant), priced with the newest rate card: a
 * billable count is priced at its category's rate for its recipient country, else at
 * the category's '*' rate, else 0. One statement, so a retention pass running meanwhile
 * moves no message out of the count or into it twice. */
enum db_status usage_store_month(const char *first_day, const char *tz, const char *tenant_id,
                                 struct usage_month *out) __attribute__((warn_unused_result));
void usage_month_free(struct usage_month *m);

/* A price of the card: category, country ("ES" or "*") and price in EUR as exact decimal
 * text ("0.0615"). */
struct usage_rate {
    const char *category;
    const char *country;
    const char *price;
};

/* The newest rate card, rates ordered by category and country. Strings point into res:
 * free with usage_card_free(). */
struct usage_card {
    const char *effective_date;
    const char *source;
    struct usage_rate *rates;
    size_t n;
    PGresult *res;
};

enum db_status usage_store_card(struct usage_card *out) __attribute__((warn_unused_result));
void usage_card_free(struct usage_card *c);

/* Makes rates (n of them, validated) the card, as a new version in one statement.
 * effective_date NULL means today in tz; by names the admin. */
enum db_status usage_store_card_replace(const struct usage_rate *rates, size_t n,
                                        const char *effective_date, const char *source,
                                        const char *by, const char *tz)
    __attribute__((warn_unused_result));

/* *known: whether PostgreSQL has tz among its time zone names ("Europe/Madrid"). */
enum db_status usage_store_timezone_known(const char *tz, bool *known)
    __attribute__((warn_unused_result));

#endif
