/* mailer.h - the thread that hands the outbox's emails to the mail server, one after
 * another over one kept connection (mail/smtp.h): email is a few messages an hour per
 * bakery, so a second thread beside the Graph sender, never a limit on it. Its jobs
 * and results are the sender's (sender.h), job->mail set; the writer collects both.
 * A reply of 4xx is retried like Graph's transient errors, a 5xx fails the message; no
 * reply at all (the server down) releases it, its attempt unused, with a backoff from
 * WHATSAPP_RETRY_BASE_MS doubling to WHATSAPP_RETRY_MAX_MS: nothing is lost. */
#ifndef NOTIFICATION_OUTBOX_MAILER_H
#define NOTIFICATION_OUTBOX_MAILER_H

#include <stdbool.h>
#include <stddef.h>

#include "mail/smtp.h"
#include "outbox/sender.h"

struct mailer_config {
    struct smtp_config smtp;
    long max_attempts; /* WHATSAPP_MAX_ATTEMPTS: a message failing for now this often fails */
    long retry_base_ms;
    long retry_max_ms;
    int notify_fd; /* an eventfd written when finished jobs are ready to collect */
};

struct mailer;

/* Starts the thread; cfg is copied (its strings must outlive the mailer). NULL (logged)
 * on failure. */
struct mailer *mailer_start(const struct mailer_config *cfg) __attribute__((warn_unused_result));
/* Hands every job of jobs to the mailer (jobs is left empty). */
void mailer_submit(struct mailer *m, struct send_job_list *jobs);
/* Moves the finished jobs to the end of out; returns how many. */
size_t mailer_collect(struct mailer *m, struct send_job_list *out);
/* Jobs submitted and not yet collected. */
size_t mailer_load(struct mailer *m);
/* Starts the shutdown: a message being sent finishes, waiting ones come back released. */
void mailer_drain(struct mailer *m);
/* True once every job came back after mailer_drain(). */
bool mailer_finished(struct mailer *m);
/* Joins the thread and frees everything. NULL is fine. */
void mailer_stop(struct mailer *m);

#endif
