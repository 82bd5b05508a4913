/* msglimit.c - an open-addressing table of recipients (their last contact time) and a
 * FIFO of first contacts that expires them after 24 hours; all under one mutex. The
 * table is rebuilt from the live entries when it fills with expired ones. */
#include "msglimit.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

#define CAP (1u << 18) /* above the largest tier (100,000) with room */
#define DAY_MS (24LL * 3600 * 1000)

struct slot {
    uint64_t key; /* recipient + 1; 0 = empty */
    int64_t ms;   /* last contact; 0 = expired */
};

struct fifo_item {
    uint64_t key;
    int64_t ms;
};

static pthread_mutex_t ml_lock = PTHREAD_MUTEX_INITIALIZER;
static struct slot *slots;     /* owned, CAP entries */
static struct fifo_item *fifo; /* owned, CAP entries: a ring */
static size_t head, len, used_slots;
static long live;

static size_t probe(uint64_t key)
{
    size_t i = (size_t)((key * 0x9E3779B97F4A7C15ULL) >> 46) & (CAP - 1);
    while (slots[i].key && slots[i].key != key)
        i = (i + 1) & (CAP - 1);
    return i;
}

static void ensure_locked(void)
{
    if (!slots) {
        slots = xcalloc(CAP, sizeof(*slots));
        fifo = xcalloc(CAP, sizeof(*fifo));
    }
}

/* Expires the contacts older than 24 h at now. */
static void expire_locked(int64_t now)
{
    while (len && fifo[head].ms <= now - DAY_MS) {
        struct fifo_item it = fifo[head];
        head = (head + 1) & (CAP - 1);
        len--;
        struct slot *s = &slots[probe(it.key)];
        if (s->ms == 0)
            continue;
        if (s->ms <= now - DAY_MS) {
            s->ms = 0;
            live--;
        } else { /* reached again since: it stays until 24 h after that */
            fifo[(head + len) & (CAP - 1)] = (struct fifo_item){it.key, s->ms};
            len++;
        }
    }
}

/* Drops expired keys from the table (they keep probe chains long otherwise). */
static void rebuild_locked(void)
{
    struct slot *old = slots;
    slots = xcalloc(CAP, sizeof(*slots));
    used_slots = 0;
    for (size_t i = 0; i < CAP; i++) {
        if (old[i].key && old[i].ms) {
            slots[probe(old[i].key)] = old[i];
            used_slots++;
        }
    }
    free(old);
}

enum msglimit_take msglimit_take(uint64_t recipient, int64_t now_ms, long limit)
{
    enum msglimit_take r;
    uint64_t key = recipient + 1;
    if (limit <= 0)
        return ML_KNOWN;
    pthread_mutex_lock(&ml_lock);
    ensure_locked();
    expire_locked(now_ms);
    struct slot *s = &slots[probe(key)];
    if (s->key && s->ms) {
        s->ms = now_ms;
        r = ML_KNOWN;
    } else if (live >= limit || len == CAP) {
        r = ML_FULL;
    } else {
        if (!s->key) {
            if (used_slots >= CAP * 3 / 4) {
                rebuild_locked();
                s = &slots[probe(key)];
            }
            used_slots++;
        }
        s->key = key;
        s->ms = now_ms;
        fifo[(head + len) & (CAP - 1)] = (struct fifo_item){key, now_ms};
        len++;
        live++;
        r = ML_NEW;
    }
    pthread_mutex_unlock(&ml_lock);
    return r;
}

void msglimit_release(uint64_t recipient)
{
    pthread_mutex_lock(&ml_lock);
    if (slots) {
        struct slot *s = &slots[probe(recipient + 1)];
        if (s->key && s->ms) {
            s->ms = 0; /* its FIFO item is skipped when it comes up */
            live--;
        }
    }
    pthread_mutex_unlock(&ml_lock);
}

long msglimit_used(int64_t now_ms)
{
    pthread_mutex_lock(&ml_lock);
    if (slots)
        expire_locked(now_ms);
    long n = live;
    pthread_mutex_unlock(&ml_lock);
    return n;
}

void msglimit_reset(void)
{
    pthread_mutex_lock(&ml_lock);
    if (slots) {
        memset(slots, 0, CAP * sizeof(*slots));
        head = len = used_slots = 0;
        live = 0;
    }
    pthread_mutex_unlock(&ml_lock);
}

void msglimit_free(void)
{
    pthread_mutex_lock(&ml_lock);
    free(slots);
    free(fifo);
    slots = NULL;
    fifo = NULL;
    head = len = used_slots = 0;
    live = 0;
    pthread_mutex_unlock(&ml_lock);
}
