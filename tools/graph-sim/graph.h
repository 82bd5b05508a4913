/* graph.h - the Graph API handlers (/{version}/...) and what they share: request faults,
 * the bearer-token check and Meta's answers for unknown objects and paths. */
#ifndef SIM_GRAPH_H
#define SIM_GRAPH_H

#include <stdbool.h>

#include "http.h"

/* Applies request faults (latency, dropped connection, HTTP 5xx), then checks the
 * bearer token (190 / 0) and the version segment. Returns true when it has answered. */
bool graph_begin(struct http_request *req);
/* Meta's answer for an id that is no object of this account (code 100, subcode 33). */
void graph_unknown_object(struct http_request *req, const char *id);
/* A node exists but has no such edge or field: (#100) Tried accessing nonexisting field. */
void graph_unknown_field(struct http_request *req, const char *field, const char *node_type);

void graph_handle_node(struct http_request *req);          /* GET /{v}/{id} */
void graph_handle_phone_numbers(struct http_request *req); /* GET /{v}/{waba}/phone_numbers */
void graph_handle_send(struct http_request *req);          /* POST /{v}/{phone}/messages */
void graph_handle_templates_get(struct http_request *req); /* GET /{v}/{waba}/message_templates */
void graph_handle_templates_post(struct http_request *req);
/* Anything else: Meta's unknown path (2500), or our 404 under /_sim/. */
void graph_handle_unknown(struct http_request *req);

#endif
