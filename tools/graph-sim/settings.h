/* settings.h - the knobs a test may change at run time through POST /_sim/settings
 * (throughput, pair window, webhook target and timing, the access token). They start
 * from the configuration and POST /_sim/reset puts them back. */
#ifndef SIM_SETTINGS_H
#define SIM_SETTINGS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

enum { ST_SENT = 1 << 0, ST_DELIVERED = 1 << 1, ST_READ = 1 << 2 };

struct sim_settings {
    long mps;            /* default per-number messages per second; 0 = unlimited */
    long pair_window_ms; /* one message per recipient per number per window; 0 = off */
    long status_delay_ms;
    long duplicate_delay_ms;
    long batch_max;
    unsigned statuses; /* ST_* emitted after a successful send */
    char webhook_url[512];
    char app_secret[256];
    char access_token[512];
    long template_review_ms;    /* Graph-created templates stay PENDING this long; 0 = none */
    char reject_languages[256]; /* comma-separated languages the review rejects */
    char reject_reason[64];     /* rejected_reason of those */
    long messaging_limit;       /* unique recipients per rolling 24 h; 0 = unlimited */
    char pricing[8];            /* "pmp", "cbp" or "none" */
    long ttl_error_code;        /* code of the failed status when a message's TTL passes */
};

/* Loads the settings from sim_cfg. Returns 0, or -1 with a reason in err. */
int settings_init(char *err, size_t errlen) __attribute__((warn_unused_result));
void settings_reset(void);
/* Copies the current settings into out. */
void settings_get(struct sim_settings *out);
/* The two limits alone (cheap, for the send path). */
void settings_limits(long *mps, long *pair_window_ms);
/* True when token equals the current access token (constant-time comparison). */
bool settings_token_ok(const char *token);
/* Applies the keys present in obj. Returns 0, or -1 with a reason in err and nothing
 * changed. */
int settings_update(const json_t *obj, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/* The settings as JSON with secrets masked; a new reference. */
json_t *settings_json(void);
/* Parses "sent,delivered,read" into ST_* bits; returns false on an unknown word. */
bool settings_parse_statuses(const char *s, unsigned *out);

#endif
