/* sessions.h - customer service windows: a user who wrote to a number (POST
 * /_sim/inbound) may get free-form messages from it for 24 hours; outside that window a
 * text message fails asynchronously with 131047, as on Meta. */
#ifndef SIM_SESSIONS_H
#define SIM_SESSIONS_H

#include <stdbool.h>
#include <stdint.h>

/* Records that wa_id wrote to phone_id at wall_ms. */
void sessions_note(const char *phone_id, const char *wa_id, int64_t wall_ms);
/* True when wa_id wrote to phone_id within 24 hours before wall_ms. */
bool sessions_open(const char *phone_id, const char *wa_id, int64_t wall_ms);
void sessions_reset(void);

#endif
