/* account_changes.c - POST /api/v1/internal/whatsapp/account-events (role service):
 * notification-service tells of a change of the WhatsApp account (a number's quality, a
 * template's status or quality, the account's pause and resume), recorded for the
 * console's live stream (console_events.c), which passes it to admins' open pages. */
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "jsonutil.h"
#include "log.h"

#define KIND_KEYS_MAX 4

/* The keys each kind carries: the first `required` of them must be there. */
static const struct account_change_kind {
    const char *kind;
    size_t required;
    const char *keys[KIND_KEYS_MAX];
} kinds[] = {
    {"number_quality", 2, {"display_phone_number", "event"}},
    {"template_status", 3, {"template", "language", "status", "reason"}},
    {"template_quality", 3, {"template", "language", "quality"}},
    {"paused", 2, {"source", "reason", "code"}},
    {"resumed", 0, {NULL}},
};

static const struct json_field fields[] = {
    {"kind", JK_STRING, true, 24},      {"display_phone_number", JK_STRING, false, 32},
    {"event", JK_STRING, false, 32},    {"template", JK_STRING, false, 512},
    {"language", JK_STRING, false, 16}, {"status", JK_STRING, false, 32},
    {"quality", JK_STRING, false, 16},  {"source", JK_STRING, false, 8},
    {"reason", JK_STRING, false, 512},  {"code", JK_INTEGER, false, 0},
};

static const struct account_change_kind *kind_named(const char *name)
{
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        if (strcmp(kinds[i].kind, name) == 0)
            return &kinds[i];
    }
    return NULL;
}

static bool kind_has(const struct account_change_kind *k, const char *key)
{
    for (size_t i = 0; i < KIND_KEYS_MAX && k->keys[i]; i++) {
        if (strcmp(k->keys[i], key) == 0)
            return true;
    }
    return false;
}

/* The first problem of body against its kind k: *field and *problem set, false. */
static bool fits_kind(const json_t *body, const struct account_change_kind *k, const char **field,
                      const char **problem)
{
    const char *key;
    const json_t *v;
    json_object_foreach ((json_t *)body, key, v) {
        if (strcmp(key, "kind") != 0 && !json_is_null(v) && !kind_has(k, key)) {
            *field = key, *problem = "is not a field of this kind";
            return false;
        }
    }
    for (size_t i = 0; i < k->required; i++) {
        const char *s = json_str(body, k->keys[i]);
        if (!s || !*s) {
            *field = k->keys[i], *problem = "is required for this kind";
            return false;
        }
    }
    const char *source = json_str(body, "source");
    if (source && strcmp(source, "send") != 0 && strcmp(source, "event") != 0) {
        *field = "source", *problem = "must be send or event";
        return false;
    }
    const json_t *code = json_object_get(body, "code");
    if (json_is_integer(code) && json_integer_value(code) < 0) {
        *field = "code", *problem = "must be >= 0";
        return false;
    }
    return true;
}

void handle_internal_account_event(struct http_request *req)
{
    json_t *body = http_body_object(req);
    json_t *detail = NULL;
    const char *field = NULL, *problem = NULL;
    long long id = 0;

    if (!body)
        return;
    if (!json_check_object(body, fields, sizeof fields / sizeof fields[0], false, &field,
                           &problem)) {
        http_reply_field_error(req, 422, "validation_error", field ? field : "body", "%s %s",
                               field ? field : "the body", problem);
        goto out;
    }
    const struct account_change_kind *k = kind_named(json_str(body, "kind"));
    if (!k) {
        http_reply_field_error(req, 422, "validation_error", "kind",
                               "kind must be number_quality, template_status, template_quality, "
                               "paused or resumed");
        goto out;
    }
    if (!fits_kind(body, k, &field, &problem)) {
        http_reply_field_error(req, 422, "validation_error", field, "%s %s for %s", field, problem,
                               k->kind);
        goto out;
    }
    detail = json_object();
    const char *key;
    json_t *v;
    json_object_foreach (body, key, v) {
        if (strcmp(key, "kind") != 0 && !json_is_null(v))
            json_object_set(detail, key, v);
    }
    enum store_status st = store_account_change(k->kind, detail, &id);
    if (st != STORE_OK) {
        reply_store_failure(req, st);
        goto out;
    }
    log_info("account change recorded for the live pages\tkind=%s id=%lld", k->kind, id);
    http_reply_json(req, 201, json_pack("{s:I, s:s}", "id", (json_int_t)id, "kind", k->kind));
out:
    json_decref(detail);
    json_decref(body);
}
