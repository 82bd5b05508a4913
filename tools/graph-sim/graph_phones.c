/* graph_phones.c - GET /{version}/{waba}/phone_numbers and GET /{version}/{id} for a
 * phone number or the WABA itself. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "graph.h"
#include "graph_error.h"
#include "paging.h"
#include "phones.h"
#include "settings.h"
#include "sim.h"

static void reply_waba(struct http_request *req)
{
    static const char *const known[] = {"id",
                                        "name",
                                        "currency",
                                        "timezone_id",
                                        "message_template_namespace",
                                        "account_review_status"};
    const char *fields = http_query(req, "fields");
    /* Checks the names only: the WABA node always answers with all its fields. */
    for (const char *s = fields; s && *s;) {
        size_t n = strcspn(s, ",");
        size_t i = 0;
        while (i < sizeof known / sizeof known[0] &&
               !(strlen(known[i]) == n && strncmp(known[i], s, n) == 0))
            i++;
        if (n && i == sizeof known / sizeof known[0]) {
            char bad[72];
            snprintf(bad, sizeof bad, "%.*s", (int)(n > 64 ? 64 : n), s);
            graph_unknown_field(req, bad, "WhatsAppBusinessAccount");
            return;
        }
        s += n;
        if (*s == ',')
            s++;
    }
    gerr_reply_json(req, 200,
                    json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "id", sim_cfg.waba_id, "name",
                              "Bakery Platform (graph-sim)", "currency", "EUR", "timezone_id", "1",
                              "message_template_namespace", "b1d5f2c4_98a3_4c0e_9d36_5f3a6c1e7b20",
                              "account_review_status", "APPROVED"));
}

void graph_handle_node(struct http_request *req)
{
    struct sim_phone phone;
    long mps, pair;
    char bad[72];
    unsigned mask = PF_NODE_DEFAULT;

    if (graph_begin(req))
        return;
    const char *id = http_param(req, "node");
    if (strcmp(id, sim_cfg.waba_id) == 0) {
        reply_waba(req);
        return;
    }
    if (!phones_get(id, &phone)) {
        graph_unknown_object(req, id);
        return;
    }
    const char *fields = http_query(req, "fields");
    if (fields && !phones_parse_fields(fields, &mask, bad, sizeof bad)) {
        graph_unknown_field(req, bad, "WhatsAppBusinessPhoneNumber");
        return;
    }
    settings_limits(&mps, &pair);
    gerr_reply_json(req, 200, phones_to_json(&phone, mask, mps));
}

void graph_handle_phone_numbers(struct http_request *req)
{
    static const char *const keep[] = {"fields", NULL};
    static struct sim_phone list[SIM_MAX_PHONES];
    static pthread_mutex_t list_lock = PTHREAD_MUTEX_INITIALIZER;
    struct sim_phone probe;
    unsigned mask = PF_LIST_DEFAULT;
    char bad[72];
    long mps, pair;

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
    const char *fields = http_query(req, "fields");
    if (fields && !phones_parse_fields(fields, &mask, bad, sizeof bad)) {
        graph_unknown_field(req, bad, "WhatsAppBusinessPhoneNumber");
        return;
    }
    settings_limits(&mps, &pair);
    json_t *items = json_array();
    pthread_mutex_lock(&list_lock); /* the copy is large: one static buffer, one user */
    size_t n = phones_list(list);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(items, phones_to_json(&list[i], mask, mps));
    pthread_mutex_unlock(&list_lock);
    json_t *page = paging_page(req, items, keep);
    if (page)
        gerr_reply_json(req, 200, page);
}
