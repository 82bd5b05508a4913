/* deliver.c - a periodic thread (common/periodic.h) that sequences new callbacks, leases
 * due orders and POSTs each one's callbacks in sequence with a blocking libcurl handle
 * of its own; a failure stops that order (its later callbacks wait behind it) until a
 * retry with exponential backoff, for ORDER_CALLBACK_MAX_AGE_SECONDS, then drops it. */
#include "callbacks/deliver.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "callbacks/queue.h"
#include "hmac.h"
#include "log.h"
#include "metrics.h"
#include "monotonic.h"
#include "periodic.h"
#include "prng.h"
#include "shutdown.h"

#define SEQUENCE_BATCH 5000L
#define CLAIM_ORDERS 32L
#define PER_ORDER 16L
#define PRUNE_EVERY_MS 3600000L

static struct periodic *thread;
static const struct notification_config *config;
static CURL *curl;
static struct curl_slist *fixed_headers;
static char owner[128];
static struct prng jitter;
static long lease_seconds;
static long long last_prune_ms;
static bool db_failing; /* logged once per outage, not once per poll */

bool callbacks_config_valid(const struct notification_config *cfg, char *err, size_t errlen)
{
    if (!*cfg->callback_url)
        return true;
    bool ok = false;
    CURLU *u = curl_url();
    char *host = NULL;
    if (u && curl_url_set(u, CURLUPART_URL, cfg->callback_url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && host && *host)
        ok = true;
    curl_free(host);
    curl_url_cleanup(u);
    if (!ok) {
        snprintf(err, errlen, "ORDER_CALLBACK_URL must be an http:// or https:// URL with a host");
        return false;
    }
    if (!*cfg->callback_secret) {
        snprintf(err, errlen,
                 "ORDER_CALLBACK_SECRET must be set when ORDER_CALLBACK_URL is: the order service "
                 "checks each callback's X-Signature-256 with it");
        return false;
    }
    return true;
}

bool callbacks_switch(const struct notification_config *cfg)
{
    bool on = *cfg->callback_url != '\0', changed = false;
    if (callback_queue_switch(on, &changed) != DB_OK) {
        log_error("order callbacks cannot be switched %s: the database failed\terror=\"%s\"",
                  on ? "on" : "off", db_error_message());
        return false;
    }
    if (changed)
        log_info("order callbacks switched %s for every instance on this database",
                 on ? "on" : "off");
    return true;
}

static void count(const char *outcome, double n)
{
    char labels[48];
    snprintf(labels, sizeof labels, "outcome=\"%s\"", outcome);
    metric_add(metrics_counter("order_callbacks_total",
                               "Order callbacks by outcome: delivered, failed (an attempt, "
                               "retried), dropped (failing after ORDER_CALLBACK_MAX_AGE_SECONDS).",
                               labels),
               n);
}

static size_t discard(char *data, size_t size, size_t n, void *arg)
{
    (void)data;
    (void)arg;
    return size * n;
}

/* Cuts a request short when the process stops (the callback stays queued). */
static int on_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    (void)arg;
    (void)a;
    (void)b;
    (void)c;
    (void)d;
    return shutdown_requested() ? 1 : 0;
}

enum post_result { POST_OK, POST_REFUSED, POST_DOWN };

/* POSTs one callback. POST_REFUSED: the receiver answered something else than 2xx
 * but 5xx or 429; POST_DOWN: no answer, 5xx or 429 (the receiver is in trouble: the
 * rest of the batch waits). why gets the reason. */
static enum post_result post(const struct callback_item *it, char *why, size_t whylen)
{
    char sig[HMAC_SHA256_HEX_LEN], sig_header[96], key_header[96];
    size_t len = strlen(it->body);
    if (hmac_sha256_hex(config->callback_secret, strlen(config->callback_secret), it->body, len,
                        sig) != 0) {
        snprintf(why, whylen, "signing failed");
        return POST_DOWN;
    }
    snprintf(sig_header, sizeof sig_header, "X-Signature-256: sha256=%s", sig);
    snprintf(key_header, sizeof key_header, "Idempotency-Key: %s", it->key);
    struct curl_slist *h1 = curl_slist_append(NULL, sig_header);
    struct curl_slist *headers = h1 ? curl_slist_append(h1, key_header) : NULL;
    enum post_result r = POST_DOWN;
    if (!headers) {
        curl_slist_free_all(h1);
        snprintf(why, whylen, "out of memory");
        return POST_DOWN;
    }
    headers->next->next = fixed_headers; /* borrowed: unlinked again below */
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, it->body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    CURLcode rc = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    if (rc != CURLE_OK)
        snprintf(why, whylen, "no answer: %s", curl_easy_strerror(rc));
    else if (status >= 200 && status < 300)
        r = POST_OK;
    else {
        snprintf(why, whylen, "answered HTTP %ld", status);
        r = status >= 500 || status == 429 ? POST_DOWN : POST_REFUSED;
    }
    headers->next->next = NULL;
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(headers);
    return r;
}

/* The retry delay: base * 2^(attempt-1), capped, then between half and all of it, so
 * orders failing together drift apart. */
static long backoff_ms(long attempt)
{
    long d = config->callback_retry_base_ms;
    for (long i = 1; i < attempt && d < config->callback_retry_max_ms; i++)
        d *= 2;
    if (d > config->callback_retry_max_ms)
        d = config->callback_retry_max_ms;
    return d / 2 + (long)(prng_unit(&jitter) * (double)(d - d / 2));
}

static bool finish(const struct callback_order *o, long done, long failed, const char *error,
                   long delay_ms)
{
    if (callback_queue_finish(o->id, owner, done, failed, error, delay_ms) == DB_OK)
        return true;
    /* The lease runs out and another pass takes the order again: at least once. */
    log_warn("order callback result not written: the order's callbacks come back after the "
             "lease\torder=%s error=\"%s\"",
             o->id, db_error_message());
    return false;
}

/* Posts one order's callbacks in sequence until one fails. Returns false when the
 * receiver looks down (the caller releases the rest of its batch). */
static bool deliver_order(const struct callback_order *o, long long deadline_ms)
{
    long done = 0;
    for (size_t i = 0; i < o->n; i++) {
        const struct callback_item *it = &o->items[i];
        if (i > 0 && (monotonic_ms() > deadline_ms || shutdown_requested()))
            break; /* the rest next pass, before the lease ends */
        char why[256] = "";
        enum post_result r = post(it, why, sizeof why);
        if (r == POST_OK) {
            done = it->sequence;
            count("delivered", 1);
            continue;
        }
        if (shutdown_requested()) { /* cut short: not the receiver's failure */
            finish(o, done, 0, NULL, 0);
            return false;
        }
        if (it->expired) {
            log_warn("order callback dropped: failing for longer than "
                     "ORDER_CALLBACK_MAX_AGE_SECONDS\torder=%s sequence=%ld key=%s attempts=%ld "
                     "reason=\"%s\"",
                     o->id, it->sequence, it->key, it->attempts + 1, why);
            count("dropped", 1);
            finish(o, it->sequence, 0, NULL, 0);
            return r != POST_DOWN;
        }
        count("failed", 1);
        long delay = backoff_ms(it->attempts + 1);
        log_info("order callback failed, retried later\torder=%s sequence=%ld key=%s "
                 "attempt=%ld retry_ms=%ld reason=\"%s\"",
                 o->id, it->sequence, it->key, it->attempts + 1, delay, why);
        finish(o, done, it->sequence, why, delay);
        return r != POST_DOWN;
    }
    finish(o, done, 0, NULL, 0);
    return true;
}

/* Logs a database failure when the database starts failing, and its end. */
static void db_state(bool failed, const char *what)
{
    if (failed && !db_failing)
        log_warn("order callbacks wait: the database failed\tstep=%s error=\"%s\"", what,
                 db_error_message());
    else if (!failed && db_failing)
        log_info("order callbacks resume: the database answers again");
    db_failing = failed;
}

/* One pass: sequence what committed, then lease and post until nothing is due. */
static void pass(void *arg)
{
    (void)arg;
    long long now = monotonic_ms();
    if (now - last_prune_ms > PRUNE_EVERY_MS) {
        long pruned = 0;
        if (callback_queue_prune(config->retention_days, &pruned) == DB_OK) {
            last_prune_ms = now;
            if (pruned)
                log_info("order callbacks: idle orders forgotten\tcount=%ld", pruned);
        }
    }
    while (!shutdown_requested()) {
        long sequenced = 0;
        if (callback_queue_sequence(SEQUENCE_BATCH, &sequenced) != DB_OK) {
            db_state(true, "sequence");
            return;
        }
        struct callback_batch b;
        if (callback_queue_claim(owner, lease_seconds, CLAIM_ORDERS, PER_ORDER,
                                 config->callback_max_age_seconds, &b) != DB_OK) {
            db_state(true, "claim");
            return;
        }
        db_state(false, NULL);
        size_t n = b.n;
        /* Stop well before the lease ends: a request takes at most the timeout. */
        long long deadline = monotonic_ms() + lease_seconds * 1000 / 2;
        size_t i = 0;
        bool receiver_up = true;
        for (; i < b.n && receiver_up && !shutdown_requested() && monotonic_ms() < deadline; i++)
            receiver_up = deliver_order(&b.orders[i], deadline);
        /* Not tried: due again after the first retry delay (the receiver is down), or
         * at once (the lease's time ran out, or the process stops). */
        for (; i < b.n; i++)
            finish(&b.orders[i], 0, 0, NULL, receiver_up ? 0 : config->callback_retry_base_ms);
        callback_batch_free(&b);
        if (!receiver_up || (n < (size_t)CLAIM_ORDERS && sequenced < SEQUENCE_BATCH))
            return;
    }
}

bool callbacks_start(const struct notification_config *cfg)
{
    if (!*cfg->callback_url)
        return true;
    config = cfg;
    if (*cfg->instance_id) {
        snprintf(owner, sizeof owner, "%s", cfg->instance_id);
    } else {
        char host[100] = "";
        gethostname(host, sizeof host - 1);
        snprintf(owner, sizeof owner, "%s:%ld", host, (long)getpid());
    }
    prng_seed(&jitter, prng_os_seed());
    lease_seconds = 2 * cfg->callback_timeout_ms / 1000 + 20;
    last_prune_ms = monotonic_ms() - PRUNE_EVERY_MS + 60000; /* first prune after a minute */
    curl = curl_easy_init();
    fixed_headers = curl_slist_append(NULL, "Content-Type: application/json");
    if (!curl || !fixed_headers) {
        log_error("order callbacks cannot start: libcurl failed");
        callbacks_stop();
        return false;
    }
    curl_easy_setopt(curl, CURLOPT_URL, cfg->callback_url);
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "notification-service/" VERSION);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, cfg->callback_timeout_ms);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, cfg->callback_timeout_ms);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    thread = periodic_start("order callbacks", pass, NULL, 0, cfg->callback_poll_ms);
    if (!thread) {
        callbacks_stop();
        return false;
    }
    log_info("order callbacks on\ttimeout_ms=%ld retry_base_ms=%ld retry_max_ms=%ld "
             "max_age_seconds=%ld",
             cfg->callback_timeout_ms, cfg->callback_retry_base_ms, cfg->callback_retry_max_ms,
             cfg->callback_max_age_seconds);
    return true;
}

void callbacks_stop(void)
{
    periodic_stop(thread);
    thread = NULL;
    if (curl)
        curl_easy_cleanup(curl);
    curl = NULL;
    curl_slist_free_all(fixed_headers);
    fixed_headers = NULL;
    config = NULL;
}
