/* fuzz_purchase_order.c - libFuzzer harness of the purchase-order body check
 * (services/notification/api/intake_validate.c), fed raw request bodies. An accepted body
 * must give a payload of exactly the seven fields in their stored form (canonical UUIDs,
 * trimmed single-line text, E.164 phone, "units.cc" amount, the same whether the amount
 * came as a decimal string or as a JSON number, ISO 4217 code); a refusal must be a 400
 * or 422 with a code, a message and, for a 422 validation_error, a field. */
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
    fprintf(stderr, "purchase-order invariant broken: %s\n", what);
    abort();
}

static void check_uuid(const json_t *payload, const char *key)
{
    const char *s = json_string_value(json_object_get(payload, key));
    char canon[UUID_STR_LEN];
    check(s && uuid_is_valid(s, canon) && strcmp(s, canon) == 0, "a UUID not in canonical form");
}

/* Non-empty, no surrounding spaces, no control bytes, at most max code points. */
static void check_text(const json_t *payload, const char *key, size_t max)
{
    const json_t *v = json_object_get(payload, key);
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    check(s && len > 0 && strlen(s) == len, "text empty or with a NUL");
    check(s[0] != ' ' && s[len - 1] != ' ', "text not trimmed");
    size_t chars = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        check(c >= 0x20 && c != 0x7f, "text with a control character");
        if ((c & 0xc0) != 0x80)
            chars++;
    }
    check(chars <= max, "text too long");
}

static void check_phone(const json_t *payload, const char *key)
{
    const char *s = json_string_value(json_object_get(payload, key));
    char again[E164_MAX];
    check(s && e164_normalize(s, again) && strcmp(s, again) == 0, "phone not in E.164");
}

static void check_refusal(const struct intake_problem *p)
{
    check(p->status == 400 || p->status == 422, "a status other than 400 or 422");
    check(p->code &&
              (strcmp(p->code, "malformed_json") == 0 || strcmp(p->code, "invalid_body") == 0 ||
               strcmp(p->code, "validation_error") == 0),
          "an unexpected error code");
    check(p->message[0] != '\0', "no message");
    if (strcmp(p->code, "validation_error") == 0)
        check(p->field != NULL, "a validation error without its field");
}

/* An amount accepted as a decimal string is what the same digits give as a JSON number:
 * the stored payload, and so the idempotency hash, does not depend on the form. */
static void check_string_amount(const char *body, size_t size, const json_t *payload)
{
    json_t *obj = json_loadb(body, size, JSON_REJECT_DUPLICATES, NULL);
    const char *s = json_string_value(json_object_get(obj, "total_amount"));
    if (s) {
        json_t *number = json_loads(s, JSON_DECODE_ANY, NULL);
        check(json_is_number(number), "an accepted amount string is not a JSON number");
        json_object_set_new(obj, "total_amount", number);
        char *text = json_dumps(obj, JSON_COMPACT);
        struct intake_problem problem;
        memset(&problem, 0, sizeof problem);
        json_t *again = intake_validate_purchase_order(text, strlen(text), &problem);
        check(again && json_equal(again, payload), "an amount as a string and as a number differ");
        json_decref(again);
        intake_problem_free(&problem);
        free(text);
    }
    json_decref(obj);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct intake_problem problem;
    memset(&problem, 0, sizeof problem);
    /* An exact-size copy: the body is not NUL-terminated for the validator. */
    char *body = malloc(size ? size : 1);
    memcpy(body, data, size);

    json_t *payload = intake_validate_purchase_order(body, size, &problem);
    if (payload) {
        check(json_object_size(payload) == 7, "payload without exactly seven fields");
        check_uuid(payload, "event_id");
        check_uuid(payload, "tenant_id");
        check_text(payload, "po_number", 200);
        check_text(payload, "supplier_name", 200);
        check_phone(payload, "supplier_phone");
        const char *amount = json_string_value(json_object_get(payload, "total_amount"));
        check(amount != NULL, "no amount text");
        size_t units = strspn(amount, "0123456789");
        check(units >= 1 && units <= 12 && amount[units] == '.' &&
                  strspn(amount + units + 1, "0123456789") == 2 && amount[units + 3] == '\0',
              "amount not units.cc below 1e12");
        const char *currency = json_string_value(json_object_get(payload, "currency"));
        check(currency && strlen(currency) == 3 &&
                  strspn(currency, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == 3,
              "currency not three upper-case letters");
        check_string_amount(body, size, payload);
        char *text = json_dumps(payload, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
        check(text != NULL, "payload cannot be serialized");
        free(text);
        json_decref(payload);
    } else {
        check_refusal(&problem);
    }
    intake_problem_free(&problem);
    free(body);
    return 0;
}
