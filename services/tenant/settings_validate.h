/* settings_validate.h - the pure half of PUT /api/v1/tenants/{id}/settings/notifications
 * and of the tenants' free-text fields: which keys a tenant may change and what values
 * they take. No I/O, so the handlers and the fuzzer (tests/fuzz/fuzz_settings.c) run the
 * same code. */
#ifndef TENANT_SETTINGS_VALIDATE_H
#define TENANT_SETTINGS_VALIDATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Why a patch was refused: 403 phone_assigned_by_admin or plan_set_by_admin, or 422
 * validation_error; the key at fault (borrowed from the patch or static) and the human
 * sentence. */
struct settings_problem {
    unsigned status;
    const char *code;
    const char *field;
    char message[512];
};

/* Checks every key of patch (a JSON object) against the keys a tenant may change and their
 * values. Returns true when the patch may be merged as it is; otherwise false with
 * *problem filled (the first offending key). */
bool settings_validate_patch(const json_t *patch, struct settings_problem *problem)
    __attribute__((warn_unused_result));

/* Why s is not acceptable free text of at most max_chars characters (control characters
 * such as CR and LF are refused: these strings end up in mail headers and pages), or
 * NULL when it is fine. s must be valid UTF-8 (jansson guarantees it). */
const char *text_problem(const char *s, size_t max_chars);

/* The same for a name shown in lists (a tenant's): text_problem(), and also no bidi
 * controls (U+202A-202E, U+2066-2069) nor zero-width characters (U+200B-200D, U+2060,
 * U+FEFF), with which one name can be made to look like another. */
const char *name_problem(const char *s, size_t max_chars);

#endif
