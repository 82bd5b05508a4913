/* health.h - Meta's health_status of a phone number, the WABA or a template:
 * {"can_send_message": AVAILABLE|LIMITED|BLOCKED, "entities": [{entity_type, id,
 * can_send_message, errors?: [{error_code, error_description, possible_solution}]}]},
 * derived from the account's faults, the number's status and the template's status. */
#ifndef SIM_HEALTH_H
#define SIM_HEALTH_H

#include <jansson.h>

#include "phones.h"
#include "templates.h"

#define SIM_BUSINESS_ID "104752951623580" /* the business portfolio of the WABA */
#define SIM_APP_ID "1029384756473829"     /* the app that holds the token */

/* Each returns a new reference: the value of "health_status". */
json_t *health_phone(const struct sim_phone *p);
json_t *health_waba(void);
json_t *health_template(const char *name, const char *language, const struct tpl_info *info);

#endif
