/* ratelimit.c - a sliding-window ring with a GCRA burst cap per sender number, and a
 * hash of (sender, recipient) pairs chained in time order so the expired ones leave from
 * the head of the list. */
#include "outbox/ratelimit.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "hmap.h"

#define SECOND_US 1000000
#define PAIRS_MIN_BUCKETS 64

static int64_t max64(int64_t a, int64_t b)
{
    return a > b ? a : b;
}

void rl_rate_init(struct rl_rate *r, long per_second, long burst, int64_t margin_us)
{
    memset(r, 0, sizeof(*r));
    if (per_second < 1)
        per_second = 1;
    if (burst < 1)
        burst = 1;
    if (burst > per_second)
        burst = per_second;
    r->limit = (size_t)per_second;
    r->times = xcalloc(r->limit, sizeof(*r->times));
    r->window_us = SECOND_US + (margin_us > 0 ? margin_us : 0);
    r->interval_us = (SECOND_US + per_second - 1) / per_second;
    r->tolerance_us = (burst - 1) * r->interval_us;
    r->tat_us = INT64_MIN / 2;
    r->blocked_until_us = INT64_MIN / 2;
}

void rl_rate_free(struct rl_rate *r)
{
    free(r->times);
    r->times = NULL;
}

int64_t rl_rate_wait(const struct rl_rate *r, int64_t now_us)
{
    int64_t ready = max64(r->blocked_until_us, r->tat_us - r->tolerance_us);
    if (r->count == r->limit) { /* full until its oldest send leaves the window */
        int64_t oldest = r->times[r->head];
        ready = max64(ready, oldest == RL_PENDING ? now_us + r->window_us : oldest + r->window_us);
    }
    return ready > now_us ? ready - now_us : 0;
}

size_t rl_rate_take(struct rl_rate *r, int64_t now_us)
{
    r->tat_us = max64(r->tat_us, now_us) + r->interval_us;
    if (r->count == r->limit) {
        r->head = (r->head + 1) % r->limit;
        r->count--;
    }
    size_t ticket = (r->head + r->count) % r->limit;
    r->times[ticket] = RL_PENDING;
    r->count++;
    return ticket;
}

void rl_rate_settle(struct rl_rate *r, size_t ticket, int64_t when_us)
{
    /* A pending slot is never reused: only an expired head is. */
    if (ticket < r->limit && r->times[ticket] == RL_PENDING)
        r->times[ticket] = when_us;
}

void rl_rate_block(struct rl_rate *r, int64_t until_us)
{
    r->blocked_until_us = max64(r->blocked_until_us, until_us);
}

int64_t rl_rate_interval(const struct rl_rate *r)
{
    return r->interval_us;
}

/* ---------- pairs ---------- */

struct pair {
    struct hmap_node node;    /* in the table, by sender and recipient */
    struct pair *prev, *next; /* time order, oldest first */
    int64_t at_us;
    char key[]; /* sender, '\n', recipient */
};

struct rl_pairs {
    int64_t interval_us;
    struct hmap table;
    struct pair *oldest, *newest;
};

static uint64_t hash_key(const char *sender, const char *recipient)
{
    return hmap_hash_more(hmap_hash_str(sender), '\n', recipient);
}

static bool key_equal(const struct pair *e, const char *sender, const char *recipient)
{
    size_t n = strlen(sender);
    return strncmp(e->key, sender, n) == 0 && e->key[n] == '\n' &&
           strcmp(e->key + n + 1, recipient) == 0;
}

struct rl_pairs *rl_pairs_new(int64_t interval_us)
{
    struct rl_pairs *p = xcalloc(1, sizeof(*p));
    p->interval_us = interval_us > 0 ? interval_us : 0;
    hmap_init(&p->table, PAIRS_MIN_BUCKETS);
    return p;
}

void rl_pairs_free(struct rl_pairs *p)
{
    if (!p)
        return;
    for (struct pair *e = p->oldest, *next; e; e = next) {
        next = e->next;
        free(e);
    }
    hmap_free(&p->table);
    free(p);
}

static void list_unlink(struct rl_pairs *p, struct pair *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        p->oldest = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        p->newest = e->prev;
    e->prev = e->next = NULL;
}

static void list_append(struct rl_pairs *p, struct pair *e)
{
    e->prev = p->newest;
    e->next = NULL;
    if (p->newest)
        p->newest->next = e;
    else
        p->oldest = e;
    p->newest = e;
}

static void remove_pair(struct rl_pairs *p, struct pair *e)
{
    hmap_remove(&p->table, &e->node);
    list_unlink(p, e);
    free(e);
}

/* Drops the pairs whose interval has passed: they are the oldest, at the list's head. */
static void expire(struct rl_pairs *p, int64_t now_us)
{
    while (p->oldest && p->oldest->at_us + p->interval_us <= now_us)
        remove_pair(p, p->oldest);
}

static struct pair *find(const struct rl_pairs *p, uint64_t hash, const char *sender,
                         const char *recipient)
{
    for (struct hmap_node *n = hmap_first(&p->table, hash); n; n = hmap_next(n)) {
        struct pair *e = hmap_entry(n, struct pair, node);
        if (key_equal(e, sender, recipient))
            return e;
    }
    return NULL;
}

int64_t rl_pairs_wait(struct rl_pairs *p, const char *sender, const char *recipient, int64_t now_us)
{
    if (p->interval_us == 0)
        return 0;
    expire(p, now_us);
    const struct pair *e = find(p, hash_key(sender, recipient), sender, recipient);
    return e ? e->at_us + p->interval_us - now_us : 0;
}

void rl_pairs_record(struct rl_pairs *p, const char *sender, const char *recipient, int64_t now_us)
{
    if (p->interval_us == 0)
        return;
    expire(p, now_us);
    uint64_t hash = hash_key(sender, recipient);
    struct pair *e = find(p, hash, sender, recipient);
    if (e) {
        list_unlink(p, e);
    } else {
        size_t ns = strlen(sender), nr = strlen(recipient);
        e = xcalloc(1, sizeof(*e) + ns + 1 + nr + 1);
        memcpy(e->key, sender, ns);
        e->key[ns] = '\n';
        memcpy(e->key + ns + 1, recipient, nr + 1);
        hmap_insert(&p->table, &e->node, hash);
    }
    e->at_us = now_us;
    list_append(p, e);
}

void rl_pairs_forget(struct rl_pairs *p, const char *sender, const char *recipient)
{
    if (p->interval_us == 0)
        return;
    struct pair *e = find(p, hash_key(sender, recipient), sender, recipient);
    if (e)
        remove_pair(p, e);
}

size_t rl_pairs_count(const struct rl_pairs *p)
{
    return p->table.count;
}
