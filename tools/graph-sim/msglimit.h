/* msglimit.h - the business portfolio's messaging limit: unique users reached outside a
 * customer-service window per moving 24 hours, shared by every number of the WABA (250,
 * 2,000, 10,000, 100,000 or unlimited). Time is the simulator's wall clock, so a test can
 * move 24 hours on. */
#ifndef SIM_MSGLIMIT_H
#define SIM_MSGLIMIT_H

#include <stdbool.h>
#include <stdint.h>

enum msglimit_take { ML_KNOWN, ML_NEW, ML_FULL };

/* Counts recipient (its number) reached at now_ms against limit (0 = unlimited, nothing
 * is tracked). ML_KNOWN: already reached in the last 24 h; ML_NEW: counted now; ML_FULL:
 * a new recipient beyond the limit (not counted). */
enum msglimit_take msglimit_take(uint64_t recipient, int64_t now_ms, long limit);
/* Takes back an ML_NEW of recipient (the send was refused later). */
void msglimit_release(uint64_t recipient);
/* Unique recipients in the last 24 h at now_ms. */
long msglimit_used(int64_t now_ms);
void msglimit_reset(void);
void msglimit_free(void);

#endif
