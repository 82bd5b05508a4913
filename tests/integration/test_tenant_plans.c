/* test_tenant_plans.c - tenants' WhatsApp plans in tenant-service (issue 20), with
 * notification-service at a dead port: new tenants get PLAN_DEFAULT (a bad one stops the
 * start), the admin reads and changes plan and override, the tenant's users read theirs
 * and nobody else does, bad changes are refused whole and leave neither the plan nor the
 * audit log nor the change feed touched, every change is audited with its actor and its
 * old and new value, the settings carry the plan but never take it from a PUT, and a
 * plan change is a numbered settings change that wakes a parked feed request; a follower
 * parked when the service stops still gets its answer. That notification-service acts
 * on a plan change at once is test_settings_now.c's
 * plan_change_then_post_at_once_follows_the_quota. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "alloc.h"
#include "harness.h"
#include "harness_raw.h"
#include "harness_tenant.h"
#include "monotonic.h"

static struct {
    char db_url[256];
    struct h_proc ts;
    char a[HT_ID_LEN]; /* tenant A: the one the user tokens belong to */
    char b[HT_ID_LEN]; /* tenant B: another bakery */
    char *owner, *tadmin, *member, *viewer, *other_owner;
} t;

/* ---------- setup ---------- */

static int setup(void **state)
{
    (void)state;
    if (!h_fresh_database("it_tenant_plans", t.db_url, sizeof t.db_url))
        return -1;
    if (!ht_start_tenant(&t.ts, t.db_url, ht_dead_url(), NULL, NULL))
        return -1;
    ht_create_tenant(&t.ts, "Panadería Plan", t.a);
    ht_create_tenant(&t.ts, "Obrador Otro", t.b);
    t.owner = ht_user(t.a, "owner");
    t.tadmin = ht_user(t.a, "admin");
    t.member = ht_user(t.a, "member");
    t.viewer = ht_user(t.a, "viewer");
    t.other_owner = ht_user(t.b, "owner");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    int rc = h_stop(&t.ts);
    free(t.owner);
    free(t.tadmin);
    free(t.member);
    free(t.viewer);
    free(t.other_owner);
    return rc == 0 ? 0 : -1;
}

/* ---------- helpers ---------- */

#define ADMIN_PLAN "/api/v1/admin/tenants/%s/plan"
#define TENANT_PLAN "/api/v1/tenants/%s/plan"

static struct h_resp call(const char *method, const char *fmt, const char *id, const char *token,
                          const char *body)
{
    char *path = xasprintf(fmt, id);
    struct h_resp r = ht_call(&t.ts, method, path, token, body);
    free(path);
    return r;
}

/* The tenant's plan as the admin reads it (a new reference). */
static json_t *plan_of(const char *id)
{
    struct h_resp r = call("GET", ADMIN_PLAN, id, ht_admin(), NULL);
    assert_int_equal(r.status, 200);
    json_t *p = json_incref(r.json);
    h_resp_free(&r);
    return p;
}

/* PUTs body as the admin (token NULL) or token; asserts 200 and returns the plan. */
static json_t *put_plan(const char *id, const char *body, const char *token)
{
    struct h_resp r = call("PUT", ADMIN_PLAN, id, token ? token : ht_admin(), body);
    if (r.status != 200)
        fail_msg("PUT plan %s: %ld %s", body, r.status, r.body);
    json_t *p = json_incref(r.json);
    h_resp_free(&r);
    return p;
}

/* Asserts the plan document's values; quota and override < 0 mean null. */
static void assert_plan(const json_t *p, const char *id, const char *plan, long override,
                        long quota)
{
    assert_string_equal(json_string_value(json_object_get(p, "tenant_id")), id);
    assert_string_equal(json_string_value(json_object_get(p, "plan")), plan);
    const json_t *o = json_object_get(p, "quota_override");
    const json_t *q = json_object_get(p, "monthly_quota");
    if (override < 0)
        assert_true(json_is_null(o));
    else
        assert_int_equal(json_integer_value(o), override);
    if (quota < 0)
        assert_true(json_is_null(q));
    else
        assert_int_equal(json_integer_value(q), quota);
    assert_true(json_is_string(json_object_get(p, "updated_at")));
    /* GETs add the month's usage: null here, notification-service is at a dead port */
    const json_t *usage = json_object_get(p, "usage");
    if (usage)
        assert_true(json_is_null(usage));
    assert_int_equal(json_object_size(p), usage ? 6 : 5);
}

/* The tenant's audit rows, newest first (a new reference). */
static json_t *audit_of(const char *id)
{
    char *path = xasprintf("/api/v1/admin/whatsapp/audit-log?tenant_id=%s&limit=500", id);
    struct h_resp r = ht_call(&t.ts, "GET", path, ht_admin(), NULL);
    assert_int_equal(r.status, 200);
    json_t *rows = json_incref(r.json);
    h_resp_free(&r);
    free(path);
    return rows;
}

/* The change feed's position (no changes asked for). */
static long long feed_position(void)
{
    struct h_resp r =
        ht_call(&t.ts, "GET", "/api/v1/internal/settings-changes", ht_service(), NULL);
    assert_int_equal(r.status, 200);
    long long pos = json_integer_value(json_object_get(r.json, "position"));
    h_resp_free(&r);
    return pos;
}

/* The settings as the admin reads them (a new reference). */
static json_t *settings_of(const char *id)
{
    struct h_resp r =
        call("GET", "/api/v1/tenants/%s/settings/notifications", id, ht_admin(), NULL);
    assert_int_equal(r.status, 200);
    json_t *s = json_incref(r.json);
    h_resp_free(&r);
    return s;
}

/* ---------- new tenants ---------- */

static void new_tenants_get_plan_default(void **state)
{
    (void)state;
    /* this instance runs with the default PLAN_DEFAULT, standard */
    json_t *p = plan_of(t.a);
    assert_plan(p, t.a, "standard", -1, 500);
    json_decref(p);
    json_t *s = settings_of(t.a);
    assert_string_equal(json_string_value(json_object_get(s, "plan")), "standard");
    assert_int_equal(json_integer_value(json_object_get(s, "whatsapp_monthly_quota")), 500);
    json_decref(s);

    /* two more instances on the same database, each with its own PLAN_DEFAULT */
    static const struct {
        const char *env;
        const char *plan;
        long quota;
    } cases[] = {{"PLAN_DEFAULT=basic", "basic", 0}, {"PLAN_DEFAULT=enterprise", "enterprise", -1}};
    for (size_t i = 0; i < 2; i++) {
        struct h_proc other;
        const char *env[] = {cases[i].env, NULL};
        assert_true(ht_start_tenant(&other, t.db_url, ht_dead_url(), NULL, env));
        char id[HT_ID_LEN];
        ht_create_tenant(&other, cases[i].plan, id);
        p = plan_of(id);
        assert_plan(p, id, cases[i].plan, -1, cases[i].quota);
        json_decref(p);
        s = settings_of(id);
        assert_string_equal(json_string_value(json_object_get(s, "plan")), cases[i].plan);
        json_t *q = json_object_get(s, "whatsapp_monthly_quota");
        if (cases[i].quota < 0)
            assert_true(json_is_null(q));
        else
            assert_int_equal(json_integer_value(q), cases[i].quota);
        json_decref(s);
        assert_int_equal(h_stop(&other), 0);
    }
}

/* Runs tenant-service with extra (a "K=V") and returns its exit status; its output in out. */
static int run_tenant_service(const char *extra, char *out, size_t outlen)
{
    const char *bin = getenv("BIN_DIR") ? getenv("BIN_DIR") : "build/asan";
    char *cmd = xasprintf("timeout 30 env TENANT_DATABASE_URL='%s' JWT_SECRET=%s '%s' "
                          "%s/tenant-service 2>&1",
                          t.db_url, H_JWT_SECRET, extra, bin);
    FILE *f = popen(cmd, "r");
    size_t n = f ? fread(out, 1, outlen - 1, f) : 0;
    out[n] = '\0';
    int status = f ? pclose(f) : -1;
    free(cmd);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void bad_plan_default_stops_the_start(void **state)
{
    (void)state;
    char out[4096];
    static const char *const bad[] = {"PLAN_DEFAULT=gold", "PLAN_DEFAULT=Standard",
                                      "PLAN_DEFAULT="};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = run_tenant_service(bad[i], out, sizeof out);
        if (rc != 2 || !strstr(out, "PLAN_DEFAULT") || !strstr(out, "enterprise"))
            fail_msg("%s: exit %d, said: %s", bad[i], rc, out);
    }
}

/* ---------- the admin's reads and changes ---------- */

static void admin_reads_and_changes_the_plan(void **state)
{
    (void)state;
    char id[HT_ID_LEN];
    ht_create_tenant(&t.ts, "Horno del Plan", id);
    json_t *before = plan_of(id);
    assert_plan(before, id, "standard", -1, 500);

    json_t *p = put_plan(id, "{\"plan\": \"enterprise\"}", NULL);
    assert_plan(p, id, "enterprise", -1, -1);
    json_decref(p);
    p = put_plan(id, "{\"quota_override\": 1000}", NULL);
    assert_plan(p, id, "enterprise", 1000, 1000);
    json_decref(p);
    p = put_plan(id, "{\"plan\": \"basic\"}", NULL);
    assert_plan(p, id, "basic", 1000, 1000); /* the override outlives the plan */
    json_decref(p);
    p = put_plan(id, "{\"plan\": \"standard\", \"quota_override\": null}", NULL);
    assert_plan(p, id, "standard", -1, 500);
    json_decref(p);
    p = put_plan(id, "{\"quota_override\": 0}", NULL);
    assert_plan(p, id, "standard", 0, 0);
    json_decref(p);
    /* {} changes nothing and answers the plan */
    json_t *now = plan_of(id);
    p = put_plan(id, "{}", NULL);
    json_object_del(now, "usage"); /* GETs only */
    assert_true(json_equal(p, now));
    json_decref(p);
    json_decref(now);

    /* what PUT answered is what GET reads; updated_at moved on */
    p = plan_of(id);
    assert_plan(p, id, "standard", 0, 0);
    assert_true(strcmp(json_string_value(json_object_get(p, "updated_at")),
                       json_string_value(json_object_get(before, "updated_at"))) > 0);
    json_decref(p);
    json_decref(before);

    /* a tenant nobody has, and an id that is no id */
    struct h_resp r =
        call("GET", ADMIN_PLAN, "6f1c3a52-9b1e-4c1d-8f00-1234567890ab", ht_admin(), NULL);
    h_assert_error(&r, 404, "tenant_not_found");
    h_resp_free(&r);
    r = call("PUT", ADMIN_PLAN, "6f1c3a52-9b1e-4c1d-8f00-1234567890ab", ht_admin(),
             "{\"plan\": \"basic\"}");
    h_assert_error(&r, 404, "tenant_not_found");
    h_resp_free(&r);
    r = call("PUT", ADMIN_PLAN, "not-a-tenant", ht_admin(), "{\"plan\": \"basic\"}");
    h_assert_error(&r, 404, "tenant_not_found");
    h_resp_free(&r);
}

/* ---------- who may read and change ---------- */

static void owner_reads_its_own_plan_and_nobody_else_does(void **state)
{
    (void)state;
    json_t *admins = plan_of(t.a);
    const struct {
        const char *who;
        const char *token;
        long status;
    } readers[] = {
        {"platform admin", ht_admin(), 200},
        {"service", ht_service(), 200},
        {"owner", t.owner, 200},
        {"tenant admin", t.tadmin, 200},
        {"member", t.member, 200},
        {"viewer", t.viewer, 200},
        {"other tenant's owner", t.other_owner, 403},
    };
    for (size_t i = 0; i < sizeof readers / sizeof readers[0]; i++) {
        struct h_resp r = call("GET", TENANT_PLAN, t.a, readers[i].token, NULL);
        if (r.status != readers[i].status)
            fail_msg("GET plan as %s: %ld %s", readers[i].who, r.status, r.body);
        if (r.status == 200)
            assert_true(json_equal(r.json, admins)); /* the same answer as the admin's */
        else
            h_assert_error(&r, 403, "forbidden");
        h_resp_free(&r);
    }
    /* another tenant's user, for a tenant that does not exist either: 403, ids not probed */
    struct h_resp r =
        call("GET", TENANT_PLAN, "6f1c3a52-9b1e-4c1d-8f00-1234567890ab", t.other_owner, NULL);
    h_assert_error(&r, 403, "forbidden");
    h_resp_free(&r);
    r = call("GET", TENANT_PLAN, t.a, NULL, NULL);
    h_assert_error(&r, 401, "unauthorized");
    h_resp_free(&r);

    /* the admin routes are the platform admin's alone, the owner's own tenant included */
    const char *const not_admins[] = {t.owner, t.tadmin, t.member, t.other_owner, ht_service()};
    for (size_t i = 0; i < sizeof not_admins / sizeof not_admins[0]; i++) {
        r = call("GET", ADMIN_PLAN, t.a, not_admins[i], NULL);
        h_assert_error(&r, 403, "forbidden");
        h_resp_free(&r);
        r = call("PUT", ADMIN_PLAN, t.a, not_admins[i], "{\"plan\": \"enterprise\"}");
        h_assert_error(&r, 403, "forbidden");
        h_resp_free(&r);
    }
    r = call("PUT", ADMIN_PLAN, t.a, NULL, "{\"plan\": \"enterprise\"}");
    h_assert_error(&r, 401, "unauthorized");
    h_resp_free(&r);
    /* and there is no PUT beside the owner's GET */
    r = call("PUT", TENANT_PLAN, t.a, t.owner, "{\"plan\": \"enterprise\"}");
    assert_int_equal(r.status, 405);
    h_resp_free(&r);

    json_t *after = plan_of(t.a);
    assert_true(json_equal(after, admins));
    json_decref(after);
    json_decref(admins);
}

/* ---------- refusals ---------- */

static void bad_changes_are_refused_whole(void **state)
{
    (void)state;
    char id[HT_ID_LEN];
    ht_create_tenant(&t.ts, "Horno Intacto", id);
    json_t *before = plan_of(id);
    json_t *settings_before = settings_of(id);
    long long position = feed_position();

    static const struct {
        const char *body;
        const char *field;
    } cases[] = {
        {"{\"plan\": \"gold\"}", "plan"},
        {"{\"plan\": null}", "plan"},
        {"{\"plan\": 3}", "plan"},
        {"{\"quota_override\": -1}", "quota_override"},
        {"{\"quota_override\": \"10\"}", "quota_override"},
        {"{\"quota_override\": 10.5}", "quota_override"},
        {"{\"quota_override\": 2147483648}", "quota_override"},
        {"{\"plan\": \"enterprise\", \"colour\": \"gold\"}", "colour"},
        /* one bad key refuses the good one beside it */
        {"{\"plan\": \"enterprise\", \"quota_override\": -1}", "quota_override"},
        {"{\"quota_override\": 100, \"plan\": \"gold\"}", "plan"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct h_resp r = call("PUT", ADMIN_PLAN, id, ht_admin(), cases[i].body);
        if (r.status != 422)
            fprintf(stderr, "body %s\n", cases[i].body);
        h_assert_error(&r, 422, "validation_error");
        assert_string_equal(ht_str(&r, "field"), cases[i].field);
        assert_non_null(strstr(ht_str(&r, "message"), cases[i].field));
        h_resp_free(&r);
    }
    struct h_resp r = call("PUT", ADMIN_PLAN, id, ht_admin(), "{\"plan\": ");
    h_assert_error(&r, 400, "malformed_json");
    h_resp_free(&r);
    r = call("PUT", ADMIN_PLAN, id, ht_admin(), "[\"enterprise\"]");
    assert_int_equal(r.status, 422);
    assert_true(h_is_error_shape(&r));
    h_resp_free(&r);

    json_t *after = plan_of(id);
    assert_true(json_equal(after, before)); /* updated_at included */
    json_decref(after);
    json_t *settings_after = settings_of(id);
    assert_true(json_equal(settings_after, settings_before));
    json_decref(settings_after);
    json_t *rows = audit_of(id);
    assert_int_equal(json_array_size(rows), 0);
    json_decref(rows);
    assert_int_equal(feed_position(), position); /* no settings change was numbered */
    json_decref(before);
    json_decref(settings_before);
}

/* ---------- the audit log ---------- */

/* Asserts an audit row. */
static void assert_row(const json_t *row, const char *id, const char *action, const char *actor,
                       const char *reason)
{
    assert_string_equal(json_string_value(json_object_get(row, "tenant_id")), id);
    assert_string_equal(json_string_value(json_object_get(row, "tenant_name")), "Horno Auditado");
    assert_string_equal(json_string_value(json_object_get(row, "action")), action);
    assert_string_equal(json_string_value(json_object_get(row, "actor")), actor);
    assert_string_equal(json_string_value(json_object_get(row, "reason")), reason);
    assert_string_equal(json_string_value(json_object_get(row, "phone_number_id")), "");
    assert_string_equal(json_string_value(json_object_get(row, "display_phone_number")), "");
}

static void every_change_is_audited_with_actor_and_values(void **state)
{
    (void)state;
    char id[HT_ID_LEN];
    ht_create_tenant(&t.ts, "Horno Auditado", id);
    char *maria = h_token("admin", NULL, NULL, "ops-maria", 3600);
    char *jon = h_token("admin", NULL, NULL, "ops-jon", 3600);

    json_decref(put_plan(id, "{\"plan\": \"enterprise\"}", maria));
    json_decref(put_plan(id, "{\"quota_override\": 1000}", jon));
    json_decref(put_plan(id, "{\"plan\": \"basic\", \"quota_override\": null}", maria));
    /* the same values again, and {}: nothing changes, nothing is written */
    json_decref(put_plan(id, "{\"plan\": \"basic\", \"quota_override\": null}", jon));
    json_decref(put_plan(id, "{}", jon));

    json_t *rows = audit_of(id);
    assert_int_equal(json_array_size(rows), 4);
    /* newest first; of one PUT, the plan's row is written before the override's */
    assert_row(json_array_get(rows, 0), id, "quota_override", "ops-maria", "1000 -> none");
    assert_row(json_array_get(rows, 1), id, "plan_change", "ops-maria", "enterprise -> basic");
    assert_row(json_array_get(rows, 2), id, "quota_override", "ops-jon", "none -> 1000");
    assert_row(json_array_get(rows, 3), id, "plan_change", "ops-maria", "standard -> enterprise");
    json_decref(rows);

    /* the unfiltered log shows them too, beside the phone assignments */
    struct h_resp r =
        ht_call(&t.ts, "GET", "/api/v1/admin/whatsapp/audit-log?limit=1", ht_admin(), NULL);
    assert_int_equal(r.status, 200);
    assert_row(json_array_get(r.json, 0), id, "quota_override", "ops-maria", "1000 -> none");
    h_resp_free(&r);
    free(maria);
    free(jon);
}

/* ---------- the settings carry the plan, and never take it ---------- */

static void settings_carry_the_plan_but_never_take_it(void **state)
{
    (void)state;
    char id[HT_ID_LEN];
    ht_create_tenant(&t.ts, "Horno Ajustes", id);
    char *owner = ht_user(id, "owner");
    json_decref(put_plan(id, "{\"plan\": \"basic\", \"quota_override\": 50}", NULL));
    json_t *before = settings_of(id);
    assert_string_equal(json_string_value(json_object_get(before, "plan")), "basic");
    assert_int_equal(json_integer_value(json_object_get(before, "whatsapp_monthly_quota")), 50);

    static const struct {
        const char *body;
        const char *field;
    } cases[] = {
        {"{\"plan\": \"enterprise\"}", "plan"},
        {"{\"whatsapp_monthly_quota\": null}", "whatsapp_monthly_quota"},
        {"{\"whatsapp_enabled\": true, \"whatsapp_monthly_quota\": 100000}",
         "whatsapp_monthly_quota"},
    };
    const char *const tokens[] = {owner, ht_admin()}; /* the platform admin too */
    for (size_t k = 0; k < 2; k++) {
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            struct h_resp r = call("PUT", "/api/v1/tenants/%s/settings/notifications", id,
                                   tokens[k], cases[i].body);
            h_assert_error(&r, 403, "plan_set_by_admin");
            assert_string_equal(ht_str(&r, "field"), cases[i].field);
            h_resp_free(&r);
        }
    }
    json_t *after = settings_of(id);
    assert_true(json_equal(after, before));
    json_decref(after);

    /* a PUT of other keys answers the whole object, the plan's keys included */
    struct h_resp r = call("PUT", "/api/v1/tenants/%s/settings/notifications", id, owner,
                           "{\"whatsapp_default_language\": \"eu\"}");
    assert_int_equal(r.status, 200);
    assert_string_equal(ht_str(&r, "plan"), "basic");
    assert_int_equal(json_integer_value(json_object_get(r.json, "whatsapp_monthly_quota")), 50);
    h_resp_free(&r);
    json_t *p = plan_of(id);
    assert_plan(p, id, "basic", 50, 50);
    json_decref(p);
    json_decref(before);
    free(owner);
}

/* ---------- the change feed ---------- */

/* The feed's rows for tenant id after position `after` (a new reference to the last one,
 * or NULL), and the answer's position in *position. */
static json_t *feed_row(long long after, const char *id, long long *position)
{
    char *path = xasprintf("/api/v1/internal/settings-changes?after=%lld", after);
    struct h_resp r = ht_call(&t.ts, "GET", path, ht_service(), NULL);
    free(path);
    assert_int_equal(r.status, 200);
    *position = json_integer_value(json_object_get(r.json, "position"));
    json_t *found = NULL;
    size_t i;
    json_t *row;
    json_array_foreach (json_object_get(r.json, "changes"), i, row) {
        if (strcmp(json_string_value(json_object_get(row, "tenant_id")), id) == 0) {
            json_decref(found);
            found = json_incref(row);
        }
    }
    h_resp_free(&r);
    return found;
}

struct delayed_put {
    const char *id;
    const char *body;
};

static void *put_later(void *arg)
{
    const struct delayed_put *d = arg;
    nanosleep(&(struct timespec){0, 300 * 1000000L}, NULL);
    json_decref(put_plan(d->id, d->body, NULL));
    return NULL;
}

static void a_plan_change_is_a_numbered_settings_change(void **state)
{
    (void)state;
    char id[HT_ID_LEN];
    ht_create_tenant(&t.ts, "Horno del Feed", id);
    long long p0 = feed_position(), p1, p2, p3;

    json_decref(put_plan(id, "{\"plan\": \"enterprise\"}", NULL));
    json_t *row = feed_row(p0, id, &p1);
    assert_non_null(row);
    assert_true(p1 > p0);
    json_t *s = json_object_get(row, "settings");
    assert_string_equal(json_string_value(json_object_get(s, "plan")), "enterprise");
    assert_true(json_is_null(json_object_get(s, "whatsapp_monthly_quota")));
    assert_true(json_is_boolean(json_object_get(s, "whatsapp_enabled"))); /* the row whole */
    json_decref(row);

    json_decref(put_plan(id, "{\"quota_override\": 25}", NULL));
    row = feed_row(p1, id, &p2);
    assert_non_null(row);
    assert_true(p2 > p1);
    s = json_object_get(row, "settings");
    assert_int_equal(json_integer_value(json_object_get(s, "whatsapp_monthly_quota")), 25);
    json_decref(row);

    /* the same again: nothing to number */
    json_decref(put_plan(id, "{\"plan\": \"enterprise\", \"quota_override\": 25}", NULL));
    assert_int_equal(feed_position(), p2);

    /* asked for by id, the current row carries it too */
    char *path = xasprintf("/api/v1/internal/settings-changes?tenant_id=%s", id);
    struct h_resp r = ht_call(&t.ts, "GET", path, ht_service(), NULL);
    free(path);
    assert_int_equal(r.status, 200);
    s = json_object_get(json_array_get(json_object_get(r.json, "tenants"), 0), "settings");
    assert_string_equal(json_string_value(json_object_get(s, "plan")), "enterprise");
    assert_int_equal(json_integer_value(json_object_get(s, "whatsapp_monthly_quota")), 25);
    h_resp_free(&r);

    /* a follower parked on the feed is woken by a plan change, as by any settings change */
    pthread_t th;
    struct delayed_put d = {id, "{\"plan\": \"basic\", \"quota_override\": null}"};
    assert_int_equal(pthread_create(&th, NULL, put_later, &d), 0);
    long long start = monotonic_ms();
    path = xasprintf("/api/v1/internal/settings-changes?after=%lld&wait_ms=20000", p2);
    r = ht_call(&t.ts, "GET", path, ht_service(), NULL);
    long long took = monotonic_ms() - start;
    free(path);
    pthread_join(th, NULL);
    assert_int_equal(r.status, 200);
    p3 = json_integer_value(json_object_get(r.json, "position"));
    assert_true(p3 > p2);
    s = json_object_get(json_array_get(json_object_get(r.json, "changes"), 0), "settings");
    assert_string_equal(json_string_value(json_object_get(s, "plan")), "basic");
    assert_int_equal(json_integer_value(json_object_get(s, "whatsapp_monthly_quota")), 0);
    h_resp_free(&r);
    if (took > 5000)
        fail_msg("the parked feed request answered after %lld ms", took);
}

/* A follower parked on the feed when the service stops gets its answer (the position,
 * nothing new) before the connection closes, not an empty reply it must retry blind. */
struct parked_follower {
    const struct h_proc *ts;
    long long after;
    long status;
    long long position;
    size_t nchanges;
};

static void *follow_once(void *arg)
{
    struct parked_follower *f = arg;
    char *path = xasprintf("/api/v1/internal/settings-changes?after=%lld&wait_ms=20000", f->after);
    struct h_resp r = ht_call(f->ts, "GET", path, ht_service(), NULL);
    free(path);
    f->status = r.status;
    f->position = json_integer_value(json_object_get(r.json, "position"));
    f->nchanges = json_array_size(json_object_get(r.json, "changes"));
    h_resp_free(&r);
    return NULL;
}

#define FOLLOWERS 4

static bool followers_parked(void *arg)
{
    const struct h_proc *ts = arg;
    return h_metric(ts->url, "http_parked_requests") == FOLLOWERS;
}

static void parked_followers_are_answered_when_the_service_stops(void **state)
{
    (void)state;
    struct h_proc second;
    assert_true(ht_start_tenant(&second, t.db_url, ht_dead_url(), NULL, NULL));
    long long position = feed_position();
    struct parked_follower f[FOLLOWERS];
    pthread_t th[FOLLOWERS];
    for (int i = 0; i < FOLLOWERS; i++) {
        f[i] = (struct parked_follower){.ts = &second, .after = position};
        assert_int_equal(pthread_create(&th[i], NULL, follow_once, &f[i]), 0);
    }
    bool parked = h_wait_until(followers_parked, &second, 10000);
    long long start = monotonic_ms();
    int rc = h_stop(&second);
    long long took = monotonic_ms() - start;
    for (int i = 0; i < FOLLOWERS; i++)
        pthread_join(th[i], NULL);
    assert_true(parked);
    assert_int_equal(rc, 0);
    for (int i = 0; i < FOLLOWERS; i++) {
        assert_int_equal(f[i].status, 200);
        assert_int_equal(f[i].position, position);
        assert_int_equal(f[i].nchanges, 0);
    }
    if (took > 5000)
        fail_msg("the service took %lld ms to stop with parked followers", took);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(new_tenants_get_plan_default),
        cmocka_unit_test(bad_plan_default_stops_the_start),
        cmocka_unit_test(admin_reads_and_changes_the_plan),
        cmocka_unit_test(owner_reads_its_own_plan_and_nobody_else_does),
        cmocka_unit_test(bad_changes_are_refused_whole),
        cmocka_unit_test(every_change_is_audited_with_actor_and_values),
        cmocka_unit_test(settings_carry_the_plan_but_never_take_it),
        cmocka_unit_test(a_plan_change_is_a_numbered_settings_change),
        cmocka_unit_test(parked_followers_are_answered_when_the_service_stops),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
