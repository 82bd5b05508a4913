/* webhook.c - a min-heap of due webhook events (due time, then sequence) under a mutex
 * and condition variable; the sender thread takes every due event up to the batch size,
 * groups them per phone number into one Meta payload, signs it, POSTs it, and on failure
 * puts the events back in place and waits with exponential backoff. */
#include "webhook.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "faults.h"
#include "graph_error.h"
#include "hmac.h"
#include "ids.h"
#include "jsonutil.h"
#include "log.h"
#include "settings.h"
#include "sim.h"

struct wh_event {
    int64_t due_ms;
    uint64_t seq;
    bool inbound;
    bool duplicate;
    char status[12];
    char id[IDS_WAMID_MAX];
    char phone_id[SIM_ID_MAX];
    char display[SIM_WA_ID_MAX];
    char recipient[SIM_WA_ID_MAX]; /* recipient_id, or the sender of an inbound message */
    char category[24];
    char pricing_type[24];
    char pricing_mode[8]; /* pmp, cbp, none: as set when the send was accepted */
    bool billable;
    bool hide_recipient;
    char user_id[160]; /* recipient_user_id / user_id (BSUID), empty = none */
    char username[64];
    int64_t timestamp;
    long error_code;
    char *error_details; /* owned, may be NULL */
    char *biz_opaque;    /* owned, may be NULL */
    char *text;          /* owned, inbound only */
    char *name;          /* owned, inbound only */
    char *field;         /* owned: an account-level change of this field, else NULL */
    char *value;         /* owned: its value, serialized JSON */
};

static pthread_mutex_t wh_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wh_cond;
static pthread_t wh_thread;
static bool wh_running;
static bool wh_stopping;
static struct wh_event **heap; /* owned, with the events */
static size_t heap_n, heap_cap;
static uint64_t next_seq;
static uint64_t generation; /* bumped by reset: in-flight events of before are dropped */
static int64_t hold_until_ms;
static long backoff_ms;
static struct {
    uint64_t posts_ok, posts_failed, statuses, inbound, account, duplicates, dropped, in_flight;
    long last_http_status;
    char last_error[160];
} st;

/* ---------- events and the heap ---------- */

static void event_free(struct wh_event *e)
{
    if (!e)
        return;
    free(e->error_details);
    free(e->biz_opaque);
    free(e->text);
    free(e->name);
    free(e->field);
    free(e->value);
    free(e);
}

static bool before(const struct wh_event *a, const struct wh_event *b)
{
    return a->due_ms < b->due_ms || (a->due_ms == b->due_ms && a->seq < b->seq);
}

static void heap_push(struct wh_event *e)
{
    if (heap_n == heap_cap) {
        heap_cap = heap_cap ? heap_cap * 2 : 1024;
        heap = xrealloc(heap, heap_cap * sizeof(*heap));
    }
    size_t i = heap_n++;
    heap[i] = e;
    while (i > 0 && before(heap[i], heap[(i - 1) / 2])) {
        struct wh_event *t = heap[i];
        heap[i] = heap[(i - 1) / 2];
        heap[(i - 1) / 2] = t;
        i = (i - 1) / 2;
    }
}

static struct wh_event *heap_pop(void)
{
    struct wh_event *top = heap[0];
    heap[0] = heap[--heap_n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < heap_n && before(heap[l], heap[m]))
            m = l;
        if (r < heap_n && before(heap[r], heap[m]))
            m = r;
        if (m == i)
            break;
        struct wh_event *t = heap[i];
        heap[i] = heap[m];
        heap[m] = t;
        i = m;
    }
    return top;
}

/* Queues e under the lock (or drops it when the queue is full). */
static void enqueue_locked(struct wh_event *e)
{
    if (heap_n >= (size_t)sim_cfg.webhook_queue_max) {
        if (st.dropped++ % 1000 == 0)
            log_warn("webhook queue full; dropping\tqueue_max=%ld dropped=%llu",
                     sim_cfg.webhook_queue_max, (unsigned long long)st.dropped);
        event_free(e);
        return;
    }
    e->seq = next_seq++;
    heap_push(e);
}

/* Queues the n events of ev (taking them) and wakes the sender. */
static void enqueue(struct wh_event **ev, size_t n)
{
    pthread_mutex_lock(&wh_lock);
    for (size_t i = 0; i < n; i++)
        enqueue_locked(ev[i]);
    pthread_cond_signal(&wh_cond);
    pthread_mutex_unlock(&wh_lock);
}

/* ---------- scheduling ---------- */

static struct wh_event *status_event(const struct wh_send *s, const char *status, int64_t due,
                                     int64_t timestamp)
{
    struct wh_event *e = xcalloc(1, sizeof(*e));
    e->due_ms = due;
    e->timestamp = timestamp;
    snprintf(e->status, sizeof e->status, "%s", status);
    snprintf(e->id, sizeof e->id, "%s", s->wamid);
    snprintf(e->phone_id, sizeof e->phone_id, "%s", s->phone_id);
    snprintf(e->display, sizeof e->display, "%s", s->display_digits);
    snprintf(e->recipient, sizeof e->recipient, "%s", s->wa_id);
    snprintf(e->category, sizeof e->category, "%s", s->category ? s->category : "utility");
    snprintf(e->pricing_type, sizeof e->pricing_type, "%s",
             s->pricing_type ? s->pricing_type : "regular");
    e->billable = s->billable;
    e->hide_recipient = s->hide_recipient;
    snprintf(e->user_id, sizeof e->user_id, "%s", s->user_id ? s->user_id : "");
    e->biz_opaque = xstrdup(s->biz_opaque);
    return e;
}

void webhook_schedule(const struct wh_send *s)
{
    struct sim_settings set;
    struct fault_webhooks f;
    struct wh_event *ev[3];
    size_t n = 0;

    settings_get(&set);
    if (!set.webhook_url[0])
        return;
    faults_webhooks(&f);
    int64_t now = monotonic_ms();
    int64_t wall = sim_wall_ms() / 1000;
    int64_t step = set.status_delay_ms;
    int64_t base = now + step + f.delay_ms;

    if (s->fail_code) {
        ev[n] = status_event(s, "failed", base, wall + (base - now) / 1000);
        ev[n]->error_code = s->fail_code;
        ev[n]->error_details = xstrdup(s->fail_details);
        n++;
    } else if (s->ttl_ms > 0) { /* phone off: sent, never delivered, failed at the TTL */
        int64_t t_fail = now + s->ttl_ms + f.delay_ms;
        if (set.statuses & ST_SENT)
            ev[n++] = status_event(s, "sent", base, wall + (base - now) / 1000);
        ev[n] = status_event(s, "failed", t_fail > base ? t_fail : base + 1,
                             wall + (t_fail - now) / 1000);
        ev[n]->error_code = set.ttl_error_code;
        ev[n]->error_details =
            xstrdup("Message expired: it could not be delivered within its time-to-live.");
        n++;
    } else {
        bool reorder = f.reorder_rate > 0 &&
                       (set.statuses & (ST_SENT | ST_DELIVERED)) == (ST_SENT | ST_DELIVERED) &&
                       prng_unit(&sim_rng) < f.reorder_rate;
        int64_t t_sent = base, t_delivered = base + step, t_read = base + 2 * step;
        if (reorder) { /* delivered first, sent one step later */
            ev[n++] = status_event(s, "delivered", base, wall + (t_delivered - now) / 1000);
            ev[n++] =
                status_event(s, "sent", base + (step ? step : 1), wall + (t_sent - now) / 1000);
        } else {
            if (set.statuses & ST_SENT)
                ev[n++] = status_event(s, "sent", t_sent, wall + (t_sent - now) / 1000);
            if (set.statuses & ST_DELIVERED)
                ev[n++] =
                    status_event(s, "delivered", t_delivered, wall + (t_delivered - now) / 1000);
        }
        if (set.statuses & ST_READ)
            ev[n++] = status_event(s, "read", t_read, wall + (t_read - now) / 1000);
    }
    for (size_t i = 0; i < n; i++)
        snprintf(ev[i]->pricing_mode, sizeof ev[i]->pricing_mode, "%s", set.pricing);
    enqueue(ev, n);
}

int webhook_inbound(const struct wh_inbound *in)
{
    struct sim_settings set;
    settings_get(&set);
    if (!set.webhook_url[0])
        return -1;
    struct wh_event *e = xcalloc(1, sizeof(*e));
    e->inbound = true;
    e->due_ms = monotonic_ms();
    e->timestamp = in->timestamp;
    snprintf(e->id, sizeof e->id, "%s", in->wamid);
    snprintf(e->phone_id, sizeof e->phone_id, "%s", in->phone_id);
    snprintf(e->display, sizeof e->display, "%s", in->display_digits);
    snprintf(e->recipient, sizeof e->recipient, "%s", in->from ? in->from : "");
    snprintf(e->user_id, sizeof e->user_id, "%s", in->user_id ? in->user_id : "");
    snprintf(e->username, sizeof e->username, "%s", in->username ? in->username : "");
    e->text = xstrdup(in->text);
    e->name = xstrdup(in->name);
    enqueue(&e, 1);
    return 0;
}

int webhook_account(const char *field, json_t *value, long delay_ms)
{
    struct sim_settings set;
    struct fault_webhooks f;
    settings_get(&set);
    if (!set.webhook_url[0]) {
        json_decref(value);
        return -1;
    }
    faults_webhooks(&f);
    struct wh_event *e = xcalloc(1, sizeof(*e));
    e->due_ms = monotonic_ms() + f.delay_ms + delay_ms;
    /* reordering: this change is held back one status step, so a later one overtakes it */
    if (f.reorder_rate > 0 && prng_unit(&sim_rng) < f.reorder_rate)
        e->due_ms += set.status_delay_ms > 0 ? set.status_delay_ms : 1;
    e->timestamp = (sim_wall_ms() + delay_ms) / 1000;
    e->field = xstrdup(field);
    e->value = json_dump_compact(value);
    json_decref(value);
    enqueue(&e, 1);
    return 0;
}

/* ---------- payloads ---------- */

/* A hex conversation id derived from the number, the recipient and the category: the
 * same conversation for a day, like Meta's, and no draw from the PRNG. */
static json_t *conversation_json(const struct wh_event *e)
{
    uint64_t h = 1469598103934665603ULL;
    const char *parts[] = {e->phone_id, e->recipient, e->category};
    for (size_t i = 0; i < 3; i++) {
        for (const char *c = parts[i]; *c; c++)
            h = (h ^ (unsigned char)*c) * 1099511628211ULL;
    }
    h ^= (uint64_t)(e->timestamp / 86400);
    return json_pack("{s:o, s:{s:s}, s:o}", "id",
                     json_sprintf("%016llx%016llx", (unsigned long long)prng_mix(h),
                                  (unsigned long long)prng_mix(h + 1)),
                     "origin", "type", e->category, "expiration_timestamp",
                     json_sprintf("%lld", (long long)((e->timestamp / 86400 + 1) * 86400)));
}

static json_t *status_json(const struct wh_event *e)
{
    json_t *o = json_pack("{s:s, s:s, s:s}", "id", e->id, "status", e->status, "timestamp", "");
    json_object_set_new(o, "timestamp", json_sprintf("%lld", (long long)e->timestamp));
    if (!e->hide_recipient)
        json_object_set_new(o, "recipient_id", json_string(e->recipient));
    if (e->user_id[0])
        json_object_set_new(o, "recipient_user_id", json_string(e->user_id));
    if (e->biz_opaque)
        json_object_set_new(o, "biz_opaque_callback_data", json_string(e->biz_opaque));
    if (e->error_code) {
        json_object_set_new(o, "errors",
                            json_pack("[o]", gerr_async_error(e->error_code, e->error_details)));
    } else if (strcmp(e->pricing_mode, "cbp") == 0) { /* before July 2025 */
        json_object_set_new(o, "conversation", conversation_json(e));
        json_object_set_new(o, "pricing",
                            json_pack("{s:b, s:s, s:s}", "billable", e->billable, "pricing_model",
                                      "CBP", "category", e->category));
    } else if (strcmp(e->pricing_mode, "none") != 0) {
        json_object_set_new(o, "pricing",
                            json_pack("{s:b, s:s, s:s, s:s}", "billable", e->billable,
                                      "pricing_model", "PMP", "category", e->category, "type",
                                      e->pricing_type));
    }
    return o;
}

/* Adds e to the "value" of its phone number in changes, creating it on first use. */
static void add_to_changes(json_t *changes, const struct wh_event *e)
{
    json_t *value = NULL;
    size_t i;
    json_t *change;
    json_array_foreach (changes, i, change) {
        json_t *v = json_object_get(change, "value");
        const char *id =
            json_string_value(json_object_get(json_object_get(v, "metadata"), "phone_number_id"));
        if (id && strcmp(id, e->phone_id) == 0) {
            value = v;
            break;
        }
    }
    if (!value) {
        value = json_pack("{s:s, s:{s:s, s:s}}", "messaging_product", "whatsapp", "metadata",
                          "display_phone_number", e->display, "phone_number_id", e->phone_id);
        json_array_append_new(changes,
                              json_pack("{s:o, s:s}", "value", value, "field", "messages"));
    }
    if (!e->inbound) {
        json_t *statuses = json_object_get(value, "statuses");
        if (!statuses) {
            statuses = json_array();
            json_object_set_new(value, "statuses", statuses);
        }
        json_array_append_new(statuses, status_json(e));
        return;
    }
    json_t *contacts = json_object_get(value, "contacts");
    json_t *messages = json_object_get(value, "messages");
    if (!contacts) {
        contacts = json_array();
        json_object_set_new(value, "contacts", contacts);
    }
    if (!messages) {
        messages = json_array();
        json_object_set_new(value, "messages", messages);
    }
    json_t *contact = json_pack("{s:{s:s}}", "profile", "name", e->name ? e->name : "");
    json_t *m = json_pack("{s:s, s:s, s:s, s:{s:s}}", "id", e->id, "timestamp", "", "type", "text",
                          "text", "body", e->text ? e->text : "");
    if (e->username[0])
        json_object_set_new(json_object_get(contact, "profile"), "username",
                            json_string(e->username));
    if (e->recipient[0]) { /* a user known only by user_id has neither */
        json_object_set_new(contact, "wa_id", json_string(e->recipient));
        json_object_set_new(m, "from", json_string(e->recipient));
    }
    if (e->user_id[0]) {
        json_object_set_new(contact, "user_id", json_string(e->user_id));
        json_object_set_new(m, "from_user_id", json_string(e->user_id));
    }
    json_array_append_new(contacts, contact);
    json_object_set_new(m, "timestamp", json_sprintf("%lld", (long long)e->timestamp));
    json_array_append_new(messages, m);
}

/* The whole POST body for n events; the caller frees it. Messages changes share one
 * entry; account-level changes come in an entry of their own with Meta's "time". */
static char *build_body(struct wh_event **batch, size_t n)
{
    json_t *changes = json_array();
    json_t *account = json_array();
    int64_t time = 0;
    for (size_t i = 0; i < n; i++) {
        if (!batch[i]->field) {
            add_to_changes(changes, batch[i]);
            continue;
        }
        json_t *value = json_loads(batch[i]->value, JSON_DECODE_ANY, NULL);
        json_array_append_new(account, json_pack("{s:o, s:s}", "value", value ? value : json_null(),
                                                 "field", batch[i]->field));
        if (batch[i]->timestamp > time)
            time = batch[i]->timestamp;
    }
    json_t *entries = json_array();
    if (json_array_size(changes))
        json_array_append_new(entries,
                              json_pack("{s:s, s:O}", "id", sim_cfg.waba_id, "changes", changes));
    if (json_array_size(account))
        json_array_append_new(entries, json_pack("{s:s, s:I, s:O}", "id", sim_cfg.waba_id, "time",
                                                 (json_int_t)time, "changes", account));
    json_decref(changes);
    json_decref(account);
    json_t *root = json_pack("{s:s, s:o}", "object", "whatsapp_business_account", "entry", entries);
    char *body = json_dump_compact(root);
    json_decref(root);
    return body;
}

/* ---------- delivery ---------- */

static size_t discard(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    (void)ptr;
    (void)userdata;
    return size * nmemb;
}

/* POSTs body; returns true on a 2xx answer. */
static bool post(CURL *curl, const struct sim_settings *set, const char *body, long *status,
                 char *err, size_t errlen)
{
    char sig[HMAC_SHA256_HEX_LEN];
    char header[128];
    struct curl_slist *headers = NULL;
    bool ok = false;

    *status = 0;
    err[0] = '\0';
    if (hmac_sha256_hex(set->app_secret, strlen(set->app_secret), body, strlen(body), sig) != 0) {
        snprintf(err, errlen, "HMAC failed");
        goto out;
    }
    snprintf(header, sizeof header, "X-Hub-Signature-256: sha256=%s", sig);
    headers = curl_slist_append(headers, "Content-Type: application/json");
    headers = curl_slist_append(headers, header);
    headers = curl_slist_append(headers, "Expect:");
    curl_easy_setopt(curl, CURLOPT_URL, set->webhook_url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "facebookexternalua");
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, sim_cfg.webhook_timeout_ms);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                     sim_cfg.webhook_timeout_ms < 2000 ? sim_cfg.webhook_timeout_ms : 2000L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    CURLcode cc = curl_easy_perform(curl);
    if (cc != CURLE_OK) {
        snprintf(err, errlen, "%s", curl_easy_strerror(cc));
        goto out;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
    ok = *status >= 200 && *status < 300;
    if (!ok)
        snprintf(err, errlen, "HTTP %ld", *status);
out:
    curl_slist_free_all(headers);
    return ok;
}

/* Called with the lock held after a failed attempt: wait before the next one. */
static void back_off_locked(const char *why)
{
    int64_t now = monotonic_ms();
    backoff_ms = backoff_ms ? backoff_ms * 2 : sim_cfg.webhook_retry_min_ms;
    if (backoff_ms > sim_cfg.webhook_retry_max_ms)
        backoff_ms = sim_cfg.webhook_retry_max_ms;
    hold_until_ms = now + backoff_ms;
    st.posts_failed++;
    snprintf(st.last_error, sizeof st.last_error, "%s", why);
    log_warn("webhook delivery failed; retrying\terror=\"%s\" retry_in_ms=%ld pending=%zu", why,
             backoff_ms, heap_n);
}

static void wait_until_locked(int64_t wake_ms)
{
    int64_t now = monotonic_ms();
    int64_t ms = wake_ms - now;
    if (ms > 1000)
        ms = 1000; /* re-read settings and faults at least once a second */
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&wh_cond, &wh_lock, &ts);
}

/* Sends batch[0..n) (taken off the heap) and settles it under the lock. */
static void deliver_locked(CURL *curl, struct wh_event **batch, size_t n,
                           const struct sim_settings *set, const struct fault_webhooks *f)
{
    char err[160];
    long status = 0;
    uint64_t gen = generation;
    st.in_flight = n;
    pthread_mutex_unlock(&wh_lock);
    char *body = build_body(batch, n);
    bool ok = post(curl, set, body, &status, err, sizeof err);
    free(body);
    pthread_mutex_lock(&wh_lock);
    st.in_flight = 0;
    st.last_http_status = status;
    if (gen != generation) { /* reset while in flight: these belong to the old state */
        for (size_t i = 0; i < n; i++)
            event_free(batch[i]);
        return;
    }
    if (!ok) {
        for (size_t i = 0; i < n; i++)
            heap_push(batch[i]); /* same due time and sequence: back in front, in order */
        back_off_locked(err);
        return;
    }
    st.posts_ok++;
    backoff_ms = 0;
    hold_until_ms = 0;
    int64_t now = monotonic_ms();
    for (size_t i = 0; i < n; i++) {
        struct wh_event *e = batch[i];
        if (e->inbound)
            st.inbound++;
        else if (e->field)
            st.account++;
        else
            st.statuses++;
        if (e->duplicate)
            st.duplicates++;
        if (!e->duplicate && f->duplicate_rate > 0 && prng_unit(&sim_rng) < f->duplicate_rate) {
            e->duplicate = true;
            e->due_ms = now + set->duplicate_delay_ms;
            enqueue_locked(e); /* the same event again, in a later POST */
            continue;
        }
        event_free(e);
    }
}

static void *run(void *arg)
{
    (void)arg;
    CURL *curl = curl_easy_init();
    struct wh_event **batch = xmalloc(1000 * sizeof(*batch));
    pthread_mutex_lock(&wh_lock);
    while (!wh_stopping) {
        struct sim_settings set;
        struct fault_webhooks f;
        settings_get(&set);
        faults_webhooks(&f);
        int64_t now = monotonic_ms();
        int64_t wake = heap_n ? heap[0]->due_ms : now + 1000;
        if (hold_until_ms > wake)
            wake = hold_until_ms;
        if (!heap_n || !set.webhook_url[0] || wake > now || !curl) {
            wait_until_locked(heap_n && set.webhook_url[0] ? wake : now + 1000);
            continue;
        }
        if (f.down) { /* the simulated target is unreachable */
            back_off_locked("webhook target down (fault)");
            continue;
        }
        size_t n = 0;
        size_t max = set.batch_max > 0 && set.batch_max <= 1000 ? (size_t)set.batch_max : 1000;
        while (heap_n && heap[0]->due_ms <= now && n < max)
            batch[n++] = heap_pop();
        deliver_locked(curl, batch, n, &set, &f);
    }
    pthread_mutex_unlock(&wh_lock);
    free(batch);
    if (curl)
        curl_easy_cleanup(curl);
    return NULL;
}

int webhook_start(void)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&wh_cond, &attr);
    pthread_condattr_destroy(&attr);
    wh_stopping = false;
    if (pthread_create(&wh_thread, NULL, run, NULL) != 0) {
        log_error("cannot start the webhook thread");
        return -1;
    }
    wh_running = true;
    return 0;
}

static void drop_all_locked(void)
{
    while (heap_n)
        event_free(heap[--heap_n]);
}

void webhook_stop(void)
{
    if (!wh_running)
        return;
    pthread_mutex_lock(&wh_lock);
    wh_stopping = true;
    pthread_cond_signal(&wh_cond);
    pthread_mutex_unlock(&wh_lock);
    pthread_join(wh_thread, NULL);
    wh_running = false;
    pthread_mutex_lock(&wh_lock);
    if (heap_n)
        log_info("dropping pending webhooks at exit\tpending=%zu", heap_n);
    drop_all_locked();
    free(heap);
    heap = NULL;
    heap_cap = 0;
    pthread_mutex_unlock(&wh_lock);
    pthread_cond_destroy(&wh_cond);
}

void webhook_kick(void)
{
    pthread_mutex_lock(&wh_lock);
    hold_until_ms = 0;
    backoff_ms = 0;
    pthread_cond_signal(&wh_cond);
    pthread_mutex_unlock(&wh_lock);
}

void webhook_reset(void)
{
    pthread_mutex_lock(&wh_lock);
    drop_all_locked();
    generation++;
    hold_until_ms = 0;
    backoff_ms = 0;
    uint64_t in_flight = st.in_flight;
    memset(&st, 0, sizeof st);
    st.in_flight = in_flight;
    pthread_cond_signal(&wh_cond);
    pthread_mutex_unlock(&wh_lock);
}

double webhook_pending(void *unused)
{
    (void)unused;
    pthread_mutex_lock(&wh_lock);
    size_t n = heap_n + st.in_flight;
    pthread_mutex_unlock(&wh_lock);
    return (double)n;
}

json_t *webhook_stats_json(void)
{
    pthread_mutex_lock(&wh_lock);
    int64_t now = monotonic_ms();
    json_t *o = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:I}", "pending",
                          (json_int_t)heap_n, "in_flight", (json_int_t)st.in_flight, "posts_ok",
                          (json_int_t)st.posts_ok, "posts_failed", (json_int_t)st.posts_failed,
                          "statuses_delivered", (json_int_t)st.statuses, "inbound_delivered",
                          (json_int_t)st.inbound, "duplicates_delivered", (json_int_t)st.duplicates,
                          "dropped", (json_int_t)st.dropped, "last_http_status",
                          (json_int_t)st.last_http_status, "retry_in_ms",
                          (json_int_t)(hold_until_ms > now ? hold_until_ms - now : 0), "last_error",
                          st.last_error, "account_events_delivered", (json_int_t)st.account);
    pthread_mutex_unlock(&wh_lock);
    return o;
}
