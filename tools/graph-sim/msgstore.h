/* msgstore.h - what the simulator accepted: the last GRAPH_SIM_MESSAGES_MAX sends with
 * their exact request bodies (GET /_sim/messages), per-number per-second counts of
 * outcomes (GET /_sim/messages/counts) and totals per error code (GET /_sim/stats). */
#ifndef SIM_MSGSTORE_H
#define SIM_MSGSTORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ids.h"
#include "sim.h"

struct msg_record {
    uint64_t seq; /* set by msgstore_add */
    char wamid[IDS_WAMID_MAX];
    char phone_id[SIM_ID_MAX];
    char to[64]; /* the "to" of the request, as sent */
    char wa_id[SIM_WA_ID_MAX];
    char type[16];
    char template_name[64];
    char language[16];
    int64_t accepted_ms; /* wall clock */
    char *body;          /* owned by the store once added */
    size_t body_len;
};

enum count_kind { COUNT_ACCEPTED, COUNT_THROTTLED, COUNT_PAIR, COUNT_ERROR };

struct msg_filter {
    const char *phone_id;
    const char *to; /* matches the request's "to" or its wa_id digits */
    const char *wamid;
    const char *template_name;
    uint64_t since_seq; /* only seq > since_seq */
    long limit;
    bool with_request; /* add the parsed body as "request" */
};

/* Sizes the history (older sends are forgotten past cap). */
void msgstore_init(size_t cap);
/* Stores m, copying body (len bytes); returns its sequence number (1, 2, ...). */
uint64_t msgstore_add(const struct msg_record *m, const char *body, size_t len);
/* Records an outcome of a send from phone slot in the second of wall_ms; code is the
 * error code (0 for an accepted send). */
void msgstore_count(int slot, const char *phone_id, int64_t wall_ms, enum count_kind kind,
                    long code);
/* Answers of the control API; new references. */
json_t *msgstore_query(const struct msg_filter *f);
json_t *msgstore_counts_json(int64_t since_sec, const char *phone_id);
json_t *msgstore_stats_json(void);
/* Sends accepted since start or reset (for the metrics gauge). */
double msgstore_accepted(void *unused);
void msgstore_reset(void);
void msgstore_free(void);

#endif
