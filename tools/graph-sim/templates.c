/* templates.c - the template store: a small array under a rwlock; each template keeps
 * its components and the placeholder counts a send is checked against. */
#include "templates.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "ids.h"
#include "monotonic.h"
#include "po_template.h"
#include "sim.h"
#include "strlist.h"

#define TPL_MAX 1000

struct sim_template {
    struct tpl_info info;
    char name[513];
    char language[16];
    char parameter_format[12];
    char rejected_reason[64];
    char previous_category[24];
    int64_t review_due_ms;  /* monotonic; 0 = not under review */
    char review_status[16]; /* what the review decides */
    char review_reason[64]; /* and its rejected_reason */
    json_t *components;     /* owned, never changed after creation */
};

static pthread_rwlock_t tpl_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct sim_template *tpls; /* owned array, creation order */
static size_t ntpls;

/* The account as an admin set it up by hand before templates were managed from the
 * platform: po_notification in the first three languages offered. */
static const char *const seeded_languages[] = {"es", "en", "eu"};

/* Counts the placeholders of text: the highest {{n}} for positional ones, the distinct
 * {{name}}s for named ones. */
static int count_params(const char *text)
{
    int highest = 0, named = 0;
    char seen[32][64];
    for (const char *s = strstr(text, "{{"); s; s = strstr(s + 2, "{{")) {
        const char *close = strstr(s + 2, "}}");
        if (!close)
            break;
        size_t len = (size_t)(close - s - 2);
        if (len == 0 || len >= 64)
            continue;
        if (strspn(s + 2, "0123456789") == len) {
            int n = 0;
            for (size_t i = 0; i < len && n < 1000; i++)
                n = n * 10 + (s[2 + i] - '0');
            if (n > highest)
                highest = n;
        } else {
            int k = 0;
            while (k < named && !(strlen(seen[k]) == len && strncmp(seen[k], s + 2, len) == 0))
                k++;
            if (k == named && named < 32)
                snprintf(seen[named++], sizeof seen[0], "%.*s", (int)len, s + 2);
        }
    }
    return highest > named ? highest : named;
}

static void free_all(void)
{
    for (size_t i = 0; i < ntpls; i++)
        json_decref(tpls[i].components);
    free(tpls);
    tpls = NULL;
    ntpls = 0;
}

/* Appends t (taking its components) under the write lock. */
static void append_locked(const struct sim_template *t)
{
    tpls = xrealloc(tpls, (ntpls + 1) * sizeof(*tpls));
    tpls[ntpls++] = *t;
}

static void seed_defaults_locked(void)
{
    for (size_t i = 0; i < sizeof seeded_languages / sizeof seeded_languages[0]; i++) {
        const struct po_text *po = po_text(seeded_languages[i]);
        struct sim_template t;
        memset(&t, 0, sizeof t);
        snprintf(t.info.id, sizeof t.info.id, "90010020030040%zu", i + 1);
        snprintf(t.info.status, sizeof t.info.status, "APPROVED");
        snprintf(t.info.category, sizeof t.info.category, "UTILITY");
        snprintf(t.info.quality, sizeof t.info.quality, "GREEN");
        snprintf(t.rejected_reason, sizeof t.rejected_reason, "NONE");
        snprintf(t.name, sizeof t.name, "po_notification");
        snprintf(t.language, sizeof t.language, "%s", po->language);
        snprintf(t.parameter_format, sizeof t.parameter_format, "POSITIONAL");
        t.components =
            json_pack("[{s:s, s:s, s:{s:[[s, s, s]]}}]", "type", "BODY", "text", po->body,
                      "example", "body_text", po->example[0], po->example[1], po->example[2]);
        t.info.body_params = count_params(po->body);
        t.info.body_len = strlen(po->body);
        append_locked(&t);
    }
}

void templates_init(void)
{
    pthread_rwlock_wrlock(&tpl_lock);
    free_all();
    seed_defaults_locked();
    pthread_rwlock_unlock(&tpl_lock);
}

void templates_reset(void)
{
    templates_init();
}

void templates_free(void)
{
    pthread_rwlock_wrlock(&tpl_lock);
    free_all();
    pthread_rwlock_unlock(&tpl_lock);
}

void templates_settle(int64_t now_ms)
{
    bool due = false;
    pthread_rwlock_rdlock(&tpl_lock);
    for (size_t i = 0; i < ntpls && !due; i++)
        due = tpls[i].review_due_ms && tpls[i].review_due_ms <= now_ms;
    pthread_rwlock_unlock(&tpl_lock);
    if (!due)
        return;
    pthread_rwlock_wrlock(&tpl_lock);
    for (size_t i = 0; i < ntpls; i++) {
        struct sim_template *t = &tpls[i];
        if (!t->review_due_ms || t->review_due_ms > now_ms)
            continue;
        t->review_due_ms = 0;
        if (strcmp(t->info.status, "PENDING") == 0) {
            snprintf(t->info.status, sizeof t->info.status, "%s", t->review_status);
            snprintf(t->rejected_reason, sizeof t->rejected_reason, "%s", t->review_reason);
        }
    }
    pthread_rwlock_unlock(&tpl_lock);
}

enum tpl_lookup templates_find(const char *name, const char *language, struct tpl_info *out)
{
    enum tpl_lookup r = TPL_NO_NAME;
    templates_settle(monotonic_ms());
    pthread_rwlock_rdlock(&tpl_lock);
    for (size_t i = 0; i < ntpls; i++) {
        if (strcmp(tpls[i].name, name) != 0)
            continue;
        r = TPL_NO_LANGUAGE;
        if (strcmp(tpls[i].language, language) == 0) {
            *out = tpls[i].info;
            r = TPL_FOUND;
            break;
        }
    }
    pthread_rwlock_unlock(&tpl_lock);
    return r;
}

static bool valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 512)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '_'))
            return false;
    }
    return true;
}

/* "es", "en_US", "pt_BR", "fil": two or three lower-case letters, an optional _XX. */
static bool valid_language(const char *s)
{
    size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyz");
    if (n < 2 || n > 3)
        return false;
    if (s[n] == '\0')
        return true;
    return s[n] == '_' && strlen(s + n + 1) == 2 && isupper((unsigned char)s[n + 1]) &&
           isupper((unsigned char)s[n + 2]);
}

static bool valid_status(const char *s)
{
    static const char *const statuses[] = {"APPROVED", "PENDING",   "REJECTED",        "PAUSED",
                                           "DISABLED", "IN_APPEAL", "PENDING_DELETION"};
    return strlist_one_of(s, statuses, sizeof statuses / sizeof statuses[0]);
}

/* Checks the components and fills the counts of t. */
static int read_components(const json_t *comps, struct sim_template *t, char *err, size_t errlen)
{
    size_t i;
    const json_t *c;
    bool body = false;
    if (!json_is_array(comps) || json_array_size(comps) == 0 || json_array_size(comps) > 10) {
        snprintf(err, errlen, "components must be an array of 1 to 10 objects");
        return -1;
    }
    json_array_foreach (comps, i, c) {
        const char *type = json_string_value(json_object_get(c, "type"));
        const char *text = json_string_value(json_object_get(c, "text"));
        if (!json_is_object(c) || !type) {
            snprintf(err, errlen, "components[%zu].type is required", i);
            return -1;
        }
        if (strcasecmp(type, "BODY") == 0) {
            if (!text || strlen(text) == 0 || strlen(text) > 1024) {
                snprintf(err, errlen, "the BODY component needs a text of 1 to 1024 characters");
                return -1;
            }
            body = true;
            t->info.body_params = count_params(text);
            t->info.body_len = strlen(text);
        } else if (strcasecmp(type, "HEADER") == 0) {
            const char *format = json_string_value(json_object_get(c, "format"));
            if (format && strcasecmp(format, "TEXT") == 0) {
                if (!text || strlen(text) > 60) {
                    snprintf(err, errlen, "a TEXT header needs a text of at most 60 characters");
                    return -1;
                }
                t->info.header_params = count_params(text);
            }
        } else if (strcasecmp(type, "FOOTER") != 0 && strcasecmp(type, "BUTTONS") != 0) {
            snprintf(err, errlen, "components[%zu].type must be HEADER, BODY, FOOTER or BUTTONS",
                     i);
            return -1;
        }
    }
    if (!body) {
        snprintf(err, errlen, "a template needs a BODY component");
        return -1;
    }
    return 0;
}

/* True when the BODY's placeholders have their example values (Meta requires
 * example.body_text: [[one value per placeholder]] when the body has any). */
static bool examples_given(const json_t *comps, const struct sim_template *t)
{
    size_t i;
    const json_t *c;
    if (t->info.body_params == 0)
        return true;
    json_array_foreach (comps, i, c) {
        const char *type = json_string_value(json_object_get(c, "type"));
        if (!type || strcasecmp(type, "BODY") != 0)
            continue;
        const json_t *ex = json_object_get(json_object_get(c, "example"), "body_text");
        const json_t *row = json_array_get(ex, 0);
        if (json_is_array(row) && json_array_size(row) == (size_t)t->info.body_params)
            return true;
        /* named parameters: example.body_text_named_params, one per name */
        ex = json_object_get(json_object_get(c, "example"), "body_text_named_params");
        return json_is_array(ex) && json_array_size(ex) == (size_t)t->info.body_params;
    }
    return false;
}

/* message_send_ttl_seconds: Meta's ranges per category (utility 30 s-12 h, authentication
 * 30 s-15 min, marketing 12 h-30 days, or -1 for 30 days); seeds may use any positive
 * value so that tests need not wait 30 s. */
static int read_ttl(const json_t *body, const char *category, bool seed, long *out, char *err,
                    size_t errlen)
{
    const json_t *v = json_object_get(body, "message_send_ttl_seconds");
    long min = 30, max = 43200;
    *out = 0;
    if (!v)
        return 0;
    if (strcmp(category, "AUTHENTICATION") == 0)
        max = 900;
    else if (strcmp(category, "MARKETING") == 0) {
        min = 43200;
        max = 2592000;
    }
    if (seed)
        min = 1;
    if (!json_is_integer(v) || (json_integer_value(v) != -1 &&
                                (json_integer_value(v) < min || json_integer_value(v) > max))) {
        snprintf(err, errlen,
                 "Param message_send_ttl_seconds must be -1 or between %ld and %ld for %s "
                 "templates",
                 min, max, category);
        return -1;
    }
    *out = json_integer_value(v) == -1 ? 2592000 : (long)json_integer_value(v);
    return 0;
}

int templates_create(const json_t *body, bool allow_status, const char *default_status,
                     const struct tpl_review *review, struct tpl_info *out, char *err,
                     size_t errlen)
{
    static const char *const categories[] = {"UTILITY", "MARKETING", "AUTHENTICATION"};
    struct sim_template t;
    const char *name = json_string_value(json_object_get(body, "name"));
    const char *language = json_string_value(json_object_get(body, "language"));
    const char *category = json_string_value(json_object_get(body, "category"));
    const char *status = json_string_value(json_object_get(body, "status"));
    const char *format = json_string_value(json_object_get(body, "parameter_format"));
    int rc = -1;

    memset(&t, 0, sizeof t);
    if (!name || !valid_name(name)) {
        snprintf(err, errlen, "name must be 1 to 512 lower-case letters, digits or underscores");
        return -1;
    }
    if (!language || !valid_language(language)) {
        snprintf(err, errlen, "language must be a language code such as es or en_US");
        return -1;
    }
    if (!category || !strlist_one_of(category, categories, 3)) {
        snprintf(err, errlen, "Param category must be one of {UTILITY, MARKETING, AUTHENTICATION}");
        return -1;
    }
    if (format && strcmp(format, "POSITIONAL") != 0 && strcmp(format, "NAMED") != 0) {
        snprintf(err, errlen, "parameter_format must be POSITIONAL or NAMED");
        return -1;
    }
    if (status && (!allow_status || !valid_status(status))) {
        snprintf(err, errlen,
                 allow_status ? "status is not a template status"
                              : "status cannot be set on creation");
        return -1;
    }
    if (read_components(json_object_get(body, "components"), &t, err, errlen) != 0)
        return -1;
    if (!allow_status && !examples_given(json_object_get(body, "components"), &t)) {
        snprintf(err, errlen,
                 "BODY component does not contain the expected field(s) (example): %d "
                 "body_text values are needed",
                 t.info.body_params);
        return -1;
    }
    if (read_ttl(body, category, allow_status, &t.info.ttl_seconds, err, errlen) != 0)
        return -1;
    snprintf(t.name, sizeof t.name, "%s", name);
    snprintf(t.language, sizeof t.language, "%s", language);
    snprintf(t.parameter_format, sizeof t.parameter_format, "%s", format ? format : "POSITIONAL");
    snprintf(t.info.category, sizeof t.info.category, "%s", category);
    snprintf(t.info.status, sizeof t.info.status, "%s", status ? status : default_status);
    snprintf(t.info.quality, sizeof t.info.quality, "%s", allow_status ? "GREEN" : "UNKNOWN");
    if (review && review->delay_ms > 0) { /* PENDING now, decided later */
        snprintf(t.review_status, sizeof t.review_status, "%s", t.info.status);
        snprintf(t.info.status, sizeof t.info.status, "PENDING");
        t.review_due_ms = monotonic_ms() + review->delay_ms;
        snprintf(t.review_reason, sizeof t.review_reason, "%s",
                 review->reason ? review->reason : "NONE");
    } else if (review && review->reason && strcmp(t.info.status, "REJECTED") == 0) {
        snprintf(t.rejected_reason, sizeof t.rejected_reason, "%s", review->reason);
    }
    if (!t.rejected_reason[0])
        snprintf(t.rejected_reason, sizeof t.rejected_reason, "%s",
                 strcmp(t.info.status, "REJECTED") == 0 ? "INVALID_FORMAT" : "NONE");

    pthread_rwlock_wrlock(&tpl_lock);
    for (size_t i = 0; i < ntpls; i++) {
        if (strcmp(tpls[i].name, name) == 0 && strcmp(tpls[i].language, language) == 0) {
            snprintf(err, errlen, "Content in this language already exists");
            rc = -2;
            goto unlock;
        }
    }
    if (ntpls >= TPL_MAX) {
        snprintf(err, errlen, "the simulator holds at most %d templates", TPL_MAX);
        goto unlock;
    }
    ids_numeric(t.info.id);
    t.components = json_deep_copy(json_object_get(body, "components"));
    append_locked(&t);
    *out = t.info;
    rc = 0;
unlock:
    pthread_rwlock_unlock(&tpl_lock);
    return rc;
}

int templates_update(const char *name, const char *language, const struct tpl_change *c,
                     struct tpl_info *before, struct tpl_info *after, char *err, size_t errlen)
{
    static const char *const qualities[] = {"GREEN", "YELLOW", "RED", "UNKNOWN"};
    static const char *const categories[] = {"UTILITY", "MARKETING", "AUTHENTICATION"};
    int rc = -1;
    if (c->status && !valid_status(c->status)) {
        snprintf(err, errlen, "status is not a template status");
        return -2;
    }
    if (c->quality && !strlist_one_of(c->quality, qualities, 4)) {
        snprintf(err, errlen, "quality must be GREEN, YELLOW, RED or UNKNOWN");
        return -2;
    }
    if (c->category && !strlist_one_of(c->category, categories, 3)) {
        snprintf(err, errlen, "category must be UTILITY, MARKETING or AUTHENTICATION");
        return -2;
    }
    templates_settle(monotonic_ms());
    pthread_rwlock_wrlock(&tpl_lock);
    for (size_t i = 0; i < ntpls; i++) {
        struct sim_template *t = &tpls[i];
        if (strcmp(t->name, name) != 0 || strcmp(t->language, language) != 0)
            continue;
        *before = t->info;
        if (c->status) {
            snprintf(t->info.status, sizeof t->info.status, "%s", c->status);
            t->review_due_ms = 0;
            snprintf(t->rejected_reason, sizeof t->rejected_reason, "%.63s",
                     c->reason ? c->reason : "NONE");
        }
        if (c->quality)
            snprintf(t->info.quality, sizeof t->info.quality, "%s", c->quality);
        if (c->category && strcmp(c->category, t->info.category) != 0) {
            snprintf(t->previous_category, sizeof t->previous_category, "%s", t->info.category);
            snprintf(t->info.category, sizeof t->info.category, "%s", c->category);
        }
        *after = t->info;
        rc = 0;
        break;
    }
    pthread_rwlock_unlock(&tpl_lock);
    return rc;
}

bool templates_by_id(const char *id, struct tpl_info *out, char *name, size_t namelen,
                     char *language, size_t langlen)
{
    bool found = false;
    templates_settle(monotonic_ms());
    pthread_rwlock_rdlock(&tpl_lock);
    for (size_t i = 0; i < ntpls && !found; i++) {
        if (strcmp(tpls[i].info.id, id) == 0) {
            *out = tpls[i].info;
            snprintf(name, namelen, "%s", tpls[i].name);
            snprintf(language, langlen, "%s", tpls[i].language);
            found = true;
        }
    }
    pthread_rwlock_unlock(&tpl_lock);
    return found;
}

static const struct strlist_bit tfields[] = {
    {"id", TF_ID},
    {"name", TF_NAME},
    {"language", TF_LANGUAGE},
    {"status", TF_STATUS},
    {"category", TF_CATEGORY},
    {"components", TF_COMPONENTS},
    {"parameter_format", TF_PARAMETER_FORMAT},
    {"rejected_reason", TF_REJECTED_REASON},
    {"sub_category", TF_SUB_CATEGORY},
    {"quality_score", TF_QUALITY},
    {"message_send_ttl_seconds", TF_TTL},
    {"previous_category", TF_PREVIOUS_CATEGORY},
};

bool templates_parse_fields(const char *fields, unsigned *mask, char *bad, size_t badlen)
{
    *mask = TF_ID;
    return strlist_fields(fields, tfields, sizeof tfields / sizeof tfields[0], false, mask, bad,
                          badlen);
}

static json_t *template_json(const struct sim_template *t, unsigned mask)
{
    json_t *o = json_object();
    if (mask & TF_NAME)
        json_object_set_new(o, "name", json_string(t->name));
    if (mask & TF_PARAMETER_FORMAT)
        json_object_set_new(o, "parameter_format", json_string(t->parameter_format));
    if (mask & TF_COMPONENTS)
        json_object_set_new(o, "components", json_deep_copy(t->components));
    if (mask & TF_LANGUAGE)
        json_object_set_new(o, "language", json_string(t->language));
    if (mask & TF_STATUS)
        json_object_set_new(o, "status", json_string(t->info.status));
    if (mask & TF_CATEGORY)
        json_object_set_new(o, "category", json_string(t->info.category));
    if (mask & TF_REJECTED_REASON)
        json_object_set_new(o, "rejected_reason", json_string(t->rejected_reason));
    if (mask & TF_SUB_CATEGORY)
        json_object_set_new(o, "sub_category", json_string("CUSTOM"));
    if (mask & TF_QUALITY)
        json_object_set_new(o, "quality_score", json_pack("{s:s}", "score", t->info.quality));
    if ((mask & TF_TTL) && t->info.ttl_seconds)
        json_object_set_new(o, "message_send_ttl_seconds", json_integer(t->info.ttl_seconds));
    if ((mask & TF_PREVIOUS_CATEGORY) && t->previous_category[0])
        json_object_set_new(o, "previous_category", json_string(t->previous_category));
    json_object_set_new(o, "id", json_string(t->info.id));
    return o;
}

json_t *templates_list(const char *name, const char *language, const char *status,
                       const char *category, unsigned mask)
{
    json_t *arr = json_array();
    templates_settle(monotonic_ms());
    pthread_rwlock_rdlock(&tpl_lock);
    for (size_t i = ntpls; i-- > 0;) {
        const struct sim_template *t = &tpls[i];
        if ((name && strcmp(t->name, name) != 0) ||
            (language && strcmp(t->language, language) != 0) ||
            (status && strcmp(t->info.status, status) != 0) ||
            (category && strcmp(t->info.category, category) != 0))
            continue;
        json_array_append_new(arr, template_json(t, mask));
    }
    pthread_rwlock_unlock(&tpl_lock);
    return arr;
}
