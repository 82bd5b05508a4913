/* mailer.c - one thread, one SMTP client, a queue in and a queue out. */
#include "outbox/mailer.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "alloc.h"
#include "graph/errors.h"
#include "log.h"
#include "metrics.h"
#include "monotonic.h"
#include "prng.h"
#include "wakefd.h"

struct mailer {
    struct mailer_config cfg;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct send_job_list inbox; /* under lock */
    struct send_job_list done;  /* under lock */
    size_t load;                /* under lock: submitted, not collected */
    bool draining;              /* under lock */
    bool finished;              /* under lock */
    struct prng rng;            /* retry jitter; the thread's */
    long down_ms;               /* the next wait while the server does not answer */
    struct metric *accepted, *retried, *refused;
};

/* The Message-ID's right-hand side: the sender's domain. */
static const char *domain_of(const char *address)
{
    const char *at = strrchr(address, '@');
    return at ? at + 1 : "localhost";
}

/* Sends one job and fills in its result. */
static void send_one(struct mailer *m, struct smtp_client *client, struct send_job *job)
{
    char error[512] = "", id[320];
    long code = 0;
    snprintf(id, sizeof id, "%s@%s", job->result.id, domain_of(job->mail->from_address));
    enum smtp_outcome o = smtp_send(client, job->mail, id, &code, error, sizeof error);
    struct outbox_result *r = &job->result;
    r->attempt_used = true;
    r->error_code = code ? code : OUTBOX_NO_CODE;
    if (o != SMTP_RETRY || code != 0)
        m->down_ms = m->cfg.retry_base_ms; /* the server answered */
    if (o == SMTP_ACCEPTED) {
        r->outcome = OUTBOX_SENT;
        r->error_code = OUTBOX_NO_CODE;
        r->answered_ms = wallclock_ms();
        metric_inc(m->accepted);
        log_info("email accepted by the mail server\tid=%s language=%s", r->id,
                 job->mail->language);
        return;
    }
    r->error_message = xstrdup(error);
    if (o == SMTP_RETRY && code == 0) {
        /* No server to answer: the message is not at fault. It waits, its attempt
         * unused, longer each time until the server answers again. */
        r->attempt_used = false;
        r->outcome = OUTBOX_RELEASE;
        r->delay_ms = m->down_ms;
        m->down_ms = m->down_ms * 2 > m->cfg.retry_max_ms ? m->cfg.retry_max_ms : m->down_ms * 2;
        metric_inc(m->retried);
    } else if (o == SMTP_RETRY && job->attempts + 1 < m->cfg.max_attempts) {
        r->outcome = OUTBOX_RETRY;
        r->delay_ms = graph_retry_delay_ms(-1, job->attempts + 1, m->cfg.retry_base_ms,
                                           m->cfg.retry_max_ms, prng_next(&m->rng));
        metric_inc(m->retried);
    } else {
        r->outcome = OUTBOX_FAILED;
        r->answered_ms = wallclock_ms();
        metric_inc(m->refused);
    }
    /* the reply may quote the address: the row keeps it, the log only the code */
    log_warn("email not accepted\tid=%s outcome=%s smtp_code=%ld", r->id,
             r->outcome == OUTBOX_RETRY ? "retry" : "failed", code);
}

static void finish(struct mailer *m, struct send_job *job)
{
    pthread_mutex_lock(&m->lock);
    send_job_list_push(&m->done, job);
    pthread_mutex_unlock(&m->lock);
    wakefd_signal(m->cfg.notify_fd);
}

static void *run(void *arg)
{
    struct mailer *m = arg;
    struct smtp_client *client = smtp_client_new(&m->cfg.smtp);
    for (;;) {
        pthread_mutex_lock(&m->lock);
        while (m->inbox.n == 0 && !m->draining)
            pthread_cond_wait(&m->wake, &m->lock);
        struct send_job *job = send_job_list_pop(&m->inbox);
        bool draining = m->draining;
        pthread_mutex_unlock(&m->lock);
        if (!job)
            break; /* draining, and nothing waits */
        if (draining || !client) {
            job->result.outcome = OUTBOX_RELEASE;
            job->result.delay_ms = draining ? 0 : 1000;
        } else {
            send_one(m, client, job);
        }
        finish(m, job);
    }
    smtp_client_free(client);
    pthread_mutex_lock(&m->lock);
    m->finished = true;
    pthread_mutex_unlock(&m->lock);
    wakefd_signal(m->cfg.notify_fd);
    return NULL;
}

struct mailer *mailer_start(const struct mailer_config *cfg)
{
    struct mailer *m = xcalloc(1, sizeof(*m));
    m->cfg = *cfg;
    prng_seed(&m->rng, prng_os_seed());
    m->down_ms = cfg->retry_base_ms;
    pthread_mutex_init(&m->lock, NULL);
    pthread_cond_init(&m->wake, NULL);
    const char *help = "Emails handed to the mail server, by what it answered.";
    m->accepted = metrics_counter("notification_emails_total", help, "result=\"accepted\"");
    m->retried = metrics_counter("notification_emails_total", help, "result=\"retry\"");
    m->refused = metrics_counter("notification_emails_total", help, "result=\"failed\"");
    if (pthread_create(&m->thread, NULL, run, m) != 0) {
        log_error("cannot start the mailer thread");
        pthread_mutex_destroy(&m->lock);
        pthread_cond_destroy(&m->wake);
        free(m);
        return NULL;
    }
    return m;
}

void mailer_submit(struct mailer *m, struct send_job_list *jobs)
{
    if (jobs->n == 0)
        return;
    pthread_mutex_lock(&m->lock);
    m->load += jobs->n;
    send_job_list_splice(&m->inbox, jobs);
    pthread_cond_signal(&m->wake);
    pthread_mutex_unlock(&m->lock);
}

size_t mailer_collect(struct mailer *m, struct send_job_list *out)
{
    pthread_mutex_lock(&m->lock);
    size_t n = m->done.n;
    m->load -= n;
    send_job_list_splice(out, &m->done);
    pthread_mutex_unlock(&m->lock);
    return n;
}

size_t mailer_load(struct mailer *m)
{
    pthread_mutex_lock(&m->lock);
    size_t n = m->load;
    pthread_mutex_unlock(&m->lock);
    return n;
}

void mailer_drain(struct mailer *m)
{
    pthread_mutex_lock(&m->lock);
    m->draining = true;
    pthread_cond_signal(&m->wake);
    pthread_mutex_unlock(&m->lock);
}

bool mailer_finished(struct mailer *m)
{
    pthread_mutex_lock(&m->lock);
    bool f = m->finished;
    pthread_mutex_unlock(&m->lock);
    return f;
}

void mailer_stop(struct mailer *m)
{
    if (!m)
        return;
    mailer_drain(m);
    pthread_join(m->thread, NULL);
    send_job_list_free(&m->inbox);
    send_job_list_free(&m->done);
    pthread_mutex_destroy(&m->lock);
    pthread_cond_destroy(&m->wake);
    free(m);
}
