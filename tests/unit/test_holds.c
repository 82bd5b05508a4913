/* test_holds.c - the template and number holds (outbox/holds.h): which of Meta's states
 * hold, events applied in Meta's order only, probes that back off, fallback only for want
 * of approval, a number held for its minute. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "monotonic.h"
#include "outbox/holds.h"

#define T "po_notification"

static int reset(void **state)
{
    (void)state;
    holds_clear();
    holds_configure(1000, 4000);
    return 0;
}

static struct holds_event_key key(int64_t t, int64_t seq)
{
    return (struct holds_event_key){t, seq};
}

static void states_that_hold_and_states_that_send(void **state)
{
    (void)state;
    static const char *const holding[] = {"PAUSED",  "DISABLED", "REJECTED",
                                          "PENDING", "MISSING",  "IN_APPEAL"};
    int64_t t = 100;
    for (size_t i = 0; i < sizeof holding / sizeof holding[0]; i++) {
        assert_int_equal(holds_template_status(T, "es", holding[i], "why", key(t++, 1)),
                         HOLDS_CHANGED);
        assert_true(holds_template_held(T, "es"));
        assert_int_equal(holds_template_status(T, "es", "APPROVED", NULL, key(t++, 1)),
                         HOLDS_CHANGED);
        assert_false(holds_template_held(T, "es"));
    }
    /* FLAGGED is a warning, not a stop; a state Meta invents later changes nothing */
    assert_int_equal(holds_template_status(T, "es", "FLAGGED", NULL, key(t++, 1)), HOLDS_SAME);
    assert_int_equal(holds_template_status(T, "es", "SOMETHING_NEW", NULL, key(t++, 1)),
                     HOLDS_SAME);
    assert_false(holds_template_held(T, "es"));
    assert_false(holds_template_held(T, "en")); /* never heard of: it may go */
}

static void events_apply_in_metas_order_only(void **state)
{
    (void)state;
    assert_int_equal(holds_template_status(T, "ca", "APPROVED", NULL, key(200, 7)), HOLDS_SAME);
    /* an older PAUSED arriving late, and a repeat of the same event: nothing */
    assert_int_equal(holds_template_status(T, "ca", "PAUSED", NULL, key(199, 9)), HOLDS_OLDER);
    assert_int_equal(holds_template_status(T, "ca", "PAUSED", NULL, key(200, 7)), HOLDS_OLDER);
    assert_false(holds_template_held(T, "ca"));
    /* the same second, a later row: newer */
    assert_int_equal(holds_template_status(T, "ca", "PAUSED", NULL, key(200, 8)), HOLDS_CHANGED);
    assert_true(holds_template_held(T, "ca"));
}

static void a_quality_pause_waits_and_a_sent_probe_lifts(void **state)
{
    (void)state;
    struct hold_check c;
    int64_t now = monotonic_ms();
    holds_template_refused(T, "eu", 132015, "(#132015) Template is paused");
    assert_true(holds_template_held(T, "eu"));
    holds_template_check(T, "eu", now, &c);
    assert_false(c.probe); /* the first probe one interval later */
    assert_in_range(c.wait_ms, 1, 1000);
    assert_int_equal(c.code, 132015);
    assert_false(c.may_fall_back); /* a quality pause waits: no other language */
    assert_non_null(strstr(c.why, "waiting: template po_notification (eu) is PAUSED"));
    holds_template_check(T, "eu", now + 1000, &c);
    assert_true(c.probe);
    assert_int_equal(c.wait_ms, 0);
    holds_template_sent(T, "eu"); /* Graph accepted the probe */
    assert_false(holds_template_held(T, "eu"));
    holds_template_check(T, "eu", now + 1100, &c);
    assert_false(c.probe);
    assert_int_equal(c.wait_ms, 0);
}

static void a_probe_interval_doubles_up_to_the_maximum(void **state)
{
    (void)state;
    struct hold_check c;
    holds_template_refused(T, "gl", 132001, "(#132001) not approved");
    int64_t base = monotonic_ms(), last = -1, gaps[4] = {0};
    int n = 0;
    for (int64_t t = base; t < base + 60000 && n < 5; t += 50) {
        holds_template_check(T, "gl", t, &c);
        if (c.probe) {
            if (last >= 0)
                gaps[n - 1] = t - last;
            last = t;
            n++;
        } else {
            assert_true(c.may_fall_back); /* not approved: an order may fall back */
            assert_non_null(strstr(c.why, "template_not_approved"));
        }
    }
    assert_int_equal(n, 5);
    /* 1 s, 2 s, 4 s, then the 4 s maximum */
    assert_in_range(gaps[0], 1000, 1050);
    assert_in_range(gaps[1], 2000, 2050);
    assert_in_range(gaps[2], 4000, 4050);
    assert_in_range(gaps[3], 4000, 4050);
}

static void a_number_is_held_for_its_minute(void **state)
{
    (void)state;
    char why[256];
    long code = -1;
    assert_int_equal(holds_number_wait("109876543210004", 0, why, sizeof why, &code), 0);
    holds_number_refused("109876543210004", 131057, "(#131057) Account in maintenance mode");
    struct hold_view v[4];
    assert_int_equal(holds_list(v, 4), 1);
    assert_string_equal(v[0].status, "MAINTENANCE");
    assert_int_equal(v[0].code, 131057);
    assert_true(v[0].until_ms - v[0].since_ms >= HOLDS_NUMBER_MS - 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(states_that_hold_and_states_that_send, reset),
        cmocka_unit_test_setup(events_apply_in_metas_order_only, reset),
        cmocka_unit_test_setup(a_quality_pause_waits_and_a_sent_probe_lifts, reset),
        cmocka_unit_test_setup(a_probe_interval_doubles_up_to_the_maximum, reset),
        cmocka_unit_test_setup(a_number_is_held_for_its_minute, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
