/* faults.h - faults set on demand through /_sim/faults: error codes injected by rate, by
 * count or for a recipient (synchronous, or asynchronous as a failed status), latency,
 * HTTP 5xx, dropped connections, token expiry, and webhook duplicates, reordering,
 * delay and an unreachable target; plus recipients that are not on WhatsApp. */
#ifndef SIM_FAULTS_H
#define SIM_FAULTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What happens to one Graph API request before it is looked at. */
struct fault_http {
    long latency_ms;
    bool drop;       /* close the connection without an answer */
    unsigned status; /* answer this 5xx instead (0 = no) */
};

struct fault_error {
    long code;
    bool async;           /* accept, then a failed status with this code */
    unsigned http_status; /* 0 = the catalogue's */
    char details[256];    /* empty = the catalogue's */
};

struct fault_webhooks {
    double duplicate_rate;
    double reorder_rate;
    long delay_ms;
    bool down;
};

/* An error with a scope (the whole account, one template and language, one number) that
 * holds until cleared or until until_ms on the simulator's wall clock (0 = no end). */
struct fault_scope {
    long code;
    int64_t until_ms;
    char details[256]; /* empty = the catalogue's */
};

/* Reads GRAPH_SIM_NOT_ON_WHATSAPP. Returns 0, or -1 with a reason in err. */
int faults_init(char *err, size_t errlen) __attribute__((warn_unused_result));
/* Back to no faults (and the configured not-on-WhatsApp list). */
void faults_clear(void);
/* Draws the request faults for one Graph API call. */
void faults_for_request(struct fault_http *out);
/* True when the token is to be treated as expired; *code is 190 or 0. */
bool faults_token_expired(long *code);
/* Draws the injected error for a send from phone_id to wa_id; false when none. */
bool faults_send_error(const char *phone_id, const char *wa_id, struct fault_error *out);
bool faults_not_on_whatsapp(const char *wa_id);
/* The account-wide error in force at now_ms (368, 131031, 131042, 131048, 131064,
 * 130497); false when none. */
bool faults_account_error(int64_t now_ms, struct fault_scope *out);
/* The error in force at now_ms for template name in language (132015/132016). */
bool faults_template_error(const char *name, const char *language, int64_t now_ms,
                           struct fault_scope *out);
/* The error in force at now_ms for one phone number (131057). */
bool faults_phone_error(const char *phone_id, int64_t now_ms, struct fault_scope *out);
/* True when wa_id is configured as unreachable (phone off: its messages wait for their
 * time to live and then fail). */
bool faults_unreachable(const char *wa_id);
void faults_webhooks(struct fault_webhooks *out);
/* Applies the keys present in obj (see docs/graph-sim.md). Returns 0, or -1 with a
 * reason in err and nothing changed. */
int faults_update(const json_t *obj, char *err, size_t errlen) __attribute__((warn_unused_result));
/* The current faults; a new reference. */
json_t *faults_json(void);

#endif
