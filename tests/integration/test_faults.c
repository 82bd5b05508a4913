/* test_faults.c - the faults of issue 9, each hitting while thousands of purchase orders
 * go through the real intake and out to graph-sim: notification-service killed (-9) and
 * restarted, PostgreSQL stopped for 10 s, tenant-service down for 30 s, graph-sim
 * answering 5xx, timeouts, 130429/131056 bursts and permanent codes, status webhooks
 * duplicated, reordered, delayed and refused, the access token expired, one of two
 * instances on one database killed, and the whole account restricted (368, 131031,
 * 131042) while two instances send. Afterwards every message is in its terminal state,
 * none is lost (rows = events posted), and the sends graph-sim received more than once
 * are counted, printed and bounded by what was in flight at the fault.
 *
 * SOAK=1 (`make soak`) runs the long variants: ten times the messages and the fault
 * repeated several times during the load. FAULTS_MESSAGES=n sets the messages of each
 * scenario (before SOAK's factor), FAULTS_FILTER a glob of the scenarios to run. Results are
 * printed as TAP comments ("# faults ...") and appended to .run/test-logs/faults-summary.txt. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "alloc.h"
#include "harness_faults.h"
#include "uuidutil.h"

/* GRAPH_SIM_MPS and WHATSAPP_MPS_PER_PHONE, per number. SLOW: 4 numbers send 200/s, less
 * than intake takes in, so a backlog builds and a fault finds hundreds of messages claimed
 * or queued. FAST: sending keeps up with intake. */
#define SLOW_MPS 50
#define FAST_MPS 100
#define INTAKE_RATE 700 /* purchase orders posted per second */
#define BASE_MESSAGES 2000
/* OUTBOX_MAX_INFLIGHT (default): a worker claims while what its sender holds and what
 * waits to be written are each under it, so it never holds twice that many rows. */
#define MAX_INFLIGHT 512
#define FINAL_WAIT_MS 180000

static int scale = 1;  /* SOAK=1: ten times the messages */
static int rounds = 1; /* SOAK=1: the fault repeated during the load */
static int base_messages = BASE_MESSAGES;

/* ---------- one scenario's stack ---------- */

struct run {
    struct hf_stack s;
    char tenants[HF_MAX_TENANTS][HF_ID_LEN];
    size_t ntenants;
    double t0;
};

static struct run R;

static int messages(void)
{
    return base_messages * scale;
}

/* A wait long enough for the normal run, stretched for the soak's larger loads. */
static int wait_ms(int ms)
{
    return scale > 1 ? ms * 4 : ms;
}

/* Starts the stack with ntenants tenants on numbers 01, 02, ... (WhatsApp enabled). */
static void start_run(struct run *r, const char *name, int mps, const char *const *sim_env,
                      const char *const *notif_env, size_t ntenants)
{
    if (h_wrapped()) {
        /* Under valgrind (make valgrind) the daemons run tens of times slower: thousands
         * of messages and the timing bounds (answers within 2 s, probes per second) do not
         * apply. test_notification_send.c takes the same fault paths one message at a time
         * under valgrind. */
        printf("# skipped under H_WRAPPER\n");
        skip();
    }
    snprintf(r->s.name, sizeof r->s.name, "%s", name);
    r->s.mps = mps;
    r->s.sim_env = sim_env;
    r->s.notif_env = notif_env;
    r->t0 = hf_now();
    if (hf_stack_start(&r->s) != 0)
        fail_msg("the stack did not come up (logs in .run/test-logs)");
    for (size_t i = 0; i < ntenants; i++) {
        char tname[48], phone[32];
        snprintf(tname, sizeof tname, "Obrador %zu", i + 1);
        int k = (int)i + 1 < 10 ? (int)i + 1 : (int)i + 2; /* 10: the default number */
        snprintf(phone, sizeof phone, "1098765432100%02d", k % 100);
        hf_make_tenant(&r->s, tname, phone, r->tenants[i]);
    }
    r->ntenants = ntenants;
}

static int teardown(void **state)
{
    (void)state;
    int rc = hf_stack_stop(&R.s);
    memset(&R, 0, sizeof R);
    return rc;
}

/* A load over tenants [first, first + n) of r posted to url (NULL: the main instance). */
static struct hf_load *start_load(struct run *r, size_t first, size_t n, int count, int prefix,
                                  const char *const *urls)
{
    struct hf_load_config c = {.count = count, .prefix = prefix, .rate = INTAKE_RATE};
    for (size_t i = 0; i < n; i++)
        c.tenants[c.ntenants++] = r->tenants[first + i];
    if (urls) {
        for (size_t i = 0; urls[i] && i < HF_MAX_URLS; i++)
            c.urls[c.nurls++] = urls[i];
    } else {
        c.urls[c.nurls++] = r->s.notif.url;
    }
    return hf_load_start(&c);
}

/* Ends the load and checks that intake stored every event and never answered 500 nor
 * anything but 202/200/503 (or a refused connection while no instance listened). */
static struct hf_load_stats finish_load(struct hf_load *l, int count)
{
    struct hf_load_stats st = hf_load_finish(l, wait_ms(FINAL_WAIT_MS));
    printf("# intake: %d stored in %.1fs (202: %d, 200 replays: %d, 503: %d, 500: %d, "
           "other: %d, refused/reset: %d, timeouts: %d, slowest answer %.0f ms: HTTP %ld to a "
           "request sent %.2fs into the load)\n",
           st.accepted, st.elapsed_s, st.answered_202, st.answered_200, st.answered_503,
           st.answered_500, st.answered_other, st.transport_errors, st.timeouts, st.max_ms,
           st.max_status, st.max_at_s);
    assert_int_equal(st.answered_500, 0);
    assert_int_equal(st.answered_other, 0);
    assert_int_equal(st.timeouts, 0);
    assert_int_equal(st.accepted, count);
    return st;
}

/* ---------- accounting ---------- */

struct tally {
    long rows, read, failed, skipped, max_attempts, retried;
};

static void tally(const struct run *r, struct tally *t)
{
    char *v = h_sql(r->s.notif_db,
                    "SELECT count(*) || ' ' || count(*) FILTER (WHERE status = 'read') || ' ' || "
                    "count(*) FILTER (WHERE status = 'failed') || ' ' || count(*) FILTER (WHERE "
                    "status = 'skipped') || ' ' || coalesce(max(attempts), 0) || ' ' || count(*) "
                    "FILTER (WHERE attempts > 1) FROM whatsapp_messages");
    assert_non_null(v);
    assert_int_equal(sscanf(v, "%ld %ld %ld %ld %ld %ld", &t->rows, &t->read, &t->failed,
                            &t->skipped, &t->max_attempts, &t->retried),
                     6);
    free(v);
}

/* A sorted set of message ids (those leased by a killed instance). */
struct idset {
    char **ids;
    size_t n;
};

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void idset_add_csv(struct idset *set, const char *csv)
{
    for (const char *p = csv; p && *p;) {
        size_t len = strcspn(p, ",");
        set->ids = xrealloc(set->ids, (set->n + 1) * sizeof(*set->ids));
        set->ids[set->n++] = xstrndup(p, len);
        p += len;
        if (*p == ',')
            p++;
    }
    if (set->n) /* qsort's array may not be null, even empty: an instance may hold none */
        qsort(set->ids, set->n, sizeof(*set->ids), cmp_str);
}

static bool idset_has(const struct idset *set, const char *id)
{
    return set->n && bsearch(&id, set->ids, set->n, sizeof(*set->ids), cmp_str) != NULL;
}

static void idset_free(struct idset *set)
{
    for (size_t i = 0; i < set->n; i++)
        free(set->ids[i]);
    free(set->ids);
    memset(set, 0, sizeof(*set));
}

/* The rows the instance with pid held (claimed, no result written) right after its
 * death: the only messages that can go out twice. Adds them to set; returns how many. */
static long leased_by(const struct run *r, pid_t pid, struct idset *set)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT coalesce(string_agg(id::text, ','), '') FROM whatsapp_messages WHERE "
             "status = 'sending' AND lease_owner LIKE '%%:%ld'",
             (long)pid);
    char *csv = h_sql(r->s.notif_db, sql);
    assert_non_null(csv);
    size_t before = set->n;
    idset_add_csv(set, csv);
    free(csv);
    long held = (long)(set->n - before);
    if (held > 2 * MAX_INFLIGHT)
        fail_msg("the killed instance held %ld messages, over twice OUTBOX_MAX_INFLIGHT", held);
    return held;
}

static void report(const char *scenario, const struct run *r, const struct tally *t,
                   const struct hf_sends *x, long bound, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static void report(const char *scenario, const struct run *r, const struct tally *t,
                   const struct hf_sends *x, long bound, const char *fmt, ...)
{
    struct buf extra = {0};
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&extra, fmt, ap);
    va_end(ap);
    char line[1024];
    snprintf(line, sizeof line,
             "faults %s%s: messages=%ld read=%ld failed=%ld skipped=%ld retried=%ld "
             "max_attempts=%ld sends=%zu duplicates=%zu bound=%ld time=%.1fs %s",
             scenario, scale > 1 ? " (soak)" : "", t->rows, t->read, t->failed, t->skipped,
             t->retried, t->max_attempts, x->total, x->duplicates, bound, hf_now() - r->t0,
             extra.data ? extra.data : "");
    printf("# %s\n", line);
    fflush(stdout);
    FILE *f = fopen(".run/test-logs/faults-summary.txt", "a");
    if (f) {
        fprintf(f, "%ld %s\n", (long)time(NULL), line);
        fclose(f);
    }
    buf_free(&extra);
}

/* Prints what is known of the first duplicated messages: their row, and each send
 * graph-sim accepted for them (when, from which number, which wamid). */
static void print_duplicates(const struct run *r, const struct hf_sends *x)
{
    for (size_t i = 0; i < x->ndup && i < 5; i++) {
        char sql[512];
        snprintf(sql, sizeof sql,
                 "SELECT recipient_phone || ' status=' || status || ' attempts=' || attempts || "
                 "' created=' || created_at || ' updated=' || updated_at || ' sent_at=' || "
                 "coalesce(sent_at::text, '-') || ' wamid=' || coalesce(wamid, '-') || "
                 "' lease=' || coalesce(lease_owner, '-') FROM whatsapp_messages WHERE id = '%s'",
                 x->dup_ids[i]);
        char *row = h_sql(r->s.notif_db, sql);
        printf("# duplicate %s: %s\n", x->dup_ids[i], row ? row : "?");
        if (row) {
            char to[32];
            snprintf(to, sizeof to, "%.*s", (int)strcspn(row, " "), row);
            struct h_resp m = h_call("GET", r->s.sim.url, NULL, NULL,
                                     "/_sim/messages?to=%%2B%s&request=false", to + 1);
            size_t k;
            const json_t *one;
            json_array_foreach (json_object_get(m.json, "messages"), k, one)
                printf("#   sent at %lld ms from %s as %s\n",
                       (long long)json_integer_value(json_object_get(one, "accepted_at_ms")),
                       json_string_value(json_object_get(one, "phone_number_id")),
                       json_string_value(json_object_get(one, "id")));
            h_resp_free(&m);
        }
        free(row);
    }
    fflush(stdout);
}

/* Waits until every message is terminal, then checks: as many rows as events, every one
 * read, each sent (graph-sim got every message), duplicates within bound and, when
 * allowed is given, only among those messages. */
static void expect_all_read(const struct run *r, long count, long bound,
                            const struct idset *allowed, const char *scenario, const char *extra)
{
    struct tally t;
    struct hf_sends x;
    assert_true(hf_wait_terminal(&r->s, count, wait_ms(FINAL_WAIT_MS)));
    tally(r, &t);
    hf_sim_sends(&r->s, &x);
    report(scenario, r, &t, &x, bound, "%s", extra ? extra : "");
    assert_int_equal(t.rows, count);
    assert_int_equal(t.read, count);
    assert_int_equal(x.distinct, count);
    if (x.duplicates > (size_t)bound)
        print_duplicates(r, &x);
    assert_true(x.duplicates <= (size_t)bound);
    for (size_t i = 0; allowed && i < x.ndup; i++) {
        if (!idset_has(allowed, x.dup_ids[i]))
            fail_msg("message %s was sent twice but was not in flight at the fault", x.dup_ids[i]);
    }
    hf_sends_free(&x);
}

static long sim_sends_from(const struct run *r, const char *phone_id)
{
    struct h_resp resp =
        h_call("GET", r->s.sim.url, NULL, NULL,
               "/_sim/messages?phone_number_id=%s&request=false&limit=1000000", phone_id);
    long n = (long)json_array_size(json_object_get(resp.json, "messages"));
    h_resp_free(&resp);
    return n;
}

struct metric_wait {
    const char *base;
    const char *series;
    double want;
};

static bool metric_is(void *arg)
{
    struct metric_wait *w = arg;
    return h_metric(w->base, w->series) == w->want;
}

/* ---------- sender numbers (issue 23) ---------- */

#define OWNED "whatsapp_sender_numbers_owned"
#define LEASE_S 4 /* SENDER_LEASE_SECONDS of the scale-out scenarios */

struct spread_wait {
    const char *urls[4];
    size_t n;
    long total; /* numbers to be owned in all */
    long owned[4];
};

/* Every number owned, and no instance more than one above another. */
static bool spread_even(void *arg)
{
    struct spread_wait *w = arg;
    long sum = 0, lo = -1, hi = -1;
    for (size_t i = 0; i < w->n; i++) {
        w->owned[i] = (long)h_metric(w->urls[i], OWNED);
        sum += w->owned[i];
        lo = lo < 0 || w->owned[i] < lo ? w->owned[i] : lo;
        hi = w->owned[i] > hi ? w->owned[i] : hi;
    }
    return sum == w->total && hi - lo <= 1;
}

/* ======================= 1. kill -9 and restart ======================= */

static void kill9_mid_load_then_restart(void **state)
{
    (void)state;
    struct run *r = &R;
    struct idset leased = {0};
    long bound = 0;
    int n = messages();
    start_run(r, "it_faults_kill", SLOW_MPS, NULL, NULL, 4);
    /* Each bakery's quota is exactly its share: a unit leaked by the crash, or taken
     * twice by a message claimed again, would skip an order quota_exceeded. */
    for (size_t t = 0; t < r->ntenants; t++) {
        char body[64];
        snprintf(body, sizeof body, "{\"quota_override\": %d}", n / 4);
        struct h_resp q = h_call("PUT", r->s.tenant.url, hf_admin_token(), body,
                                 "/api/v1/admin/tenants/%s/plan", r->tenants[t]);
        assert_int_equal(q.status, 200);
        h_resp_free(&q);
    }
    struct hf_load *l = start_load(r, 0, 4, n, 1, NULL);
    for (int k = 0; k < rounds; k++) {
        assert_true(hf_load_wait_accepted(l, n * (k + 1) / (rounds + 1), wait_ms(120000)));
        pid_t pid = r->s.notif.pid;
        h_kill(&r->s.notif, SIGKILL);
        double killed_at = hf_now();
        long held = leased_by(r, pid, &leased);
        bound += held;
        printf("# kill -9 of notification-service (pid %ld): %ld messages held by it\n", (long)pid,
               held);
        usleep(1000 * 1000);
        assert_true(hf_start_notification(&r->s, NULL));
        printf("# restarted %.1fs after the kill\n", hf_now() - killed_at);
        if (k + 1 < rounds)
            usleep(5000 * 1000);
    }
    finish_load(l, n);
    hf_load_free(l);
    char extra[96];
    snprintf(extra, sizeof extra, "kills=%d lease=5s", rounds);
    expect_all_read(r, n, bound, &leased, "kill -9 + restart", extra);
    idset_free(&leased);
}

/* ======================= 2. PostgreSQL stopped for 10 s ======================= */

#define PG_OUTAGE_S 10

/* During the outage: /ready is 503 naming the database, intake 503 (never 500), both
 * within 2 s. */
static void check_outage_answers(const struct run *r)
{
    double t = hf_now();
    struct h_resp ready = h_call("GET", r->s.notif.url, NULL, NULL, "/ready");
    double ready_s = hf_now() - t;
    assert_int_equal(ready.status, 503);
    assert_string_equal(json_string_value(json_object_get(ready.json, "failing")), "database");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(ready.json, "checks"), "database")),
        "unreachable");
    h_resp_free(&ready);
    assert_true(ready_s < 2.0);

    char event[UUID_STR_LEN], body[512];
    uuid_new(event);
    snprintf(body, sizeof body,
             "{\"event_id\":\"%s\",\"tenant_id\":\"%s\",\"po_number\":\"PO-OUT\","
             "\"supplier_name\":\"Proveedor\",\"supplier_phone\":\"+34699000000\","
             "\"total_amount\":1,\"currency\":\"EUR\"}",
             event, r->tenants[0]);
    t = hf_now();
    struct h_resp po = h_call("POST", r->s.notif.url, hf_service_token(), body,
                              "/api/v1/notifications/purchase-orders");
    double po_s = hf_now() - t;
    h_assert_error(&po, 503, "database_unavailable");
    h_resp_free(&po);
    assert_true(po_s < 2.0);
}

static bool ready_ok(void *arg)
{
    struct h_resp r = h_call("GET", arg, NULL, NULL, "/ready");
    bool ok = r.status == 200;
    h_resp_free(&r);
    return ok;
}

static void postgres_stopped_mid_load_everything_resumes(void **state)
{
    (void)state;
    struct run *r = &R;
    /* A lease longer than the outage: results kept in memory are written when the
     * database is back, nobody takes those rows meanwhile. */
    static const char *const notif[] = {"OUTBOX_LEASE_SECONDS=60", NULL};
    int n = messages();
    snprintf(r->s.pg_dir, sizeof r->s.pg_dir, ".run/test-faults-pg-%ld", (long)getpid());
    start_run(r, "it_faults_pg", SLOW_MPS, NULL, notif, 4);
    /* A second instance: each sends from the numbers it owns, and both recover. */
    struct h_proc *side = hf_start_side(&r->s, notif);
    assert_non_null(side);
    pid_t pids[4] = {r->s.notif.pid, r->s.tenant.pid, r->s.sim.pid, side->pid};
    struct metric_wait none[2] = {{r->s.notif.url, "whatsapp_sender_numbers_owned", 0},
                                  {side->url, "whatsapp_sender_numbers_owned", 0}};
    struct hf_load *l = start_load(r, 0, 4, n, 2, NULL);
    for (int k = 0; k < rounds; k++) {
        assert_true(hf_load_wait_accepted(l, n * (k + 1) / (rounds + 1), wait_ms(120000)));
        struct hf_load_stats before, after;
        hf_load_stats(l, &before);
        hf_load_window(l);
        double t = hf_now();
        assert_true(hf_pg_stop(&r->s));
        double stopped = hf_now();
        /* Without the database an instance may own nothing any more: it stops at once. */
        for (size_t i = 0; i < 2; i++)
            assert_true(h_wait_every(metric_is, &none[i], 1000, 20));
        printf("# both instances stopped sending %.2fs after PostgreSQL stopped\n",
               hf_now() - stopped);
        int probes = 0;
        while (hf_now() - stopped < PG_OUTAGE_S) {
            check_outage_answers(r);
            probes++;
            usleep(1000 * 1000);
        }
        hf_load_stats(l, &after);
        assert_true(hf_pg_start(&r->s));
        printf("# PostgreSQL down %.1fs (stop began %.2fs into the load and took %.1fs): %d "
               "intake 503s meanwhile, the slowest answer %.0f ms; %d probes of /ready and "
               "intake all 503 within 2 s\n",
               hf_now() - stopped, before.elapsed_s, stopped - t,
               after.answered_503 - before.answered_503, after.window_max_ms, probes);
        /* No request hung while PostgreSQL stopped and was down: every answer, 503 or a
         * 202 committed before the stop, came within 2 s. */
        assert_true(after.window_max_ms < 2000);
        if (before.accepted < n) /* intake was still posting: it got 503s */
            assert_true(after.answered_503 > before.answered_503);
        assert_true(hf_alive(&r->s.notif) && hf_alive(&r->s.tenant) && hf_alive(&r->s.sim) &&
                    hf_alive(side));
        assert_int_equal(r->s.notif.pid, pids[0]);
        assert_int_equal(r->s.tenant.pid, pids[1]);
        assert_int_equal(r->s.sim.pid, pids[2]);
        assert_int_equal(side->pid, pids[3]);
        if (k + 1 < rounds)
            usleep(5000 * 1000);
    }
    struct hf_load_stats st = finish_load(l, n);
    hf_load_free(l);
    /* Every refusal within 2 s, outages and restarts included; no answer took the load's
     * 10 s timeout (finish_load). How fast intake catches up after the restart, under
     * whatever else this machine runs, is a speed figure, not a promise of this test. */
    printf("# slowest 503: %.0f ms, to a request sent %.2fs into the load\n", st.max_503_ms,
           st.max_503_at_s);
    assert_true(st.max_503_ms < 2000);
    assert_true(h_wait_every(ready_ok, r->s.notif.url, 15000, 200));
    assert_true(h_wait_every(ready_ok, side->url, 15000, 200));
    /* Both own their numbers again, without a restart of their own (the default
     * SENDER_LEASE_SECONDS: each renews its own leases, or takes them once expired). */
    long numbers = hf_sql_long(r->s.notif_db, "SELECT count(*) FROM whatsapp_sender_leases");
    struct spread_wait w = {.urls = {r->s.notif.url, side->url}, .n = 2, .total = numbers};
    bool owned = h_wait_every(spread_even, &w, 10000, 100);
    printf("# after the outage the instances own %ld + %ld of the %ld numbers\n", w.owned[0],
           w.owned[1], numbers);
    assert_true(numbers >= 4);
    assert_true(owned);
    char extra[96];
    snprintf(extra, sizeof extra, "outages=%dx%ds intake_503=%d slowest_503=%.0fms", rounds,
             PG_OUTAGE_S, st.answered_503, st.max_503_ms);
    /* No instance died: nothing is sent twice. */
    expect_all_read(r, n, 0, NULL, "PostgreSQL stopped", extra);
    assert_int_equal(r->s.notif.pid, pids[0]);
}

/* ======================= 3. tenant-service down for 30 s ======================= */

#define TENANT_OUTAGE_S 30

struct progress {
    const struct run *r;
    const char *sql;
    long above;
};

static bool count_above(void *arg)
{
    struct progress *p = arg;
    return hf_sql_long(p->r->s.notif_db, "%s", p->sql) > p->above;
}

static void tenant_service_down_messages_wait_none_skipped(void **state)
{
    (void)state;
    struct run *r = &R;
    /* The known tenants run on stale settings during the outage (their messages are
     * newer than anything tenant-service confirmed); tenants 3 and 4 were never seen,
     * so their messages must wait. */
    static const char *const *notif = NULL;
    int n = messages();
    int n_known = n * 3 / 5, n_new = n - n_known;
    start_run(r, "it_faults_tenant", FAST_MPS, NULL, notif, 4);
    char new_ids[1200];
    snprintf(new_ids, sizeof new_ids, "'%.36s', '%.36s'", r->tenants[2], r->tenants[3]);
    struct hf_load *known = start_load(r, 0, 2, n_known, 3, NULL);
    struct hf_load *fresh = NULL;
    for (int k = 0; k < rounds; k++) {
        assert_true(
            hf_load_wait_accepted(known, n_known * (k + 1) / (rounds + 2), wait_ms(120000)));
        assert_int_equal(h_stop(&r->s.tenant), 0);
        double down = hf_now();
        if (!fresh)
            fresh = start_load(r, 2, 2, n_new, 4, NULL);
        /* The known tenants keep going on stale settings... */
        char sql[1400];
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM whatsapp_messages WHERE wamid IS NOT NULL AND tenant_id "
                 "NOT IN (%s)",
                 new_ids);
        struct progress p = {r, sql, hf_sql_long(r->s.notif_db, "%s", sql)};
        if (k == 0)
            assert_true(h_wait_every(count_above, &p, 10000, 200));
        /* ... while the new ones wait, untried, never skipped or failed. */
        while (hf_now() - down < TENANT_OUTAGE_S) {
            usleep(2000 * 1000);
            if (k == 0) {
                assert_int_equal(sim_sends_from(r, HF_PHONE(03)) + sim_sends_from(r, HF_PHONE(04)),
                                 0);
                assert_int_equal(hf_sql_long(r->s.notif_db,
                                             "SELECT count(*) FROM whatsapp_messages WHERE "
                                             "tenant_id IN (%s) AND (status NOT IN ('queued', "
                                             "'sending') OR attempts > 0)",
                                             new_ids),
                                 0);
            }
            assert_int_equal(hf_sql_long(r->s.notif_db,
                                         "SELECT count(*) FROM whatsapp_messages WHERE status "
                                         "IN ('skipped', 'failed')"),
                             0);
        }
        long waiting =
            hf_sql_long(r->s.notif_db, "SELECT count(*) FROM whatsapp_messages WHERE status IN "
                                       "('queued', 'sending')");
        long stale = hf_sql_long(r->s.notif_db, "%s", sql) - p.above;
        assert_true(hf_start_tenant(&r->s));
        printf("# tenant-service down %.1fs: %ld messages of known tenants sent meanwhile on "
               "stale settings, %ld waiting at its return\n",
               hf_now() - down, stale, waiting);
        if (k + 1 < rounds)
            usleep(5000 * 1000);
    }
    finish_load(known, n_known);
    finish_load(fresh, n_new);
    hf_load_free(known);
    hf_load_free(fresh);
    char extra[96];
    snprintf(extra, sizeof extra, "outages=%dx%ds", rounds, TENANT_OUTAGE_S);
    expect_all_read(r, n, 0, NULL, "tenant-service down", extra);
    /* Waiting used no attempt. */
    assert_int_equal(hf_sql_long(r->s.notif_db, "SELECT max(attempts) FROM whatsapp_messages"), 1);
}

/* ======================= 4. Graph errors ======================= */

/* Event i's recipient is permanently refused: 131026 (not on WhatsApp, an asynchronous
 * failed status) for i % 100 == 3, 132000 (a synchronous error: the parameters do not
 * match the template) for i % 100 == 53 among the first 4,000 (graph-sim keeps at most
 * 64 error rules). 132001 would hold the whole language instead (issue 19). */
static bool not_on_whatsapp(int i)
{
    return i % 100 == 3;
}

static bool bad_template(int i)
{
    return i % 100 == 53 && i < 4000;
}

#define PREFIX_ERRORS 5

/* The error rules: a 132000 rule per bad-template recipient, then burst (may be NULL). */
static char *error_rules(int n, const char *burst)
{
    struct buf b = {0};
    buf_append_str(&b, "[");
    for (int i = 0; i < n; i++) {
        if (!bad_template(i))
            continue;
        char to[16];
        hf_recipient(PREFIX_ERRORS, i, to);
        buf_printf(&b, "%s{\"code\":132000,\"recipient\":\"%s\"}", b.len > 1 ? "," : "", to);
    }
    if (burst)
        buf_printf(&b, "%s%s", b.len > 1 ? "," : "", burst);
    buf_append_str(&b, "]");
    return buf_steal(&b);
}

static void set_faults(const struct run *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void set_faults(const struct run *r, const char *fmt, ...)
{
    struct buf b = {0};
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    hf_sim_post(&r->s, "/_sim/faults", b.data);
    buf_free(&b);
}

/* Waiting for a fault to have happened, not for a share of the load: graph-sim has
 * answered `want` times with `code`, or notification-service has counted a Graph error
 * `metric`. A burst of refusals slows sending down (a 130429 blocks its number for a
 * while), so it must be waited for, or intake may end before the burst is used up. */
struct seen {
    const struct run *r;
    const char *code;   /* graph-sim error code, or NULL */
    long want;          /* answers with it */
    const char *metric; /* else: a series of notification-service's /metrics, > 0 */
};

static bool fault_seen(void *arg)
{
    const struct seen *w = arg;
    if (w->code)
        return hf_sim_errors(&w->r->s, w->code) >= w->want;
    return h_metric(w->r->s.notif.url, w->metric) > 0;
}

static void graph_errors_transient_delivered_permanent_failed(void **state)
{
    (void)state;
    struct run *r = &R;
    /* Every answer slower than 1 s is a timeout; 5% of requests take 1.5 s. Slow requests
     * hold a graph-sim thread each, so it gets many. */
    static const char *const sim[] = {"GRAPH_SIM_HTTP_THREADS=128", NULL};
    static const char *const notif[] = {"GRAPH_TIMEOUT_MS=1000", "WHATSAPP_MAX_ATTEMPTS=12", NULL};
    int n = messages();
    start_run(r, "it_faults_graph", FAST_MPS, sim, notif, 4);

    struct buf nowa = {0};
    long permanent = 0;
    buf_append_str(&nowa, "[");
    for (int i = 0; i < n; i++) {
        char to[16];
        hf_recipient(PREFIX_ERRORS, i, to);
        if (not_on_whatsapp(i))
            buf_printf(&nowa, "%s\"%s\"", nowa.len > 1 ? "," : "", to);
        permanent += not_on_whatsapp(i) || bad_template(i);
    }
    buf_append_str(&nowa, "]");
    char *rules = error_rules(n, NULL);
    set_faults(r,
               "{\"http_error\":{\"status\":500,\"rate\":0.1},\"latency_ms\":1500,"
               "\"latency_rate\":0.05,\"not_on_whatsapp\":%s,\"errors\":%s}",
               nowa.data, rules);
    free(rules);
    buf_free(&nowa);

    struct hf_load *l = start_load(r, 0, 4, n, PREFIX_ERRORS, NULL);
    for (int k = 0; k < rounds; k++) {
        /* Bursts: the next 40 sends refused with 130429, later 40 with 131056; the 5xx
         * switch from 500 (code 1) to 503 (code 2). */
        assert_true(hf_load_wait_accepted(l, n * (2 * k + 1) / (2 * rounds + 1), wait_ms(120000)));
        rules = error_rules(n, "{\"code\":130429,\"count\":40}");
        set_faults(r, "{\"errors\":%s,\"http_error\":{\"status\":503,\"rate\":0.1}}", rules);
        free(rules);
        struct seen burst = {r, "130429", 40L * (k + 1), NULL};
        struct seen e503 = {r, NULL, 0, "whatsapp_graph_errors_total{code=\"2\"}"};
        assert_true(h_wait_until(fault_seen, &burst, wait_ms(120000)));
        assert_true(h_wait_until(fault_seen, &e503, wait_ms(120000)));
        assert_true(hf_load_wait_accepted(l, n * (2 * k + 2) / (2 * rounds + 1), wait_ms(120000)));
        rules = error_rules(n, "{\"code\":131056,\"count\":40}");
        set_faults(r, "{\"errors\":%s,\"http_error\":{\"status\":500,\"rate\":0.1}}", rules);
        free(rules);
        struct seen pair = {r, "131056", 40L * (k + 1), NULL};
        assert_true(h_wait_until(fault_seen, &pair, wait_ms(120000)));
    }
    finish_load(l, n);
    hf_load_free(l);
    assert_true(hf_wait_terminal(&r->s, n, wait_ms(FINAL_WAIT_MS)));
    /* Faults off only now: everything above happened under them. */
    struct h_resp cleared = h_call("DELETE", r->s.sim.url, NULL, NULL, "/_sim/faults");
    h_resp_free(&cleared);

    struct tally t;
    struct hf_sends x;
    tally(r, &t);
    hf_sim_sends(&r->s, &x);
    long timeouts = (long)h_metric(r->s.notif.url, "whatsapp_graph_errors_total{code=\"network\"}");
    long e500 = (long)h_metric(r->s.notif.url, "whatsapp_graph_errors_total{code=\"1\"}");
    long e503 = (long)h_metric(r->s.notif.url, "whatsapp_graph_errors_total{code=\"2\"}");
    long e130429 = hf_sim_errors(&r->s, "130429");
    long e131056 = hf_sim_errors(&r->s, "131056");
    char extra[256];
    snprintf(extra, sizeof extra,
             "permanent=%ld http500=%ld http503=%ld timeouts=%ld 130429=%ld 131056=%ld "
             "(duplicates bounded by the timeouts: Graph handled those requests)",
             permanent, e500, e503, timeouts, e130429, e131056);
    report("graph errors", r, &t, &x, timeouts, "%s", extra);

    assert_int_equal(t.rows, n);
    assert_int_equal(t.failed, permanent);
    assert_int_equal(t.read, n - permanent);
    assert_true(t.retried > 0);
    assert_true(e500 > 0 && e503 > 0 && timeouts > 0 && e130429 >= 40 && e131056 >= 40);
    /* Each failed message is a permanently refused recipient, with code and message. */
    for (int i = 0; i < n; i++) {
        if (!not_on_whatsapp(i) && !bad_template(i))
            continue;
        char to[16];
        hf_recipient(PREFIX_ERRORS, i, to);
        /* 132000 is Graph's answer ("(#132000) Number of parameters does not match..."); 131026
         * comes in a failed status webhook ("Message undeliverable (...)"). */
        long ok =
            hf_sql_long(r->s.notif_db,
                        "SELECT count(*) FROM whatsapp_messages WHERE recipient_phone = "
                        "'%s' AND status = 'failed' AND error_code = %d AND error_message "
                        "LIKE '%s' AND failed_at IS NOT NULL",
                        to, not_on_whatsapp(i) ? 131026 : 132000,
                        not_on_whatsapp(i) ? "Message undeliverable%"
                                           : "(#132000) Number of parameters does not match%");
        if (ok != 1) {
            char sql[256];
            snprintf(sql, sizeof sql,
                     "SELECT status || ' ' || coalesce(error_code::text, '-') || ' ' || "
                     "coalesce(error_message, '-') || ' attempts ' || attempts FROM "
                     "whatsapp_messages WHERE recipient_phone = '%s'",
                     to);
            char *row = h_sql(r->s.notif_db, sql);
            fail_msg("message to %s did not end failed with its code and message: %s", to,
                     row ? row : "?");
        }
    }
    /* Every other message went out: the transient errors all ended read. */
    assert_int_equal(hf_sql_long(r->s.notif_db, "SELECT count(*) FROM whatsapp_messages WHERE "
                                                "status = 'failed' AND error_code NOT IN "
                                                "(131026, 132000)"),
                     0);
    /* ... and carry no error of the attempts along the way. */
    assert_int_equal(hf_sql_long(r->s.notif_db, "SELECT count(*) FROM whatsapp_messages WHERE "
                                                "status = 'read' AND (error_code IS NOT NULL OR "
                                                "error_message IS NOT NULL)"),
                     0);
    assert_true(x.duplicates <= (size_t)timeouts);
    hf_sends_free(&x);
}

/* ======================= 5. webhooks ======================= */

static void webhooks_duplicated_reordered_delayed_and_down(void **state)
{
    (void)state;
    struct run *r = &R;
    int n = messages();
    start_run(r, "it_faults_webhooks", FAST_MPS, NULL, NULL, 4);
    set_faults(r, "{\"webhooks\":{\"duplicate_rate\":0.3,\"reorder\":0.5,\"delay_ms\":300}}");
    struct hf_load *l = start_load(r, 0, 4, n, 6, NULL);
    for (int k = 0; k < rounds; k++) {
        assert_true(hf_load_wait_accepted(l, n * (k + 1) / (rounds + 1), wait_ms(120000)));
        set_faults(r, "{\"webhooks\":{\"down\":true}}");
        usleep(5000 * 1000);
        set_faults(r, "{\"webhooks\":{\"down\":false}}");
    }
    finish_load(l, n);
    hf_load_free(l);
    assert_true(hf_wait_terminal(&r->s, n, wait_ms(FINAL_WAIT_MS)));
    struct h_resp st = h_call("GET", r->s.sim.url, NULL, NULL, "/_sim/stats");
    const json_t *wh = json_object_get(st.json, "webhooks");
    long dups = (long)json_integer_value(json_object_get(wh, "duplicates_delivered"));
    long refused = (long)json_integer_value(json_object_get(wh, "posts_failed"));
    long dropped = (long)json_integer_value(json_object_get(wh, "dropped"));
    h_resp_free(&st);
    char extra[160];
    snprintf(extra, sizeof extra,
             "webhook_duplicates=%ld webhook_posts_refused=%ld down=%dx5s delay=300ms "
             "reorder=50%%",
             dups, refused, rounds);
    expect_all_read(r, n, 0, NULL, "webhooks", extra);
    assert_true(dups > 0);
    assert_true(refused > 0);
    assert_int_equal(dropped, 0);
    /* Whatever the order, each status left its time. */
    assert_int_equal(hf_sql_long(r->s.notif_db,
                                 "SELECT count(*) FROM whatsapp_messages WHERE sent_at IS NULL "
                                 "OR delivered_at IS NULL OR read_at IS NULL OR failed_at IS "
                                 "NOT NULL OR error_code IS NOT NULL"),
                     0);
}

/* ======================= 6. the access token expires ======================= */

#define SEND_REQUESTS "http_requests_total{route=\"/{version}/{node}/messages\",method=\"POST\""

/* Send requests graph-sim answered (any status; with code "401": refused tokens). */
static long sim_send_requests(const struct run *r, const char *code)
{
    struct h_resp m = h_call("GET", r->s.sim.url, NULL, NULL, "/metrics");
    char want[64] = "";
    long n = 0;
    if (code)
        snprintf(want, sizeof want, ",code=\"%s\"}", code);
    for (const char *line = m.body; line && *line;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        const char *sp = memchr(line, ' ', len);
        if (sp && strncmp(line, SEND_REQUESTS, strlen(SEND_REQUESTS)) == 0 &&
            (!code || ((size_t)(sp - line) >= strlen(want) &&
                       strncmp(sp - strlen(want), want, strlen(want)) == 0)))
            n += strtol(sp + 1, NULL, 10);
        line = nl ? nl + 1 : NULL;
    }
    h_resp_free(&m);
    return n;
}

static void token_expired_pauses_burns_nothing_resumes(void **state)
{
    (void)state;
    struct run *r = &R;
    int n = messages();
    start_run(r, "it_faults_token", SLOW_MPS, NULL, NULL, 4);
    struct hf_load *l = start_load(r, 0, 4, n, 7, NULL);
    long paused_190 = 0;
    for (int k = 0; k < rounds; k++) {
        assert_true(hf_load_wait_accepted(l, n * (k + 1) / (rounds + 1), wait_ms(120000)));
        set_faults(r, "{\"token_expired\":true}");
        struct metric_wait paused = {r->s.notif.url, "whatsapp_sending_paused", 1};
        assert_true(h_wait_every(metric_is, &paused, 10000, 50));
        usleep(300 * 1000); /* requests in flight at the pause come back */
        long e0 = sim_send_requests(r, NULL), a0 = hf_sim_accepted(&r->s);
        struct h_resp ready = h_call("GET", r->s.notif.url, NULL, NULL, "/ready");
        assert_int_equal(ready.status, 503);
        assert_string_equal(json_string_value(json_object_get(ready.json, "failing")), "graph");
        const char *why =
            json_string_value(json_object_get(json_object_get(ready.json, "checks"), "graph"));
        assert_non_null(why);
        printf("# /ready while paused: 503, checks.graph \"%s\"\n", why);
        /* Meta's own words: "(#190) Error validating access token: Session has expired..." */
        assert_true(strncmp(why, "paused: ", 8) == 0 && strstr(why, "access token") != NULL);
        h_resp_free(&ready);
        usleep(3000 * 1000);
        long e1 = sim_send_requests(r, NULL), a1 = hf_sim_accepted(&r->s);
        /* Paused: nothing accepted, only a probe every WHATSAPP_PAUSE_PROBE_MS (500). */
        printf("# token expired: %ld send requests (probes) in 3 s of pause, %ld accepted\n",
               e1 - e0, a1 - a0);
        assert_int_equal(a1, a0);
        assert_true(e1 - e0 <= 3000 / 500 + 2);
        paused_190 += e1 - e0;
        assert_int_equal(hf_sql_long(r->s.notif_db, "SELECT count(*) FROM whatsapp_messages "
                                                    "WHERE status = 'failed'"),
                         0);
        set_faults(r, "{\"token_expired\":false}");
        struct metric_wait resumed = {r->s.notif.url, "whatsapp_sending_paused", 0};
        assert_true(h_wait_every(metric_is, &resumed, 10000, 50));
    }
    finish_load(l, n);
    hf_load_free(l);
    char extra[160];
    snprintf(extra, sizeof extra, "answers_401=%ld (of which probes while paused: %ld) pauses=%d",
             sim_send_requests(r, "401"), paused_190, rounds);
    expect_all_read(r, n, 0, NULL, "token expired", extra);
    /* Nothing burned: no message used an attempt on the token. */
    assert_int_equal(hf_sql_long(r->s.notif_db, "SELECT max(attempts) FROM whatsapp_messages"), 1);
}

/* ======================= 7. two instances, one killed ======================= */

static void two_instances_one_killed_survivor_sends_once(void **state)
{
    (void)state;
    struct run *r = &R;
    /* Both instances share each number's throughput. */
    static const char *const notif[] = {"WHATSAPP_MPS_PER_PHONE=25" /* SLOW_MPS / 2 */, NULL};
    struct idset leased = {0};
    long bound = 0;
    int n = messages();
    start_run(r, "it_faults_two", SLOW_MPS, NULL, notif, 4);
    struct h_proc *side = hf_start_side(&r->s, NULL);
    assert_non_null(side);
    unsigned ports[2] = {r->s.notif.port, side->port};
    struct h_proc *inst[2] = {&r->s.notif, side};
    /* Copies: a restart (soak) rewrites an h_proc while the load reads its URLs. */
    static char url_copy[2][sizeof r->s.notif.url];
    memcpy(url_copy[0], r->s.notif.url, sizeof url_copy[0]);
    memcpy(url_copy[1], side->url, sizeof url_copy[1]);
    const char *urls[] = {url_copy[0], url_copy[1], NULL};
    /* 20 ms per send: a few requests are always in flight. */
    set_faults(r, "{\"latency_ms\":20}");
    struct hf_load *l = start_load(r, 0, 4, n, 8, urls);
    for (int k = 0; k < rounds; k++) {
        assert_true(hf_load_wait_accepted(l, n * (k + 1) / (rounds + 1), wait_ms(120000)));
        struct h_proc *victim = inst[k % 2], *survivor = inst[(k + 1) % 2];
        pid_t pid = victim->pid;
        h_kill(victim, SIGKILL);
        long held = leased_by(r, pid, &leased);
        bound += held;
        printf("# kill -9 of one of two instances (pid %ld): %ld messages held by it\n", (long)pid,
               held);
        /* The victim received Meta's webhooks: the load balancer notices only after 6 s,
         * longer than the lease (5 s), so the survivor takes the victim's messages before
         * their statuses can reconcile them: those Graph had accepted go out twice. */
        usleep(6000 * 1000);
        char body[160];
        snprintf(body, sizeof body, "{\"webhook_url\":\"%s/api/v1/whatsapp/webhook\"}",
                 survivor->url);
        hf_sim_post(&r->s, "/_sim/settings", body);
        if (k + 1 < rounds) { /* soak: it comes back, and the other one dies next */
            assert_true(hf_start_instance(&r->s, victim, ports[k % 2], NULL));
            usleep(3000 * 1000);
        }
    }
    finish_load(l, n);
    hf_load_free(l);
    char extra[160];
    snprintf(extra, sizeof extra,
             "kills=%d instances=2 graph_latency=20ms webhooks_rerouted_after=6s", rounds);
    expect_all_read(r, n, bound, &leased, "two instances, one killed", extra);
    idset_free(&leased);
}

/* ======================= 8. the account restricted under load ======================= */

/* Errors of the whole account, one per round, consecutive rounds different: locked,
 * blocked for policy violations, unpaid. */
static const long account_codes[] = {131031, 368, 131042};

#define PROBE_MS 500        /* WHATSAPP_PAUSE_PROBE_MS of the suite (harness_faults.c) */
#define PAUSE_WATCH_MS 3000 /* how long a pause is watched for sends other than probes */
#define PAUSED "whatsapp_sending_paused"

/* json_time_ms()'s form: "2026-12-06T05:04:45.123Z". */
static bool is_date_time(const char *s)
{
    static const char form[] = "dddd-dd-ddTdd:dd:dd.dddZ";
    if (!s || strlen(s) != sizeof form - 1)
        return false;
    for (size_t i = 0; form[i]; i++) {
        if (form[i] == 'd' ? s[i] < '0' || s[i] > '9' : s[i] != form[i])
            return false;
    }
    return true;
}

/* Waits up to timeout_ms until the gauge whatsapp_sending_paused of both instances is
 * want; at[i] gets the seconds from t0 until instance i showed it (-1: never). Each
 * instance is timed on its own: each pauses at its own first refusal, and resumes at its
 * own first accepted probe. */
static bool wait_both_paused_is(const char *const urls[2], double want, double t0, double at[2],
                                int timeout_ms)
{
    double end = hf_now() + timeout_ms / 1000.0;
    at[0] = at[1] = -1;
    for (;;) {
        for (size_t i = 0; i < 2; i++) {
            if (at[i] < 0 && h_metric(urls[i], PAUSED) == want)
                at[i] = hf_now() - t0;
        }
        if (at[0] >= 0 && at[1] >= 0)
            return true;
        if (hf_now() >= end)
            return false;
        usleep(50 * 1000);
    }
}

/* While Graph refuses the account with code: /ready is 503 for Graph, in Meta's words,
 * and the pause gives that code, its source (a refused send) and since when. */
static void expect_ready_paused(const char *url, long code)
{
    struct h_resp ready = h_call("GET", url, NULL, NULL, "/ready");
    assert_int_equal(ready.status, 503);
    assert_string_equal(json_string_value(json_object_get(ready.json, "failing")), "graph");
    const char *why =
        json_string_value(json_object_get(json_object_get(ready.json, "checks"), "graph"));
    const json_t *p = json_object_get(ready.json, "paused");
    const char *reason = json_string_value(json_object_get(p, "reason"));
    const char *since = json_string_value(json_object_get(p, "since"));
    const char *source = json_string_value(json_object_get(p, "source"));
    char meta[32];
    snprintf(meta, sizeof meta, "(#%ld)", code);
    if (!why || !reason || strncmp(why, "paused: ", 8) != 0 || strcmp(why + 8, reason) != 0 ||
        !strstr(reason, meta))
        fail_msg("/ready of %s does not give Meta's %s as the pause's reason: %s", url, meta,
                 ready.body ? ready.body : "(no body)");
    assert_true(json_is_integer(json_object_get(p, "code")));
    assert_int_equal(json_integer_value(json_object_get(p, "code")), code);
    assert_non_null(source);
    assert_string_equal(source, "send");
    if (!is_date_time(since))
        fail_msg("paused.since of %s is not a date-time: %s", url, since ? since : "(none)");
    printf("# /ready of %s while paused: 503, paused {code %ld, source %s, since %s}, "
           "checks.graph \"%s\"\n",
           url, code, source, since, why);
    h_resp_free(&ready);
}

static long failed_messages(const struct run *r)
{
    return hf_sql_long(r->s.notif_db,
                       "SELECT count(*) FROM whatsapp_messages WHERE status = 'failed'");
}

#define BLOCKED_READS "whatsapp_pause_probe_reads_total{result=\"blocked\"}"

static void account_restricted_under_load_waits_and_resumes(void **state)
{
    (void)state;
    struct run *r = &R;
    /* Both instances share each number's throughput. */
    static const char *const notif[] = {"WHATSAPP_MPS_PER_PHONE=25" /* SLOW_MPS / 2 */, NULL};
    int n = messages();
    start_run(r, "it_faults_restrict", SLOW_MPS, NULL, notif, 4);
    struct h_proc *side = hf_start_side(&r->s, NULL);
    assert_non_null(side);
    const char *urls[] = {r->s.notif.url, side->url, NULL};
    struct buf codes = {0}, windows = {0};
    double slowest_pause = 0, slowest_resume = 0;
    struct hf_load *l = start_load(r, 0, 4, n, 9, urls);
    for (int k = 0; k < rounds; k++) {
        long code = account_codes[k % 3];
        assert_true(hf_load_wait_accepted(l, n * (k + 1) / (rounds + 1), wait_ms(120000)));
        set_faults(r, "{\"account_error\":{\"code\":%ld}}", code);
        double at[2];
        /* Each instance pauses at its own first refusal: both claim from the shared outbox,
         * so both meet the restriction. */
        if (!wait_both_paused_is(urls, 1, hf_now(), at, 10000))
            fail_msg("not both instances paused on %ld (after %.1fs / %.1fs)", code, at[0], at[1]);
        usleep(300 * 1000); /* requests in flight at the pause come back */
        long e0 = sim_send_requests(r, NULL), a0 = hf_sim_accepted(&r->s);
        /* The probes: each instance reads the account's health first, and Graph reports
         * these codes as BLOCKED, so no probe goes as far as a send. */
        long p0[2] = {(long)h_metric(urls[0], BLOCKED_READS),
                      (long)h_metric(urls[1], BLOCKED_READS)};
        for (size_t i = 0; i < 2; i++)
            expect_ready_paused(urls[i], code);
        assert_int_equal(failed_messages(r), 0);
        usleep(PAUSE_WATCH_MS * 1000);
        long e1 = sim_send_requests(r, NULL), a1 = hf_sim_accepted(&r->s);
        long p1[2] = {(long)h_metric(urls[0], BLOCKED_READS),
                      (long)h_metric(urls[1], BLOCKED_READS)};
        long waiting =
            hf_sql_long(r->s.notif_db, "SELECT count(*) FROM whatsapp_messages WHERE status IN "
                                       "('queued', 'sending') AND attempts = 0");
        printf("# account error %ld: both paused %.2fs / %.2fs after it; in %d s of pause %ld "
               "send requests, probe reads %ld + %ld (all BLOCKED), %ld accepted; %ld waiting\n",
               code, at[0], at[1], PAUSE_WATCH_MS / 1000, e1 - e0, p1[0] - p0[0], p1[1] - p0[1],
               a1 - a0, waiting);
        /* Paused: nothing sent, nothing accepted; each instance probed by reading (that is
         * how it will resume). */
        assert_int_equal(a1, a0);
        assert_int_equal(e1 - e0, 0);
        for (size_t i = 0; i < 2; i++) {
            assert_true(p1[i] - p0[i] >= 1);
            assert_true(p1[i] - p0[i] <= PAUSE_WATCH_MS / PROBE_MS + 2);
        }
        assert_int_equal(failed_messages(r), 0);
        /* Lifted at Meta: each instance resumes at its next probe, nobody calls resume. */
        set_faults(r, "{\"account_error\":null}");
        double resumed[2];
        if (!wait_both_paused_is(urls, 0, hf_now(), resumed, 10000))
            fail_msg("not both instances resumed after %ld was lifted (after %.1fs / %.1fs)", code,
                     resumed[0], resumed[1]);
        printf("# account error %ld lifted: resumed by their probes %.2fs / %.2fs after it\n", code,
               resumed[0], resumed[1]);
        for (size_t i = 0; i < 2; i++) {
            slowest_pause = at[i] > slowest_pause ? at[i] : slowest_pause;
            slowest_resume = resumed[i] > slowest_resume ? resumed[i] : slowest_resume;
        }
        buf_printf(&codes, "%s%ld", k ? "," : "", code);
        buf_printf(&windows, "%s%ld+%ld", k ? "," : "", p1[0] - p0[0], p1[1] - p0[1]);
    }
    finish_load(l, n);
    hf_load_free(l);
    long refusals = 0;
    for (int k = 0; k < rounds && k < 3; k++) {
        char code[16];
        snprintf(code, sizeof code, "%ld", account_codes[k]);
        refusals += hf_sim_errors(&r->s, code);
    }
    char extra[256];
    snprintf(extra, sizeof extra,
             "codes=%s instances=2 refusals=%ld probe_reads_in_%ds=%s slowest_pause=%.2fs "
             "slowest_resume=%.2fs",
             codes.data, refusals, PAUSE_WATCH_MS / 1000, windows.data, slowest_pause,
             slowest_resume);
    /* No instance died: nothing is sent twice. */
    expect_all_read(r, n, 0, NULL, "account restricted", extra);
    /* Nothing burned: a refusal of the whole account used no message's attempt ... */
    assert_int_equal(hf_sql_long(r->s.notif_db, "SELECT max(attempts) FROM whatsapp_messages"), 1);
    /* ... and left no error on the messages that went out afterwards. */
    assert_int_equal(hf_sql_long(r->s.notif_db, "SELECT count(*) FROM whatsapp_messages WHERE "
                                                "error_code IS NOT NULL OR error_message IS NOT "
                                                "NULL"),
                     0);
    buf_free(&codes);
    buf_free(&windows);
}

/* ======================= 9. scale-out: one owner per sender number ======================= */

/* Each number has one holder in the database, and the instances' gauges say the same. */
static void expect_one_holder_each(const struct run *r, long numbers)
{
    assert_int_equal(hf_sql_long(r->s.notif_db,
                                 "SELECT count(*) FROM whatsapp_sender_leases WHERE holder IS "
                                 "NOT NULL AND expires_at > now()"),
                     numbers);
}

/* One number offered twice its limit (160/s for 10 s) through two instances: its owner
 * alone sends, so Meta's window is never passed and the number still sends at its
 * limit. */
static void one_number_offered_twice_its_limit_by_two_instances(void **state)
{
    (void)state;
    struct run *r = &R;
    enum { MPS = 80, RATE = 160, SECONDS = 10 };
    int n = RATE * SECONDS;
    start_run(r, "it_scale_one", MPS, NULL, NULL, 1);
    struct h_proc *side = hf_start_side(&r->s, NULL);
    assert_non_null(side);
    const char *urls[] = {r->s.notif.url, side->url, NULL};
    long throttled = hf_sim_errors(&r->s, "130429");
    struct hf_load_config c = {.count = n, .prefix = 21, .rate = RATE, .nurls = 2};
    c.urls[0] = urls[0];
    c.urls[1] = urls[1];
    c.tenants[c.ntenants++] = r->tenants[0];
    struct hf_load *l = hf_load_start(&c);
    finish_load(l, n);
    hf_load_free(l);
    assert_true(hf_wait_terminal(&r->s, n, FINAL_WAIT_MS));

    struct h_resp counts = h_call("GET", r->s.sim.url, NULL, NULL,
                                  "/_sim/messages/counts?phone_number_id=" HF_PHONE(01));
    const json_t *num = json_array_get(json_object_get(counts.json, "numbers"), 0);
    json_int_t peak = json_integer_value(json_object_get(num, "max_accepted_per_second"));
    size_t i;
    const json_t *sec;
    json_int_t refused_seconds = 0;
    struct buf series = {0};
    const json_t *seconds = json_object_get(num, "seconds");
    json_int_t middle = 0; /* accepted in the whole seconds: all but the first and last */
    json_array_foreach (seconds, i, sec) {
        json_int_t accepted = json_integer_value(json_object_get(sec, "accepted"));
        refused_seconds += json_integer_value(json_object_get(sec, "rate_limited")) > 0;
        if (i > 0 && i + 1 < json_array_size(seconds))
            middle += accepted;
        buf_printf(&series, " %lld", (long long)accepted);
    }
    size_t whole = json_array_size(seconds) > 2 ? json_array_size(seconds) - 2 : 1;
    double rate = (double)middle / (double)whole;
    printf("# accepted per second:%s\n", series.data ? series.data : "");
    buf_free(&series);
    h_resp_free(&counts);
    long owned[2] = {(long)h_metric(urls[0], OWNED), (long)h_metric(urls[1], OWNED)};
    char extra[200];
    snprintf(extra, sizeof extra,
             "instances=2 offered=%d/s for %ds limit=%d/s sustained=%.1f/s peak_second=%lld "
             "130429=%ld owned=%ld+%ld",
             RATE, SECONDS, MPS, rate, (long long)peak, hf_sim_errors(&r->s, "130429") - throttled,
             owned[0], owned[1]);
    expect_all_read(r, n, 0, NULL, "one number, two instances", extra);
    assert_int_equal(hf_sim_errors(&r->s, "130429"), throttled);
    assert_int_equal(refused_seconds, 0);
    assert_true(peak <= MPS);
    /* The owner keeps the number busy. How close to the limit it gets is a speed figure:
     * make bench (8c) measures it on release builds against 95%; here, under the
     * sanitizers and beside other suites, three quarters of it. */
    assert_true(rate >= 0.75 * MPS);
    /* the bakery's number and the platform's default one, one each */
    long numbers = hf_sql_long(r->s.notif_db, "SELECT count(*) FROM whatsapp_sender_leases");
    assert_int_equal(owned[0] + owned[1], numbers);
    expect_one_holder_each(r, numbers);
}

static long lease_rows(const struct run *r)
{
    return hf_sql_long(r->s.notif_db, "SELECT count(*) FROM whatsapp_sender_leases");
}

static bool counted_20(void *arg)
{
    return lease_rows(arg) >= 20;
}

/* 20 numbers over two instances, then three: spread within one; one killed -9 under load:
 * its numbers are the survivors' within SENDER_LEASE_SECONDS, its claimed messages go
 * out once (twice only if Graph had accepted them at the kill). */
static void numbers_spread_evenly_and_move_within_the_lease(void **state)
{
    (void)state;
    struct run *r = &R;
    static const char *const sim[] = {"GRAPH_SIM_PHONE_COUNT=21", NULL};
    static const char *const notif[] = {"SENDER_LEASE_SECONDS=4", NULL};
    struct idset leased = {0};
    int n = messages();
    start_run(r, "it_scale_spread", SLOW_MPS, sim, notif, 20);
    struct h_proc *b = hf_start_side(&r->s, NULL);
    assert_non_null(b);
    /* One order per bakery makes every number known. */
    const char *two[] = {r->s.notif.url, b->url, NULL};
    struct hf_load *l = start_load(r, 0, 20, 20, 31, two);
    finish_load(l, 20);
    hf_load_free(l);
    assert_true(h_wait_every(counted_20, r, 30000, 100)); /* setup, not a bound under test */
    long total = lease_rows(r); /* the bakeries' 20 and the platform's default number */
    struct spread_wait w = {.urls = {r->s.notif.url, b->url}, .n = 2, .total = total};
    double t = hf_now();
    bool even = h_wait_every(spread_even, &w, 4 * LEASE_S * 1000, 100);
    printf("# %ld numbers over 2 instances: %ld + %ld after %.1fs\n", total, w.owned[0], w.owned[1],
           hf_now() - t);
    assert_true(even);
    expect_one_holder_each(r, total);

    struct h_proc *c = hf_start_side(&r->s, NULL);
    assert_non_null(c);
    w = (struct spread_wait){.urls = {r->s.notif.url, b->url, c->url}, .n = 3, .total = total};
    t = hf_now();
    even = h_wait_every(spread_even, &w, 4 * LEASE_S * 1000, 100);
    printf("# a third instance joins: %ld + %ld + %ld after %.1fs\n", w.owned[0], w.owned[1],
           w.owned[2], hf_now() - t);
    assert_true(even);
    expect_one_holder_each(r, total);

    /* Under load through the two that stay, the third dies. */
    l = start_load(r, 0, 20, n, 32, two);
    assert_true(hf_load_wait_accepted(l, n / 3, 120000));
    pid_t pid = c->pid;
    long before = (long)h_metric(c->url, OWNED);
    h_kill(c, SIGKILL);
    double killed = hf_now();
    long held = leased_by(r, pid, &leased);
    w = (struct spread_wait){.urls = {r->s.notif.url, b->url}, .n = 2, .total = total};
    even = h_wait_every(spread_even, &w, 3 * LEASE_S * 1000, 50);
    double moved = hf_now() - killed;
    printf("# kill -9 of an instance owning %ld numbers, holding %ld messages: its numbers "
           "moved in %.2fs (SENDER_LEASE_SECONDS=%d): %ld + %ld\n",
           before, held, moved, LEASE_S, w.owned[0], w.owned[1]);
    assert_true(even);
    assert_true(moved <= LEASE_S);
    finish_load(l, n);
    hf_load_free(l);
    char extra[160];
    snprintf(extra, sizeof extra,
             "instances=3 numbers=%ld killed_owned=%ld moved_in=%.2fs lease=%ds", total, before,
             moved, LEASE_S);
    expect_all_read(r, n + 20, held, &leased, "numbers spread, one instance killed", extra);
    assert_int_equal(hf_sim_errors(&r->s, "130429"), 0);
    idset_free(&leased);
}

int main(void)
{
    const char *soak_env = getenv("SOAK");
    const char *count_env = getenv("FAULTS_MESSAGES");
    if (soak_env && *soak_env && strcmp(soak_env, "0") != 0) {
        scale = 10;
        rounds = 4;
    }
    if (count_env && strtol(count_env, NULL, 10) > 0)
        base_messages = (int)strtol(count_env, NULL, 10);
    if (getenv("FAULTS_FILTER")) /* e.g. FAULTS_FILTER='*token*' */
        cmocka_set_test_filter(getenv("FAULTS_FILTER"));
    curl_global_init(CURL_GLOBAL_ALL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(kill9_mid_load_then_restart, teardown),
        cmocka_unit_test_teardown(postgres_stopped_mid_load_everything_resumes, teardown),
        cmocka_unit_test_teardown(tenant_service_down_messages_wait_none_skipped, teardown),
        cmocka_unit_test_teardown(graph_errors_transient_delivered_permanent_failed, teardown),
        cmocka_unit_test_teardown(webhooks_duplicated_reordered_delayed_and_down, teardown),
        cmocka_unit_test_teardown(token_expired_pauses_burns_nothing_resumes, teardown),
        cmocka_unit_test_teardown(two_instances_one_killed_survivor_sends_once, teardown),
        cmocka_unit_test_teardown(account_restricted_under_load_waits_and_resumes, teardown),
        cmocka_unit_test_teardown(one_number_offered_twice_its_limit_by_two_instances, teardown),
        cmocka_unit_test_teardown(numbers_spread_evenly_and_move_within_the_lease, teardown),
    };
    int failed = cmocka_run_group_tests_name("faults", tests, NULL, NULL);
    curl_global_cleanup();
    return failed;
}
