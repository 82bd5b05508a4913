/* test_db.c - common/db.c against the test cluster: a statement is prepared once per
 * connection, and a replan statement is prepared again 1 s after it was first prepared,
 * then after 2 s, so that its plan follows a table that grows (db.h). The server's
 * pg_prepared_statements, read on the same connection, shows when each was prepared. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "db.h"
#include "harness.h"
#include "harness_relay.h"
#include "monotonic.h"

static char db_url[256];

static const struct db_stmt kept = {"test_kept", "SELECT 1 WHERE $1::int > 0", 1};
static const struct db_stmt replanned = {
    "test_replanned",
    "SELECT 2 WHERE $1::int > 0",
    1,
    .replan = true,
};
static const struct db_stmt prepared_at = {
    "test_prepared_at",
    "SELECT coalesce((SELECT (extract(epoch FROM prepare_time) * 1000000)::bigint::text"
    " FROM pg_prepared_statements WHERE name = $1), 'none')",
    1,
};

static int setup(void **state)
{
    (void)state;
    if (!h_fresh_database("it_db", db_url, sizeof db_url))
        return -1;
    db_init(db_url, 1000);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    db_thread_close();
    h_drop_database(db_url);
    return 0;
}

/* Runs stmt, then returns when the server says it was prepared (microseconds, as text). */
static char *run_and_date(const struct db_stmt *stmt)
{
    const char *one[] = {"1"};
    PGresult *res = NULL;
    assert_int_equal(db_exec(stmt, one, &res), DB_OK);
    assert_int_equal(PQntuples(res), 1);
    PQclear(res);
    const char *name[] = {stmt->name};
    assert_int_equal(db_exec(&prepared_at, name, &res), DB_OK);
    char *when = strdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    assert_string_not_equal(when, "none");
    return when;
}

static void a_statement_is_prepared_once_and_a_replan_one_again_later(void **state)
{
    (void)state;
    char *kept0 = run_and_date(&kept);
    char *re0 = run_and_date(&replanned);
    char *re_soon = run_and_date(&replanned);
    assert_string_equal(re_soon, re0); /* within its first second: the same */

    usleep(1100 * 1000);
    char *kept1 = run_and_date(&kept);
    char *re1 = run_and_date(&replanned);
    assert_string_equal(kept1, kept0);
    assert_string_not_equal(re1, re0); /* after 1 s: prepared again */

    usleep(1100 * 1000);
    char *re2 = run_and_date(&replanned);
    assert_string_equal(re2, re1); /* the next time is 2 s after that */
    usleep(1300 * 1000);
    char *re3 = run_and_date(&replanned);
    assert_string_not_equal(re3, re2);

    free(kept0);
    free(kept1);
    free(re0);
    free(re_soon);
    free(re1);
    free(re2);
    free(re3);
}

/* The server behind a stalled relay: the kernel completes the TCP handshake and the
 * client then waits for the server's first byte, as with a postmaster that has stopped
 * accepting at the end of a shutdown. A connection attempt gives up after its 1 s
 * deadline, not libpq's whole-second connect_timeout, and the thread's next statement
 * fails at once (the retry pause) instead of waiting again; once the relay relays, the
 * next attempt connects. */
static void a_server_that_never_answers_is_unavailable_within_its_deadline(void **state)
{
    (void)state;
    char silent[256];
    struct h_relay *relay = h_relay_start(db_url, silent, sizeof silent);
    assert_non_null(relay);
    h_relay_stall(relay, true);
    db_thread_close();
    db_init(silent, 1000);

    int64_t t0 = monotonic_ms();
    assert_false(db_ping());
    int64_t took = monotonic_ms() - t0;
    assert_true(took >= 900 && took < 1500);
    assert_string_equal(db_error_sqlstate(), "08006");
    assert_non_null(strstr(db_error_message(), "deadline"));
    t0 = monotonic_ms();
    assert_false(db_ping());
    assert_true(monotonic_ms() - t0 < 100);

    h_relay_stall(relay, false);
    usleep(300 * 1000); /* past the pause between attempts */
    assert_true(db_ping());
    db_thread_close();
    db_init(db_url, 1000);
    h_relay_free(relay);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_statement_is_prepared_once_and_a_replan_one_again_later),
        cmocka_unit_test(a_server_that_never_answers_is_unavailable_within_its_deadline),
    };
    return cmocka_run_group_tests_name("db", tests, setup, teardown);
}
