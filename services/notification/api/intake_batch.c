/* intake_batch.c - the committer thread of intake's group commit: takes every queued
 * message at once, writes them in one statement (store_messages_create()), and wakes
 * each request with its own outcome. */
#include "api/intake_batch.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "log.h"
#include "metrics.h"
#include "outbox/wakeup.h"

/* A parked request gives up after this long without an answer (503), as a database that
 * blocks the commit (a lock, a full disk) must not hold clients forever. */
#define INTAKE_PARK_MS 60000
/* On the last run (the server stopping), how long a commit in flight is waited for. */
#define INTAKE_LAST_WAIT_MS 3000

/* One request's message. Shared by the request's handler and the committer, under
 * b.lock; freed by whichever of the two is last: the request's release (answered) or the
 * committer (the request was done with before its commit answered). */
struct intake_entry {
    struct intake_entry *next;   /* in the queue */
    struct http_request *req;    /* NULL once released */
    struct store_new_message *m; /* owned, strings included */
    bool done;                   /* ref holds the outcome */
    bool released;               /* the request is gone: the committer frees the entry */
    struct store_message_ref ref;
};

static struct {
    pthread_mutex_t lock;
    pthread_cond_t work; /* something queued, or stop */
    pthread_cond_t done; /* a commit answered (last runs wait for theirs) */
    struct intake_entry *head, **tail;
    size_t waiting; /* queued or in flight */
    long max_rows;
    bool started, stopping;
    bool idle; /* the committer waits for work: a submit must signal it (else it looks) */
    bool busy; /* a commit is in flight (the committer's, or a lone request's own) */
    pthread_t thread;
    struct metric *commits, *messages, *waiting_gauge;
} b = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .done = PTHREAD_COND_INITIALIZER,
    .tail = &b.head,
};

static pthread_once_t metrics_once = PTHREAD_ONCE_INIT;

static void make_metrics(void)
{
    b.commits = metrics_counter("whatsapp_intake_commits_total",
                                "Intake transactions: each writes the messages of every "
                                "request that was waiting (group commit).",
                                "");
    b.messages = metrics_counter("whatsapp_intake_committed_messages_total",
                                 "Messages written by intake transactions, stored or found.", "");
    b.waiting_gauge =
        metrics_gauge("whatsapp_intake_waiting", "Intake requests waiting for their commit.", "");
}

static void entry_free(struct intake_entry *e)
{
    if (!e)
        return;
    free(e->m);
    free(e);
}

/* The request is done with (answered, or its client or the server went away). */
static void entry_release(void *state)
{
    struct intake_entry *e = state;
    pthread_mutex_lock(&b.lock);
    bool mine = e->done;
    e->released = true;
    e->req = NULL;
    pthread_mutex_unlock(&b.lock);
    if (mine)
        entry_free(e);
}

/* Writes n messages and fills each entry's ref. A batch the database refuses as a
 * whole (not an outage: a bug, or one message it cannot take) is written again one
 * message at a time, so that one bad message fails alone. */
static void commit(struct intake_entry **batch, size_t n)
{
    struct store_new_message *m = xcalloc(n, sizeof(*m));
    struct store_message_ref *ref = xcalloc(n, sizeof(*ref));
    pthread_once(&metrics_once, make_metrics);
    for (size_t i = 0; i < n; i++)
        m[i] = *batch[i]->m;
    enum db_status st = store_messages_create(m, n, ref);
    if (st == DB_ERROR && n > 1) {
        log_warn("intake batch refused, writing its messages one by one\tmessages=%zu", n);
        for (size_t i = 0; i < n; i++) {
            enum db_status one = store_messages_create(&m[i], 1, &ref[i]);
            if (one != DB_OK)
                ref[i].st = one;
        }
    } else if (st != DB_OK) {
        for (size_t i = 0; i < n; i++)
            ref[i].st = st;
    }
    bool queued = false;
    for (size_t i = 0; i < n; i++) {
        batch[i]->ref = ref[i];
        queued = queued ||
                 (ref[i].st == DB_OK && ref[i].created && strcmp(ref[i].status, "queued") == 0);
    }
    metric_inc(b.commits);
    metric_add(b.messages, (double)n);
    /* Once per commit, not per message: the worker takes all of them in its next claim. */
    if (queued)
        wakeup_queued();
    free(ref);
    free(m);
}

static void *committer(void *unused)
{
    (void)unused;
    struct intake_entry **batch = xcalloc((size_t)b.max_rows, sizeof(*batch));
    pthread_mutex_lock(&b.lock);
    for (;;) {
        while ((!b.head || b.busy) && !b.stopping) {
            b.idle = true;
            pthread_cond_wait(&b.work, &b.lock);
            b.idle = false;
        }
        if (!b.head)
            break;
        b.busy = true;
        size_t n = 0;
        while (b.head && n < (size_t)b.max_rows) {
            batch[n++] = b.head;
            b.head = b.head->next;
        }
        if (!b.head)
            b.tail = &b.head;
        pthread_mutex_unlock(&b.lock);

        commit(batch, n);

        pthread_mutex_lock(&b.lock);
        for (size_t i = 0; i < n; i++) {
            struct intake_entry *e = batch[i];
            e->done = true;
            /* Under the lock: the request cannot be released (and freed) meanwhile. */
            if (e->released)
                entry_free(e);
            else
                http_wake_request(e->req);
        }
        b.waiting -= n;
        b.busy = false;
        metric_set(b.waiting_gauge, (double)b.waiting);
        pthread_cond_broadcast(&b.done);
    }
    pthread_mutex_unlock(&b.lock);
    free(batch);
    db_thread_close();
    return NULL;
}

bool intake_batch_start(long max_rows)
{
    b.max_rows = max_rows > 0 ? max_rows : 1;
    pthread_once(&metrics_once, make_metrics);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&b.work, &ca);
    pthread_cond_destroy(&b.done);
    pthread_cond_init(&b.done, &ca);
    pthread_condattr_destroy(&ca);
    b.stopping = false;
    if (pthread_create(&b.thread, NULL, committer, NULL) != 0) {
        log_error("cannot start the intake committer thread");
        return false;
    }
    b.started = true;
    return true;
}

void intake_batch_stop(void)
{
    if (!b.started)
        return;
    pthread_mutex_lock(&b.lock);
    b.stopping = true;
    pthread_cond_signal(&b.work);
    pthread_mutex_unlock(&b.lock);
    pthread_join(b.thread, NULL);
    b.started = false;
    pthread_cond_destroy(&b.work);
}

void intake_batch_submit(struct http_request *req, const struct store_new_message *m)
{
    struct intake_entry *e = xcalloc(1, sizeof(*e));
    e->m = store_message_copy(m);
    e->req = req;
    http_set_state(req, e, entry_release);

    pthread_mutex_lock(&b.lock);
    b.waiting++;
    metric_set(b.waiting_gauge, (double)b.waiting);
    /* Nothing in flight and nobody waiting: this request commits at once, alone, on its
     * own thread (a hand-over to the committer and back would only add to its latency).
     * Without a committer (not started, or stopped), every request does. */
    if (!b.started || (!b.busy && !b.head)) {
        bool group = b.started;
        b.busy = b.busy || group;
        pthread_mutex_unlock(&b.lock);
        commit(&e, 1);
        pthread_mutex_lock(&b.lock);
        e->done = true;
        b.waiting--;
        metric_set(b.waiting_gauge, (double)b.waiting);
        if (group) {
            b.busy = false;
            if (b.head && b.idle) /* what came meanwhile is the committer's */
                pthread_cond_signal(&b.work);
        }
        pthread_cond_broadcast(&b.done);
        pthread_mutex_unlock(&b.lock);
        return;
    }
    *b.tail = e;
    b.tail = &e->next;
    if (b.idle && !b.busy) /* else it takes the queue when the commit in flight is done */
        pthread_cond_signal(&b.work);
    pthread_mutex_unlock(&b.lock);
}

struct intake_entry *intake_batch_entry(const struct http_request *req)
{
    return http_state(req);
}

void intake_batch_wait(struct http_request *req)
{
    http_park(req, HTTP_NO_TOPIC, http_started_ms(req) + INTAKE_PARK_MS);
}

bool intake_batch_outcome(struct intake_entry *e, bool last_run, const struct store_new_message **m,
                          struct store_message_ref *ref)
{
    pthread_mutex_lock(&b.lock);
    if (!e->done && last_run) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += INTAKE_LAST_WAIT_MS / 1000;
        while (!e->done && pthread_cond_timedwait(&b.done, &b.lock, &until) == 0) {
        }
    }
    bool answered = e->done || last_run;
    if (e->done) {
        *ref = e->ref;
    } else {
        memset(ref, 0, sizeof(*ref));
        ref->st = DB_UNAVAILABLE;
    }
    pthread_mutex_unlock(&b.lock);
    *m = e->m;
    return answered;
}
