/* harness_stack.c - graph-sim, notification-service and tenant-service wired together. */
#include "harness_stack.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "alloc.h"
#include "harness_tenant.h"
#include "uuidutil.h"

bool hs_start_notification(struct h_stack *s, struct h_proc *p, unsigned port)
{
    char *db = xasprintf("NOTIFICATION_DATABASE_URL=%s", s->notif_db);
    char *graph = xasprintf("GRAPH_API_BASE_URL=%s", s->sim.url);
    char *tenant = xasprintf("TENANT_SERVICE_URL=http://127.0.0.1:%u", s->ts_port);
    char *port_var = xasprintf("NOTIFICATION_PORT=%u", port);
    const char *env[32] = {db,
                           graph,
                           tenant,
                           port_var,
                           "JWT_SECRET=" H_JWT_SECRET,
                           "WHATSAPP_ACCESS_TOKEN=" HS_GRAPH_TOKEN,
                           "WHATSAPP_BUSINESS_ACCOUNT_ID=" HS_WABA_ID,
                           "WHATSAPP_PHONE_NUMBER_ID=" HS_PHONE(01),
                           "WHATSAPP_APP_SECRET=" HS_APP_SECRET,
                           "WHATSAPP_WEBHOOK_VERIFY_TOKEN=" HS_VERIFY_TOKEN,
                           "PHONE_NUMBERS_CACHE_SECONDS=0",
                           "GRAPH_TIMEOUT_MS=3000"};
    size_t n = 12;
    for (size_t i = 0; s->notif_extra && s->notif_extra[i] && n < 31; i++)
        env[n++] = s->notif_extra[i];
    env[n] = NULL;
    bool ok = h_start(p, "notification-service", "NOTIFICATION_PORT", env, "/health");
    free(db);
    free(graph);
    free(tenant);
    free(port_var);
    return ok;
}

bool hs_start(struct h_stack *s, const char *name, const char *const *notif_extra,
              const char *const *ts_extra)
{
    char tdb[64], ndb[64];
    memset(s, 0, sizeof(*s));
    snprintf(tdb, sizeof tdb, "it_%s_tenant", name);
    snprintf(ndb, sizeof ndb, "it_%s_notification", name);
    if (!h_fresh_database(tdb, s->tenant_db, sizeof s->tenant_db) ||
        !h_fresh_database(ndb, s->notif_db, sizeof s->notif_db))
        return false;
    const char *sim_env[] = {"GRAPH_SIM_ACCESS_TOKEN=" HS_GRAPH_TOKEN,
                             "GRAPH_SIM_WABA_ID=" HS_WABA_ID, "GRAPH_SIM_APP_SECRET=" HS_APP_SECRET,
                             "GRAPH_SIM_PHONE_COUNT=10", NULL};
    if (!h_start(&s->sim, "graph-sim", "GRAPH_SIM_PORT", sim_env, "/ready"))
        return false;

    /* Each service needs the other's URL before either starts. */
    s->ts_port = h_free_port();
    unsigned ns_port = h_free_port();
    while (ns_port == s->ts_port)
        ns_port = h_free_port();
    s->notif_extra = notif_extra;
    if (!hs_start_notification(s, &s->notif, ns_port)) {
        h_stop(&s->sim);
        return false;
    }
    char *ts_env_port = xasprintf("TENANT_PORT=%u", s->ts_port);
    const char *ts_env[12] = {ts_env_port};
    size_t n = 1;
    for (size_t i = 0; ts_extra && ts_extra[i] && n < 11; i++)
        ts_env[n++] = ts_extra[i];
    ts_env[n] = NULL;
    bool ok = ht_start_tenant(&s->ts, s->tenant_db, s->notif.url, "frontend-static", ts_env);
    free(ts_env_port);
    if (!ok) {
        h_stop(&s->notif);
        h_stop(&s->sim);
        return false;
    }
    return true;
}

int hs_stop(struct h_stack *s)
{
    int rc = 0;
    if (h_stop(&s->ts) != 0)
        rc = -1;
    if (h_stop(&s->notif) != 0)
        rc = -1;
    if (h_stop(&s->sim) != 0)
        rc = -1;
    return rc;
}

void hs_settings(const struct h_stack *s, const char *tenant, const char *json)
{
    char *path = xasprintf("/api/v1/tenants/%s/settings/notifications", tenant);
    struct h_resp r = ht_call(&s->ts, "PUT", path, ht_admin(), json);
    if (r.status != 200)
        fail_msg("settings %s: %ld %s", json, r.status, r.body);
    h_resp_free(&r);
    free(path);
}

void hs_assign(const struct h_stack *s, const char *tenant, const char *phone)
{
    char *path = xasprintf("/api/v1/admin/whatsapp/tenants/%s/assign-phone", tenant);
    char *body = xasprintf("{\"phone_number_id\": \"%s\"}", phone);
    struct h_resp r = ht_call(&s->ts, "POST", path, ht_admin(), body);
    if (r.status != 200)
        fail_msg("assign %s: %ld %s", phone, r.status, r.body);
    h_resp_free(&r);
    free(body);
    free(path);
}

void hs_sim(const struct h_stack *s, const char *path, const char *body)
{
    struct h_resp r = h_call("POST", s->sim.url, NULL, body, "%s", path);
    if (r.status != 200)
        fail_msg("graph-sim %s %s: %ld %s", path, body, r.status, r.body);
    h_resp_free(&r);
}

char *hs_post_order(const struct h_proc *p, const char *tenant, const char *to)
{
    char event[UUID_STR_LEN];
    uuid_new(event);
    char *body = xasprintf("{\"event_id\":\"%s\",\"tenant_id\":\"%s\",\"po_number\":\"PO-7\","
                           "\"supplier_name\":\"Harinas Norte\",\"supplier_phone\":\"%s\","
                           "\"total_amount\":\"1250.00\",\"currency\":\"EUR\"}",
                           event, tenant, to);
    struct h_resp r =
        h_call("POST", p->url, ht_service(), body, "/api/v1/notifications/purchase-orders");
    if (r.status != 202)
        fail_msg("order: %ld %s", r.status, r.body);
    char *id = xstrdup(ht_str(&r, "message_id"));
    h_resp_free(&r);
    free(body);
    return id;
}

char *hs_column(const struct h_stack *s, const char *id, const char *col)
{
    char *sql =
        xasprintf("SELECT coalesce(%s::text, '') FROM whatsapp_messages WHERE id = '%s'", col, id);
    char *v = h_sql(s->notif_db, sql);
    free(sql);
    assert_non_null(v);
    return v;
}

/* ---------- a mail server ---------- */

static bool accepts(void *arg)
{
    const struct h_proc *p = arg;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)p->port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

bool hs_start_smtp(struct h_proc *p, unsigned port, const char *dir, const char *const *args)
{
    memset(p, 0, sizeof(*p));
    p->port = port ? port : h_free_port();
    snprintf(p->name, sizeof p->name, "smtp-sink");
    snprintf(p->url, sizeof p->url, "smtp://127.0.0.1:%u", p->port);
    mkdir(".run", 0755);
    mkdir(".run/test-logs", 0755);
    snprintf(p->log_path, sizeof p->log_path, ".run/test-logs/smtp-sink-%u.log", p->port);
    char port_arg[16];
    snprintf(port_arg, sizeof port_arg, "%u", p->port);
    const char *argv[32] = {
        "/usr/bin/python3", "tests/lib/smtp_sink.py", "--port", port_arg, "--dir", dir};
    size_t argc = 6;
    for (size_t i = 0; args && args[i] && argc < 31; i++)
        argv[argc++] = args[i];
    argv[argc] = NULL;
    pid_t pid = fork();
    if (pid < 0)
        return false;
    if (pid == 0) {
        h_child_setup(p->log_path);
        execv(argv[0], (char *const *)argv);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    p->pid = pid;
    if (h_wait_until(accepts, p, 15000))
        return true;
    fprintf(stderr, "harness: the SMTP sink did not start; log: %s\n", p->log_path);
    h_kill(p, SIGKILL);
    return false;
}
