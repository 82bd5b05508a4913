/* jsonutil.c - jansson helpers shared by every handler. */
#include "jsonutil.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "alloc.h"

json_t *json_parse_body(const char *data, size_t len, char *err, size_t errlen)
{
    json_error_t jerr;
    if (len == 0) {
        snprintf(err, errlen, "request body is empty");
        return NULL;
    }
    json_t *v = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!v)
        snprintf(err, errlen, "malformed JSON at line %d column %d: %s", jerr.line, jerr.column,
                 jerr.text);
    return v;
}

static bool kind_ok(const json_t *v, enum json_kind kind, size_t max_len, const char **problem)
{
    switch (kind) {
    case JK_STRING:
        if (!json_is_string(v)) {
            *problem = "must be a string";
            return false;
        }
        if (max_len && json_string_length(v) > max_len) {
            *problem = "is too long";
            return false;
        }
        return true;
    case JK_BOOL:
        *problem = "must be true or false";
        return json_is_boolean(v);
    case JK_INTEGER:
        *problem = "must be an integer";
        return json_is_integer(v);
    case JK_NUMBER:
        *problem = "must be a number";
        return json_is_number(v);
    case JK_STRING_ARRAY: {
        if (!json_is_array(v)) {
            *problem = "must be an array of strings";
            return false;
        }
        if (max_len && json_array_size(v) > max_len) {
            *problem = "has too many items";
            return false;
        }
        size_t i;
        const json_t *item;
        json_array_foreach (v, i, item) {
            if (!json_is_string(item)) {
                *problem = "must be an array of strings";
                return false;
            }
        }
        return true;
    }
    case JK_ANY:
        return true;
    }
    return false;
}

bool json_check_object(const json_t *obj, const struct json_field *fields, size_t n,
                       bool allow_unknown, const char **field, const char **problem)
{
    *field = NULL;
    if (!json_is_object(obj)) {
        *problem = "request body must be a JSON object";
        return false;
    }
    if (!allow_unknown) {
        const char *key;
        const json_t *v;
        json_object_foreach ((json_t *)obj, key, v) {
            size_t i = 0;
            while (i < n && strcmp(fields[i].key, key) != 0)
                i++;
            if (i == n) {
                *field = key;
                *problem = "is not a known field";
                return false;
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *v = json_object_get(obj, fields[i].key);
        if (!v || json_is_null(v)) {
            if (fields[i].required) {
                *field = fields[i].key;
                *problem = "is required";
                return false;
            }
            continue;
        }
        if (!kind_ok(v, fields[i].kind, fields[i].max_len, problem)) {
            *field = fields[i].key;
            return false;
        }
    }
    return true;
}

const char *json_str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

char *json_dump_compact(const json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_ENCODE_ANY);
    if (!s)
        return xstrdup("null");
    return s;
}

json_t *json_time_ms(int64_t ms)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    char buf[40];
    gmtime_r(&secs, &tm);
    size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, sizeof buf - n, ".%03dZ", (int)(ms % 1000));
    return json_string(buf);
}
