/* sender.h - the Graph API side of the outbox: one thread running a curl multi handle
 * over kept-alive connections, with a lane per sender number that keeps to Meta's
 * throughput (rl_rate) and pair (rl_pairs) limits, and the classification of every
 * answer into an outbox result (DESIGN.md section 6).
 *
 * The worker thread submits prepared jobs and collects them back finished; the two
 * threads share only the two lists below, each under a mutex. A job waits in its lane
 * when a limit frees it within a second; otherwise it comes back at once as
 * OUTBOX_RELEASE with the delay to wait in the database, its attempt not used. An
 * account-wide error pauses all sending (pause.h): waiting jobs come back released, and
 * only jobs marked probe are sent until one succeeds. A paused template language or a
 * number in maintenance holds only its own messages (holds.h). */
#ifndef NOTIFICATION_SENDER_H
#define NOTIFICATION_SENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "e164.h"
#include "outbox/holds.h"
#include "outbox/outbox.h"
#include "outbox/owners.h"
#include "tenants/settings.h"

struct send_job {
    struct send_job *next;       /* link of the list that holds the job */
    struct outbox_result result; /* id set by the worker; the outcome by the sender */
    char phone_number_id[TENANT_PHONE_ID_MAX];
    char sender_display[TENANT_DISPLAY_MAX]; /* the sender's number as shown, or "" */
    char tenant_id[UUID_STR_LEN];
    char recipient[E164_MAX];
    char *body; /* the Graph request body, owned */
    size_t body_len;
    char template_name[HOLDS_NAME_MAX];
    int attempts;       /* Graph requests made before this one */
    int64_t created_us; /* wall clock, for the event-to-Graph latency */
    bool probe;         /* may go while sending is paused */
    bool hold_probe;    /* the probe of a held template language (holds.h) */
    long quota;         /* the tenant's monthly quota, -1 when unlimited */
    bool holds_unit;    /* its row holds a quota unit already (claimed again) */
    bool holds_reach;   /* its row holds a messaging-limit place already (claimed again) */
    struct mail *mail;  /* an email's job (mailer.h) instead of a Graph request; owned */
    bool email_too;     /* an order sent both ways: its email row is to be made */
    bool handed_over;   /* released for the instance that owns its number (owners.h) */
};

/* A first-in first-out list of jobs, linked through job->next; owns its jobs. */
struct send_job_list {
    struct send_job *head, *tail;
    size_t n;
};

void send_job_list_push(struct send_job_list *l, struct send_job *job);
/* Removes and returns the first job, or NULL when l is empty. */
struct send_job *send_job_list_pop(struct send_job_list *l);
/* Moves every job of from to the end of to; from is left empty. */
void send_job_list_splice(struct send_job_list *to, struct send_job_list *from);
/* Frees every job of l and leaves it empty. */
void send_job_list_free(struct send_job_list *l);

struct sender_config {
    const char *graph_base_url;
    const char *api_version;
    const char *access_token;
    long timeout_ms;
    long max_inflight;
    long mps_per_phone;
    long rate_margin_ms;
    long pair_interval_ms;
    long max_attempts;
    long retry_base_ms;
    long retry_max_ms;
    int notify_fd;         /* an eventfd written when finished jobs are ready to collect */
    struct owners *owners; /* a job goes only while its number is this instance's */
};

struct sender;

/* Starts the sender thread. cfg is copied (its strings must outlive the sender).
 * Returns NULL (logged) on failure. */
struct sender *sender_start(const struct sender_config *cfg) __attribute__((warn_unused_result));
/* Hands every job of jobs to the sender (jobs is left empty); they are its until
 * collected. */
void sender_submit(struct sender *s, struct send_job_list *jobs);
/* Moves the finished jobs (result filled) to the end of out; returns how many. */
size_t sender_collect(struct sender *s, struct send_job_list *out);
/* Jobs submitted and not yet collected: waiting for a limit, in flight, or finished and
 * waiting for sender_collect(). */
size_t sender_load(struct sender *s);
/* Starts the shutdown: waiting jobs come back released at once, in-flight requests
 * finish or are abandoned (released) after min(GRAPH_TIMEOUT_MS, 7 s), new jobs come
 * back released. */
void sender_drain(struct sender *s);
/* True once the thread has returned every job after sender_drain(). */
bool sender_finished(struct sender *s);
/* Joins the thread and frees the sender; jobs not collected are freed. NULL is fine. */
void sender_stop(struct sender *s);

#endif
