/* test_metrics.c - the Prometheus registry's exposition. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "metrics.h"

static double forty_two(void *arg)
{
    (void)arg;
    return 42;
}

static void counters_gauges_histograms_render(void **state)
{
    (void)state;
    struct metric *c = metrics_counter("t_requests_total", "Requests.", "code=\"200\"");
    assert_ptr_equal(c, metrics_counter("t_requests_total", "Requests.", "code=\"200\""));
    metric_inc(c);
    metric_inc(c);
    metric_add(metrics_counter("t_requests_total", "Requests.", "code=\"404\""), 3);
    metric_set(metrics_gauge("t_depth", "Depth.", ""), 7.5);
    metrics_gauge_fn("t_answer", "Answer.", "", forty_two, NULL);
    const double buckets[] = {0.1, 1};
    struct metric *h = metrics_histogram("t_latency_seconds", "Latency.", "", buckets, 2);
    metric_observe(h, 0.05);
    metric_observe(h, 0.5);
    metric_observe(h, 5);

    struct buf out = {0};
    metrics_render(&out);
    const char *expect[] = {
        "# TYPE t_requests_total counter\n",
        "t_requests_total{code=\"200\"} 2\n",
        "t_requests_total{code=\"404\"} 3\n",
        "t_depth 7.5\n",
        "t_answer 42\n",
        "# TYPE t_latency_seconds histogram\n",
        "t_latency_seconds_bucket{le=\"0.1\"} 1\n",
        "t_latency_seconds_bucket{le=\"1\"} 2\n",
        "t_latency_seconds_bucket{le=\"+Inf\"} 3\n",
        "t_latency_seconds_sum 5.5499999999999998\n",
        "t_latency_seconds_count 3\n",
    };
    for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++) {
        if (!strstr(out.data, expect[i]))
            fail_msg("missing %s in:\n%s", expect[i], out.data);
    }
    buf_free(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(counters_gauges_histograms_render),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
