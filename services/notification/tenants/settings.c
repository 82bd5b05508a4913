/* tenant_settings.c - a hash of tenant id to settings under one mutex, kept current by
 * the answers of tenant-service's change feed. Every answer, whoever asked, goes through
 * apply(), which holds two invariants:
 *   - every cached entry reflects every change numbered up to the position;
 *   - every change committed before the mark has a number up to the position.
 * A change only ever replaces an entry with a newer one (its number is higher), so
 * answers may arrive in any order. */
#include "tenants/settings.h"

#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "auth.h"
#include "hmap.h"
#include "httpclient.h"
#include "log.h"
#include "monotonic.h"
#include "service_token.h"
#include "uuidutil.h"

#define DOWN_BACKOFF_MS 250 /* after a failed request, ask again after this */
#define FOLLOW_WAIT_MS 1000 /* a long poll's wait; also how long stopping may take */
#define ASK_MAX 100         /* tenants asked for in one request (the feed's limit) */
#define MIN_BUCKETS 64
#define MAX_ENTRIES 200000 /* past this the cache starts over */
#define EPOCH_MAX 64

struct entry {
    struct hmap_node node;
    char tenant_id[UUID_STR_LEN];
    bool known;       /* false: tenant-service has no such tenant */
    long long seq;    /* the change number of these settings */
    int64_t as_of_us; /* wall clock: a snapshot of this tenant sent then */
    struct tenant_settings settings;
};

struct tenant_settings_cache {
    const char *base_url; /* without a trailing '/' (CFG_URL) */
    long timeout_ms;
    struct service_token token;

    pthread_mutex_t lock;  /* everything below */
    int64_t down_until_ms; /* monotonic: after a failure, do not ask before this */
    bool down_logged;
    bool have_position;
    long long position;
    int64_t mark_us; /* wall clock, microseconds */
    char epoch[EPOCH_MAX];
    struct hmap entries; /* of struct entry, by tenant id */

    /* the follower */
    pthread_t follower;
    bool following;
    _Atomic bool stop;
};

/* ---------- the entries ---------- */

static struct entry *find(const struct tenant_settings_cache *c, const char *id)
{
    uint64_t hash = hmap_hash_str(id);
    for (struct hmap_node *n = hmap_first(&c->entries, hash); n; n = hmap_next(n)) {
        struct entry *e = hmap_entry(n, struct entry, node);
        if (strcmp(e->tenant_id, id) == 0)
            return e;
    }
    return NULL;
}

static void free_entry(struct hmap_node *n, void *arg)
{
    (void)arg;
    free(hmap_entry(n, struct entry, node));
}

static void clear(struct tenant_settings_cache *c)
{
    hmap_drain(&c->entries, free_entry, NULL);
}

static struct entry *insert(struct tenant_settings_cache *c, const char *id)
{
    if (c->entries.count >= MAX_ENTRIES)
        clear(c); /* 200,000 bakeries: the feed refills what is used */
    struct entry *e = xcalloc(1, sizeof(*e));
    snprintf(e->tenant_id, sizeof e->tenant_id, "%s", id);
    hmap_insert(&c->entries, &e->node, hmap_hash_str(id));
    return e;
}

/* ---------- settings ---------- */

static bool all_digits(const char *s, size_t max)
{
    size_t n = strspn(s, "0123456789");
    return n > 0 && n <= max && s[n] == '\0';
}

static bool valid_language(const char *s)
{
    size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_-");
    return n >= 2 && n < TENANT_LANGUAGE_MAX && s[n] == '\0';
}

static bool bool_key(const json_t *obj, const char *key, bool def)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_boolean(v) ? json_is_true(v) : def;
}

/* A plan's name as tenant-service writes them: lower-case letters, digits, '_'. */
static bool valid_plan(const char *s)
{
    size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_");
    return n >= 1 && n < TENANT_PLAN_MAX && s[n] == '\0';
}

/* Copies the string value of key into out (cut to len), "" when absent or not a string. */
static void string_key(const json_t *obj, const char *key, char *out, size_t len)
{
    const char *v = json_string_value(json_object_get(obj, key));
    snprintf(out, len, "%s", v ? v : "");
}

/* DESIGN.md section 3's keys and the plan's two, defaults for absent or mistyped ones. */
void tenant_settings_parse(const json_t *obj, struct tenant_settings *out)
{
    memset(out, 0, sizeof(*out));
    out->whatsapp_enabled = bool_key(obj, "whatsapp_enabled", false);
    out->po_notifications_enabled = bool_key(obj, "enable_po_notifications", true);
    const char *plan = json_string_value(json_object_get(obj, "plan"));
    snprintf(out->plan, sizeof out->plan, "%s", plan && valid_plan(plan) ? plan : "");
    /* the plan's quota; absent (an older tenant-service) or null: unlimited */
    const json_t *quota = json_object_get(obj, "whatsapp_monthly_quota");
    out->monthly_quota = json_is_integer(quota) && json_integer_value(quota) >= 0 &&
                                 json_integer_value(quota) <= LONG_MAX
                             ? (long)json_integer_value(quota)
                             : TENANT_QUOTA_UNLIMITED;
    const char *phone = json_string_value(json_object_get(obj, "whatsapp_phone_number_id"));
    if (phone && *phone) {
        if (all_digits(phone, TENANT_PHONE_ID_MAX - 1))
            snprintf(out->phone_number_id, sizeof out->phone_number_id, "%s", phone);
        else
            out->phone_number_id_invalid = true;
    }
    const char *display = json_string_value(json_object_get(obj, "whatsapp_display_phone_number"));
    snprintf(out->display_phone_number, sizeof out->display_phone_number, "%s",
             display ? display : "");
    const char *language = json_string_value(json_object_get(obj, "whatsapp_default_language"));
    snprintf(out->language, sizeof out->language, "%s",
             language && valid_language(language) ? language : "es");
    out->email_enabled = bool_key(obj, "email_enabled", true);
    string_key(obj, "email_from_address", out->email_from_address, sizeof out->email_from_address);
    string_key(obj, "email_from_name", out->email_from_name, sizeof out->email_from_name);
    string_key(obj, "email_reply_to", out->email_reply_to, sizeof out->email_reply_to);
    /* DESIGN.md's default is ["email"]; an absent or mistyped list (a tenant-service
     * older than its migration 0006) keeps the old behaviour of this service: WhatsApp */
    const json_t *channels = json_object_get(obj, "po_notification_channels");
    size_t i;
    const json_t *ch;
    out->po_channels = json_is_array(channels) ? 0 : TENANT_CHANNEL_WHATSAPP;
    json_array_foreach (channels, i, ch) {
        const char *name = json_string_value(ch);
        if (name && strcmp(name, "whatsapp") == 0)
            out->po_channels |= TENANT_CHANNEL_WHATSAPP;
        else if (name && strcmp(name, "email") == 0)
            out->po_channels |= TENANT_CHANNEL_EMAIL;
    }
}

/* Applies one feed row {tenant_id, seq, settings}: updates the entry when the row is
 * newer; creates it when create is set. Returns the entry (or NULL). */
static struct entry *apply_row(struct tenant_settings_cache *c, const json_t *row, bool create)
{
    char id[UUID_STR_LEN];
    const json_t *seq = json_object_get(row, "seq");
    const json_t *settings = json_object_get(row, "settings");
    if (!uuid_is_valid(json_string_value(json_object_get(row, "tenant_id")), id) ||
        !json_is_integer(seq) || !json_is_object(settings))
        return NULL;
    struct entry *e = find(c, id);
    if (!e && !create)
        return NULL;
    if (!e)
        e = insert(c, id);
    if (!e->known || json_integer_value(seq) > e->seq) {
        e->known = true;
        e->seq = json_integer_value(seq);
        tenant_settings_parse(settings, &e->settings);
    }
    return e;
}

/* Takes in an answer of the feed to a request sent at sent_us for the changes after
 * `after` (-1: none asked for) and the n tenants ids (their absence from the answer
 * means they do not exist). Under lock. */
static void apply(struct tenant_settings_cache *c, const json_t *doc, int64_t sent_us,
                  long long after, const char *const *ids, size_t n)
{
    const json_t *pos = json_object_get(doc, "position");
    const char *epoch = json_string_value(json_object_get(doc, "epoch"));
    if (!json_is_integer(pos) || !epoch || strlen(epoch) >= EPOCH_MAX) {
        log_warn("tenant-service's settings feed answered without position or epoch");
        return;
    }
    long long position = json_integer_value(pos);
    bool more = json_is_true(json_object_get(doc, "more"));
    /* Another database, or the same one restored: the numbers started over. */
    if (json_is_true(json_object_get(doc, "reset")) ||
        (c->epoch[0] && strcmp(c->epoch, epoch) != 0)) {
        log_warn("tenant-service's settings numbering started over; settings are read anew");
        clear(c);
        c->have_position = false;
        c->mark_us = 0;
    }
    snprintf(c->epoch, sizeof c->epoch, "%s", epoch);
    /* A tenant seen here for the first time is complete only if this answer is at least
     * as new as everything already applied (else changes in between would be missing). */
    bool may_create = !c->have_position || position >= c->position;
    size_t i;
    const json_t *row;
    json_array_foreach (json_object_get(doc, "changes"), i, row)
        (void)apply_row(c, row, false);
    json_array_foreach (json_object_get(doc, "tenants"), i, row) {
        struct entry *e = apply_row(c, row, may_create);
        if (e && e->as_of_us < sent_us)
            e->as_of_us = sent_us;
    }
    for (size_t k = 0; k < n && may_create; k++) {
        struct entry *e = find(c, ids[k]);
        if (!e) {
            e = insert(c, ids[k]);
            e->known = false;
            e->as_of_us = sent_us;
        }
    }
    /* The answer covers the changes in (after, position]: the position may move only
     * when that joins what was applied before. An answer that asked for no changes moves
     * it only for an empty cache (which it leaves complete by having nothing in it). */
    bool joins = c->have_position ? after >= 0 && after <= c->position : true;
    if (!joins)
        return;
    if (!c->have_position || position > c->position)
        c->position = position;
    c->have_position = true;
    if (!more && sent_us > c->mark_us)
        c->mark_us = sent_us;
}

/* ---------- asking tenant-service ---------- */

/* One feed request: the changes after the current position (when there is one), the
 * tenants ids, waiting up to wait_ms for news. Applies the answer. Returns 0 when it
 * had an answer; -1 when tenant-service could not be had (logged once per outage).
 * When answer is not NULL it receives a new reference to the answer's document. */
static int ask(struct tenant_settings_cache *c, const char *const *ids, size_t n, long wait_ms,
               json_t **answer)
{
    struct httpc_result res = {0};
    struct buf url = {0};
    char *token = NULL;
    int rc = -1;

    pthread_mutex_lock(&c->lock);
    long long after = c->have_position ? c->position : -1;
    buf_printf(&url, "%s/api/v1/internal/settings-changes?wait_ms=%ld", c->base_url,
               after >= 0 ? wait_ms : 0L);
    if (after >= 0)
        buf_printf(&url, "&after=%lld", after);
    for (size_t i = 0; i < n; i++)
        buf_printf(&url, "%s%s", i ? "," : "&tenant_id=", ids[i]);
    pthread_mutex_unlock(&c->lock);
    token = service_token_get(&c->token);
    if (!token)
        goto out;

    int64_t sent_us = wallclock_us();
    bool answered = httpc_json("GET", url.data, token, NULL, c->timeout_ms + wait_ms, &res) == 0;
    pthread_mutex_lock(&c->lock);
    if (answered && res.status == 200 && json_is_object(res.json)) {
        apply(c, res.json, sent_us, after, ids, n);
        if (c->down_logged)
            log_info("tenant-service answers again");
        c->down_logged = false;
        if (answer)
            *answer = json_incref(res.json);
        rc = 0;
    } else {
        log_debug("settings feed request failed\tstatus=%ld error=\"%s\" url=%s", res.status,
                  answered ? "" : res.error, url.data);
        if (!c->down_logged) {
            if (answered)
                log_warn("tenant-service refused the settings feed; messages wait\tstatus=%ld",
                         res.status);
            else
                log_warn("tenant-service unreachable; messages wait\terror=\"%s\"", res.error);
        }
        c->down_logged = true;
        c->down_until_ms = monotonic_ms() + DOWN_BACKOFF_MS;
    }
    pthread_mutex_unlock(&c->lock);
out:
    httpc_result_free(&res);
    buf_free(&url);
    free(token);
    return rc;
}

static bool down(struct tenant_settings_cache *c)
{
    pthread_mutex_lock(&c->lock);
    bool d = monotonic_ms() < c->down_until_ms;
    pthread_mutex_unlock(&c->lock);
    return d;
}

/* ---------- the follower ---------- */

static void *follow_run(void *arg)
{
    struct tenant_settings_cache *c = arg;
    while (!c->stop) {
        if (ask(c, NULL, 0, FOLLOW_WAIT_MS, NULL) != 0) {
            for (int i = 0; i < DOWN_BACKOFF_MS / 50 && !c->stop; i++)
                nanosleep(&(struct timespec){0, 50 * 1000000L}, NULL);
        }
    }
    httpc_thread_cleanup();
    return NULL;
}

/* ---------- the interface ---------- */

struct tenant_settings_cache *tenant_settings_new(const struct tenant_settings_config *cfg)
{
    struct tenant_settings_cache *c = xcalloc(1, sizeof(*c));
    c->base_url = cfg->base_url;
    service_token_init(&c->token, cfg->auth, "notification-service");
    c->timeout_ms = cfg->timeout_ms;
    pthread_mutex_init(&c->lock, NULL);
    hmap_init(&c->entries, MIN_BUCKETS);
    return c;
}

bool tenant_settings_follow(struct tenant_settings_cache *c)
{
    c->following = pthread_create(&c->follower, NULL, follow_run, c) == 0;
    if (!c->following)
        log_error("cannot start the settings follower");
    return c->following;
}

void tenant_settings_free(struct tenant_settings_cache *c)
{
    if (!c)
        return;
    c->stop = true;
    if (c->following)
        pthread_join(c->follower, NULL);
    clear(c);
    hmap_free(&c->entries);
    service_token_free(&c->token);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

void tenant_settings_refresh(struct tenant_settings_cache *c, const char *const *tenant_ids,
                             size_t n, int64_t need_us)
{
    const char *missing[ASK_MAX];
    size_t nmissing = 0;
    bool behind;

    pthread_mutex_lock(&c->lock);
    behind = !c->have_position || c->mark_us <= need_us;
    for (size_t i = 0; i < n; i++) {
        if (find(c, tenant_ids[i]))
            continue;
        bool dup = false;
        for (size_t k = 0; k < nmissing && !dup; k++)
            dup = strcmp(missing[k], tenant_ids[i]) == 0;
        if (dup)
            continue;
        if (nmissing == ASK_MAX)
            break; /* the next batch asks for the others */
        missing[nmissing++] = tenant_ids[i];
    }
    pthread_mutex_unlock(&c->lock);
    if ((behind || nmissing) && !down(c))
        (void)ask(c, missing, nmissing, 0, NULL);
}

enum tenant_settings_status tenant_settings_get(struct tenant_settings_cache *c,
                                                const char *tenant_id, int64_t need_us,
                                                struct tenant_settings *out)
{
    enum tenant_settings_status st = TENANT_SETTINGS_UNAVAILABLE;
    pthread_mutex_lock(&c->lock);
    const struct entry *e = find(c, tenant_id);
    if (e) {
        bool current = (c->have_position && c->mark_us > need_us) || e->as_of_us > need_us;
        if (!e->known)
            st = current ? TENANT_SETTINGS_UNKNOWN : TENANT_SETTINGS_UNAVAILABLE;
        else
            st = current ? TENANT_SETTINGS_OK : TENANT_SETTINGS_STALE;
        if (e->known)
            *out = e->settings;
    }
    pthread_mutex_unlock(&c->lock);
    return st;
}

bool tenant_settings_known(struct tenant_settings_cache *c, const char *tenant_id)
{
    pthread_mutex_lock(&c->lock);
    const struct entry *e = find(c, tenant_id);
    bool known = e && e->known;
    pthread_mutex_unlock(&c->lock);
    return known;
}

enum tenant_settings_status tenant_settings_exists(struct tenant_settings_cache *c,
                                                   const char *tenant_id)
{
    json_t *doc = NULL;
    enum tenant_settings_status st = TENANT_SETTINGS_UNAVAILABLE;

    if (tenant_settings_known(c, tenant_id))
        return TENANT_SETTINGS_OK;
    if (down(c) || ask(c, &tenant_id, 1, 0, &doc) != 0)
        return TENANT_SETTINGS_UNAVAILABLE;
    /* The answer itself says, whether or not the cache could keep it. */
    st = TENANT_SETTINGS_UNKNOWN;
    size_t i;
    const json_t *row;
    json_array_foreach (json_object_get(doc, "tenants"), i, row) {
        const char *id = json_string_value(json_object_get(row, "tenant_id"));
        if (id && strcmp(id, tenant_id) == 0)
            st = TENANT_SETTINGS_OK;
    }
    json_decref(doc);
    return st;
}
