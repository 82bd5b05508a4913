/* holds.c - two small tables under one mutex: template languages (with the newest event
 * applied to each, held or not) and held numbers. A shared WABA has a handful of
 * template languages and at most a few hundred numbers: linear search is enough. */
#include "outbox/holds.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "monotonic.h"

#define MAX_TEMPLATES 256
#define MAX_NUMBERS 512

struct template_hold {
    char name[HOLDS_NAME_MAX];
    char language[HOLDS_LANGUAGE_MAX];
    bool held;
    char status[HOLDS_STATUS_MAX];
    char reason[HOLDS_REASON_MAX];
    long code;
    int64_t since_ms;           /* wall */
    int64_t next_probe_ms;      /* monotonic */
    long backoff_ms;            /* the wait after the next probe: doubles with each probe */
    bool has_event;             /* key below is set */
    struct holds_event_key key; /* the newest event applied */
};

struct number_hold {
    char phone_number_id[HOLDS_PHONE_ID_MAX];
    long code;
    char reason[HOLDS_REASON_MAX];
    int64_t since_ms; /* wall */
    int64_t until_ms; /* monotonic */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct template_hold templates[MAX_TEMPLATES];
static size_t ntemplates;
static struct number_hold numbers[MAX_NUMBERS];
static size_t nnumbers;
static long probe_first_ms = 5000, probe_max_ms = 300000;

void holds_configure(long probe_ms, long max_ms)
{
    pthread_mutex_lock(&lock);
    probe_first_ms = probe_ms > 0 ? probe_ms : 1;
    probe_max_ms = max_ms >= probe_first_ms ? max_ms : probe_first_ms;
    pthread_mutex_unlock(&lock);
}

/* The entry of name/language, created when create is set (NULL when the table is full,
 * which a WABA with 256 template languages in use would need). Under lock. */
static struct template_hold *template_entry(const char *name, const char *language, bool create)
{
    for (size_t i = 0; i < ntemplates; i++) {
        if (strcmp(templates[i].name, name) == 0 && strcmp(templates[i].language, language) == 0)
            return &templates[i];
    }
    if (!create || ntemplates == MAX_TEMPLATES)
        return NULL;
    struct template_hold *t = &templates[ntemplates++];
    memset(t, 0, sizeof(*t));
    snprintf(t->name, sizeof t->name, "%s", name);
    snprintf(t->language, sizeof t->language, "%s", language);
    return t;
}

/* Holds t from now on (keeping an older start), the first probe one interval away.
 * Under lock. */
static void hold(struct template_hold *t, const char *status, long code, const char *reason)
{
    if (!t->held) {
        t->since_ms = wallclock_ms();
        t->backoff_ms = probe_first_ms;
        t->next_probe_ms = monotonic_ms() + t->backoff_ms;
    }
    t->held = true;
    t->code = code;
    snprintf(t->status, sizeof t->status, "%s", status);
    snprintf(t->reason, sizeof t->reason, "%s", reason ? reason : "");
}

static bool key_newer(struct holds_event_key a, struct holds_event_key b)
{
    return a.time_s > b.time_s || (a.time_s == b.time_s && a.seq > b.seq);
}

/* Meta's template states that stop its sends, and those that let them go; any other
 * (a state Meta adds later) changes nothing. MISSING is ours: no such language. */
static const char *const holding[] = {"PAUSED",   "DISABLED",       "REJECTED",         "PENDING",
                                      "MISSING",  "IN_APPEAL",      "PENDING_DELETION", "DELETED",
                                      "ARCHIVED", "LIMIT_EXCEEDED", "NOT_APPROVED"};
static const char *const sending[] = {"APPROVED", "FLAGGED", "REINSTATED"};

static bool among(const char *status, const char *const *set, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(status, set[i]) == 0)
            return true;
    }
    return false;
}

static bool status_holds(const char *status)
{
    return among(status, holding, sizeof holding / sizeof holding[0]);
}

static bool status_sends(const char *status)
{
    return among(status, sending, sizeof sending / sizeof sending[0]);
}

enum holds_applied holds_template_status(const char *name, const char *language, const char *status,
                                         const char *reason, struct holds_event_key key)
{
    bool changed = false, held = false, newer = false;
    pthread_mutex_lock(&lock);
    struct template_hold *t = template_entry(name, language, true);
    if (t && (!t->has_event || key_newer(key, t->key))) {
        newer = true;
        t->has_event = true;
        t->key = key;
        if (status_holds(status)) {
            changed = !t->held || strcmp(t->status, status) != 0;
            hold(t, status, -1, reason);
            held = true;
        } else if (status_sends(status) && t->held) {
            t->held = false;
            changed = true;
        }
    }
    pthread_mutex_unlock(&lock);
    if (changed && held)
        log_warn("template held: its messages wait\ttemplate=%s language=%s status=%s "
                 "reason=\"%s\"",
                 name, language, status, reason ? reason : "");
    else if (changed)
        log_info("template released: its messages go\ttemplate=%s language=%s", name, language);
    return !newer ? HOLDS_OLDER : changed ? HOLDS_CHANGED : HOLDS_SAME;
}

void holds_template_refused(const char *name, const char *language, long code, const char *message)
{
    bool first = false;
    pthread_mutex_lock(&lock);
    struct template_hold *t = template_entry(name, language, true);
    if (t) {
        first = !t->held;
        hold(t,
             code == 132016   ? "DISABLED"
             : code == 132001 ? "NOT_APPROVED"
                              : "PAUSED",
             code, message);
    }
    pthread_mutex_unlock(&lock);
    if (first)
        log_warn("template held after Graph refused it: its messages wait\ttemplate=%s "
                 "language=%s code=%ld error=\"%s\"",
                 name, language, code, message ? message : "");
}

void holds_template_sent(const char *name, const char *language)
{
    bool was = false;
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < ntemplates; i++) {
        struct template_hold *t = &templates[i];
        if (t->held && strcmp(t->name, name) == 0 && strcmp(t->language, language) == 0) {
            t->held = false;
            was = true;
        }
    }
    pthread_mutex_unlock(&lock);
    if (was)
        log_info("template released: Graph accepted a probe\ttemplate=%s language=%s", name,
                 language);
}

void holds_template_check(const char *name, const char *language, int64_t now_ms,
                          struct hold_check *out)
{
    memset(out, 0, sizeof(*out));
    out->code = -1;
    pthread_mutex_lock(&lock);
    struct template_hold *t = template_entry(name, language, false);
    if (t && t->held) {
        out->may_fall_back = strcmp(t->status, "PAUSED") != 0;
        if (now_ms >= t->next_probe_ms) {
            /* This one goes; the next probe waits twice as long, unless this one lifts
             * the hold. */
            out->probe = true;
            t->next_probe_ms = now_ms + t->backoff_ms;
            t->backoff_ms = t->backoff_ms * 2 > probe_max_ms ? probe_max_ms : t->backoff_ms * 2;
        } else {
            int64_t w = t->next_probe_ms - now_ms;
            out->wait_ms = w < HOLDS_RECHECK_MS ? (long)w : HOLDS_RECHECK_MS;
            out->code = t->code;
            snprintf(out->why, sizeof out->why, "%s: template %s (%s) is %s at Meta%s%s",
                     out->may_fall_back ? "template_not_approved" : "waiting", name, language,
                     t->status, t->reason[0] ? ": " : "", t->reason);
        }
    }
    pthread_mutex_unlock(&lock);
}

bool holds_template_held(const char *name, const char *language)
{
    pthread_mutex_lock(&lock);
    const struct template_hold *t = template_entry(name, language, false);
    bool held = t && t->held;
    pthread_mutex_unlock(&lock);
    return held;
}

void holds_number_refused(const char *phone_number_id, long code, const char *message)
{
    bool first = false;
    pthread_mutex_lock(&lock);
    struct number_hold *h = NULL;
    for (size_t i = 0; i < nnumbers && !h; i++) {
        if (strcmp(numbers[i].phone_number_id, phone_number_id) == 0)
            h = &numbers[i];
    }
    if (!h && nnumbers < MAX_NUMBERS) {
        h = &numbers[nnumbers++];
        memset(h, 0, sizeof(*h));
        snprintf(h->phone_number_id, sizeof h->phone_number_id, "%s", phone_number_id);
    }
    int64_t now = monotonic_ms();
    if (h) {
        first = h->until_ms <= now;
        if (first)
            h->since_ms = wallclock_ms();
        h->until_ms = now + HOLDS_NUMBER_MS;
        h->code = code;
        snprintf(h->reason, sizeof h->reason, "%s", message ? message : "");
    }
    pthread_mutex_unlock(&lock);
    if (first)
        log_warn("number held for a minute: its messages wait\tphone_number_id=%s code=%ld "
                 "error=\"%s\"",
                 phone_number_id, code, message ? message : "");
}

long holds_number_wait(const char *phone_number_id, int64_t now_ms, char *why, size_t len,
                       long *code)
{
    long wait = 0;
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < nnumbers; i++) {
        const struct number_hold *h = &numbers[i];
        if (h->until_ms > now_ms && strcmp(h->phone_number_id, phone_number_id) == 0) {
            wait = (long)(h->until_ms - now_ms);
            *code = h->code;
            snprintf(why, len, "waiting: number %s is held for a minute: %s", phone_number_id,
                     h->reason);
        }
    }
    pthread_mutex_unlock(&lock);
    return wait;
}

size_t holds_list(struct hold_view *out, size_t max)
{
    size_t n = 0;
    int64_t now = monotonic_ms(), wall = wallclock_ms();
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < ntemplates; i++) {
        const struct template_hold *t = &templates[i];
        if (!t->held)
            continue;
        if (n < max) {
            struct hold_view *v = &out[n];
            memset(v, 0, sizeof(*v));
            v->template = true;
            memcpy(v->name, t->name, sizeof v->name);             /* same size */
            memcpy(v->language, t->language, sizeof v->language); /* same size */
            memcpy(v->status, t->status, sizeof v->status);       /* same size */
            memcpy(v->reason, t->reason, sizeof v->reason);       /* same size */
            v->code = t->code;
            v->since_ms = t->since_ms;
            v->until_ms = wall + (t->next_probe_ms > now ? t->next_probe_ms - now : 0);
        }
        n++;
    }
    for (size_t i = 0; i < nnumbers; i++) {
        const struct number_hold *h = &numbers[i];
        if (h->until_ms <= now)
            continue;
        if (n < max) {
            struct hold_view *v = &out[n];
            memset(v, 0, sizeof(*v));
            memcpy(v->phone_number_id, h->phone_number_id,
                   sizeof v->phone_number_id); /* same size */
            snprintf(v->status, sizeof v->status, "MAINTENANCE");
            memcpy(v->reason, h->reason, sizeof v->reason); /* same size */
            v->code = h->code;
            v->since_ms = h->since_ms;
            v->until_ms = wall + (h->until_ms - now);
        }
        n++;
    }
    pthread_mutex_unlock(&lock);
    return n;
}

void holds_clear(void)
{
    pthread_mutex_lock(&lock);
    ntemplates = 0;
    nnumbers = 0;
    pthread_mutex_unlock(&lock);
}
