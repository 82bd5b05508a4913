/* test_foundation.c - both daemons start on free ports against fresh databases, apply
 * their migrations exactly once, answer /health, /ready and /metrics, speak the error
 * shape of DESIGN.md section 5 for unknown routes and methods, refuse bad configuration
 * by name, and exit 0 on SIGTERM. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "alloc.h"
#include "harness.h"

struct service {
    const char *binary;
    const char *port_var;
    const char *db_var;
    const char *db_name;
    char db_url[256];
};

static struct service services[] = {
    {"tenant-service", "TENANT_PORT", "TENANT_DATABASE_URL", "it_foundation_tenant", ""},
    {"notification-service", "NOTIFICATION_PORT", "NOTIFICATION_DATABASE_URL",
     "it_foundation_notification", ""},
};
#define NSERVICES (sizeof services / sizeof services[0])

static int setup(void **state)
{
    (void)state;
    for (size_t i = 0; i < NSERVICES; i++) {
        if (!h_fresh_database(services[i].db_name, services[i].db_url, sizeof services[i].db_url))
            return -1;
    }
    return 0;
}

static bool start(struct h_proc *p, const struct service *s)
{
    char db[320];
    snprintf(db, sizeof db, "%s=%s", s->db_var, s->db_url);
    const char *env[] = {db, "JWT_SECRET=" H_JWT_SECRET, NULL};
    return h_start(p, s->binary, s->port_var, env, "/ready");
}

static struct h_resp get(const struct h_proc *p, const char *path)
{
    char *url = h_url(p->url, "%s", path);
    struct h_resp r = h_get(url, NULL);
    free(url);
    return r;
}

static void migrations_apply_once_and_shutdown_is_clean(void **state)
{
    (void)state;
    for (size_t i = 0; i < NSERVICES; i++) {
        const struct service *s = &services[i];
        struct h_proc p;
        assert_true(start(&p, s));
        char *count = h_sql(s->db_url, "SELECT count(*) FROM schema_migrations");
        assert_non_null(count);
        assert_true(strtol(count, NULL, 10) >= 1);
        assert_true(h_log_count(&p, "migration applied") >= 1);
        char *before =
            h_sql(s->db_url, "SELECT string_agg(name, ',' ORDER BY name) FROM schema_migrations");
        assert_int_equal(h_stop(&p), 0);

        /* A second start applies nothing new. */
        assert_true(start(&p, s));
        assert_int_equal(h_log_count(&p, "migration applied"), 0);
        char *after =
            h_sql(s->db_url, "SELECT string_agg(name, ',' ORDER BY name) FROM schema_migrations");
        assert_string_equal(before, after);
        assert_int_equal(h_stop(&p), 0);
        assert_true(h_log_count(&p, "msg=\"stopped\"") == 1);
        free(count);
        free(before);
        free(after);
    }
}

struct counted {
    const struct h_proc *p;
    double health_ok, not_found;
};

/* True once /metrics counts the GET /health and the 404 made before it. */
static bool counted(void *arg)
{
    struct counted *c = arg;
    c->health_ok = h_metric(c->p->url, "http_requests_total{route=\"/health\",method=\"GET\","
                                       "code=\"200\"}");
    c->not_found = h_metric(c->p->url, "http_requests_total{route=\"unmatched\",method=\"any\","
                                       "code=\"404\"}");
    return c->health_ok >= 1 && c->not_found >= 1;
}

static void health_ready_metrics_and_error_shape(void **state)
{
    (void)state;
    for (size_t i = 0; i < NSERVICES; i++) {
        struct h_proc p;
        assert_true(start(&p, &services[i]));

        struct h_resp r = get(&p, "/health");
        assert_int_equal(r.status, 200);
        assert_string_equal(json_string_value(json_object_get(r.json, "status")), "ok");
        h_resp_free(&r);

        r = get(&p, "/ready");
        assert_int_equal(r.status, 200);
        assert_string_equal(json_string_value(json_object_get(r.json, "status")), "ready");
        h_resp_free(&r);

        r = get(&p, "/no/such/thing");
        h_assert_error(&r, 404, "not_found");
        h_resp_free(&r);

        char *url = h_url(p.url, "/health");
        r = h_json("POST", url, NULL, "{}");
        h_assert_error(&r, 405, "method_not_allowed");
        h_resp_free(&r);
        free(url);

        /* A request is counted when its connection completes, which may be after its
         * client has read the answer: look until the earlier requests are in. */
        struct counted c = {&p, 0};
        assert_true(h_wait_until(counted, &c, 5000));
        assert_int_equal(c.health_ok, 1);
        assert_int_equal(c.not_found, 1);
        r = get(&p, "/metrics");
        assert_int_equal(r.status, 200);
        assert_non_null(strstr(r.content_type, "text/plain"));
        assert_non_null(strstr(r.body, "# TYPE http_requests_total counter"));
        h_resp_free(&r);

        assert_int_equal(h_stop(&p), 0);
    }
}

static void ready_names_the_database_when_it_is_gone(void **state)
{
    (void)state;
    /* A service pointed at a database that disappears answers /ready 503 naming it,
     * while /health still says the process is alive. */
    struct service s = services[0];
    s.db_name = "it_foundation_vanishing";
    assert_true(h_fresh_database(s.db_name, s.db_url, sizeof s.db_url));
    struct h_proc p;
    assert_true(start(&p, &s));
    char url[320];
    snprintf(url, sizeof url, "%s", s.db_url);
    /* pg_terminate_backend() only signals: a session may still be there, or the service
     * (its threads each hold a connection, and its listener reconnects) may be back in
     * before the rename. Both are retried until the rename goes through. */
    bool renamed = false;
    for (int i = 0; i < 100 && !renamed; i++) {
        char *gone =
            h_sql(services[0].db_url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                                      " WHERE datname = 'it_foundation_vanishing'");
        free(gone);
        char *rename = h_sql(services[0].db_url, "ALTER DATABASE it_foundation_vanishing RENAME "
                                                 "TO it_foundation_gone");
        free(rename);
        char *left = h_sql(services[0].db_url, "SELECT count(*) FROM pg_database"
                                               " WHERE datname = 'it_foundation_vanishing'");
        renamed = left && strcmp(left, "0") == 0;
        free(left);
        if (!renamed)
            usleep(50 * 1000);
    }
    assert_true(renamed);

    struct h_resp r = get(&p, "/ready");
    assert_int_equal(r.status, 503);
    assert_string_equal(json_string_value(json_object_get(r.json, "failing")), "database");
    h_resp_free(&r);
    r = get(&p, "/health");
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    assert_int_equal(h_stop(&p), 0);
    char *drop = h_sql(services[0].db_url, "DROP DATABASE IF EXISTS it_foundation_gone");
    free(drop);
}

/* Runs binary with env and returns its exit status and combined output. */
static int run_binary(const char *binary, const char *arg, const char *const *env, char *out,
                      size_t outlen)
{
    const char *dir = getenv("BIN_DIR") ? getenv("BIN_DIR") : "build/asan";
    struct buf cmd = {0};
    buf_append_str(&cmd, "env -i PATH=/usr/bin:/bin ASAN_OPTIONS=detect_leaks=1");
    for (size_t i = 0; env[i]; i++)
        buf_printf(&cmd, " '%s'", env[i]);
    buf_printf(&cmd, " %s/%s %s 2>&1", dir, binary, arg ? arg : "");
    FILE *f = popen(cmd.data, "r");
    size_t n = f ? fread(out, 1, outlen - 1, f) : 0;
    out[n] = '\0';
    int status = f ? pclose(f) : -1;
    buf_free(&cmd);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void configuration_errors_name_the_variable(void **state)
{
    (void)state;
    char out[8192];
    const char *no_secret[] = {"TENANT_DATABASE_URL=postgresql://x/y", NULL};
    assert_int_equal(run_binary("tenant-service", NULL, no_secret, out, sizeof out), 2);
    assert_non_null(strstr(out, "JWT_SECRET"));

    const char *bad_port[] = {"TENANT_DATABASE_URL=postgresql://x/y", "JWT_SECRET=s",
                              "TENANT_PORT=99999", NULL};
    assert_int_equal(run_binary("tenant-service", NULL, bad_port, out, sizeof out), 2);
    assert_non_null(strstr(out, "TENANT_PORT"));

    const char *bad_bool[] = {"NOTIFICATION_DATABASE_URL=postgresql://x/y", "JWT_SECRET=s",
                              "ENABLE_WHATSAPP_NOTIFICATIONS=perhaps", NULL};
    assert_int_equal(run_binary("notification-service", NULL, bad_bool, out, sizeof out), 2);
    assert_non_null(strstr(out, "ENABLE_WHATSAPP_NOTIFICATIONS"));

    const char *ok[] = {"NOTIFICATION_DATABASE_URL=postgresql://u:pw@x/y",
                        "JWT_SECRET=jwt-secret-value", "WHATSAPP_ACCESS_TOKEN=EAAsecret-token",
                        NULL};
    assert_int_equal(run_binary("notification-service", "--check-config", ok, out, sizeof out), 0);
    assert_non_null(strstr(out, "NOTIFICATION_PORT=8002"));
    assert_null(strstr(out, "EAAsecret-token"));
    assert_null(strstr(out, "jwt-secret-value"));
    assert_null(strstr(out, ":pw@"));

    assert_int_equal(run_binary("tenant-service", "--version", ok, out, sizeof out), 0);
    assert_non_null(strstr(out, "tenant-service "));
    assert_int_equal(run_binary("tenant-service", "--help", ok, out, sizeof out), 0);
    assert_non_null(strstr(out, "TENANT_DATABASE_URL"));
    assert_int_equal(run_binary("tenant-service", "--frobnicate", ok, out, sizeof out), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(migrations_apply_once_and_shutdown_is_clean),
        cmocka_unit_test(health_ready_metrics_and_error_shape),
        cmocka_unit_test(ready_names_the_database_when_it_is_gone),
        cmocka_unit_test(configuration_errors_name_the_variable),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
