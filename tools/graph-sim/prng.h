/* prng.h - the simulator's one source of randomness: splitmix64 over an atomic counter,
 * so every draw is deterministic given GRAPH_SIM_SEED and the order of the draws. */
#ifndef SIM_PRNG_H
#define SIM_PRNG_H

#include <stdint.h>

/* Restarts the sequence from seed. */
void prng_seed(uint64_t seed);
/* The next 64 random bits (thread-safe, lock-free). */
uint64_t prng_next(void);
/* A double in [0, 1). */
double prng_unit(void);
/* The splitmix64 finalizer: a bijection on 64-bit values (distinct in, distinct out). */
uint64_t prng_mix(uint64_t x);
/* The seed of the current sequence. */
uint64_t prng_current_seed(void);

#endif
