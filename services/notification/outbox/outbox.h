/* outbox.h - the sending side's SQL on whatsapp_messages (DESIGN.md section 6): claiming
 * due rows in batches under a lease, writing a batch of send results in one statement,
 * finding statuses that beat their send's answer, and the LISTEN connection that wakes
 * the workers. Runs on the calling thread's db.h connection. Every statement answers an
 * enum db_status (DB_OK; DB_UNAVAILABLE: the database cannot be reached, try later); the
 * LISTEN helpers answer as libpq does (a count or -1, a bool). */
#ifndef NOTIFICATION_OUTBOX_H
#define NOTIFICATION_OUTBOX_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "uuidutil.h"

enum outbox_kind { OUTBOX_PURCHASE_ORDER, OUTBOX_TEMPLATE };

/* A claimed row. Its strings point into the claim's result and live as long as it. */
/* The template every purchase order is sent with (DESIGN.md section 6). */
#define OUTBOX_PO_TEMPLATE "po_notification"

struct outbox_row {
    const char *id;
    const char *tenant_id;
    enum outbox_kind kind;
    const char *recipient; /* E.164 */
    const char *template_name;
    const char *language;   /* NULL when intake left it to the tenant's default */
    const char *parameters; /* template_parameters as JSON text */
    /* purchase orders: the payload's fields as exact text (NULL when absent) */
    const char *supplier_name;
    const char *po_number;
    const char *total_amount;
    const char *currency;
    int attempts;            /* Graph requests made so far */
    int64_t created_us;      /* wall-clock microseconds of created_at (exact) */
    bool opted_out;          /* the recipient opted out of this tenant's messages */
    const char *quota_month; /* the month whose quota unit it holds, "" when none */
    bool reach_taken;        /* it holds a messaging-limit place (claimed again) */
    /* channels (issue 21, migration 0014) */
    bool email;                  /* an email to recipient_email, not a WhatsApp message */
    const char *recipient_email; /* "" when none */
    const char *follows_reason;  /* "fallback", "resend" or "" */
    bool has_email;              /* the order's event gave a supplier_email */
};

struct outbox_claim {
    PGresult *res;
    struct outbox_row *rows;
    size_t n;
};

/* Claims up to limit due rows for owner for lease_seconds: queued rows whose
 * next_attempt_at has come, and sending rows whose lease has expired (their worker
 * died), only email rows when email_only. A WhatsApp row that names its number
 * (phone_number_id: it was tried, or handed over) is claimed only when that number is in
 * owned (a PostgreSQL array literal of the numbers this instance sends from, owners.h).
 * They become 'sending'. Fills out (free it with outbox_claim_free(), also after a
 * failure). */
enum db_status outbox_claim(const char *owner, long lease_seconds, size_t limit, bool email_only,
                            const char *owned, struct outbox_claim *out)
    __attribute__((warn_unused_result));
void outbox_claim_free(struct outbox_claim *c);

enum outbox_outcome {
    OUTBOX_SENT,    /* accepted by Graph: wamid, sent_at */
    OUTBOX_RETRY,   /* transient failure: queued again after delay_ms, error kept */
    OUTBOX_FAILED,  /* final: error_code and error_message kept */
    OUTBOX_SKIPPED, /* not to be sent: skip_reason */
    OUTBOX_RELEASE, /* not tried (limits, pause, settings, shutdown): queued after delay_ms */
};

#define OUTBOX_NO_CODE (-1L)

/* What happened to one claimed row. The char * fields are owned (NULL = leave the
 * column as it is); outbox_result_clear() frees them. */
struct outbox_result {
    char id[UUID_STR_LEN];
    enum outbox_outcome outcome;
    bool attempt_used;   /* a Graph request was made and counts against the limit */
    long delay_ms;       /* RETRY and RELEASE */
    int64_t answered_ms; /* wall clock of Graph's answer (sent_at, failed_at); 0: now */
    long error_code;     /* OUTBOX_NO_CODE when none */
    char *error_message;
    const char *skip_reason; /* static text */
    char *wamid;
    char *phone_number_id;
    char *language;
    char *parameters;    /* JSON array text */
    char *fallback_from; /* the language the message was meant for, when it went out in
                            TEMPLATE_FALLBACK_LANGUAGE instead; else NULL */
};

void outbox_result_clear(struct outbox_result *r);

/* Writes n results of rows owner holds, in one statement. A sent status never lowers
 * one a webhook already stored (whatsapp_status_rank). Rows whose lease owner changed
 * are left alone. */
enum db_status outbox_apply(const char *owner, struct outbox_result *const *results, size_t n)
    __attribute__((warn_unused_result));

/* One message of a batch against its tenant's monthly quota. */
struct outbox_quota_request {
    const char *tenant_id;  /* in */
    const char *message_id; /* in */
    long quota;             /* in: the tenant's quota for the month (>= 0) */
    bool granted;           /* out: it may go, holding a unit (else: quota_exceeded) */
    long used_before;       /* out: the tenant's month count before this batch */
    long tenant_granted;    /* out: units the tenant got in this batch */
    char month[11];         /* out: "2026-12-01", the month in BILLING_TIMEZONE */
};

/* Takes a unit of quota for each of n messages (sorted by tenant; none holding one) in
 * one atomic step, and marks the granted messages as holding theirs: a month's count
 * never passes its quota, whatever other workers and instances take, and a message
 * claimed again after a crash keeps its unit. outbox_apply() gives the unit back unless
 * Graph accepted the message. */
enum db_status outbox_quota_take(struct outbox_quota_request *req, size_t n, const char *timezone)
    __attribute__((warn_unused_result));

/* Adds the email row of each of n purchase orders (ids of their WhatsApp rows) whose
 * event has a supplier_email and that has none yet: the order goes both ways. */
enum db_status outbox_email_siblings(const char *const *ids, size_t n)
    __attribute__((warn_unused_result));

/* The business portfolio's messaging limit as an instance last recorded it (migration
 * 0013): *limit gets it, 0 when unlimited, -1 while unknown. */
enum db_status outbox_messaging_limit(long *limit) __attribute__((warn_unused_result));

/* One message of a batch against the account's messaging limit. */
struct outbox_reach_request {
    const char *tenant_id;  /* in */
    const char *recipient;  /* in: E.164 */
    const char *message_id; /* in */
    bool granted;           /* out: it may go (a known recipient, or a place taken) */
    bool taken;             /* out: it took a new recipient's place */
};

/* Takes places under the account's messaging limit (unique recipients in a rolling
 * 24 h, migration 0013) for n messages none of which holds one, in order, in one atomic
 * step: a recipient reached in the last 24 h is granted at no cost; a new one while the
 * account has fewer than limit, and once it has limit - share or more, only for a
 * tenant with fewer than share. *used gets the account's count after the batch,
 * *frees_in_ms the time until its oldest place frees (0: it has none). outbox_apply()
 * gives a place back unless Graph accepted its message. */
enum db_status outbox_reach_take(struct outbox_reach_request *req, size_t n, long limit, long share,
                                 long *used, long *frees_in_ms) __attribute__((warn_unused_result));

/* Applies to the template holds (holds.h) the newest stored status event of every
 * template language, as every instance learns of events another instance received;
 * *changed gets how many holds it set or lifted. */
enum db_status outbox_template_statuses(size_t *changed) __attribute__((warn_unused_result));

/* Sets pending[i] when a status for wamids[i] waits in whatsapp_pending_statuses (it
 * arrived before the wamid was stored). One query for the whole batch. */
enum db_status outbox_pending(const char *const *wamids, size_t n, bool *pending)
    __attribute__((warn_unused_result));

/* Applies and deletes the statuses that waited in whatsapp_pending_statuses for wamid,
 * which message_id (NULL when not a UUID) has just been given. *applied receives how
 * many there were. Part of writing a send's result. */
enum db_status outbox_pending_apply(const char *message_id, const char *wamid, long *applied)
    __attribute__((warn_unused_result));

/* The account's pause as every instance sees it (migration 0017, pause.h). _write stores
 * st and wakes the other instances' workers (NOTIFY whatsapp_outbox); _read gets it.
 * *version orders the stored states (it grows with each write). */
struct pause_state;
enum db_status outbox_pause_write(const struct pause_state *st, long *version)
    __attribute__((warn_unused_result));
enum db_status outbox_pause_read(struct pause_state *out, long *version)
    __attribute__((warn_unused_result));

/* NOTIFY whatsapp_outbox in a transaction of its own: wakes the workers of every
 * instance. */
enum db_status outbox_notify(void) __attribute__((warn_unused_result));

/* Opens a connection listening on the whatsapp_outbox channel; NULL when the server
 * cannot be reached. The caller PQfinish()es it. */
PGconn *outbox_listen(void);
/* Reads what arrived on c. Returns the number of notifications (0 or more) other
 * connections sent, or -1 when the connection is broken (close it and listen again
 * later). */
int outbox_listen_drain(PGconn *c);
/* Sends NOTIFY whatsapp_outbox on c, for the workers of the other instances. False when
 * the connection is broken. */
bool outbox_listen_notify(PGconn *c);

#endif
