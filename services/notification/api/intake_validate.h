/* intake_validate.h - the pure half of intake: a request body in, either the normalized
 * payload to store or the 4xx that refuses it. No I/O and no HTTP, so the handlers
 * (intake.c) and the fuzzers (tests/fuzz/fuzz_purchase_order.c, fuzz_message.c) run the
 * very same code. */
#ifndef NOTIFICATION_INTAKE_VALIDATE_H
#define NOTIFICATION_INTAKE_VALIDATE_H

#include <jansson.h>
#include <stddef.h>

/* Why a body was refused: 400 (malformed JSON) or 422 (a wrong value), the error code, the
 * field at fault (NULL when the body as a whole is wrong) and the human sentence. */
struct intake_problem {
    unsigned status;
    const char *code; /* static */
    char *field;      /* owned; free with intake_problem_free() */
    char message[512];
};

/* Validates a POST /api/v1/notifications/purchase-orders body of len bytes (not
 * necessarily NUL-terminated). Returns the normalized payload (a new object the caller
 * owns: event_id and tenant_id canonical UUIDs, po_number and supplier_name trimmed,
 * supplier_phone E.164, total_amount exact text with two decimals whether it came as a
 * JSON number or a decimal string, currency), or NULL with *problem filled. */
json_t *intake_validate_purchase_order(const char *body, size_t len, struct intake_problem *problem)
    __attribute__((warn_unused_result));

/* The same for POST /api/v1/whatsapp/messages: idempotency_key, tenant_id, to (E.164),
 * template_name, language (a string or JSON null: the tenant's default) and parameters. */
json_t *intake_validate_template(const char *body, size_t len, struct intake_problem *problem)
    __attribute__((warn_unused_result));

/* Frees what a problem owns (a zeroed problem is fine) and zeroes it. */
void intake_problem_free(struct intake_problem *problem);

#endif
