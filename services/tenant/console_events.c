/* console_events.c - GET /api/v1/events: the pages' live stream (Server-Sent Events).
 *
 * One thread (the hub) keeps the position it has told up to: the settings change number
 * (migration 0003) and the newest audit row. When settings_listener.c hears a commit of
 * any instance, the hub reads what is newer in one statement and writes it to each open
 * stream whose caller may see that tenant (admins all, users their own bakery). A stream
 * opens with "hello", after which a page reloads what it shows: what changed before is
 * in that reload, what changes after comes as an event. Every 15 s a comment line finds
 * clients that went away, and a stream whose session or token has ended is closed
 * (session_ended) so the page goes back to the sign-in page. The WhatsApp account's
 * changes (a number's quality, a template's status or quality, the pause and resume) go
 * to admins' streams only, as "account" events. */
#include "console_events.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "console_auth.h"
#include "db.h"
#include "handlers.h"
#include "log.h"
#include "metrics.h"
#include "monotonic.h"

#define AUDIT_LOOKBACK 50 /* audit ids are taken before commit: look back over late ones */
#define RECENT_AUDIT 256  /* ids told lately, so a late-looked-at row is told once */

/* An open stream. Only the hub thread unlinks and frees one; all fields under hub.lock. */
struct listener {
    struct http_stream *s;
    struct auth_principal who;
    char session_hash[CONSOLE_SECRET_HEX + 1]; /* "" for a bearer token */
    bool ended;                                /* session gone: close at the next pass */
    struct listener *next;
};

static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond; /* dirty, or stop */
    struct listener *list;
    long max;
    bool dirty, stop, started;
    pthread_t thread;
    struct metric *open_gauge;
    /* the hub thread's own */
    bool have_position;
    long long seq;         /* settings changes told up to */
    long long audit_floor; /* audit rows up to it existed before we started */
    long long audit_max;
    long long recent[RECENT_AUDIT];
    size_t recent_next;
} hub = {.lock = PTHREAD_MUTEX_INITIALIZER};

void console_events_changed(void)
{
    pthread_mutex_lock(&hub.lock);
    hub.dirty = true;
    pthread_cond_signal(&hub.cond);
    pthread_mutex_unlock(&hub.lock);
}

/* ---------- the hub thread (all under hub.lock unless said) ---------- */

/* Queues text on s; a failure shows at the next pass (http_stream_open). */
static void say(struct http_stream *s, const char *text)
{
    if (!http_stream_write(s, text, strlen(text)))
        return;
}

static size_t count_open(void)
{
    size_t n = 0;
    for (const struct listener *l = hub.list; l; l = l->next)
        n += http_stream_open(l->s) && !l->ended;
    return n;
}

/* Ends and frees the listeners that are closed, ended, or fail write (text). */
static void write_all(const char *text, const char *tenant)
{
    size_t len = text ? strlen(text) : 0;
    for (struct listener **link = &hub.list; *link;) {
        struct listener *l = *link;
        bool sees =
            !tenant || l->who.role == AUTH_ROLE_ADMIN || strcmp(l->who.tenant_id, tenant) == 0;
        bool keep = !l->ended && http_stream_open(l->s);
        if (keep && text && sees)
            keep = http_stream_write(l->s, text, len);
        if (keep) {
            link = &l->next;
            continue;
        }
        http_stream_end(l->s);
        http_stream_release(l->s);
        *link = l->next;
        free(l);
    }
    metric_set(hub.open_gauge, (double)count_open());
}

static void tell(const char *event, json_t *data, const char *tenant)
{
    char *json = json_dumps(data, JSON_COMPACT);
    char *text = xasprintf("event: %s\ndata: %s\n\n", event, json ? json : "{}");
    write_all(text, tenant);
    free(text);
    free(json);
    json_decref(data);
}

static bool told_lately(long long id)
{
    for (size_t i = 0; i < RECENT_AUDIT; i++) {
        if (hub.recent[i] == id)
            return true;
    }
    hub.recent[hub.recent_next] = id;
    hub.recent_next = (hub.recent_next + 1) % RECENT_AUDIT;
    return false;
}

/* Tells what doc (store_console_events) holds and moves the position on. */
static void tell_changes(const json_t *doc)
{
    long long position = json_integer_value(json_object_get(doc, "position"));
    long long audit_max = json_integer_value(json_object_get(doc, "audit_max"));
    if (!hub.have_position) {
        hub.seq = position;
        hub.audit_floor = hub.audit_max = audit_max;
        hub.have_position = true;
        return;
    }
    if (position < hub.seq)
        hub.seq = position; /* a restored database numbers again from there */
    const json_t *changes = json_object_get(doc, "settings");
    size_t i;
    const json_t *c;
    json_array_foreach (changes, i, c) {
        const char *tenant = json_string_value(json_object_get(c, "tenant_id"));
        long long seq = json_integer_value(json_object_get(c, "seq"));
        if (seq > hub.seq)
            hub.seq = seq;
        tell("settings", json_pack("{s:s?, s:I}", "tenant_id", tenant, "seq", (json_int_t)seq),
             tenant ? tenant : "");
    }
    if (json_array_size(changes) >= 500)
        hub.dirty = true; /* more to read */
    json_array_foreach (json_object_get(doc, "audit"), i, c) {
        long long id = json_integer_value(json_object_get(c, "id"));
        const char *tenant = json_string_value(json_object_get(c, "tenant_id"));
        if (id <= hub.audit_floor || told_lately(id))
            continue;
        tell("audit",
             json_pack("{s:I, s:s?, s:s?}", "id", (json_int_t)id, "tenant_id", tenant, "action",
                       json_string_value(json_object_get(c, "action"))),
             tenant ? tenant : "");
    }
    /* the account's changes (migration 0009): ids from the audit sequence, admins only */
    json_array_foreach (json_object_get(doc, "account"), i, c) {
        long long id = json_integer_value(json_object_get(c, "id"));
        if (id <= hub.audit_floor || told_lately(id))
            continue;
        tell("account", json_deep_copy(c), "");
    }
    if (audit_max > hub.audit_max)
        hub.audit_max = audit_max;
}

/* Marks the listeners whose session has ended (signed out anywhere). The lookups run
 * without the lock; only this thread frees listeners, so the pointers stay good. */
static void check_sessions(void)
{
    size_t n = 0;
    for (const struct listener *l = hub.list; l; l = l->next)
        n += l->session_hash[0] != '\0';
    if (n == 0)
        return;
    struct listener **ls = xcalloc(n, sizeof(*ls));
    char(*hashes)[CONSOLE_SECRET_HEX + 1] = xcalloc(n, sizeof(*hashes));
    bool *gone = xcalloc(n, sizeof(*gone));
    size_t k = 0;
    for (struct listener *l = hub.list; l && k < n; l = l->next) {
        if (l->session_hash[0]) {
            ls[k] = l;
            memcpy(hashes[k++], l->session_hash, sizeof hashes[0]);
        }
    }
    pthread_mutex_unlock(&hub.lock);
    for (size_t i = 0; i < k; i++) {
        struct auth_principal who;
        char csrf[HTTP_CSRF_MAX];
        gone[i] = store_session_get(hashes[i], &who, csrf, sizeof csrf) == STORE_NOT_FOUND;
    }
    pthread_mutex_lock(&hub.lock);
    for (size_t i = 0; i < k; i++) {
        if (gone[i]) {
            say(ls[i]->s, "event: session_ended\ndata: {}\n\n");
            ls[i]->ended = true;
        }
    }
    free(gone);
    free(hashes);
    free(ls);
}

/* The heartbeat: ends streams whose token or session ran out, then a comment line. */
static void heartbeat(void)
{
    long now = (long)time(NULL);
    for (struct listener *l = hub.list; l; l = l->next) {
        if (!l->ended && l->who.exp <= now) {
            say(l->s, "event: session_ended\ndata: {}\n\n");
            l->ended = true;
        }
    }
    check_sessions();
    write_all(": keep-alive\n\n", NULL);
}

static void wait_until(int64_t deadline_ms)
{
    int64_t left = deadline_ms - monotonic_ms();
    if (left <= 0)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += left / 1000;
    ts.tv_nsec += (long)(left % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&hub.cond, &hub.lock, &ts);
}

static void *hub_run(void *arg)
{
    (void)arg;
    db_thread_background();
    int64_t next_beat = monotonic_ms() + CONSOLE_EVENTS_HEARTBEAT_MS;
    bool down_logged = false;
    pthread_mutex_lock(&hub.lock);
    hub.dirty = true;
    while (!hub.stop) {
        if (!hub.dirty)
            wait_until(hub.have_position ? next_beat : monotonic_ms() + 1000);
        if (hub.stop)
            break;
        bool look = hub.dirty || !hub.have_position;
        hub.dirty = false;
        json_t *doc = NULL;
        if (look) {
            pthread_mutex_unlock(&hub.lock);
            long long after_seq = hub.have_position ? hub.seq : LLONG_MAX;
            long long after_audit = LLONG_MAX;
            if (hub.have_position)
                after_audit = hub.audit_max - AUDIT_LOOKBACK > hub.audit_floor
                                  ? hub.audit_max - AUDIT_LOOKBACK
                                  : hub.audit_floor;
            enum store_status st = store_console_events(after_seq, after_audit, &doc);
            if (st != STORE_OK && !down_logged)
                log_warn("console stream cannot read the changes; it retries");
            down_logged = st != STORE_OK;
            pthread_mutex_lock(&hub.lock);
            if (doc)
                tell_changes(doc);
            else
                hub.dirty = hub.dirty || hub.have_position; /* at the next wake-up */
            json_decref(doc);
        }
        if (monotonic_ms() >= next_beat) {
            heartbeat();
            next_beat = monotonic_ms() + CONSOLE_EVENTS_HEARTBEAT_MS;
        }
    }
    while (hub.list) {
        struct listener *l = hub.list;
        hub.list = l->next;
        http_stream_end(l->s);
        http_stream_release(l->s);
        free(l);
    }
    pthread_mutex_unlock(&hub.lock);
    db_thread_close();
    return NULL;
}

bool console_events_start(long max_streams)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&hub.cond, &ca);
    pthread_condattr_destroy(&ca);
    hub.max = max_streams;
    hub.open_gauge =
        metrics_gauge("console_event_streams", "Open streams of GET /api/v1/events.", "");
    hub.started = pthread_create(&hub.thread, NULL, hub_run, NULL) == 0;
    if (!hub.started)
        log_error("cannot start the console's event thread");
    return hub.started;
}

void console_events_stop(void)
{
    if (!hub.started)
        return;
    pthread_mutex_lock(&hub.lock);
    hub.stop = true;
    pthread_cond_signal(&hub.cond);
    pthread_mutex_unlock(&hub.lock);
    pthread_join(hub.thread, NULL);
    pthread_cond_destroy(&hub.cond);
    hub.started = false;
}

/* ---------- GET /api/v1/events ---------- */

void handle_events(struct http_request *req)
{
    const char *accept = http_header(req, "Accept");
    if (!accept || !strstr(accept, "text/event-stream")) {
        http_reply_error(req, 406, "not_acceptable",
                         "This is a stream of Server-Sent Events: ask with Accept: "
                         "text/event-stream");
        return;
    }
    const struct auth_principal *who = http_principal(req);
    pthread_mutex_lock(&hub.lock);
    if (!hub.started || hub.stop || (long)count_open() >= hub.max) {
        pthread_mutex_unlock(&hub.lock);
        http_add_header(req, "Retry-After", "15");
        http_reply_error(req, 503, "too_many_streams",
                         "This instance has as many live streams open as it may "
                         "(EVENTS_MAX_STREAMS); the page refreshes every 15 s instead");
        return;
    }
    struct listener *l = xcalloc(1, sizeof(*l));
    l->who = *who;
    if (http_via_session(req) &&
        !console_session_hash(http_cookie(req, CONSOLE_SESSION_COOKIE), l->session_hash))
        l->session_hash[0] = '\0';
    http_add_header(req, "X-Accel-Buffering", "no"); /* nginx: pass each event on at once */
    l->s = http_reply_stream(req, "text/event-stream; charset=utf-8");
    char hello[96];
    snprintf(hello, sizeof hello, "retry: %d\nevent: hello\ndata: {\"position\":%lld}\n\n",
             CONSOLE_EVENTS_RETRY_MS, hub.seq);
    say(l->s, hello);
    l->next = hub.list;
    hub.list = l;
    metric_set(hub.open_gauge, (double)count_open());
    pthread_mutex_unlock(&hub.lock);
}
