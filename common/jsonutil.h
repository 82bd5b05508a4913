/* jsonutil.h - request-body parsing and declarative validation of JSON objects. */
#ifndef COMMON_JSONUTIL_H
#define COMMON_JSONUTIL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Parses data as exactly one JSON value (jansson rejects invalid UTF-8, "\u0000" and
 * nesting deeper than its limit). Returns a new reference, or NULL with a one-line reason
 * in err. */
json_t *json_parse_body(const char *data, size_t len, char *err, size_t errlen);

enum json_kind {
    JK_STRING,
    JK_BOOL,
    JK_INTEGER,
    JK_NUMBER, /* integer or real */
    JK_STRING_ARRAY,
    JK_ANY,
};

struct json_field {
    const char *key;
    enum json_kind kind;
    bool required;
    size_t max_len; /* strings and arrays; 0 = no limit */
};

/* Checks that obj is an object with only the listed keys (unless allow_unknown), each
 * of the right kind, required ones present and non-null. On failure returns false and
 * sets *field to the offending key (NULL when obj itself is wrong) and *problem to a
 * static human sentence fragment ("must be a string"). */
bool json_check_object(const json_t *obj, const struct json_field *fields, size_t n,
                       bool allow_unknown, const char **field, const char **problem);

/* The string value of key, or NULL when absent or not a string. Borrowed. */
const char *json_str(const json_t *obj, const char *key);

/* Compact serialization, non-ASCII escaped; the caller frees the result. */
char *json_dump_compact(const json_t *v);

/* A wall-clock time (ms since the epoch) as an RFC 3339 UTC string with milliseconds,
 * "2026-12-06T05:20:00.123Z"; a new reference. */
json_t *json_time_ms(int64_t ms);

#endif
