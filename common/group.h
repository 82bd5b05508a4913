/* group.h - requests' database work done in groups: one batch in flight at a time. A
 * request that finds none in flight and none waiting is run at once, alone, on its own
 * HTTP thread (no timer, no hand-over: a lone request waits for nothing); what arrives
 * while a batch is in flight waits, parked (http.h, HTTP_NO_TOPIC: it holds no HTTP
 * thread), and the group's thread runs all of it (up to a cap) as the next batch, then
 * wakes each request with its own outcome. Intake's group commit and tenant-service's
 * settings reads use it: one statement for many requests, in arrival order.
 *
 * Thread-safe. The caller embeds a struct group_item in its own per-request item. */
#ifndef COMMON_GROUP_H
#define COMMON_GROUP_H

#include <stdbool.h>
#include <stddef.h>

#include "http.h"

struct group_item {
    /* the group's, under its lock */
    struct group *group;
    struct group_item *next;
    struct http_request *req; /* NULL once the request is done with */
    bool done;
    bool released;
};

/* The caller's item that embeds group_item it as its member field. */
#define group_entry(it, type, member) ((type *)((char *)(it)-offsetof(type, member)))

struct group_config {
    long max_items; /* most items in one batch */
    /* Runs items[0..n) as one batch and stores each one's outcome in the item. Called
     * on the group's thread, or on a lone request's own thread with n = 1. */
    void (*run)(struct group_item **items, size_t n);
    /* Frees an item (its request is done with and its batch has run). */
    void (*free_item)(struct group_item *item);
    /* Prometheus names (no labels): batches run, items run, requests waiting. */
    const char *batches_metric, *batches_help;
    const char *items_metric, *items_help;
    const char *waiting_metric, *waiting_help;
};

struct group;

/* Starts the group's thread. cfg must outlive the group. NULL (logged) when it cannot. */
struct group *group_start(const struct group_config *cfg) __attribute__((warn_unused_result));
/* After the HTTP server stopped: runs what still waits, ends the thread, frees g (NULL
 * is fine). */
void group_stop(struct group *g);

/* Makes item req's state and runs it: at once on this thread when nothing is in flight
 * and nothing waits, else in the next batch. Then the handler asks group_outcome(). */
void group_submit(struct group *g, struct http_request *req, struct group_item *item);

/* The item req was submitted with, or NULL on the handler's first run. */
struct group_item *group_item_of(const struct http_request *req);

/* True when item's batch has run (its outcome is in the item). False while it waits:
 * the handler then parks req with group_wait() and runs again once it has run. On the
 * handler's last run (http_park_expired(): the server is stopping, or the request
 * waited a minute) a batch in flight is waited for up to a few seconds; false after
 * that means the handler must answer without an outcome (503). */
bool group_outcome(struct group_item *item, bool last_run) __attribute__((warn_unused_result));
void group_wait(struct http_request *req);

#endif
