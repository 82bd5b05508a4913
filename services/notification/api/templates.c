/* templates.c - the platform's template per language: read, created when missing,
 * reported, and what was read handed to the holds. */
#include "api/templates.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "api/handlers.h"
#include "api/waba.h"
#include "httpclient.h"
#include "jsonutil.h"
#include "log.h"
#include "outbox/holds.h"
#include "periodic.h"
#include "po_template.h"

#define FIRST_READ_MS 2000 /* after the start: the holds learn the statuses early */

/* One offered language: its text, what Graph lists for it, what a sync did. */
struct language {
    const struct po_text *po;
    const json_t *item; /* borrowed from the list; NULL when Meta has no such language */
    bool wanted;        /* the sync was asked to make sure of it */
    bool created;
    char error[512]; /* why creating it failed */
};

static const json_t *find(const json_t *items, const char *language)
{
    size_t i;
    const json_t *item;
    json_array_foreach (items, i, item) {
        const char *name = json_str(item, "name"), *lang = json_str(item, "language");
        if (name && lang && strcmp(name, PO_TEMPLATE_NAME) == 0 && strcmp(lang, language) == 0)
            return item;
    }
    return NULL;
}

static const char *status_of(const struct language *l)
{
    const char *status = l->item ? json_str(l->item, "status") : NULL;
    return status ? status : "MISSING";
}

/* Meta's rejected_reason of a REJECTED language ("NONE" otherwise), or NULL. */
static const char *reason_of(const struct language *l)
{
    const char *reason = l->item ? json_str(l->item, "rejected_reason") : NULL;
    return reason && *reason && strcmp(reason, "NONE") != 0 ? reason : NULL;
}

static json_t *copy_of(const json_t *item, const char *key)
{
    json_t *v = json_object_get(item, key);
    return v ? json_incref(v) : json_null();
}

static json_t *language_json(const struct language *l)
{
    const char *reason = reason_of(l);
    return json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:b, s:o}", "language",
                     l->po->language, "name", l->po->name, "status", status_of(l), "reason",
                     reason ? json_string(reason) : json_null(), "quality",
                     copy_of(l->item, "quality"), "category", copy_of(l->item, "category"), "id",
                     copy_of(l->item, "id"), "message_send_ttl_seconds",
                     copy_of(l->item, "message_send_ttl_seconds"), "created", l->created, "error",
                     l->error[0] ? json_string(l->error) : json_null());
}

/* Tells the holds what Graph said of every offered language, when it said it just now
 * (rd: a read, not the cache): it is newer than every webhook that came before. */
static void tell_holds(const struct language *langs, size_t n, const struct waba_read *rd)
{
    struct holds_event_key key = {(int64_t)time(NULL), INT64_MAX};
    if (!rd->cache || strcmp(rd->cache, "miss") != 0)
        return;
    for (size_t i = 0; i < n; i++)
        holds_template_status(PO_TEMPLATE_NAME, langs[i].po->language, status_of(&langs[i]),
                              reason_of(&langs[i]), key);
}

/* Matches every offered language with its list item. */
static void match(struct language *langs, const json_t *items)
{
    for (size_t i = 0; i < po_texts_count; i++) {
        langs[i].po = &po_texts[i];
        langs[i].item = find(items, po_texts[i].language);
    }
}

/* ---------- creating ---------- */

/* POST /{WABA_ID}/message_templates for l. Returns true when Meta created it or already
 * had it (the same name and language: a sync running elsewhere); else false with Meta's
 * words in l->error. */
static bool create(const struct notification_config *cfg, struct language *l)
{
    struct httpc_result res = {0};
    const struct po_text *po = l->po;
    char *waba = curl_easy_escape(NULL, cfg->business_account_id, 0);
    char *url = xasprintf("%s/%s/%s/message_templates", cfg->graph_base_url, cfg->api_version,
                          waba ? waba : "");
    json_t *body = json_pack(
        "{s:s, s:s, s:s, s:I, s:[{s:s, s:s, s:{s:[[s, s, s]]}}]}", "name", PO_TEMPLATE_NAME,
        "language", po->language, "category", PO_TEMPLATE_CATEGORY, "message_send_ttl_seconds",
        (json_int_t)cfg->message_ttl_seconds, "components", "type", "BODY", "text", po->body,
        "example", "body_text", po->example[0], po->example[1], po->example[2]);
    bool ok = false;

    if (httpc_json("POST", url, cfg->access_token, body, cfg->graph_timeout_ms, &res) != 0) {
        snprintf(l->error, sizeof l->error, "Graph API unreachable: %s", res.error);
    } else if (res.status == 200) {
        ok = true;
    } else {
        const json_t *err = json_object_get(res.json, "error");
        const char *message = json_str(err, "message");
        const char *details = json_str(json_object_get(err, "error_data"), "details");
        ok = json_integer_value(json_object_get(err, "error_subcode")) == 2388024;
        snprintf(l->error, sizeof l->error, "%s%s%s",
                 message ? message : "Graph API refused the template", details ? ": " : "",
                 details ? details : "");
        if (ok)
            l->error[0] = '\0';
    }
    if (ok)
        log_info("template created at Meta\ttemplate=%s language=%s", PO_TEMPLATE_NAME,
                 po->language);
    else
        log_warn("template not created\ttemplate=%s language=%s error=\"%s\"", PO_TEMPLATE_NAME,
                 po->language, l->error);
    l->created = ok;
    httpc_result_free(&res);
    json_decref(body);
    free(url);
    curl_free(waba);
    return ok;
}

/* ---------- the endpoints ---------- */

static bool configured(struct http_request *req, const struct notification_config *cfg)
{
    if (*cfg->business_account_id && *cfg->access_token)
        return true;
    http_reply_error(req, 503, "whatsapp_not_configured", WABA_NOT_CONFIGURED);
    return false;
}

/* Reads the list (fresh when fresh is set); NULL after answering 502. */
static json_t *read_list(struct http_request *req, const struct notification_config *cfg,
                         bool fresh, struct waba_read *rd)
{
    if (fresh)
        waba_templates_forget();
    json_t *items = waba_templates(cfg, rd);
    if (!items)
        http_reply_error(req, 502, "graph_unavailable", "%s", rd->error);
    return items;
}

/* Answers the report of langs (only language when not NULL). */
static void reply_report(struct http_request *req, const struct language *langs,
                         const char *language, const struct waba_read *rd, int created)
{
    json_t *list = json_array();
    for (size_t i = 0; i < po_texts_count; i++) {
        if (!language || strcmp(language, langs[i].po->language) == 0)
            json_array_append_new(list, language_json(&langs[i]));
    }
    http_reply_json(req, 200,
                    json_pack("{s:s, s:o, s:i, s:{s:s?, s:s?}}", "template", PO_TEMPLATE_NAME,
                              "languages", list, "created", created, "graph", "cache", rd->cache,
                              "error", rd->error[0] ? rd->error : NULL));
}

void handle_template_report(struct http_request *req)
{
    const struct notification_config *cfg = &((struct notification_app *)http_app(req))->cfg;
    const char *language = http_query(req, "language"), *message;
    struct language langs[16] = {{0}};
    struct waba_read rd = {.timeout_ms = cfg->graph_timeout_ms};

    const char *field = po_template_query_problem(http_query(req, "name"), language, &message);
    if (field) {
        http_reply_field_error(req, 422, "validation_error", field, "%s", message);
        return;
    }
    if (!configured(req, cfg))
        return;
    json_t *items = read_list(req, cfg, false, &rd);
    if (!items)
        return;
    match(langs, items);
    tell_holds(langs, po_texts_count, &rd);
    reply_report(req, langs, language, &rd, 0);
    json_decref(items);
}

/* Marks the languages of the sync's body ({} or {"languages": [...]}) wanted; false
 * after answering 422. */
static bool wanted_languages(struct http_request *req, const json_t *body, struct language *langs)
{
    const char *message, *field = po_template_sync_problem(body, &message);
    if (field) {
        http_reply_field_error(req, 422, "validation_error", field, "%s", message);
        return false;
    }
    const json_t *list = json_object_get(body, "languages");
    for (size_t i = 0; i < po_texts_count; i++)
        langs[i].wanted = !list || json_is_null(list);
    size_t k;
    const json_t *v;
    json_array_foreach (list, k, v)
        langs[po_text(json_string_value(v)) - po_texts].wanted = true;
    return true;
}

void handle_template_sync(struct http_request *req)
{
    static pthread_mutex_t one_at_a_time = PTHREAD_MUTEX_INITIALIZER;
    const struct notification_config *cfg = &((struct notification_app *)http_app(req))->cfg;
    struct language langs[16] = {{0}};
    struct waba_read rd = {.timeout_ms = cfg->graph_timeout_ms};
    int created = 0;
    json_t *items = NULL;
    json_t *body = http_body_object(req);

    if (!body)
        return;
    if (!wanted_languages(req, body, langs) || !configured(req, cfg))
        goto out;
    pthread_mutex_lock(&one_at_a_time);
    items = read_list(req, cfg, true, &rd);
    if (!items || rd.error[0]) {
        if (items) /* a stale copy is no ground for creating anything */
            http_reply_error(req, 502, "graph_unavailable", "%s", rd.error);
        goto unlock;
    }
    match(langs, items);
    for (size_t i = 0; i < po_texts_count; i++) {
        if (langs[i].wanted && !langs[i].item && create(cfg, &langs[i]))
            created++;
    }
    if (created) { /* read what Meta made of them (APPROVED, PENDING, REJECTED) */
        json_decref(items);
        struct waba_read again = {.timeout_ms = cfg->graph_timeout_ms};
        items = read_list(req, cfg, true, &again);
        if (!items)
            goto unlock;
        rd = again;
        match(langs, items); /* keeps what each language's creation did */
    }
    tell_holds(langs, po_texts_count, &rd);
    reply_report(req, langs, NULL, &rd, created);
unlock:
    pthread_mutex_unlock(&one_at_a_time);
out:
    json_decref(items);
    json_decref(body);
}

/* ---------- the periodic read ---------- */

static struct periodic *reads;

static void read_statuses(void *arg)
{
    const struct notification_config *cfg = arg;
    struct language langs[16] = {{0}};
    struct waba_read rd = {.timeout_ms = cfg->graph_timeout_ms};
    waba_templates_forget();
    json_t *items = waba_templates(cfg, &rd);
    if (items && !rd.error[0]) {
        match(langs, items);
        tell_holds(langs, po_texts_count, &rd);
    } else {
        log_warn("template statuses not read\terror=\"%s\"", rd.error);
    }
    json_decref(items);
}

bool template_reads_start(const struct notification_config *cfg)
{
    if (cfg->template_sync_seconds == 0 || !*cfg->business_account_id || !*cfg->access_token)
        return true;
    reads = periodic_start("template reads", read_statuses, (void *)cfg, FIRST_READ_MS,
                           cfg->template_sync_seconds * 1000);
    return reads != NULL;
}

void template_reads_stop(void)
{
    periodic_stop(reads);
    reads = NULL;
}
