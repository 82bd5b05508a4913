/* graph_error.h - Meta's error catalogue and the Graph API reply encoding:
 * {"error":{"message":"(#code) title","type":"OAuthException","code":N,"error_data":
 * {"messaging_product":"whatsapp","details":"..."},"fbtrace_id":"..."}}. */
#ifndef SIM_GRAPH_ERROR_H
#define SIM_GRAPH_ERROR_H

#include <jansson.h>
#include <stdbool.h>

#include "http.h"

struct gerr_info {
    long code;
    const char *title;   /* Meta's title; the message is "(#code) title" */
    const char *details; /* default error_data.details */
    unsigned status;     /* HTTP status in the "meta" style */
};

/* The catalogue entry of code, or NULL when the code is not one Meta documents. */
const struct gerr_info *gerr_lookup(long code);
/* Chooses between the specific statuses (429, 404, 503...) and 400 for every 4xx; the
 * reference says sources differ, so both are available (GRAPH_SIM_ERROR_STATUS). */
void gerr_set_all_400(bool all_400);
/* The HTTP status the simulator answers code with. */
unsigned gerr_status(long code);

/* Replies with code's catalogue error; details (printf format, may be NULL for the
 * default) become error_data.details. */
void gerr_reply(struct http_request *req, long code, const char *details_fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Replies with a fully specified error. subcode 0 = none; type NULL = OAuthException. */
void gerr_reply_ex(struct http_request *req, unsigned status, long code, long subcode,
                   const char *type, const char *message, const char *details);
/* The item of a failed status's errors[] for code; a new reference. */
json_t *gerr_async_error(long code, const char *details);
/* Sends body (stolen) encoded as Meta does: compact, non-ASCII escaped as \uXXXX. */
void gerr_reply_json(struct http_request *req, unsigned status, json_t *body);

#endif
