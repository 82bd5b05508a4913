/* templates.h - the WABA's message templates: po_notification seeded APPROVED in es, en
 * and eu; more created through POST /{waba}/message_templates or /_sim/templates. */
#ifndef SIM_TEMPLATES_H
#define SIM_TEMPLATES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* What a send needs to know about a template (a copy). */
struct tpl_info {
    char id[24];
    char status[16];   /* APPROVED, PENDING, REJECTED, PAUSED, DISABLED, ... */
    char category[24]; /* UTILITY, MARKETING, AUTHENTICATION */
    int header_params; /* placeholders in a TEXT header */
    int body_params;   /* placeholders in the body */
    size_t body_len;   /* characters of the body text with placeholders */
    char quality[12];  /* quality_score.score: GREEN, YELLOW, RED, UNKNOWN */
    long ttl_seconds;  /* message_send_ttl_seconds; 0 = Meta's default for the category */
};

/* A change made through /_sim/templates/update (NULL = unchanged). */
struct tpl_change {
    const char *status;
    const char *reason;   /* rejected_reason / the webhook's reason */
    const char *quality;  /* GREEN, YELLOW, RED, UNKNOWN */
    const char *category; /* UTILITY, MARKETING, AUTHENTICATION */
};

enum tpl_lookup { TPL_FOUND, TPL_NO_NAME, TPL_NO_LANGUAGE };

/* Seeds the defaults (and remembers nothing else: reset goes back to them). */
void templates_init(void);
void templates_reset(void);
void templates_free(void);
enum tpl_lookup templates_find(const char *name, const char *language, struct tpl_info *out);

/* A review: the template stays PENDING for delay_ms (monotonic), then takes the status it
 * was created with (APPROVED or REJECTED, with reason). */
struct tpl_review {
    long delay_ms;
    const char *reason; /* rejected_reason, NULL = none */
};

/* Creates a template from a Graph API body {name, language, category, components,
 * parameter_format?, message_send_ttl_seconds?} (or a /_sim/ seed that may also carry
 * status). Graph API bodies need example values for body placeholders. With review (may
 * be NULL) it starts PENDING. Returns 0 with the new template's info in out (the status
 * it will have after the review); -1 with a reason in err for an invalid body; -2 when
 * the name already exists in that language. */
int templates_create(const json_t *body, bool allow_status, const char *default_status,
                     const struct tpl_review *review, struct tpl_info *out, char *err,
                     size_t errlen) __attribute__((warn_unused_result));

/* Applies c to the template name/language; before gets its state before the change and
 * after the state after. Returns 0, -1 when there is no such template, -2 with a reason
 * in err for an invalid value. */
int templates_update(const char *name, const char *language, const struct tpl_change *c,
                     struct tpl_info *before, struct tpl_info *after, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/* Copies the template with this id (and its name and language) into out; false when
 * there is none. */
bool templates_by_id(const char *id, struct tpl_info *out, char *name, size_t namelen,
                     char *language, size_t langlen);
/* Finishes the reviews due at now (monotonic ms): PENDING templates become APPROVED, or
 * REJECTED when their language is in the rejected list. Called by readers. */
void templates_settle(int64_t now_ms);

/* Field bits for listings. */
enum {
    TF_ID = 1 << 0,
    TF_NAME = 1 << 1,
    TF_LANGUAGE = 1 << 2,
    TF_STATUS = 1 << 3,
    TF_CATEGORY = 1 << 4,
    TF_COMPONENTS = 1 << 5,
    TF_PARAMETER_FORMAT = 1 << 6,
    TF_REJECTED_REASON = 1 << 7,
    TF_SUB_CATEGORY = 1 << 8,
    TF_QUALITY = 1 << 9,
    TF_TTL = 1 << 10,
    TF_PREVIOUS_CATEGORY = 1 << 11,
};
#define TF_DEFAULT                                                                                 \
    (TF_ID | TF_NAME | TF_LANGUAGE | TF_STATUS | TF_CATEGORY | TF_COMPONENTS |                     \
     TF_PARAMETER_FORMAT | TF_QUALITY)
bool templates_parse_fields(const char *fields, unsigned *mask, char *bad, size_t badlen);
/* Every template matching the filters (NULL = any) as an array, newest first; a new
 * reference. */
json_t *templates_list(const char *name, const char *language, const char *status,
                       const char *category, unsigned mask);

#endif
