/* tenant_events.c - a small queue of POSTs to tenant-service, posted by a periodic thread
 * (common/periodic.h), off the send path. */
#include "tenants/tenant_events.h"

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

#define QUEUE_MAX 256
#define POST_INTERVAL_MS 500L
#define POST_TIMEOUT_MS 2000L

/* A queued POST. Its strings and body are the queue's until posted or dropped. */
struct tenant_event {
    char kind[24];
    char *path;
    json_t *body;
    char *what;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct tenant_event queue[QUEUE_MAX];
static size_t queued;
static bool running;
static struct periodic *thread;
static const struct notification_config *config;
static struct service_token token;

static void count(const char *kind, const char *outcome)
{
    char labels[96];
    snprintf(labels, sizeof labels, "kind=\"%.23s\",outcome=\"%.16s\"", kind, outcome);
    metric_inc(metrics_counter("whatsapp_tenant_events_total",
                               "Events told to tenant-service (quota crossings for its audit log, "
                               "account changes for its live pages), by kind and outcome "
                               "(posted, dropped).",
                               labels));
}

static void event_free(struct tenant_event *e)
{
    free(e->path);
    free(e->what);
    json_decref(e->body);
    memset(e, 0, sizeof(*e));
}

/* Logs, counts and frees e. */
static void dropped(struct tenant_event *e, const char *why)
{
    log_warn("event for tenant-service lost: its audit log or open pages will not show it\t"
             "kind=%s %s reason=\"%s\"",
             e->kind, e->what, why);
    count(e->kind, "dropped");
    event_free(e);
}

void tenant_events_push(const char *kind, const char *path, json_t *body, const char *what)
{
    struct tenant_event e = {.path = xstrdup(path), .body = body, .what = xstrdup(what)};
    snprintf(e.kind, sizeof e.kind, "%s", kind);
    pthread_mutex_lock(&lock);
    bool taken = running && queued < QUEUE_MAX;
    if (taken)
        queue[queued++] = e;
    pthread_mutex_unlock(&lock);
    if (!taken)
        dropped(&e, running ? "queue full" : "not running");
}

/* Posts one event; false when tenant-service did not take it. */
static bool post(const struct tenant_event *e, char *why, size_t why_size)
{
    struct httpc_result res;
    char *url = xasprintf("%s%s", config->tenant_url, e->path);
    char *bearer = service_token_get(&token);
    long timeout = config->upstream_timeout_ms < POST_TIMEOUT_MS ? config->upstream_timeout_ms
                                                                 : POST_TIMEOUT_MS;
    bool ok = false;

    memset(&res, 0, sizeof res);
    if (httpc_json("POST", url, bearer, e->body, timeout, &res) != 0)
        snprintf(why, why_size, "tenant-service unreachable: %s", res.error);
    else if (res.status != 200 && res.status != 201)
        snprintf(why, why_size, "tenant-service answered HTTP %ld", res.status);
    else
        ok = true;
    httpc_result_free(&res);
    free(bearer);
    free(url);
    return ok;
}

static void post_queued(void *arg)
{
    (void)arg;
    struct tenant_event batch[QUEUE_MAX];
    pthread_mutex_lock(&lock);
    size_t n = queued;
    memcpy(batch, queue, n * sizeof(*batch));
    queued = 0;
    pthread_mutex_unlock(&lock);
    for (size_t i = 0; i < n; i++) {
        char why[600];
        if (post(&batch[i], why, sizeof why)) {
            log_info("event told to tenant-service\tkind=%s %s", batch[i].kind, batch[i].what);
            count(batch[i].kind, "posted");
            event_free(&batch[i]);
        } else {
            dropped(&batch[i], why);
        }
    }
}

bool tenant_events_start(const struct notification_config *cfg)
{
    config = cfg;
    service_token_init(&token, &cfg->auth, "notification-service");
    pthread_mutex_lock(&lock);
    running = true;
    pthread_mutex_unlock(&lock);
    thread = periodic_start("tenant-service events", post_queued, NULL, POST_INTERVAL_MS,
                            POST_INTERVAL_MS);
    if (!thread) {
        tenant_events_stop();
        return false;
    }
    return true;
}

void tenant_events_stop(void)
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
