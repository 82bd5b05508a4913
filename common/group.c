/* group.c - the queue, the group's thread and the hand-back of group.h. An item is
 * shared by its request's handler and the group, under the group's lock, and freed by
 * whichever lets go last: the request's release (answered, or its client or the server
 * gone) or the group (the request was done with before its batch ran). */
#include "group.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "alloc.h"
#include "db.h"
#include "log.h"
#include "metrics.h"

/* A parked request gives up after this long without an outcome (503): a database that
 * blocks the batch (a lock, a full disk) must not hold clients forever. */
#define GROUP_PARK_MS 60000
/* On the last run, how long a batch in flight is waited for. */
#define GROUP_LAST_WAIT_MS 3000

struct group {
    const struct group_config *cfg;
    pthread_mutex_t lock;
    pthread_cond_t work; /* something queued, or stop */
    pthread_cond_t done; /* a batch ran (last runs wait for theirs) */
    struct group_item *head, **tail;
    size_t waiting; /* queued or in flight */
    bool stopping;
    bool idle; /* the thread waits for work: a submit must signal it (else it looks) */
    bool busy; /* a batch is in flight (the thread's, or a lone request's own) */
    pthread_t thread;
    struct metric *batches, *items, *waiting_gauge;
};

static void set_waiting(struct group *g, long delta)
{
    g->waiting = (size_t)((long)g->waiting + delta);
    metric_set(g->waiting_gauge, (double)g->waiting);
}

/* The request is done with. */
static void item_release(void *state)
{
    struct group_item *it = state;
    struct group *g = it->group;
    pthread_mutex_lock(&g->lock);
    bool mine = it->done;
    it->released = true;
    it->req = NULL;
    pthread_mutex_unlock(&g->lock);
    if (mine)
        g->cfg->free_item(it);
}

static void run(struct group *g, struct group_item **items, size_t n)
{
    g->cfg->run(items, n);
    metric_inc(g->batches);
    metric_add(g->items, (double)n);
}

static void *group_thread(void *arg)
{
    struct group *g = arg;
    db_thread_background();
    struct group_item **batch = xcalloc((size_t)g->cfg->max_items, sizeof(*batch));
    pthread_mutex_lock(&g->lock);
    for (;;) {
        while ((!g->head || g->busy) && !g->stopping) {
            g->idle = true;
            pthread_cond_wait(&g->work, &g->lock);
            g->idle = false;
        }
        if (!g->head)
            break;
        g->busy = true;
        size_t n = 0;
        while (g->head && n < (size_t)g->cfg->max_items) {
            batch[n++] = g->head;
            g->head = g->head->next;
        }
        if (!g->head)
            g->tail = &g->head;
        pthread_mutex_unlock(&g->lock);

        run(g, batch, n);

        pthread_mutex_lock(&g->lock);
        for (size_t i = 0; i < n; i++) {
            struct group_item *it = batch[i];
            it->done = true;
            /* Under the lock: the request cannot be released (and freed) meanwhile. */
            if (it->released)
                g->cfg->free_item(it);
            else
                http_wake_request(it->req);
        }
        set_waiting(g, -(long)n);
        g->busy = false;
        pthread_cond_broadcast(&g->done);
    }
    pthread_mutex_unlock(&g->lock);
    free(batch);
    db_thread_close();
    return NULL;
}

struct group *group_start(const struct group_config *cfg)
{
    struct group *g = xcalloc(1, sizeof(*g));
    g->cfg = cfg;
    g->tail = &g->head;
    g->batches = metrics_counter(cfg->batches_metric, cfg->batches_help, "");
    g->items = metrics_counter(cfg->items_metric, cfg->items_help, "");
    g->waiting_gauge = metrics_gauge(cfg->waiting_metric, cfg->waiting_help, "");
    pthread_mutex_init(&g->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&g->work, &ca);
    pthread_cond_init(&g->done, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&g->thread, NULL, group_thread, g) != 0) {
        log_error("cannot start a group thread\tmetric=%s", cfg->batches_metric);
        pthread_cond_destroy(&g->work);
        pthread_cond_destroy(&g->done);
        pthread_mutex_destroy(&g->lock);
        free(g);
        return NULL;
    }
    return g;
}

void group_stop(struct group *g)
{
    if (!g)
        return;
    pthread_mutex_lock(&g->lock);
    g->stopping = true;
    pthread_cond_signal(&g->work);
    pthread_mutex_unlock(&g->lock);
    pthread_join(g->thread, NULL);
    pthread_cond_destroy(&g->work);
    pthread_cond_destroy(&g->done);
    pthread_mutex_destroy(&g->lock);
    free(g);
}

void group_submit(struct group *g, struct http_request *req, struct group_item *it)
{
    it->group = g;
    it->req = req;
    http_set_state(req, it, item_release);

    pthread_mutex_lock(&g->lock);
    set_waiting(g, 1);
    if (!g->busy && !g->head) { /* nothing in flight, nobody waiting: run it now, here */
        g->busy = true;
        pthread_mutex_unlock(&g->lock);
        run(g, &it, 1);
        pthread_mutex_lock(&g->lock);
        it->done = true;
        set_waiting(g, -1);
        g->busy = false;
        if (g->head && g->idle) /* what came meanwhile is the group thread's */
            pthread_cond_signal(&g->work);
        pthread_cond_broadcast(&g->done);
        pthread_mutex_unlock(&g->lock);
        return;
    }
    *g->tail = it;
    g->tail = &it->next;
    if (g->idle && !g->busy) /* else it takes the queue when the batch in flight is done */
        pthread_cond_signal(&g->work);
    pthread_mutex_unlock(&g->lock);
}

struct group_item *group_item_of(const struct http_request *req)
{
    return http_state(req);
}

void group_wait(struct http_request *req)
{
    http_park(req, HTTP_NO_TOPIC, http_started_ms(req) + GROUP_PARK_MS);
}

bool group_outcome(struct group_item *it, bool last_run)
{
    struct group *g = it->group;
    pthread_mutex_lock(&g->lock);
    if (!it->done && last_run) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += GROUP_LAST_WAIT_MS / 1000;
        while (!it->done && pthread_cond_timedwait(&g->done, &g->lock, &until) == 0) {
        }
    }
    bool done = it->done;
    pthread_mutex_unlock(&g->lock);
    return done;
}
