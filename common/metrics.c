/* metrics.c - the registry: a list of families, each a list of labelled series. */
#include "metrics.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum metric_type { M_COUNTER, M_GAUGE, M_HISTOGRAM };

struct metric {
    struct metric *next; /* next series of the same family */
    char *labels;
    _Atomic uint64_t bits; /* the value as double bits (counter, gauge, histogram sum) */
    _Atomic uint64_t count;
    _Atomic uint64_t *bucket_counts; /* histogram only, one per bucket */
    const double *buckets;           /* histogram only: the family's upper bounds */
    size_t nbuckets;
    double (*fn)(void *);
    void *fn_arg;
};

struct family {
    struct family *next;
    char *name;
    char *help;
    enum metric_type type;
    double *buckets;
    size_t nbuckets;
    struct metric *series;
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct family *families;

const double metrics_latency_buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                          0.1,    0.25,  0.5,    1,     2.5,  5,     10};
const size_t metrics_latency_nbuckets =
    sizeof(metrics_latency_buckets) / sizeof(metrics_latency_buckets[0]);

static double bits_to_double(uint64_t bits)
{
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

static uint64_t double_to_bits(double d)
{
    uint64_t bits;
    memcpy(&bits, &d, sizeof bits);
    return bits;
}

static struct metric *lookup(const char *name, const char *help, const char *labels,
                             enum metric_type type, const double *buckets, size_t nbuckets)
{
    pthread_mutex_lock(&registry_lock);
    struct family *f = families;
    while (f && strcmp(f->name, name) != 0)
        f = f->next;
    if (!f) {
        f = xcalloc(1, sizeof(*f));
        f->name = xstrdup(name);
        f->help = xstrdup(help);
        f->type = type;
        if (type == M_HISTOGRAM) {
            f->buckets = xmalloc(nbuckets * sizeof(double));
            memcpy(f->buckets, buckets, nbuckets * sizeof(double));
            f->nbuckets = nbuckets;
        }
        /* Append so the exposition keeps registration order. */
        struct family **tail = &families;
        while (*tail)
            tail = &(*tail)->next;
        *tail = f;
    }
    struct metric *m = f->series;
    while (m && strcmp(m->labels, labels) != 0)
        m = m->next;
    if (!m) {
        m = xcalloc(1, sizeof(*m));
        m->labels = xstrdup(labels);
        if (type == M_HISTOGRAM) {
            m->bucket_counts = xcalloc(f->nbuckets, sizeof(*m->bucket_counts));
            m->buckets = f->buckets;
            m->nbuckets = f->nbuckets;
        }
        m->next = f->series;
        f->series = m;
    }
    pthread_mutex_unlock(&registry_lock);
    return m;
}

struct metric *metrics_counter(const char *name, const char *help, const char *labels)
{
    return lookup(name, help, labels, M_COUNTER, NULL, 0);
}

struct metric *metrics_gauge(const char *name, const char *help, const char *labels)
{
    return lookup(name, help, labels, M_GAUGE, NULL, 0);
}

struct metric *metrics_histogram(const char *name, const char *help, const char *labels,
                                 const double *buckets, size_t nbuckets)
{
    return lookup(name, help, labels, M_HISTOGRAM, buckets, nbuckets);
}

void metrics_gauge_fn(const char *name, const char *help, const char *labels,
                      double (*fn)(void *arg), void *arg)
{
    struct metric *m = lookup(name, help, labels, M_GAUGE, NULL, 0);
    pthread_mutex_lock(&registry_lock);
    m->fn = fn;
    m->fn_arg = arg;
    pthread_mutex_unlock(&registry_lock);
}

void metric_add(struct metric *m, double v)
{
    uint64_t old = atomic_load(&m->bits);
    while (!atomic_compare_exchange_weak(&m->bits, &old, double_to_bits(bits_to_double(old) + v)))
        ;
}

void metric_inc(struct metric *m)
{
    metric_add(m, 1.0);
}

void metric_set(struct metric *m, double v)
{
    atomic_store(&m->bits, double_to_bits(v));
}

double metric_value(const struct metric *m)
{
    return bits_to_double(atomic_load(&((struct metric *)m)->bits));
}

void metric_observe(struct metric *m, double v)
{
    for (size_t i = 0; i < m->nbuckets; i++) {
        if (v <= m->buckets[i]) {
            atomic_fetch_add(&m->bucket_counts[i], 1);
            break;
        }
    }
    atomic_fetch_add(&m->count, 1);
    metric_add(m, v);
}

static void render_labels(struct buf *out, const char *labels, const char *extra)
{
    if (!*labels && !extra)
        return;
    buf_append_str(out, "{");
    buf_append_str(out, labels);
    if (extra)
        buf_printf(out, "%s%s", *labels ? "," : "", extra);
    buf_append_str(out, "}");
}

void metrics_render(struct buf *out)
{
    static const char *const type_names[] = {"counter", "gauge", "histogram"};
    pthread_mutex_lock(&registry_lock);
    for (struct family *f = families; f; f = f->next) {
        buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name,
                   type_names[f->type]);
        for (struct metric *m = f->series; m; m = m->next) {
            if (f->type != M_HISTOGRAM) {
                double v = m->fn ? m->fn(m->fn_arg) : metric_value(m);
                buf_append_str(out, f->name);
                render_labels(out, m->labels, NULL);
                buf_printf(out, " %.17g\n", v);
                continue;
            }
            uint64_t cumulative = 0;
            for (size_t i = 0; i < f->nbuckets; i++) {
                char le[48];
                cumulative += atomic_load(&m->bucket_counts[i]);
                snprintf(le, sizeof le, "le=\"%g\"", f->buckets[i]);
                buf_printf(out, "%s_bucket", f->name);
                render_labels(out, m->labels, le);
                buf_printf(out, " %llu\n", (unsigned long long)cumulative);
            }
            uint64_t count = atomic_load(&m->count);
            buf_printf(out, "%s_bucket", f->name);
            render_labels(out, m->labels, "le=\"+Inf\"");
            buf_printf(out, " %llu\n%s_sum", (unsigned long long)count, f->name);
            render_labels(out, m->labels, NULL);
            buf_printf(out, " %.17g\n%s_count", metric_value(m), f->name);
            render_labels(out, m->labels, NULL);
            buf_printf(out, " %llu\n", (unsigned long long)count);
        }
    }
    pthread_mutex_unlock(&registry_lock);
}
