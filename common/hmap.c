/* hmap.c - chained buckets, doubled when the entries outnumber them. */
#include "hmap.h"

#include <stdlib.h>

#include "alloc.h"

#define FNV_OFFSET 14695981039346656037ULL
#define FNV_PRIME 1099511628211ULL

void hmap_init(struct hmap *m, size_t min_buckets)
{
    size_t n = 16;
    while (n < min_buckets)
        n *= 2;
    m->buckets = xcalloc(n, sizeof(*m->buckets));
    m->nbuckets = n;
    m->count = 0;
}

void hmap_free(struct hmap *m)
{
    free(m->buckets);
    m->buckets = NULL;
    m->nbuckets = m->count = 0;
}

struct hmap_node *hmap_first(const struct hmap *m, uint64_t hash)
{
    struct hmap_node *n = m->buckets[hash & (m->nbuckets - 1)];
    while (n && n->hash != hash)
        n = n->chain;
    return n;
}

struct hmap_node *hmap_next(const struct hmap_node *n)
{
    struct hmap_node *e = n->chain;
    while (e && e->hash != n->hash)
        e = e->chain;
    return e;
}

static void grow(struct hmap *m)
{
    size_t n = m->nbuckets * 2;
    struct hmap_node **buckets = xcalloc(n, sizeof(*buckets));
    for (size_t i = 0; i < m->nbuckets; i++) {
        for (struct hmap_node *e = m->buckets[i], *next; e; e = next) {
            next = e->chain;
            struct hmap_node **head = &buckets[e->hash & (n - 1)];
            e->chain = *head;
            *head = e;
        }
    }
    free(m->buckets);
    m->buckets = buckets;
    m->nbuckets = n;
}

void hmap_insert(struct hmap *m, struct hmap_node *n, uint64_t hash)
{
    if (m->count + 1 > m->nbuckets)
        grow(m);
    struct hmap_node **head = &m->buckets[hash & (m->nbuckets - 1)];
    n->hash = hash;
    n->chain = *head;
    *head = n;
    m->count++;
}

void hmap_remove(struct hmap *m, struct hmap_node *n)
{
    struct hmap_node **link = &m->buckets[n->hash & (m->nbuckets - 1)];
    while (*link != n)
        link = &(*link)->chain;
    *link = n->chain;
    n->chain = NULL;
    m->count--;
}

void hmap_drain(struct hmap *m, void (*fn)(struct hmap_node *n, void *arg), void *arg)
{
    for (size_t i = 0; i < m->nbuckets; i++) {
        struct hmap_node *e = m->buckets[i];
        m->buckets[i] = NULL;
        for (struct hmap_node *next; e; e = next) {
            next = e->chain;
            e->chain = NULL;
            fn(e, arg);
        }
    }
    m->count = 0;
}

uint64_t hmap_hash_str(const char *s)
{
    uint64_t h = FNV_OFFSET;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * FNV_PRIME;
    return h;
}

uint64_t hmap_hash_more(uint64_t h, char separator, const char *s)
{
    h = (h ^ (unsigned char)separator) * FNV_PRIME;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * FNV_PRIME;
    return h;
}
