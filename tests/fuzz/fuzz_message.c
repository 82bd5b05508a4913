/* fuzz_message.c - libFuzzer harness of the generic template-message body check
 * (services/notification/api/intake_validate.c), fed raw request bodies. An accepted body
 * must give a payload of the six fields in their stored form (key, canonical tenant
 * UUID, E.164 recipient, Meta template name, language code or null, 0 to 100 non-empty
 * single-line parameters); a refusal must be a 400 or 422 with a code and a message. */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e164.h"
#include "api/intake_validate.h"
#include "uuidutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok, const char *what)
{
    if (ok)
        return;
    fprintf(stderr, "template-message invariant broken: %s\n", what);
    abort();
}

/* Non-empty, no control bytes, at most max code points. */
static void check_text(const json_t *v, size_t max)
{
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    check(s && len > 0 && strlen(s) == len, "text empty or with a NUL");
    size_t chars = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        check(c >= 0x20 && c != 0x7f, "text with a control character");
        check(!(c == 0xc2 && i + 1 < len && (unsigned char)s[i + 1] < 0xa0),
              "text with a C1 control character");
        if ((c & 0xc0) != 0x80)
            chars++;
    }
    check(chars <= max, "text too long");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct intake_problem problem;
    memset(&problem, 0, sizeof problem);
    char *body = malloc(size ? size : 1);
    memcpy(body, data, size);

    json_t *payload = intake_validate_template(body, size, &problem);
    if (payload) {
        check(json_object_size(payload) == 6, "payload without exactly six fields");
        check_text(json_object_get(payload, "idempotency_key"), 200);
        const char *tenant = json_string_value(json_object_get(payload, "tenant_id"));
        char canon[UUID_STR_LEN];
        check(tenant && uuid_is_valid(tenant, canon) && strcmp(tenant, canon) == 0,
              "tenant_id not canonical");
        const char *to = json_string_value(json_object_get(payload, "to"));
        char again[E164_MAX];
        check(to && e164_normalize(to, again) && strcmp(to, again) == 0, "to not in E.164");
        const char *name = json_string_value(json_object_get(payload, "template_name"));
        check(name && name[0] && strlen(name) <= 512 &&
                  strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") == strlen(name),
              "template name not Meta's form");
        const json_t *lang = json_object_get(payload, "language");
        check(json_is_null(lang) || (json_is_string(lang) && json_string_length(lang) >= 2 &&
                                     json_string_length(lang) <= 8),
              "language neither null nor a code");
        const json_t *params = json_object_get(payload, "parameters");
        check(json_is_array(params) && json_array_size(params) <= 100, "parameters not <= 100");
        size_t i;
        const json_t *item;
        json_array_foreach (params, i, item)
            check_text(item, 1024);
        json_decref(payload);
    } else {
        check(problem.status == 400 || problem.status == 422, "a status other than 400 or 422");
        check(problem.code && problem.message[0], "no code or message");
        if (strcmp(problem.code, "validation_error") == 0)
            check(problem.field != NULL, "a validation error without its field");
    }
    intake_problem_free(&problem);
    free(body);
    return 0;
}
