/* waba.c - read-only views of the master WABA for tenant-service and operators:
 * GET /api/v1/whatsapp/phone-numbers, /templates and /config-status, and the lists
 * behind GET /api/v1/whatsapp/health (api/health.c). Graph lists are read page by page,
 * cached for PHONE_NUMBERS_CACHE_SECONDS (Meta allows few management calls per hour) and
 * served stale when Graph fails. One read asks for every field any of these answers
 * needs, so the lists and the health share it. The access token is sent only to the
 * configured Graph base URL and never appears in a log line or an answer. */
#include "api/waba.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "api/handlers.h"
#include "api/store.h"
#include "jsonutil.h"
#include "graph/probe.h"
#include "graph/version.h"
#include "httpclient.h"
#include "log.h"
#include "monotonic.h"
#include "outbox/pause.h"
#include "periodic.h"
#include "outbox/wakeup.h"

#define GRAPH_PAGE_LIMIT 100
#define GRAPH_PAGES_MAX 50 /* 5,000 items: far beyond 120 numbers or any template list */

/* A value kept from each Graph item under name: the item's field, or the key sub of it
 * when Graph nests the value (throughput.level). Strings and integers are kept, anything
 * else becomes null, so every kept item has every name. */
struct graph_key {
    const char *name;
    const char *field;
    const char *sub;
    bool listed; /* part of the list endpoint's answer (docs/openapi.yaml); the rest is
                    for the health */
};

/* A Graph list edge of the WABA and its cache. */
struct graph_list {
    const char *edge;             /* "phone_numbers" */
    const struct graph_key *keys; /* keys[0] is required and must be a string */
    size_t nkeys;
    pthread_mutex_t lock;       /* guards data and fetched_at_ms */
    pthread_mutex_t fetch_lock; /* one fetch at a time */
    json_t *data;               /* the last complete list (kept items), or NULL */
    int64_t fetched_at_ms;      /* monotonic */
};

/* Meta answers an unknown field with error 100, so only fields its phone-number and
 * template nodes document are asked for (docs/graph-sim.md lists what graph-sim has). */
static const struct graph_key phone_keys[] = {
    {"id", "id", NULL, true},
    {"display_phone_number", "display_phone_number", NULL, true},
    {"verified_name", "verified_name", NULL, true},
    {"quality_rating", "quality_rating", NULL, true},
    {"status", "status", NULL, false},
    {"name_status", "name_status", NULL, false},
    {"throughput_level", "throughput", "level", false},
    {"can_send_message", "health_status", "can_send_message", false},
    /* the business portfolio's, the same on every number */
    {"messaging_limit", "whatsapp_business_manager_messaging_limit", NULL, false},
};
static const struct graph_key template_keys[] = {
    {"name", "name", NULL, true},
    {"language", "language", NULL, true},
    {"status", "status", NULL, true},
    {"category", "category", NULL, true},
    {"id", "id", NULL, false},
    {"quality", "quality_score", "score", false},
    {"message_send_ttl_seconds", "message_send_ttl_seconds", NULL, false},
    {"rejected_reason", "rejected_reason", NULL, false},
};
#define NKEYS(k) (sizeof(k) / sizeof((k)[0]))

static struct graph_list phone_numbers = {
    "phone_numbers",
    phone_keys,
    NKEYS(phone_keys),
    PTHREAD_MUTEX_INITIALIZER,
    PTHREAD_MUTEX_INITIALIZER,
    NULL,
    0,
};
static struct graph_list templates = {
    "message_templates",
    template_keys,
    NKEYS(template_keys),
    PTHREAD_MUTEX_INITIALIZER,
    PTHREAD_MUTEX_INITIALIZER,
    NULL,
    0,
};

static const struct {
    const char *name;
    size_t offset;
} credentials[] = {
    {"WHATSAPP_BUSINESS_ACCOUNT_ID", offsetof(struct notification_config, business_account_id)},
    {"WHATSAPP_ACCESS_TOKEN", offsetof(struct notification_config, access_token)},
    {"WHATSAPP_PHONE_NUMBER_ID", offsetof(struct notification_config, default_phone_number_id)},
};

json_t *graph_missing_credentials(const struct notification_config *cfg)
{
    json_t *missing = json_array();
    for (size_t i = 0; i < sizeof credentials / sizeof credentials[0]; i++) {
        const char *v = *(const char *const *)((const char *)cfg + credentials[i].offset);
        if (!v || !*v)
            json_array_append_new(missing, json_string(credentials[i].name));
    }
    return missing;
}

bool graph_credentials_configured(const struct notification_config *cfg)
{
    json_t *missing = graph_missing_credentials(cfg);
    bool ok = json_array_size(missing) == 0;
    json_decref(missing);
    return ok;
}

json_t *pause_json(const struct pause_state *p)
{
    return json_pack("{s:o, s:s, s:o, s:s}", "code",
                     p->code >= 0 ? json_integer(p->code) : json_null(), "reason", p->reason,
                     "since", json_time_ms(p->since_ms), "source", pause_source_name(p->source));
}

/* Writes Meta's error message of a non-200 answer into err, or a stand-in when the
 * message would repeat the token. */
static void graph_error_text(const struct httpc_result *res, const char *token, char *err,
                             size_t errlen)
{
    const char *meta =
        json_string_value(json_object_get(json_object_get(res->json, "error"), "message"));
    if (meta && *token && strstr(meta, token))
        snprintf(err, errlen,
                 "Graph API error (HTTP %ld; its message is withheld: it quotes "
                 "the access token)",
                 res->status);
    else if (meta)
        snprintf(err, errlen, "%s", meta);
    else
        snprintf(err, errlen, "Graph API answered HTTP %ld", res->status);
}

/* The keys of list kept from one Graph item, nested values flattened, or NULL when the
 * item lacks its identifying first key. Returns a new reference. */
static json_t *pick(const struct graph_list *list, const json_t *item)
{
    if (!json_is_string(json_object_get(item, list->keys[0].field)))
        return NULL;
    json_t *out = json_object();
    for (size_t i = 0; i < list->nkeys; i++) {
        const struct graph_key *k = &list->keys[i];
        const json_t *v = json_object_get(item, k->field);
        if (k->sub)
            v = json_object_get(v, k->sub);
        json_t *kept = json_is_string(v)    ? json_string(json_string_value(v))
                       : json_is_integer(v) ? json_integer(json_integer_value(v))
                                            : json_null();
        json_object_set_new(out, k->name, kept);
    }
    return out;
}

/* The fields argument that asks for every key of list ("id,throughput,..."); the caller
 * frees it. */
static char *fields_of(const struct graph_list *list)
{
    struct buf b = {0};
    for (size_t i = 0; i < list->nkeys; i++)
        buf_printf(&b, "%s%s", i ? "," : "", list->keys[i].field);
    return buf_steal(&b);
}

/* Reads every page of list's edge into a new array in *out, each request allowed
 * timeout_ms, following paging.next only while it stays under base. Returns 0, or -1
 * with a reason for the caller in err. */
static int fetch_all(const struct notification_config *cfg, const struct graph_list *list,
                     long timeout_ms, json_t **out, char *err, size_t errlen)
{
    int rc = -1;
    struct httpc_result res = {0};
    json_t *items = json_array();
    size_t blen = strlen(cfg->graph_base_url); /* CFG_URL: no trailing '/' */
    char *waba = curl_easy_escape(NULL, cfg->business_account_id, 0);
    char *url = NULL;
    char *fields = fields_of(list);

    if (!waba) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    url = xasprintf("%s/%s/%s/%s?fields=%s&limit=%d", cfg->graph_base_url, cfg->api_version, waba,
                    list->edge, fields, GRAPH_PAGE_LIMIT);
    for (int page = 0;; page++) {
        if (page == GRAPH_PAGES_MAX) {
            snprintf(err, errlen, "Graph API list has more than %d pages", GRAPH_PAGES_MAX);
            goto out;
        }
        httpc_result_free(&res);
        if (httpc_json("GET", url, cfg->access_token, NULL, timeout_ms, &res) != 0) {
            snprintf(err, errlen, "Graph API unreachable: %s", res.error);
            goto out;
        }
        if (res.status != 200) {
            graph_error_text(&res, cfg->access_token, err, errlen);
            goto out;
        }
        const json_t *data = json_object_get(res.json, "data");
        if (!json_is_array(data)) {
            snprintf(err, errlen, "Graph API answered without a data list");
            goto out;
        }
        size_t i;
        const json_t *item;
        json_array_foreach (data, i, item) {
            json_t *kept = pick(list, item);
            if (kept)
                json_array_append_new(items, kept);
            else
                log_warn("graph item skipped\tedge=%s page=%d index=%zu reason=\"no %s\"",
                         list->edge, page, i, list->keys[0].field);
        }
        const char *next =
            json_string_value(json_object_get(json_object_get(res.json, "paging"), "next"));
        if (!next)
            break;
        /* The link carries the token's authority: follow it only to the configured host. */
        if (strncmp(next, cfg->graph_base_url, blen) != 0 || next[blen] != '/') {
            log_warn("graph paging link refused: it leaves GRAPH_API_BASE_URL\tedge=%s",
                     list->edge);
            snprintf(err, errlen, "Graph API paging link leaves the configured base URL");
            goto out;
        }
        free(url);
        url = xstrdup(next);
    }
    *out = items;
    items = NULL;
    rc = 0;
out:
    httpc_result_free(&res);
    json_decref(items);
    free(url);
    free(fields);
    curl_free(waba);
    return rc;
}

/* A copy of the cached list while it is younger than ttl_ms (any age when ttl_ms is
 * negative), else NULL. */
static json_t *cached_copy(struct graph_list *list, int64_t ttl_ms)
{
    json_t *copy = NULL;
    pthread_mutex_lock(&list->lock);
    if (list->data && (ttl_ms < 0 || monotonic_ms() - list->fetched_at_ms < ttl_ms))
        copy = json_deep_copy(list->data);
    pthread_mutex_unlock(&list->lock);
    return copy;
}

/* Returns a new reference to a copy of the list: cached while fresh, fetched when not
 * (unless rd->cache_only), the stale copy when the fetch fails or is not made. NULL when
 * there is nothing to serve. Fills rd->cache and, when Graph failed, rd->error. */
static json_t *cached_list(const struct notification_config *cfg, struct graph_list *list,
                           struct waba_read *rd)
{
    json_t *fresh = NULL;
    int64_t ttl_ms = (int64_t)cfg->phone_cache_seconds * 1000;

    rd->cache = "hit";
    rd->error[0] = '\0';
    json_t *copy = cached_copy(list, ttl_ms);
    if (copy)
        return copy;
    if (rd->cache_only) {
        copy = cached_copy(list, -1);
        rd->cache = copy ? "stale" : NULL;
        return copy;
    }
    /* One fetch at a time; the requests that waited find the list it got. */
    pthread_mutex_lock(&list->fetch_lock);
    copy = cached_copy(list, ttl_ms);
    if (copy)
        goto out;
    int rc = fetch_all(cfg, list, rd->timeout_ms, &fresh, rd->error, sizeof rd->error);
    pthread_mutex_lock(&list->lock);
    if (rc == 0) {
        json_decref(list->data);
        list->data = fresh;
        list->fetched_at_ms = monotonic_ms();
        rd->cache = "miss";
    } else if (list->data) {
        rd->cache = "stale";
        log_warn("graph list stale: serving the cached copy\tedge=%s error=\"%s\"", list->edge,
                 rd->error);
    } else {
        rd->cache = NULL;
        log_warn("graph list unavailable\tedge=%s error=\"%s\"", list->edge, rd->error);
    }
    if (list->data)
        copy = json_deep_copy(list->data);
    pthread_mutex_unlock(&list->lock);
out:
    pthread_mutex_unlock(&list->fetch_lock);
    return copy;
}

static void expire(struct graph_list *list)
{
    pthread_mutex_lock(&list->lock);
    list->fetched_at_ms = INT64_MIN / 2; /* expired; still the copy served on failure */
    pthread_mutex_unlock(&list->lock);
}

void waba_messaging_limit_report(long limit, const char *source)
{
    bool changed;
    if (store_messaging_limit_report(limit, source, &changed) != DB_OK)
        log_warn("messaging limit not recorded: the database failed\tlimit=%ld source=%s", limit,
                 source);
    else if (changed)
        log_info("messaging limit of the business portfolio\tlimit=%ld source=%s (0: unlimited)",
                 limit, source);
}

/* The unique recipients a tier of whatsapp_business_manager_messaging_limit stands for
 * (0: unlimited), or -1 for a name Meta does not document. */
static long tier_limit(const char *tier)
{
    static const struct {
        const char *name;
        long limit;
    } tiers[] = {
        {"TIER_250", 250},     {"TIER_2K", 2000},     {"TIER_10K", 10000},
        {"TIER_100K", 100000}, {"TIER_UNLIMITED", 0},
    };
    for (size_t i = 0; i < sizeof tiers / sizeof tiers[0]; i++)
        if (strcmp(tier, tiers[i].name) == 0)
            return tiers[i].limit;
    return -1;
}

/* Records the messaging limit of a list Graph has just given (every number carries the
 * business portfolio's). */
static void report_limit(const json_t *numbers)
{
    size_t i;
    const json_t *item;
    json_array_foreach (numbers, i, item) {
        const char *tier = json_string_value(json_object_get(item, "messaging_limit"));
        if (!tier)
            continue;
        long limit = tier_limit(tier);
        if (limit < 0)
            log_warn("messaging limit not understood: the last one is kept\ttier=\"%s\"", tier);
        else
            waba_messaging_limit_report(limit, "phone-number read");
        return;
    }
}

json_t *waba_phone_numbers(const struct notification_config *cfg, struct waba_read *rd)
{
    json_t *numbers = cached_list(cfg, &phone_numbers, rd);
    if (numbers && rd->cache && strcmp(rd->cache, "miss") == 0)
        report_limit(numbers);
    return numbers;
}

/* ---------- the periodic read of the messaging limit ---------- */

#define LIMIT_READ_EVERY_MS (15 * 60 * 1000) /* a change comes by webhook as well */

static struct periodic *limit_reads;

static void read_limit(void *arg)
{
    const struct notification_config *cfg = arg;
    char tier[32], why[512];
    if (!graph_read_messaging_limit(cfg->graph_base_url, cfg->api_version,
                                    cfg->default_phone_number_id, cfg->access_token,
                                    cfg->graph_timeout_ms, tier, sizeof tier, why, sizeof why)) {
        log_warn("messaging limit not read\terror=\"%s\"", why);
        return;
    }
    long limit = tier_limit(tier);
    if (limit < 0)
        log_warn("messaging limit not understood: the last one is kept\ttier=\"%s\"", tier);
    else
        waba_messaging_limit_report(limit, "read");
}

bool waba_limit_reads_start(const struct notification_config *cfg)
{
    if (!cfg->outbox_enabled || !*cfg->default_phone_number_id || !*cfg->access_token)
        return true;
    limit_reads =
        periodic_start("messaging-limit reads", read_limit, (void *)cfg, 0, LIMIT_READ_EVERY_MS);
    return limit_reads != NULL;
}

void waba_limit_reads_stop(void)
{
    periodic_stop(limit_reads);
    limit_reads = NULL;
}

json_t *waba_templates(const struct notification_config *cfg, struct waba_read *rd)
{
    return cached_list(cfg, &templates, rd);
}

bool waba_is_default_phone(const struct notification_config *cfg, const char *id)
{
    return id && *cfg->default_phone_number_id && strcmp(id, cfg->default_phone_number_id) == 0;
}

void waba_phone_numbers_forget(void)
{
    expire(&phone_numbers);
}

void waba_templates_forget(void)
{
    expire(&templates);
}

/* An item of list's endpoint: the listed keys of a kept item (the health's extras are
 * left out, so the documented answer does not change with them). A new reference. */
static json_t *listed(const struct graph_list *list, const json_t *item)
{
    json_t *out = json_object();
    for (size_t i = 0; i < list->nkeys; i++) {
        if (list->keys[i].listed)
            json_object_set(out, list->keys[i].name, json_object_get(item, list->keys[i].name));
    }
    return out;
}

/* Answers with the list (filtered by key == value when value is not NULL); phone
 * numbers are marked is_default when they are the platform's WHATSAPP_PHONE_NUMBER_ID. */
static void reply_list(struct http_request *req, struct graph_list *list, const char *key,
                       const char *value)
{
    const struct notification_config *cfg = &((struct notification_app *)http_app(req))->cfg;
    struct waba_read rd = {.timeout_ms = cfg->graph_timeout_ms};

    if (!*cfg->business_account_id || !*cfg->access_token) {
        http_reply_error(req, 503, "whatsapp_not_configured", WABA_NOT_CONFIGURED);
        return;
    }
    json_t *items = cached_list(cfg, list, &rd);
    if (!items) {
        http_reply_error(req, 502, "graph_unavailable", "%s", rd.error);
        return;
    }
    json_t *answer = json_array();
    size_t i;
    const json_t *item;
    json_array_foreach (items, i, item) {
        const char *v = value ? json_string_value(json_object_get(item, key)) : NULL;
        if (value && (!v || strcmp(v, value) != 0))
            continue;
        json_t *out = listed(list, item);
        if (list == &phone_numbers)
            json_object_set_new(out, "is_default",
                                json_boolean(waba_is_default_phone(cfg, json_str(item, "id"))));
        json_array_append_new(answer, out);
    }
    json_decref(items);
    http_add_header(req, "X-Cache", rd.cache);
    http_reply_json(req, 200, answer);
}

void handle_phone_numbers(struct http_request *req)
{
    reply_list(req, &phone_numbers, NULL, NULL);
}

void handle_templates(struct http_request *req)
{
    reply_list(req, &templates, "name", http_query(req, "name"));
}

void handle_config_status(struct http_request *req)
{
    const struct notification_config *cfg = &((struct notification_app *)http_app(req))->cfg;
    char served[GRAPH_VERSION_MAX];
    struct pause_state pause;
    bool paused = pause_state(&pause);
    json_t *missing = graph_missing_credentials(cfg);
    bool other_version = graph_version_served(served, sizeof served);

    json_t *body = json_pack("{s:b, s:o, s:b, s:b, s:o, s:s}", "credentials_configured",
                             json_array_size(missing) == 0, "missing", missing, "enabled",
                             cfg->enabled, "sending_paused", paused, "paused_reason",
                             paused ? json_string(pause.reason) : json_null(),
                             "default_phone_number_id", cfg->default_phone_number_id);
    json_object_set_new(body, "api_version", json_string(cfg->api_version));
    json_object_set_new(body, "api_version_served", served[0] ? json_string(served) : json_null());
    json_object_set_new(body, "api_version_differs", json_boolean(other_version));
    json_object_set_new(body, "paused", paused ? pause_json(&pause) : json_null());
    http_reply_json(req, 200, body);
}

void handle_resume(struct http_request *req)
{
    static const struct json_field fields[] = {{"note", JK_STRING, false, 200}};
    char reason[256], note[256] = "";
    const char *field, *problem;
    json_t *o = http_body_object(req); /* {} or {"note": "payment method fixed"} */
    if (!o)
        return;
    if (!json_check_object(o, fields, 1, false, &field, &problem)) {
        http_reply_field_error(req, 422, "validation_error", field, "%s %s", field, problem);
        json_decref(o);
        return;
    }
    if (json_str(o, "note"))
        snprintf(note, sizeof note, "%s", json_str(o, "note"));
    json_decref(o);
    bool was = pause_get(reason, sizeof reason);
    pause_clear();
    if (was) {
        /* the note is the operator's free text: quotes and controls would break the line */
        for (char *c = note; *c; c++) {
            if (*c == '"' || *c == '\\' || (unsigned char)*c < 0x20 || *c == 0x7f)
                *c = '_';
        }
        log_info("sending resumed by hand\tactor=\"%s\" reason=\"%s\" note=\"%s\"",
                 http_principal(req)->sub, reason, note);
        wakeup_queued(); /* the worker claims at once, not at its next poll */
    }
    json_t *body = json_pack("{s:b, s:s, s:b, s:o}", "success", 1, "message",
                             was ? "Sending resumed" : "Sending was not paused", "was_paused", was,
                             "paused_reason", was ? json_string(reason) : json_null());
    http_reply_json(req, 200, body);
}
