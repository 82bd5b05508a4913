/* settings_feed.c - GET /api/v1/internal/settings-changes: the change feed that keeps
 * every notification-service instance's settings cache current (migration 0003).
 *
 * A follower asks for the changes after the last position it has seen; with wait_ms the
 * request is parked until something newer is committed (any instance's change, heard
 * through LISTEN by settings_listener.c) or the wait is over, so a change reaches the
 * followers within milliseconds while an idle follower costs one request per wait. */
#include <limits.h>
#include <string.h>

#include "app.h"
#include "config.h"
#include "handlers.h"
#include "jsonutil.h"
#include "settings_listener.h"

#define FEED_LIMIT_DEFAULT 500
#define FEED_LIMIT_MAX 1000
#define FEED_WAIT_MAX_MS 30000
#define FEED_TENANTS_MAX 100

/* The tenant ids of "a,b,c" in canonical form; false when one is not a UUID. */
static bool parse_tenants(const char *list, char ids[][UUID_STR_LEN], size_t *n)
{
    *n = 0;
    while (list && *list) {
        size_t len = strcspn(list, ",");
        char one[UUID_STR_LEN + 1];
        if (len >= sizeof one || *n == FEED_TENANTS_MAX)
            return false;
        memcpy(one, list, len);
        one[len] = '\0';
        if (!uuid_is_valid(one, ids[*n]))
            return false;
        (*n)++;
        list += len;
        if (*list == ',')
            list++;
    }
    return true;
}

/* An optional integer query argument in [min, max]; replies 422 and returns false when
 * it is present and not such a number. */
static bool query_long(struct http_request *req, const char *key, long min, long max, long *out,
                       bool *present)
{
    const char *v = http_query(req, key);
    *present = v && *v;
    if (!*present || cfg_parse_long(v, min, max, out))
        return true;
    http_reply_field_error(req, 422, "validation_error", key,
                           "%s must be an integer from %ld to %ld", key, min, max);
    return false;
}

void handle_settings_changes(struct http_request *req)
{
    char ids[FEED_TENANTS_MAX][UUID_STR_LEN];
    const char *id_ptrs[FEED_TENANTS_MAX];
    size_t n = 0;
    long after = 0, wait_ms = 0, limit = FEED_LIMIT_DEFAULT;
    bool has_after, has_wait, has_limit;
    json_t *doc = NULL;

    if (!query_long(req, "after", 0, LONG_MAX, &after, &has_after) ||
        !query_long(req, "wait_ms", 0, FEED_WAIT_MAX_MS, &wait_ms, &has_wait) ||
        !query_long(req, "limit", 1, FEED_LIMIT_MAX, &limit, &has_limit))
        return;
    if (!parse_tenants(http_query(req, "tenant_id"), ids, &n)) {
        http_reply_field_error(req, 422, "validation_error", "tenant_id",
                               "tenant_id must be a comma-separated list of at most %d tenant "
                               "ids (UUIDs)",
                               FEED_TENANTS_MAX);
        return;
    }
    for (size_t i = 0; i < n; i++)
        id_ptrs[i] = ids[i];
    long long after_ll = after;
    enum store_status st =
        store_settings_changes(has_after ? &after_ll : NULL, limit, id_ptrs, n, &doc);
    if (st != STORE_OK) {
        reply_store_failure(req, st);
        return;
    }
    json_int_t position = json_integer_value(json_object_get(doc, "position"));
    const json_t *changes = json_object_get(doc, "changes");
    size_t nchanges = json_array_size(changes);
    /* A follower ahead of us saw numbers this database never gave: it was restored or
     * rebuilt, and the follower must start over. */
    bool reset = has_after && after > position;
    bool more = nchanges == (size_t)limit;
    if (more)
        position =
            json_integer_value(json_object_get(json_array_get(changes, nchanges - 1), "seq"));
    /* Without after there is nothing to wait for: the position is the answer. */
    if (has_after && !reset && nchanges == 0 && n == 0 && wait_ms > 0 && !http_park_expired(req)) {
        json_decref(doc);
        http_park(req, SETTINGS_TOPIC, http_started_ms(req) + wait_ms);
        return;
    }
    json_object_set_new(doc, "position", json_integer(position));
    json_object_set_new(doc, "more", json_boolean(more));
    json_object_set_new(doc, "reset", json_boolean(reset));
    http_reply_json(req, 200, doc);
}
