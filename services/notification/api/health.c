/* health.c - GET /api/v1/whatsapp/health: the whole account in one answer for the admin
 * console and tenant-service's diagnostics. The local parts (the API version asked for
 * and served, the account's sending state) never need Graph; the numbers, templates and
 * messaging limit come from the same cached Graph read as the phone-number and template
 * lists (api/waba.h). The page is needed most when Graph is in trouble, so a Graph
 * failure is reported inside a 200, next to whatever the cache still holds. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "api/handlers.h"
#include "api/waba.h"
#include "graph/version.h"
#include "jsonutil.h"
#include "outbox/holds.h"
#include "outbox/pause.h"

/* Graph's share of the answer time: tenant-service waits UPSTREAM_TIMEOUT_MS (5 s by
 * default) for the whole answer, and GRAPH_TIMEOUT_MS may be longer. */
#define HEALTH_GRAPH_TIMEOUT_MS 3000L

/* The value of key in a kept Graph item (api/waba.h), null when absent; a new reference. */
static json_t *value(const json_t *item, const char *key)
{
    json_t *v = json_object_get(item, key);
    return v ? json_incref(v) : json_null();
}

#define HOLDS_SHOWN 64

/* The holds in place now (outbox/holds.h), read once per answer. */
struct holds_now {
    struct hold_view v[HOLDS_SHOWN];
    size_t n;
};

/* The hold of a number (phone_id) or of a template language, as {status, reason, code,
 * since, until}, or null; a new reference. */
static json_t *held(const struct holds_now *h, const char *phone_id, const char *name,
                    const char *language)
{
    for (size_t i = 0; i < h->n; i++) {
        const struct hold_view *v = &h->v[i];
        bool match = phone_id ? !v->template && strcmp(v->phone_number_id, phone_id) == 0
                              : v->template && name && language && strcmp(v->name, name) == 0 &&
                                    strcmp(v->language, language) == 0;
        if (match)
            return json_pack("{s:s, s:s, s:o, s:o, s:o}", "status", v->status, "reason", v->reason,
                             "code", v->code >= 0 ? json_integer(v->code) : json_null(), "since",
                             json_time_ms(v->since_ms), "until", json_time_ms(v->until_ms));
    }
    return json_null();
}

/* One number of the answer, from a phone-number list item, with this service's hold on
 * it (131057). */
static json_t *phone_entry(const struct notification_config *cfg, const struct holds_now *h,
                           const json_t *item)
{
    json_t *o = json_pack("{s:o, s:o, s:o, s:b, s:o, s:o, s:o, s:o, s:o}", "id", value(item, "id"),
                          "display_phone_number", value(item, "display_phone_number"),
                          "verified_name", value(item, "verified_name"), "is_default",
                          waba_is_default_phone(cfg, json_str(item, "id")), "status",
                          value(item, "status"), "name_status", value(item, "name_status"),
                          "quality_rating", value(item, "quality_rating"), "throughput_level",
                          value(item, "throughput_level"), "can_send_message",
                          value(item, "can_send_message"));
    json_object_set_new(o, "held",
                        held(h, json_str(item, "id") ? json_str(item, "id") : "", NULL, NULL));
    return o;
}

/* One template in one language, from a template list item, with this service's hold on
 * it (a status webhook, 132015, 132016). */
static json_t *template_entry(const struct holds_now *h, const json_t *item)
{
    json_t *o = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "id", value(item, "id"), "name",
                          value(item, "name"), "language", value(item, "language"), "status",
                          value(item, "status"), "category", value(item, "category"), "quality",
                          value(item, "quality"), "message_send_ttl_seconds",
                          value(item, "message_send_ttl_seconds"));
    json_object_set_new(o, "held",
                        held(h, NULL, json_str(item, "name"), json_str(item, "language")));
    return o;
}

/* Whether messages go out: switched off, missing credentials, paused by an account-wide
 * error, or sending; with the pause (whatever the state) and the missing variables. */
static json_t *account_json(const struct notification_config *cfg)
{
    struct pause_state pause;
    bool paused = pause_state(&pause);
    json_t *missing = graph_missing_credentials(cfg);
    const char *state = !cfg->enabled              ? "disabled"
                        : json_array_size(missing) ? "not_configured"
                        : paused                   ? "paused"
                                                   : "sending";
    return json_pack("{s:s, s:o, s:o}", "state", state, "paused",
                     paused ? pause_json(&pause) : json_null(), "missing", missing);
}

static json_t *api_version_json(const struct notification_config *cfg)
{
    char served[GRAPH_VERSION_MAX];
    bool differs = graph_version_served(served, sizeof served);
    return json_pack("{s:s, s:o, s:b}", "asked", cfg->api_version, "served",
                     served[0] ? json_string(served) : json_null(), "differs", differs);
}

/* The worse of two cache states: a stale part makes the whole stale. */
static const char *worse(const char *a, const char *b)
{
    static const char *const order[] = {"stale", "miss", "hit"};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        if ((a && strcmp(a, order[i]) == 0) || (b && strcmp(b, order[i]) == 0))
            return order[i];
    }
    return NULL;
}

void handle_health(struct http_request *req)
{
    const struct notification_config *cfg = &((struct notification_app *)http_app(req))->cfg;
    long timeout = cfg->graph_timeout_ms < HEALTH_GRAPH_TIMEOUT_MS ? cfg->graph_timeout_ms
                                                                   : HEALTH_GRAPH_TIMEOUT_MS;
    struct waba_read phones_rd = {.timeout_ms = timeout};
    struct waba_read templates_rd = {.timeout_ms = timeout};
    json_t *phones = NULL, *tpls = NULL;
    const char *error = NULL;

    if (!*cfg->business_account_id || !*cfg->access_token) {
        error = WABA_NOT_CONFIGURED;
    } else {
        phones = waba_phone_numbers(cfg, &phones_rd);
        /* Graph just failed: one wait for it per answer is enough */
        templates_rd.cache_only = phones_rd.error[0] != '\0';
        tpls = waba_templates(cfg, &templates_rd);
        error = phones_rd.error[0]      ? phones_rd.error
                : templates_rd.error[0] ? templates_rd.error
                                        : NULL;
    }

    struct holds_now holds;
    holds.n = holds_list(holds.v, HOLDS_SHOWN);
    if (holds.n > HOLDS_SHOWN)
        holds.n = HOLDS_SHOWN;
    json_t *numbers = json_array();
    json_t *limit = NULL;
    size_t i;
    const json_t *item;
    json_array_foreach (phones, i, item) {
        json_array_append_new(numbers, phone_entry(cfg, &holds, item));
        if (!limit && json_is_string(json_object_get(item, "messaging_limit")))
            limit = value(item, "messaging_limit");
    }
    json_t *templates = json_array();
    json_array_foreach (tpls, i, item)
        json_array_append_new(templates, template_entry(&holds, item));

    json_t *body =
        json_pack("{s:o, s:o, s:o, s:o, s:o, s:{s:s?, s:s?}}", "api_version", api_version_json(cfg),
                  "account", account_json(cfg), "messaging_limit", limit ? limit : json_null(),
                  "phone_numbers", numbers, "templates", templates, "graph", "cache",
                  worse(phones_rd.cache, templates_rd.cache), "error", error);
    json_decref(phones);
    json_decref(tpls);
    http_reply_json(req, 200, body);
}
