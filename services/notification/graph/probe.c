/* probe.c - GET /{WABA_ID}?fields=health_status, read for can_send_message. */
#include "graph/probe.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "graph/errors.h"
#include "httpclient.h"

enum graph_probe graph_probe_account(const char *base_url, const char *version, const char *waba_id,
                                     const char *token, long timeout_ms, char *why, size_t len)
{
    struct httpc_result res = {0};
    enum graph_probe result = GRAPH_PROBE_FAILED;
    char *waba = curl_easy_escape(NULL, waba_id, 0);
    char *url = xasprintf("%s/%s/%s?fields=health_status", base_url, version, waba ? waba : "");

    if (httpc_json("GET", url, token, NULL, timeout_ms, &res) != 0) {
        snprintf(why, len, "no answer: %s", res.error);
    } else if (res.status != 200) {
        struct graph_outcome o;
        char *body = res.json ? json_dumps(res.json, JSON_COMPACT) : NULL;
        graph_parse_answer(res.status, body, body ? strlen(body) : 0, &o);
        free(body);
        snprintf(why, len, "HTTP %ld, code %ld: %s", res.status, o.code, o.message);
    } else {
        const char *can = json_string_value(
            json_object_get(json_object_get(res.json, "health_status"), "can_send_message"));
        snprintf(why, len, "can_send_message %s", can ? can : "not reported");
        result = can && strcmp(can, "BLOCKED") == 0 ? GRAPH_PROBE_BLOCKED : GRAPH_PROBE_OK;
    }
    httpc_result_free(&res);
    free(url);
    curl_free(waba);
    return result;
}
