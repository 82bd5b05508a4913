/* limiter.h - Meta's two send limits per phone number: throughput (messages per second,
 * a sliding one-second window over accepted sends: error 130429) and the pair limit (one
 * message to the same recipient per window, 6 s by default: error 131056). */
#ifndef SIM_LIMITER_H
#define SIM_LIMITER_H

#include <stdint.h>

#include "sim.h"

enum lim_result { LIM_OK, LIM_THROUGHPUT, LIM_PAIR };

/* Checks both limits for a send from phone slot to recipient (the wa_id as a number) at
 * now_ms and, when both pass, records the send. mps 0 or pair_window_ms 0 turn a limit
 * off. Thread-safe. */
enum lim_result limiter_try(int slot, long mps, long pair_window_ms, uint64_t recipient,
                            int64_t now_ms);
/* Counts an inbound message against the number's throughput (Meta counts both ways);
 * never refused. */
void limiter_note_inbound(int slot, long mps, int64_t now_ms);
/* Forgets every recorded send. */
void limiter_reset(void);
void limiter_free(void);

#endif
