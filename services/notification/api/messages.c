/* messages.c - GET /api/v1/whatsapp/messages (filters, keyset paging) and
 * GET /api/v1/whatsapp/messages/{id}. Platform admins and services see every tenant; a
 * tenant's user sees only its own tenant's messages. */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "api/handlers.h"
#include "api/store.h"
#include "uuidutil.h"

#define LIST_DEFAULT_LIMIT 50
#define LIST_MAX_LIMIT 500
#define TIME_TEXT_MAX 96 /* generous: the compiler cannot bound the fields */

static const char *const statuses[] = {"queued", "sending", "sent",    "delivered",
                                       "read",   "failed",  "skipped", "canceled"};

/* Reads exactly n digits at *p into *out and advances past them. */
static bool digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return false;
        v = v * 10 + (c - '0');
    }
    *p += n;
    *out = v;
    return true;
}

static bool expect(const char **p, const char *any_of)
{
    if (**p == '\0' || !strchr(any_of, **p))
        return false;
    (*p)++;
    return true;
}

static int days_in_month(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month - 1];
}

/* Parses an ISO 8601 date ("2024-01-17") or date-time ("2024-01-17T10:00",
 * "2024-01-17T10:00:00.123456Z", "...+01:00") and writes it into out in a form
 * PostgreSQL reads exactly. Without an offset the time is UTC. A space where the offset's
 * '+' belongs is taken as '+': query strings decode '+' to a space. */
static bool iso8601_parse(const char *s, char out[TIME_TEXT_MAX])
{
    int year, month, day, hour = 0, minute = 0, second = 0, off_h = 0, off_m = 0;
    char frac[7] = "000000";
    char sign = '+';
    const char *p = s;

    if (!s || !digits(&p, 4, &year) || !expect(&p, "-") || !digits(&p, 2, &month) ||
        !expect(&p, "-") || !digits(&p, 2, &day))
        return false;
    if (year < 1 || month < 1 || month > 12 || day < 1 || day > days_in_month(year, month))
        return false;
    if (*p && expect(&p, "Tt ")) {
        if (!digits(&p, 2, &hour) || !expect(&p, ":") || !digits(&p, 2, &minute))
            return false;
        if (*p == ':') {
            p++;
            if (!digits(&p, 2, &second))
                return false;
        }
        if (*p == '.' || *p == ',') {
            p++;
            size_t n = strspn(p, "0123456789");
            if (n == 0 || n > 9)
                return false;
            memcpy(frac, p, n < 6 ? n : 6);
            p += n;
        }
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-' || *p == ' ') {
            sign = *p == '-' ? '-' : '+';
            p++;
            if (!digits(&p, 2, &off_h))
                return false;
            bool colon = *p == ':';
            if (colon)
                p++;
            if ((colon || *p) && !digits(&p, 2, &off_m))
                return false;
        }
    }
    if (*p || hour > 23 || minute > 59 || second > 59 || off_h > 15 || off_m > 59)
        return false;
    snprintf(out, TIME_TEXT_MAX, "%04d-%02d-%02dT%02d:%02d:%02d.%s%c%02d:%02d", year, month, day,
             hour, minute, second, frac, sign, off_h, off_m);
    return true;
}

bool scope_tenant(struct http_request *req, const char *asked, char out[UUID_STR_LEN],
                  const char **tenant)
{
    const struct auth_principal *p = http_principal(req);

    *tenant = NULL;
    if (asked && !uuid_is_valid(asked, out)) {
        http_reply_field_error(req, 422, "validation_error", "tenant_id",
                               "tenant_id must be a UUID");
        return false;
    }
    if (p->role == AUTH_ROLE_USER) {
        if (asked && strcmp(out, p->tenant_id) != 0) {
            http_reply_error(req, 403, "forbidden", "You may only read your own tenant's messages");
            return false;
        }
        snprintf(out, UUID_STR_LEN, "%s", p->tenant_id);
    }
    if (asked || p->role == AUTH_ROLE_USER)
        *tenant = out;
    return true;
}

/* A cursor is "<created_at>_<id>" of the last message of the previous page. */
static bool parse_cursor(const char *cursor, char at[TIME_TEXT_MAX], char id[UUID_STR_LEN])
{
    const char *sep = strrchr(cursor, '_');
    char time_part[TIME_TEXT_MAX];
    if (!sep || (size_t)(sep - cursor) >= sizeof time_part)
        return false;
    memcpy(time_part, cursor, (size_t)(sep - cursor));
    time_part[sep - cursor] = '\0';
    return iso8601_parse(time_part, at) && uuid_is_valid(sep + 1, id);
}

void handle_messages_list(struct http_request *req)
{
    char tenant_buf[UUID_STR_LEN], since[TIME_TEXT_MAX], before_at[TIME_TEXT_MAX];
    char before_id[UUID_STR_LEN];
    struct store_message_filter f = {.limit = LIST_DEFAULT_LIMIT};
    json_t *rows = NULL;
    long limit = LIST_DEFAULT_LIMIT;

    if (!scope_tenant(req, http_query(req, "tenant_id"), tenant_buf, &f.tenant_id))
        goto out;
    f.status = http_query(req, "status");
    if (f.status) {
        size_t i = 0;
        while (i < sizeof statuses / sizeof statuses[0] && strcmp(statuses[i], f.status) != 0)
            i++;
        if (i == sizeof statuses / sizeof statuses[0]) {
            http_reply_field_error(req, 422, "validation_error", "status",
                                   "status must be one of queued, sending, sent, delivered, "
                                   "read, failed, skipped, canceled");
            goto out;
        }
    }
    const char *s = http_query(req, "since");
    if (s && !iso8601_parse(s, since)) {
        http_reply_field_error(req, 422, "validation_error", "since",
                               "since must be an ISO 8601 date or date-time, e.g. "
                               "2024-01-17T10:00:00Z");
        goto out;
    }
    f.since = s ? since : NULL;
    s = http_query(req, "limit");
    if (s && !cfg_parse_long(s, 1, LIST_MAX_LIMIT, &limit)) {
        http_reply_field_error(req, 422, "validation_error", "limit",
                               "limit must be an integer from 1 to %d", LIST_MAX_LIMIT);
        goto out;
    }
    s = http_query(req, "cursor");
    if (s && !parse_cursor(s, before_at, before_id)) {
        http_reply_field_error(req, 422, "validation_error", "cursor",
                               "cursor must be a next_cursor value of a previous page");
        goto out;
    }
    f.before_at = s ? before_at : NULL;
    f.before_id = s ? before_id : NULL;
    f.limit = limit + 1; /* one more tells whether there is a next page */

    enum db_status st = store_message_list(&f, &rows);
    if (st != DB_OK) {
        reply_db_failure(req, st, "Reading the messages");
        goto out;
    }
    json_t *next = json_null();
    if (json_array_size(rows) > (size_t)limit) {
        json_array_remove(rows, (size_t)limit);
        const json_t *last = json_array_get(rows, (size_t)limit - 1);
        char cursor[TIME_TEXT_MAX + UUID_STR_LEN + 1];
        snprintf(cursor, sizeof cursor, "%s_%s",
                 json_string_value(json_object_get(last, "created_at")),
                 json_string_value(json_object_get(last, "id")));
        json_decref(next);
        next = json_string(cursor);
    }
    http_reply_json(req, 200,
                    json_pack("{s:O, s:I, s:o}", "messages", rows, "count",
                              (json_int_t)json_array_size(rows), "next_cursor", next));
out:
    json_decref(rows);
}

void handle_message_get(struct http_request *req)
{
    char id[UUID_STR_LEN];
    const struct auth_principal *p = http_principal(req);
    json_t *msg = NULL;

    /* An id that is not a UUID names no message: 404, like another tenant's message. */
    if (!uuid_is_valid(http_param(req, "id"), id)) {
        http_reply_error(req, 404, "not_found", "No such message");
        return;
    }
    const char *tenant = p->role == AUTH_ROLE_USER ? p->tenant_id : NULL;
    enum db_status st = store_message_get(id, tenant, &msg);
    if (st != DB_OK)
        reply_db_failure(req, st, "Reading the message");
    else if (!msg)
        http_reply_error(req, 404, "not_found", "No such message");
    else
        http_reply_json(req, 200, msg);
}
