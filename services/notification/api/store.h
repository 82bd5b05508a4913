/* store.h - the SQL of notification-service's API side: outbox rows created by intake,
 * message listings, status webhooks, opt-outs, retention and queue gauges. Every
 * function returns a db_status (DB_OK, or DB_UNAVAILABLE to answer 503 with). */
#ifndef NOTIFICATION_STORE_H
#define NOTIFICATION_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "db.h"
#include "uuidutil.h"
#include "api/webhook_parse.h"

/* ---------- intake ---------- */

/* A new outbox row; every string is borrowed and must be valid UTF-8 without NULs. */
struct store_new_message {
    const char *id; /* a fresh UUID */
    const char *tenant_id;
    const char *idempotency_key;
    const char *kind; /* "purchase_order" | "template" */
    const char *request_hash;
    const char *recipient_phone;
    const char *template_name;
    const char *template_language;   /* NULL: the tenant's default, resolved at send time */
    const char *template_parameters; /* JSON text */
    const char *payload;             /* JSON text */
    const char *status;              /* "queued" | "skipped" */
    const char *skip_reason;         /* NULL unless skipped */
};

/* m's strings in the order of the INSERT's columns (borrowed from m). */
#define STORE_MESSAGE_FIELDS 12
void store_message_fields(const struct store_new_message *m, const char *out[STORE_MESSAGE_FIELDS]);
/* A copy of m in one allocation, its strings included: the caller free()s it. */
struct store_new_message *store_message_copy(const struct store_new_message *m);

struct store_message_ref {
    enum db_status st; /* of this message: DB_OK, or why it has no answer */
    char id[UUID_STR_LEN];
    char status[16];
    bool created;      /* false: the idempotency key was already used */
    bool same_request; /* when not created: the stored request hashes the same */
};

/* Inserts m unless (tenant_id, idempotency_key) exists. Fills out with the new row, or
 * with the existing one and whether its request hash matches. Waking the workers is the
 * caller's (wakeup.h). */
enum db_status store_message_create(const struct store_new_message *m,
                                    struct store_message_ref *out)
    __attribute__((warn_unused_result));

/* The group commit of n messages: one statement, so one transaction and one WAL flush,
 * each message inserted unless its (tenant_id, idempotency_key) exists. out[i] answers
 * m[i] as store_message_create() would have, had they come one after the other in this
 * order: of several messages with one key in the batch, the first makes the row (or
 * finds it) and each later one finds it, same_request when its hash equals the row's.
 * A key committed meanwhile by another transaction is asked for again on its own (out[i].st
 * is then that request's status). Returns the batch statement's status: on DB_OK each
 * out[i].st tells; on failure the caller answers that status for every message, and
 * either nothing of the batch is stored or, when the connection broke during the
 * commit, all of it (a replay of such a request is then answered as a replay). n = 1
 * is store_message_create() itself: the plain INSERT costs PostgreSQL less. */
enum db_status store_messages_create(const struct store_new_message *m, size_t n,
                                     struct store_message_ref *out)
    __attribute__((warn_unused_result));

/* ---------- reading ---------- */

struct store_message_filter {
    const char *tenant_id; /* NULL: every tenant */
    const char *status;    /* NULL: every status */
    const char *since;     /* timestamptz text, NULL: no lower bound */
    const char *before_at; /* keyset cursor: created_at text ... */
    const char *before_id; /* ... and id of the last row already seen; NULL: first page */
    long limit;
};

/* The messages matching f, newest first, as a new JSON array of objects (the caller
 * owns *out). */
enum db_status store_message_list(const struct store_message_filter *f, json_t **out)
    __attribute__((warn_unused_result));

/* One message with its payload as a new JSON object in *out, or *out = NULL when there
 * is none with that id (in tenant_id's rows when tenant_id is not NULL). */
enum db_status store_message_get(const char *id, const char *tenant_id, json_t **out)
    __attribute__((warn_unused_result));

/* ---------- an order's story, resend and cancel (issue 21) ---------- */

/* The rows of one purchase order of tenant_id, oldest first: the event's own row (kind
 * purchase_order, idempotency_key = event_id, no order_event_id) and every row with
 * order_event_id = event_id (email, fallbacks, resends). *out gets a new JSON array of
 * {"event": true|false, "payload": the stored request or null, "message": the message
 * as store_message_list() gives it}; empty when the tenant has no such order. */
enum db_status store_order_rows(const char *tenant_id, const char *event_id, json_t **out)
    __attribute__((warn_unused_result));

/* The rows of the tenant's limit most recent purchase orders, in the same shape plus
 * "event_id", newest order first and each order's rows oldest first. */
enum db_status store_order_recent(const char *tenant_id, long limit, json_t **out)
    __attribute__((warn_unused_result));

/* The row a resend or cancel acts on: what decides what may be done and how. */
struct store_message_head {
    bool found;
    char tenant_id[UUID_STR_LEN];
    char kind[16];
    char channel[16];
    char status[16];
    json_t *payload;       /* owned (json_decref): the stored request */
    char *recipient_phone; /* owned; "" when none */
    char *recipient_email; /* owned; NULL when none */
};

/* Reads message id (in tenant_id's rows when tenant_id is not NULL) into *out; found is
 * false when there is none. Free with store_message_head_free(). */
enum db_status store_message_head(const char *id, const char *tenant_id,
                                  struct store_message_head *out)
    __attribute__((warn_unused_result));
void store_message_head_free(struct store_message_head *h);

/* A resend of message follows: a new row of the same tenant, kind and template, linked to
 * it (follows_id, follows_reason 'resend', order_event_id the order's). Strings borrowed. */
struct store_resend {
    const char *id;              /* a fresh UUID */
    const char *tenant_id;       /* the message's */
    const char *follows;         /* the message resent */
    const char *idempotency_key; /* stored as given: the caller prefixes it */
    const char *request_hash;
    const char *channel; /* "whatsapp" | "email" */
    const char *recipient_phone;
    const char *recipient_email; /* NULL for WhatsApp without one */
    const char *payload;         /* JSON text: the request with the corrections */
    const char *status;          /* "queued" | "skipped" */
    const char *skip_reason;
};

/* Inserts r unless the tenant has used r->idempotency_key; fills out as
 * store_message_create() does, with an empty id when the message resent no longer
 * exists. Waking the workers is the caller's. */
enum db_status store_message_resend(const struct store_resend *r, struct store_message_ref *out)
    __attribute__((warn_unused_result));

/* Cancels message id (in tenant_id's rows when not NULL) if it is queued: status
 * 'canceled', out of the queue. status receives the message's status after the call
 * ("" when there is no such message) and *canceled whether this call canceled it. */
enum db_status store_message_cancel(const char *id, const char *tenant_id, char status[16],
                                    bool *canceled) __attribute__((warn_unused_result));

/* ---------- webhook statuses ---------- */

struct store_status_counts {
    long matched; /* events that found their message */
    long applied; /* events of messages that changed */
    long pending; /* events kept for a wamid not stored yet */
};

/* Applies n events with the one-way status order, matching by wamid and, for a message
 * whose wamid is not stored yet, by callback id; events that match nothing are kept in
 * whatsapp_pending_statuses. One statement for the whole batch. */
enum db_status store_statuses_apply(const struct webhook_status *ev, size_t n,
                                    struct store_status_counts *out)
    __attribute__((warn_unused_result));

/* ---------- opt-outs ---------- */

/* Opts phone out of (opt_out) or back into the messages of the tenants that sent to it
 * from phone_number_id; when none did, of the tenant that last sent from that number.
 * ts is the inbound message's unix time: an opt-in removes only older opt-outs.
 * *tenants receives how many tenants it concerned (0: the number is unknown). */
enum db_status store_opt_change(bool opt_out, const char *phone_number_id, const char *phone,
                                long long ts, const char *source_id, long *tenants)
    __attribute__((warn_unused_result));

/* The phone the business-scoped user id was last seen with in a status, into phone
 * ("" when never). */
enum db_status store_user_phone(const char *user_id, char *phone, size_t len)
    __attribute__((warn_unused_result));

/* ---------- account events ---------- */

/* Stores one account-level webhook change (value: its JSON text) unless the same one is
 * stored already; *id gets the new row's id, or 0 for a repeat. */
enum db_status store_account_event_add(const char *field, const char *waba_id, long long time,
                                       const char *value, long long *id)
    __attribute__((warn_unused_result));

/* Up to limit stored events, newest first, of field (NULL: all) with an id below
 * before_id (NULL: any), as a new JSON array in *out. */
enum db_status store_account_event_list(const char *field, const char *before_id, long limit,
                                        json_t **out) __attribute__((warn_unused_result));

/* Deletes account events received more than days ago. */
enum db_status store_account_events_prune(long days, long *deleted)
    __attribute__((warn_unused_result));
/* Deletes the user ids' phones (migration 0020) last named by a message older than days. */
enum db_status store_user_phones_prune(long days, long *deleted)
    __attribute__((warn_unused_result));

/* Records the business portfolio's messaging limit as Meta reported it (0: unlimited)
 * for every instance's outbox (migration 0013); *changed tells whether it differs from
 * the one recorded before. */
enum db_status store_messaging_limit_report(long limit, const char *source, bool *changed)
    __attribute__((warn_unused_result));

/* ---------- quota usage ---------- */

/* The tenant's quota units taken this month (whatsapp_quota_usage, 0 without a row) and
 * the month, "2026-12", in billing_tz. */
enum db_status store_quota_usage(const char *tenant_id, const char *billing_tz, char month[8],
                                 long *used) __attribute__((warn_unused_result));

/* ---------- retention and gauges ---------- */

/* Deletes up to batch messages created more than days ago, adding their counters to
 * whatsapp_usage_rollup under their month in billing_tz in the same statement; *deleted
 * gets how many. */
enum db_status store_retention_delete(long days, long batch, const char *billing_tz, long *deleted)
    __attribute__((warn_unused_result));
/* Deletes pending statuses received more than max_age_seconds ago. */
enum db_status store_pending_prune(long max_age_seconds, long *deleted)
    __attribute__((warn_unused_result));

/* Messages still to send (queued or sending) and the age of the oldest queued one. */
enum db_status store_queue_stats(long *depth, double *oldest_queued_seconds)
    __attribute__((warn_unused_result));

#endif
