/* limiter.c - per number, a ring of the times of the last accepted sends (at most mps of
 * them: a send passes when fewer than mps fall in the last 1000 ms); per (number,
 * recipient), the time of the last accepted send in an open-addressing table that is
 * rebuilt without expired entries when it fills up. */
#include "limiter.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "sim.h"

#define LIM_WINDOW_MS 1000
#define PAIR_MIN_CAP 1024

struct lim_ring {
    int64_t *times; /* owned, cap entries, oldest at head */
    size_t cap, head, count;
};

struct pair_entry {
    uint64_t key; /* 0 = empty */
    int64_t at_ms;
};

static pthread_mutex_t lim_lock = PTHREAD_MUTEX_INITIALIZER;
static struct lim_ring rings[SIM_MAX_PHONES];
static struct pair_entry *pairs; /* owned */
static size_t pair_cap, pair_count;

static void ring_expire(struct lim_ring *r, int64_t now_ms)
{
    while (r->count && r->times[r->head] <= now_ms - LIM_WINDOW_MS) {
        r->head = (r->head + 1) % r->cap;
        r->count--;
    }
}

/* Makes room for at least want entries, keeping the order. */
static void ring_reserve(struct lim_ring *r, size_t want)
{
    if (r->cap >= want)
        return;
    int64_t *t = xmalloc(want * sizeof(*t));
    for (size_t i = 0; i < r->count; i++)
        t[i] = r->times[(r->head + i) % r->cap];
    free(r->times);
    r->times = t;
    r->cap = want;
    r->head = 0;
}

static void ring_push(struct lim_ring *r, int64_t now_ms)
{
    if (r->count == r->cap) { /* only for inbound at saturation: the oldest goes */
        r->head = (r->head + 1) % r->cap;
        r->count--;
    }
    r->times[(r->head + r->count) % r->cap] = now_ms;
    r->count++;
}

static size_t pair_slot(uint64_t key, size_t cap)
{
    return (size_t)(prng_mix(key) & (cap - 1));
}

static struct pair_entry *pair_find(uint64_t key)
{
    if (!pairs)
        return NULL;
    for (size_t i = pair_slot(key, pair_cap);; i = (i + 1) & (pair_cap - 1)) {
        if (pairs[i].key == key)
            return &pairs[i];
        if (pairs[i].key == 0)
            return NULL;
    }
}

static void pair_put_raw(struct pair_entry *table, size_t cap, uint64_t key, int64_t at_ms)
{
    size_t i = pair_slot(key, cap);
    while (table[i].key != 0 && table[i].key != key)
        i = (i + 1) & (cap - 1);
    table[i].key = key;
    table[i].at_ms = at_ms;
}

/* Rebuilds the table with only the entries still inside the window, growing it so that
 * it ends at most a quarter full. */
static void pair_rebuild(int64_t now_ms, long window_ms)
{
    size_t live = 0;
    for (size_t i = 0; i < pair_cap; i++) {
        if (pairs[i].key && now_ms - pairs[i].at_ms < window_ms)
            live++;
    }
    size_t cap = pair_cap ? pair_cap : PAIR_MIN_CAP;
    while ((live + 1) * 4 > cap)
        cap *= 2;
    struct pair_entry *t = xcalloc(cap, sizeof(*t));
    size_t n = 0;
    for (size_t i = 0; i < pair_cap; i++) {
        if (pairs[i].key && now_ms - pairs[i].at_ms < window_ms) {
            pair_put_raw(t, cap, pairs[i].key, pairs[i].at_ms);
            n++;
        }
    }
    free(pairs);
    pairs = t;
    pair_cap = cap;
    pair_count = n;
}

static void pair_record(uint64_t key, int64_t now_ms, long window_ms)
{
    struct pair_entry *e = pair_find(key);
    if (e) {
        e->at_ms = now_ms;
        return;
    }
    if (!pairs || (pair_count + 1) * 2 > pair_cap)
        pair_rebuild(now_ms, window_ms);
    pair_put_raw(pairs, pair_cap, key, now_ms);
    pair_count++;
}

enum lim_result limiter_try(int slot, long mps, long pair_window_ms, uint64_t recipient,
                            int64_t now_ms)
{
    enum lim_result r = LIM_OK;
    /* A wa_id has at most 15 digits (< 2^50): the slot fits above it. */
    uint64_t key = ((uint64_t)slot << 50) | (recipient & ((1ULL << 50) - 1));
    if (slot < 0 || slot >= SIM_MAX_PHONES)
        return LIM_OK;
    pthread_mutex_lock(&lim_lock);
    struct lim_ring *ring = &rings[slot];
    if (mps > 0) {
        ring_reserve(ring, (size_t)mps);
        ring_expire(ring, now_ms);
        if (ring->count >= (size_t)mps) {
            r = LIM_THROUGHPUT;
            goto out;
        }
    }
    if (pair_window_ms > 0) {
        const struct pair_entry *e = pair_find(key);
        if (e && now_ms - e->at_ms < pair_window_ms) {
            r = LIM_PAIR;
            goto out;
        }
    }
    if (mps > 0)
        ring_push(ring, now_ms);
    if (pair_window_ms > 0)
        pair_record(key, now_ms, pair_window_ms);
out:
    pthread_mutex_unlock(&lim_lock);
    return r;
}

void limiter_note_inbound(int slot, long mps, int64_t now_ms)
{
    if (slot < 0 || slot >= SIM_MAX_PHONES || mps <= 0)
        return;
    pthread_mutex_lock(&lim_lock);
    ring_reserve(&rings[slot], (size_t)mps);
    ring_expire(&rings[slot], now_ms);
    ring_push(&rings[slot], now_ms);
    pthread_mutex_unlock(&lim_lock);
}

void limiter_reset(void)
{
    pthread_mutex_lock(&lim_lock);
    for (size_t i = 0; i < SIM_MAX_PHONES; i++)
        rings[i].head = rings[i].count = 0;
    if (pairs)
        memset(pairs, 0, pair_cap * sizeof(*pairs));
    pair_count = 0;
    pthread_mutex_unlock(&lim_lock);
}

void limiter_free(void)
{
    pthread_mutex_lock(&lim_lock);
    for (size_t i = 0; i < SIM_MAX_PHONES; i++) {
        free(rings[i].times);
        memset(&rings[i], 0, sizeof rings[i]);
    }
    free(pairs);
    pairs = NULL;
    pair_cap = pair_count = 0;
    pthread_mutex_unlock(&lim_lock);
}
