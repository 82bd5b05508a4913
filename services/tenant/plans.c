/* plans.c - the plans and their default monthly WhatsApp quotas (the one place they are
 * written), and the check of a plan change. */
#include "plans.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* A tenant's effective quota is its override when it has one, else its plan's. Adding a
 * plan also needs its name in the CHECK of tenant_settings.plan (migration 0004). */
static const struct plan plans[] = {
    {"basic", 0},
    {"standard", 500},
    {"enterprise", PLAN_UNLIMITED},
};
#define NPLANS (sizeof plans / sizeof plans[0])

static pthread_once_t texts_once = PTHREAD_ONCE_INIT;
static char quotas_json[256];
static char names_text[128];

static void append(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void append(char *buf, size_t size, const char *fmt, ...)
{
    size_t used = strlen(buf);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + used, size - used, fmt, ap);
    va_end(ap);
}

static void build_texts(void)
{
    append(quotas_json, sizeof quotas_json, "{");
    for (size_t i = 0; i < NPLANS; i++) {
        append(quotas_json, sizeof quotas_json, "%s\"%s\":", i ? "," : "", plans[i].name);
        if (plans[i].monthly_quota == PLAN_UNLIMITED)
            append(quotas_json, sizeof quotas_json, "null");
        else
            append(quotas_json, sizeof quotas_json, "%ld", plans[i].monthly_quota);
        append(names_text, sizeof names_text, "%s%s",
               i == 0           ? ""
               : i + 1 < NPLANS ? ", "
                                : " or ",
               plans[i].name);
    }
    append(quotas_json, sizeof quotas_json, "}");
}

const struct plan *plan_find(const char *name)
{
    for (size_t i = 0; name && i < NPLANS; i++) {
        if (strcmp(plans[i].name, name) == 0)
            return &plans[i];
    }
    return NULL;
}

const char *plan_names(void)
{
    pthread_once(&texts_once, build_texts);
    return names_text;
}

const char *plan_quotas_json(void)
{
    pthread_once(&texts_once, build_texts);
    return quotas_json;
}

static bool refuse(struct plan_problem *p, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool refuse(struct plan_problem *p, const char *field, const char *fmt, ...)
{
    va_list ap;
    p->field = field;
    va_start(ap, fmt);
    vsnprintf(p->message, sizeof p->message, fmt, ap);
    va_end(ap);
    return false;
}

bool plan_check_change(const json_t *body, struct plan_change *out, struct plan_problem *problem)
{
    const char *key;
    const json_t *value;

    memset(out, 0, sizeof(*out));
    json_object_foreach ((json_t *)body, key, value) {
        if (strcmp(key, "plan") == 0) {
            out->plan = plan_find(json_string_value(value));
            if (!out->plan)
                return refuse(problem, "plan", "plan must be %s", plan_names());
        } else if (strcmp(key, "quota_override") == 0) {
            out->set_override = true;
            if (json_is_null(value)) {
                out->quota_override = -1;
                continue;
            }
            json_int_t q = json_integer_value(value);
            if (!json_is_integer(value) || q < 0 || q > PLAN_QUOTA_MAX)
                return refuse(problem, "quota_override",
                              "quota_override must be a whole number of messages a month from 0 "
                              "to %ld, or null for the plan's own quota",
                              PLAN_QUOTA_MAX);
            out->quota_override = (long)q;
        } else {
            return refuse(problem, key, "%s is not part of a plan (plan, quota_override)", key);
        }
    }
    return true;
}
