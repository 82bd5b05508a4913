/* test_ratelimit.c - the per-number throughput window with its burst cap, the 130429
 * block, and the (sender, recipient) pair limit, driven by a simulated clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "outbox/ratelimit.h"

#define MS 1000
#define S 1000000

/* Sends as soon as r allows, from start for duration, each answered rtt later (and
 * counted by Graph at some moment in between); returns how many went, and checks on the
 * way that no sliding second of Graph's holds more than limit of them. */
static long saturate_rtt(struct rl_rate *r, int64_t start, int64_t duration, long limit,
                         int64_t rtt)
{
    static int64_t counted_at[100000];
    long n = 0;
    for (int64_t now = start; now < start + duration;) {
        int64_t wait = rl_rate_wait(r, now);
        if (wait > 0) {
            now += wait < rtt || rtt == 0 ? wait : rtt;
            continue;
        }
        size_t ticket = rl_rate_take(r, now);
        /* Graph counts it at the end of its journey (the worst case), then answers. */
        rl_rate_settle(r, ticket, now + rtt);
        assert_true(n < (long)(sizeof counted_at / sizeof counted_at[0]));
        counted_at[n++] = now + rtt;
        if (n > limit) /* Meta's rule: the send limit back must be a second ago or more */
            assert_true(counted_at[n - 1] - counted_at[n - 1 - limit] >= S);
    }
    return n;
}

static long saturate(struct rl_rate *r, int64_t start, int64_t duration, long limit)
{
    return saturate_rtt(r, start, duration, limit, 0);
}

static void sustains_exactly_the_limit(void **state)
{
    (void)state;
    struct rl_rate r;
    rl_rate_init(&r, 80, 8, 0);
    long n = saturate(&r, 5 * S, 30 * S, 80);
    /* 30 s at 80/s, the first burst included, never more. */
    assert_true(n >= 30 * 80 && n <= 30 * 80 + 8);
    rl_rate_free(&r);
}

static void pending_sends_hold_their_place(void **state)
{
    (void)state;
    struct rl_rate r;
    rl_rate_init(&r, 3, 3, 0);
    size_t t[3];
    for (int i = 0; i < 3; i++)
        t[i] = rl_rate_take(&r, 0);
    /* All three in flight: however late, the window is full until an answer dates one. */
    assert_int_equal(rl_rate_wait(&r, 5 * S), S);
    /* The oldest is answered at 1.5 s: Graph counted it by then at the latest. */
    rl_rate_settle(&r, t[0], S + S / 2);
    assert_int_equal(rl_rate_wait(&r, 2 * S), S / 2);
    assert_int_equal(rl_rate_wait(&r, 2 * S + S / 2), 0);
    /* Settling twice, or a ticket that is not pending, changes nothing. */
    rl_rate_settle(&r, t[0], 0);
    rl_rate_settle(&r, 99, 0);
    assert_int_equal(rl_rate_wait(&r, 2 * S), S / 2);
    rl_rate_free(&r);
}

static void refused_sends_do_not_count(void **state)
{
    (void)state;
    struct rl_rate r;
    rl_rate_init(&r, 2, 2, 0);
    size_t a = rl_rate_take(&r, 0);
    size_t b = rl_rate_take(&r, 0);
    rl_rate_settle(&r, b, 10 * MS);
    rl_rate_settle(&r, a, RL_REFUSED); /* 130429, 5xx, no answer... */
    /* The pace of 2/s allows a third at 0.5 s; the window lets it go: a left it. */
    assert_int_equal(rl_rate_wait(&r, 600 * MS), 0);
    size_t c = rl_rate_take(&r, 600 * MS);
    rl_rate_settle(&r, c, 610 * MS);
    /* Now b (10 ms) is the oldest: the window is full until 1.01 s. */
    assert_int_equal(rl_rate_wait(&r, 640 * MS), S + 10 * MS - 640 * MS);
    rl_rate_free(&r);
}

static void queueing_on_the_way_never_breaks_the_window(void **state)
{
    (void)state;
    /* Answers 1, 7 or 40 ms after the start: Graph's one-second window always holds at
     * most the limit, and the cost is only the answer time once per full window. */
    static const int64_t rtts[] = {1 * MS, 7 * MS, 40 * MS};
    for (size_t i = 0; i < sizeof rtts / sizeof rtts[0]; i++) {
        struct rl_rate r;
        rl_rate_init(&r, 80, 8, 0);
        long n = saturate_rtt(&r, 0, 20 * S, 80, rtts[i]);
        long floor = (long)(20 * 80 * S / (S + rtts[i]));
        assert_true(n >= floor - 1 && n <= 20 * 80 + 8);
        rl_rate_free(&r);
    }
}

static void margin_widens_the_window(void **state)
{
    (void)state;
    struct rl_rate r;
    rl_rate_init(&r, 20, 20, 50 * MS);
    /* A burst of 20, then the 21st waits for the first to be 1.05 s old. */
    for (int i = 0; i < 20; i++) {
        assert_int_equal(rl_rate_wait(&r, 0), 0);
        rl_rate_settle(&r, rl_rate_take(&r, 0), 0);
    }
    assert_int_equal(rl_rate_wait(&r, 0), S + 50 * MS);
    assert_int_equal(rl_rate_wait(&r, S), 50 * MS);
    assert_int_equal(rl_rate_wait(&r, S + 50 * MS), 0);
    rl_rate_free(&r);
}

static void bursts_are_capped(void **state)
{
    (void)state;
    struct rl_rate r;
    rl_rate_init(&r, 80, 4, 0);
    int64_t now = 10 * S;
    for (int i = 0; i < 4; i++) {
        assert_int_equal(rl_rate_wait(&r, now), 0);
        rl_rate_settle(&r, rl_rate_take(&r, now), now);
    }
    /* The fifth waits one interval (12.5 ms rounded up to whole microseconds). */
    assert_int_equal(rl_rate_interval(&r), 12500);
    assert_int_equal(rl_rate_wait(&r, now), 12500);
    /* After a quiet second the burst is available again, never more. */
    now += S;
    for (int i = 0; i < 4; i++) {
        assert_int_equal(rl_rate_wait(&r, now), 0);
        rl_rate_settle(&r, rl_rate_take(&r, now), now);
    }
    assert_true(rl_rate_wait(&r, now) > 0);
    rl_rate_free(&r);
}

static void one_per_second_and_odd_rates(void **state)
{
    (void)state;
    struct rl_rate r;
    rl_rate_init(&r, 1, 1, 0);
    assert_int_equal(saturate(&r, 0, 10 * S, 1), 10);
    rl_rate_free(&r);
    rl_rate_init(&r, 3, 1, 0);
    assert_int_equal(rl_rate_interval(&r), 333334); /* rounded up: never faster */
    long n = saturate(&r, 0, 30 * S, 3);
    assert_true(n >= 89 && n <= 90);
    rl_rate_free(&r);
    /* Nonsense arguments are clamped, not trusted. */
    rl_rate_init(&r, 0, 100, -5);
    assert_int_equal(r.limit, 1);
    assert_int_equal(r.window_us, S);
    assert_int_equal(r.tolerance_us, 0);
    rl_rate_free(&r);
}

static void block_stops_the_number(void **state)
{
    (void)state;
    struct rl_rate r;
    rl_rate_init(&r, 80, 8, 0);
    int64_t now = 3 * S;
    rl_rate_block(&r, now + S);
    assert_int_equal(rl_rate_wait(&r, now), S);
    assert_int_equal(rl_rate_wait(&r, now + S / 2), S / 2);
    /* A shorter block does not shorten the first one. */
    rl_rate_block(&r, now + 10 * MS);
    assert_int_equal(rl_rate_wait(&r, now + S / 2), S / 2);
    assert_int_equal(rl_rate_wait(&r, now + S), 0);
    rl_rate_free(&r);
}

static void pairs_wait_their_interval(void **state)
{
    (void)state;
    struct rl_pairs *p = rl_pairs_new(6 * S);
    assert_int_equal(rl_pairs_wait(p, "111", "+34600000001", 0), 0);
    rl_pairs_record(p, "111", "+34600000001", 0);
    assert_int_equal(rl_pairs_wait(p, "111", "+34600000001", 0), 6 * S);
    assert_int_equal(rl_pairs_wait(p, "111", "+34600000001", 4 * S), 2 * S);
    /* Another recipient, or the same recipient from another number, is free. */
    assert_int_equal(rl_pairs_wait(p, "111", "+34600000002", 4 * S), 0);
    assert_int_equal(rl_pairs_wait(p, "222", "+34600000001", 4 * S), 0);
    /* The key is the pair, not the concatenation. */
    rl_pairs_record(p, "11", "1+34600000001", 4 * S);
    assert_int_equal(rl_pairs_wait(p, "111", "+34600000001", 4 * S), 2 * S);
    assert_int_equal(rl_pairs_wait(p, "111", "+34600000001", 6 * S), 0);
    /* A new send restarts the interval. */
    rl_pairs_record(p, "111", "+34600000001", 7 * S);
    assert_int_equal(rl_pairs_wait(p, "111", "+34600000001", 8 * S), 5 * S);
    /* A refused send is forgotten: the recipient may be tried again at once. */
    rl_pairs_record(p, "333", "+34600000009", 8 * S);
    assert_true(rl_pairs_wait(p, "333", "+34600000009", 8 * S) > 0);
    rl_pairs_forget(p, "333", "+34600000009");
    assert_int_equal(rl_pairs_wait(p, "333", "+34600000009", 8 * S), 0);
    rl_pairs_forget(p, "333", "+34600000009");
    /* An accepted one is dated again by its answer. */
    rl_pairs_record(p, "333", "+34600000009", 9 * S);
    rl_pairs_record(p, "333", "+34600000009", 9 * S + 300 * MS);
    assert_int_equal(rl_pairs_wait(p, "333", "+34600000009", 15 * S), 300 * MS);
    rl_pairs_free(p);
}

static void pairs_forget_what_expired(void **state)
{
    (void)state;
    struct rl_pairs *p = rl_pairs_new(1 * S);
    char recipient[32];
    /* 50,000 recipients over 10 s: only about one second's worth is remembered. */
    for (int i = 0; i < 50000; i++) {
        snprintf(recipient, sizeof recipient, "+3460%07d", i);
        int64_t now = (int64_t)i * 200;
        assert_int_equal(rl_pairs_wait(p, "555", recipient, now), 0);
        rl_pairs_record(p, "555", recipient, now);
        assert_true(rl_pairs_count(p) <= 5000);
    }
    assert_int_equal(rl_pairs_count(p), 5000);
    for (int i = 45000; i < 50000; i++) {
        snprintf(recipient, sizeof recipient, "+3460%07d", i);
        assert_true(rl_pairs_wait(p, "555", recipient, 49999 * 200) > 0);
    }
    assert_int_equal(rl_pairs_wait(p, "555", "+34600000000", 100 * S), 0);
    assert_int_equal(rl_pairs_count(p), 0);
    rl_pairs_free(p);
}

static void pairs_off_when_interval_is_zero(void **state)
{
    (void)state;
    struct rl_pairs *p = rl_pairs_new(0);
    rl_pairs_record(p, "1", "+34600000001", 0);
    assert_int_equal(rl_pairs_wait(p, "1", "+34600000001", 0), 0);
    assert_int_equal(rl_pairs_count(p), 0);
    rl_pairs_free(p);
    rl_pairs_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sustains_exactly_the_limit),
        cmocka_unit_test(pending_sends_hold_their_place),
        cmocka_unit_test(refused_sends_do_not_count),
        cmocka_unit_test(queueing_on_the_way_never_breaks_the_window),
        cmocka_unit_test(margin_widens_the_window),
        cmocka_unit_test(bursts_are_capped),
        cmocka_unit_test(one_per_second_and_odd_rates),
        cmocka_unit_test(block_stops_the_number),
        cmocka_unit_test(pairs_wait_their_interval),
        cmocka_unit_test(pairs_forget_what_expired),
        cmocka_unit_test(pairs_off_when_interval_is_zero),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
