/* webhook.h - the webhook sender: status webhooks after accepted sends (sent, delivered,
 * read, or failed with errors[]) and inbound text messages, batched per POST, signed
 * with X-Hub-Signature-256 over the exact bytes sent, retried with backoff while the
 * target is down. One background thread with one kept-alive libcurl handle. */
#ifndef SIM_WEBHOOK_H
#define SIM_WEBHOOK_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* What an accepted send leaves for the webhooks (all strings borrowed). */
struct wh_send {
    const char *wamid;
    const char *phone_id;
    const char *display_digits; /* metadata.display_phone_number */
    const char *wa_id;          /* recipient_id */
    const char *biz_opaque;     /* NULL when the request had none */
    const char *category;       /* pricing.category, lower case */
    const char *pricing_type;   /* regular, free_customer_service, ... (NULL = regular) */
    bool billable;
    const char *user_id;      /* recipient_user_id (BSUID), NULL = none */
    bool hide_recipient;      /* a username user: no recipient_id */
    long ttl_ms;              /* > 0: the recipient is unreachable; a failed status (the
                               * settings' ttl_error_code) after this long, nothing else */
    long fail_code;           /* 0 = sent/delivered/read; else one failed status */
    const char *fail_details; /* NULL = the catalogue's */
};

/* An inbound text message from a user to one of the numbers (strings borrowed). */
struct wh_inbound {
    const char *phone_id;
    const char *display_digits;
    const char *from;     /* wa_id; NULL for a user known only by user_id */
    const char *user_id;  /* BSUID, NULL = none */
    const char *username; /* NULL = none */
    const char *name;     /* profile name */
    const char *text;
    const char *wamid;
    int64_t timestamp; /* unix seconds */
};

/* Starts the sender thread. Returns 0, or -1 (logged). */
int webhook_start(void) __attribute__((warn_unused_result));
/* Stops the thread after the POST in flight; pending webhooks are dropped. */
void webhook_stop(void);
/* Schedules the statuses of an accepted send (nothing when no webhook URL is set). */
void webhook_schedule(const struct wh_send *s);
/* Queues an inbound message for delivery now. Returns 0, or -1 when no webhook URL is
 * set. */
int webhook_inbound(const struct wh_inbound *in) __attribute__((warn_unused_result));
/* Queues an account-level change (entry[].changes[] with this field and value, value
 * stolen) for delivery after delay_ms plus the webhook faults' delay; duplicates and
 * reordering apply as to statuses. Returns 0, or -1 when no webhook URL is set. */
int webhook_account(const char *field, json_t *value, long delay_ms)
    __attribute__((warn_unused_result));
/* Wakes the sender after faults or settings changed (ends a backoff wait). */
void webhook_kick(void);
/* Drops every pending webhook and zeroes the counters. */
void webhook_reset(void);
/* Webhook items waiting for delivery (for the metrics gauge). */
double webhook_pending(void *unused);
/* Counters and the queue length; a new reference. */
json_t *webhook_stats_json(void);

#endif
