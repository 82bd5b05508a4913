/* account_changes.c - each account change as the body tenant-service's route takes. */
#include "tenants/account_changes.h"

#include <jansson.h>
#include <stdio.h>

#include "log.h"
#include "tenants/tenant_events.h"

#define ACCOUNT_EVENTS_PATH "/api/v1/internal/whatsapp/account-events"

/* Adds kind to change (taken; NULL when a value was not a string) and queues it. */
static void tell(const char *kind, json_t *change, const char *what)
{
    if (!change) {
        log_warn("account change not told to tenant-service: a value is missing\tkind=%s %s", kind,
                 what);
        return;
    }
    json_object_set_new(change, "kind", json_string(kind));
    tenant_events_push(kind, ACCOUNT_EVENTS_PATH, change, what);
}

void account_changes_number_quality(const char *display_phone_number, const char *event)
{
    char masked[40], what[128];
    log_mask_phone(display_phone_number, masked, sizeof masked);
    snprintf(what, sizeof what, "display_phone_number=%s event=%.32s", masked, event);
    tell("number_quality",
         json_pack("{s:s, s:s}", "display_phone_number", display_phone_number, "event", event),
         what);
}

static void tell_template(const char *kind, const char *name, const char *language, const char *key,
                          const char *value, const char *reason)
{
    char what[224];
    snprintf(what, sizeof what, "template=%.80s language=%.16s %s=%.32s", name, language, key,
             value);
    json_t *change =
        json_pack("{s:s, s:s, s:s}", "template", name, "language", language, key, value);
    if (reason)
        json_object_set_new(change, "reason", json_string(reason));
    tell(kind, change, what);
}

void account_changes_template_status(const char *name, const char *language, const char *status,
                                     const char *reason)
{
    tell_template("template_status", name, language, "status", status, reason);
}

void account_changes_template_quality(const char *name, const char *language, const char *quality)
{
    tell_template("template_quality", name, language, "quality", quality, NULL);
}

void account_changes_paused(const char *source, long code, const char *reason)
{
    char what[64];
    snprintf(what, sizeof what, "source=%s code=%ld", source, code);
    json_t *change = json_pack("{s:s, s:s}", "source", source, "reason", reason);
    if (code >= 0)
        json_object_set_new(change, "code", json_integer(code));
    tell("paused", change, what);
}

void account_changes_resumed(void)
{
    tell("resumed", json_object(), "");
}
