/* prng.h - splitmix64: a 64-bit counter advanced atomically, each value passed through a
 * mixer. Fast, lock-free, and deterministic given its seed (graph-sim's replays); not
 * for secrets. */
#ifndef COMMON_PRNG_H
#define COMMON_PRNG_H

#include <stdatomic.h>
#include <stdint.h>

struct prng {
    _Atomic uint64_t state;
    _Atomic uint64_t seed;
};

/* (Re)starts g's sequence from seed. */
void prng_seed(struct prng *g, uint64_t seed);
/* A seed from the kernel (getrandom), for a generator that need not repeat. */
uint64_t prng_os_seed(void);
/* The next 64 random bits (thread-safe, lock-free). */
uint64_t prng_next(struct prng *g);
/* A double in [0, 1). */
double prng_unit(struct prng *g);
/* The seed g's sequence started from. */
uint64_t prng_current_seed(struct prng *g);
/* The splitmix64 finalizer: a bijection on 64-bit values (distinct in, distinct out). */
uint64_t prng_mix(uint64_t x);

#endif
