/* pause.h - the process-wide "sending is paused" state of the whole account.
 *
 * An error that stops the whole account (graph/errors.h GRAPH_PAUSE: the token refused,
 * the account restricted, locked, unpaid or over its spam limit) pauses every send:
 * messages stay queued instead of burning their attempts. So does an `account_update`
 * webhook that restricts the account. The sender and the webhook set it; /ready, the
 * config-status and health endpoints report it; a successful probe (a cheap Graph read,
 * then one real send) clears it, and so does an operator (POST
 * /api/v1/admin/whatsapp/resume). It is the whole account's: every instance follows the
 * one stored in the database (whatsapp_account_pause). */
#ifndef NOTIFICATION_PAUSE_H
#define NOTIFICATION_PAUSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PAUSE_REASON_MAX 256

/* What paused sending. */
enum pause_source {
    PAUSE_BY_SEND,  /* Graph refused a send with an account-wide error */
    PAUSE_BY_EVENT, /* an account_update webhook restricted the account */
};

struct pause_state {
    bool paused;
    long code;                     /* Meta's error code, or -1 when it gave none */
    char reason[PAUSE_REASON_MAX]; /* Meta's message, e.g. "(#131042) Business eligibility..." */
    int64_t since_ms;              /* wall clock (ms since the epoch) when it paused */
    enum pause_source source;
};

/* Pauses sending for code (or -1) with a reason (copied). A pause already in place keeps
 * its start and first reason. */
void pause_set(enum pause_source source, long code, const char *reason);
void pause_clear(void);
/* True while paused; copies the reason into reason (when not NULL). */
bool pause_get(char *reason, size_t len);
/* The whole state, for the reports; returns its paused flag. */
bool pause_state(struct pause_state *out);
/* Every instance follows one pause (issue 23): the worker stores this process's changes
 * in the database and adopts the others'. pause_changes() counts this process's own
 * changes (set, clear); pause_adopt() takes the stored state unless a change of this
 * process came after expected_changes (it is to be stored first), and says whether it
 * took it. */
unsigned long pause_changes(void);
bool pause_adopt(const struct pause_state *stored, unsigned long expected_changes);
/* "send" or "event". */
const char *pause_source_name(enum pause_source source);

#endif
