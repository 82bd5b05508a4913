/* control.c - /_sim/ endpoints that steer the simulator: faults, settings, reset and
 * statistics. */
#include "control.h"

#include <stdio.h>
#include <time.h>

#include "faults.h"
#include "ids.h"
#include "limiter.h"
#include "msglimit.h"
#include "msgstore.h"
#include "phones.h"
#include "sessions.h"
#include "settings.h"
#include "sim.h"
#include "templates.h"
#include "users.h"
#include "versions.h"
#include "webhook.h"

void control_reset_all(void)
{
    webhook_reset();
    sim_clock_reset();
    settings_reset();
    faults_clear();
    phones_reset();
    templates_reset();
    limiter_reset();
    msgstore_reset();
    sessions_reset();
    users_reset();
    msglimit_reset();
    prng_seed(&sim_rng, (uint64_t)sim_cfg.seed);
    ids_new_generation();
}

json_t *control_checked_body(struct http_request *req, const struct json_field *fields, size_t n)
{
    const char *field, *problem;
    json_t *body = http_body_object(req);
    if (body && !json_check_object(body, fields, n, false, &field, &problem)) {
        http_reply_field_error(req, 422, "invalid_value", field, "%s %s", field ? field : "body",
                               problem);
        json_decref(body);
        body = NULL;
    }
    return body;
}

/* Applies body with update (a module's *_update), wakes the webhook sender and answers
 * show(); 422 with update's reason when it refused. */
static void update_and_show(struct http_request *req, int (*update)(const json_t *, char *, size_t),
                            json_t *(*show)(void))
{
    char err[256];
    json_t *body = http_body_object(req);
    if (!body)
        return;
    if (update(body, err, sizeof err) != 0)
        http_reply_error(req, 422, "invalid_value", "%s", err);
    else {
        webhook_kick();
        http_reply_json(req, 200, show());
    }
    json_decref(body);
}

void sim_handle_ready(struct http_request *req)
{
    http_reply_json(req, 200, json_pack("{s:s}", "status", "ready"));
}

void control_handle_stats(struct http_request *req)
{
    struct sim_settings set;
    settings_get(&set);
    http_reply_json(req, 200,
                    json_pack("{s:o, s:o, s:o, s:I, s:{s:I, s:I}}", "messages",
                              msgstore_stats_json(), "webhooks", webhook_stats_json(), "settings",
                              settings_json(), "seed", (json_int_t)prng_current_seed(&sim_rng),
                              "messaging_limit", "limit", (json_int_t)set.messaging_limit, "used",
                              (json_int_t)msglimit_used(sim_wall_ms())));
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
    update_and_show(req, faults_update, faults_json);
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
    update_and_show(req, settings_update, settings_json);
}

static json_t *clock_json(void)
{
    char when[40];
    int64_t now = sim_wall_ms();
    time_t t = (time_t)(now / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return json_pack("{s:s, s:I, s:o}", "now", when, "now_ms", (json_int_t)now, "versions",
                     versions_json(now));
}

void control_handle_clock_get(struct http_request *req)
{
    http_reply_json(req, 200, clock_json());
}

void control_handle_clock_post(struct http_request *req)
{
    int64_t at;
    json_t *body = http_body_object(req);
    if (!body)
        return;
    const json_t *now = json_object_get(body, "now");
    const json_t *adv = json_object_get(body, "advance_ms");
    if (now && !json_is_null(now)) {
        char buf[32];
        if (json_is_integer(now))
            snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(now));
        else
            snprintf(buf, sizeof buf, "%s", json_string_value(now) ? json_string_value(now) : "");
        if (!sim_parse_time(buf, &at)) {
            http_reply_field_error(req, 422, "invalid_value", "now",
                                   "now must be YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ or unix seconds");
            goto out;
        }
        sim_clock_set_ms(at);
    } else if (now) {
        sim_clock_reset();
    }
    if (adv) {
        if (!json_is_integer(adv) || json_integer_value(adv) < 0 ||
            json_integer_value(adv) > 10LL * 365 * 86400 * 1000) {
            http_reply_field_error(req, 422, "invalid_value", "advance_ms",
                                   "advance_ms must be a non-negative integer");
            goto out;
        }
        sim_clock_advance_ms((int64_t)json_integer_value(adv));
    }
    http_reply_json(req, 200, clock_json());
out:
    json_decref(body);
}
