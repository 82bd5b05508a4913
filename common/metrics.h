/* metrics.h - a process-wide Prometheus registry: counters, gauges and histograms.
 *
 * Metrics are registered by name and label set and live for the whole process; the
 * returned pointer is owned by the registry. Updates are lock-free atomics, so they are
 * cheap on hot paths; registration takes a mutex, so keep the pointer when you can. */
#ifndef COMMON_METRICS_H
#define COMMON_METRICS_H

#include <stddef.h>

#include "alloc.h"

struct metric;

/* Returns the counter/gauge/histogram called name with the given labels (a Prometheus
 * label list without braces, e.g. "route=\"/x\",code=\"200\"", or "" for none), creating
 * it on first use. help and buckets matter only on creation. */
struct metric *metrics_counter(const char *name, const char *help, const char *labels);
struct metric *metrics_gauge(const char *name, const char *help, const char *labels);
struct metric *metrics_histogram(const char *name, const char *help, const char *labels,
                                 const double *buckets, size_t nbuckets);
/* A gauge whose value is computed by fn(arg) at each scrape. */
void metrics_gauge_fn(const char *name, const char *help, const char *labels,
                      double (*fn)(void *arg), void *arg);

void metric_inc(struct metric *m);
void metric_add(struct metric *m, double v);
void metric_set(struct metric *m, double v);
void metric_observe(struct metric *m, double v);
double metric_value(const struct metric *m);

/* Default latency buckets in seconds, 0.5 ms to 10 s. */
extern const double metrics_latency_buckets[];
extern const size_t metrics_latency_nbuckets;

/* Appends the whole registry in the Prometheus text exposition format. */
void metrics_render(struct buf *out);

#endif
