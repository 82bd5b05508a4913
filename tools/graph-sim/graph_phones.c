/* graph_phones.c - GET /{version}/{waba}/phone_numbers and GET /{version}/{id} for a
 * phone number or the WABA itself. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "events.h"
#include "graph.h"
#include "graph_error.h"
#include "health.h"
#include "paging.h"
#include "phones.h"
#include "settings.h"
#include "sim.h"
#include "strlist.h"
#include "templates.h"

/* The portfolio's messaging limit as Meta names it. */
static const char *limit_tier(void)
{
    struct sim_settings set;
    settings_get(&set);
    return events_tier_name(set.messaging_limit);
}

/* Checks fields against known; answers the unknown one and returns false. */
static bool fields_known(struct http_request *req, const char *fields, const char *const *known,
                         size_t nknown, const char *node_type)
{
    const char *name;
    size_t n;
    while (strlist_next(&fields, &name, &n)) {
        if (n && strlist_find(known, nknown, name, n) == nknown) {
            char bad[72];
            snprintf(bad, sizeof bad, "%.*s", (int)(n > 64 ? 64 : n), name);
            graph_unknown_field(req, bad, node_type);
            return false;
        }
    }
    return true;
}

static void reply_waba(struct http_request *req)
{
    static const char *const known[] = {"id",
                                        "name",
                                        "currency",
                                        "timezone_id",
                                        "message_template_namespace",
                                        "account_review_status",
                                        "health_status",
                                        "whatsapp_business_manager_messaging_limit"};
    const char *fields = http_query(req, "fields");
    if (!fields_known(req, fields, known, sizeof known / sizeof known[0],
                      "WhatsAppBusinessAccount"))
        return;
    /* The plain fields always come back; the two 2026 ones only when asked for. */
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "id", sim_cfg.waba_id, "name",
                          "Bakery Platform (graph-sim)", "currency", "EUR", "timezone_id", "1",
                          "message_template_namespace", "b1d5f2c4_98a3_4c0e_9d36_5f3a6c1e7b20",
                          "account_review_status", "APPROVED");
    if (strlist_has(fields, "whatsapp_business_manager_messaging_limit"))
        json_object_set_new(o, "whatsapp_business_manager_messaging_limit",
                            json_string(limit_tier()));
    if (strlist_has(fields, "health_status"))
        json_object_set_new(o, "health_status", health_waba());
    gerr_reply_json(req, 200, o);
}

/* GET /{template_id}: the template node. */
static void reply_template(struct http_request *req, const char *id)
{
    static const char *const known[] = {"id",
                                        "name",
                                        "language",
                                        "status",
                                        "category",
                                        "quality_score",
                                        "components",
                                        "rejected_reason",
                                        "health_status",
                                        "message_send_ttl_seconds",
                                        "parameter_format"};
    struct tpl_info info;
    char name[513], language[16];
    const char *fields = http_query(req, "fields");
    if (!templates_by_id(id, &info, name, sizeof name, language, sizeof language))
        return;
    if (!fields_known(req, fields, known, sizeof known / sizeof known[0],
                      "WhatsAppMessageTemplate"))
        return;
    json_t *o = json_pack("{s:s}", "id", info.id);
    if (!fields || strlist_has(fields, "name"))
        json_object_set_new(o, "name", json_string(name));
    if (!fields || strlist_has(fields, "language"))
        json_object_set_new(o, "language", json_string(language));
    if (!fields || strlist_has(fields, "status"))
        json_object_set_new(o, "status", json_string(info.status));
    if (!fields || strlist_has(fields, "category"))
        json_object_set_new(o, "category", json_string(info.category));
    if (!fields || strlist_has(fields, "quality_score"))
        json_object_set_new(o, "quality_score", json_pack("{s:s}", "score", info.quality));
    if (strlist_has(fields, "message_send_ttl_seconds") && info.ttl_seconds)
        json_object_set_new(o, "message_send_ttl_seconds", json_integer(info.ttl_seconds));
    if (strlist_has(fields, "health_status"))
        json_object_set_new(o, "health_status", health_template(name, language, &info));
    gerr_reply_json(req, 200, o);
}

/* Adds the fields phones_to_json() leaves to the Graph handler. */
static json_t *phone_json(const struct sim_phone *p, unsigned mask, long mps)
{
    json_t *o = phones_to_json(p, mask, mps);
    if (mask & PF_WBM_LIMIT)
        json_object_set_new(o, "whatsapp_business_manager_messaging_limit",
                            json_string(limit_tier()));
    if (mask & PF_HEALTH)
        json_object_set_new(o, "health_status", health_phone(p));
    return o;
}

/* Reads the fields argument into *mask (left as it is without one) and the default
 * throughput into *mps; answers an unknown field and returns false. */
static bool phone_fields(struct http_request *req, unsigned *mask, long *mps)
{
    char bad[72];
    long pair;
    const char *fields = http_query(req, "fields");
    if (fields && !phones_parse_fields(fields, mask, bad, sizeof bad)) {
        graph_unknown_field(req, bad, "WhatsAppBusinessPhoneNumber");
        return false;
    }
    settings_limits(mps, &pair);
    return true;
}

void graph_handle_node(struct http_request *req)
{
    struct sim_phone phone;
    struct tpl_info probe;
    char pname[8], plang[8];
    long mps;
    unsigned mask = PF_NODE_DEFAULT;

    if (graph_begin(req))
        return;
    const char *id = http_param(req, "node");
    if (strcmp(id, sim_cfg.waba_id) == 0) {
        reply_waba(req);
        return;
    }
    if (!phones_get(id, &phone)) {
        if (templates_by_id(id, &probe, pname, sizeof pname, plang, sizeof plang))
            reply_template(req, id);
        else
            graph_unknown_object(req, id);
        return;
    }
    if (!phone_fields(req, &mask, &mps))
        return;
    gerr_reply_json(req, 200, phone_json(&phone, mask, mps));
}

void graph_handle_phone_numbers(struct http_request *req)
{
    static const char *const keep[] = {"fields", NULL};
    static struct sim_phone list[SIM_MAX_PHONES];
    static pthread_mutex_t list_lock = PTHREAD_MUTEX_INITIALIZER;
    struct sim_phone probe;
    unsigned mask = PF_LIST_DEFAULT;
    long mps;

    if (graph_begin(req))
        return;
    const char *id = http_param(req, "node");
    if (strcmp(id, sim_cfg.waba_id) != 0) {
        if (phones_get(id, &probe))
            graph_unknown_field(req, "phone_numbers", "WhatsAppBusinessPhoneNumber");
        else
            graph_unknown_object(req, id);
        return;
    }
    if (!phone_fields(req, &mask, &mps))
        return;
    json_t *items = json_array();
    pthread_mutex_lock(&list_lock); /* the copy is large: one static buffer, one user */
    size_t n = phones_list(list);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(items, phone_json(&list[i], mask, mps));
    pthread_mutex_unlock(&list_lock);
    json_t *page = paging_page(req, items, keep);
    if (page)
        gerr_reply_json(req, 200, page);
}
