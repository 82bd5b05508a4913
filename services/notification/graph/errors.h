/* errors.h - what one Graph API answer to a send means for its message: accepted (with
 * its wamid), a transient failure to retry later, a permanent failure, an error that
 * pauses the whole account, or one that holds a template language or a number
 * (DESIGN.md section 6, issue 18). Keyed on Meta's error.code, never
 * on the HTTP status alone or the title. Pure: no I/O and no state; the retry delay gets
 * its random number from the caller. */
#ifndef NOTIFICATION_GRAPH_ERRORS_H
#define NOTIFICATION_GRAPH_ERRORS_H

#include <stddef.h>
#include <stdint.h>

enum graph_class {
    GRAPH_SENT,      /* accepted: 2xx */
    GRAPH_TRANSIENT, /* retry with backoff: network, timeout, 5xx, throttling */
    GRAPH_PERMANENT, /* fail the message now, code and message kept */
    GRAPH_PAUSE,     /* the whole account cannot send: the master token is refused (0, 190),
                        or the account is restricted, locked, unpaid or over its spam
                        limit (368, 131031, 131042, 131048, 131064, 130497); pause every
                        send, burn nothing, probe until it works again */
    GRAPH_HOLD,      /* one template language (132015 paused, 132016 disabled) or one
                        number (131057, a minute) cannot send: hold its messages
                        (outbox/holds.h), burn nothing */
};

#define GRAPH_NO_CODE (-1L) /* the answer carried no error.code */
#define GRAPH_WAMID_MAX 256
#define GRAPH_MESSAGE_MAX 512

struct graph_outcome {
    enum graph_class cls;
    long code;                       /* Meta's error.code, or GRAPH_NO_CODE */
    char wamid[GRAPH_WAMID_MAX];     /* GRAPH_SENT: messages[0].id ("" when absent) */
    char message[GRAPH_MESSAGE_MAX]; /* failures: "(#code) title: details" or ours */
};

/* The class of error code (GRAPH_NO_CODE when there is none) in an answer with HTTP
 * status http_status. Codes Meta documents go by the table; an unknown code or a bare
 * status is transient for 5xx, 408 and 429, permanent otherwise. */
enum graph_class graph_classify(long http_status, long code);

/* Reads an HTTP answer (body need not be NUL-terminated; NULL when empty) into out. */
void graph_parse_answer(long http_status, const char *body, size_t len, struct graph_outcome *out);

/* A request that got no HTTP answer (refused, reset, timed out): transient, with error
 * (curl's text) in the message. */
void graph_transport_failure(const char *error, struct graph_outcome *out);

/* Milliseconds to wait before the next try after a transient failure with code, when
 * attempts requests have been made (>= 1). Full jitter: uniform in [0, min(max_ms,
 * base_ms * 2^(attempts-1))], from random. The pair limit (131056) instead waits
 * 4^attempts s as Meta asks, capped at max_ms, without jitter. */
long graph_retry_delay_ms(long code, int attempts, long base_ms, long max_ms, uint64_t random);

#endif
