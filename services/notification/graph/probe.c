/* probe.c - the cheap reads of one Graph node: GET /{WABA_ID}?fields=health_status for
 * can_send_message, GET /{PHONE_NUMBER_ID}?fields=whatsapp_business_manager_messaging_limit
 * for the portfolio's tier. */
#include "graph/probe.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "graph/errors.h"
#include "httpclient.h"

/* GETs fields of node_id into res; true when Graph answered 200, else false with what
 * went wrong in why. */
static bool read_node(const char *base_url, const char *version, const char *node_id,
                      const char *fields, const char *token, long timeout_ms,
                      struct httpc_result *res, char *why, size_t len)
{
    bool ok = false;
    char *node = curl_easy_escape(NULL, node_id, 0);
    char *url = xasprintf("%s/%s/%s?fields=%s", base_url, version, node ? node : "", fields);
    if (httpc_json("GET", url, token, NULL, timeout_ms, res) != 0) {
        snprintf(why, len, "no answer: %s", res->error);
    } else if (res->status != 200) {
        struct graph_outcome o;
        char *body = res->json ? json_dumps(res->json, JSON_COMPACT) : NULL;
        graph_parse_answer(res->status, body, body ? strlen(body) : 0, &o);
        free(body);
        snprintf(why, len, "HTTP %ld, code %ld: %s", res->status, o.code, o.message);
    } else {
        ok = true;
    }
    free(url);
    curl_free(node);
    return ok;
}

enum graph_probe graph_probe_account(const char *base_url, const char *version, const char *waba_id,
                                     const char *token, long timeout_ms, char *why, size_t len)
{
    struct httpc_result res = {0};
    enum graph_probe result = GRAPH_PROBE_FAILED;
    if (read_node(base_url, version, waba_id, "health_status", token, timeout_ms, &res, why, len)) {
        const char *can = json_string_value(
            json_object_get(json_object_get(res.json, "health_status"), "can_send_message"));
        snprintf(why, len, "can_send_message %s", can ? can : "not reported");
        result = can && strcmp(can, "BLOCKED") == 0 ? GRAPH_PROBE_BLOCKED : GRAPH_PROBE_OK;
    }
    httpc_result_free(&res);
    return result;
}

bool graph_read_messaging_limit(const char *base_url, const char *version, const char *phone_id,
                                const char *token, long timeout_ms, char *tier, size_t tier_len,
                                char *why, size_t len)
{
    struct httpc_result res = {0};
    bool ok = read_node(base_url, version, phone_id, "whatsapp_business_manager_messaging_limit",
                        token, timeout_ms, &res, why, len);
    const char *got = ok ? json_string_value(json_object_get(
                               res.json, "whatsapp_business_manager_messaging_limit"))
                         : NULL;
    if (ok && !got)
        snprintf(why, len, "the answer has no whatsapp_business_manager_messaging_limit");
    if (got)
        snprintf(tier, tier_len, "%s", got);
    httpc_result_free(&res);
    return got != NULL;
}
