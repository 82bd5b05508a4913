/* holds.h - sends held back for one template language or one sender number, short of
 * pausing the whole account (pause.h).
 *
 * A template language is held while Meta does not have it APPROVED (PAUSED, DISABLED,
 * REJECTED, PENDING, missing, ...): learnt from a message_template_status_update
 * webhook, a read of the template list (sync), or a send Graph refused with 132015
 * (paused), 132016 (disabled) or 132001 (not approved in that language). Its messages wait,
 * attempts unused; the other languages and templates go on. It is lifted by an APPROVED webhook, or
 * by a probe: one of its messages is let through after WHATSAPP_PAUSE_PROBE_MS, the next after
 * twice that, up to WHATSAPP_PAUSE_PROBE_MAX_MS, and the first one Graph accepts lifts the hold (so
 * a lost webhook never holds orders for ever). A held message is looked at again within
 * HOLDS_RECHECK_MS, so a lifted hold lets it go within that time.
 *
 * A number is held for HOLDS_NUMBER_MS after Graph refused one of its sends with 131057
 * (maintenance or throughput upgrade); its messages wait that minute, the other numbers
 * go on.
 *
 * Webhook events are ordered by their key (Meta's entry time in seconds, then the row id
 * the event got in whatsapp_account_events): an event older than the one applied to a
 * template changes nothing, so duplicates and reordering do not undo a newer state.
 * Process-wide and thread-safe. */
#ifndef NOTIFICATION_OUTBOX_HOLDS_H
#define NOTIFICATION_OUTBOX_HOLDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HOLDS_NUMBER_MS 60000 /* Meta: 131057 lasts up to a minute */
#define HOLDS_RECHECK_MS 5000
#define HOLDS_STATUS_MAX 24
#define HOLDS_REASON_MAX 256
#define HOLDS_NAME_MAX 512
#define HOLDS_LANGUAGE_MAX 16
#define HOLDS_PHONE_ID_MAX 64

/* The probe backoff of every hold; set once at start. */
void holds_configure(long probe_ms, long probe_max_ms);

/* An event's place in the order of events. */
struct holds_event_key {
    int64_t time_s; /* entry.time */
    int64_t seq;    /* whatsapp_account_events.id */
};

enum holds_applied {
    HOLDS_OLDER,   /* older than the event applied before: nothing changed */
    HOLDS_SAME,    /* applied; the template language was and stays as it was */
    HOLDS_CHANGED, /* applied; it is now held, or released */
};

/* Applies a template status event (status is Meta's event: APPROVED, PAUSED, ...). */
enum holds_applied holds_template_status(const char *name, const char *language, const char *status,
                                         const char *reason, struct holds_event_key key);

/* Graph refused a send of name in language with code (132015 paused, 132016 disabled,
 * 132001 not approved in that language). */
void holds_template_refused(const char *name, const char *language, long code, const char *message);

/* Graph accepted a send of name in language: a hold on it ends. */
void holds_template_sent(const char *name, const char *language);

/* What to do with a message of name in language at now_ms (monotonic). */
struct hold_check {
    long wait_ms;       /* 0: it may go (as the hold's probe when probe is set) */
    bool probe;         /* it goes as the probe of a held language */
    bool may_fall_back; /* held for want of approval (not a quality pause): a purchase
                           order may go in TEMPLATE_FALLBACK_LANGUAGE instead */
    long code;          /* Meta's code of the hold, -1 when an event or a read set it */
    char why[512];      /* "template_not_approved: template po_notification (ca) is
                           PENDING at Meta", or "waiting: ... is PAUSED ..." */
};
void holds_template_check(const char *name, const char *language, int64_t now_ms,
                          struct hold_check *out);

/* True while name in language is held (no side effect: no probe is handed out). */
bool holds_template_held(const char *name, const char *language);

/* Graph refused a send from phone_number_id with 131057: hold the number a minute. */
void holds_number_refused(const char *phone_number_id, long code, const char *message);

/* Milliseconds the number is still held at now_ms (monotonic), 0 when it is not; why and
 * *code as for templates. */
long holds_number_wait(const char *phone_number_id, int64_t now_ms, char *why, size_t len,
                       long *code);

/* One hold as the reports show it. */
struct hold_view {
    bool template; /* else a number */
    char name[HOLDS_NAME_MAX];
    char language[HOLDS_LANGUAGE_MAX];
    char phone_number_id[HOLDS_PHONE_ID_MAX];
    char status[HOLDS_STATUS_MAX]; /* PAUSED, DISABLED, REJECTED, MAINTENANCE */
    char reason[HOLDS_REASON_MAX];
    long code;        /* Meta's error code, -1 when an event held it */
    int64_t since_ms; /* wall clock */
    int64_t until_ms; /* wall clock: a number's end, the next probe of a template */
};

/* Copies up to max current holds into out; returns how many there are. */
size_t holds_list(struct hold_view *out, size_t max);

/* Forgets every hold and event (unit tests). */
void holds_clear(void);

#endif
