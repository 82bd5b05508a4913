/* sim.h - graph-sim's configuration (read once from the environment) and limits shared
 * by its modules. */
#ifndef SIM_SIM_H
#define SIM_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon.h"
#include "monotonic.h"
#include "prng.h"

#define SIM_MAX_PHONES 120 /* Meta's limit of phone numbers per WABA */
#define SIM_ID_MAX 32
#define SIM_DISPLAY_MAX 40
#define SIM_WA_ID_MAX 16 /* up to 15 digits and the NUL */

struct sim_config {
    struct daemon_http http; /* the listener: GRAPH_SIM_BIND_ADDRESS, _PORT, ... */
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
    /* 2026 additions */
    const char *now;              /* GRAPH_SIM_NOW: the simulated date, empty = real */
    long template_review_ms;      /* 0 = templates are decided at creation */
    const char *reject_languages; /* comma-separated languages the review rejects */
    long messaging_limit;         /* unique recipients per 24 h; 0 = unlimited */
    const char *pricing;          /* pmp, cbp or none */
};

/* The configuration, filled by main before any thread starts, read-only afterwards. */
extern struct sim_config sim_cfg;

/* The simulator's one source of randomness: deterministic given GRAPH_SIM_SEED and the
 * order of the draws (defined in main.c). */
extern struct prng sim_rng;

/* Milliseconds of the simulator's wall clock: the real clock moved by GRAPH_SIM_NOW or
 * POST /_sim/clock (timestamps, "today", 24-hour windows); intervals use monotonic.h. */
int64_t sim_wall_ms(void);
/* Parses "2026-12-06", "2026-12-06T10:00:00Z" or unix seconds into *out_ms. */
bool sim_parse_time(const char *s, int64_t *out_ms);
/* Applies GRAPH_SIM_NOW. Returns 0, or -1 with a reason in err. */
int sim_clock_init(char *err, size_t errlen) __attribute__((warn_unused_result));
/* Sets the wall clock to wall_ms now (it keeps running from there). */
void sim_clock_set_ms(int64_t wall_ms);
/* Moves the wall clock forward by ms. */
void sim_clock_advance_ms(int64_t ms);
/* Back to the configured clock (GRAPH_SIM_NOW, or the real one). */
void sim_clock_reset(void);
/* Sleeps ms milliseconds (restarting after signals). */
void sim_sleep_ms(long ms);

#endif
