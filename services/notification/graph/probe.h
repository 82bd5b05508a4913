/* probe.h - cheap Graph reads of one node. The one that comes before a real send while
 * the whole account is paused (outbox/pause.h): GET /{WABA_ID}?fields=health_status. A
 * read costs no message and reaches no supplier; only when it finds the account able to
 * send does one queued message go as the real probe. And the business portfolio's
 * messaging limit, which every number of the account carries. */
#ifndef NOTIFICATION_GRAPH_PROBE_H
#define NOTIFICATION_GRAPH_PROBE_H

#include <stdbool.h>
#include <stddef.h>

enum graph_probe {
    GRAPH_PROBE_OK,      /* answered; can_send_message AVAILABLE or LIMITED (or absent) */
    GRAPH_PROBE_BLOCKED, /* answered; the account cannot send (BLOCKED) */
    GRAPH_PROBE_FAILED,  /* no answer, or an error (a refused token among them) */
};

/* Reads the health of waba_id under base_url (no trailing '/') and version with token,
 * within timeout_ms. Writes what it found into why (for the log). */
enum graph_probe graph_probe_account(const char *base_url, const char *version, const char *waba_id,
                                     const char *token, long timeout_ms, char *why, size_t len);

/* Reads whatsapp_business_manager_messaging_limit ("TIER_250" ... "TIER_UNLIMITED") of
 * phone_id into tier; false, with what went wrong in why, when Graph did not give it. */
bool graph_read_messaging_limit(const char *base_url, const char *version, const char *phone_id,
                                const char *token, long timeout_ms, char *tier, size_t tier_len,
                                char *why, size_t len) __attribute__((warn_unused_result));

#endif
