/* tenant_settings.c - a hash of tenant id to settings with fetch times, filled over HTTP
 * from tenant-service. */
#include "tenant_settings.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "auth.h"
#include "httpclient.h"
#include "log.h"
#include "monotonic.h"
#include "uuidutil.h"

#define TOKEN_TTL_S 3600
#define TOKEN_RENEW_S 600 /* re-mint when less than this is left */
#define DOWN_BACKOFF_MS 1000
#define MIN_BUCKETS 64
#define MAX_ENTRIES 200000 /* past this, entries older than the TTL are dropped */

struct entry {
    struct entry *next;
    char tenant_id[UUID_STR_LEN];
    bool known; /* false: tenant-service said 404 */
    int64_t fetched_ms;
    struct tenant_settings settings;
};

struct tenant_settings_cache {
    char *base_url;                 /* without a trailing '/' */
    const struct auth_policy *auth; /* borrowed: signs the service token */
    int64_t ttl_ms;
    long timeout_ms;
    char *token;
    int64_t token_expires_ms;
    int64_t down_until_ms; /* after a failure, do not ask before this */
    bool down_logged;
    struct entry **buckets;
    size_t nbuckets, count;
};

static size_t bucket_of(const struct tenant_settings_cache *c, const char *id)
{
    uint64_t h = 14695981039346656037ULL; /* FNV-1a */
    for (const char *s = id; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return (size_t)(h & (c->nbuckets - 1));
}

struct tenant_settings_cache *tenant_settings_new(const char *base_url,
                                                  const struct auth_policy *auth, long ttl_seconds,
                                                  long timeout_ms)
{
    struct tenant_settings_cache *c = xcalloc(1, sizeof(*c));
    size_t n = strlen(base_url);
    while (n > 0 && base_url[n - 1] == '/')
        n--;
    c->base_url = xstrndup(base_url, n);
    c->auth = auth;
    c->ttl_ms = (int64_t)ttl_seconds * 1000;
    c->timeout_ms = timeout_ms;
    c->nbuckets = MIN_BUCKETS;
    c->buckets = xcalloc(c->nbuckets, sizeof(*c->buckets));
    return c;
}

void tenant_settings_free(struct tenant_settings_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nbuckets; i++) {
        for (struct entry *e = c->buckets[i], *next; e; e = next) {
            next = e->next;
            free(e);
        }
    }
    free(c->buckets);
    free(c->token);
    free(c->base_url);
    free(c);
}

static struct entry *find(const struct tenant_settings_cache *c, const char *id)
{
    for (struct entry *e = c->buckets[bucket_of(c, id)]; e; e = e->next) {
        if (strcmp(e->tenant_id, id) == 0)
            return e;
    }
    return NULL;
}

/* Drops entries older than the TTL (they would be refetched anyway). */
static void sweep(struct tenant_settings_cache *c, int64_t now)
{
    for (size_t i = 0; i < c->nbuckets; i++) {
        for (struct entry **link = &c->buckets[i]; *link;) {
            struct entry *e = *link;
            if (now - e->fetched_ms >= c->ttl_ms) {
                *link = e->next;
                free(e);
                c->count--;
            } else {
                link = &e->next;
            }
        }
    }
}

static void grow(struct tenant_settings_cache *c)
{
    size_t old_n = c->nbuckets;
    struct entry **old = c->buckets;
    c->nbuckets = old_n * 2;
    c->buckets = xcalloc(c->nbuckets, sizeof(*c->buckets));
    for (size_t i = 0; i < old_n; i++) {
        for (struct entry *e = old[i], *next; e; e = next) {
            next = e->next;
            size_t b = bucket_of(c, e->tenant_id);
            e->next = c->buckets[b];
            c->buckets[b] = e;
        }
    }
    free(old);
}

static struct entry *insert(struct tenant_settings_cache *c, const char *id, int64_t now)
{
    if (c->count >= MAX_ENTRIES)
        sweep(c, now);
    if (c->count + 1 > c->nbuckets)
        grow(c);
    struct entry *e = xcalloc(1, sizeof(*e));
    snprintf(e->tenant_id, sizeof e->tenant_id, "%s", id);
    size_t b = bucket_of(c, id);
    e->next = c->buckets[b];
    c->buckets[b] = e;
    c->count++;
    return e;
}

/* The service token, minted again when close to expiry. NULL when minting fails. */
static const char *service_token(struct tenant_settings_cache *c, int64_t now)
{
    if (c->token && now < c->token_expires_ms - (int64_t)TOKEN_RENEW_S * 1000)
        return c->token;
    struct auth_principal p;
    memset(&p, 0, sizeof p);
    p.role = AUTH_ROLE_SERVICE;
    snprintf(p.sub, sizeof p.sub, "notification-service");
    long ttl = auth_ttl_within(c->auth, TOKEN_TTL_S);
    char *token = auth_mint(c->auth, &p, ttl);
    if (!token) {
        log_error("cannot mint the service token for tenant-service");
        return NULL;
    }
    free(c->token);
    c->token = token;
    c->token_expires_ms = now + (int64_t)ttl * 1000;
    return c->token;
}

static bool all_digits(const char *s, size_t max)
{
    size_t n = strspn(s, "0123456789");
    return n > 0 && n <= max && s[n] == '\0';
}

static bool valid_language(const char *s)
{
    size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_-");
    return n >= 2 && n < TENANT_LANGUAGE_MAX && s[n] == '\0';
}

static bool bool_key(const json_t *obj, const char *key, bool def)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_boolean(v) ? json_is_true(v) : def;
}

/* DESIGN.md section 3's keys, defaults for absent or mistyped ones. */
static void parse(const json_t *obj, struct tenant_settings *out)
{
    memset(out, 0, sizeof(*out));
    out->whatsapp_enabled = bool_key(obj, "whatsapp_enabled", false);
    out->po_notifications_enabled = bool_key(obj, "enable_po_notifications", true);
    const char *phone = json_string_value(json_object_get(obj, "whatsapp_phone_number_id"));
    if (phone && *phone) {
        if (all_digits(phone, TENANT_PHONE_ID_MAX - 1))
            snprintf(out->phone_number_id, sizeof out->phone_number_id, "%s", phone);
        else
            out->phone_number_id_invalid = true;
    }
    const char *language = json_string_value(json_object_get(obj, "whatsapp_default_language"));
    snprintf(out->language, sizeof out->language, "%s",
             language && valid_language(language) ? language : "es");
}

/* Asks tenant-service. Returns the status; fills e (creating it) on OK and UNKNOWN. */
static enum tenant_settings_status fetch(struct tenant_settings_cache *c, const char *id,
                                         int64_t now, struct entry **e)
{
    enum tenant_settings_status st = TENANT_SETTINGS_UNAVAILABLE;
    struct httpc_result res;
    char *url = xasprintf("%s/api/v1/tenants/%s/settings/notifications", c->base_url, id);
    const char *token = service_token(c, now);

    memset(&res, 0, sizeof res);
    if (!token)
        goto out;
    if (httpc_json("GET", url, token, NULL, c->timeout_ms, &res) != 0) {
        if (!c->down_logged)
            log_warn("tenant-service unreachable; messages wait\terror=\"%s\"", res.error);
        c->down_logged = true;
        goto out;
    }
    if (res.status == 200 && json_is_object(res.json)) {
        st = TENANT_SETTINGS_OK;
    } else if (res.status == 404) {
        st = TENANT_SETTINGS_UNKNOWN;
    } else {
        if (!c->down_logged)
            log_warn("tenant-service refused the settings read; messages wait\tstatus=%ld",
                     res.status);
        c->down_logged = true;
        goto out;
    }
    if (c->down_logged)
        log_info("tenant-service answers again");
    c->down_logged = false;
    if (!*e)
        *e = insert(c, id, now);
    (*e)->known = st == TENANT_SETTINGS_OK;
    (*e)->fetched_ms = now;
    if (st == TENANT_SETTINGS_OK)
        parse(res.json, &(*e)->settings);
out:
    if (st == TENANT_SETTINGS_UNAVAILABLE)
        c->down_until_ms = now + DOWN_BACKOFF_MS;
    httpc_result_free(&res);
    free(url);
    return st;
}

enum tenant_settings_status tenant_settings_get(struct tenant_settings_cache *c,
                                                const char *tenant_id, struct tenant_settings *out)
{
    int64_t now = monotonic_ms();
    struct entry *e = find(c, tenant_id);
    bool fresh = e && now - e->fetched_ms < c->ttl_ms;
    enum tenant_settings_status st = TENANT_SETTINGS_UNAVAILABLE;

    if (!fresh && now >= c->down_until_ms)
        st = fetch(c, tenant_id, now, &e);
    if (fresh || (st == TENANT_SETTINGS_UNAVAILABLE && e)) /* cached, or stale-if-error */
        st = e->known ? TENANT_SETTINGS_OK : TENANT_SETTINGS_UNKNOWN;
    if (st == TENANT_SETTINGS_OK)
        *out = e->settings;
    return st;
}
