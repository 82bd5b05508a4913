/* harness_faults.c - the killable stack, the intake load generator and the accounting of
 * graph-sim's sends for the fault-injection suite. */
#include "harness_faults.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "alloc.h"
#include "uuidutil.h"

#define LOAD_RETRY_MS 200
#define LOAD_TIMEOUT_MS 10000L
#define CALLBACK_KEY "\"biz_opaque_callback_data\":\""

double hf_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---------- environments ---------- */

/* ---------- databases ---------- */

static bool pg_script(const char *cmd, const char *dir)
{
    char line[512];
    snprintf(line, sizeof line, "scripts/pg.sh %s %s >/dev/null", cmd, dir);
    return system(line) == 0;
}

/* Reads KEY=value from the private cluster's env file. */
static bool pg_env_value(const char *dir, const char *key, char *out, size_t outlen)
{
    char path[300], line[512];
    size_t klen = strlen(key);
    bool found = false;
    snprintf(path, sizeof path, "%s/env", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    while (!found && fgets(line, sizeof line, f)) {
        if (strncmp(line, key, klen) == 0 && line[klen] == '=') {
            line[strcspn(line, "\r\n")] = '\0';
            snprintf(out, outlen, "%s", line + klen + 1);
            found = true;
        }
    }
    fclose(f);
    return found;
}

bool hf_pg_stop(const struct hf_stack *s)
{
    return s->pg_dir[0] && pg_script("stop", s->pg_dir);
}

bool hf_pg_start(const struct hf_stack *s)
{
    return s->pg_dir[0] && pg_script("start", s->pg_dir);
}

/* ---------- daemons ---------- */

static bool start_sim(struct hf_stack *s)
{
    struct h_env e = {0};
    h_env_add(&e, "GRAPH_SIM_WEBHOOK_URL=http://127.0.0.1:%u/api/v1/whatsapp/webhook",
              s->notif_port);
    h_env_add(&e, "GRAPH_SIM_MPS=%d", s->mps);
    h_env_add(&e, "GRAPH_SIM_PAIR_WINDOW_MS=0");
    h_env_add(&e, "GRAPH_SIM_STATUS_DELAY_MS=20");
    h_env_add(&e, "GRAPH_SIM_WEBHOOK_BATCH_MAX=500");
    h_env_add(&e, "GRAPH_SIM_HTTP_THREADS=16");
    h_env_add(&e, "GRAPH_SIM_MESSAGES_MAX=1000000");
    h_env_add(&e, "GRAPH_SIM_PHONE_COUNT=10");
    h_env_add(&e, "LOG_LEVEL=warn");
    h_env_add_all(&e, s->sim_env);
    bool ok =
        h_start(&s->sim, "graph-sim", "GRAPH_SIM_PORT", (const char *const *)e.vars, "/ready");
    h_env_free(&e);
    return ok;
}

bool hf_start_tenant(struct hf_stack *s)
{
    struct h_env e = {0};
    h_env_add(&e, "TENANT_PORT=%u", s->tenant_port);
    h_env_add(&e, "TENANT_DATABASE_URL=%s", s->tenant_db);
    h_env_add(&e, "JWT_SECRET=" H_JWT_SECRET);
    h_env_add(&e, "NOTIFICATION_SERVICE_URL=http://127.0.0.1:%u", s->notif_port);
    h_env_add(&e, "LOG_LEVEL=warn");
    /* unlimited by default: a scenario that tests quotas sets its tenants' own */
    h_env_add(&e, "PLAN_DEFAULT=enterprise");
    bool ok = h_start(&s->tenant, "tenant-service", "TENANT_PORT", (const char *const *)e.vars,
                      "/health");
    h_env_free(&e);
    return ok;
}

bool hf_start_instance(struct hf_stack *s, struct h_proc *p, unsigned port,
                       const char *const *extra)
{
    struct h_env e = {0};
    if (port)
        h_env_add(&e, "NOTIFICATION_PORT=%u", port);
    h_env_notification(&e, s->notif_db, s->tenant_port, s->sim.url);
    h_env_add(&e, "WHATSAPP_MPS_PER_PHONE=%d", s->mps);
    h_env_add(&e, "WHATSAPP_PAIR_INTERVAL_MS=0");
    h_env_add(&e, "WHATSAPP_RETRY_BASE_MS=50");
    h_env_add(&e, "WHATSAPP_RETRY_MAX_MS=500");
    h_env_add(&e, "WHATSAPP_PAUSE_PROBE_MS=500");
    h_env_add(&e, "WHATSAPP_PAUSE_PROBE_MAX_MS=2000");
    h_env_add(&e, "OUTBOX_LEASE_SECONDS=5");
    h_env_add(&e, "UPSTREAM_TIMEOUT_MS=1000");
    h_env_add(&e, "GRAPH_TIMEOUT_MS=3000");
    h_env_add(&e, "HTTP_THREADS=16");
    h_env_add(&e, "LOG_LEVEL=warn");
    h_env_add_all(&e, s->notif_env);
    h_env_add_all(&e, extra);
    bool ok = h_start(p, "notification-service", "NOTIFICATION_PORT", (const char *const *)e.vars,
                      "/health");
    h_env_free(&e);
    return ok;
}

bool hf_start_notification(struct hf_stack *s, const char *const *extra)
{
    return hf_start_instance(s, &s->notif, s->notif_port, extra);
}

struct h_proc *hf_start_side(struct hf_stack *s, const char *const *extra)
{
    for (size_t i = 0; i < HF_MAX_SIDES; i++) {
        if (s->side[i].pid == 0)
            return hf_start_instance(s, &s->side[i], 0, extra) ? &s->side[i] : NULL;
    }
    return NULL;
}

bool hf_alive(const struct h_proc *p)
{
    int status;
    return p->pid > 0 && waitpid(p->pid, &status, WNOHANG) == 0 && kill(p->pid, 0) == 0;
}

int hf_stack_start(struct hf_stack *s)
{
    char db[96];
    if (s->mps <= 0)
        s->mps = 200;
    if (s->pg_dir[0]) {
        if (!pg_script("wipe", s->pg_dir) || !pg_script("start", s->pg_dir) ||
            !pg_env_value(s->pg_dir, "TENANT_DATABASE_URL", s->tenant_db, sizeof s->tenant_db) ||
            !pg_env_value(s->pg_dir, "NOTIFICATION_DATABASE_URL", s->notif_db, sizeof s->notif_db))
            return -1;
    } else {
        snprintf(db, sizeof db, "%s_%ld_tenant", s->name, (long)getpid());
        if (!h_fresh_database(db, s->tenant_db, sizeof s->tenant_db))
            return -1;
        snprintf(db, sizeof db, "%s_%ld_notification", s->name, (long)getpid());
        if (!h_fresh_database(db, s->notif_db, sizeof s->notif_db))
            return -1;
    }
    s->tenant_port = h_free_port();
    do
        s->notif_port = h_free_port();
    while (s->notif_port == s->tenant_port);
    if (!start_sim(s) || !hf_start_notification(s, NULL) || !hf_start_tenant(s))
        return -1;
    return 0;
}

int hf_stack_stop(struct hf_stack *s)
{
    int rc = 0;
    for (size_t i = 0; i < HF_MAX_SIDES; i++) {
        if (s->side[i].pid && h_stop(&s->side[i]) != 0)
            rc = -1;
    }
    if (s->notif.pid && h_stop(&s->notif) != 0)
        rc = -1;
    if (s->tenant.pid && h_stop(&s->tenant) != 0)
        rc = -1;
    if (s->sim.pid && h_stop(&s->sim) != 0)
        rc = -1;
    if (s->pg_dir[0]) {
        pg_script("wipe", s->pg_dir);
    } else {
        h_drop_database(s->tenant_db);
        h_drop_database(s->notif_db);
    }
    return rc;
}

/* ---------- requests ---------- */

static char *admin_token, *service_token;

const char *hf_admin_token(void)
{
    if (!admin_token)
        admin_token = h_token("admin", NULL, NULL, "test-admin", 24 * 3600);
    return admin_token;
}

const char *hf_service_token(void)
{
    if (!service_token)
        service_token = h_token("service", NULL, NULL, "order-service", 24 * 3600);
    return service_token;
}

void hf_sim_post(const struct hf_stack *s, const char *path, const char *body)
{
    struct h_resp r = h_call("POST", s->sim.url, NULL, body, "%s", path);
    if (r.status != 200)
        fail_msg("graph-sim %s: %ld %s", path, r.status, r.body);
    h_resp_free(&r);
}

void hf_make_tenant(const struct hf_stack *s, const char *name, const char *phone_id,
                    char id[HF_ID_LEN])
{
    char body[256];
    snprintf(body, sizeof body, "{\"name\":\"%s\"}", name);
    struct h_resp r = h_call("POST", s->tenant.url, hf_admin_token(), body, "/api/v1/tenants");
    if (r.status != 201 && r.status != 200)
        fail_msg("create tenant: %ld %s", r.status, r.body);
    snprintf(id, HF_ID_LEN, "%s", json_string_value(json_object_get(r.json, "id")));
    h_resp_free(&r);
    if (phone_id) {
        snprintf(body, sizeof body, "{\"phone_number_id\":\"%s\"}", phone_id);
        r = h_call("POST", s->tenant.url, hf_admin_token(), body,
                   "/api/v1/admin/whatsapp/tenants/%s/assign-phone", id);
        if (r.status != 200)
            fail_msg("assign %s: %ld %s", phone_id, r.status, r.body);
        h_resp_free(&r);
    }
    r = h_call("PUT", s->tenant.url, hf_admin_token(), "{\"whatsapp_enabled\":true}",
               "/api/v1/tenants/%s/settings/notifications", id);
    if (r.status != 200)
        fail_msg("enable WhatsApp: %ld %s", r.status, r.body);
    h_resp_free(&r);
}

long hf_sql_long(const char *db, const char *fmt, ...)
{
    struct buf b = {0};
    va_list ap;
    va_start(ap, fmt);
    buf_vprintf(&b, fmt, ap);
    va_end(ap);
    char *v = h_sql(db, b.data);
    long n = v && *v ? strtol(v, NULL, 10) : -1;
    free(v);
    buf_free(&b);
    return n;
}

static json_t *sim_stats(const struct hf_stack *s)
{
    struct h_resp r = h_call("GET", s->sim.url, NULL, NULL, "/_sim/stats");
    json_t *doc = json_incref(r.json);
    h_resp_free(&r);
    return doc;
}

long hf_sim_accepted(const struct hf_stack *s)
{
    json_t *doc = sim_stats(s);
    long n =
        (long)json_integer_value(json_object_get(json_object_get(doc, "messages"), "accepted"));
    json_decref(doc);
    return n;
}

long hf_sim_errors(const struct hf_stack *s, const char *code)
{
    json_t *doc = sim_stats(s);
    json_t *by = json_object_get(json_object_get(doc, "messages"), "errors_by_code");
    long n = (long)json_integer_value(json_object_get(by, code));
    json_decref(doc);
    return n;
}

/* ---------- the load ---------- */

struct event {
    char id[UUID_STR_LEN];
    int tries;
    bool stored;
};

struct slot {
    CURL *easy;
    int event; /* -1 while idle */
    double started;
    struct buf answer;
    char body[640];
};

struct hf_load {
    struct hf_load_config cfg;
    pthread_t thread;
    atomic_bool stop;
    pthread_mutex_t lock;
    struct hf_load_stats st; /* under lock */
    struct event *events;
    int next_new;
    int *retry; /* FIFO of events to post again */
    double *retry_at;
    int retry_head, retry_tail; /* ring of cfg.count entries */
    struct slot *slots;
    struct curl_slist *headers;
    char *auth;
    double t0;
};

void hf_recipient(int prefix, int i, char out[16])
{
    snprintf(out, 16, "+346%02d%06d", prefix % 100, i % 1000000);
}

static size_t on_answer(char *data, size_t size, size_t nmemb, void *arg)
{
    buf_append(arg, data, size * nmemb);
    return size * nmemb;
}

static void post(struct hf_load *l, struct slot *sl, int ev)
{
    struct event *e = &l->events[ev];
    char to[16];
    hf_recipient(l->cfg.prefix, ev, to);
    snprintf(sl->body, sizeof sl->body,
             "{\"event_id\":\"%s\",\"tenant_id\":\"%s\",\"po_number\":\"PO-F%02d-%06d\","
             "\"supplier_name\":\"Proveedor %d\",\"supplier_phone\":\"%s\","
             "\"total_amount\":%d.50,\"currency\":\"EUR\"}",
             e->id, l->cfg.tenants[(size_t)ev % l->cfg.ntenants], l->cfg.prefix, ev, ev % 97, to,
             ev % 5000);
    const char *base = l->cfg.urls[(size_t)(ev + e->tries) % l->cfg.nurls];
    char url[160];
    snprintf(url, sizeof url, "%s/api/v1/notifications/purchase-orders", base);
    e->tries++;
    sl->event = ev;
    sl->started = hf_now();
    buf_reset(&sl->answer);
    curl_easy_setopt(sl->easy, CURLOPT_URL, url);
    curl_easy_setopt(sl->easy, CURLOPT_POSTFIELDS, sl->body);
    curl_easy_setopt(sl->easy, CURLOPT_POSTFIELDSIZE, (long)strlen(sl->body));
}

/* Records an answer; returns true when the event must be posted again. */
static bool record(struct hf_load *l, struct slot *sl, CURLcode rc, long status)
{
    double ms = (hf_now() - sl->started) * 1000.0;
    bool again = false;
    pthread_mutex_lock(&l->lock);
    struct hf_load_stats *st = &l->st;
    if (ms > st->window_max_ms)
        st->window_max_ms = ms;
    if (ms > st->max_ms) {
        st->max_ms = ms;
        st->max_status = rc == CURLE_OK ? status : 0;
        st->max_at_s = sl->started - l->t0;
    }
    if (rc == CURLE_OPERATION_TIMEDOUT) {
        st->timeouts++;
        again = true;
    } else if (rc != CURLE_OK) {
        st->transport_errors++;
        again = true;
    } else if (status == 202 || status == 200) {
        if (status == 202)
            st->answered_202++;
        else
            st->answered_200++;
        if (!l->events[sl->event].stored) {
            l->events[sl->event].stored = true;
            st->accepted++;
        }
    } else if (status == 503) {
        st->answered_503++;
        if (ms > st->max_503_ms) {
            st->max_503_ms = ms;
            st->max_503_at_s = sl->started - l->t0;
        }
        again = true;
    } else if (status == 500) {
        st->answered_500++;
        again = true;
    } else {
        st->answered_other++;
        fprintf(stderr, "load: event %d answered %ld: %.300s\n", sl->event, status,
                sl->answer.data ? sl->answer.data : "");
    }
    pthread_mutex_unlock(&l->lock);
    return again;
}

static void *load_run(void *arg)
{
    struct hf_load *l = arg;
    CURLM *multi = curl_multi_init();
    int n = l->cfg.count, inflight = 0, given_up = 0;
    l->t0 = hf_now();
    while (!atomic_load(&l->stop)) {
        double now = hf_now();
        int stored;
        pthread_mutex_lock(&l->lock);
        stored = l->st.accepted;
        given_up = l->st.answered_other;
        pthread_mutex_unlock(&l->lock);
        if (stored + given_up >= n && inflight == 0)
            break;
        for (int k = 0; k < l->cfg.concurrency; k++) {
            struct slot *sl = &l->slots[k];
            if (sl->event >= 0)
                continue;
            int ev = -1;
            if (l->retry_head != l->retry_tail && l->retry_at[l->retry_head] <= now) {
                ev = l->retry[l->retry_head];
                l->retry_head = (l->retry_head + 1) % (n + 1);
            } else if (l->next_new < n &&
                       (l->cfg.rate <= 0 || l->next_new < (int)((now - l->t0) * l->cfg.rate) + 1)) {
                ev = l->next_new++;
            }
            if (ev < 0)
                break;
            post(l, sl, ev);
            curl_multi_add_handle(multi, sl->easy);
            inflight++;
        }
        int running;
        curl_multi_perform(multi, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            struct slot *sl = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&sl);
            long status = 0;
            curl_easy_getinfo(sl->easy, CURLINFO_RESPONSE_CODE, &status);
            CURLcode rc = msg->data.result;
            curl_multi_remove_handle(multi, sl->easy);
            inflight--;
            if (record(l, sl, rc, status)) {
                l->retry[l->retry_tail] = sl->event;
                l->retry_at[l->retry_tail] = hf_now() + LOAD_RETRY_MS / 1000.0;
                l->retry_tail = (l->retry_tail + 1) % (n + 1);
            }
            sl->event = -1;
        }
        curl_multi_poll(multi, NULL, 0, 5, NULL);
    }
    for (int k = 0; k < l->cfg.concurrency; k++) {
        if (l->slots[k].event >= 0)
            curl_multi_remove_handle(multi, l->slots[k].easy);
    }
    curl_multi_cleanup(multi);
    pthread_mutex_lock(&l->lock);
    l->st.done = true;
    l->st.elapsed_s = hf_now() - l->t0;
    pthread_mutex_unlock(&l->lock);
    return NULL;
}

struct hf_load *hf_load_start(const struct hf_load_config *cfg)
{
    struct hf_load *l = xcalloc(1, sizeof(*l));
    l->cfg = *cfg;
    if (l->cfg.concurrency <= 0)
        l->cfg.concurrency =
            getenv("FAULTS_CONCURRENCY") ? (int)strtol(getenv("FAULTS_CONCURRENCY"), NULL, 10) : 8;
    assert_true(cfg->nurls > 0 && cfg->ntenants > 0 && cfg->count > 0);
    pthread_mutex_init(&l->lock, NULL);
    l->events = xcalloc((size_t)cfg->count, sizeof(*l->events));
    for (int i = 0; i < cfg->count; i++)
        uuid_new(l->events[i].id);
    l->retry = xcalloc((size_t)cfg->count + 1, sizeof(*l->retry));
    l->retry_at = xcalloc((size_t)cfg->count + 1, sizeof(*l->retry_at));
    l->auth = xasprintf("Authorization: Bearer %s", hf_service_token());
    l->headers = curl_slist_append(l->headers, l->auth);
    l->headers = curl_slist_append(l->headers, "Content-Type: application/json");
    l->headers = curl_slist_append(l->headers, "Expect:");
    l->slots = xcalloc((size_t)l->cfg.concurrency, sizeof(*l->slots));
    for (int k = 0; k < l->cfg.concurrency; k++) {
        struct slot *sl = &l->slots[k];
        sl->event = -1;
        sl->easy = curl_easy_init();
        curl_easy_setopt(sl->easy, CURLOPT_PRIVATE, sl);
        curl_easy_setopt(sl->easy, CURLOPT_HTTPHEADER, l->headers);
        curl_easy_setopt(sl->easy, CURLOPT_WRITEFUNCTION, on_answer);
        curl_easy_setopt(sl->easy, CURLOPT_WRITEDATA, &sl->answer);
        curl_easy_setopt(sl->easy, CURLOPT_TIMEOUT_MS, LOAD_TIMEOUT_MS);
        curl_easy_setopt(sl->easy, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
        curl_easy_setopt(sl->easy, CURLOPT_NOSIGNAL, 1L);
    }
    if (pthread_create(&l->thread, NULL, load_run, l) != 0)
        fail_msg("cannot start the load thread");
    return l;
}

void hf_load_stats(struct hf_load *l, struct hf_load_stats *out)
{
    pthread_mutex_lock(&l->lock);
    *out = l->st;
    if (!out->done)
        out->elapsed_s = l->t0 > 0 ? hf_now() - l->t0 : 0;
    pthread_mutex_unlock(&l->lock);
}

void hf_load_window(struct hf_load *l)
{
    pthread_mutex_lock(&l->lock);
    l->st.window_max_ms = 0;
    pthread_mutex_unlock(&l->lock);
}

static bool load_done(void *arg)
{
    struct hf_load_stats st;
    hf_load_stats(arg, &st);
    return st.done;
}

struct hf_load_stats hf_load_finish(struct hf_load *l, int timeout_ms)
{
    struct hf_load_stats st;
    if (!h_wait_every(load_done, l, timeout_ms, 50))
        fprintf(stderr, "load: still running after %d ms, stopped\n", timeout_ms);
    atomic_store(&l->stop, true);
    if (l->thread) {
        pthread_join(l->thread, NULL);
        l->thread = 0;
    }
    hf_load_stats(l, &st);
    return st;
}

struct accepted_wait {
    struct hf_load *l;
    int n;
};

static bool accepted_at_least(void *arg)
{
    struct accepted_wait *w = arg;
    struct hf_load_stats st;
    hf_load_stats(w->l, &st);
    return st.accepted >= w->n || st.done;
}

bool hf_load_wait_accepted(struct hf_load *l, int n, int timeout_ms)
{
    struct accepted_wait w = {l, n};
    return h_wait_every(accepted_at_least, &w, timeout_ms, 20);
}

void hf_load_free(struct hf_load *l)
{
    if (!l)
        return;
    if (l->thread) {
        atomic_store(&l->stop, true);
        pthread_join(l->thread, NULL);
    }
    for (int k = 0; k < l->cfg.concurrency; k++) {
        curl_easy_cleanup(l->slots[k].easy);
        buf_free(&l->slots[k].answer);
    }
    curl_slist_free_all(l->headers);
    free(l->auth);
    free(l->slots);
    free(l->events);
    free(l->retry);
    free(l->retry_at);
    pthread_mutex_destroy(&l->lock);
    free(l);
}

/* ---------- graph-sim's sends ---------- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void hf_sim_sends(const struct hf_stack *s, struct hf_sends *out)
{
    memset(out, 0, sizeof(*out));
    struct h_resp r =
        h_call("GET", s->sim.url, NULL, NULL, "/_sim/messages?request=false&limit=1000000");
    assert_int_equal(r.status, 200);
    const json_t *list = json_object_get(r.json, "messages");
    assert_int_equal(json_integer_value(json_object_get(r.json, "total_accepted")),
                     json_array_size(list)); /* none dropped from graph-sim's store */
    size_t n = json_array_size(list);
    char **ids = xcalloc(n ? n : 1, sizeof(*ids));
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        const char *body = json_string_value(json_object_get(json_array_get(list, i), "body"));
        const char *p = body ? strstr(body, CALLBACK_KEY) : NULL;
        if (!p)
            fail_msg("a send without biz_opaque_callback_data: %.200s", body ? body : "(none)");
        p += strlen(CALLBACK_KEY);
        ids[m++] = xstrndup(p, strcspn(p, "\""));
    }
    qsort(ids, m, sizeof(*ids), cmp_str);
    out->total = m;
    out->dup_ids = xcalloc(m ? m : 1, sizeof(*out->dup_ids));
    for (size_t i = 0; i < m;) {
        size_t j = i + 1;
        while (j < m && strcmp(ids[j], ids[i]) == 0)
            j++;
        out->distinct++;
        if (j - i > out->max_per_message)
            out->max_per_message = j - i;
        if (j - i > 1)
            out->dup_ids[out->ndup++] = xstrdup(ids[i]);
        i = j;
    }
    out->duplicates = out->total - out->distinct;
    for (size_t i = 0; i < m; i++)
        free(ids[i]);
    free(ids);
    h_resp_free(&r);
}

void hf_sends_free(struct hf_sends *x)
{
    for (size_t i = 0; i < x->ndup; i++)
        free(x->dup_ids[i]);
    free(x->dup_ids);
    memset(x, 0, sizeof(*x));
}

/* ---------- the outbox ---------- */

struct terminal_wait {
    const struct hf_stack *s;
    long rows;
};

static bool all_terminal(void *arg)
{
    struct terminal_wait *w = arg;
    char *v =
        h_sql(w->s->notif_db, "SELECT count(*) || '/' || count(*) FILTER (WHERE status IN ('read', "
                              "'failed', 'skipped')) FROM whatsapp_messages");
    char want[48];
    snprintf(want, sizeof want, "%ld/%ld", w->rows, w->rows);
    bool ok = v && strcmp(v, want) == 0;
    free(v);
    return ok;
}

bool hf_wait_terminal(const struct hf_stack *s, long rows, int timeout_ms)
{
    struct terminal_wait w = {s, rows};
    if (h_wait_every(all_terminal, &w, timeout_ms, 250))
        return true;
    char *v = h_sql(s->notif_db, "SELECT string_agg(status || '=' || n, ' ') FROM (SELECT status, "
                                 "count(*) n FROM whatsapp_messages GROUP BY status) c");
    fprintf(stderr, "not all terminal after %d ms (want %ld rows): %s\n", timeout_ms, rows,
            v ? v : "?");
    free(v);
    return false;
}
