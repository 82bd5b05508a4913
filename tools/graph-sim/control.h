/* control.h - the control API under /_sim/ (our JSON, not Meta's): faults, settings,
 * seeding, inbound messages, what was received, statistics and reset. */
#ifndef SIM_CONTROL_H
#define SIM_CONTROL_H

#include "http.h"
#include "jsonutil.h"

void control_handle_stats(struct http_request *req);           /* GET /_sim/stats */
void control_handle_reset(struct http_request *req);           /* POST /_sim/reset */
void control_handle_faults_get(struct http_request *req);      /* GET /_sim/faults */
void control_handle_faults_post(struct http_request *req);     /* POST /_sim/faults */
void control_handle_faults_delete(struct http_request *req);   /* DELETE /_sim/faults */
void control_handle_settings_get(struct http_request *req);    /* GET /_sim/settings */
void control_handle_settings_post(struct http_request *req);   /* POST /_sim/settings */
void control_handle_phones_get(struct http_request *req);      /* GET /_sim/phone_numbers */
void control_handle_phones_post(struct http_request *req);     /* POST /_sim/phone_numbers */
void control_handle_templates_get(struct http_request *req);   /* GET /_sim/templates */
void control_handle_templates_post(struct http_request *req);  /* POST /_sim/templates */
void control_handle_inbound(struct http_request *req);         /* POST /_sim/inbound */
void control_handle_messages(struct http_request *req);        /* GET /_sim/messages */
void control_handle_counts(struct http_request *req);          /* GET /_sim/messages/counts */
void control_handle_clock_get(struct http_request *req);       /* GET /_sim/clock */
void control_handle_clock_post(struct http_request *req);      /* POST /_sim/clock */
void control_handle_account_events(struct http_request *req);  /* POST /_sim/account-events */
void control_handle_template_update(struct http_request *req); /* POST /_sim/templates/update */
void control_handle_phone_update(struct http_request *req);    /* POST /_sim/phone_numbers/update */
void control_handle_users_get(struct http_request *req);       /* GET /_sim/users */
void control_handle_users_post(struct http_request *req);      /* POST /_sim/users */
void sim_handle_ready(struct http_request *req);               /* GET /ready */

/* The body of req when it is a JSON object whose keys are fields (n of them), each of its
 * kind (json_check_object); a new reference. NULL when it is not (answered 422, or as
 * http_body_object() answers). */
json_t *control_checked_body(struct http_request *req, const struct json_field *fields, size_t n);

/* Puts every module back to its state at start (what POST /_sim/reset does). */
void control_reset_all(void);

#endif
