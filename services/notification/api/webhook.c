/* webhook.c - GET /api/v1/whatsapp/webhook (Meta's subscription check) and
 * POST /api/v1/whatsapp/webhook: the signature over the raw bytes, then every status of
 * every entry (parsed by webhook_parse.c) applied in one batch statement and inbound
 * STOP/BAJA/START/ALTA turned into opt-outs and opt-ins, and the account-level changes
 * stored and applied (account_events.h). A bad item is skipped, counted and logged; the
 * rest apply. */

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "api/account_events.h"
#include "api/handlers.h"
#include "hmac.h"
#include "log.h"
#include "metrics.h"
#include "api/store.h"
#include "uuidutil.h"
#include "api/webhook_parse.h"

static void count(const char *name, const char *help, const char *result, long n)
{
    char labels[64];
    if (n <= 0)
        return;
    snprintf(labels, sizeof labels, "result=\"%s\"", result);
    metric_add(metrics_counter(name, help, labels), (double)n);
}

static const char statuses_help[] = "Webhook status reports by outcome.";
static const char inbound_help[] = "Inbound webhook messages by outcome.";

/* Applies the opt-outs and opt-ins of the batch in arrival order. */
static enum db_status apply_inbound(const struct webhook_batch *b, json_t *summary)
{
    long opt_outs = 0, opt_ins = 0, unknown_number = 0, other = 0;
    enum db_status st = DB_OK;
    char masked[32];

    for (size_t i = 0; i < b->nin; i++) {
        const struct inbound *in = &b->in[i];
        long tenants = 0;
        if (in->action == INBOUND_OTHER) {
            other++;
            continue;
        }
        bool out = in->action == INBOUND_OPT_OUT;
        char phone[E164_MAX];
        snprintf(phone, sizeof phone, "%s", in->from);
        if (!phone[0]) { /* known only by user id: the phone it was last seen with */
            st = store_user_phone(in->user_id, phone, sizeof phone);
            if (st != DB_OK)
                break;
            if (!phone[0]) {
                unknown_number++;
                log_warn("opt-%s from a user id never seen in a status\tphone_number_id=%s",
                         out ? "out" : "in", in->phone_number_id);
                continue;
            }
        }
        st = store_opt_change(out, in->phone_number_id, phone, in->ts, in->id, &tenants);
        if (st != DB_OK)
            break;
        log_mask_phone(phone, masked, sizeof masked);
        if (tenants == 0) {
            unknown_number++;
            log_warn("opt-%s for a number no tenant sent from\tphone_number_id=%s from=%s",
                     out ? "out" : "in", in->phone_number_id, masked);
            continue;
        }
        if (out)
            opt_outs++;
        else
            opt_ins++;
        log_info("recipient opted %s\tphone_number_id=%s from=%s tenants=%ld", out ? "out" : "in",
                 in->phone_number_id, masked, tenants);
    }
    count("whatsapp_webhook_inbound_total", inbound_help, "opt_out", opt_outs);
    count("whatsapp_webhook_inbound_total", inbound_help, "opt_in", opt_ins);
    count("whatsapp_webhook_inbound_total", inbound_help, "unknown_number", unknown_number);
    count("whatsapp_webhook_inbound_total", inbound_help, "other", other);
    count("whatsapp_webhook_inbound_total", inbound_help, "invalid", b->inbound_invalid);
    json_object_set_new(summary, "inbound",
                        json_pack("{s:I, s:I, s:I, s:I, s:I}", "received",
                                  (json_int_t)(b->nin + (size_t)b->inbound_invalid), "opt_outs",
                                  (json_int_t)opt_outs, "opt_ins", (json_int_t)opt_ins, "ignored",
                                  (json_int_t)(other + unknown_number), "invalid",
                                  (json_int_t)b->inbound_invalid));
    return st;
}

static enum db_status apply_statuses(const struct webhook_batch *b, json_t *summary)
{
    struct store_status_counts c;
    enum db_status st = store_statuses_apply(b->ev, b->n, &c);
    if (st != DB_OK)
        return st;
    /* duplicates, late arrivals, statuses of terminal messages, pending repeats */
    long ignored = (long)b->n - c.applied - c.pending + b->statuses_unknown;
    count("whatsapp_webhook_statuses_total", statuses_help, "applied", c.applied);
    count("whatsapp_webhook_statuses_total", statuses_help, "ignored", ignored);
    count("whatsapp_webhook_statuses_total", statuses_help, "pending", c.pending);
    count("whatsapp_webhook_statuses_total", statuses_help, "invalid", b->statuses_invalid);
    json_object_set_new(
        summary, "statuses",
        json_pack("{s:I, s:I, s:I, s:I, s:I}", "received",
                  (json_int_t)(b->n + (size_t)(b->statuses_unknown + b->statuses_invalid)),
                  "applied", (json_int_t)c.applied, "ignored", (json_int_t)ignored, "pending",
                  (json_int_t)c.pending, "invalid", (json_int_t)b->statuses_invalid));
    return DB_OK;
}

void handle_webhook_post(struct http_request *req)
{
    const struct notification_config *cfg = &((struct notification_app *)http_app(req))->cfg;
    struct webhook_batch b = {0};
    json_t *summary = NULL;
    char err[160];
    size_t len;
    const char *raw = http_body(req, &len);

    if (cfg->app_secret[0] && !hmac_sha256_verify_header(http_header(req, "X-Hub-Signature-256"),
                                                         cfg->app_secret, raw, len)) {
        metric_inc(metrics_counter("whatsapp_webhook_signature_failures_total",
                                   "Webhook POSTs refused for a missing or wrong signature.", ""));
        log_warn("webhook signature refused\tbytes=%zu header=%s", len,
                 http_header(req, "X-Hub-Signature-256") ? "wrong" : "missing");
        http_reply_error(req, 401, "invalid_signature",
                         "X-Hub-Signature-256 is missing or does not match the body");
        goto out;
    }
    if (!webhook_parse(raw, len, &b, err, sizeof err)) {
        log_warn("webhook body refused\tbytes=%zu error=\"%s\"", len, err);
        http_reply_error(req, 400, "malformed_json", "The webhook body is not a JSON object");
        goto out;
    }
    summary = json_pack("{s:b}", "success", 1);
    enum db_status st = apply_statuses(&b, summary);
    if (st == DB_OK)
        st = apply_inbound(&b, summary);
    if (st == DB_OK)
        st = account_events_apply(&b, summary);
    if (st != DB_OK) {
        /* Meta retries; the statuses apply idempotently then. */
        reply_db_failure(req, st, "Storing the webhook");
        goto out;
    }
    http_reply_json(req, 200, summary);
    summary = NULL;
out:
    json_decref(summary);
    webhook_batch_free(&b);
}

/* Compares digests so that neither content nor length leaks through timing. An empty
 * configured token never matches. */
static bool verify_token_matches(const char *configured, const char *given)
{
    unsigned char a[EVP_MAX_MD_SIZE], b[EVP_MAX_MD_SIZE];
    unsigned int alen = 0, blen = 0;

    if (!configured || !*configured || !given)
        return false;
    if (EVP_Digest(configured, strlen(configured), a, &alen, EVP_sha256(), NULL) != 1 ||
        EVP_Digest(given, strlen(given), b, &blen, EVP_sha256(), NULL) != 1 || alen != blen)
        return false;
    return CRYPTO_memcmp(a, b, alen) == 0;
}

void handle_webhook_verify(struct http_request *req)
{
    const struct notification_config *cfg = &((struct notification_app *)http_app(req))->cfg;
    const char *mode = http_query(req, "hub.mode");
    const char *challenge = http_query(req, "hub.challenge");

    if (!mode || strcmp(mode, "subscribe") != 0 ||
        !verify_token_matches(cfg->verify_token, http_query(req, "hub.verify_token"))) {
        log_warn("webhook verification refused\tmode=%s",
                 mode && strcmp(mode, "subscribe") == 0 ? "subscribe" : "other");
        http_reply_error(req, 403, "forbidden", "Webhook verification failed");
        return;
    }
    if (!challenge) {
        http_reply_error(req, 400, "bad_request", "hub.challenge is missing");
        return;
    }
    log_info("webhook verified");
    http_reply_bytes(req, 200, "text/plain; charset=utf-8", challenge, strlen(challenge));
}
