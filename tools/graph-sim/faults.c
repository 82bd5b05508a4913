/* faults.c - the fault state: one struct under a mutex; an update builds a modified copy
 * and swaps it in only when every key was valid. Random decisions use the seeded PRNG. */
#include "faults.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "e164.h"
#include "sim.h"
#include "strlist.h"

#define MAX_RULES 64
#define MAX_NOT_ON_WA 1024

struct error_rule {
    long code;
    double rate; /* probability per matching send */
    long count;  /* remaining firings; -1 = no limit */
    int async;   /* 1, 0, or -1 = the code's usual way */
    unsigned http_status;
    char recipient[SIM_WA_ID_MAX]; /* empty = any */
    char phone_id[SIM_ID_MAX];     /* empty = any */
    char details[256];
};

/* Numbers as wa_ids (the digits of E.164 numbers). */
struct wa_list {
    char ids[MAX_NOT_ON_WA][SIM_WA_ID_MAX];
    size_t n;
};

struct rate_count {
    double rate;
    long count; /* -1 = no limit */
};

#define MAX_SCOPED 32

struct template_scope {
    char name[128];
    char language[16];
    struct fault_scope f;
};

struct phone_scope {
    char phone_id[SIM_ID_MAX];
    struct fault_scope f;
};

struct fault_state {
    long latency_ms;
    long latency_jitter_ms;
    double latency_rate; /* share of requests the latency applies to */
    struct rate_count drop;
    struct rate_count http_error;
    unsigned http_error_status;
    bool token_expired;
    long token_error_code;
    struct error_rule rules[MAX_RULES];
    size_t nrules;
    struct wa_list not_on_wa;
    struct fault_webhooks webhooks;
    bool account_on;
    struct fault_scope account;
    struct template_scope templates[MAX_SCOPED];
    size_t ntemplates;
    struct phone_scope phones[MAX_SCOPED];
    size_t nphones;
    struct wa_list unreachable;
};

static pthread_mutex_t faults_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fault_state state;
static struct wa_list configured_not_on_wa; /* GRAPH_SIM_NOT_ON_WHATSAPP */

/* Digits of an E.164 number or a wa_id into out; false when it is neither. */
static bool to_wa_id(const char *s, char out[SIM_WA_ID_MAX])
{
    char e164[E164_MAX];
    if (*s != '+' && strspn(s, "0123456789") == strlen(s) && strlen(s) >= 8 && strlen(s) <= 15) {
        snprintf(out, SIM_WA_ID_MAX, "%s", s);
        return true;
    }
    if (!e164_normalize(s, e164))
        return false;
    snprintf(out, SIM_WA_ID_MAX, "%s", e164 + 1);
    return true;
}

static bool fires(struct rate_count *rc)
{
    if (rc->count == 0 || rc->rate <= 0)
        return false;
    if (rc->rate < 1.0 && prng_unit(&sim_rng) >= rc->rate)
        return false;
    if (rc->count > 0)
        rc->count--;
    return true;
}

int faults_init(char *err, size_t errlen)
{
    const char *s = sim_cfg.not_on_whatsapp, *item;
    size_t n;
    configured_not_on_wa.n = 0;
    while (strlist_next(&s, &item, &n)) {
        char one[64];
        snprintf(one, sizeof one, "%.*s", (int)(n < 63 ? n : 63), item);
        char *p = one;
        while (*p == ' ')
            p++;
        if (*p) {
            if (configured_not_on_wa.n == MAX_NOT_ON_WA ||
                !to_wa_id(p, configured_not_on_wa.ids[configured_not_on_wa.n])) {
                snprintf(err, errlen, "GRAPH_SIM_NOT_ON_WHATSAPP: %s is not a phone number", p);
                return -1;
            }
            configured_not_on_wa.n++;
        }
    }
    faults_clear();
    return 0;
}

void faults_clear(void)
{
    pthread_mutex_lock(&faults_lock);
    memset(&state, 0, sizeof state);
    state.drop.count = state.http_error.count = -1;
    state.latency_rate = 1.0;
    state.token_error_code = 190;
    state.not_on_wa = configured_not_on_wa;
    pthread_mutex_unlock(&faults_lock);
}

void faults_for_request(struct fault_http *out)
{
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&faults_lock);
    /* A rate under 1 draws once per request; at 1 (the default) nothing is drawn, so the
     * sequence of random decisions is the same as without the key. */
    if ((state.latency_ms > 0 || state.latency_jitter_ms > 0) &&
        (state.latency_rate >= 1.0 || prng_unit(&sim_rng) < state.latency_rate)) {
        out->latency_ms = state.latency_ms;
        if (state.latency_jitter_ms > 0)
            out->latency_ms +=
                (long)(prng_next(&sim_rng) % (uint64_t)(state.latency_jitter_ms + 1));
    }
    out->drop = fires(&state.drop);
    if (!out->drop && fires(&state.http_error))
        out->status = state.http_error_status;
    pthread_mutex_unlock(&faults_lock);
}

bool faults_token_expired(long *code)
{
    pthread_mutex_lock(&faults_lock);
    bool expired = state.token_expired;
    *code = state.token_error_code;
    pthread_mutex_unlock(&faults_lock);
    return expired;
}

static bool usually_async(long code)
{
    return code == 131026 || code == 131047 || code == 131049 || code == 131050;
}

bool faults_send_error(const char *phone_id, const char *wa_id, struct fault_error *out)
{
    bool hit = false;
    pthread_mutex_lock(&faults_lock);
    for (size_t i = 0; i < state.nrules && !hit; i++) {
        struct error_rule *r = &state.rules[i];
        if ((r->recipient[0] && strcmp(r->recipient, wa_id) != 0) ||
            (r->phone_id[0] && strcmp(r->phone_id, phone_id) != 0))
            continue;
        struct rate_count rc = {r->rate, r->count};
        if (!fires(&rc))
            continue;
        r->count = rc.count;
        out->code = r->code;
        out->async = r->async < 0 ? usually_async(r->code) : r->async == 1;
        out->http_status = r->http_status;
        snprintf(out->details, sizeof out->details, "%s", r->details);
        hit = true;
    }
    pthread_mutex_unlock(&faults_lock);
    return hit;
}

/* True when wa_id is in list, read under the lock. */
static bool wa_list_has(const struct wa_list *list, const char *wa_id)
{
    bool found = false;
    pthread_mutex_lock(&faults_lock);
    for (size_t i = 0; i < list->n && !found; i++)
        found = strcmp(list->ids[i], wa_id) == 0;
    pthread_mutex_unlock(&faults_lock);
    return found;
}

bool faults_not_on_whatsapp(const char *wa_id)
{
    return wa_list_has(&state.not_on_wa, wa_id);
}

static bool in_force(const struct fault_scope *f, int64_t now_ms)
{
    return f->code && (f->until_ms == 0 || now_ms < f->until_ms);
}

bool faults_account_error(int64_t now_ms, struct fault_scope *out)
{
    pthread_mutex_lock(&faults_lock);
    bool hit = state.account_on && in_force(&state.account, now_ms);
    if (hit)
        *out = state.account;
    pthread_mutex_unlock(&faults_lock);
    return hit;
}

bool faults_template_error(const char *name, const char *language, int64_t now_ms,
                           struct fault_scope *out)
{
    bool hit = false;
    pthread_mutex_lock(&faults_lock);
    for (size_t i = 0; i < state.ntemplates && !hit; i++) {
        const struct template_scope *t = &state.templates[i];
        if (strcmp(t->name, name) == 0 && (!t->language[0] || strcmp(t->language, language) == 0) &&
            in_force(&t->f, now_ms)) {
            *out = t->f;
            hit = true;
        }
    }
    pthread_mutex_unlock(&faults_lock);
    return hit;
}

bool faults_phone_error(const char *phone_id, int64_t now_ms, struct fault_scope *out)
{
    bool hit = false;
    pthread_mutex_lock(&faults_lock);
    for (size_t i = 0; i < state.nphones && !hit; i++) {
        if (strcmp(state.phones[i].phone_id, phone_id) == 0 &&
            in_force(&state.phones[i].f, now_ms)) {
            *out = state.phones[i].f;
            hit = true;
        }
    }
    pthread_mutex_unlock(&faults_lock);
    return hit;
}

bool faults_unreachable(const char *wa_id)
{
    return wa_list_has(&state.unreachable, wa_id);
}

void faults_webhooks(struct fault_webhooks *out)
{
    pthread_mutex_lock(&faults_lock);
    *out = state.webhooks;
    pthread_mutex_unlock(&faults_lock);
}

/* ---------- parsing ---------- */

static int get_rate(const json_t *v, const char *name, double *out, char *err, size_t errlen)
{
    if (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > 1) {
        snprintf(err, errlen, "%s must be a number between 0 and 1", name);
        return -1;
    }
    *out = json_number_value(v);
    return 0;
}

static int get_int(const json_t *v, const char *name, long min, long max, long *out, char *err,
                   size_t errlen)
{
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
        snprintf(err, errlen, "%s must be an integer between %ld and %ld", name, min, max);
        return -1;
    }
    *out = (long)json_integer_value(v);
    return 0;
}

/* {"rate":0.5,"count":3} (either may be missing: a count alone fires every time, nothing
 * at all fires always); null turns it off. */
static int get_rate_count(const json_t *v, const char *name, struct rate_count *out, char *err,
                          size_t errlen)
{
    out->rate = 1.0;
    out->count = -1;
    if (json_is_null(v)) {
        out->rate = 0;
        return 0;
    }
    if (!json_is_object(v)) {
        snprintf(err, errlen, "%s must be an object with rate and/or count, or null", name);
        return -1;
    }
    const json_t *rate = json_object_get(v, "rate");
    const json_t *count = json_object_get(v, "count");
    if (rate && get_rate(rate, "rate", &out->rate, err, errlen))
        return -1;
    if (count && get_int(count, "count", 0, 1000000000, &out->count, err, errlen))
        return -1;
    return 0;
}

static int parse_rule(const json_t *v, struct error_rule *r, char *err, size_t errlen)
{
    memset(r, 0, sizeof(*r));
    r->async = -1;
    struct rate_count rc;
    if (!json_is_object(v)) {
        snprintf(err, errlen, "errors[] items must be objects");
        return -1;
    }
    const json_t *code = json_object_get(v, "code");
    if (!code || get_int(code, "errors[].code", 0, 99999999, &r->code, err, errlen))
        return -1;
    if (get_rate_count(v, "errors[]", &rc, err, errlen))
        return -1;
    r->rate = rc.rate;
    r->count = rc.count;
    const json_t *a = json_object_get(v, "async");
    if (a) {
        if (!json_is_boolean(a)) {
            snprintf(err, errlen, "errors[].async must be true or false");
            return -1;
        }
        r->async = json_is_true(a) ? 1 : 0;
    }
    const json_t *st = json_object_get(v, "http_status");
    long status = 0;
    if (st && get_int(st, "errors[].http_status", 400, 599, &status, err, errlen))
        return -1;
    r->http_status = (unsigned)status;
    const char *rec = json_string_value(json_object_get(v, "recipient"));
    if (json_object_get(v, "recipient") && (!rec || !to_wa_id(rec, r->recipient))) {
        snprintf(err, errlen, "errors[].recipient must be a phone number");
        return -1;
    }
    const char *ph = json_string_value(json_object_get(v, "phone_number_id"));
    if (ph)
        snprintf(r->phone_id, sizeof r->phone_id, "%s", ph);
    const char *details = json_string_value(json_object_get(v, "details"));
    if (details)
        snprintf(r->details, sizeof r->details, "%s", details);
    return 0;
}

/* An array of phone numbers (E.164 or wa_ids) into list; name is the key, for err. */
static int parse_wa_list(const json_t *v, const char *name, struct wa_list *list, char *err,
                         size_t errlen)
{
    size_t i;
    const json_t *item;
    if (!json_is_array(v) || json_array_size(v) > MAX_NOT_ON_WA) {
        snprintf(err, errlen, "%s must be an array of phone numbers", name);
        return -1;
    }
    list->n = 0;
    json_array_foreach (v, i, item) {
        const char *num = json_string_value(item);
        if (!num || !to_wa_id(num, list->ids[list->n])) {
            snprintf(err, errlen, "%s[%zu] is not a phone number", name, i);
            return -1;
        }
        list->n++;
    }
    return 0;
}

static int parse_webhooks(const json_t *v, struct fault_webhooks *w, char *err, size_t errlen)
{
    const json_t *x;
    if (json_is_null(v)) {
        memset(w, 0, sizeof(*w));
        return 0;
    }
    if (!json_is_object(v)) {
        snprintf(err, errlen, "webhooks must be an object");
        return -1;
    }
    if ((x = json_object_get(v, "duplicate_rate")) &&
        get_rate(x, "webhooks.duplicate_rate", &w->duplicate_rate, err, errlen))
        return -1;
    if ((x = json_object_get(v, "reorder"))) {
        if (json_is_boolean(x))
            w->reorder_rate = json_is_true(x) ? 1.0 : 0.0;
        else if (get_rate(x, "webhooks.reorder", &w->reorder_rate, err, errlen))
            return -1;
    }
    if ((x = json_object_get(v, "reorder_rate")) &&
        get_rate(x, "webhooks.reorder_rate", &w->reorder_rate, err, errlen))
        return -1;
    if ((x = json_object_get(v, "delay_ms")) &&
        get_int(x, "webhooks.delay_ms", 0, 3600000, &w->delay_ms, err, errlen))
        return -1;
    if ((x = json_object_get(v, "down"))) {
        if (!json_is_boolean(x)) {
            snprintf(err, errlen, "webhooks.down must be true or false");
            return -1;
        }
        w->down = json_is_true(x);
    }
    return 0;
}

/* {code, duration_ms?, details?} with code one of allowed; until is set from now. */
static int parse_scope(const json_t *v, const char *name, const long *allowed, size_t nallowed,
                       long max_ms, long default_ms, struct fault_scope *out, char *err,
                       size_t errlen)
{
    long duration = default_ms;
    memset(out, 0, sizeof(*out));
    if (!json_is_object(v)) {
        snprintf(err, errlen, "%s must be an object with a code", name);
        return -1;
    }
    const json_t *code = json_object_get(v, "code");
    if (!code || get_int(code, "code", 0, 99999999, &out->code, err, errlen))
        return -1;
    size_t k = 0;
    while (k < nallowed && allowed[k] != out->code)
        k++;
    if (k == nallowed) {
        char list[128] = "";
        for (size_t i = 0; i < nallowed; i++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%ld", i ? ", " : "",
                     allowed[i]);
        snprintf(err, errlen, "%s.code must be one of %s", name, list);
        return -1;
    }
    const json_t *d = json_object_get(v, "duration_ms");
    if (d && !json_is_null(d) && get_int(d, "duration_ms", 1, max_ms, &duration, err, errlen))
        return -1;
    out->until_ms = duration > 0 ? sim_wall_ms() + duration : 0;
    const char *details = json_string_value(json_object_get(v, "details"));
    if (details)
        snprintf(out->details, sizeof out->details, "%s", details);
    return 0;
}

static int parse_scoped(const json_t *obj, struct fault_state *s, char *err, size_t errlen)
{
    static const long account_codes[] = {368, 131031, 131042, 131048, 131064, 130497};
    static const long template_codes[] = {132015, 132016};
    static const long phone_codes[] = {131057};
    const json_t *v, *item;
    size_t i;
    if ((v = json_object_get(obj, "account_error"))) {
        s->account_on = !json_is_null(v);
        if (s->account_on && parse_scope(v, "account_error", account_codes, 6, 2000000000L, 0,
                                         &s->account, err, errlen))
            return -1;
    }
    if ((v = json_object_get(obj, "template_errors"))) {
        if (!json_is_array(v) || json_array_size(v) > MAX_SCOPED) {
            snprintf(err, errlen, "template_errors must be an array of at most %d items",
                     MAX_SCOPED);
            return -1;
        }
        s->ntemplates = 0;
        json_array_foreach (v, i, item) {
            struct template_scope *t = &s->templates[s->ntemplates];
            const char *name = json_string_value(json_object_get(item, "name"));
            const char *lang = json_string_value(json_object_get(item, "language"));
            if (!name || strlen(name) >= sizeof t->name || (lang && strlen(lang) >= 16)) {
                snprintf(err, errlen, "template_errors[%zu] needs a name (and a language)", i);
                return -1;
            }
            if (parse_scope(item, "template_errors[]", template_codes, 2, 2000000000L, 0, &t->f,
                            err, errlen))
                return -1;
            snprintf(t->name, sizeof t->name, "%s", name);
            snprintf(t->language, sizeof t->language, "%s", lang ? lang : "");
            s->ntemplates++;
        }
    }
    if ((v = json_object_get(obj, "phone_errors"))) {
        if (!json_is_array(v) || json_array_size(v) > MAX_SCOPED) {
            snprintf(err, errlen, "phone_errors must be an array of at most %d items", MAX_SCOPED);
            return -1;
        }
        s->nphones = 0;
        json_array_foreach (v, i, item) {
            struct phone_scope *p = &s->phones[s->nphones];
            const char *id = json_string_value(json_object_get(item, "phone_number_id"));
            if (!id || strlen(id) >= sizeof p->phone_id) {
                snprintf(err, errlen, "phone_errors[%zu] needs a phone_number_id", i);
                return -1;
            }
            /* Meta: a throughput upgrade or maintenance lasts up to a minute */
            if (parse_scope(item, "phone_errors[]", phone_codes, 1, 60000, 60000, &p->f, err,
                            errlen))
                return -1;
            snprintf(p->phone_id, sizeof p->phone_id, "%s", id);
            s->nphones++;
        }
    }
    if ((v = json_object_get(obj, "unreachable")) &&
        parse_wa_list(v, "unreachable", &s->unreachable, err, errlen))
        return -1;
    return 0;
}

static int parse_into(const json_t *obj, struct fault_state *s, char *err, size_t errlen)
{
    static const char *const known[] = {
        "latency_ms",    "latency_jitter_ms", "latency_rate", "drop_connections", "http_error",
        "token_expired", "token_error_code",  "errors",       "not_on_whatsapp",  "webhooks",
        "account_error", "template_errors",   "phone_errors", "unreachable"};
    const char *unknown = strlist_unknown_key(obj, known, sizeof known / sizeof known[0]);
    const json_t *v;
    if (unknown) {
        snprintf(err, errlen, "%s is not a known fault", unknown);
        return -1;
    }
    if ((v = json_object_get(obj, "latency_ms")) &&
        get_int(v, "latency_ms", 0, 60000, &s->latency_ms, err, errlen))
        return -1;
    if ((v = json_object_get(obj, "latency_jitter_ms")) &&
        get_int(v, "latency_jitter_ms", 0, 60000, &s->latency_jitter_ms, err, errlen))
        return -1;
    if ((v = json_object_get(obj, "latency_rate"))) {
        if (json_is_null(v))
            s->latency_rate = 1.0;
        else if (get_rate(v, "latency_rate", &s->latency_rate, err, errlen))
            return -1;
    }
    if ((v = json_object_get(obj, "drop_connections")) &&
        get_rate_count(v, "drop_connections", &s->drop, err, errlen))
        return -1;
    if ((v = json_object_get(obj, "http_error"))) {
        if (get_rate_count(v, "http_error", &s->http_error, err, errlen))
            return -1;
        long status = 503;
        const json_t *st = json_object_get(v, "status");
        if (st && get_int(st, "http_error.status", 500, 599, &status, err, errlen))
            return -1;
        s->http_error_status = (unsigned)status;
    }
    if ((v = json_object_get(obj, "token_expired"))) {
        if (!json_is_boolean(v)) {
            snprintf(err, errlen, "token_expired must be true or false");
            return -1;
        }
        s->token_expired = json_is_true(v);
    }
    if ((v = json_object_get(obj, "token_error_code"))) {
        if (!json_is_integer(v) || (json_integer_value(v) != 190 && json_integer_value(v) != 0)) {
            snprintf(err, errlen, "token_error_code must be 190 or 0");
            return -1;
        }
        s->token_error_code = (long)json_integer_value(v);
    }
    if ((v = json_object_get(obj, "errors"))) {
        size_t i;
        const json_t *item;
        if (!json_is_array(v) || json_array_size(v) > MAX_RULES) {
            snprintf(err, errlen, "errors must be an array of at most %d rules", MAX_RULES);
            return -1;
        }
        s->nrules = 0;
        json_array_foreach (v, i, item) {
            if (parse_rule(item, &s->rules[s->nrules], err, errlen))
                return -1;
            s->nrules++;
        }
    }
    if ((v = json_object_get(obj, "not_on_whatsapp")) &&
        parse_wa_list(v, "not_on_whatsapp", &s->not_on_wa, err, errlen))
        return -1;
    if ((v = json_object_get(obj, "webhooks")) && parse_webhooks(v, &s->webhooks, err, errlen))
        return -1;
    return parse_scoped(obj, s, err, errlen);
}

int faults_update(const json_t *obj, char *err, size_t errlen)
{
    static struct fault_state copy; /* large: kept off the stack, guarded by update_lock */
    static pthread_mutex_t update_lock = PTHREAD_MUTEX_INITIALIZER;
    int rc;
    pthread_mutex_lock(&update_lock);
    pthread_mutex_lock(&faults_lock);
    copy = state;
    pthread_mutex_unlock(&faults_lock);
    rc = parse_into(obj, &copy, err, errlen);
    if (rc == 0) {
        pthread_mutex_lock(&faults_lock);
        state = copy;
        pthread_mutex_unlock(&faults_lock);
    }
    pthread_mutex_unlock(&update_lock);
    return rc;
}

static json_t *rate_count_json(const struct rate_count *rc)
{
    if (rc->rate <= 0 || rc->count == 0)
        return json_null();
    json_t *o = json_pack("{s:f}", "rate", rc->rate);
    if (rc->count >= 0)
        json_object_set_new(o, "count", json_integer(rc->count));
    return o;
}

/* list as an array of "+digits"; a new reference. */
static json_t *wa_list_json(const struct wa_list *list)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < list->n; i++)
        json_array_append_new(arr, json_sprintf("+%s", list->ids[i]));
    return arr;
}

static json_t *scope_json(const struct fault_scope *f)
{
    json_t *o = json_pack("{s:I}", "code", (json_int_t)f->code);
    if (f->until_ms) {
        int64_t left = f->until_ms - sim_wall_ms();
        json_object_set_new(o, "remaining_ms", json_integer(left > 0 ? left : 0));
    }
    if (f->details[0])
        json_object_set_new(o, "details", json_string(f->details));
    return o;
}

static json_t *scoped_json_locked(void)
{
    json_t *tpl = json_array(), *ph = json_array();
    for (size_t i = 0; i < state.ntemplates; i++) {
        json_t *o = scope_json(&state.templates[i].f);
        json_object_set_new(o, "name", json_string(state.templates[i].name));
        if (state.templates[i].language[0])
            json_object_set_new(o, "language", json_string(state.templates[i].language));
        json_array_append_new(tpl, o);
    }
    for (size_t i = 0; i < state.nphones; i++) {
        json_t *o = scope_json(&state.phones[i].f);
        json_object_set_new(o, "phone_number_id", json_string(state.phones[i].phone_id));
        json_array_append_new(ph, o);
    }
    return json_pack("{s:o, s:o, s:o, s:o}", "account_error",
                     state.account_on ? scope_json(&state.account) : json_null(), "template_errors",
                     tpl, "phone_errors", ph, "unreachable", wa_list_json(&state.unreachable));
}

json_t *faults_json(void)
{
    pthread_mutex_lock(&faults_lock);
    json_t *rules = json_array();
    for (size_t i = 0; i < state.nrules; i++) {
        const struct error_rule *r = &state.rules[i];
        json_t *o = json_pack("{s:I, s:f}", "code", (json_int_t)r->code, "rate", r->rate);
        if (r->count >= 0)
            json_object_set_new(o, "count", json_integer(r->count));
        if (r->async >= 0)
            json_object_set_new(o, "async", json_boolean(r->async));
        if (r->http_status)
            json_object_set_new(o, "http_status", json_integer(r->http_status));
        if (r->recipient[0])
            json_object_set_new(o, "recipient", json_sprintf("+%s", r->recipient));
        if (r->phone_id[0])
            json_object_set_new(o, "phone_number_id", json_string(r->phone_id));
        if (r->details[0])
            json_object_set_new(o, "details", json_string(r->details));
        json_array_append_new(rules, o);
    }
    json_t *http_error = rate_count_json(&state.http_error);
    if (json_is_object(http_error))
        json_object_set_new(http_error, "status", json_integer(state.http_error_status));
    json_t *out = json_pack(
        "{s:I, s:I, s:f, s:o, s:o, s:b, s:I, s:o, s:o, s:{s:f, s:f, s:I, s:b}}", "latency_ms",
        (json_int_t)state.latency_ms, "latency_jitter_ms", (json_int_t)state.latency_jitter_ms,
        "latency_rate", state.latency_rate, "drop_connections", rate_count_json(&state.drop),
        "http_error", http_error, "token_expired", state.token_expired, "token_error_code",
        (json_int_t)state.token_error_code, "errors", rules, "not_on_whatsapp",
        wa_list_json(&state.not_on_wa), "webhooks", "duplicate_rate", state.webhooks.duplicate_rate,
        "reorder_rate", state.webhooks.reorder_rate, "delay_ms",
        (json_int_t)state.webhooks.delay_ms, "down", state.webhooks.down);
    json_object_update_missing_new(out, scoped_json_locked());
    pthread_mutex_unlock(&faults_lock);
    return out;
}
