/* prng.c - splitmix64: a counter advanced atomically, each value passed through a mixer. */
#include "prng.h"

#include <stdatomic.h>

#define PRNG_GOLDEN 0x9e3779b97f4a7c15ULL

static _Atomic uint64_t prng_state;
static _Atomic uint64_t prng_seed_value;

void prng_seed(uint64_t seed)
{
    atomic_store(&prng_seed_value, seed);
    atomic_store(&prng_state, seed);
}

uint64_t prng_current_seed(void)
{
    return atomic_load(&prng_seed_value);
}

uint64_t prng_mix(uint64_t x)
{
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

uint64_t prng_next(void)
{
    return prng_mix(atomic_fetch_add(&prng_state, PRNG_GOLDEN) + PRNG_GOLDEN);
}

double prng_unit(void)
{
    return (double)(prng_next() >> 11) * (1.0 / 9007199254740992.0);
}
