/* plans.h - the WhatsApp plans (issue 20): their names and default monthly quotas, in
 * one table, and the check of an admin's change of a tenant's plan. Pure (no I/O), so
 * the handlers and tests/unit/test_plans.c run the same code. Where a tenant's plan is
 * kept and how it reaches notification-service: migrations/tenant/0004_plans.sql. */
#ifndef TENANT_PLANS_H
#define TENANT_PLANS_H

#include <jansson.h>
#include <stdbool.h>

#define PLAN_UNLIMITED (-1L)       /* a monthly quota without a limit (JSON null) */
#define PLAN_QUOTA_MAX 2147483647L /* quota_override is an integer column */

struct plan {
    const char *name;
    long monthly_quota; /* messages a calendar month, or PLAN_UNLIMITED */
};

/* The plan called name, or NULL (name may be NULL). Static storage. */
const struct plan *plan_find(const char *name);

/* "basic, standard or enterprise": the names for a message. */
const char *plan_names(void);

/* Every plan's default quota as a JSON object text, {"basic":0,"standard":500,
 * "enterprise":null}: the statements that build the settings and plan documents look the
 * effective quota up in it, so the defaults are written here only. Static storage. */
const char *plan_quotas_json(void);

/* A change of a tenant's plan as PUT /api/v1/admin/tenants/{id}/plan asks it. */
struct plan_change {
    const struct plan *plan; /* NULL: the plan stays */
    bool set_override;       /* quota_override was given */
    long quota_override;     /* when set_override: 0..PLAN_QUOTA_MAX, or -1 for none (null) */
};

/* Why a change was refused: always 422 validation_error, with the key at fault (borrowed
 * from the body or static) and the human sentence. */
struct plan_problem {
    const char *field;
    char message[256];
};

/* Checks body (a JSON object): only "plan" (a plan's name) and "quota_override" (a whole
 * number from 0 to PLAN_QUOTA_MAX, or null for none), each optional. True with *out
 * filled, or false with *problem filled (the first offending key). */
bool plan_check_change(const json_t *body, struct plan_change *out, struct plan_problem *problem)
    __attribute__((warn_unused_result));

#endif
