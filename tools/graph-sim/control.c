/* control.c - /_sim/ endpoints that steer the simulator: faults, settings, reset and
 * statistics. */
#include "control.h"

#include <stdio.h>

#include "faults.h"
#include "ids.h"
#include "limiter.h"
#include "msgstore.h"
#include "phones.h"
#include "prng.h"
#include "sessions.h"
#include "settings.h"
#include "sim.h"
#include "templates.h"
#include "webhook.h"

void control_reset_all(void)
{
    webhook_reset();
    settings_reset();
    faults_clear();
    phones_reset();
    templates_reset();
    limiter_reset();
    msgstore_reset();
    sessions_reset();
    prng_seed((uint64_t)sim_cfg.seed);
    ids_new_generation();
}

void sim_handle_ready(struct http_request *req)
{
    http_reply_json(req, 200, json_pack("{s:s}", "status", "ready"));
}

void control_handle_stats(struct http_request *req)
{
    http_reply_json(req, 200,
                    json_pack("{s:o, s:o, s:o, s:I}", "messages", msgstore_stats_json(), "webhooks",
                              webhook_stats_json(), "settings", settings_json(), "seed",
                              (json_int_t)prng_current_seed()));
}

void control_handle_reset(struct http_request *req)
{
    control_reset_all();
    http_reply_json(
        req, 200,
        json_pack("{s:b, s:s}", "success", 1, "message", "Simulator reset to its initial state"));
}

void control_handle_faults_get(struct http_request *req)
{
    http_reply_json(req, 200, faults_json());
}

void control_handle_faults_post(struct http_request *req)
{
    char err[256];
    json_t *body = http_body_object(req);
    if (!body)
        return;
    if (faults_update(body, err, sizeof err) != 0)
        http_reply_error(req, 422, "invalid_value", "%s", err);
    else {
        webhook_kick();
        http_reply_json(req, 200, faults_json());
    }
    json_decref(body);
}

void control_handle_faults_delete(struct http_request *req)
{
    faults_clear();
    webhook_kick();
    http_reply_json(req, 200, faults_json());
}

void control_handle_settings_get(struct http_request *req)
{
    http_reply_json(req, 200, settings_json());
}

void control_handle_settings_post(struct http_request *req)
{
    char err[256];
    json_t *body = http_body_object(req);
    if (!body)
        return;
    if (settings_update(body, err, sizeof err) != 0)
        http_reply_error(req, 422, "invalid_value", "%s", err);
    else {
        webhook_kick();
        http_reply_json(req, 200, settings_json());
    }
    json_decref(body);
}
