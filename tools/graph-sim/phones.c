/* phones.c - the phone-number store: an array in onboarding order under a rwlock. */
#include "phones.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "e164.h"
#include "jsonutil.h"
#include "strlist.h"

struct phone_set {
    size_t n;
    struct sim_phone items[SIM_MAX_PHONES];
};

static pthread_rwlock_t phones_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct phone_set *current; /* owned; swapped whole on replace */
static struct phone_set *initial; /* owned; what phones_reset() restores */

static const char *const default_names[] = {
    "Panadería San Juan",      "Horno Santa Ana",      "Pastelería La Espiga",
    "Obrador Goikoetxea",      "Forn de Sant Jaume",   "Panadería El Trigal",
    "Okindegia Bilbo Zaharra", "Harina y Masa Bakery", "Confitería Ainhoa",
    "La Tahona de Lavapiés",
};
static const char *const default_ratings[] = {"GREEN", "GREEN",  "YELLOW", "GREEN", "RED",
                                              "GREEN", "YELLOW", "GREEN",  "GREEN", "RED"};

/* Fills digits and country_code from the display number. */
static bool phone_derive(struct sim_phone *p)
{
    char e164[E164_MAX];
    if (!e164_normalize(p->display, e164))
        return false;
    snprintf(p->digits, sizeof p->digits, "%s", e164 + 1);
    const char *s = p->display;
    while (*s == ' ')
        s++;
    if (*s == '+')
        s++;
    size_t n = strspn(s, "0123456789");
    p->country_code[0] = '\0';
    if (n >= 1 && n <= 3 && (s[n] == ' ' || s[n] == '-' || s[n] == '('))
        snprintf(p->country_code, sizeof p->country_code, "%.*s", (int)n, s);
    return true;
}

static void phone_defaults(struct sim_phone *p)
{
    memset(p, 0, sizeof(*p));
    snprintf(p->quality_rating, sizeof p->quality_rating, "GREEN");
    snprintf(p->code_verification_status, sizeof p->code_verification_status, "VERIFIED");
    snprintf(p->name_status, sizeof p->name_status, "APPROVED");
    snprintf(p->messaging_limit_tier, sizeof p->messaging_limit_tier, "TIER_1K");
    snprintf(p->status, sizeof p->status, "CONNECTED");
    p->mps = -1;
}

static struct phone_set *default_set(long count)
{
    struct phone_set *set = xcalloc(1, sizeof(*set));
    for (long i = 0; i < count && i < SIM_MAX_PHONES; i++) {
        struct sim_phone *p = &set->items[i];
        long local = 612345678 + i;
        phone_defaults(p);
        p->slot = (int)i;
        snprintf(p->id, sizeof p->id, "%ld", 109876543210001L + i);
        snprintf(p->display, sizeof p->display, "+34 %03ld %03ld %03ld", local / 1000000,
                 (local / 1000) % 1000, local % 1000);
        if (i < 10)
            snprintf(p->verified_name, sizeof p->verified_name, "%s", default_names[i]);
        else
            snprintf(p->verified_name, sizeof p->verified_name, "%s %ld", default_names[i % 10],
                     i / 10 + 1);
        snprintf(p->quality_rating, sizeof p->quality_rating, "%s", default_ratings[i % 10]);
        p->onboarded = 1700000000 + (int64_t)i * 86400;
        phone_derive(p);
        set->n++;
    }
    return set;
}

static int str_field(const json_t *obj, const char *key, bool required, char *dst, size_t cap,
                     char *err, size_t errlen)
{
    const json_t *v = json_object_get(obj, key);
    if (!v) {
        if (!required)
            return 0;
        snprintf(err, errlen, "phone number: %s is required", key);
        return -1;
    }
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= cap) {
        snprintf(err, errlen, "phone number: %s must be a non-empty string under %zu bytes", key,
                 cap);
        return -1;
    }
    snprintf(dst, cap, "%s", json_string_value(v));
    return 0;
}

/* Reads one phone object into p. */
static int phone_from_json(const json_t *obj, struct sim_phone *p, char *err, size_t errlen)
{
    static const char *const ratings[] = {"GREEN", "YELLOW", "RED", "UNKNOWN", "NA"};
    static const struct json_field fields[] = {
        {"id", JK_STRING, true, SIM_ID_MAX - 1},
        {"display_phone_number", JK_STRING, true, SIM_DISPLAY_MAX - 1},
        {"verified_name", JK_STRING, true, 127},
        {"quality_rating", JK_STRING, false, 15},
        {"code_verification_status", JK_STRING, false, 23},
        {"name_status", JK_STRING, false, 23},
        {"messaging_limit_tier", JK_STRING, false, 23},
        {"mps", JK_INTEGER, false, 0},
        {"last_onboarded_time", JK_INTEGER, false, 0},
        {"platform_type", JK_STRING, false, 0},
        {"throughput", JK_ANY, false, 0},
        {"status", JK_STRING, false, 23},
    };
    const char *field, *problem;

    phone_defaults(p);
    if (!json_check_object(obj, fields, sizeof fields / sizeof fields[0], false, &field,
                           &problem)) {
        snprintf(err, errlen, "phone number: %s %s", field ? field : "item", problem);
        return -1;
    }
    if (str_field(obj, "id", true, p->id, sizeof p->id, err, errlen) ||
        str_field(obj, "display_phone_number", true, p->display, sizeof p->display, err, errlen) ||
        str_field(obj, "verified_name", true, p->verified_name, sizeof p->verified_name, err,
                  errlen) ||
        str_field(obj, "quality_rating", false, p->quality_rating, sizeof p->quality_rating, err,
                  errlen) ||
        str_field(obj, "code_verification_status", false, p->code_verification_status,
                  sizeof p->code_verification_status, err, errlen) ||
        str_field(obj, "name_status", false, p->name_status, sizeof p->name_status, err, errlen) ||
        str_field(obj, "messaging_limit_tier", false, p->messaging_limit_tier,
                  sizeof p->messaging_limit_tier, err, errlen) ||
        str_field(obj, "status", false, p->status, sizeof p->status, err, errlen))
        return -1;
    if (strspn(p->id, "0123456789") != strlen(p->id)) {
        snprintf(err, errlen, "phone number: id must be digits");
        return -1;
    }
    if (!strlist_one_of(p->quality_rating, ratings, sizeof ratings / sizeof ratings[0])) {
        snprintf(err, errlen,
                 "phone number: quality_rating must be GREEN, YELLOW, RED, "
                 "UNKNOWN or NA");
        return -1;
    }
    if (!phone_derive(p)) {
        snprintf(err, errlen, "phone number: display_phone_number is not a phone number");
        return -1;
    }
    const json_t *mps = json_object_get(obj, "mps");
    if (mps) {
        json_int_t v = json_integer_value(mps);
        if (v < 0 || v > 10000) {
            snprintf(err, errlen, "phone number: mps must be between 0 and 10000");
            return -1;
        }
        p->mps = (long)v;
    }
    const json_t *t = json_object_get(obj, "last_onboarded_time");
    if (t)
        p->onboarded = (int64_t)json_integer_value(t);
    return 0;
}

/* Builds the set that results from adding arr to base (or replacing it). */
static struct phone_set *set_with(const struct phone_set *base, const json_t *arr, bool replace,
                                  char *err, size_t errlen)
{
    struct phone_set *set = xcalloc(1, sizeof(*set));
    size_t i;
    const json_t *item;
    int64_t now = sim_wall_ms() / 1000;

    if (!json_is_array(arr)) {
        snprintf(err, errlen, "phone_numbers must be an array");
        goto fail;
    }
    if (!replace && base) {
        *set = *base;
    }
    json_array_foreach (arr, i, item) {
        struct sim_phone p;
        if (phone_from_json(item, &p, err, errlen) != 0)
            goto fail;
        for (size_t j = 0; j < set->n; j++) {
            if (strcmp(set->items[j].id, p.id) == 0) {
                snprintf(err, errlen, "phone number id %s appears twice", p.id);
                goto fail;
            }
        }
        if (set->n == SIM_MAX_PHONES) {
            snprintf(err, errlen, "a WABA holds at most %d phone numbers", SIM_MAX_PHONES);
            goto fail;
        }
        p.slot = (int)set->n;
        if (!json_object_get(item, "last_onboarded_time"))
            p.onboarded = now + (int64_t)set->n;
        set->items[set->n++] = p;
    }
    return set;
fail:
    free(set);
    return NULL;
}

static struct phone_set *set_from_file(const char *path, char *err, size_t errlen)
{
    json_error_t jerr;
    struct phone_set *set = NULL;
    json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    const json_t *arr = doc;
    if (!doc) {
        snprintf(err, errlen, "GRAPH_SIM_PHONES_FILE %s: %s (line %d)", path, jerr.text, jerr.line);
        goto out;
    }
    if (json_is_object(doc)) {
        arr = json_object_get(doc, "phone_numbers");
        if (!arr)
            arr = json_object_get(doc, "data");
    }
    set = set_with(NULL, arr, true, err, errlen);
out:
    json_decref(doc);
    return set;
}

int phones_init(char *err, size_t errlen)
{
    struct phone_set *set;
    if (sim_cfg.phones_file && *sim_cfg.phones_file)
        set = set_from_file(sim_cfg.phones_file, err, errlen);
    else
        set = default_set(sim_cfg.phone_count);
    if (!set)
        return -1;
    pthread_rwlock_wrlock(&phones_lock);
    free(current);
    free(initial);
    initial = set;
    current = xmalloc(sizeof(*current));
    *current = *initial;
    pthread_rwlock_unlock(&phones_lock);
    return 0;
}

void phones_reset(void)
{
    pthread_rwlock_wrlock(&phones_lock);
    if (initial && current)
        *current = *initial;
    pthread_rwlock_unlock(&phones_lock);
}

void phones_free(void)
{
    pthread_rwlock_wrlock(&phones_lock);
    free(current);
    free(initial);
    current = initial = NULL;
    pthread_rwlock_unlock(&phones_lock);
}

bool phones_get(const char *id, struct sim_phone *out)
{
    bool found = false;
    pthread_rwlock_rdlock(&phones_lock);
    for (size_t i = 0; current && i < current->n; i++) {
        if (strcmp(current->items[i].id, id) == 0) {
            *out = current->items[i];
            found = true;
            break;
        }
    }
    pthread_rwlock_unlock(&phones_lock);
    return found;
}

int phones_update(const char *id, const struct phone_change *c, struct sim_phone *before,
                  struct sim_phone *after, char *err, size_t errlen)
{
    static const char *const qualities[] = {"GREEN", "YELLOW", "RED", "UNKNOWN", "NA"};
    static const char *const statuses[] = {"CONNECTED",    "FLAGGED",      "RESTRICTED",
                                           "PENDING",      "DISCONNECTED", "BANNED",
                                           "RATE_LIMITED", "UNVERIFIED",   "DELETED"};
    static const char *const names[] = {"APPROVED", "PENDING_REVIEW", "DECLINED",
                                        "EXPIRED",  "NONE",           "AVAILABLE_WITHOUT_REVIEW"};
    static const char *const levels[] = {"STANDARD", "HIGH", "NOT_APPLICABLE"};
    int rc = -1;
    if ((c->quality_rating && !strlist_one_of(c->quality_rating, qualities, 5)) ||
        (c->status && !strlist_one_of(c->status, statuses, 9)) ||
        (c->name_status && !strlist_one_of(c->name_status, names, 6)) ||
        (c->throughput_level && !strlist_one_of(c->throughput_level, levels, 3))) {
        snprintf(err, errlen,
                 "quality_rating must be GREEN, YELLOW, RED, UNKNOWN or NA; status CONNECTED, "
                 "FLAGGED, RESTRICTED...; name_status APPROVED, PENDING_REVIEW, DECLINED...; "
                 "throughput_level STANDARD or HIGH");
        return -2;
    }
    pthread_rwlock_wrlock(&phones_lock);
    for (size_t i = 0; current && i < current->n; i++) {
        struct sim_phone *p = &current->items[i];
        if (strcmp(p->id, id) != 0)
            continue;
        *before = *p;
        if (c->quality_rating)
            snprintf(p->quality_rating, sizeof p->quality_rating, "%s", c->quality_rating);
        if (c->status)
            snprintf(p->status, sizeof p->status, "%s", c->status);
        if (c->name_status)
            snprintf(p->name_status, sizeof p->name_status, "%s", c->name_status);
        if (c->throughput_level)
            snprintf(p->throughput_level, sizeof p->throughput_level, "%s", c->throughput_level);
        *after = *p;
        rc = 0;
        break;
    }
    pthread_rwlock_unlock(&phones_lock);
    return rc;
}

static int newest_first(const void *a, const void *b)
{
    const struct sim_phone *x = a, *y = b;
    if (x->onboarded != y->onboarded)
        return x->onboarded > y->onboarded ? -1 : 1;
    return y->slot - x->slot;
}

size_t phones_list(struct sim_phone *out)
{
    size_t n = 0;
    pthread_rwlock_rdlock(&phones_lock);
    if (current) {
        n = current->n;
        memcpy(out, current->items, n * sizeof(*out));
    }
    pthread_rwlock_unlock(&phones_lock);
    qsort(out, n, sizeof(*out), newest_first);
    return n;
}

int phones_seed(const json_t *arr, bool replace, char *err, size_t errlen)
{
    pthread_rwlock_wrlock(&phones_lock);
    struct phone_set *set = set_with(current, arr, replace, err, errlen);
    if (set) {
        free(current);
        current = set;
    }
    pthread_rwlock_unlock(&phones_lock);
    return set ? 0 : -1;
}

static const struct strlist_bit field_names[] = {
    {"id", PF_ID},
    {"verified_name", PF_VERIFIED_NAME},
    {"display_phone_number", PF_DISPLAY},
    {"quality_rating", PF_QUALITY},
    {"code_verification_status", PF_CODE_VERIFICATION},
    {"platform_type", PF_PLATFORM},
    {"throughput", PF_THROUGHPUT},
    {"name_status", PF_NAME_STATUS},
    {"messaging_limit_tier", PF_TIER},
    {"status", PF_STATUS},
    {"health_status", PF_HEALTH},
    {"whatsapp_business_manager_messaging_limit", PF_WBM_LIMIT},
    {"account_mode", PF_ACCOUNT_MODE},
    {"is_official_business_account", PF_OFFICIAL},
    {"last_onboarded_time", PF_LAST_ONBOARDED},
};

bool phones_parse_fields(const char *fields, unsigned *mask, char *bad, size_t badlen)
{
    *mask = PF_ID; /* Meta always returns the id */
    return strlist_fields(fields, field_names, sizeof field_names / sizeof field_names[0], true,
                          mask, bad, badlen);
}

json_t *phones_to_json(const struct sim_phone *p, unsigned mask, long default_mps)
{
    json_t *o = json_object();
    long mps = p->mps >= 0 ? p->mps : default_mps;
    if (mask & PF_VERIFIED_NAME)
        json_object_set_new(o, "verified_name", json_string(p->verified_name));
    if (mask & PF_CODE_VERIFICATION)
        json_object_set_new(o, "code_verification_status",
                            json_string(p->code_verification_status));
    if (mask & PF_DISPLAY)
        json_object_set_new(o, "display_phone_number", json_string(p->display));
    if (mask & PF_QUALITY)
        json_object_set_new(o, "quality_rating", json_string(p->quality_rating));
    if (mask & PF_PLATFORM)
        json_object_set_new(o, "platform_type", json_string("CLOUD_API"));
    if (mask & PF_THROUGHPUT)
        json_object_set_new(o, "throughput",
                            json_pack("{s:s}", "level",
                                      p->throughput_level[0] ? p->throughput_level
                                      : mps == 0 || mps > 80 ? "HIGH"
                                                             : "STANDARD"));
    if (mask & PF_NAME_STATUS)
        json_object_set_new(o, "name_status", json_string(p->name_status));
    if (mask & PF_TIER)
        json_object_set_new(o, "messaging_limit_tier", json_string(p->messaging_limit_tier));
    if (mask & PF_STATUS)
        json_object_set_new(o, "status", json_string(p->status));
    if (mask & PF_ACCOUNT_MODE)
        json_object_set_new(o, "account_mode", json_string("LIVE"));
    if (mask & PF_OFFICIAL)
        json_object_set_new(o, "is_official_business_account", json_false());
    if (mask & PF_LAST_ONBOARDED) {
        char when[40];
        time_t t = (time_t)p->onboarded;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S+0000", &tm);
        json_object_set_new(o, "last_onboarded_time", json_string(when));
    }
    json_object_set_new(o, "id", json_string(p->id));
    return o;
}
