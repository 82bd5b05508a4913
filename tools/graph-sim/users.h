/* users.h - WhatsApp users with a business-scoped user id (BSUID) and perhaps a username:
 * their statuses carry recipient_user_id, their inbound messages user_id, and a user who
 * hides the phone number gets neither recipient_id nor from/wa_id. Set through
 * /_sim/users; empty at start and after a reset. */
#ifndef SIM_USERS_H
#define SIM_USERS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "sim.h"

struct sim_user {
    char wa_id[SIM_WA_ID_MAX]; /* empty for a user known only by user_id */
    char user_id[160];
    char username[64];
    bool hide_phone;
};

/* Copies the user with this wa_id into out; false when none. */
bool users_by_wa_id(const char *wa_id, struct sim_user *out);
/* Copies the user with this BSUID into out; false when none. */
bool users_by_user_id(const char *user_id, struct sim_user *out);
/* Adds (or, with replace, replaces all with) the users of arr [{phone?, user_id,
 * username?, hide_phone?}]. Returns 0, or -1 with a reason in err and no change. */
int users_set(const json_t *arr, bool replace, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/* Every user; a new reference. */
json_t *users_json(void);
void users_reset(void);

#endif
