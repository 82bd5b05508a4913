/* events.h - account-level webhooks (entry[].changes[] whose field is not "messages"):
 * the six fields Meta sends, their value shapes filled from the simulator's state, and
 * the state changes that announce themselves (a template's status, quality or category;
 * a number's quality or status). */
#ifndef SIM_EVENTS_H
#define SIM_EVENTS_H

#include <jansson.h>
#include <stddef.h>

#include "phones.h"
#include "templates.h"

/* Emits what POST /_sim/account-events asked: {"field", "value"?, "raw"?} or {"events":
 * [...]}. Missing keys of a value are filled from the state (template id and category,
 * the number's display digits, the portfolio's tier) unless raw. Returns 0; -1 with a
 * reason in err for a bad body (nothing emitted); -2 when no webhook URL is set. */
int events_emit(const json_t *body, char *err, size_t errlen) __attribute__((warn_unused_result));
/* message_template_status_update for a template (info after the change), delivered after
 * delay_ms. */
void events_template_status(const char *name, const char *language, const struct tpl_info *info,
                            const char *reason, long delay_ms);
/* message_template_quality_update from previous to info->quality. */
void events_template_quality(const char *name, const char *language, const struct tpl_info *info,
                             const char *previous);
/* template_category_update from previous to info->category. */
void events_template_category(const char *name, const char *language, const struct tpl_info *info,
                              const char *previous);
/* phone_number_quality_update with this event for number p. */
void events_phone_quality(const struct sim_phone *p, const char *event);
/* Meta's name of a portfolio limit: TIER_250, TIER_2K, TIER_10K, TIER_100K, TIER_UNLIMITED. */
const char *events_tier_name(long limit);

#endif
