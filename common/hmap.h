/* hmap.h - an intrusive chained hash table: the caller embeds a struct hmap_node in its
 * entries, hashes its keys (hmap_hash_*), and compares keys itself while walking the
 * entries of one hash. It grows (doubling, a power of two of buckets) as entries come,
 * and never allocates entries: their memory is the caller's. Not thread-safe. */
#ifndef COMMON_HMAP_H
#define COMMON_HMAP_H

#include <stddef.h>
#include <stdint.h>

struct hmap_node {
    struct hmap_node *chain; /* next in the bucket */
    uint64_t hash;
};

struct hmap {
    struct hmap_node **buckets;
    size_t nbuckets; /* a power of two */
    size_t count;
};

/* An empty table of at least min_buckets buckets (rounded up to a power of two). */
void hmap_init(struct hmap *m, size_t min_buckets);
/* Frees the buckets (not the entries: hand them back first with hmap_drain()). */
void hmap_free(struct hmap *m);

/* The first entry whose hash is hash, or NULL; hmap_next() the next one after n. Keys
 * with the same hash are told apart by the caller. */
struct hmap_node *hmap_first(const struct hmap *m, uint64_t hash);
struct hmap_node *hmap_next(const struct hmap_node *n);
/* Adds n under hash (n must not be in a table). */
void hmap_insert(struct hmap *m, struct hmap_node *n, uint64_t hash);
/* Takes n out of m (n must be in m). */
void hmap_remove(struct hmap *m, struct hmap_node *n);
/* Empties m, handing each entry to fn (which may free it). */
void hmap_drain(struct hmap *m, void (*fn)(struct hmap_node *n, void *arg), void *arg);

/* FNV-1a of a string, and of more strings after a first hash (with a separator). */
uint64_t hmap_hash_str(const char *s);
uint64_t hmap_hash_more(uint64_t h, char separator, const char *s);

/* The entry that embeds node n as its member field. */
#define hmap_entry(n, type, member) ((type *)((char *)(n)-offsetof(type, member)))

#endif
