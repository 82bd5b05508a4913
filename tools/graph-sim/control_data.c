/* control_data.c - /_sim/ endpoints about data: seeding phone numbers and templates,
 * inbound messages, and what the simulator accepted. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "control.h"
#include "e164.h"
#include "ids.h"
#include "jsonutil.h"
#include "limiter.h"
#include "msgstore.h"
#include "phones.h"
#include "sessions.h"
#include "settings.h"
#include "sim.h"
#include "templates.h"
#include "users.h"
#include "webhook.h"

/* Reads the optional boolean "replace" of body; false on a wrong type (answered). */
static bool get_replace(struct http_request *req, const json_t *body, bool *replace)
{
    const json_t *v = json_object_get(body, "replace");
    *replace = false;
    if (!v)
        return true;
    if (!json_is_boolean(v)) {
        http_reply_field_error(req, 422, "invalid_value", "replace", "replace must be a boolean");
        return false;
    }
    *replace = json_is_true(v);
    return true;
}

static json_t *all_phones(void)
{
    static struct sim_phone list[SIM_MAX_PHONES];
    static pthread_mutex_t list_lock = PTHREAD_MUTEX_INITIALIZER;
    long mps, pair;
    json_t *arr = json_array();
    settings_limits(&mps, &pair);
    pthread_mutex_lock(&list_lock);
    size_t n = phones_list(list);
    for (size_t i = 0; i < n; i++) {
        json_t *o = phones_to_json(&list[i], PF_NODE_DEFAULT | PF_LAST_ONBOARDED, mps);
        json_object_set_new(o, "mps", json_integer(list[i].mps >= 0 ? list[i].mps : mps));
        json_array_append_new(arr, o);
    }
    pthread_mutex_unlock(&list_lock);
    return arr;
}

void control_handle_phones_get(struct http_request *req)
{
    http_reply_json(req, 200, json_pack("{s:o}", "phone_numbers", all_phones()));
}

/* POST of a seeded collection: seed(body[key], body.replace) and, when it took, the whole
 * collection as {key: list()}. after_replace (NULL = nothing) runs when it was replaced. */
static void seed_and_list(struct http_request *req, const char *key,
                          int (*seed)(const json_t *, bool, char *, size_t), json_t *(*list)(void),
                          void (*after_replace)(void))
{
    char err[256];
    bool replace;
    json_t *body = http_body_object(req);
    if (!body)
        return;
    if (!get_replace(req, body, &replace))
        goto out;
    if (seed(json_object_get(body, key), replace, err, sizeof err) != 0) {
        http_reply_field_error(req, 422, "invalid_value", key, "%s", err);
        goto out;
    }
    if (replace && after_replace)
        after_replace();
    http_reply_json(req, 200, json_pack("{s:o}", key, list()));
out:
    json_decref(body);
}

void control_handle_phones_post(struct http_request *req)
{
    /* after a replace the limiter's slots belong to other numbers */
    seed_and_list(req, "phone_numbers", phones_seed, all_phones, limiter_reset);
}

void control_handle_templates_get(struct http_request *req)
{
    http_reply_json(
        req, 200,
        json_pack("{s:o}", "templates", templates_list(NULL, NULL, NULL, NULL, TF_DEFAULT)));
}

void control_handle_templates_post(struct http_request *req)
{
    char err[256];
    bool replace;
    size_t i;
    json_t *item;
    json_t *body = http_body_object(req);
    json_t *created = json_array();
    if (!body)
        goto out;
    if (!get_replace(req, body, &replace))
        goto out;
    json_t *list = json_object_get(body, "templates");
    if (!json_is_array(list)) {
        http_reply_field_error(req, 422, "invalid_value", "templates",
                               "templates must be an array of template objects");
        goto out;
    }
    if (replace)
        templates_free();
    json_array_foreach (list, i, item) {
        struct tpl_info info;
        int rc = json_is_object(item)
                     ? templates_create(item, true, "APPROVED", NULL, &info, err, sizeof err)
                     : -1;
        if (!json_is_object(item))
            snprintf(err, sizeof err, "templates[%zu] must be an object", i);
        if (rc != 0) {
            http_reply_field_error(req, rc == -2 ? 409 : 422,
                                   rc == -2 ? "template_exists" : "invalid_value", "templates",
                                   "templates[%zu]: %s (%zu created before it)", i, err, i);
            goto out;
        }
        json_array_append_new(created,
                              json_pack("{s:s, s:s}", "id", info.id, "status", info.status));
    }
    http_reply_json(req, 200, json_pack("{s:O}", "created", created));
out:
    json_decref(created);
    json_decref(body);
}

void control_handle_inbound(struct http_request *req)
{
    static const struct json_field fields[] = {
        {"phone_number_id", JK_STRING, true, SIM_ID_MAX - 1},
        {"from", JK_STRING, false, 40},
        {"user_id", JK_STRING, false, 159},
        {"username", JK_STRING, false, 63},
        {"text", JK_STRING, true, 4096},
        {"name", JK_STRING, false, 256},
    };
    struct sim_phone phone;
    struct sim_user user;
    char e164[E164_MAX];
    char wamid[IDS_WAMID_MAX];
    long mps, pair;
    json_t *body = control_checked_body(req, fields, sizeof fields / sizeof fields[0]);
    if (!body)
        return;
    if (!phones_get(json_str(body, "phone_number_id"), &phone)) {
        http_reply_field_error(req, 422, "unknown_phone_number", "phone_number_id",
                               "No phone number with this id in the WABA");
        goto out;
    }
    const char *from = json_str(body, "from"), *user_id = json_str(body, "user_id");
    if ((!from && !user_id) || (from && !e164_normalize(from, e164))) {
        http_reply_field_error(req, 422, "invalid_value", "from",
                               "from must be an E.164 number such as +34600111222 (or give "
                               "user_id for a user known only by BSUID)");
        goto out;
    }
    /* Who the user is: by phone (with the BSUID when one is set), or by BSUID alone, in
     * which case the message carries neither from nor wa_id. */
    bool known = from ? users_by_wa_id(e164 + 1, &user) : users_by_user_id(user_id, &user);
    if (!known) {
        memset(&user, 0, sizeof user);
        snprintf(user.wa_id, sizeof user.wa_id, "%s", from ? e164 + 1 : "");
        snprintf(user.user_id, sizeof user.user_id, "%s", user_id ? user_id : "");
        user.hide_phone = !from;
    }
    if (json_str(body, "username"))
        snprintf(user.username, sizeof user.username, "%s", json_str(body, "username"));
    int64_t wall = sim_wall_ms();
    ids_wamid(user.wa_id[0] ? user.wa_id : "0", wamid);
    struct wh_inbound in = {
        .phone_id = phone.id,
        .display_digits = phone.digits,
        .from = user.hide_phone || !user.wa_id[0] ? NULL : user.wa_id,
        .user_id = user.user_id[0] ? user.user_id : NULL,
        .username = user.username[0] ? user.username : NULL,
        .name = json_str(body, "name") ? json_str(body, "name") : "",
        .text = json_str(body, "text"),
        .wamid = wamid,
        .timestamp = wall / 1000,
    };
    if (webhook_inbound(&in) != 0) {
        http_reply_error(req, 409, "no_webhook_url",
                         "No webhook URL is set (GRAPH_SIM_WEBHOOK_URL or /_sim/settings)");
        goto out;
    }
    if (user.wa_id[0])
        sessions_note(phone.id, user.wa_id, wall);
    settings_limits(&mps, &pair);
    limiter_note_inbound(phone.slot, phone.mps >= 0 ? phone.mps : mps, monotonic_ms());
    http_reply_json(req, 200, json_pack("{s:b, s:s}", "success", 1, "id", wamid));
out:
    json_decref(body);
}

void control_handle_users_get(struct http_request *req)
{
    http_reply_json(req, 200, json_pack("{s:o}", "users", users_json()));
}

void control_handle_users_post(struct http_request *req)
{
    seed_and_list(req, "users", users_set, users_json, NULL);
}

/* Reads an optional non-negative integer argument; false when it is not one (answered). */
static bool query_long(struct http_request *req, const char *key, long max, long *out)
{
    const char *v = http_query(req, key);
    if (!v)
        return true;
    if (!cfg_parse_long(v, 0, max, out)) {
        http_reply_field_error(req, 422, "invalid_value", key,
                               "%s must be an integer between 0 and %ld", key, max);
        return false;
    }
    return true;
}

void control_handle_messages(struct http_request *req)
{
    long since = 0, limit = 1000;
    struct msg_filter f;
    if (!query_long(req, "since_seq", 2147483647L, &since) ||
        !query_long(req, "limit", 1000000, &limit))
        return;
    const char *with_request = http_query(req, "request");
    memset(&f, 0, sizeof f);
    f.phone_id = http_query(req, "phone_number_id");
    f.to = http_query(req, "to");
    f.wamid = http_query(req, "id");
    f.template_name = http_query(req, "template");
    f.since_seq = (uint64_t)since;
    f.limit = limit;
    f.with_request = !with_request || strcmp(with_request, "false") != 0;
    http_reply_json(req, 200, msgstore_query(&f));
}

void control_handle_counts(struct http_request *req)
{
    long since = 0;
    if (!query_long(req, "since", 9999999999L, &since))
        return;
    http_reply_json(req, 200, msgstore_counts_json(since, http_query(req, "phone_number_id")));
}
