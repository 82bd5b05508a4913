/* sender.c - the curl multi loop: jobs routed into a lane per sender number, admitted
 * when the number's limits allow, sent from a pool of reused easy handles over the
 * multi handle's connection cache, and classified when answered. */
#include "outbox/sender.h"

#include "mail/compose.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "graph/errors.h"
#include "graph/request.h"
#include "graph/version.h"
#include "log.h"
#include "metrics.h"
#include "monotonic.h"
#include "prng.h"
#include "outbox/pause.h"
#include "outbox/ratelimit.h"

#define HOLD_US 2000000LL           /* a job waits in its lane when it can go within this */
#define THROTTLE_BLOCK_US 1000000LL /* a 130429 stops its number for one window */
#define DRAIN_MAX_MS 7000L          /* in-flight requests get this long at shutdown */
#define IDLE_POLL_MS 1000L
#define ANSWER_MAX (64 * 1024) /* a send's answer is a few hundred bytes */
#define BURST_PER_SECOND 10    /* bursts of at most a tenth of a second's sends */

struct lane {
    char phone_number_id[TENANT_PHONE_ID_MAX];
    struct rl_rate rate;
    struct send_job_list jobs; /* waiting for the limits, oldest first */
};

/* One request: an easy handle kept for the life of the sender, so its options are set
 * once and its connection goes back to the multi handle's cache when it finishes. */
struct transfer {
    struct transfer *next_free;
    struct transfer *next_all;
    CURL *easy;
    struct send_job *job; /* NULL while idle */
    struct lane *lane;
    size_t rate_ticket; /* the send's place in its lane's window */
    struct buf answer;
    struct buf url;
    int64_t started_us;
    char error[CURL_ERROR_SIZE];
};

struct sender {
    struct sender_config cfg;
    pthread_t thread;
    /* shared with the worker thread */
    pthread_mutex_t lock;
    struct send_job_list inbox; /* submitted by the worker */
    struct send_job_list done;  /* finished, to collect */
    size_t ndone;               /* jobs in done, under lock */
    atomic_size_t load;
    atomic_bool draining;
    atomic_bool finished;
    /* the sender thread's own */
    CURLM *multi;
    struct curl_slist *headers;
    char *auth_header;
    struct lane **lanes;
    size_t nlanes, next_lane;
    struct rl_pairs *pairs;
    struct transfer *free_transfers, *all_transfers;
    size_t inflight;
    bool paused;
    int64_t paused_since_us;
    bool drain_started;
    int64_t drain_deadline_us;
    struct prng rng;              /* retry jitter */
    struct send_job_list results; /* finished this iteration */
    /* metrics */
    struct metric *send_latency, *event_latency, *inflight_gauge;
    struct metric *waits_rate, *waits_pair;
    struct metric *sent, *retried, *failed, *released;
};

static uint64_t next_random(struct sender *s)
{
    return prng_next(&s->rng);
}

static long us_to_ms_up(int64_t us)
{
    return (long)((us + 999) / 1000);
}

/* ---------- job lists ---------- */

void send_job_list_push(struct send_job_list *l, struct send_job *job)
{
    job->next = NULL;
    if (l->tail)
        l->tail->next = job;
    else
        l->head = job;
    l->tail = job;
    l->n++;
}

struct send_job *send_job_list_pop(struct send_job_list *l)
{
    struct send_job *job = l->head;
    if (!job)
        return NULL;
    l->head = job->next;
    if (!l->head)
        l->tail = NULL;
    l->n--;
    job->next = NULL;
    return job;
}

void send_job_list_splice(struct send_job_list *to, struct send_job_list *from)
{
    if (!from->head)
        return;
    if (to->tail)
        to->tail->next = from->head;
    else
        to->head = from->head;
    to->tail = from->tail;
    to->n += from->n;
    memset(from, 0, sizeof(*from));
}

void send_job_list_free(struct send_job_list *l)
{
    for (struct send_job *job; (job = send_job_list_pop(l)) != NULL;) {
        outbox_result_clear(&job->result);
        free(job->body);
        if (job->mail)
            mail_clear(job->mail);
        free(job->mail);
        free(job);
    }
}

/* ---------- results ---------- */

static void finish(struct sender *s, struct send_job *job)
{
    send_job_list_push(&s->results, job);
}

/* Hands this iteration's finished jobs to the worker and wakes it. */
static void publish(struct sender *s)
{
    size_t n = s->results.n;
    if (!n)
        return;
    pthread_mutex_lock(&s->lock);
    send_job_list_splice(&s->done, &s->results);
    s->ndone += n;
    pthread_mutex_unlock(&s->lock);
    atomic_fetch_sub(&s->load, n);
    uint64_t one = 1;
    if (write(s->cfg.notify_fd, &one, sizeof one) < 0) {
        /* The counter cannot overflow in practice; the worker also polls. */
    }
}

/* The job goes back to the queue untried, due again after delay_us. */
static void release(struct sender *s, struct send_job *job, int64_t delay_us)
{
    job->result.outcome = OUTBOX_RELEASE;
    job->result.attempt_used = false;
    job->result.delay_ms = delay_us > 0 ? us_to_ms_up(delay_us) : 0;
    metric_inc(s->released);
    finish(s, job);
}

static void set_error(struct send_job *job, long code, const char *message)
{
    job->result.error_code = code == GRAPH_NO_CODE ? OUTBOX_NO_CODE : code;
    free(job->result.error_message);
    job->result.error_message = xstrdup(message);
}

/* ---------- lanes ---------- */

static struct lane *lane_for(struct sender *s, const char *phone_number_id)
{
    for (size_t i = 0; i < s->nlanes; i++) {
        if (strcmp(s->lanes[i]->phone_number_id, phone_number_id) == 0)
            return s->lanes[i];
    }
    struct lane *lane = xcalloc(1, sizeof(*lane));
    snprintf(lane->phone_number_id, sizeof lane->phone_number_id, "%s", phone_number_id);
    long burst = s->cfg.mps_per_phone / BURST_PER_SECOND;
    rl_rate_init(&lane->rate, s->cfg.mps_per_phone, burst, (int64_t)s->cfg.rate_margin_ms * 1000);
    s->lanes = xrealloc(s->lanes, (s->nlanes + 1) * sizeof(*s->lanes));
    s->lanes[s->nlanes++] = lane;
    return lane;
}

/* Every job waiting in a lane goes back to the queue (pause, shutdown). */
static void release_lanes(struct sender *s)
{
    for (size_t i = 0; i < s->nlanes; i++) {
        for (struct send_job *job; (job = send_job_list_pop(&s->lanes[i]->jobs)) != NULL;)
            release(s, job, 0);
    }
}

/* Microseconds until sender may send to recipient again, plus the jitter margin. */
static int64_t pair_wait(struct sender *s, const struct send_job *job, int64_t now)
{
    int64_t w = rl_pairs_wait(s->pairs, job->phone_number_id, job->recipient, now);
    return w > 0 ? w + (int64_t)s->cfg.rate_margin_ms * 1000 : 0;
}

/* Puts a new job in its lane, or sends it back when it cannot go soon. */
static void route(struct sender *s, struct send_job *job, int64_t now)
{
    if (s->paused && !pause_get(NULL, 0))
        s->paused = false; /* an operator resumed sending */
    if (s->drain_started || (s->paused && !job->probe)) {
        release(s, job, 0);
        return;
    }
    int64_t w = pair_wait(s, job, now);
    if (w > 0) {
        metric_inc(s->waits_pair);
        release(s, job, w);
        return;
    }
    struct lane *lane = lane_for(s, job->phone_number_id);
    w = rl_rate_wait(&lane->rate, now) + (int64_t)lane->jobs.n * rl_rate_interval(&lane->rate);
    if (w > 0)
        metric_inc(s->waits_rate);
    if (w > HOLD_US)
        release(s, job, w);
    else
        send_job_list_push(&lane->jobs, job);
}

/* ---------- transfers ---------- */

static size_t on_answer(char *data, size_t size, size_t nmemb, void *arg)
{
    struct buf *b = arg;
    size_t n = size * nmemb;
    if (b->len + n > ANSWER_MAX)
        return 0; /* not an answer to a send: abort */
    buf_append(b, data, n);
    return n;
}

static struct transfer *transfer_get(struct sender *s)
{
    struct transfer *t = s->free_transfers;
    if (t) {
        s->free_transfers = t->next_free;
        return t;
    }
    t = xcalloc(1, sizeof(*t));
    t->easy = curl_easy_init();
    if (!t->easy) {
        free(t);
        return NULL;
    }
    long connect_ms = s->cfg.timeout_ms < 5000 ? s->cfg.timeout_ms : 5000;
    curl_easy_setopt(t->easy, CURLOPT_PRIVATE, t);
    curl_easy_setopt(t->easy, CURLOPT_POST, 1L);
    curl_easy_setopt(t->easy, CURLOPT_HTTPHEADER, s->headers);
    curl_easy_setopt(t->easy, CURLOPT_WRITEFUNCTION, on_answer);
    curl_easy_setopt(t->easy, CURLOPT_WRITEDATA, &t->answer);
    curl_easy_setopt(t->easy, CURLOPT_ERRORBUFFER, t->error);
    curl_easy_setopt(t->easy, CURLOPT_TIMEOUT_MS, s->cfg.timeout_ms);
    curl_easy_setopt(t->easy, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    curl_easy_setopt(t->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(t->easy, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(t->easy, CURLOPT_TCP_KEEPIDLE, 30L);
    curl_easy_setopt(t->easy, CURLOPT_TCP_KEEPINTVL, 15L);
    curl_easy_setopt(t->easy, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(t->easy, CURLOPT_USERAGENT, "bakery-notification-service/" VERSION);
    t->next_all = s->all_transfers;
    s->all_transfers = t;
    return t;
}

static void transfer_put(struct sender *s, struct transfer *t)
{
    curl_multi_remove_handle(s->multi, t->easy);
    t->job = NULL;
    t->lane = NULL;
    s->inflight--;
    metric_set(s->inflight_gauge, (double)s->inflight);
    t->next_free = s->free_transfers;
    s->free_transfers = t;
}

static void start(struct sender *s, struct lane *lane, struct send_job *job, size_t ticket,
                  int64_t now)
{
    struct transfer *t = transfer_get(s);
    if (!t) {
        log_error("curl_easy_init failed; message released\tid=%s", job->result.id);
        rl_rate_settle(&lane->rate, ticket, RL_REFUSED);
        rl_pairs_forget(s->pairs, job->phone_number_id, job->recipient);
        release(s, job, 1000000);
        return;
    }
    t->rate_ticket = ticket;
    buf_reset(&t->url);
    graph_messages_url(&t->url, s->cfg.graph_base_url, s->cfg.api_version, job->phone_number_id);
    buf_reset(&t->answer);
    t->error[0] = '\0';
    t->job = job;
    t->lane = lane;
    t->started_us = now;
    curl_easy_setopt(t->easy, CURLOPT_URL, t->url.data);
    curl_easy_setopt(t->easy, CURLOPT_POSTFIELDS, job->body);
    curl_easy_setopt(t->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)job->body_len);
    s->inflight++;
    metric_set(s->inflight_gauge, (double)s->inflight);
    int64_t age_ms = wallclock_ms() - job->created_us / 1000;
    metric_observe(s->event_latency, age_ms > 0 ? (double)age_ms / 1000.0 : 0.0);
    CURLMcode mc = curl_multi_add_handle(s->multi, t->easy);
    if (mc != CURLM_OK) {
        log_error("curl_multi_add_handle failed; message released\tid=%s error=\"%s\"",
                  job->result.id, curl_multi_strerror(mc));
        rl_rate_settle(&lane->rate, ticket, RL_REFUSED);
        rl_pairs_forget(s->pairs, job->phone_number_id, job->recipient);
        transfer_put(s, t);
        release(s, job, 1000000);
    }
}

/* Starts what the limits allow, lanes taken in turn. Returns the microseconds until a
 * waiting lane may go, or -1 when none waits on a limit. */
static int64_t admit(struct sender *s, int64_t now)
{
    int64_t next = -1;
    for (size_t k = 0; k < s->nlanes; k++) {
        struct lane *lane = s->lanes[(s->next_lane + k) % s->nlanes];
        while (lane->jobs.head && s->inflight < (size_t)s->cfg.max_inflight) {
            struct send_job *job = lane->jobs.head;
            int64_t w = pair_wait(s, job, now);
            if (w > 0) { /* a message to the same recipient went just before it */
                metric_inc(s->waits_pair);
                release(s, send_job_list_pop(&lane->jobs), w);
                continue;
            }
            w = rl_rate_wait(&lane->rate, now);
            if (w > 0) {
                next = next < 0 || w < next ? w : next;
                break;
            }
            send_job_list_pop(&lane->jobs);
            if (!owners_has(s->cfg.owners, job->phone_number_id)) {
                /* the number went to another instance, or the database is gone */
                job->handed_over = true;
                release(s, job, 0);
                continue;
            }
            size_t ticket = rl_rate_take(&lane->rate, now);
            rl_pairs_record(s->pairs, job->phone_number_id, job->recipient, now);
            start(s, lane, job, ticket, now);
        }
    }
    if (s->nlanes)
        s->next_lane = (s->next_lane + 1) % s->nlanes;
    return next;
}

static void count_error(long code, CURLcode rc, long status)
{
    char labels[48];
    if (rc != CURLE_OK)
        snprintf(labels, sizeof labels, "code=\"network\"");
    else if (code == GRAPH_NO_CODE)
        snprintf(labels, sizeof labels, "code=\"http_%ld\"", status);
    else
        snprintf(labels, sizeof labels, "code=\"%ld\"", code);
    metric_inc(metrics_counter("whatsapp_graph_errors_total",
                               "Graph API send failures by Meta error code", labels));
}

/* Dates the send in its number's limits by its answer: Graph counted it by now at the
 * latest. What Graph refused does not count; a request without an answer may have been
 * counted, so it does. */
static void settle_limits(struct sender *s, struct transfer *t, const struct graph_outcome *o,
                          bool answered, int64_t now)
{
    struct send_job *job = t->job;
    bool accepted = o->cls == GRAPH_SENT || !answered;
    rl_rate_settle(&t->lane->rate, t->rate_ticket, o->code == 130429 ? RL_REFUSED : now);
    if (accepted || o->code == 131056)
        rl_pairs_record(s->pairs, job->phone_number_id, job->recipient, now);
    else
        rl_pairs_forget(s->pairs, job->phone_number_id, job->recipient);
    if (o->code == 130429)
        rl_rate_block(&t->lane->rate, now + THROTTLE_BLOCK_US);
}

/* Holds the job's number (131057) or template language (132015, 132016, 132001) and
 * sends the job back untried (holds.h). */
static void hold(struct sender *s, struct send_job *job, const struct graph_outcome *o)
{
    if (o->code == 131057) {
        set_error(job, o->code, o->message);
        holds_number_refused(job->phone_number_id, o->code, o->message);
        release(s, job, (int64_t)HOLDS_NUMBER_MS * 1000);
        return;
    }
    /* 132001: the message says it in the word the admin looks for */
    char why[GRAPH_MESSAGE_MAX + 32];
    snprintf(why, sizeof why, "%s%s", o->code == 132001 ? "template_not_approved: " : "",
             o->message);
    set_error(job, o->code, why);
    holds_template_refused(job->template_name, job->result.language ? job->result.language : "",
                           o->code, o->message);
    release(s, job, (int64_t)HOLDS_RECHECK_MS * 1000);
}

/* Turns a classified answer into the job's result. */
static void conclude(struct sender *s, struct transfer *t, const struct graph_outcome *o,
                     int64_t now)
{
    struct send_job *job = t->job;
    struct outbox_result *r = &job->result;
    int attempts = job->attempts + 1;

    r->answered_ms = wallclock_ms();

    switch (o->cls) {
    case GRAPH_SENT:
        r->outcome = OUTBOX_SENT;
        r->attempt_used = true;
        r->wamid = o->wamid[0] ? xstrdup(o->wamid) : NULL;
        if (!r->wamid)
            log_warn("Graph accepted a message without a wamid\tid=%s", r->id);
        /* A probe, or a send begun after this sender saw the pause: the account sends.
         * (A pause an account_update webhook set is known here only by its probes.) */
        if (job->probe || (s->paused && t->started_us >= s->paused_since_us)) {
            s->paused = false;
            pause_clear();
        }
        if (job->hold_probe)
            holds_template_sent(job->template_name, r->language ? r->language : "");
        metric_inc(s->sent);
        break;
    case GRAPH_PAUSE:
        set_error(job, o->code, o->message);
        if (!s->paused) {
            s->paused = true;
            s->paused_since_us = now;
            pause_set(PAUSE_BY_SEND, o->code, o->message);
            release_lanes(s);
        }
        release(s, job, 0);
        return;
    case GRAPH_HOLD:
        hold(s, job, o);
        return;
    case GRAPH_TRANSIENT:
        set_error(job, o->code, o->message);
        r->attempt_used = true;
        if (attempts < s->cfg.max_attempts) {
            r->outcome = OUTBOX_RETRY;
            r->delay_ms = graph_retry_delay_ms(o->code, attempts, s->cfg.retry_base_ms,
                                               s->cfg.retry_max_ms, next_random(s));
            metric_inc(s->retried);
            log_debug("send will be retried\tid=%s attempts=%d delay_ms=%ld error=\"%s\"", r->id,
                      attempts, r->delay_ms, o->message);
            break;
        }
        r->outcome = OUTBOX_FAILED;
        metric_inc(s->failed);
        break;
    case GRAPH_PERMANENT:
        /* The platform's own template not approved in that language: it will be (the
         * admin syncs the templates), so the order waits instead of failing. */
        if (o->code == 132001 && strcmp(job->template_name, OUTBOX_PO_TEMPLATE) == 0) {
            hold(s, job, o);
            return;
        }
        set_error(job, o->code, o->message);
        r->attempt_used = true;
        r->outcome = OUTBOX_FAILED;
        metric_inc(s->failed);
        break;
    }
    finish(s, job);
}

static void complete(struct sender *s, struct transfer *t, CURLcode rc, int64_t now)
{
    struct graph_outcome o;
    long status = 0;

    metric_observe(s->send_latency, (double)(now - t->started_us) / 1e6);
    if (rc != CURLE_OK) {
        graph_transport_failure(t->error[0] ? t->error : curl_easy_strerror(rc), &o);
    } else {
        curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
        graph_parse_answer(status, t->answer.data, t->answer.len, &o);
        struct curl_header *served = NULL;
        if (curl_easy_header(t->easy, "facebook-api-version", 0, CURLH_HEADER, -1, &served) ==
            CURLHE_OK)
            graph_version_seen(s->cfg.api_version, served->value);
    }
    if (o.cls != GRAPH_SENT)
        count_error(o.code, rc, status);
    settle_limits(s, t, &o, rc == CURLE_OK, now);
    conclude(s, t, &o, now);
    transfer_put(s, t);
}

static void read_completions(struct sender *s)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(s->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        struct transfer *t = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
        complete(s, t, msg->data.result, monotonic_us());
    }
}

/* At the drain deadline: requests still unanswered are given up and their rows
 * released (Meta may have accepted them: see docs/sending.md). */
static void abandon_inflight(struct sender *s)
{
    for (struct transfer *t = s->all_transfers; t; t = t->next_all) {
        if (!t->job)
            continue;
        struct send_job *job = t->job;
        log_warn("request abandoned at shutdown; message released\tid=%s", job->result.id);
        rl_rate_settle(&t->lane->rate, t->rate_ticket, monotonic_us());
        set_error(job, GRAPH_NO_CODE, "request abandoned at shutdown");
        transfer_put(s, t);
        release(s, job, 0);
    }
}

static void *run(void *arg)
{
    struct sender *s = arg;
    for (;;) {
        int64_t now = monotonic_us();
        struct send_job_list fresh = {0};
        pthread_mutex_lock(&s->lock);
        send_job_list_splice(&fresh, &s->inbox);
        pthread_mutex_unlock(&s->lock);
        for (struct send_job *job; (job = send_job_list_pop(&fresh)) != NULL;)
            route(s, job, now);
        if (atomic_load(&s->draining) && !s->drain_started) {
            long ms = s->cfg.timeout_ms < DRAIN_MAX_MS ? s->cfg.timeout_ms : DRAIN_MAX_MS;
            s->drain_started = true;
            s->drain_deadline_us = now + (int64_t)ms * 1000;
            release_lanes(s);
        }
        int64_t wait_us = s->drain_started ? -1 : admit(s, now);
        int running = 0;
        curl_multi_perform(s->multi, &running);
        read_completions(s);
        if (s->drain_started && s->inflight && monotonic_us() >= s->drain_deadline_us)
            abandon_inflight(s);
        publish(s);
        if (s->drain_started && s->inflight == 0 && atomic_load(&s->load) == 0)
            break;
        long timeout = IDLE_POLL_MS;
        if (wait_us >= 0 && us_to_ms_up(wait_us) < timeout)
            timeout = us_to_ms_up(wait_us);
        if (s->drain_started) {
            long left = us_to_ms_up(s->drain_deadline_us - monotonic_us());
            timeout = left < timeout ? (left > 0 ? left : 0) : timeout;
        }
        curl_multi_poll(s->multi, NULL, 0, (int)timeout, NULL);
    }
    atomic_store(&s->finished, true);
    uint64_t one = 1;
    if (write(s->cfg.notify_fd, &one, sizeof one) < 0) {
        /* the worker polls as well */
    }
    return NULL;
}

/* ---------- life cycle ---------- */

struct sender *sender_start(const struct sender_config *cfg)
{
    struct sender *s = xcalloc(1, sizeof(*s));
    s->cfg = *cfg;
    pthread_mutex_init(&s->lock, NULL);
    s->auth_header = xasprintf("Authorization: Bearer %s", cfg->access_token);
    s->headers = curl_slist_append(s->headers, s->auth_header);
    s->headers = curl_slist_append(s->headers, "Content-Type: application/json");
    s->headers = curl_slist_append(s->headers, "Accept: application/json");
    s->headers = curl_slist_append(s->headers, "Expect:");
    s->pairs = rl_pairs_new((int64_t)cfg->pair_interval_ms * 1000);
    prng_seed(&s->rng, prng_os_seed());
    s->paused = pause_get(NULL, 0);
    s->paused_since_us = monotonic_us();

    s->send_latency =
        metrics_histogram("whatsapp_send_duration_seconds", "Graph API send round trip", "",
                          metrics_latency_buckets, metrics_latency_nbuckets);
    s->event_latency =
        metrics_histogram("whatsapp_event_to_graph_seconds",
                          "time from a message's creation to the start of its Graph API request",
                          "", metrics_latency_buckets, metrics_latency_nbuckets);
    s->inflight_gauge =
        metrics_gauge("whatsapp_sends_in_flight", "Graph API send requests in flight", "");
    s->waits_rate =
        metrics_counter("whatsapp_rate_limit_waits_total",
                        "messages that waited for a sender limit", "limiter=\"throughput\"");
    s->waits_pair = metrics_counter("whatsapp_rate_limit_waits_total",
                                    "messages that waited for a sender limit", "limiter=\"pair\"");
    const char *help = "outcomes of claimed messages in the sender";
    s->sent = metrics_counter("whatsapp_sends_total", help, "result=\"sent\"");
    s->retried = metrics_counter("whatsapp_sends_total", help, "result=\"retry\"");
    s->failed = metrics_counter("whatsapp_sends_total", help, "result=\"failed\"");
    s->released = metrics_counter("whatsapp_sends_total", help, "result=\"released\"");

    s->multi = curl_multi_init();
    if (!s->multi)
        goto fail;
    curl_multi_setopt(s->multi, CURLMOPT_MAXCONNECTS, cfg->max_inflight);
    curl_multi_setopt(s->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    if (pthread_create(&s->thread, NULL, run, s) != 0)
        goto fail;
    return s;
fail:
    log_error("cannot start the sender");
    if (s->multi)
        curl_multi_cleanup(s->multi);
    s->multi = NULL;
    atomic_store(&s->finished, true);
    s->thread = 0;
    sender_stop(s);
    return NULL;
}

void sender_submit(struct sender *s, struct send_job_list *jobs)
{
    size_t n = jobs->n;
    if (!n)
        return;
    atomic_fetch_add(&s->load, n);
    pthread_mutex_lock(&s->lock);
    send_job_list_splice(&s->inbox, jobs);
    pthread_mutex_unlock(&s->lock);
    curl_multi_wakeup(s->multi);
}

size_t sender_collect(struct sender *s, struct send_job_list *out)
{
    size_t before = out->n;
    pthread_mutex_lock(&s->lock);
    send_job_list_splice(out, &s->done);
    s->ndone = 0;
    pthread_mutex_unlock(&s->lock);
    return out->n - before;
}

/* Finished jobs count until collected: otherwise, while the writer is busy with a batch,
 * the claimer sees room, claims rows the lanes hand straight back, and again, until the
 * whole backlog is claimed at once, far over OUTBOX_MAX_INFLIGHT (found by the soak of
 * tests/integration/test_faults.c: 9,000 rows held by one worker). */
size_t sender_load(struct sender *s)
{
    pthread_mutex_lock(&s->lock);
    size_t done = s->ndone;
    pthread_mutex_unlock(&s->lock);
    return atomic_load(&s->load) + done;
}

void sender_drain(struct sender *s)
{
    atomic_store(&s->draining, true);
    curl_multi_wakeup(s->multi);
}

bool sender_finished(struct sender *s)
{
    return atomic_load(&s->finished);
}

void sender_stop(struct sender *s)
{
    if (!s)
        return;
    if (s->multi) {
        sender_drain(s);
        pthread_join(s->thread, NULL);
    }
    for (struct transfer *t = s->all_transfers, *next; t; t = next) {
        next = t->next_all;
        if (t->job && s->multi)
            curl_multi_remove_handle(s->multi, t->easy);
        curl_easy_cleanup(t->easy);
        buf_free(&t->answer);
        buf_free(&t->url);
        free(t);
    }
    if (s->multi)
        curl_multi_cleanup(s->multi);
    for (size_t i = 0; i < s->nlanes; i++) {
        send_job_list_free(&s->lanes[i]->jobs);
        rl_rate_free(&s->lanes[i]->rate);
        free(s->lanes[i]);
    }
    free(s->lanes);
    rl_pairs_free(s->pairs);
    send_job_list_free(&s->inbox);
    send_job_list_free(&s->done);
    send_job_list_free(&s->results);
    curl_slist_free_all(s->headers);
    free(s->auth_header);
    pthread_mutex_destroy(&s->lock);
    free(s);
}
