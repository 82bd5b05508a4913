/* intake_validate.c - parsing, validating and normalizing the two intake bodies (purchase
 * orders and generic template messages) into the payload that is stored and hashed. */
#include "api/intake_validate.h"

#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "e164.h"
#include "jsonutil.h"
#include "mailaddr.h"
#include "uuidutil.h"

#define TEXT_MAX_CHARS 200         /* po_number, supplier_name, idempotency_key */
#define PARAM_MAX_CHARS 1024       /* one template parameter */
#define PARAMS_MAX 100             /* template parameters per message */
#define TEMPLATE_NAME_MAX 512      /* Meta's limit */
#define AMOUNT_MAX 999999999999.99 /* below 1e12: every 2-decimal amount is exact in a double */
#define AMOUNT_INT_DIGITS 12       /* AMOUNT_MAX's, for amounts given as decimal strings */
#define AMOUNT_STRING_MAX 32       /* bytes of a decimal-string amount ("1250.00") */
/* Said with every refused amount: order services send either form. */
#define AMOUNT_FORMS " (a JSON number such as 1250.5, or a decimal string such as \"1250.50\")"
#define LOWER "abcdefghijklmnopqrstuvwxyz"
#define UPPER "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define DIGITS "0123456789"

/* A body being validated: the parsed body and the normalized payload built from it. */
struct intake {
    json_t *body;    /* owned */
    json_t *payload; /* owned: the normalized request, stored and hashed */
    struct intake_problem *problem;
};

static void refuse(struct intake *in, unsigned status, const char *code, const char *field,
                   const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void refuse(struct intake *in, unsigned status, const char *code, const char *field,
                   const char *fmt, ...)
{
    va_list ap;
    in->problem->status = status;
    in->problem->code = code;
    free(in->problem->field);
    in->problem->field = field ? xstrdup(field) : NULL;
    va_start(ap, fmt);
    vsnprintf(in->problem->message, sizeof in->problem->message, fmt, ap);
    va_end(ap);
}

static void field_error(struct intake *in, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void field_error(struct intake *in, const char *field, const char *fmt, ...)
{
    char problem[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(problem, sizeof problem, fmt, ap);
    va_end(ap);
    refuse(in, 422, "validation_error", field, "%s %s", field, problem);
}

/* Parses the body as a JSON object, refusing with 400/422 when it is not one. A number
 * too large for a double is reported against overflow_field (the one numeric field of
 * the request) rather than as malformed JSON. */
static bool parse_body(struct intake *in, const char *data, size_t len, const char *overflow_field)
{
    json_error_t err;

    if (len == 0) {
        refuse(in, 400, "malformed_json", NULL, "request body is empty");
        return false;
    }
    in->body = json_loadb(data, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);
    if (!in->body && overflow_field && json_error_code(&err) == json_error_numeric_overflow) {
        field_error(in, overflow_field, "is out of range");
        return false;
    }
    if (!in->body) {
        refuse(in, 400, "malformed_json", NULL, "malformed JSON at line %d column %d: %s", err.line,
               err.column, err.text);
        return false;
    }
    if (!json_is_object(in->body)) {
        refuse(in, 422, "invalid_body", NULL, "request body must be a JSON object");
        return false;
    }
    return true;
}

/* Checks keys and kinds against the table; refuses with 422 naming the field otherwise. */
static bool check_shape(struct intake *in, const struct json_field *fields, size_t n)
{
    const char *field, *problem;
    if (json_check_object(in->body, fields, n, false, &field, &problem))
        return true;
    if (field)
        field_error(in, field, "%s", problem);
    else
        refuse(in, 422, "invalid_body", NULL, "%s", problem);
    return false;
}

/* Counts the code points of valid UTF-8 text of len bytes, or returns -1 when it holds a
 * control character (C0, DEL or C1) or a NUL. */
static long text_chars(const char *s, size_t len)
{
    long chars = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return -1;
        /* C1 controls U+0080..U+009F are encoded C2 80..C2 9F. */
        if (c == 0xc2 && i + 1 < len && (unsigned char)s[i + 1] < 0xa0)
            return -1;
        if ((c & 0xc0) != 0x80)
            chars++;
    }
    return chars;
}

/* Validates a free-text field: present (the shape check ran), not blank, at most max
 * characters, no control characters. Stores it trimmed of surrounding spaces into the
 * payload when trim, verbatim otherwise. */
static bool take_text(struct intake *in, const char *key, size_t max, bool trim)
{
    const json_t *v = json_object_get(in->body, key);
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);

    if (text_chars(s, len) < 0) {
        field_error(in, key, "must not contain control characters");
        return false;
    }
    if (trim) {
        while (len && *s == ' ') {
            s++;
            len--;
        }
        while (len && s[len - 1] == ' ')
            len--;
    }
    if (len == 0) {
        field_error(in, key, "must not be empty");
        return false;
    }
    if ((size_t)text_chars(s, len) > max) {
        field_error(in, key, "must be at most %zu characters", max);
        return false;
    }
    json_object_set_new(in->payload, key, json_stringn(s, len));
    return true;
}

/* An optional address the order may also go to by email (issue 21), stored as
 * mailaddr_normalize() writes it. */
static bool take_email(struct intake *in, const char *key)
{
    const char *s = json_string_value(json_object_get(in->body, key));
    char address[MAILADDR_MAX];
    if (!s)
        return true;
    if (!mailaddr_normalize(s, address)) {
        field_error(in, key, "must be one email address, e.g. pedidos@harinas.example");
        return false;
    }
    json_object_set_new(in->payload, key, json_string(address));
    return true;
}

static bool take_uuid(struct intake *in, const char *key)
{
    char canon[UUID_STR_LEN];
    if (!uuid_is_valid(json_str(in->body, key), canon)) {
        field_error(in, key, "must be a UUID");
        return false;
    }
    json_object_set_new(in->payload, key, json_string(canon));
    return true;
}

static bool take_phone(struct intake *in, const char *key)
{
    char e164[E164_MAX];
    if (!e164_normalize(json_str(in->body, key), e164)) {
        field_error(in, key,
                    "must be an international phone number: + and country code, "
                    "e.g. +34612345678");
        return false;
    }
    json_object_set_new(in->payload, key, json_string(e164));
    return true;
}

/* A decimal string as Python's Decimal and money libraries write amounts: "-"? digits
 * ["." digits], the integer part without leading zeros ("0.5" is fine); no exponent, no
 * "+", no spaces, no bare "." at either end. Decided on the digits, exactly: at most two
 * decimals that are not zero ("1250.500" is 1250.50, as the JSON number 1250.500 is),
 * not negative ("-0.00" is zero, as -0.0 is), at most AMOUNT_INT_DIGITS integer digits.
 * Writes the amount with two decimals into text and returns NULL, or returns why not. */
static const char *amount_from_string(const char *s, size_t len, char *text, size_t textlen)
{
    const char *p = s, *end = s + len;
    const char *syntax = "must be a non-negative decimal without exponent, sign or spaces";
    bool negative = false, zero = true;

    if (len > AMOUNT_STRING_MAX)
        return "is too long";
    if (p < end && *p == '-') {
        negative = true;
        p++;
    }
    const char *units = p;
    for (; p < end && *p >= '0' && *p <= '9'; p++)
        zero = zero && *p == '0';
    size_t nunits = (size_t)(p - units);
    if (nunits == 0 || (nunits > 1 && units[0] == '0'))
        return syntax;
    const char *frac = p;
    size_t nfrac = 0;
    if (p < end && *p == '.') {
        frac = ++p;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
        nfrac = (size_t)(p - frac);
        if (nfrac == 0)
            return syntax;
    }
    if (p != end)
        return syntax;
    if (nunits > AMOUNT_INT_DIGITS)
        return "is too large";
    for (size_t i = 0; i < nfrac; i++) {
        if (frac[i] != '0' && i >= 2)
            return "must have at most 2 decimal places";
        zero = zero && frac[i] == '0';
    }
    if (negative && !zero)
        return "must not be negative";
    snprintf(text, textlen, "%.*s.%c%c", (int)nunits, units, nfrac > 0 ? frac[0] : '0',
             nfrac > 1 ? frac[1] : '0');
    return NULL;
}

/* The amount as exact text with two decimals ("1250.00"), from a JSON number or a
 * decimal string; both forms of one amount give the same text, so the stored payload and
 * the idempotency hash do not depend on the form. A JSON number is a double by the time
 * jansson hands it over, so "at most two decimals" is decided on the shortest text that
 * denotes the same double: the double is printed with two decimals and must read back as
 * itself. Below AMOUNT_MAX that is exact: 1.005 (really 1.00499...) prints as "1.00",
 * which reads back as another double, and is refused. */
static bool take_amount(struct intake *in, const char *key)
{
    const json_t *v = json_object_get(in->body, key);
    const char *problem = NULL;
    char text[48];

    if (json_is_string(v)) {
        problem =
            amount_from_string(json_string_value(v), json_string_length(v), text, sizeof text);
    } else if (json_is_integer(v)) {
        json_int_t units = json_integer_value(v);
        if (units < 0)
            problem = "must not be negative";
        else if ((double)units > AMOUNT_MAX)
            problem = "is too large";
        else
            snprintf(text, sizeof text, "%" JSON_INTEGER_FORMAT ".00", units);
    } else if (json_is_real(v)) {
        double d = json_real_value(v);
        if (!isfinite(d) || d > AMOUNT_MAX) {
            problem = "is too large";
        } else if (d < 0) {
            problem = "must not be negative";
        } else {
            if (d == 0)
                d = 0; /* -0.0 */
            snprintf(text, sizeof text, "%.2f", d);
            if (strtod(text, NULL) != d)
                problem = "must have at most 2 decimal places";
        }
    } else {
        problem = "must be a number or a decimal string";
    }
    if (problem) {
        field_error(in, key, "%s%s", problem, AMOUNT_FORMS);
        return false;
    }
    json_object_set_new(in->payload, key, json_string(text));
    return true;
}

/* Takes a string of min to max bytes, each one of chars, verbatim; problem says what is
 * expected when it is not one. */
static bool take_word(struct intake *in, const char *key, const char *chars, size_t min, size_t max,
                      const char *problem)
{
    const char *s = json_str(in->body, key);
    size_t n = strlen(s);
    if (n < min || n > max || strspn(s, chars) != n) {
        field_error(in, key, "%s", problem);
        return false;
    }
    json_object_set_new(in->payload, key, json_string(s));
    return true;
}

/* A language code as Meta writes them ("es", "en_US", "pt_BR"); absent or null: the
 * tenant's default language, chosen when the message is sent. */
static bool take_language(struct intake *in, const char *key)
{
    const char *s = json_str(in->body, key);
    if (!s) {
        json_object_set_new(in->payload, key, json_null());
        return true;
    }
    size_t lang = strspn(s, LOWER);
    size_t region = s[lang] == '_' ? strspn(s + lang + 1, UPPER LOWER) : 0;
    bool ok = lang >= 2 && lang <= 3 &&
              (s[lang] == '\0' || (region >= 2 && region <= 4 && s[lang + 1 + region] == '\0'));
    if (!ok) {
        field_error(in, key, "must be a language code such as es or en_US");
        return false;
    }
    json_object_set_new(in->payload, key, json_string(s));
    return true;
}

static bool take_parameters(struct intake *in, const char *key)
{
    const json_t *arr = json_object_get(in->body, key);
    size_t i;
    const json_t *item;

    json_array_foreach (arr, i, item) {
        long chars = text_chars(json_string_value(item), json_string_length(item));
        const char *problem = chars < 0                 ? "must not contain control characters"
                              : chars == 0              ? "must not be empty"
                              : chars > PARAM_MAX_CHARS ? "is too long"
                                                        : NULL;
        if (problem) {
            field_error(in, key, "item %zu %s", i, problem);
            return false;
        }
    }
    json_object_set_new(in->payload, key, json_deep_copy(arr));
    return true;
}

/* Hands the payload over when ok, else frees it; the body goes either way. */
static json_t *finish(struct intake *in, bool ok)
{
    json_decref(in->body);
    if (ok)
        return in->payload;
    json_decref(in->payload);
    return NULL;
}

json_t *intake_validate_purchase_order(const char *body, size_t len, struct intake_problem *problem)
{
    static const struct json_field fields[] = {
        {"event_id", JK_STRING, true, 0},       {"tenant_id", JK_STRING, true, 0},
        {"po_number", JK_STRING, true, 0},      {"supplier_name", JK_STRING, true, 0},
        {"supplier_phone", JK_STRING, true, 0}, {"total_amount", JK_ANY, true, 0},
        {"currency", JK_STRING, true, 0},       {"supplier_email", JK_STRING, false, 0},
    };
    struct intake in = {.payload = json_object(), .problem = problem};

    bool ok = parse_body(&in, body, len, "total_amount") &&
              check_shape(&in, fields, sizeof fields / sizeof fields[0]) &&
              take_uuid(&in, "event_id") && take_uuid(&in, "tenant_id") &&
              take_text(&in, "po_number", TEXT_MAX_CHARS, true) &&
              take_text(&in, "supplier_name", TEXT_MAX_CHARS, true) &&
              take_phone(&in, "supplier_phone") && take_amount(&in, "total_amount") &&
              take_word(&in, "currency", UPPER, 3, 3,
                        "must be an ISO 4217 code of three upper-case letters, e.g. EUR") &&
              take_email(&in, "supplier_email");
    return finish(&in, ok);
}

json_t *intake_validate_template(const char *body, size_t len, struct intake_problem *problem)
{
    static const struct json_field fields[] = {
        {"idempotency_key", JK_STRING, true, 0},
        {"tenant_id", JK_STRING, true, 0},
        {"to", JK_STRING, true, 0},
        {"template_name", JK_STRING, true, 0},
        {"language", JK_STRING, false, 0},
        {"parameters", JK_STRING_ARRAY, true, PARAMS_MAX},
    };
    struct intake in = {.payload = json_object(), .problem = problem};

    bool ok =
        parse_body(&in, body, len, NULL) &&
        check_shape(&in, fields, sizeof fields / sizeof fields[0]) &&
        take_text(&in, "idempotency_key", TEXT_MAX_CHARS, false) && take_uuid(&in, "tenant_id") &&
        take_phone(&in, "to") &&
        take_word(&in, "template_name", LOWER DIGITS "_", 1, TEMPLATE_NAME_MAX,
                  "must be lower-case letters, digits and underscores (Meta's template names)") &&
        take_language(&in, "language") && take_parameters(&in, "parameters");
    return finish(&in, ok);
}

void intake_problem_free(struct intake_problem *problem)
{
    free(problem->field);
    memset(problem, 0, sizeof(*problem));
}
