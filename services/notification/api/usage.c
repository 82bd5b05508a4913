/* usage.c - the usage and cost ledger for invoicing (issue 20): GET
 * /api/v1/admin/whatsapp/usage (JSON, or CSV with Accept: text/csv) and the rate card it
 * prices with, GET/PUT /api/v1/admin/whatsapp/rate-card. Admin only (routes.c). */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "app.h"
#include "api/handlers.h"
#include "api/usage_store.h"
#include "jsonutil.h"
#include "log.h"
#include "outbox/compose.h"
#include "uuidutil.h"

#define RATES_MAX 1000
#define SOURCE_MAX 1000     /* bytes */
#define PRICE_MAX 1000000.0 /* exclusive: numeric(10, 4) */

/* Money and prices are exact decimals of 4 places. A double holding one, printed with 15
 * significant digits, reads as that decimal ("0.0615", never 0.061499999999999999). */
static void reply_exact_json(struct http_request *req, unsigned status, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(15));
    json_decref(body);
    if (!text)
        text = xstrdup("{}");
    http_reply_bytes(req, status, "application/json; charset=utf-8", text, strlen(text));
    free(text);
}

/* Amounts in 1/10000 EUR as a JSON number. */
static json_t *eur(long long units)
{
    return json_real((double)units / 10000.0);
}

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
    }
    return true;
}

static int two_digits(const char *s)
{
    return (s[0] - '0') * 10 + (s[1] - '0');
}

/* "2026-11" -> "2026-11-01"; false unless exactly YYYY-MM with a month 01-12. */
static bool month_first_day(const char *s, char out[11])
{
    if (!s || strlen(s) != 7 || s[4] != '-' || !all_digits(s, 4) || !all_digits(s + 5, 2))
        return false;
    int month = two_digits(s + 5);
    if (strncmp(s, "0000", 4) == 0 || month < 1 || month > 12)
        return false;
    snprintf(out, 11, "%.7s-01", s);
    return true;
}

/* True when s is a calendar date YYYY-MM-DD. */
static bool is_date(const char *s)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-' || !all_digits(s, 4) ||
        !all_digits(s + 5, 2) || !all_digits(s + 8, 2))
        return false;
    int year = two_digits(s) * 100 + two_digits(s + 2);
    int month = two_digits(s + 5), day = two_digits(s + 8);
    if (year < 1 || month < 1 || month > 12 || day < 1)
        return false;
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return day <= (month == 2 && leap ? 29 : days[month - 1]);
}

/* Whether the Accept header prefers text/csv to JSON: by q-values, JSON on a tie, and
 * JSON when the header names neither (or is absent). */
static bool wants_csv(const char *accept)
{
    double q_csv = 0, q_json = 0;
    const char *p = accept;
    while (p && *p) {
        size_t len = strcspn(p, ",");
        char item[128];
        snprintf(item, sizeof item, "%.*s", (int)(len < sizeof item ? len : sizeof item - 1), p);
        p += len + (p[len] == ',');
        char *params = strchr(item, ';');
        double q = 1;
        if (params) {
            *params++ = '\0';
            const char *qs = strstr(params, "q=");
            if (qs)
                q = strtod(qs + 2, NULL);
        }
        char *type = item;
        while (*type == ' ' || *type == '\t')
            type++;
        for (char *end = type + strlen(type); end > type && (end[-1] == ' ' || end[-1] == '\t');)
            *--end = '\0';
        if ((strcasecmp(type, "text/csv") == 0 || strcasecmp(type, "text/*") == 0) && q > q_csv)
            q_csv = q;
        if ((strcasecmp(type, "application/json") == 0 || strcasecmp(type, "application/*") == 0 ||
             strcmp(type, "*/*") == 0) &&
            q > q_json)
            q_json = q;
    }
    return q_csv > q_json;
}

/* ---------- a month's usage ---------- */

/* One tenant's month, or all tenants' (the totals: tenant_id ""). The maps hold JSON
 * integers by key. */
struct tally {
    char tenant_id[UUID_STR_LEN];
    long long accepted, delivered, read, failed, cost;
    json_t *skipped, *billable, *free;
};

static void tally_init(struct tally *t, const char *tenant_id)
{
    memset(t, 0, sizeof(*t));
    snprintf(t->tenant_id, sizeof t->tenant_id, "%s", tenant_id);
    t->skipped = json_object();
    t->billable = json_object();
    t->free = json_object();
}

static void tally_free(struct tally *t)
{
    json_decref(t->skipped);
    json_decref(t->billable);
    json_decref(t->free);
}

static void map_add(json_t *map, const char *key, long long n)
{
    long long had = json_integer_value(json_object_get(map, key));
    json_object_set_new(map, key, json_integer(had + n));
}

static void tally_add(struct tally *t, const struct usage_row *r)
{
    if (strcmp(r->counter, "accepted") == 0)
        t->accepted += r->n;
    else if (strcmp(r->counter, "delivered") == 0)
        t->delivered += r->n;
    else if (strcmp(r->counter, "read") == 0)
        t->read += r->n;
    else if (strcmp(r->counter, "failed") == 0)
        t->failed += r->n;
    else if (strcmp(r->counter, "skipped") == 0)
        map_add(t->skipped, r->key, r->n);
    else if (strcmp(r->counter, "billable") == 0)
        map_add(t->billable, r->key, r->n);
    else if (strcmp(r->counter, "free") == 0)
        map_add(t->free, r->key, r->n);
    t->cost += r->cost;
}

/* The tally as the API shows it (a new object). */
static json_t *tally_json(const struct tally *t)
{
    json_t *o = json_object();
    if (t->tenant_id[0])
        json_object_set_new(o, "tenant_id", json_string(t->tenant_id));
    json_object_set_new(o, "accepted", json_integer(t->accepted));
    json_object_set_new(o, "delivered", json_integer(t->delivered));
    json_object_set_new(o, "read", json_integer(t->read));
    json_object_set_new(o, "failed", json_integer(t->failed));
    json_object_set(o, "skipped", t->skipped);
    json_object_set(o, "billable", t->billable);
    json_object_set(o, "free", t->free);
    json_object_set_new(o, "cost", eur(t->cost));
    return o;
}

/* ---------- CSV (RFC 4180) ---------- */

static void csv_field(struct buf *b, const char *s)
{
    if (!s[strcspn(s, ",\"\r\n")]) {
        buf_append_str(b, s);
        return;
    }
    buf_append_str(b, "\"");
    for (const char *c = s; *c; c++) {
        if (*c == '"')
            buf_append_str(b, "\"\"");
        else
            buf_append(b, c, 1);
    }
    buf_append_str(b, "\"");
}

/* A group's columns: the keys we know of, always, then any other key some tenant has,
 * in order. A known key costs a column of zeros; a stable header is worth it to a
 * spreadsheet that reads the file every month. */
static json_t *columns(const char *const *known, size_t nknown, const json_t *seen)
{
    json_t *cols = json_array();
    for (size_t i = 0; i < nknown; i++)
        json_array_append_new(cols, json_string(known[i]));
    const char *key;
    const json_t *v;
    json_t *extra = json_array();
    json_object_foreach ((json_t *)seen, key, v) {
        size_t i = 0;
        while (i < nknown && strcmp(known[i], key) != 0)
            i++;
        if (i == nknown)
            json_array_append_new(extra, json_string(key));
    }
    /* jansson's objects keep insertion order: sort the newcomers by name */
    size_t n = json_array_size(extra);
    for (size_t i = 1; i < n; i++) {
        for (size_t k = i; k > 0; k--) {
            const char *a = json_string_value(json_array_get(extra, k - 1));
            const char *b = json_string_value(json_array_get(extra, k));
            if (strcmp(a, b) <= 0)
                break;
            json_t *tmp = json_incref(json_array_get(extra, k));
            json_array_set(extra, k, json_array_get(extra, k - 1));
            json_array_set_new(extra, k - 1, tmp);
        }
    }
    json_array_extend(cols, extra);
    json_decref(extra);
    return cols;
}

static void csv_row(struct buf *b, const char *month, const struct tally *t, const json_t *cols[3])
{
    const json_t *maps[3] = {t->skipped, t->billable, t->free};
    csv_field(b, month);
    buf_append_str(b, ",");
    csv_field(b, t->tenant_id[0] ? t->tenant_id : "total");
    buf_printf(b, ",%lld,%lld,%lld,%lld", t->accepted, t->delivered, t->read, t->failed);
    for (int g = 0; g < 3; g++) {
        size_t i;
        const json_t *k;
        json_array_foreach (cols[g], i, k)
            buf_printf(
                b, ",%lld",
                (long long)json_integer_value(json_object_get(maps[g], json_string_value(k))));
    }
    buf_printf(b, ",%lld.%04lld\r\n", t->cost / 10000, t->cost % 10000);
}

static void reply_csv(struct http_request *req, const char *month, const struct tally *tenants,
                      size_t n, const struct tally *totals)
{
    static const char *const skip_reasons[] = {COMPOSE_SKIP_PLATFORM,  COMPOSE_SKIP_TENANT,
                                               COMPOSE_SKIP_PO,        COMPOSE_SKIP_OPTED_OUT,
                                               COMPOSE_SKIP_NO_SENDER, COMPOSE_SKIP_QUOTA};
    static const char *const categories[] = {"utility", "marketing", "authentication", "service"};
    static const char *const free_types[] = {"free_customer_service", "free_entry_point"};
    static const char *const prefixes[3] = {"skipped_", "billable_", "free_"};
    const json_t *cols[3] = {
        columns(skip_reasons, sizeof skip_reasons / sizeof *skip_reasons, totals->skipped),
        columns(categories, sizeof categories / sizeof *categories, totals->billable),
        columns(free_types, sizeof free_types / sizeof *free_types, totals->free)};
    struct buf b = {0};

    buf_append_str(&b, "month,tenant_id,accepted,delivered,read,failed");
    for (int g = 0; g < 3; g++) {
        size_t i;
        const json_t *k;
        json_array_foreach (cols[g], i, k) {
            char *name = xasprintf("%s%s", prefixes[g], json_string_value(k));
            buf_append_str(&b, ",");
            csv_field(&b, name);
            free(name);
        }
    }
    buf_append_str(&b, ",cost_eur\r\n");
    for (size_t i = 0; i < n; i++)
        csv_row(&b, month, &tenants[i], cols);
    csv_row(&b, month, totals, cols);
    for (int g = 0; g < 3; g++)
        json_decref((json_t *)cols[g]);
    http_reply_bytes(req, 200, "text/csv; charset=utf-8", b.data, b.len);
    buf_free(&b);
}

void handle_usage(struct http_request *req)
{
    const struct notification_config *cfg = &((struct notification_app *)http_app(req))->cfg;
    const char *month = http_query(req, "month");
    const char *asked = http_query(req, "tenant_id");
    char first_day[11], tenant[UUID_STR_LEN];
    struct usage_month m;
    struct tally totals, *tenants = NULL;
    size_t n = 0;

    if (!month_first_day(month, first_day)) {
        http_reply_field_error(req, 422, "validation_error", "month",
                               "month must be a calendar month as YYYY-MM, e.g. 2026-11");
        return;
    }
    if (asked && !uuid_is_valid(asked, tenant)) {
        http_reply_field_error(req, 422, "validation_error", "tenant_id",
                               "tenant_id must be a UUID");
        return;
    }
    enum db_status st =
        usage_store_month(first_day, cfg->billing_timezone, asked ? tenant : NULL, &m);
    if (st != DB_OK) {
        reply_db_failure(req, st, "Reading the usage");
        return;
    }
    /* one tally per tenant (rows come ordered by tenant); a tenant asked for by id has
     * its line even in a month without messages */
    tenants = xcalloc(m.n + 1, sizeof(*tenants));
    tally_init(&totals, "");
    for (size_t i = 0; i < m.n; i++) {
        if (n == 0 || strcmp(tenants[n - 1].tenant_id, m.rows[i].tenant_id) != 0)
            tally_init(&tenants[n++], m.rows[i].tenant_id);
        tally_add(&tenants[n - 1], &m.rows[i]);
        tally_add(&totals, &m.rows[i]);
    }
    if (asked && n == 0)
        tally_init(&tenants[n++], tenant);

    if (wants_csv(http_header(req, "Accept"))) {
        reply_csv(req, month, tenants, n, &totals);
    } else {
        json_t *list = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(list, tally_json(&tenants[i]));
        reply_exact_json(req, 200,
                         json_pack("{s:s, s:s, s:s, s:s, s:o, s:o}", "month", month, "timezone",
                                   cfg->billing_timezone, "currency", "EUR", "rate_card_date",
                                   m.rate_card_date, "tenants", list, "totals",
                                   tally_json(&totals)));
    }
    for (size_t i = 0; i < n; i++)
        tally_free(&tenants[i]);
    free(tenants);
    tally_free(&totals);
    usage_month_free(&m);
}

/* ---------- the rate card ---------- */

static void reply_card(struct http_request *req)
{
    struct usage_card card;
    enum db_status st = usage_store_card(&card);
    if (st != DB_OK) {
        reply_db_failure(req, st, "Reading the rate card");
        return;
    }
    json_t *rates = json_array();
    for (size_t i = 0; i < card.n; i++)
        json_array_append_new(
            rates, json_pack("{s:s, s:s, s:f}", "category", card.rates[i].category, "country",
                             card.rates[i].country, "price", strtod(card.rates[i].price, NULL)));
    reply_exact_json(req, 200,
                     json_pack("{s:s, s:s, s:s, s:o}", "currency", "EUR", "effective_date",
                               card.effective_date, "source", card.source, "rates", rates));
    usage_card_free(&card);
}

void handle_rate_card_get(struct http_request *req)
{
    reply_card(req);
}

/* A price as exact decimal text with 4 places ("0.0615"), from a JSON number; NULL, or
 * what is wrong with it. A real is taken when printing it with 4 places reads back as
 * the same double: below PRICE_MAX that is exact, so 0.00005 is refused. */
static const char *price_text(const json_t *v, char out[32])
{
    if (json_is_integer(v)) {
        json_int_t units = json_integer_value(v);
        if (units < 0)
            return "must not be negative";
        if ((double)units >= PRICE_MAX)
            return "must be below 1000000";
        snprintf(out, 32, "%" JSON_INTEGER_FORMAT ".0000", units);
        return NULL;
    }
    if (!json_is_real(v))
        return "must be a number";
    double d = json_real_value(v);
    if (!isfinite(d) || d >= PRICE_MAX)
        return "must be below 1000000";
    if (d < 0)
        return "must not be negative";
    if (d == 0)
        d = 0; /* -0.0 */
    snprintf(out, 32, "%.4f", d);
    if (strtod(out, NULL) != d)
        return "must have at most 4 decimal places";
    return NULL;
}

static bool known_category(const char *s)
{
    static const char *const categories[] = {"utility", "marketing", "authentication", "service"};
    for (size_t i = 0; i < sizeof categories / sizeof *categories; i++) {
        if (strcmp(s, categories[i]) == 0)
            return true;
    }
    return false;
}

static bool country_code(const char *s)
{
    return strcmp(s, "*") == 0 || (strlen(s) == 2 && isupper((unsigned char)s[0]) &&
                                   isupper((unsigned char)s[1]) && s[0] <= 'Z' && s[1] <= 'Z');
}

/* The rates of a PUT body, checked: on success *out gets n rates whose strings point
 * into list or into prices (the caller frees *out and prices). Otherwise writes the field
 * to blame and why, and returns false. */
static bool take_rates(const json_t *list, struct usage_rate **out, char (**prices)[32], size_t *n,
                       char *field, size_t fieldlen, char *why, size_t whylen)
{
    static const struct json_field fields[] = {{"category", JK_STRING, true, 0},
                                               {"country", JK_STRING, true, 0},
                                               {"price", JK_NUMBER, true, 0}};
    size_t count = json_array_size(list);
    *out = NULL;
    *prices = NULL;
    *n = 0;
    snprintf(field, fieldlen, "rates");
    if (!json_is_array(list)) {
        snprintf(why, whylen, "rates must be an array of {category, country, price}");
        return false;
    }
    if (count == 0 || count > RATES_MAX) {
        snprintf(why, whylen, "rates must list 1 to %d prices", RATES_MAX);
        return false;
    }
    struct usage_rate *rates = xcalloc(count, sizeof(*rates));
    char(*texts)[32] = xcalloc(count, sizeof(*texts));
    for (size_t i = 0; i < count; i++) {
        const json_t *r = json_array_get(list, i);
        const char *key, *problem;
        if (!json_check_object(r, fields, 3, false, &key, &problem)) {
            snprintf(field, fieldlen, "rates[%zu]%s%s", i, key ? "." : "", key ? key : "");
            snprintf(why, whylen, "%s %s", field,
                     key ? problem : "must be an object {category, country, price}");
            goto fail;
        }
        rates[i].category = json_str(r, "category");
        rates[i].country = json_str(r, "country");
        if (!known_category(rates[i].category)) {
            snprintf(field, fieldlen, "rates[%zu].category", i);
            snprintf(why, whylen, "%s must be utility, marketing, authentication or service",
                     field);
            goto fail;
        }
        if (!country_code(rates[i].country)) {
            snprintf(field, fieldlen, "rates[%zu].country", i);
            snprintf(why, whylen,
                     "%s must be a country code of two capital letters (ES) or * for every "
                     "other country",
                     field);
            goto fail;
        }
        problem = price_text(json_object_get(r, "price"), texts[i]);
        if (problem) {
            snprintf(field, fieldlen, "rates[%zu].price", i);
            snprintf(why, whylen, "%s %s (EUR per message)", field, problem);
            goto fail;
        }
        rates[i].price = texts[i];
        for (size_t k = 0; k < i; k++) {
            if (strcmp(rates[k].category, rates[i].category) == 0 &&
                strcmp(rates[k].country, rates[i].country) == 0) {
                snprintf(field, fieldlen, "rates[%zu]", i);
                snprintf(why, whylen, "%s repeats the %s price for %s (rates[%zu])", field,
                         rates[i].category, rates[i].country, k);
                goto fail;
            }
        }
    }
    *out = rates;
    *prices = texts;
    *n = count;
    return true;
fail:
    free(rates);
    free(texts);
    return false;
}

static bool plain_text(const char *s)
{
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c < 0x20 || *c == 0x7f)
            return false;
    }
    return *s != '\0';
}

void handle_rate_card_put(struct http_request *req)
{
    static const struct json_field fields[] = {{"rates", JK_ANY, true, 0},
                                               {"effective_date", JK_STRING, false, 0},
                                               {"source", JK_STRING, false, SOURCE_MAX},
                                               {"currency", JK_STRING, false, 0}};
    const struct notification_config *cfg = &((struct notification_app *)http_app(req))->cfg;
    const struct auth_principal *who = http_principal(req);
    struct usage_rate *rates = NULL;
    char(*prices)[32] = NULL;
    char field[48], why[256], *source = NULL;
    const char *key, *problem;
    size_t n = 0;
    json_t *body = http_body_object(req);

    if (!body)
        return;
    if (!json_check_object(body, fields, sizeof fields / sizeof *fields, false, &key, &problem)) {
        http_reply_field_error(req, 422, "validation_error", key ? key : "body", "%s %s",
                               key ? key : "body", problem);
        goto out;
    }
    const char *currency = json_str(body, "currency");
    const char *date = json_str(body, "effective_date");
    const char *given = json_str(body, "source");
    if (currency && strcmp(currency, "EUR") != 0) {
        http_reply_field_error(req, 422, "validation_error", "currency",
                               "currency must be EUR: the card prices in euros");
        goto out;
    }
    if (date && !is_date(date)) {
        http_reply_field_error(req, 422, "validation_error", "effective_date",
                               "effective_date must be a date as YYYY-MM-DD");
        goto out;
    }
    if (given && !plain_text(given)) {
        http_reply_field_error(req, 422, "validation_error", "source",
                               "source must be a non-empty text without control characters");
        goto out;
    }
    if (!take_rates(json_object_get(body, "rates"), &rates, &prices, &n, field, sizeof field, why,
                    sizeof why)) {
        http_reply_field_error(req, 422, "validation_error", field, "%s", why);
        goto out;
    }
    source = given ? xstrdup(given) : xasprintf("set through the API by %s", who->sub);
    enum db_status st =
        usage_store_card_replace(rates, n, date, source, who->sub, cfg->billing_timezone);
    if (st != DB_OK) {
        reply_db_failure(req, st, "Replacing the rate card");
        goto out;
    }
    log_info("rate card replaced\tactor=\"%s\" rates=%zu effective_date=%s", who->sub, n,
             date ? date : "today");
    reply_card(req);
out:
    free(source);
    free(rates);
    free(prices);
    json_decref(body);
}
