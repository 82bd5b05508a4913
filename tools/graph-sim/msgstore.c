/* msgstore.c - a ring of accepted sends (grown on demand up to its cap), a ring of 600
 * one-second buckets per phone slot, and error totals, all under one mutex. */
#include "msgstore.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

#define COUNT_SECONDS 600
#define MAX_CODES 64

struct second_bucket {
    int64_t second;
    uint32_t n[4]; /* by enum count_kind */
};

static pthread_mutex_t store_lock = PTHREAD_MUTEX_INITIALIZER;
static struct msg_record *ring; /* owned, ring_alloc entries allocated */
static size_t ring_cap, ring_alloc, ring_head, ring_count;
static uint64_t next_seq = 1;
static uint64_t accepted_total;
static struct second_bucket buckets[SIM_MAX_PHONES][COUNT_SECONDS];
static char bucket_phone[SIM_MAX_PHONES][SIM_ID_MAX];
static struct {
    long code;
    uint64_t count;
} code_totals[MAX_CODES];
static size_t ncodes;

void msgstore_init(size_t cap)
{
    pthread_mutex_lock(&store_lock);
    ring_cap = cap ? cap : 1;
    pthread_mutex_unlock(&store_lock);
}

uint64_t msgstore_add(const struct msg_record *m, const char *body, size_t len)
{
    char *copy = xmalloc(len + 1);
    memcpy(copy, body, len);
    copy[len] = '\0';
    pthread_mutex_lock(&store_lock);
    struct msg_record *slot;
    if (ring_count < ring_cap) {
        if (ring_count == ring_alloc) {
            /* Grows only while nothing wrapped: head is still 0. */
            size_t n = ring_alloc ? ring_alloc * 2 : 1024;
            if (n > ring_cap)
                n = ring_cap;
            ring = xrealloc(ring, n * sizeof(*ring));
            ring_alloc = n;
        }
        slot = &ring[(ring_head + ring_count) % ring_alloc];
        ring_count++;
    } else {
        slot = &ring[ring_head];
        free(slot->body);
        ring_head = (ring_head + 1) % ring_alloc;
    }
    *slot = *m;
    slot->body = copy;
    slot->body_len = len;
    slot->seq = next_seq++;
    accepted_total++;
    uint64_t seq = slot->seq;
    pthread_mutex_unlock(&store_lock);
    return seq;
}

void msgstore_count(int slot, const char *phone_id, int64_t wall_ms, enum count_kind kind,
                    long code)
{
    int64_t second = wall_ms / 1000;
    pthread_mutex_lock(&store_lock);
    if (slot >= 0 && slot < SIM_MAX_PHONES) {
        if (strcmp(bucket_phone[slot], phone_id) != 0) {
            memset(buckets[slot], 0, sizeof buckets[slot]);
            snprintf(bucket_phone[slot], sizeof bucket_phone[slot], "%s", phone_id);
        }
        struct second_bucket *b = &buckets[slot][second % COUNT_SECONDS];
        if (b->second != second) {
            memset(b, 0, sizeof(*b));
            b->second = second;
        }
        b->n[kind]++;
    }
    if (code) {
        size_t i = 0;
        while (i < ncodes && code_totals[i].code != code)
            i++;
        if (i == ncodes && ncodes < MAX_CODES)
            code_totals[ncodes++].code = code;
        if (i < ncodes)
            code_totals[i].count++;
    }
    pthread_mutex_unlock(&store_lock);
}

static bool matches(const struct msg_record *r, const struct msg_filter *f, const char *digits)
{
    if (r->seq <= f->since_seq)
        return false;
    if (f->phone_id && strcmp(r->phone_id, f->phone_id) != 0)
        return false;
    if (f->to && strcmp(r->to, f->to) != 0 && strcmp(r->wa_id, digits) != 0)
        return false;
    if (f->wamid && strcmp(r->wamid, f->wamid) != 0)
        return false;
    if (f->template_name && strcmp(r->template_name, f->template_name) != 0)
        return false;
    return true;
}

static json_t *record_json(const struct msg_record *r, bool with_request)
{
    json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:I, s:s%}", "seq", (json_int_t)r->seq,
                          "id", r->wamid, "phone_number_id", r->phone_id, "to", r->to, "wa_id",
                          r->wa_id, "type", r->type, "accepted_at_ms", (json_int_t)r->accepted_ms,
                          "body", r->body, r->body_len);
    if (r->template_name[0]) {
        json_object_set_new(o, "template", json_string(r->template_name));
        json_object_set_new(o, "language", json_string(r->language));
    }
    if (with_request)
        json_object_set_new(o, "request", json_loadb(r->body, r->body_len, 0, NULL));
    return o;
}

json_t *msgstore_query(const struct msg_filter *f)
{
    char digits[SIM_WA_ID_MAX] = "";
    size_t nd = 0;
    for (const char *s = f->to; s && *s && nd + 1 < sizeof digits; s++) {
        if (*s >= '0' && *s <= '9')
            digits[nd++] = *s;
    }
    digits[nd] = '\0';
    json_t *list = json_array();
    long n = 0;
    uint64_t last = f->since_seq;
    pthread_mutex_lock(&store_lock);
    for (size_t i = 0; i < ring_count && n < f->limit; i++) {
        const struct msg_record *r = &ring[(ring_head + i) % ring_alloc];
        if (!matches(r, f, digits))
            continue;
        json_array_append_new(list, record_json(r, f->with_request));
        last = r->seq;
        n++;
    }
    json_t *out = json_pack("{s:I, s:I, s:I, s:I, s:o}", "total_accepted",
                            (json_int_t)accepted_total, "stored", (json_int_t)ring_count, "count",
                            (json_int_t)n, "last_seq", (json_int_t)last, "messages", list);
    pthread_mutex_unlock(&store_lock);
    return out;
}

static int by_second(const void *a, const void *b)
{
    const struct second_bucket *x = a, *y = b;
    return (x->second > y->second) - (x->second < y->second);
}

json_t *msgstore_counts_json(int64_t since_sec, const char *phone_id)
{
    static struct second_bucket sorted[COUNT_SECONDS];
    static pthread_mutex_t sort_lock = PTHREAD_MUTEX_INITIALIZER;
    json_t *numbers = json_array();
    pthread_mutex_lock(&sort_lock);
    pthread_mutex_lock(&store_lock);
    for (int slot = 0; slot < SIM_MAX_PHONES; slot++) {
        if (!bucket_phone[slot][0] || (phone_id && strcmp(phone_id, bucket_phone[slot]) != 0))
            continue;
        size_t n = 0;
        for (size_t i = 0; i < COUNT_SECONDS; i++) {
            const struct second_bucket *b = &buckets[slot][i];
            if (b->second && b->second >= since_sec)
                sorted[n++] = *b;
        }
        if (!n)
            continue;
        qsort(sorted, n, sizeof(sorted[0]), by_second);
        json_t *secs = json_array();
        uint32_t max = 0;
        uint64_t total = 0;
        for (size_t i = 0; i < n; i++) {
            const struct second_bucket *b = &sorted[i];
            if (b->n[COUNT_ACCEPTED] > max)
                max = b->n[COUNT_ACCEPTED];
            total += b->n[COUNT_ACCEPTED];
            json_array_append_new(
                secs,
                json_pack("{s:I, s:i, s:i, s:i, s:i}", "second", (json_int_t)b->second, "accepted",
                          (int)b->n[COUNT_ACCEPTED], "rate_limited", (int)b->n[COUNT_THROTTLED],
                          "pair_limited", (int)b->n[COUNT_PAIR], "errors", (int)b->n[COUNT_ERROR]));
        }
        json_array_append_new(numbers, json_pack("{s:s, s:I, s:I, s:o}", "phone_number_id",
                                                 bucket_phone[slot], "accepted", (json_int_t)total,
                                                 "max_accepted_per_second", (json_int_t)max,
                                                 "seconds", secs));
    }
    pthread_mutex_unlock(&store_lock);
    pthread_mutex_unlock(&sort_lock);
    return json_pack("{s:o}", "numbers", numbers);
}

json_t *msgstore_stats_json(void)
{
    json_t *codes = json_object();
    pthread_mutex_lock(&store_lock);
    for (size_t i = 0; i < ncodes; i++) {
        char key[24];
        snprintf(key, sizeof key, "%ld", code_totals[i].code);
        json_object_set_new(codes, key, json_integer((json_int_t)code_totals[i].count));
    }
    json_t *out = json_pack("{s:I, s:I, s:o}", "accepted", (json_int_t)accepted_total, "stored",
                            (json_int_t)ring_count, "errors_by_code", codes);
    pthread_mutex_unlock(&store_lock);
    return out;
}

double msgstore_accepted(void *unused)
{
    (void)unused;
    pthread_mutex_lock(&store_lock);
    double n = (double)accepted_total;
    pthread_mutex_unlock(&store_lock);
    return n;
}

void msgstore_reset(void)
{
    pthread_mutex_lock(&store_lock);
    for (size_t i = 0; i < ring_count; i++)
        free(ring[(ring_head + i) % ring_alloc].body);
    ring_head = ring_count = 0;
    accepted_total = 0;
    next_seq = 1;
    memset(buckets, 0, sizeof buckets);
    memset(bucket_phone, 0, sizeof bucket_phone);
    ncodes = 0;
    pthread_mutex_unlock(&store_lock);
}

void msgstore_free(void)
{
    msgstore_reset();
    pthread_mutex_lock(&store_lock);
    free(ring);
    ring = NULL;
    ring_alloc = 0;
    pthread_mutex_unlock(&store_lock);
}
