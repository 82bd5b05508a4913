/* health.c - builds health_status from the simulator's state. The entity error codes are
 * the codes a send would get (Meta's health codes of its own are not modelled). */
#include "health.h"

#include <string.h>

#include "events.h"
#include "faults.h"
#include "graph_error.h"
#include "msglimit.h"
#include "settings.h"
#include "sim.h"

enum level { AVAILABLE, LIMITED, BLOCKED };
static const char *const level_names[] = {"AVAILABLE", "LIMITED", "BLOCKED"};

struct entity {
    json_t *obj; /* the entity being built */
    enum level level;
};

static void entity_start(struct entity *e, const char *type, const char *id)
{
    e->obj = json_pack("{s:s, s:s}", "entity_type", type, "id", id);
    e->level = AVAILABLE;
}

static void entity_error(struct entity *e, enum level level, long code, const char *description,
                         const char *solution)
{
    const struct gerr_info *info = gerr_lookup(code);
    json_t *errors = json_object_get(e->obj, "errors");
    if (!errors) {
        errors = json_array();
        json_object_set_new(e->obj, "errors", errors);
    }
    json_array_append_new(errors, json_pack("{s:I, s:s, s:s}", "error_code", (json_int_t)code,
                                            "error_description",
                                            description && *description ? description
                                            : info                      ? info->details
                                                   : "Messaging is restricted.",
                                            "possible_solution", solution));
    if (level > e->level)
        e->level = level;
}

/* Adds e to entities and raises *overall to its level. */
static void entity_end(struct entity *e, json_t *entities, enum level *overall)
{
    json_object_set_new(e->obj, "can_send_message", json_string(level_names[e->level]));
    /* Meta lists can_send_message before errors */
    json_t *errors = json_object_get(e->obj, "errors");
    if (errors) {
        json_incref(errors);
        json_object_del(e->obj, "errors");
        json_object_set_new(e->obj, "errors", errors);
    }
    json_array_append_new(entities, e->obj);
    if (e->level > *overall)
        *overall = e->level;
}

static void add_account(json_t *entities, enum level *overall)
{
    struct entity e;
    struct fault_scope f;
    struct sim_settings set;
    int64_t now = sim_wall_ms();

    entity_start(&e, "WABA", sim_cfg.waba_id);
    if (faults_account_error(now, &f)) {
        bool blocked = f.code == 368 || f.code == 131031 || f.code == 131042;
        entity_error(&e, blocked ? BLOCKED : LIMITED, f.code, f.details,
                     f.code == 131042 ? "Add a valid payment method to the account."
                                      : "See the account's policy enforcement and quality in "
                                        "WhatsApp Manager.");
    }
    entity_end(&e, entities, overall);

    entity_start(&e, "BUSINESS", SIM_BUSINESS_ID);
    settings_get(&set);
    if (set.messaging_limit > 0 && msglimit_used(now) >= set.messaging_limit)
        entity_error(&e, LIMITED, 131048,
                     "The business portfolio has reached its messaging limit for new users.",
                     "Wait until users reached in the last 24 hours fall out of the window.");
    entity_end(&e, entities, overall);

    entity_start(&e, "APP", SIM_APP_ID);
    entity_end(&e, entities, overall);
}

static json_t *finish(json_t *entities, enum level overall)
{
    return json_pack("{s:s, s:o}", "can_send_message", level_names[overall], "entities", entities);
}

json_t *health_phone(const struct sim_phone *p)
{
    struct entity e;
    struct fault_scope f;
    enum level overall = AVAILABLE;
    json_t *entities = json_array();

    entity_start(&e, "PHONE_NUMBER", p->id);
    if (strcmp(p->status, "FLAGGED") == 0 || strcmp(p->status, "RATE_LIMITED") == 0)
        entity_error(&e, LIMITED, 131048, "The phone number's quality is low (FLAGGED).",
                     "Improve the quality of the messages sent from this number.");
    else if (strcmp(p->status, "CONNECTED") != 0)
        entity_error(&e, BLOCKED, 133010, "The phone number cannot send messages.",
                     "Check the number's registration and status in WhatsApp Manager.");
    if (strcmp(p->name_status, "DECLINED") == 0)
        entity_error(&e, LIMITED, 131037, "The display name was declined.",
                     "Change the display name.");
    if (faults_phone_error(p->id, sim_wall_ms(), &f))
        entity_error(&e, LIMITED, f.code, f.details, "Try again in a minute.");
    entity_end(&e, entities, &overall);
    add_account(entities, &overall);
    return finish(entities, overall);
}

json_t *health_waba(void)
{
    enum level overall = AVAILABLE;
    json_t *entities = json_array();
    add_account(entities, &overall);
    return finish(entities, overall);
}

json_t *health_template(const char *name, const char *language, const struct tpl_info *info)
{
    struct entity e;
    struct fault_scope f;
    enum level overall = AVAILABLE;
    json_t *entities = json_array();

    entity_start(&e, "MESSAGE_TEMPLATE", info->id);
    if (strcmp(info->status, "PAUSED") == 0)
        entity_error(&e, BLOCKED, 132015, NULL, "Edit the template to improve its quality.");
    else if (strcmp(info->status, "DISABLED") == 0)
        entity_error(&e, BLOCKED, 132016, NULL, "Create a new template with different content.");
    else if (strcmp(info->status, "APPROVED") != 0)
        entity_error(&e, BLOCKED, 132001, NULL, "Wait for the template to be approved.");
    if (faults_template_error(name, language, sim_wall_ms(), &f))
        entity_error(&e, BLOCKED, f.code, f.details, "Edit the template to improve its quality.");
    entity_end(&e, entities, &overall);
    add_account(entities, &overall);
    return finish(entities, overall);
}
