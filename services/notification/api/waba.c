/* waba.c - read-only views of the master WABA for tenant-service and operators:
 * GET /api/v1/whatsapp/phone-numbers, /templates and /config-status. Graph lists are
 * read page by page, cached for PHONE_NUMBERS_CACHE_SECONDS (Meta allows few management
 * calls per hour) and served stale when Graph fails. The access token is sent only to
 * the configured Graph base URL and never appears in a log line or an answer. */
#include "api/waba.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api/handlers.h"
#include "jsonutil.h"
#include "graph/version.h"
#include "httpclient.h"
#include "log.h"
#include "monotonic.h"
#include "outbox/pause.h"
#include "outbox/wakeup.h"

#define GRAPH_PAGE_LIMIT 100
#define GRAPH_PAGES_MAX 50 /* 5,000 items: far beyond 120 numbers or any template list */
#define NOT_CONFIGURED "WhatsApp master account not configured"

/* A Graph list edge of the WABA and its cache. */
struct graph_list {
    const char *edge;        /* "phone_numbers" */
    const char *fields;      /* the fields asked for, also the keys kept per item */
    const char *const *keys; /* keys[0] is required and must be a string */
    size_t nkeys;
    pthread_mutex_t lock;       /* guards data and fetched_at_ms */
    pthread_mutex_t fetch_lock; /* one fetch at a time */
    json_t *data;               /* the last complete list, or NULL */
    int64_t fetched_at_ms;      /* monotonic */
};

static const char *const phone_keys[] = {"id", "display_phone_number", "verified_name",
                                         "quality_rating"};
static const char *const template_keys[] = {"name", "language", "status", "category"};

static struct graph_list phone_numbers = {
    "phone_numbers",
    "id,display_phone_number,verified_name,quality_rating",
    phone_keys,
    4,
    PTHREAD_MUTEX_INITIALIZER,
    PTHREAD_MUTEX_INITIALIZER,
    NULL,
    0,
};
static struct graph_list templates = {
    "message_templates",       "name,status,language,category", template_keys, 4,
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,       NULL,          0,
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

/* The keys of list kept from one Graph item (strings or null), or NULL when the item
 * lacks its identifying first key. Returns a new reference. */
static json_t *pick(const struct graph_list *list, const json_t *item)
{
    if (!json_is_string(json_object_get(item, list->keys[0])))
        return NULL;
    json_t *out = json_object();
    for (size_t i = 0; i < list->nkeys; i++) {
        const json_t *v = json_object_get(item, list->keys[i]);
        json_object_set_new(out, list->keys[i],
                            json_is_string(v) ? json_string(json_string_value(v)) : json_null());
    }
    return out;
}

/* Reads every page of list's edge into a new array in *out, following paging.next only
 * while it stays under base. Returns 0, or -1 with a reason for the caller in err. */
static int fetch_all(const struct notification_config *cfg, const struct graph_list *list,
                     json_t **out, char *err, size_t errlen)
{
    int rc = -1;
    struct httpc_result res = {0};
    json_t *items = json_array();
    size_t blen = strlen(cfg->graph_base_url); /* CFG_URL: no trailing '/' */
    char *waba = curl_easy_escape(NULL, cfg->business_account_id, 0);
    char *url = NULL;

    if (!waba) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    url = xasprintf("%s/%s/%s/%s?fields=%s&limit=%d", cfg->graph_base_url, cfg->api_version, waba,
                    list->edge, list->fields, GRAPH_PAGE_LIMIT);
    for (int page = 0;; page++) {
        if (page == GRAPH_PAGES_MAX) {
            snprintf(err, errlen, "Graph API list has more than %d pages", GRAPH_PAGES_MAX);
            goto out;
        }
        httpc_result_free(&res);
        if (httpc_json("GET", url, cfg->access_token, NULL, cfg->graph_timeout_ms, &res) != 0) {
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
                         list->edge, page, i, list->keys[0]);
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
    curl_free(waba);
    return rc;
}

/* A copy of the cached list while it is younger than ttl_ms, else NULL. */
static json_t *fresh_copy(struct graph_list *list, int64_t ttl_ms)
{
    json_t *copy = NULL;
    pthread_mutex_lock(&list->lock);
    if (list->data && monotonic_ms() - list->fetched_at_ms < ttl_ms)
        copy = json_deep_copy(list->data);
    pthread_mutex_unlock(&list->lock);
    return copy;
}

/* Returns a new reference to a copy of the list: cached while fresh, fetched when not,
 * the stale copy when the fetch fails. NULL (err set) when there is nothing to serve.
 * *state is "hit", "miss" or "stale". */
static json_t *cached_list(const struct notification_config *cfg, struct graph_list *list,
                           const char **state, char *err, size_t errlen)
{
    json_t *fresh = NULL;
    int64_t ttl_ms = (int64_t)cfg->phone_cache_seconds * 1000;

    *state = "hit";
    json_t *copy = fresh_copy(list, ttl_ms);
    if (copy)
        return copy;
    /* One fetch at a time; the requests that waited find the list it got. */
    pthread_mutex_lock(&list->fetch_lock);
    copy = fresh_copy(list, ttl_ms);
    if (copy)
        goto out;
    int rc = fetch_all(cfg, list, &fresh, err, errlen);
    pthread_mutex_lock(&list->lock);
    if (rc == 0) {
        json_decref(list->data);
        list->data = fresh;
        list->fetched_at_ms = monotonic_ms();
        *state = "miss";
    } else if (list->data) {
        *state = "stale";
        log_warn("graph list stale: serving the cached copy\tedge=%s error=\"%s\"", list->edge,
                 err);
    } else {
        log_warn("graph list unavailable\tedge=%s error=\"%s\"", list->edge, err);
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

void waba_phone_numbers_forget(void)
{
    expire(&phone_numbers);
}

void waba_templates_forget(void)
{
    expire(&templates);
}

/* Answers with the list (filtered by key == value when value is not NULL); phone
 * numbers are marked is_default when they are the platform's WHATSAPP_PHONE_NUMBER_ID. */
static void reply_list(struct http_request *req, struct graph_list *list, const char *key,
                       const char *value)
{
    const struct notification_config *cfg = &((struct notification_app *)http_app(req))->cfg;
    char err[512] = "";
    const char *state;

    if (!*cfg->business_account_id || !*cfg->access_token) {
        http_reply_error(req, 503, "whatsapp_not_configured", NOT_CONFIGURED);
        return;
    }
    json_t *items = cached_list(cfg, list, &state, err, sizeof err);
    if (!items) {
        http_reply_error(req, 502, "graph_unavailable", "%s", err);
        return;
    }
    if (value) {
        for (size_t i = json_array_size(items); i-- > 0;) {
            const char *v = json_string_value(json_object_get(json_array_get(items, i), key));
            if (!v || strcmp(v, value) != 0)
                json_array_remove(items, i);
        }
    }
    if (list == &phone_numbers) {
        size_t i;
        json_t *item;
        json_array_foreach (items, i, item) {
            const char *id = json_string_value(json_object_get(item, "id"));
            json_object_set_new(item, "is_default",
                                json_boolean(id && strcmp(id, cfg->default_phone_number_id) == 0));
        }
    }
    http_add_header(req, "X-Cache", state);
    http_reply_json(req, 200, items);
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
