/* intake.c - POST /api/v1/notifications/purchase-orders and POST /api/v1/whatsapp/messages:
 * validate, normalize, and store one outbox row durably (in a group commit with the
 * other requests of the moment) before answering 202. A replay of the same idempotency
 * key answers 200 with the same message; another request under that key answers 409. */
#include <openssl/evp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "api/handlers.h"
#include "hex.h"
#include "api/intake_batch.h"
#include "api/intake_validate.h"
#include "jsonutil.h"
#include "log.h"
#include "metrics.h"
#include "api/store.h"
#include "outbox/compose.h"
#include "tenants/settings.h"
#include "uuidutil.h"

/* A validated request on its way to the outbox. */
struct intake {
    struct http_request *req;
    const struct notification_config *cfg;
    struct tenant_settings_cache *settings;
    json_t *payload; /* owned: the normalized request, stored and hashed */
};

/* Answers the 400/422 of a refused body. */
static void reply_problem(struct http_request *req, const struct intake_problem *p)
{
    if (p->field)
        http_reply_field_error(req, p->status, p->code, p->field, "%s", p->message);
    else
        http_reply_error(req, p->status, p->code, "%s", p->message);
}

/* SHA-256 of the kind and the canonical (sorted, compact, ASCII) payload, in hex. */
static void request_hash(const char *kind, const json_t *payload, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char *canon = json_dumps(payload, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
    char *text = xasprintf("%s\n%s", kind, canon ? canon : "");

    out[0] = '\0';
    if (EVP_Digest(text, strlen(text), md, &mdlen, EVP_sha256(), NULL) == 1 && mdlen == 32)
        hex_encode(md, mdlen, out);
    free(canon);
    free(text);
}

/* whatsapp_messages_accepted_total{kind, status}, looked up once per pair: the registry's
 * lookup takes a lock every request would queue on. */
static struct metric *accepted_counter(const char *kind, const char *status)
{
    static struct metric *_Atomic cache[2][2]; /* [template?][skipped?] */
    _Atomic(struct metric *) *slot =
        &cache[strcmp(kind, "template") == 0][strcmp(status, "skipped") == 0];
    struct metric *m = atomic_load(slot);
    if (!m) {
        char labels[96];
        snprintf(labels, sizeof labels, "kind=\"%s\",status=\"%s\"", kind, status);
        m = metrics_counter("whatsapp_messages_accepted_total",
                            "Messages accepted by intake, by kind and first status.", labels);
        atomic_store(slot, m);
    }
    return m;
}

/* Answers with the outcome of the request's commit, or parks it until there is one. */
static void reply_committed(struct http_request *req, struct intake_entry *e)
{
    const struct store_new_message *m = NULL;
    struct store_message_ref ref;
    char masked[32];

    if (!intake_batch_outcome(e, http_park_expired(req), &m, &ref)) {
        intake_batch_wait(req);
        return;
    }
    if (ref.st != DB_OK) {
        reply_db_failure(req, ref.st, "Storing the message");
        return;
    }
    if (!ref.created && !ref.same_request) {
        http_reply_error(req, 409, "idempotency_conflict",
                         "%s was already used for a different request (message %s)",
                         strcmp(m->kind, "purchase_order") == 0 ? "event_id" : "idempotency_key",
                         ref.id);
        return;
    }
    char location[96];
    snprintf(location, sizeof location, "/api/v1/whatsapp/messages/%s", ref.id);
    http_add_header(req, "Location", location);
    json_t *body =
        json_pack("{s:b, s:s, s:s}", "success", 1, "message_id", ref.id, "status", ref.status);
    if (!ref.created) {
        json_object_set_new(body, "duplicate", json_true());
        http_reply_json(req, 200, body);
        return;
    }
    metric_inc(accepted_counter(m->kind, ref.status));
    log_info("message accepted\tmessage_id=%s kind=%s tenant=%s to=%s status=%s", ref.id, m->kind,
             m->tenant_id, log_mask_phone(m->recipient_phone, masked, sizeof masked), ref.status);
    http_reply_json(req, 202, body);
}

/* Hands the validated request to the group commit (intake_batch.h) and answers, now or
 * in the handler's run after its commit. parameters is borrowed. */
static void submit(struct intake *in, const char *kind, const char *idempotency_key,
                   const char *phone_key, const char *template_name, const char *language,
                   const json_t *parameters)
{
    char id[UUID_STR_LEN];
    char hash[65];
    char *params_text = NULL;
    char *payload_text = NULL;

    const char *tenant_id = json_str(in->payload, "tenant_id");
    /* Asking tenant-service is a wait: on a worker, not on an HTTP thread. */
    if (!tenant_settings_known(in->settings, tenant_id) && http_wait_on_worker(in->req))
        goto out;
    /* Told now, the order service can fix it; told at send time, nobody would hear. When
     * tenant-service cannot say, the order is taken: it must never be lost to an outage. */
    if (tenant_settings_exists(in->settings, tenant_id) == TENANT_SETTINGS_UNKNOWN) {
        http_reply_field_error(in->req, 422, "unknown_tenant", "tenant_id", "No tenant with id %s",
                               tenant_id);
        goto out;
    }
    params_text = json_dump_compact(parameters);
    payload_text = json_dump_compact(in->payload);
    uuid_new(id);
    request_hash(kind, in->payload, hash);
    struct store_new_message m = {
        .id = id,
        .tenant_id = tenant_id,
        .idempotency_key = idempotency_key,
        .kind = kind,
        .request_hash = hash,
        .recipient_phone = json_str(in->payload, phone_key),
        .template_name = template_name,
        .template_language = language,
        .template_parameters = params_text,
        .payload = payload_text,
        .status = in->cfg->enabled ? "queued" : "skipped",
        .skip_reason = in->cfg->enabled ? NULL : COMPOSE_SKIP_PLATFORM,
    };
    intake_batch_submit(in->req, &m);
    reply_committed(in->req, intake_batch_entry(in->req));
out:
    free(params_text);
    free(payload_text);
}

void handle_purchase_order(struct http_request *req)
{
    struct notification_app *app = http_app(req);
    struct intake in = {.req = req, .cfg = &app->cfg, .settings = app->settings};
    struct intake_problem problem = {0};
    json_t *parameters = NULL;
    size_t len;
    const char *body = http_body(req, &len);

    if (intake_batch_entry(req)) {
        reply_committed(req, intake_batch_entry(req));
        return;
    }
    in.payload = intake_validate_purchase_order(body, len, &problem);
    if (!in.payload) {
        reply_problem(req, &problem);
        goto out;
    }
    /* {{1}} and {{2}} are final now; {{3}}, the amount, is formatted for the language
     * chosen at send time from payload.total_amount and payload.currency. */
    parameters = json_pack("[O, O]", json_object_get(in.payload, "supplier_name"),
                           json_object_get(in.payload, "po_number"));
    submit(&in, "purchase_order", json_str(in.payload, "event_id"), "supplier_phone",
           OUTBOX_PO_TEMPLATE, NULL, parameters);
out:
    intake_problem_free(&problem);
    json_decref(parameters);
    json_decref(in.payload);
}

void handle_template_message(struct http_request *req)
{
    struct notification_app *app = http_app(req);
    struct intake in = {.req = req, .cfg = &app->cfg, .settings = app->settings};
    struct intake_problem problem = {0};
    size_t len;
    const char *body = http_body(req, &len);

    if (intake_batch_entry(req)) {
        reply_committed(req, intake_batch_entry(req));
        return;
    }
    in.payload = intake_validate_template(body, len, &problem);
    if (!in.payload) {
        reply_problem(req, &problem);
        goto out;
    }
    submit(&in, "template", json_str(in.payload, "idempotency_key"), "to",
           json_str(in.payload, "template_name"), json_str(in.payload, "language"),
           json_object_get(in.payload, "parameters"));
out:
    intake_problem_free(&problem);
    json_decref(in.payload);
}
