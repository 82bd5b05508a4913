/* quota_events.c - a small queue of quota events posted to tenant-service by a periodic
 * thread (common/periodic.h), off the send path. */
#include "tenants/quota_events.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "httpclient.h"
#include "log.h"
#include "metrics.h"
#include "periodic.h"
#include "service_token.h"
#include "uuidutil.h"

#define QUEUE_MAX 256
#define POST_INTERVAL_MS 500L
#define POST_TIMEOUT_MS 2000L

struct quota_event {
    char tenant_id[UUID_STR_LEN];
    char event[16];
    char month[8];
    long used, quota;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct quota_event queue[QUEUE_MAX];
static size_t queued;
static bool running;
static struct periodic *thread;
static const struct notification_config *config;
static struct service_token token;

static void count(const char *outcome)
{
    char labels[64];
    snprintf(labels, sizeof labels, "outcome=\"%s\"", outcome);
    metric_inc(metrics_counter("whatsapp_quota_events_total",
                               "Quota events for tenant-service's audit log, by outcome (posted, "
                               "dropped).",
                               labels));
}

static void dropped(const struct quota_event *e, const char *why)
{
    log_warn("quota event lost: tenant-service's audit log will not show it\tevent=%s tenant=%s "
             "used=%ld quota=%ld month=%s reason=\"%s\"",
             e->event, e->tenant_id, e->used, e->quota, e->month, why);
    count("dropped");
}

void quota_events_push(const char *tenant_id, const char *event, long used, long quota,
                       const char *month)
{
    struct quota_event e = {.used = used, .quota = quota};
    snprintf(e.tenant_id, sizeof e.tenant_id, "%s", tenant_id);
    snprintf(e.event, sizeof e.event, "%s", event);
    snprintf(e.month, sizeof e.month, "%.7s", month);
    pthread_mutex_lock(&lock);
    bool taken = running && queued < QUEUE_MAX;
    if (taken)
        queue[queued++] = e;
    pthread_mutex_unlock(&lock);
    if (!taken)
        dropped(&e, running ? "queue full" : "not running");
}

/* Posts one event; false when tenant-service did not take it. */
static bool post(const struct quota_event *e, char *why, size_t why_size)
{
    struct httpc_result res;
    char *url =
        xasprintf("%s/api/v1/internal/tenants/%s/quota-events", config->tenant_url, e->tenant_id);
    char *bearer = service_token_get(&token);
    json_t *body = json_pack("{s:s, s:I, s:I, s:s}", "event", e->event, "used", (json_int_t)e->used,
                             "quota", (json_int_t)e->quota, "month", e->month);
    long timeout = config->upstream_timeout_ms < POST_TIMEOUT_MS ? config->upstream_timeout_ms
                                                                 : POST_TIMEOUT_MS;
    bool ok = false;

    memset(&res, 0, sizeof res);
    if (httpc_json("POST", url, bearer, body, timeout, &res) != 0)
        snprintf(why, why_size, "tenant-service unreachable: %s", res.error);
    else if (res.status != 200 && res.status != 201)
        snprintf(why, why_size, "tenant-service answered HTTP %ld", res.status);
    else
        ok = true;
    httpc_result_free(&res);
    json_decref(body);
    free(bearer);
    free(url);
    return ok;
}

static void post_queued(void *arg)
{
    (void)arg;
    struct quota_event batch[QUEUE_MAX];
    pthread_mutex_lock(&lock);
    size_t n = queued;
    memcpy(batch, queue, n * sizeof(*batch));
    queued = 0;
    pthread_mutex_unlock(&lock);
    for (size_t i = 0; i < n; i++) {
        char why[600];
        if (post(&batch[i], why, sizeof why)) {
            log_info("quota event recorded by tenant-service\tevent=%s tenant=%s used=%ld "
                     "quota=%ld month=%s",
                     batch[i].event, batch[i].tenant_id, batch[i].used, batch[i].quota,
                     batch[i].month);
            count("posted");
        } else {
            dropped(&batch[i], why);
        }
    }
}

bool quota_events_start(const struct notification_config *cfg)
{
    config = cfg;
    service_token_init(&token, &cfg->auth, "notification-service");
    pthread_mutex_lock(&lock);
    running = true;
    pthread_mutex_unlock(&lock);
    thread = periodic_start("quota events", post_queued, NULL, POST_INTERVAL_MS, POST_INTERVAL_MS);
    if (!thread) {
        quota_events_stop();
        return false;
    }
    return true;
}

void quota_events_stop(void)
{
    periodic_stop(thread);
    thread = NULL;
    pthread_mutex_lock(&lock);
    running = false;
    size_t n = queued;
    queued = 0;
    pthread_mutex_unlock(&lock);
    for (size_t i = 0; i < n; i++)
        dropped(&queue[i], "shutting down");
    if (config)
        service_token_free(&token);
    config = NULL;
}
