/* worker.c - the outbox loop on two threads, each with its own database connection: the
 * claimer takes due rows and turns each into a Graph request for the sender or a final
 * answer (skipped, failed, released); the writer writes every result back, a batch per
 * statement. Claims are the latency path and never wait behind result writes. */
#include "outbox/worker.h"

#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "outbox/compose.h"
#include "db.h"
#include "httpclient.h"
#include "log.h"
#include "metrics.h"
#include "monotonic.h"
#include "outbox/outbox.h"
#include "graph/probe.h"
#include "outbox/holds.h"
#include "outbox/mailer.h"
#include "outbox/owners.h"
#include "outbox/pause.h"
#include "outbox/sender.h"
#include "shutdown.h"
#include "tenants/quota_events.h"
#include "tenants/settings.h"
#include "wakefd.h"
#include "outbox/wakeup.h"

#define POLL_MS 1000           /* look for due rows at least this often */
#define HOLDS_READ_MS 2000     /* read the template events other instances stored */
#define DB_RETRY_MS 1000       /* after the database failed */
#define SETTINGS_RETRY_MS 1000 /* a message whose tenant settings could not be had */
#define WRITE_BATCH_MAX 1000   /* results per statement */
#define STOP_MAX_MS 9000       /* shutdown stops waiting for results after this, */
#define STOP_RESERVE_MS 2000   /* or earlier: what stops after the writer needs this */
#define NEVER INT64_MAX

struct worker {
    const struct notification_config *cfg;
    char owner[128]; /* the lease owner: INSTANCE_ID or hostname:pid */
    struct sender *sender;
    struct mailer *mailer; /* emails (issue 21) */
    struct owners *owners; /* the sender numbers this instance sends from (issue 23) */
    atomic_bool stop;

    /* shared by the two threads */
    int claim_fd; /* eventfd: wakes the claimer (results written, stop) */
    int write_fd; /* eventfd: wakes the writer (results ready) */
    pthread_mutex_t lock;
    struct send_job_list early;  /* results the claimer decided, under lock */
    atomic_size_t unwritten;     /* results not yet written */
    _Atomic int64_t next_due_ms; /* the earliest retry the writer scheduled */
    atomic_bool claimer_done;

    /* the claimer's own */
    pthread_t claimer;
    struct tenant_settings_cache *settings;
    PGconn *listen;
    int64_t listen_retry_ms;
    bool claim_due;   /* a wake-up, or a full batch: more rows may be due now */
    bool notify_owed; /* local intake queued rows the other instances have not heard of */
    int64_t next_notify_ms;
    bool was_paused;
    int64_t next_poll_ms;
    int64_t next_probe_ms;
    long probe_backoff_ms;      /* the wait after the next probe of a paused account */
    int64_t next_holds_ms;      /* when to read the template events again */
    long reported_limit;        /* the messaging limit every instance records: 0 unlimited,
                                   -1 unknown (read with the template events) */
    unsigned long pause_stored; /* pause_changes() of this process's last stored change */
    long pause_version;         /* the stored pause's version this process follows */
    int64_t next_pause_read_ms;

    /* the writer's own */
    pthread_t writer;
    struct send_job_list results; /* to write, in order */
    size_t isolate_left;          /* results to write one by one after a batch failed */
    int64_t write_retry_ms;

    struct metric *skipped, *failed, *released, *pending_applied, *handed_over;
    struct metric *reach_waits, *reach_used, *reach_limit;
};

static double paused_value(void *arg)
{
    (void)arg;
    return pause_get(NULL, 0) ? 1.0 : 0.0;
}

static void register_paused_gauge(void)
{
    metrics_gauge_fn("whatsapp_sending_paused",
                     "1 while sending is paused for the whole account (a token or account error, "
                     "or a restriction)",
                     "", paused_value, NULL);
}

static bool all_digits(const char *s, size_t max)
{
    size_t n = strspn(s, "0123456789");
    return n > 0 && n <= max && s[n] == '\0';
}

/* ---------- the writer ---------- */

/* Hands a result the claimer decided to the writer. */
static void push_early(struct worker *w, struct send_job *job)
{
    atomic_fetch_add(&w->unwritten, 1);
    pthread_mutex_lock(&w->lock);
    send_job_list_push(&w->early, job);
    pthread_mutex_unlock(&w->lock);
}

/* Takes the results of the sender and of the claimer. */
static void collect(struct worker *w)
{
    atomic_fetch_add(&w->unwritten, sender_collect(w->sender, &w->results));
    atomic_fetch_add(&w->unwritten, mailer_collect(w->mailer, &w->results));
    pthread_mutex_lock(&w->lock);
    send_job_list_splice(&w->results, &w->early);
    pthread_mutex_unlock(&w->lock);
}

/* Applies statuses that a webhook stored before these wamids were known: part of
 * writing the sends' results. */
static void apply_pending_statuses(struct worker *w, struct send_job *jobs, size_t n)
{
    const char **wamids = xcalloc(n, sizeof(*wamids));
    const char **ids = xcalloc(n, sizeof(*ids));
    bool *pending = xcalloc(n, sizeof(*pending));
    size_t m = 0;

    size_t i = 0;
    for (struct send_job *job = jobs; job && i < n; job = job->next, i++) {
        if (job->result.outcome == OUTBOX_SENT && job->result.wamid) {
            wamids[m] = job->result.wamid;
            ids[m++] = job->result.id;
        }
    }
    if (m && outbox_pending(wamids, m, pending) != DB_OK)
        log_warn("cannot look for early statuses; they stay pending\tmessages=%zu", m);
    for (i = 0; i < m; i++) {
        long applied = 0;
        if (!pending[i])
            continue;
        if (outbox_pending_apply(ids[i], wamids[i], &applied) != DB_OK) {
            log_warn("pending statuses not applied; they stay pending\tid=%s error=\"%s\"", ids[i],
                     db_error_message());
            continue;
        }
        if (applied) {
            metric_add(w->pending_applied, (double)applied);
            log_info("pending statuses applied\tid=%s count=%ld", ids[i], applied);
        }
    }
    free(wamids);
    free(ids);
    free(pending);
}

/* One line per message whose story ends here (sent, failed, skipped), once it is
 * written, so that grep <message id> tells the whole of it. */
static void log_outcomes(const struct send_job *job, size_t n)
{
    char to[32], from[32], code[24];
    for (size_t i = 0; i < n && job; i++, job = job->next) {
        const struct outbox_result *r = &job->result;
        log_mask_phone(job->recipient, to, sizeof to);
        switch (r->outcome) {
        case OUTBOX_SENT:
            log_info("message sent\tid=%s tenant=%s to=%s sender_id=%s from=%s wamid=%s", r->id,
                     job->tenant_id, to, job->phone_number_id,
                     job->sender_display[0] ? log_mask_phone(job->sender_display, from, sizeof from)
                                            : "platform",
                     r->wamid ? r->wamid : "");
            break;
        case OUTBOX_FAILED:
            if (r->error_code == OUTBOX_NO_CODE)
                snprintf(code, sizeof code, "none");
            else
                snprintf(code, sizeof code, "%ld", r->error_code);
            log_warn("message failed\tid=%s tenant=%s to=%s sender_id=%s attempts=%d code=%s "
                     "error=\"%s\"",
                     r->id, job->tenant_id, to,
                     job->phone_number_id[0] ? job->phone_number_id : "none",
                     job->attempts + (r->attempt_used ? 1 : 0), code,
                     r->error_message ? r->error_message : "");
            break;
        case OUTBOX_SKIPPED:
            log_info("message skipped\tid=%s tenant=%s reason=%s", r->id, job->tenant_id,
                     r->skip_reason);
            break;
        case OUTBOX_RETRY:
        case OUTBOX_RELEASE:
            break;
        }
    }
}

/* Whether any of the first n results is a message handed to the instance that owns its
 * number: that instance is to be told (NOTIFY) once the hand-over is written. */
static bool any_handed_over(const struct send_job *job, size_t n)
{
    for (size_t i = 0; i < n && job; i++, job = job->next) {
        if (job->handed_over)
            return true;
    }
    return false;
}

/* Forgets the first n results (written, or given up) and notes their retry times. */
static void drop_results(struct worker *w, size_t n, int64_t now)
{
    int64_t due = NEVER;
    struct send_job_list done = {0};
    for (size_t i = 0; i < n && w->results.head; i++) {
        struct send_job *job = send_job_list_pop(&w->results);
        enum outbox_outcome o = job->result.outcome;
        if ((o == OUTBOX_RETRY || o == OUTBOX_RELEASE) && now + job->result.delay_ms < due)
            due = now + job->result.delay_ms;
        send_job_list_push(&done, job);
    }
    send_job_list_free(&done);
    atomic_fetch_sub(&w->unwritten, n);
    int64_t seen = atomic_load(&w->next_due_ms);
    while (due < seen && !atomic_compare_exchange_weak(&w->next_due_ms, &seen, due)) {
    }
}

/* Writes the results, a batch per statement. When the database is down they wait; a
 * batch that fails otherwise is written again row by row, so one bad row (logged, it
 * returns to the queue when its lease expires) cannot hold back the others. */
static void write_results(struct worker *w, int64_t now)
{
    struct outbox_result *batch[WRITE_BATCH_MAX];
    while (w->results.n) {
        size_t n = w->results.n < WRITE_BATCH_MAX ? w->results.n : WRITE_BATCH_MAX;
        if (w->isolate_left)
            n = 1;
        struct send_job *job = w->results.head;
        for (size_t i = 0; i < n; i++, job = job->next)
            batch[i] = &job->result;
        enum db_status st = outbox_apply(w->owner, batch, n);
        if (st == DB_UNAVAILABLE) {
            w->write_retry_ms = now + DB_RETRY_MS;
            return;
        }
        if (st != DB_OK && n > 1) {
            w->isolate_left = n;
            continue;
        }
        if (st != DB_OK)
            log_error("a send result could not be written; the message returns to the queue "
                      "when its lease expires\tid=%s",
                      w->results.head->result.id);
        else
            log_outcomes(w->results.head, n);
        if (st == DB_OK)
            apply_pending_statuses(w, w->results.head, n);
        if (st == DB_OK && any_handed_over(w->results.head, n) && outbox_notify() != DB_OK)
            log_warn("messages handed to another instance wait for its next look (NOTIFY "
                     "failed)");
        if (w->isolate_left)
            w->isolate_left--;
        drop_results(w, n, now);
        wakefd_signal(w->claim_fd); /* room to claim again, maybe new due times */
    }
}

static void *writer_run(void *arg)
{
    struct worker *w = arg;
    db_thread_background();
    int64_t deadline = NEVER;
    for (;;) {
        int64_t now = monotonic_ms();
        collect(w);
        if (w->results.n && now >= w->write_retry_ms)
            write_results(w, now);
        if (atomic_load(&w->claimer_done)) {
            if (deadline == NEVER) {
                int64_t budget_end = shutdown_deadline_ms(STOP_RESERVE_MS);
                deadline = now + STOP_MAX_MS < budget_end ? now + STOP_MAX_MS : budget_end;
            }
            bool sender_done = sender_finished(w->sender) && mailer_finished(w->mailer);
            collect(w);
            if ((sender_done && w->results.n == 0) || now >= deadline)
                break;
        }
        int64_t wake = w->results.n ? w->write_retry_ms : now + POLL_MS;
        if (wake > deadline)
            wake = deadline;
        int timeout = wake > now ? (int)(wake - now) : 0;
        struct pollfd pfd = {.fd = w->write_fd, .events = POLLIN};
        if (poll(&pfd, 1, timeout) > 0)
            wakefd_drain(w->write_fd);
    }
    if (w->results.n)
        log_error("results not written at shutdown; those messages return to the queue when "
                  "their lease expires\tcount=%zu",
                  w->results.n);
    db_thread_close();
    return NULL;
}

/* ---------- preparing a claimed row ---------- */

enum verdict { GO, FALL_BACK, HOLD };

/* Whether a composed message may go: its number or its template language may be held
 * (holds.h). A purchase order whose language waits for approval goes in
 * TEMPLATE_FALLBACK_LANGUAGE when that one is not held; else it waits, its attempt
 * unused, with why in *check. */
static enum verdict check_holds(const struct worker *w, const struct outbox_row *row,
                                const struct compose_result *c, struct hold_check *check,
                                bool *hold_probe)
{
    const char *fallback = w->cfg->template_fallback_language;
    int64_t now = monotonic_ms();

    memset(check, 0, sizeof(*check));
    check->code = -1;
    check->wait_ms =
        holds_number_wait(c->phone_number_id, now, check->why, sizeof check->why, &check->code);
    if (check->wait_ms)
        return HOLD;
    holds_template_check(row->template_name, c->language, now, check);
    bool held = check->wait_ms > 0 || check->probe;
    /* An order that can go in the fallback language goes, rather than wait or probe: the
     * held language is lifted by its webhook or the next read of the list. */
    if (held && row->kind == OUTBOX_PURCHASE_ORDER && check->may_fall_back && fallback[0] &&
        strcmp(fallback, c->language) != 0 && !holds_template_held(row->template_name, fallback))
        return FALL_BACK;
    *hold_probe = check->probe;
    return check->wait_ms == 0 ? GO : HOLD;
}

/* ---------- emails ---------- */

/* An email row: the message for the mailer (returns true), or its answer. */
static bool prepare_email(struct worker *w, const struct outbox_row *row,
                          enum tenant_settings_status status, const struct tenant_settings *ts,
                          struct send_job *job)
{
    const struct notification_config *cfg = w->cfg;
    char error[256];

    if (status == TENANT_SETTINGS_UNAVAILABLE) {
        job->result.outcome = OUTBOX_RELEASE;
        job->result.delay_ms = SETTINGS_RETRY_MS;
        job->result.error_message =
            xstrdup("waiting for the tenant's settings: tenant-service does not answer");
        metric_inc(w->released);
        return false;
    }
    if (status == TENANT_SETTINGS_UNKNOWN) {
        job->result.outcome = OUTBOX_FAILED;
        job->result.error_message = xasprintf("unknown tenant %s", row->tenant_id);
        metric_inc(w->failed);
        return false;
    }
    struct mail_policy policy = {
        .configured = cfg->smtp_url[0] != '\0',
        .whatsapp_on = cfg->enabled,
        .fallback_wanted = cfg->po_email_fallback,
    };
    const char *skip = mail_skip_reason(&policy, ts, strcmp(row->follows_reason, "fallback") == 0);
    if (skip) {
        job->result.outcome = OUTBOX_SKIPPED;
        job->result.skip_reason = skip;
        metric_inc(w->skipped);
        return false;
    }
    struct mail_order order = {
        .language = row->language,
        .to = row->recipient_email,
        .supplier_name = row->supplier_name,
        .po_number = row->po_number,
        .total_amount = row->total_amount,
        .currency = row->currency,
    };
    struct mail *m = xcalloc(1, sizeof(*m));
    if (mail_compose(&order, ts, cfg->smtp_from, m, error, sizeof error) != 0) {
        free(m);
        job->result.outcome = OUTBOX_FAILED;
        job->result.error_message = xstrdup(error);
        metric_inc(w->failed);
        return false;
    }
    job->mail = m;
    job->result.language = xstrdup(m->language);
    return true;
}

/* Turns a claimed row into a Graph request for the sender (returns true) or into its
 * answer for the writer (skipped, failed, released: returns false), by compose.h and
 * the holds. */
static bool prepare(struct worker *w, const struct outbox_row *row, bool probe,
                    struct send_job *job)
{
    struct tenant_settings ts;
    struct compose_result c;
    struct hold_check check;
    struct compose_input in = {
        .platform_enabled = w->cfg->enabled,
        .default_phone_id = w->cfg->default_phone_number_id,
        .settings_status = TENANT_SETTINGS_UNAVAILABLE,
        .settings = &ts,
        .row = row,
        .now_us = wallclock_us(),
        .ttl_seconds = w->cfg->message_ttl_seconds,
    };
    enum verdict verdict = GO;

    snprintf(job->result.id, sizeof job->result.id, "%s", row->id);
    snprintf(job->tenant_id, sizeof job->tenant_id, "%s", row->tenant_id);
    snprintf(job->template_name, sizeof job->template_name, "%s", row->template_name);
    job->result.error_code = OUTBOX_NO_CODE;
    job->attempts = row->attempts;
    job->created_us = row->created_us;
    job->probe = probe;
    job->quota = -1;
    job->holds_unit = row->quota_month[0] != '\0';
    job->holds_reach = row->reach_taken;
    if (w->cfg->enabled || row->email) /* WhatsApp switched off needs no settings */
        in.settings_status = tenant_settings_get(w->settings, row->tenant_id, row->created_us, &ts);
    if (in.settings_status == TENANT_SETTINGS_OK || in.settings_status == TENANT_SETTINGS_STALE)
        job->quota = ts.monthly_quota;
    if (row->email)
        return prepare_email(w, row, in.settings_status, &ts, job);
    /* an order sent both ways gets its email row now (once: outbox_email_siblings) */
    job->email_too =
        row->kind == OUTBOX_PURCHASE_ORDER && row->has_email && row->follows_reason[0] == '\0' &&
        (in.settings_status == TENANT_SETTINGS_OK || in.settings_status == TENANT_SETTINGS_STALE) &&
        ts.email_enabled && (ts.po_channels & TENANT_CHANNEL_EMAIL) &&
        (ts.po_channels & TENANT_CHANNEL_WHATSAPP) && ts.whatsapp_enabled;
    compose(&in, &c);
    if (c.outcome == COMPOSE_SEND) {
        verdict = check_holds(w, row, &c, &check, &job->hold_probe);
        if (verdict == FALL_BACK) {
            compose_result_clear(&c);
            in.fallback_language = w->cfg->template_fallback_language;
            compose(&in, &c);
        }
    }
    switch (c.outcome) {
    case COMPOSE_SEND:
        if (verdict == HOLD) {
            job->result.outcome = OUTBOX_RELEASE;
            job->result.delay_ms = check.wait_ms;
            job->result.error_code = check.code < 0 ? OUTBOX_NO_CODE : check.code;
            job->result.error_message = xstrdup(check.why);
            job->result.language = xstrdup(c.language);
            metric_inc(w->released);
            break;
        }
        job->body = c.body;
        c.body = NULL;
        job->body_len = strlen(job->body);
        snprintf(job->phone_number_id, sizeof job->phone_number_id, "%s", c.phone_number_id);
        snprintf(job->sender_display, sizeof job->sender_display, "%s", c.sender_display);
        snprintf(job->recipient, sizeof job->recipient, "%s", row->recipient);
        job->result.phone_number_id = xstrdup(c.phone_number_id);
        job->result.language = xstrdup(c.language);
        job->result.fallback_from = c.fallback_from[0] ? xstrdup(c.fallback_from) : NULL;
        job->result.parameters = c.parameters;
        c.parameters = NULL;
        break;
    case COMPOSE_SKIP:
        job->result.outcome = OUTBOX_SKIPPED;
        job->result.skip_reason = c.skip_reason;
        metric_inc(w->skipped);
        break;
    case COMPOSE_FAIL:
        job->result.outcome = OUTBOX_FAILED;
        job->result.error_message = c.error;
        c.error = NULL;
        metric_inc(w->failed);
        break;
    case COMPOSE_WAIT:
        job->result.outcome = OUTBOX_RELEASE;
        job->result.delay_ms = SETTINGS_RETRY_MS;
        job->result.error_message = c.error;
        c.error = NULL;
        metric_inc(w->released);
        break;
    }
    bool send = c.outcome == COMPOSE_SEND && verdict != HOLD;
    compose_result_clear(&c);
    return send;
}

/* ---------- quotas ---------- */

static int by_tenant(const void *a, const void *b)
{
    const struct send_job *x = *(struct send_job *const *)a, *y = *(struct send_job *const *)b;
    return strcmp(x->tenant_id, y->tenant_id);
}

/* A job over its tenant's quota ends skipped, final and said. */
static void over_quota(struct worker *w, struct send_job *job)
{
    free(job->body);
    job->body = NULL;
    job->result.outcome = OUTBOX_SKIPPED;
    job->result.skip_reason = COMPOSE_SKIP_QUOTA;
    metric_inc(w->skipped);
    push_early(w, job);
}

/* Logs a tenant's crossing of 80% and of its quota with this batch's grant, and queues
 * it for tenant-service's audit log (never blocks: tenants/quota_events.h). */
static void crossed(const struct outbox_quota_request *q)
{
    long after = q->used_before + q->tenant_granted;
    if (q->used_before * 5 < q->quota * 4 && after * 5 >= q->quota * 4 && after < q->quota) {
        log_warn("quota_warning: a tenant used 80%% of its monthly WhatsApp quota\ttenant=%s "
                 "used=%ld quota=%ld month=%s",
                 q->tenant_id, after, q->quota, q->month);
        quota_events_push(q->tenant_id, "quota_warning", after, q->quota, q->month);
    }
    if (q->used_before < q->quota && after >= q->quota) {
        log_warn("quota_reached: a tenant used its monthly WhatsApp quota\ttenant=%s used=%ld "
                 "quota=%ld month=%s",
                 q->tenant_id, after, q->quota, q->month);
        quota_events_push(q->tenant_id, "quota_reached", after, q->quota, q->month);
    }
}

/* Takes the quota units of the jobs about to be sent, one statement for the batch; a
 * job beyond its tenant's grant is skipped quota_exceeded. A job whose row holds a unit
 * already (claimed again after a crash or a release) keeps it. When the database cannot
 * be asked, the limited tenants' jobs wait (released) rather than risk passing a quota. */
static void take_quotas(struct worker *w, struct send_job_list *jobs)
{
    size_t n = jobs->n, nreq = 0;
    if (n == 0)
        return;
    struct send_job **all = xcalloc(n, sizeof(*all));
    struct outbox_quota_request *req = xcalloc(n, sizeof(*req));
    for (size_t i = 0; i < n; i++)
        all[i] = send_job_list_pop(jobs);
    qsort(all, n, sizeof(*all), by_tenant); /* one lock order for every batch */
    for (size_t i = 0; i < n; i++) {
        if (all[i]->quota >= 0 && !all[i]->holds_unit)
            req[nreq++] = (struct outbox_quota_request){.tenant_id = all[i]->tenant_id,
                                                        .message_id = all[i]->result.id,
                                                        .quota = all[i]->quota};
    }
    enum db_status st = nreq ? outbox_quota_take(req, nreq, w->cfg->billing_timezone) : DB_OK;
    for (size_t i = 0, k = 0; i < n; i++) {
        struct send_job *job = all[i];
        if (job->quota < 0 || job->holds_unit) {
            send_job_list_push(jobs, job);
            continue;
        }
        const struct outbox_quota_request *q = &req[k++];
        if (st != DB_OK) {
            free(job->body);
            job->body = NULL;
            job->result.outcome = OUTBOX_RELEASE;
            job->result.delay_ms = DB_RETRY_MS;
            push_early(w, job);
        } else if (q->granted) {
            send_job_list_push(jobs, job);
        } else {
            over_quota(w, job);
        }
        /* once per tenant: the last request of each tenant's run */
        if (st == DB_OK && (k == nreq || strcmp(req[k].tenant_id, q->tenant_id) != 0))
            crossed(q);
    }
    free(req);
    free(all);
}

/* ---------- the messaging limit ---------- */

/* A job that found no place under the messaging limit waits delay_ms, its attempt
 * unused, and says why in its row (why NULL: the database could not be asked). */
static void wait_for_reach(struct worker *w, struct send_job *job, const char *why, long delay_ms)
{
    free(job->body);
    job->body = NULL;
    job->result.outcome = OUTBOX_RELEASE;
    job->result.delay_ms = delay_ms;
    if (why) {
        job->result.error_message = xstrdup(why);
        metric_inc(w->reach_waits);
    }
    push_early(w, job);
}

/* Takes the messaging-limit places of the jobs about to be sent (outbox_reach_take), one
 * statement for the batch, before their quota units: a job that waits here holds no
 * unit. A job to a new recipient without a place waits until the account's oldest place
 * frees, looked at again at least every WHATSAPP_PAUSE_PROBE_MAX_MS (a raised limit);
 * a job whose row holds a place already (claimed again after a crash) keeps it.
 * Nothing is taken while the account has no known limit. */
static void take_reach(struct worker *w, struct send_job_list *jobs)
{
    char full[160], over_share[200];
    long limit = w->cfg->messaging_limit > 0 ? w->cfg->messaging_limit : w->reported_limit;
    long used = 0, frees_in_ms = 0;
    size_t n = jobs->n, nreq = 0;
    if (limit <= 0 || n == 0)
        return;
    long share = limit * w->cfg->messaging_limit_share / 100;
    if (share < 1)
        share = 1;
    struct send_job **all = xcalloc(n, sizeof(*all));
    struct outbox_reach_request *req = xcalloc(n, sizeof(*req));
    for (size_t i = 0; i < n; i++) {
        all[i] = send_job_list_pop(jobs);
        if (!all[i]->holds_reach)
            req[nreq++] = (struct outbox_reach_request){.tenant_id = all[i]->tenant_id,
                                                        .recipient = all[i]->recipient,
                                                        .message_id = all[i]->result.id};
    }
    enum db_status st =
        nreq ? outbox_reach_take(req, nreq, limit, share, &used, &frees_in_ms) : DB_OK;
    long wait_ms = frees_in_ms < 1000 ? 1000 : frees_in_ms;
    if (wait_ms > w->cfg->pause_probe_max_ms)
        wait_ms = w->cfg->pause_probe_max_ms;
    if (st == DB_OK && nreq)
        metric_set(w->reach_used, (double)used);
    snprintf(full, sizeof full,
             "messaging_limit: the account reached its limit of %ld unique recipients in 24 h",
             limit);
    snprintf(over_share, sizeof over_share,
             "messaging_limit: the account is near its limit of %ld unique recipients in 24 h "
             "and this bakery has reached its share of %ld",
             limit, share);
    for (size_t i = 0, k = 0; i < n; i++) {
        struct send_job *job = all[i];
        if (job->holds_reach) {
            send_job_list_push(jobs, job);
            continue;
        }
        const struct outbox_reach_request *q = &req[k++];
        if (st != DB_OK)
            wait_for_reach(w, job, NULL, DB_RETRY_MS);
        else if (q->granted)
            send_job_list_push(jobs, job);
        else
            wait_for_reach(w, job, used >= limit ? full : over_share, wait_ms);
    }
    free(req);
    free(all);
}

/* ---------- sender numbers ---------- */

/* Keeps the jobs whose number this instance owns (taking the free ones it may: one
 * statement for the batch's new numbers) and hands the others to the instance that owns
 * their number: back to the queue at once, naming it (the claim of that instance takes
 * it), their attempt unused. */
static void hand_over(struct worker *w, struct send_job_list *jobs)
{
    size_t n = jobs->n, nnew = 0;
    if (n == 0)
        return;
    const char **numbers = xcalloc(n, sizeof(*numbers));
    for (const struct send_job *job = jobs->head; job; job = job->next) {
        if (owners_has(w->owners, job->phone_number_id))
            continue;
        bool seen = false;
        for (size_t k = 0; k < nnew && !seen; k++)
            seen = strcmp(numbers[k], job->phone_number_id) == 0;
        if (!seen)
            numbers[nnew++] = job->phone_number_id;
    }
    if (nnew)
        owners_acquire(w->owners, numbers, nnew);
    free(numbers);
    if (nnew == 0)
        return;
    struct send_job_list keep = {0};
    for (struct send_job *job; (job = send_job_list_pop(jobs)) != NULL;) {
        if (owners_has(w->owners, job->phone_number_id)) {
            send_job_list_push(&keep, job);
            continue;
        }
        free(job->body);
        job->body = NULL;
        job->result.outcome = OUTBOX_RELEASE;
        job->result.delay_ms = 0;
        job->handed_over = true;
        metric_inc(w->handed_over);
        push_early(w, job);
    }
    send_job_list_splice(jobs, &keep);
}

/* ---------- the claimer ---------- */

/* Brings the settings of the claimed rows' tenants up to the newest row's creation, in
 * one request to tenant-service at most. */
static void refresh_settings(struct worker *w, const struct outbox_claim *c)
{
    if (c->n == 0)
        return;
    const char **ids = xcalloc(c->n, sizeof(*ids));
    int64_t newest = 0;
    for (size_t i = 0; i < c->n; i++) {
        ids[i] = c->rows[i].tenant_id;
        if (c->rows[i].created_us > newest)
            newest = c->rows[i].created_us;
    }
    tenant_settings_refresh(w->settings, ids, c->n, newest);
    free(ids);
}

/* Dates the next probe of a paused account one backoff from now, and doubles the
 * backoff for the one after, up to WHATSAPP_PAUSE_PROBE_MAX_MS. */
static void next_probe(struct worker *w, int64_t now)
{
    long cap = w->cfg->pause_probe_max_ms > w->probe_backoff_ms ? w->cfg->pause_probe_max_ms
                                                                : w->probe_backoff_ms;
    w->next_probe_ms = now + w->probe_backoff_ms;
    w->probe_backoff_ms = w->probe_backoff_ms * 2 > cap ? cap : w->probe_backoff_ms * 2;
}

/* The cheap half of a probe (graph/probe.h): true when the account looks able to send,
 * so that one real message may try. Without the account's id there is nothing to read
 * and the real send decides. */
static bool account_readable(struct worker *w)
{
    const struct notification_config *cfg = w->cfg;
    char why[512];
    if (!cfg->business_account_id[0] || !cfg->access_token[0])
        return true;
    enum graph_probe r =
        graph_probe_account(cfg->graph_base_url, cfg->api_version, cfg->business_account_id,
                            cfg->access_token, cfg->graph_timeout_ms, why, sizeof why);
    const char *result = r == GRAPH_PROBE_OK        ? "can_send"
                         : r == GRAPH_PROBE_BLOCKED ? "blocked"
                                                    : "failed";
    char labels[32];
    snprintf(labels, sizeof labels, "result=\"%s\"", result);
    metric_inc(metrics_counter("whatsapp_pause_probe_reads_total",
                               "Reads of the paused account's health before a probe send, by "
                               "what they found.",
                               labels));
    log_info("paused account probed by a read\tresult=%s next_in_ms=%ld detail=\"%s\"", result,
             (long)(w->next_probe_ms - monotonic_ms()), why);
    return r == GRAPH_PROBE_OK;
}

/* Turns claimed rows into jobs: answers for the writer, emails for the mailer, Graph
 * requests (past the messaging limit and the quotas) for the sender. probe: the rows
 * were claimed as the probe of a paused account. */
static void dispatch(struct worker *w, const struct outbox_claim *c, bool probe)
{
    struct send_job_list submit = {0}, mail = {0};
    refresh_settings(w, c);
    const char **both = xcalloc(c->n ? c->n : 1, sizeof(*both));
    size_t nboth = 0;
    for (size_t i = 0; i < c->n; i++) {
        struct send_job *job = xcalloc(1, sizeof(*job));
        bool go = prepare(w, &c->rows[i], probe, job);
        if (job->email_too)
            both[nboth++] = c->rows[i].id;
        if (!go)
            push_early(w, job);
        else
            send_job_list_push(job->mail ? &mail : &submit, job);
    }
    if (nboth && outbox_email_siblings(both, nboth) != DB_OK)
        log_warn("the email rows of orders sent both ways were not made\tcount=%zu", nboth);
    free(both);
    mailer_submit(w->mailer, &mail);
    hand_over(w, &submit);
    take_reach(w, &submit);
    take_quotas(w, &submit);
    sender_submit(w->sender, &submit);
    if (c->n > 0)
        wakefd_signal(w->write_fd);
}

/* While the account is paused, emails go on: they owe WhatsApp nothing. */
static void claim_emails(struct worker *w, int64_t now, size_t limit)
{
    struct outbox_claim c = {0};
    if (limit == 0 || now < w->next_poll_ms)
        return;
    w->next_poll_ms = now + POLL_MS;
    struct buf owned = {0};
    owners_array(w->owners, &owned);
    if (outbox_claim(w->owner, w->cfg->lease_seconds, limit, true, owned.data, &c) == DB_OK)
        dispatch(w, &c, false);
    outbox_claim_free(&c);
    buf_free(&owned);
}

static void claim(struct worker *w, int64_t now)
{
    struct outbox_claim c = {0};
    bool paused = pause_get(NULL, 0);

    if (w->was_paused && !paused)
        w->claim_due = true;        /* a probe worked, or an operator resumed: go on at once */
    if (!w->was_paused && paused) { /* the refusal that paused it was the first probe */
        w->probe_backoff_ms = w->cfg->pause_probe_ms;
        next_probe(w, now);
    }
    w->was_paused = paused;
    size_t max = (size_t)w->cfg->worker_inflight;
    size_t load = sender_load(w->sender) + mailer_load(w->mailer);
    size_t limit = load < max && atomic_load(&w->unwritten) < max ? max - load : 0;
    if (limit > (size_t)w->cfg->worker_batch)
        limit = (size_t)w->cfg->worker_batch;
    int64_t due = atomic_load(&w->next_due_ms);
    if (paused) {
        claim_emails(w, now, limit);
        /* Only a probe when due, one at a time, and only once a read finds the account
         * able to send. */
        if (now < w->next_probe_ms || sender_load(w->sender) > 0)
            return;
        next_probe(w, now);
        if (!account_readable(w))
            return;
        limit = 1;
    } else if (!w->claim_due && now < w->next_poll_ms && now < due) {
        return;
    }
    if (limit == 0) {
        w->claim_due = true; /* the writer wakes us when there is room */
        return;
    }
    struct buf owned = {0};
    owners_array(w->owners, &owned);
    enum db_status st = outbox_claim(w->owner, w->cfg->lease_seconds, limit, false, owned.data, &c);
    buf_free(&owned);
    w->next_poll_ms = now + POLL_MS;
    if (now >= due)
        atomic_compare_exchange_strong(&w->next_due_ms, &due, NEVER);
    if (st != DB_OK) {
        w->claim_due = false;
    } else {
        w->claim_due = !paused && c.n == limit;
        dispatch(w, &c, paused);
    }
    outbox_claim_free(&c);
}

/* Brings the template holds and the messaging limit up to what every instance stored: a
 * webhook reaches one instance, its effect every instance within HOLDS_READ_MS. */
static void read_holds(struct worker *w, int64_t now)
{
    size_t changed;
    if (now < w->next_holds_ms)
        return;
    w->next_holds_ms = now + HOLDS_READ_MS;
    if (outbox_template_statuses(&changed) == DB_OK && changed)
        w->claim_due = true; /* released messages may go now */
    long limit;
    if (outbox_messaging_limit(&limit) == DB_OK)
        w->reported_limit = limit;
    metric_set(w->reach_limit, w->cfg->messaging_limit > 0 ? (double)w->cfg->messaging_limit
                                                           : (double)w->reported_limit);
}

/* One pause for every instance (pause.h): this process's changes are stored, the others'
 * adopted, read at least every HOLDS_READ_MS and at once when another instance stores
 * one (its NOTIFY). */
static void share_pause(struct worker *w, int64_t now)
{
    struct pause_state st;
    long version = 0;
    unsigned long changes = pause_changes();
    if (changes != w->pause_stored) {
        pause_state(&st);
        if (outbox_pause_write(&st, &version) == DB_OK) {
            w->pause_stored = changes;
            w->pause_version = version;
        }
        return;
    }
    if (now < w->next_pause_read_ms)
        return;
    w->next_pause_read_ms = now + HOLDS_READ_MS;
    if (outbox_pause_read(&st, &version) != DB_OK || version <= w->pause_version)
        return;
    if (pause_adopt(&st, changes))
        w->pause_version = version;
}

static void keep_listening(struct worker *w, int64_t now)
{
    if (w->listen || now < w->listen_retry_ms)
        return;
    w->listen = outbox_listen();
    if (!w->listen) {
        w->listen_retry_ms = now + DB_RETRY_MS;
        return;
    }
    w->claim_due = true; /* notifications may have been missed meanwhile */
}

/* Acts on what outbox_listen_drain() returned: notifications from other instances mean
 * rows to claim; a broken connection is closed (keep_listening() opens it again later),
 * and since notifications may have been missed, the claimer looks as well. */
static void heard(struct worker *w, int n)
{
    if (n < 0) {
        log_warn("the LISTEN connection was lost; polling until it is back");
        PQfinish(w->listen);
        w->listen = NULL;
        w->listen_retry_ms = monotonic_ms() + DB_RETRY_MS;
    }
    if (n != 0) {
        w->claim_due = true;
        w->next_pause_read_ms = 0; /* it may be another instance's pause or resume */
    }
}

/* Lets the other instances' workers know of the rows intake queued here (wakeup.h), at
 * most one NOTIFY per WAKEUP_NOTIFY_GAP_MS. */
static void notify_others(struct worker *w, int64_t now)
{
    if (wakeup_take_owed())
        w->notify_owed = true;
    if (!w->notify_owed || !w->listen || now < w->next_notify_ms)
        return;
    w->notify_owed = false;
    w->next_notify_ms = now + WAKEUP_NOTIFY_GAP_MS;
    /* Notifications that arrived meanwhile were read into the connection: their socket
     * will not poll readable, so they are counted here. */
    int n = outbox_listen_notify(w->listen) ? outbox_listen_drain(w->listen) : -1;
    if (n < 0)
        w->notify_owed = true; /* paid once the connection is back */
    heard(w, n);
}

static int64_t wake_time(const struct worker *w, int64_t now)
{
    int64_t due = atomic_load(&w->next_due_ms);
    int64_t t = w->next_poll_ms < due ? w->next_poll_ms : due;
    size_t max = (size_t)w->cfg->worker_inflight;
    if (pause_get(NULL, 0)) { /* a probe when due and none is in flight; emails go on */
        int64_t probe = sender_load(w->sender) > 0
                            ? now + POLL_MS
                            : (w->next_probe_ms > now ? w->next_probe_ms : now);
        t = w->next_poll_ms < probe ? w->next_poll_ms : probe;
    } else if (w->claim_due && sender_load(w->sender) < max && atomic_load(&w->unwritten) < max)
        t = now;
    if (!w->listen && w->listen_retry_ms < t)
        t = w->listen_retry_ms;
    if (w->notify_owed && w->listen && w->next_notify_ms < t)
        t = w->next_notify_ms;
    return t;
}

/* Sleeps until there is something to do: a message queued here or elsewhere, room after
 * results, a timer, stop. */
static void wait_for_work(struct worker *w, int64_t now)
{
    struct pollfd fds[4] = {
        {.fd = w->claim_fd, .events = POLLIN},
        {.fd = shutdown_fd(), .events = POLLIN},
        {.fd = wakeup_fd(), .events = POLLIN},
        {.fd = w->listen ? PQsocket(w->listen) : -1, .events = POLLIN},
    };
    int64_t t = wake_time(w, now);
    int timeout = t <= now ? 0 : (int)(t - now < 60000 ? t - now : 60000);

    if (poll(fds, 4, timeout) <= 0)
        return;
    if (fds[0].revents & POLLIN)
        wakefd_drain(w->claim_fd);
    if (fds[2].revents & POLLIN) {
        wakeup_drain();
        w->claim_due = true;
    }
    if (fds[3].revents)
        heard(w, outbox_listen_drain(w->listen));
}

static void *claimer_run(void *arg)
{
    struct worker *w = arg;
    db_thread_background();
    w->claim_due = true;
    wakeup_attach(true);
    while (!atomic_load(&w->stop) && !shutdown_requested()) {
        int64_t now = monotonic_ms();
        keep_listening(w, now);
        share_pause(w, now);
        read_holds(w, now);
        claim(w, now);
        notify_others(w, now);
        wait_for_work(w, now);
    }
    wakeup_attach(false);
    w->next_notify_ms = 0;
    notify_others(w, monotonic_ms()); /* what is queued here is the others' now */
    log_info("outbox worker stopping: no new claims, in-flight sends finishing");
    sender_drain(w->sender);
    mailer_drain(w->mailer);
    atomic_store(&w->claimer_done, true);
    wakefd_signal(w->write_fd);
    PQfinish(w->listen);
    w->listen = NULL;
    db_thread_close();
    httpc_thread_cleanup();
    return NULL;
}

/* ---------- life cycle ---------- */

struct worker *worker_start(const struct notification_config *cfg,
                            struct tenant_settings_cache *settings)
{
    static pthread_once_t gauge_once = PTHREAD_ONCE_INIT;
    struct worker *w = NULL;
    const char *phone = cfg->default_phone_number_id;

    if (*phone && !all_digits(phone, TENANT_PHONE_ID_MAX - 1)) {
        log_error("WHATSAPP_PHONE_NUMBER_ID must be a Graph phone number id (digits)");
        return NULL;
    }
    if (cfg->enabled && !*cfg->access_token)
        log_warn("WHATSAPP_ACCESS_TOKEN is empty: Graph will refuse every send (paused)");
    pthread_once(&gauge_once, register_paused_gauge);
    holds_configure(cfg->pause_probe_ms, cfg->pause_probe_max_ms);

    w = xcalloc(1, sizeof(*w));
    w->cfg = cfg;
    w->claim_fd = wakefd_new();
    w->write_fd = wakefd_new();
    pthread_mutex_init(&w->lock, NULL);
    atomic_store(&w->next_due_ms, NEVER);
    w->reported_limit = -1;
    if (*cfg->instance_id) {
        snprintf(w->owner, sizeof w->owner, "%s", cfg->instance_id);
    } else {
        char host[64] = "localhost";
        gethostname(host, sizeof host - 1);
        snprintf(w->owner, sizeof w->owner, "%s:%ld", host, (long)getpid());
    }
    const char *help = "outcomes of claimed messages in the sender";
    w->skipped = metrics_counter("whatsapp_sends_total", help, "result=\"skipped\"");
    w->failed = metrics_counter("whatsapp_sends_total", help, "result=\"failed\"");
    w->released = metrics_counter("whatsapp_sends_total", help, "result=\"released\"");
    w->pending_applied =
        metrics_counter("whatsapp_webhook_statuses_total", "Webhook status reports by outcome.",
                        "result=\"pending_applied\"");
    w->handed_over = metrics_counter("whatsapp_sends_total", help, "result=\"handed_over\"");
    w->reach_waits = metrics_counter(
        "whatsapp_messaging_limit_waits_total",
        "Messages to new recipients that waited for a place under the messaging limit.", "");
    w->reach_used = metrics_gauge("whatsapp_messaging_limit_used",
                                  "Unique recipients the account reached in the last 24 h, as "
                                  "the last take counted them.",
                                  "");
    w->reach_limit = metrics_gauge("whatsapp_messaging_limit",
                                   "The messaging limit this instance's sender keeps to (unique "
                                   "recipients per rolling 24 h; 0 unlimited, -1 not known yet).",
                                   "");
    metric_set(w->reach_limit, -1);
    if (w->claim_fd < 0 || w->write_fd < 0)
        goto fail;
    w->settings = settings;
    struct owners_config oc = {
        .holder = w->owner,
        .lease_seconds = cfg->sender_lease_seconds,
        .release_gap_ms = 1000 + cfg->rate_margin_ms,
        .default_number = cfg->default_phone_number_id,
        .notify_fd = w->claim_fd,
    };
    w->owners = owners_start(&oc);
    if (!w->owners)
        goto fail;
    struct sender_config sc = {
        .graph_base_url = cfg->graph_base_url,
        .api_version = cfg->api_version,
        .access_token = cfg->access_token,
        .timeout_ms = cfg->graph_timeout_ms,
        .max_inflight = cfg->worker_inflight,
        .mps_per_phone = cfg->mps_per_phone,
        .rate_margin_ms = cfg->rate_margin_ms,
        .pair_interval_ms = cfg->pair_interval_ms,
        .max_attempts = cfg->max_attempts,
        .retry_base_ms = cfg->retry_base_ms,
        .retry_max_ms = cfg->retry_max_ms,
        .notify_fd = w->write_fd,
        .owners = w->owners,
    };
    w->sender = sender_start(&sc);
    if (!w->sender)
        goto fail;
    struct mailer_config mc = {
        .smtp = {.url = cfg->smtp_url,
                 .username = cfg->smtp_username,
                 .password = cfg->smtp_password,
                 .starttls = cfg->smtp_starttls && strncmp(cfg->smtp_url, "smtp://", 7) == 0,
                 .ca_file = cfg->smtp_ca_file,
                 .timeout_ms = cfg->graph_timeout_ms},
        .max_attempts = cfg->max_attempts,
        .retry_base_ms = cfg->retry_base_ms,
        .retry_max_ms = cfg->retry_max_ms,
        .notify_fd = w->write_fd,
    };
    w->mailer = mailer_start(&mc);
    if (!w->mailer)
        goto fail_sender;
    if (pthread_create(&w->writer, NULL, writer_run, w) != 0)
        goto fail_sender;
    if (pthread_create(&w->claimer, NULL, claimer_run, w) != 0) {
        atomic_store(&w->claimer_done, true);
        sender_drain(w->sender);
        mailer_drain(w->mailer);
        wakefd_signal(w->write_fd);
        pthread_join(w->writer, NULL);
        goto fail_sender;
    }
    log_info("outbox worker started\towner=%s batch=%ld inflight=%ld mps_per_phone=%ld", w->owner,
             cfg->worker_batch, cfg->worker_inflight, cfg->mps_per_phone);
    return w;
fail_sender:
    mailer_stop(w->mailer);
    sender_stop(w->sender);
fail:
    log_error("cannot start the outbox worker");
    owners_stop(w->owners);
    if (w->claim_fd >= 0)
        close(w->claim_fd);
    if (w->write_fd >= 0)
        close(w->write_fd);
    pthread_mutex_destroy(&w->lock);
    free(w);
    return NULL;
}

void worker_stop(struct worker *w)
{
    if (!w)
        return;
    atomic_store(&w->stop, true);
    wakefd_signal(w->claim_fd);
    pthread_join(w->claimer, NULL);
    pthread_join(w->writer, NULL);
    sender_stop(w->sender);
    mailer_stop(w->mailer);
    owners_stop(w->owners); /* nothing sends any more: the numbers go to the others */
    send_job_list_free(&w->results);
    send_job_list_free(&w->early);
    close(w->claim_fd);
    close(w->write_fd);
    pthread_mutex_destroy(&w->lock);
    log_info("outbox worker stopped");
    free(w);
}
