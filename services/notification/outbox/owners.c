/* owners.c - the keeper of owners.h: one thread with its own database connections (the
 * statements', and a LISTEN one that also tells it at once when the server is gone). */
#include "outbox/owners.h"

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "log.h"
#include "metrics.h"
#include "monotonic.h"
#include "outbox/leases.h"
#include "pgarray.h"
#include "uuidutil.h"
#include "wakefd.h"

#define CHANNEL "whatsapp_senders"
#define RETRY_MS 1000 /* after the database failed */
#define NUDGE_MS 250  /* at most this often when other instances say "look again" */

struct owned {
    char number[TENANT_PHONE_ID_MAX];
    long term;
    int64_t trusted_until_ms; /* monotonic; sends stop then unless renewed */
    int64_t leaving_since_ms; /* 0: kept; else given back at the renewal after this */
    struct metric *gauge;     /* whatsapp_sender_number_owned{phone_number_id} */
};

struct owners {
    struct owners_config cfg;
    char boot[UUID_STR_LEN];
    struct leases_self self;
    long tick_ms, trust_ms;
    pthread_t keeper;
    int stop_fd;
    PGconn *listen;
    int64_t next_tick_ms;

    pthread_mutex_t lock; /* guards what follows */
    struct owned *items;
    size_t n, cap;
    bool connected;             /* the keeper's LISTEN connection is up */
    int64_t connected_since_ms; /* the keeper's; it reaps no one before a lease after it */
    long instances, numbers;    /* the last census */

    struct metric *owned_count, *instances_gauge, *taken, *given, *lost;
};

/* ---------- the set (callers hold the lock) ---------- */

static struct owned *find(struct owners *o, const char *number)
{
    for (size_t i = 0; i < o->n; i++) {
        if (strcmp(o->items[i].number, number) == 0)
            return &o->items[i];
    }
    return NULL;
}

static bool usable(const struct owners *o, const struct owned *x, int64_t now)
{
    return o->connected && x->leaving_since_ms == 0 && now < x->trusted_until_ms;
}

static size_t kept(const struct owners *o)
{
    size_t k = 0;
    for (size_t i = 0; i < o->n; i++)
        k += o->items[i].leaving_since_ms == 0;
    return k;
}

static struct metric *number_gauge(const char *number)
{
    char labels[64];
    snprintf(labels, sizeof labels, "phone_number_id=\"%s\"", number);
    return metrics_gauge("whatsapp_sender_number_owned",
                         "1 while this instance owns the sender number (sends from it), else 0.",
                         labels);
}

static void add(struct owners *o, const struct lease *l, int64_t trusted_until)
{
    struct owned *x = find(o, l->phone_number_id);
    if (!x) {
        if (o->n == o->cap) {
            o->cap = o->cap ? o->cap * 2 : 16;
            o->items = xrealloc(o->items, o->cap * sizeof(*o->items));
        }
        x = &o->items[o->n++];
        memset(x, 0, sizeof(*x));
        snprintf(x->number, sizeof x->number, "%s", l->phone_number_id);
        x->gauge = number_gauge(x->number);
        log_info("sender number taken\tphone_number_id=%s term=%ld holder=%s", x->number, l->term,
                 o->cfg.holder);
        metric_inc(o->taken);
    }
    x->term = l->term;
    x->trusted_until_ms = trusted_until;
    x->leaving_since_ms = 0;
}

/* The gauges say what this instance may send from now (callers hold the lock). */
static void publish(struct owners *o)
{
    size_t k = 0;
    for (size_t i = 0; i < o->n; i++) {
        bool on = o->connected && o->items[i].leaving_since_ms == 0;
        metric_set(o->items[i].gauge, on ? 1 : 0);
        k += on;
    }
    metric_set(o->owned_count, (double)k);
}

static void drop(struct owners *o, size_t i)
{
    metric_set(o->items[i].gauge, 0);
    o->items[i] = o->items[--o->n];
}

static long ceil_div(long a, long b)
{
    return b > 0 ? (a + b - 1) / b : a;
}

/* The numbers this instance should own: its share of all, rounded up. */
static long share(const struct owners *o)
{
    long instances = o->instances > 0 ? o->instances : 1;
    return ceil_div(o->numbers, instances);
}

/* ---------- readers ---------- */

bool owners_has(struct owners *o, const char *phone_number_id)
{
    int64_t now = monotonic_ms();
    pthread_mutex_lock(&o->lock);
    const struct owned *x = find(o, phone_number_id);
    bool yes = x && usable(o, x, now);
    pthread_mutex_unlock(&o->lock);
    return yes;
}

void owners_array(struct owners *o, struct buf *out)
{
    int64_t now = monotonic_ms();
    pgarray_open(out);
    pthread_mutex_lock(&o->lock);
    for (size_t i = 0; i < o->n; i++) {
        if (usable(o, &o->items[i], now))
            pgarray_add(out, o->items[i].number);
    }
    pthread_mutex_unlock(&o->lock);
    pgarray_close(out);
}

size_t owners_acquire(struct owners *o, const char *const *numbers, size_t n)
{
    const char **wanted = xcalloc(n ? n : 1, sizeof(*wanted));
    struct lease *got = xcalloc(n ? n : 1, sizeof(*got));
    size_t nwanted = 0, owned = 0, taken = 0;
    long added = 0;
    int64_t now = monotonic_ms();

    pthread_mutex_lock(&o->lock);
    bool connected = o->connected;
    for (size_t i = 0; i < n; i++) {
        const struct owned *x = find(o, numbers[i]);
        if (x && usable(o, x, now))
            owned++;
        else if (!x)
            wanted[nwanted++] = numbers[i];
    }
    long have = (long)kept(o), instances = o->instances, known = o->numbers;
    pthread_mutex_unlock(&o->lock);

    if (nwanted == 0)
        goto out;
    /* Known first, whether the keeper is connected yet or not: a number no instance knows
     * is never taken, and the message handed back for it would wait for ever (the first
     * order of a new number, posted the instant an instance starts). Known, the keepers'
     * next balance gives it an owner. */
    if (leases_register(wanted, nwanted, &added) != DB_OK || !connected)
        goto out;
    long room = ceil_div(known + added, instances > 0 ? instances : 1) - have;
    if (room <= 0)
        goto out;
    if (leases_take(&o->self, wanted, nwanted, (size_t)room, got, &taken) != DB_OK)
        goto out;
    pthread_mutex_lock(&o->lock);
    o->numbers = known + added > o->numbers ? known + added : o->numbers;
    for (size_t i = 0; i < taken; i++)
        add(o, &got[i], now + o->trust_ms);
    publish(o);
    pthread_mutex_unlock(&o->lock);
    owned += taken;
out:
    free(wanted);
    free(got);
    return owned;
}

/* ---------- the keeper ---------- */

static const struct db_stmt st_nudge = {
    "owners_nudge",
    "SELECT pg_notify('" CHANNEL "', $1)",
    1,
};

static const struct db_stmt st_leave = {
    "owners_leave",
    "DELETE FROM whatsapp_sender_instances WHERE holder = $1 AND boot = $2::uuid",
    2,
};

/* Tells the other instances to look again (a number was given back or taken). */
static void nudge(struct owners *o)
{
    const char *params[] = {o->cfg.holder};
    if (db_exec(&st_nudge, params, NULL) != DB_OK)
        log_debug("cannot nudge the other instances; they look again at their next renewal");
}

/* The connection is gone: nothing may be sent until the leases are renewed. */
static void lose_connection(struct owners *o, const char *why)
{
    pthread_mutex_lock(&o->lock);
    bool was = o->connected;
    o->connected = false;
    size_t n = o->n;
    publish(o);
    pthread_mutex_unlock(&o->lock);
    if (was)
        log_warn("the database is out of reach: sending stopped until the leases are renewed\t"
                 "numbers=%zu reason=\"%s\"",
                 n, why);
    PQfinish(o->listen);
    o->listen = NULL;
}

/* Copies the numbers held (given back or not) for a statement. */
static size_t snapshot(struct owners *o, char (**out)[TENANT_PHONE_ID_MAX], const char ***ptrs)
{
    pthread_mutex_lock(&o->lock);
    size_t n = o->n;
    *out = xcalloc(n ? n : 1, sizeof(**out));
    *ptrs = xcalloc(n ? n : 1, sizeof(**ptrs));
    for (size_t i = 0; i < n; i++) {
        snprintf((*out)[i], sizeof((*out)[i]), "%s", o->items[i].number);
        (*ptrs)[i] = (*out)[i];
    }
    pthread_mutex_unlock(&o->lock);
    return n;
}

/* Keeps what the renewal returned; a number it did not return is no longer ours. */
static void renewed(struct owners *o, const char *const *asked, size_t nasked,
                    const struct lease *held, size_t nheld, int64_t t0)
{
    pthread_mutex_lock(&o->lock);
    o->connected = true;
    for (size_t a = 0; a < nasked; a++) {
        const struct lease *l = NULL;
        for (size_t h = 0; h < nheld && !l; h++) {
            if (strcmp(held[h].phone_number_id, asked[a]) == 0)
                l = &held[h];
        }
        struct owned *x = find(o, asked[a]);
        if (!x)
            continue;
        if (l) {
            x->trusted_until_ms = t0 + o->trust_ms;
            x->term = l->term;
        } else {
            log_warn("sender number lost: its lease expired and another instance took it\t"
                     "phone_number_id=%s holder=%s",
                     x->number, o->cfg.holder);
            metric_inc(o->lost);
            drop(o, (size_t)(x - o->items));
        }
    }
    pthread_mutex_unlock(&o->lock);
}

/* Gives back the numbers marked leaving a renewal ago (their sends have stopped since),
 * and marks the surplus over this instance's share. Returns true when it gave any back. */
static bool give_back(struct owners *o, int64_t t0)
{
    char(*numbers)[TENANT_PHONE_ID_MAX] = NULL;
    const char **due = NULL;
    size_t ndue = 0;

    pthread_mutex_lock(&o->lock);
    numbers = xcalloc(o->n ? o->n : 1, sizeof(*numbers));
    due = xcalloc(o->n ? o->n : 1, sizeof(*due));
    for (size_t i = 0; i < o->n; i++) {
        const struct owned *x = &o->items[i];
        if (x->leaving_since_ms && x->leaving_since_ms + o->tick_ms <= t0 + NUDGE_MS) {
            snprintf(numbers[ndue], sizeof numbers[ndue], "%s", x->number);
            due[ndue] = numbers[ndue];
            ndue++;
        }
    }
    pthread_mutex_unlock(&o->lock);

    bool gave = false;
    if (ndue && leases_release(&o->self, due, ndue, o->cfg.release_gap_ms) == DB_OK) {
        pthread_mutex_lock(&o->lock);
        for (size_t k = 0; k < ndue; k++) {
            struct owned *x = find(o, due[k]);
            if (x) {
                log_info("sender number given back\tphone_number_id=%s holder=%s", x->number,
                         o->cfg.holder);
                metric_inc(o->given);
                drop(o, (size_t)(x - o->items));
            }
        }
        pthread_mutex_unlock(&o->lock);
        gave = true;
    }
    free(numbers);
    free(due);
    return gave;
}

/* Marks the surplus over the share as leaving (its sends stop now), or takes free numbers
 * up to the share. Returns true when it took any. */
static bool balance(struct owners *o, int64_t t0)
{
    pthread_mutex_lock(&o->lock);
    long want = share(o), have = (long)kept(o);
    for (size_t i = o->n; have > want && i-- > 0;) {
        struct owned *x = &o->items[i];
        if (x->leaving_since_ms == 0) {
            x->leaving_since_ms = t0;
            have--;
            log_info("sender number to be given back (more than this instance's share)\t"
                     "phone_number_id=%s share=%ld instances=%ld",
                     x->number, want, o->instances);
        }
    }
    pthread_mutex_unlock(&o->lock);
    if (have >= want)
        return false;
    size_t room = (size_t)(want - have), taken = 0;
    struct lease *got = xcalloc(room, sizeof(*got));
    bool took = false;
    if (leases_take(&o->self, NULL, 0, room, got, &taken) == DB_OK && taken) {
        pthread_mutex_lock(&o->lock);
        for (size_t i = 0; i < taken; i++)
            add(o, &got[i], t0 + o->trust_ms);
        pthread_mutex_unlock(&o->lock);
        took = true;
    }
    free(got);
    return took;
}

/* One renewal: alive, reap the dead, renew, give back, count, balance. */
static void tick(struct owners *o)
{
    int64_t t0 = monotonic_ms();
    char(*numbers)[TENANT_PHONE_ID_MAX] = NULL;
    const char **asked = NULL;
    long reaped = 0, instances = 0, known = 0;
    size_t nheld = 0;

    o->next_tick_ms = t0 + o->tick_ms;
    if (leases_beat(&o->self) != DB_OK) {
        lose_connection(o, db_error_message());
        return;
    }
    /* Others' silence means death only if this one could have heard them for a lease:
     * after an outage of the database, all were silent. */
    if (t0 - o->connected_since_ms >= o->self.lease_ms && leases_reap(&o->self, &reaped) == DB_OK &&
        reaped)
        log_warn("instances stopped renewing: their claimed messages are queued again and "
                 "their numbers free\tinstances=%ld",
                 reaped);
    size_t nasked = snapshot(o, &numbers, &asked);
    struct lease *held = xcalloc(nasked ? nasked : 1, sizeof(*held));
    enum db_status st = leases_renew(&o->self, asked, nasked, held, &nheld);
    if (st == DB_OK)
        renewed(o, asked, nasked, held, nheld, t0);
    free(held);
    free(numbers);
    free(asked);
    if (st != DB_OK) {
        lose_connection(o, db_error_message());
        return;
    }
    bool changed = give_back(o, t0);
    if (leases_census(&o->self, &instances, &known) == DB_OK) {
        pthread_mutex_lock(&o->lock);
        o->instances = instances;
        o->numbers = known;
        pthread_mutex_unlock(&o->lock);
        metric_set(o->instances_gauge, (double)instances);
    }
    bool took = balance(o, t0);
    if (took && o->cfg.notify_fd >= 0)
        wakefd_signal(o->cfg.notify_fd); /* their queued messages may go now */
    if (changed || took || reaped)
        nudge(o);
    pthread_mutex_lock(&o->lock);
    publish(o);
    pthread_mutex_unlock(&o->lock);
}

/* Gives every lease back and says this instance is gone. */
static void leave(struct owners *o)
{
    char(*numbers)[TENANT_PHONE_ID_MAX] = NULL;
    const char **all = NULL;
    size_t n = snapshot(o, &numbers, &all);
    const char *params[] = {o->self.holder, o->self.boot};
    if (leases_release(&o->self, all, n, o->cfg.release_gap_ms) != DB_OK ||
        db_exec(&st_leave, params, NULL) != DB_OK)
        log_warn("could not give the sender numbers back; the other instances take them when "
                 "the leases expire\tnumbers=%zu",
                 n);
    else if (n)
        log_info("sender numbers given back at shutdown\tnumbers=%zu", n);
    nudge(o);
    free(numbers);
    free(all);
}

static void *keeper_run(void *arg)
{
    struct owners *o = arg;
    db_thread_background();
    int64_t last_nudged = 0;
    for (;;) {
        int64_t now = monotonic_ms();
        if (!o->listen && now >= o->next_tick_ms) {
            o->listen = db_listen(CHANNEL, "notification-service senders");
            if (!o->listen)
                o->next_tick_ms = now + RETRY_MS;
            else
                o->connected_since_ms = now;
        }
        if (o->listen && now >= o->next_tick_ms)
            tick(o);
        int64_t wait = o->next_tick_ms - monotonic_ms();
        struct pollfd fds[2] = {
            {.fd = o->stop_fd, .events = POLLIN},
            {.fd = o->listen ? PQsocket(o->listen) : -1, .events = POLLIN},
        };
        int r = poll(fds, 2, wait > 0 ? (int)wait : 0);
        if (r > 0 && (fds[0].revents & POLLIN))
            break;
        if (r > 0 && fds[1].revents) {
            int heard = db_listen_drain(o->listen);
            if (heard < 0) {
                lose_connection(o, "the LISTEN connection broke");
                o->next_tick_ms = monotonic_ms() + RETRY_MS / 4;
            } else if (heard > 0 && monotonic_ms() - last_nudged >= NUDGE_MS) {
                last_nudged = monotonic_ms();
                o->next_tick_ms = last_nudged; /* another instance changed something */
            }
        }
    }
    leave(o);
    PQfinish(o->listen);
    o->listen = NULL;
    db_thread_close();
    return NULL;
}

struct owners *owners_start(const struct owners_config *cfg)
{
    struct owners *o = xcalloc(1, sizeof(*o));
    long requeued = 0;

    o->cfg = *cfg;
    uuid_new(o->boot);
    long lease_ms = cfg->lease_seconds * 1000;
    o->self =
        (struct leases_self){.holder = cfg->holder, .boot = o->boot, .lease_ms = lease_ms * 7 / 10};
    o->tick_ms = lease_ms / 5;
    o->trust_ms = lease_ms / 2;
    o->stop_fd = wakefd_new();
    pthread_mutex_init(&o->lock, NULL);
    o->owned_count = metrics_gauge("whatsapp_sender_numbers_owned",
                                   "Sender numbers this instance owns (sends from) now.", "");
    o->instances_gauge = metrics_gauge("whatsapp_sender_instances",
                                       "notification-service instances sharing the sender "
                                       "numbers, as this one last counted them.",
                                       "");
    const char *help = "Changes of this instance's sender-number leases.";
    o->taken = metrics_counter("whatsapp_sender_lease_changes_total", help, "change=\"taken\"");
    o->given = metrics_counter("whatsapp_sender_lease_changes_total", help, "change=\"given\"");
    o->lost = metrics_counter("whatsapp_sender_lease_changes_total", help, "change=\"lost\"");
    if (o->stop_fd < 0)
        goto fail;
    /* An earlier process of this holder is gone (this one is the holder now): what it had
     * claimed goes back to the queue before this one claims anything. */
    if (leases_requeue_own(&o->self, &requeued) == DB_OK && requeued)
        log_warn("messages an earlier process of this instance had claimed are queued again\t"
                 "holder=%s count=%ld",
                 cfg->holder, requeued);
    if (cfg->default_number[0]) {
        long added = 0;
        if (leases_register(&cfg->default_number, 1, &added) != DB_OK)
            log_warn("the default sender number is not known yet; it is when first used");
    }
    if (pthread_create(&o->keeper, NULL, keeper_run, o) != 0)
        goto fail;
    log_info("sender number ownership started\tholder=%s boot=%s lease_ms=%ld renew_ms=%ld",
             cfg->holder, o->boot, o->self.lease_ms, o->tick_ms);
    return o;
fail:
    log_error("cannot start the sender number keeper");
    if (o->stop_fd >= 0)
        close(o->stop_fd);
    pthread_mutex_destroy(&o->lock);
    free(o);
    return NULL;
}

void owners_stop(struct owners *o)
{
    if (!o)
        return;
    wakefd_signal(o->stop_fd);
    pthread_join(o->keeper, NULL);
    close(o->stop_fd);
    for (size_t i = 0; i < o->n; i++)
        metric_set(o->items[i].gauge, 0);
    metric_set(o->owned_count, 0);
    pthread_mutex_destroy(&o->lock);
    free(o->items);
    free(o);
}
