/* worker.h - the outbox worker (DESIGN.md section 6): a thread that claims due messages
 * in batches, has compose.h decide for each whether and how it is sent, hands the sends
 * to the sender thread and writes the results back in batches.
 *
 * It wakes at once on NOTIFY whatsapp_outbox (a LISTEN connection of its own, opened
 * again after PostgreSQL restarts), when results come back, and otherwise polls every
 * second and at the retries it scheduled. */
#ifndef NOTIFICATION_WORKER_H
#define NOTIFICATION_WORKER_H

#include "app.h"
#include "tenants/settings.h"

struct worker;

/* Starts the worker and its sender. cfg and settings (the tenants' settings cache, which
 * the worker keeps current for what it claims) must outlive the worker. Returns NULL (logged)
 * when it cannot start (bad sending configuration, no threads). */
struct worker *worker_start(const struct notification_config *cfg,
                            struct tenant_settings_cache *settings)
    __attribute__((warn_unused_result));

/* Stops claiming, lets in-flight sends finish (bounded by GRAPH_TIMEOUT_MS and 7 s),
 * writes their results, releases what was claimed but not sent, joins the threads and
 * frees the worker. NULL is fine. */
void worker_stop(struct worker *w);

#endif
