/* sim.h - graph-sim's configuration (read once from the environment) and limits shared
 * by its modules. */
#ifndef SIM_SIM_H
#define SIM_SIM_H

#include <stdbool.h>
#include <stdint.h>

#include "monotonic.h"

#define SIM_MAX_PHONES 120 /* Meta's limit of phone numbers per WABA */
#define SIM_ID_MAX 32
#define SIM_DISPLAY_MAX 40
#define SIM_WA_ID_MAX 16 /* up to 15 digits and the NUL */

struct sim_config {
    const char *bind_address;
    long port;
    long http_threads;
    long body_limit;
    long conn_timeout;
    const char *log_level;
    /* the simulated account */
    const char *access_token;
    const char *waba_id;
    const char *app_secret;
    long phone_count;
    const char *phones_file;
    const char *not_on_whatsapp; /* comma-separated E.164 numbers */
    bool template_auto_approve;
    const char *public_url;
    const char *error_status; /* "meta" or "400" */
    long seed;
    /* limits */
    long mps;
    long pair_window_ms;
    long messages_max;
    /* webhooks */
    const char *webhook_url;
    long status_delay_ms;
    const char *statuses;
    long webhook_batch_max;
    long webhook_timeout_ms;
    long webhook_retry_min_ms;
    long webhook_retry_max_ms;
    long webhook_queue_max;
    long duplicate_delay_ms;
};

/* The configuration, filled by main before any thread starts, read-only afterwards. */
extern struct sim_config sim_cfg;

/* Milliseconds of the wall clock (timestamps); intervals use monotonic.h. */
int64_t sim_wall_ms(void);
/* Sleeps ms milliseconds (restarting after signals). */
void sim_sleep_ms(long ms);

#endif
