/* errors.c - the table of Meta's error codes and the reading of a send's answer. */
#include "graph/errors.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

struct code_class {
    long code;
    enum graph_class cls;
};

/* DESIGN.md section 6, and the reference's table for the codes DESIGN does not list
 * (10, 131005, 131047, 131049: none is worth a quick retry). The account-wide errors
 * (issue 18) pause every send: on a shared account they hit every bakery at once, and
 * failing each message would burn every bakery's orders. A paused or disabled template
 * (132015, 132016) and a number in maintenance (131057) hold only their own messages. */
static const struct code_class table[] = {
    {0, GRAPH_PAUSE},          {190, GRAPH_PAUSE},        {368, GRAPH_PAUSE},
    {131031, GRAPH_PAUSE},     {131042, GRAPH_PAUSE},     {131048, GRAPH_PAUSE},
    {131064, GRAPH_PAUSE},     {130497, GRAPH_PAUSE},     {1, GRAPH_TRANSIENT},
    {2, GRAPH_TRANSIENT},      {4, GRAPH_TRANSIENT},      {80007, GRAPH_TRANSIENT},
    {130429, GRAPH_TRANSIENT}, {131000, GRAPH_TRANSIENT}, {131016, GRAPH_TRANSIENT},
    {131056, GRAPH_TRANSIENT}, {131057, GRAPH_HOLD},      {10, GRAPH_PERMANENT},
    {100, GRAPH_PERMANENT},    {131005, GRAPH_PERMANENT}, {131008, GRAPH_PERMANENT},
    {131009, GRAPH_PERMANENT}, {131021, GRAPH_PERMANENT}, {131026, GRAPH_PERMANENT},
    {131045, GRAPH_PERMANENT}, {131047, GRAPH_PERMANENT}, {131049, GRAPH_PERMANENT},
    {131051, GRAPH_PERMANENT}, {132000, GRAPH_PERMANENT}, {132001, GRAPH_PERMANENT},
    {132005, GRAPH_PERMANENT}, {132007, GRAPH_PERMANENT}, {132012, GRAPH_PERMANENT},
    {132015, GRAPH_HOLD},      {132016, GRAPH_HOLD},      {133010, GRAPH_PERMANENT},
};

#define PAIR_RATE_LIMIT 131056

static enum graph_class by_status(long http_status)
{
    if (http_status >= 200 && http_status < 300)
        return GRAPH_SENT;
    if (http_status >= 500 || http_status == 408 || http_status == 429)
        return GRAPH_TRANSIENT;
    return GRAPH_PERMANENT;
}

enum graph_class graph_classify(long http_status, long code)
{
    if (code == GRAPH_NO_CODE)
        return by_status(http_status);
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        if (table[i].code == code)
            return table[i].cls;
    }
    enum graph_class cls = by_status(http_status);
    return cls == GRAPH_SENT ? GRAPH_PERMANENT : cls; /* an error object on a 2xx */
}

/* Reads error.code and "message: details" from an error object. */
static void read_error(const json_t *error, struct graph_outcome *out)
{
    const json_t *code = json_object_get(error, "code");
    const char *message = json_string_value(json_object_get(error, "message"));
    const char *details =
        json_string_value(json_object_get(json_object_get(error, "error_data"), "details"));

    if (json_is_integer(code) && json_integer_value(code) >= 0)
        out->code = (long)json_integer_value(code);
    if (!message || !*message)
        message = "Graph API error";
    if (details && *details && strcmp(details, message) != 0)
        snprintf(out->message, sizeof out->message, "%s: %s", message, details);
    else
        snprintf(out->message, sizeof out->message, "%s", message);
}

/* messages[0].id of an accepted send, when it is there and fits. */
static void read_wamid(const json_t *root, struct graph_outcome *out)
{
    const char *id = json_string_value(
        json_object_get(json_array_get(json_object_get(root, "messages"), 0), "id"));
    if (id && strlen(id) < sizeof out->wamid)
        snprintf(out->wamid, sizeof out->wamid, "%s", id);
}

void graph_parse_answer(long http_status, const char *body, size_t len, struct graph_outcome *out)
{
    json_t *root = NULL;
    const json_t *error = NULL;

    memset(out, 0, sizeof(*out));
    out->code = GRAPH_NO_CODE;
    if (body && len)
        root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
    error = json_object_get(root, "error");
    if (json_is_object(error))
        read_error(error, out);
    out->cls = graph_classify(http_status, out->code);
    if (out->cls == GRAPH_SENT)
        read_wamid(root, out);
    else if (!json_is_object(error))
        snprintf(out->message, sizeof out->message, "HTTP %ld from the Graph API", http_status);
    json_decref(root);
}

void graph_transport_failure(const char *error, struct graph_outcome *out)
{
    memset(out, 0, sizeof(*out));
    out->cls = GRAPH_TRANSIENT;
    out->code = GRAPH_NO_CODE;
    snprintf(out->message, sizeof out->message, "no answer from the Graph API: %s",
             error && *error ? error : "unknown transport error");
}

long graph_retry_delay_ms(long code, int attempts, long base_ms, long max_ms, uint64_t random)
{
    if (attempts < 1)
        attempts = 1;
    if (base_ms < 1)
        base_ms = 1;
    if (max_ms < base_ms)
        max_ms = base_ms;
    if (code == PAIR_RATE_LIMIT) {
        long seconds = 1;
        for (int i = 0; i < attempts && seconds * 1000 < max_ms; i++)
            seconds *= 4;
        return seconds * 1000 < max_ms ? seconds * 1000 : max_ms;
    }
    long cap = base_ms;
    for (int i = 1; i < attempts && cap < max_ms; i++)
        cap *= 2;
    if (cap > max_ms)
        cap = max_ms;
    return (long)(random % ((uint64_t)cap + 1));
}
