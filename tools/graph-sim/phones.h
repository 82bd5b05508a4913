/* phones.h - the WABA's phone numbers: seeded at start (defaults, GRAPH_SIM_PHONE_COUNT or
 * GRAPH_SIM_PHONES_FILE), replaced or extended through /_sim/phone_numbers, listed newest
 * first with Meta's fields. Readers get copies, never pointers into the store. */
#ifndef SIM_PHONES_H
#define SIM_PHONES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim.h"

struct sim_phone {
    int slot; /* stable index while the set is not replaced (limiter, counts) */
    char id[SIM_ID_MAX];
    char display[SIM_DISPLAY_MAX]; /* "+34 612 345 678" */
    char digits[SIM_WA_ID_MAX];    /* "34612345678": metadata.display_phone_number */
    char country_code[5];          /* "34", empty when the display number has no group */
    char verified_name[128];
    char quality_rating[16];
    char code_verification_status[24];
    char name_status[24];
    char messaging_limit_tier[24];
    char status[24];           /* CONNECTED, FLAGGED, RESTRICTED, ... */
    char throughput_level[16]; /* empty = from mps (STANDARD at <= 80, else HIGH) */
    long mps;                  /* own throughput; -1 = the default of the settings, 0 = unlimited */
    int64_t onboarded;         /* unix seconds; the listing shows the newest first */
};

/* Field bits of GET /{phone} and /{waba}/phone_numbers. */
enum {
    PF_ID = 1 << 0,
    PF_VERIFIED_NAME = 1 << 1,
    PF_DISPLAY = 1 << 2,
    PF_QUALITY = 1 << 3,
    PF_CODE_VERIFICATION = 1 << 4,
    PF_PLATFORM = 1 << 5,
    PF_THROUGHPUT = 1 << 6,
    PF_NAME_STATUS = 1 << 7,
    PF_TIER = 1 << 8,
    PF_STATUS = 1 << 9,
    PF_ACCOUNT_MODE = 1 << 10,
    PF_OFFICIAL = 1 << 11,
    PF_LAST_ONBOARDED = 1 << 12,
    PF_HEALTH = 1 << 13,    /* health_status (added by the Graph handler) */
    PF_WBM_LIMIT = 1 << 14, /* whatsapp_business_manager_messaging_limit (same) */
};
#define PF_LIST_DEFAULT (PF_ID | PF_VERIFIED_NAME | PF_DISPLAY | PF_QUALITY)
#define PF_NODE_DEFAULT (PF_LIST_DEFAULT | PF_CODE_VERIFICATION | PF_PLATFORM | PF_THROUGHPUT)

/* Seeds the store from sim_cfg and remembers that set for phones_reset(). Returns 0, or
 * -1 with a reason in err. */
int phones_init(char *err, size_t errlen) __attribute__((warn_unused_result));
void phones_reset(void);
/* Frees the store (at exit). */
void phones_free(void);
/* Copies the number with this id into out; false when there is none. */
bool phones_get(const char *id, struct sim_phone *out);
/* Copies every number, newest first, into out (SIM_MAX_PHONES entries); returns count. */
size_t phones_list(struct sim_phone *out);
/* Parses a "fields" argument ("id,quality_rating,throughput{level}"). Returns false and
 * the offending name in bad when a field does not exist. */
bool phones_parse_fields(const char *fields, unsigned *mask, char *bad, size_t badlen);
/* p as Meta's JSON object with the fields of mask; a new reference. default_mps is the
 * current default throughput (for throughput.level). */
json_t *phones_to_json(const struct sim_phone *p, unsigned mask, long default_mps);
/* A change made through /_sim/phone_numbers/update (NULL = unchanged). */
struct phone_change {
    const char *quality_rating;
    const char *status;
    const char *name_status;
    const char *throughput_level;
};

/* Applies c to number id; before and after get its state around the change. Returns 0,
 * -1 when there is no such number, -2 with a reason in err for an invalid value. */
int phones_update(const char *id, const struct phone_change *c, struct sim_phone *before,
                  struct sim_phone *after, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/* Adds the numbers of array arr (objects like GET /{phone} returns, plus optional "mps"),
 * or replaces the whole set when replace. Returns 0, or -1 with a reason in err and no
 * change. */
int phones_seed(const json_t *arr, bool replace, char *err, size_t errlen)
    __attribute__((warn_unused_result));

#endif
