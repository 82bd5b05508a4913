/* settings_cache.c - the cache of settings documents: a hash table of entries on a
 * most-recently-read list, one mutex (a hit holds it for a lookup and a copy). */
#include "settings_cache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "hmap.h"
#include "metrics.h"
#include "monotonic.h"
#include "uuidutil.h"

struct cache_entry {
    struct hmap_node node;
    struct cache_entry *newer, *older; /* the recency list */
    char tenant_id[UUID_STR_LEN];
    size_t len;
    char doc[]; /* len bytes and a NUL */
};

static struct {
    pthread_mutex_t lock;
    struct hmap map;                     /* under lock */
    struct cache_entry *newest, *oldest; /* under lock */
    uint64_t generation;                 /* under lock: changes applied (forget calls) */
    size_t max;                          /* read-only after init; 0 = disabled */
    _Atomic int64_t serve_until_ms;      /* 0: may not answer */
    struct metric *hits, *misses, *evictions, *entries;
} cache = {.lock = PTHREAD_MUTEX_INITIALIZER};

static double serving_now(void *arg)
{
    (void)arg;
    return monotonic_ms() < atomic_load(&cache.serve_until_ms) ? 1 : 0;
}

void settings_cache_init(long max_entries)
{
    cache.max = max_entries > 0 ? (size_t)max_entries : 0;
    if (!cache.max)
        return;
    hmap_init(&cache.map, 64);
    cache.hits =
        metrics_counter("tenant_settings_cache_hits_total",
                        "Notification-settings GETs answered from this instance's cache.", "");
    cache.misses = metrics_counter("tenant_settings_cache_misses_total",
                                   "Notification-settings GETs the cache could not answer (not "
                                   "cached, or not allowed to answer): read from the database.",
                                   "");
    cache.evictions = metrics_counter("tenant_settings_cache_evictions_total",
                                      "Cached settings documents dropped for room "
                                      "(SETTINGS_CACHE_ENTRIES).",
                                      "");
    cache.entries =
        metrics_gauge("tenant_settings_cache_entries", "Settings documents in the cache.", "");
    metrics_gauge_fn("tenant_settings_cache_serving",
                     "1 while the cache may answer (lease held, every change applied).", "",
                     serving_now, NULL);
}

bool settings_cache_enabled(void)
{
    return cache.max > 0;
}

static void unlink_entry(struct cache_entry *e)
{
    if (e->newer)
        e->newer->older = e->older;
    else
        cache.newest = e->older;
    if (e->older)
        e->older->newer = e->newer;
    else
        cache.oldest = e->newer;
    e->newer = e->older = NULL;
}

static void link_newest(struct cache_entry *e)
{
    e->older = cache.newest;
    e->newer = NULL;
    if (cache.newest)
        cache.newest->newer = e;
    cache.newest = e;
    if (!cache.oldest)
        cache.oldest = e;
}

static void drop_entry(struct cache_entry *e)
{
    unlink_entry(e);
    hmap_remove(&cache.map, &e->node);
    free(e);
}

/* Under lock. */
static struct cache_entry *find(const char *tenant_id, uint64_t hash)
{
    for (struct hmap_node *n = hmap_first(&cache.map, hash); n; n = hmap_next(n)) {
        struct cache_entry *e = hmap_entry(n, struct cache_entry, node);
        if (strcmp(e->tenant_id, tenant_id) == 0)
            return e;
    }
    return NULL;
}

char *settings_cache_get(const char *tenant_id, size_t *len)
{
    char *copy = NULL;
    if (!cache.max)
        return NULL;
    if (monotonic_ms() < atomic_load(&cache.serve_until_ms)) {
        uint64_t hash = hmap_hash_str(tenant_id);
        pthread_mutex_lock(&cache.lock);
        struct cache_entry *e = find(tenant_id, hash);
        if (e) {
            unlink_entry(e);
            link_newest(e);
            copy = xmalloc(e->len + 1);
            memcpy(copy, e->doc, e->len + 1);
            *len = e->len;
        }
        pthread_mutex_unlock(&cache.lock);
    }
    metric_inc(copy ? cache.hits : cache.misses);
    return copy;
}

uint64_t settings_cache_ticket(void)
{
    if (!cache.max)
        return 0;
    pthread_mutex_lock(&cache.lock);
    uint64_t ticket = cache.generation;
    pthread_mutex_unlock(&cache.lock);
    return ticket;
}

void settings_cache_put(const char *tenant_id, const char *doc, uint64_t ticket)
{
    if (!cache.max)
        return;
    size_t len = strlen(doc);
    struct cache_entry *fresh = xmalloc(sizeof(*fresh) + len + 1);
    memset(fresh, 0, sizeof(*fresh));
    snprintf(fresh->tenant_id, sizeof fresh->tenant_id, "%s", tenant_id);
    fresh->len = len;
    memcpy(fresh->doc, doc, len + 1);
    uint64_t hash = hmap_hash_str(tenant_id);
    size_t evicted = 0;

    pthread_mutex_lock(&cache.lock);
    if (ticket != cache.generation)
        goto out; /* a change was applied while it was read: it may predate it */
    struct cache_entry *old = find(tenant_id, hash);
    if (old)
        drop_entry(old);
    while (cache.map.count >= cache.max) {
        drop_entry(cache.oldest);
        evicted++;
    }
    hmap_insert(&cache.map, &fresh->node, hash);
    link_newest(fresh);
    fresh = NULL;
out:
    metric_set(cache.entries, (double)cache.map.count);
    pthread_mutex_unlock(&cache.lock);
    if (evicted)
        metric_add(cache.evictions, (double)evicted);
    free(fresh);
}

void settings_cache_forget(const char (*ids)[UUID_STR_LEN], size_t n)
{
    if (!cache.max)
        return;
    pthread_mutex_lock(&cache.lock);
    for (size_t i = 0; i < n; i++) {
        struct cache_entry *e = find(ids[i], hmap_hash_str(ids[i]));
        if (e)
            drop_entry(e);
    }
    cache.generation++;
    metric_set(cache.entries, (double)cache.map.count);
    pthread_mutex_unlock(&cache.lock);
}

static void free_node(struct hmap_node *n, void *arg)
{
    (void)arg;
    free(hmap_entry(n, struct cache_entry, node));
}

void settings_cache_forget_all(void)
{
    if (!cache.max)
        return;
    pthread_mutex_lock(&cache.lock);
    hmap_drain(&cache.map, free_node, NULL);
    cache.newest = cache.oldest = NULL;
    cache.generation++;
    metric_set(cache.entries, 0);
    pthread_mutex_unlock(&cache.lock);
}

void settings_cache_serve_until(int64_t deadline_ms)
{
    atomic_store(&cache.serve_until_ms, deadline_ms);
}

void settings_cache_stop_serving(void)
{
    atomic_store(&cache.serve_until_ms, 0);
}

void settings_cache_free(void)
{
    if (!cache.max)
        return;
    settings_cache_stop_serving();
    settings_cache_forget_all();
    hmap_free(&cache.map);
}
