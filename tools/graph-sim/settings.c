/* settings.c - run-time knobs under one mutex, copied out to readers. */
#include "settings.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "sim.h"
#include "strlist.h"

static pthread_mutex_t settings_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sim_settings current;
static struct sim_settings initial;

bool settings_parse_statuses(const char *s, unsigned *out)
{
    static const char *const words[] = {"sent", "delivered", "read"};
    static const unsigned bits_of[] = {ST_SENT, ST_DELIVERED, ST_READ};
    unsigned bits = 0;
    const char *w;
    size_t m;
    while (strlist_next(&s, &w, &m)) {
        strlist_trim(&w, &m);
        size_t i = strlist_find(words, 3, w, m);
        if (i < 3)
            bits |= bits_of[i];
        else if (m != 0)
            return false;
    }
    *out = bits;
    return true;
}

static int copy_str(char *dst, size_t cap, const char *src, const char *name, char *err,
                    size_t errlen)
{
    if (strlen(src) >= cap) {
        snprintf(err, errlen, "%s is longer than %zu bytes", name, cap - 1);
        return -1;
    }
    snprintf(dst, cap, "%s", src);
    return 0;
}

static bool valid_pricing(const char *p)
{
    return strcmp(p, "pmp") == 0 || strcmp(p, "cbp") == 0 || strcmp(p, "none") == 0;
}

/* Meta's portfolio tiers (0 = unlimited). */
static bool valid_limit(long n)
{
    return n == 0 || n == 250 || n == 2000 || n == 10000 || n == 100000;
}

int settings_init(char *err, size_t errlen)
{
    struct sim_settings s;
    memset(&s, 0, sizeof s);
    s.mps = sim_cfg.mps;
    s.pair_window_ms = sim_cfg.pair_window_ms;
    s.status_delay_ms = sim_cfg.status_delay_ms;
    s.duplicate_delay_ms = sim_cfg.duplicate_delay_ms;
    s.batch_max = sim_cfg.webhook_batch_max;
    if (!settings_parse_statuses(sim_cfg.statuses, &s.statuses)) {
        snprintf(err, errlen, "GRAPH_SIM_STATUSES must list sent, delivered and/or read");
        return -1;
    }
    s.template_review_ms = sim_cfg.template_review_ms;
    s.messaging_limit = sim_cfg.messaging_limit;
    s.ttl_error_code = 131026;
    snprintf(s.reject_reason, sizeof s.reject_reason, "INVALID_FORMAT");
    if (!valid_pricing(sim_cfg.pricing) || !valid_limit(sim_cfg.messaging_limit)) {
        snprintf(err, errlen,
                 "GRAPH_SIM_PRICING must be pmp, cbp or none and "
                 "GRAPH_SIM_MESSAGING_LIMIT 0, 250, 2000, 10000 or 100000");
        return -1;
    }
    snprintf(s.pricing, sizeof s.pricing, "%s", sim_cfg.pricing);
    if (copy_str(s.reject_languages, sizeof s.reject_languages, sim_cfg.reject_languages,
                 "GRAPH_SIM_TEMPLATE_REJECT_LANGUAGES", err, errlen) ||
        copy_str(s.webhook_url, sizeof s.webhook_url, sim_cfg.webhook_url, "GRAPH_SIM_WEBHOOK_URL",
                 err, errlen) ||
        copy_str(s.app_secret, sizeof s.app_secret, sim_cfg.app_secret, "GRAPH_SIM_APP_SECRET", err,
                 errlen) ||
        copy_str(s.access_token, sizeof s.access_token, sim_cfg.access_token,
                 "GRAPH_SIM_ACCESS_TOKEN", err, errlen))
        return -1;
    pthread_mutex_lock(&settings_lock);
    initial = s;
    current = s;
    pthread_mutex_unlock(&settings_lock);
    return 0;
}

void settings_reset(void)
{
    pthread_mutex_lock(&settings_lock);
    current = initial;
    pthread_mutex_unlock(&settings_lock);
}

void settings_get(struct sim_settings *out)
{
    pthread_mutex_lock(&settings_lock);
    *out = current;
    pthread_mutex_unlock(&settings_lock);
}

void settings_limits(long *mps, long *pair_window_ms)
{
    pthread_mutex_lock(&settings_lock);
    *mps = current.mps;
    *pair_window_ms = current.pair_window_ms;
    pthread_mutex_unlock(&settings_lock);
}

bool settings_token_ok(const char *token)
{
    bool ok;
    size_t n = strlen(token);
    pthread_mutex_lock(&settings_lock);
    ok = n == strlen(current.access_token) && n > 0 &&
         CRYPTO_memcmp(token, current.access_token, n) == 0;
    pthread_mutex_unlock(&settings_lock);
    return ok;
}

/* Reads an integer key into *dst when present; -1 on a wrong type or range. */
static int get_long(const json_t *obj, const char *key, long min, long max, long *dst, char *err,
                    size_t errlen)
{
    const json_t *v = json_object_get(obj, key);
    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
        snprintf(err, errlen, "%s must be an integer between %ld and %ld", key, min, max);
        return -1;
    }
    *dst = (long)json_integer_value(v);
    return 0;
}

static int get_str(const json_t *obj, const char *key, char *dst, size_t cap, bool url, char *err,
                   size_t errlen)
{
    const json_t *v = json_object_get(obj, key);
    if (!v)
        return 0;
    if (!json_is_string(v)) {
        snprintf(err, errlen, "%s must be a string", key);
        return -1;
    }
    const char *s = json_string_value(v);
    if (url && *s && strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0) {
        snprintf(err, errlen, "%s must be an http:// or https:// URL (or empty)", key);
        return -1;
    }
    return copy_str(dst, cap, s, key, err, errlen);
}

int settings_update(const json_t *obj, char *err, size_t errlen)
{
    static const char *const known[] = {"mps",
                                        "pair_window_ms",
                                        "status_delay_ms",
                                        "duplicate_delay_ms",
                                        "batch_max",
                                        "statuses",
                                        "webhook_url",
                                        "app_secret",
                                        "access_token",
                                        "template_review_ms",
                                        "reject_languages",
                                        "reject_reason",
                                        "messaging_limit",
                                        "pricing",
                                        "ttl_error_code"};
    const char *unknown = strlist_unknown_key(obj, known, sizeof known / sizeof known[0]);
    const json_t *v;
    struct sim_settings s;

    if (unknown) {
        snprintf(err, errlen, "%s is not a known setting", unknown);
        return -1;
    }
    settings_get(&s);
    if (get_long(obj, "mps", 0, 10000, &s.mps, err, errlen) ||
        get_long(obj, "pair_window_ms", 0, 86400000, &s.pair_window_ms, err, errlen) ||
        get_long(obj, "status_delay_ms", 0, 3600000, &s.status_delay_ms, err, errlen) ||
        get_long(obj, "duplicate_delay_ms", 0, 3600000, &s.duplicate_delay_ms, err, errlen) ||
        get_long(obj, "batch_max", 1, 1000, &s.batch_max, err, errlen) ||
        get_str(obj, "webhook_url", s.webhook_url, sizeof s.webhook_url, true, err, errlen) ||
        get_str(obj, "app_secret", s.app_secret, sizeof s.app_secret, false, err, errlen) ||
        get_str(obj, "access_token", s.access_token, sizeof s.access_token, false, err, errlen) ||
        get_long(obj, "template_review_ms", 0, 86400000, &s.template_review_ms, err, errlen) ||
        get_long(obj, "messaging_limit", 0, 100000, &s.messaging_limit, err, errlen) ||
        get_long(obj, "ttl_error_code", 1, 99999999, &s.ttl_error_code, err, errlen) ||
        get_str(obj, "reject_reason", s.reject_reason, sizeof s.reject_reason, false, err,
                errlen) ||
        get_str(obj, "pricing", s.pricing, sizeof s.pricing, false, err, errlen))
        return -1;
    if (!valid_pricing(s.pricing) || !valid_limit(s.messaging_limit)) {
        snprintf(err, errlen,
                 "pricing must be pmp, cbp or none; messaging_limit 0 (unlimited), "
                 "250, 2000, 10000 or 100000");
        return -1;
    }
    v = json_object_get(obj, "reject_languages");
    if (v) {
        size_t i;
        const json_t *item;
        if (!json_is_array(v)) {
            snprintf(err, errlen, "reject_languages must be an array of language codes");
            return -1;
        }
        s.reject_languages[0] = '\0';
        json_array_foreach (v, i, item) {
            const char *lang = json_string_value(item);
            size_t used = strlen(s.reject_languages);
            if (!lang || strlen(lang) > 15 || used + strlen(lang) + 2 > sizeof s.reject_languages) {
                snprintf(err, errlen, "reject_languages must be an array of language codes");
                return -1;
            }
            snprintf(s.reject_languages + used, sizeof s.reject_languages - used, "%s%s",
                     used ? "," : "", lang);
        }
    }
    v = json_object_get(obj, "statuses");
    if (v) {
        unsigned bits = 0;
        size_t i;
        const json_t *item;
        if (!json_is_array(v)) {
            snprintf(err, errlen, "statuses must be an array of sent, delivered, read");
            return -1;
        }
        json_array_foreach (v, i, item) {
            unsigned one;
            if (!json_is_string(item) || !settings_parse_statuses(json_string_value(item), &one)) {
                snprintf(err, errlen, "statuses must be an array of sent, delivered, read");
                return -1;
            }
            bits |= one;
        }
        s.statuses = bits;
    }
    if (!s.access_token[0]) {
        snprintf(err, errlen, "access_token must not be empty");
        return -1;
    }
    pthread_mutex_lock(&settings_lock);
    current = s;
    pthread_mutex_unlock(&settings_lock);
    return 0;
}

json_t *settings_json(void)
{
    struct sim_settings s;
    settings_get(&s);
    json_t *statuses = json_array();
    if (s.statuses & ST_SENT)
        json_array_append_new(statuses, json_string("sent"));
    if (s.statuses & ST_DELIVERED)
        json_array_append_new(statuses, json_string("delivered"));
    if (s.statuses & ST_READ)
        json_array_append_new(statuses, json_string("read"));
    json_t *out = json_pack("{s:I, s:I, s:s, s:s, s:I, s:s}", "template_review_ms",
                            (json_int_t)s.template_review_ms, "messaging_limit",
                            (json_int_t)s.messaging_limit, "reject_languages", s.reject_languages,
                            "reject_reason", s.reject_reason, "ttl_error_code",
                            (json_int_t)s.ttl_error_code, "pricing", s.pricing);
    json_t *base = json_pack("{s:I, s:I, s:I, s:I, s:I, s:o, s:s, s:b, s:I}", "mps",
                             (json_int_t)s.mps, "pair_window_ms", (json_int_t)s.pair_window_ms,
                             "status_delay_ms", (json_int_t)s.status_delay_ms, "duplicate_delay_ms",
                             (json_int_t)s.duplicate_delay_ms, "batch_max", (json_int_t)s.batch_max,
                             "statuses", statuses, "webhook_url", s.webhook_url, "app_secret_set",
                             s.app_secret[0] != '\0', "access_token_length",
                             (json_int_t)strlen(s.access_token));
    json_object_update_new(base, out);
    return base;
}
