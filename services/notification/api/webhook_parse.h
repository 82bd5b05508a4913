/* webhook_parse.h - the pure half of the webhook: a POST body in, the statuses, inbound
 * messages and account-level changes it carries out, each item checked on its own so that one bad
 * item never drops the rest. No I/O, so webhook.c and the fuzzer (tests/fuzz/fuzz_webhook.c) run
 * the same code. */
#ifndef NOTIFICATION_WEBHOOK_PARSE_H
#define NOTIFICATION_WEBHOOK_PARSE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "e164.h"

#define WEBHOOK_WAMID_MAX 256   /* Meta's wamids are about 60 characters */
#define WEBHOOK_USER_ID_MAX 128 /* BSUIDs: country code, a dot, digits */

/* One status report of a webhook; strings borrowed. */
struct webhook_status {
    const char *wamid;
    const char *status; /* "sent" | "delivered" | "read" | "failed" */
    long long ts;       /* unix seconds */
    bool has_error_code;
    long error_code;
    const char *error_message; /* NULL when none */
    const char *callback_id;   /* a canonical UUID (biz_opaque_callback_data), or NULL */
    const char *pricing;       /* the pricing object as JSON text, or NULL (absent or not an
                                  object: a status never fails for its pricing) */
    const char *user_id;       /* recipient_user_id (BSUID), or NULL */
};

enum inbound_action { INBOUND_OTHER, INBOUND_OPT_OUT, INBOUND_OPT_IN };

/* An inbound message: what it asks for and who sent it to which of our numbers. */
struct inbound {
    enum inbound_action action;
    const char *phone_number_id; /* the receiving number (borrowed) */
    char from[E164_MAX];         /* "" when the sender is known only by user_id */
    const char *user_id;         /* the sender's BSUID (from_user_id), or NULL */
    const char *id;              /* the inbound message's wamid (borrowed), or NULL */
    long long ts;
};

/* The account-level fields Meta sends besides "messages" (DESIGN.md, issue 18). */
extern const char *const webhook_account_fields[];
extern const size_t webhook_account_fields_count;

/* One account-level change: its field (one of webhook_account_fields, static) and value
 * (borrowed from the body), with its entry's time and WABA id. */
struct account_event {
    const char *field;
    const json_t *value; /* an object */
    long long time;      /* entry.time, unix seconds; the time of parsing when absent */
    const char *waba_id; /* entry.id, or NULL */
};

/* Everything one POST carries. Strings are borrowed from body, which the batch owns, as
 * it owns the composed error messages. */
struct webhook_batch {
    json_t *body;
    struct webhook_status *ev; /* known statuses (sent, delivered, read, failed) */
    size_t n, cap;
    struct inbound *in;
    size_t nin, incap;
    struct account_event *acc; /* account-level changes, in body order */
    size_t nacc, acccap;
    char **owned;
    size_t nowned, ownedcap;
    long statuses_invalid; /* skipped: not an object, no id, status or timestamp */
    long statuses_unknown; /* statuses Meta has that we have no use for ("deleted") */
    long inbound_invalid;  /* skipped: no receiving number, no valid sender */
    long events_invalid;   /* account-level changes whose value is not an object */
    long events_unknown;   /* changes of fields we do not subscribe to */
    long logged;
};

/* Parses raw (len bytes, embedded NULs allowed) into *b, which must be zeroed. Returns
 * false when raw is not a JSON object, with the reason in err; either way free *b with
 * webhook_batch_free(). The first bad items are logged (warn) with their position. */
bool webhook_parse(const char *raw, size_t len, struct webhook_batch *b, char *err, size_t errlen)
    __attribute__((warn_unused_result));

void webhook_batch_free(struct webhook_batch *b);

#endif
