/* prng.c - splitmix64 over an atomic counter. */
#include "prng.h"

#include <sys/random.h>
#include <time.h>

#define PRNG_GOLDEN 0x9e3779b97f4a7c15ULL

void prng_seed(struct prng *g, uint64_t seed)
{
    atomic_store(&g->seed, seed);
    atomic_store(&g->state, seed);
}

uint64_t prng_os_seed(void)
{
    uint64_t seed = 0;
    if (getrandom(&seed, sizeof seed, 0) != sizeof seed)
        seed = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)&seed;
    return seed;
}

uint64_t prng_current_seed(struct prng *g)
{
    return atomic_load(&g->seed);
}

uint64_t prng_mix(uint64_t x)
{
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

uint64_t prng_next(struct prng *g)
{
    return prng_mix(atomic_fetch_add(&g->state, PRNG_GOLDEN) + PRNG_GOLDEN);
}

double prng_unit(struct prng *g)
{
    return (double)(prng_next(g) >> 11) * (1.0 / 9007199254740992.0);
}
