/* harness_faults.h - what the fault-injection suite (test_faults.c) needs around the real
 * stack: graph-sim, tenant-service and notification-service that can be killed, restarted
 * and doubled, on the shared test cluster or on a private PostgreSQL cluster that the
 * test may stop; a load generator posting purchase orders through intake from a thread of
 * its own while faults hit; and the accounting of what graph-sim received (sends of one
 * message more than once, by biz_opaque_callback_data). */
#ifndef TESTS_HARNESS_FAULTS_H
#define TESTS_HARNESS_FAULTS_H

#include <stdbool.h>
#include <stddef.h>

#include "harness.h"

#define HF_PHONE(nn) "1098765432100" #nn
#define HF_ID_LEN 37
#define HF_MAX_SIDES 4
#define HF_MAX_URLS (HF_MAX_SIDES + 1)
#define HF_MAX_TENANTS 24

/* ---------- the stack ---------- */

struct hf_stack {
    char name[40];    /* database prefix; the test's pid follows, so parallel runs differ */
    char pg_dir[256]; /* "" = the shared test cluster; else a private cluster's directory */
    char tenant_db[256], notif_db[256];
    unsigned tenant_port, notif_port;
    int mps; /* GRAPH_SIM_MPS and, unless notif_env says otherwise, WHATSAPP_MPS_PER_PHONE */
    struct h_proc sim, tenant, notif;
    struct h_proc side[HF_MAX_SIDES]; /* more notification-service instances */
    /* Extra "K=V" of each daemon (NULL-terminated, may be NULL), kept for restarts; they
     * override the suite's defaults. */
    const char *const *sim_env;
    const char *const *notif_env;
};

/* Makes the databases (fresh ones on the test cluster, or a new private cluster in
 * pg_dir) and starts graph-sim, notification-service and tenant-service. Returns 0, or -1
 * when something does not come up. */
int hf_stack_start(struct hf_stack *s);
/* Stops every daemon still running, then drops the databases (or wipes the private
 * cluster). Returns 0 when every daemon exited 0. */
int hf_stack_stop(struct hf_stack *s);
/* (Re)starts the main notification-service on its port with extra variables on top of
 * notif_env (may be NULL). */
bool hf_start_notification(struct hf_stack *s, const char *const *extra);
/* Starts one more notification-service on the same database (any port); NULL on failure. */
struct h_proc *hf_start_side(struct hf_stack *s, const char *const *extra);
/* (Re)starts an instance p on port (0 = any) with extra variables on top of notif_env. */
bool hf_start_instance(struct hf_stack *s, struct h_proc *p, unsigned port,
                       const char *const *extra);
/* (Re)starts tenant-service on its port. */
bool hf_start_tenant(struct hf_stack *s);
/* True while p runs (not exited, not reaped). */
bool hf_alive(const struct h_proc *p);

/* The private cluster: scripts/pg.sh stop / start of pg_dir (start reuses its port). */
bool hf_pg_stop(const struct hf_stack *s);
bool hf_pg_start(const struct hf_stack *s);

/* ---------- requests ---------- */

const char *hf_admin_token(void);
const char *hf_service_token(void);
/* POST to graph-sim's control API, asserting 200. */
void hf_sim_post(const struct hf_stack *s, const char *path, const char *body);
/* Creates a tenant with WhatsApp enabled and, when phone_id is not NULL, that number. */
void hf_make_tenant(const struct hf_stack *s, const char *name, const char *phone_id,
                    char id[HF_ID_LEN]);
/* The first column of the first row of a query on db as a number (-1 on error). */
long hf_sql_long(const char *db, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* graph-sim's counters: sends accepted, answers with error code (a string: "190"). */
long hf_sim_accepted(const struct hf_stack *s);
long hf_sim_errors(const struct hf_stack *s, const char *code);

/* ---------- the load ---------- */

struct hf_load_config {
    const char *urls[HF_MAX_URLS]; /* intake bases; each retry of an event takes the next */
    size_t nurls;
    const char *tenants[HF_MAX_TENANTS]; /* event i is tenants[i % ntenants]'s */
    size_t ntenants;
    int count;       /* events */
    int prefix;      /* 0-99: event i goes to hf_recipient(prefix, i) */
    int rate;        /* new events per second (0 = as fast as possible) */
    int concurrency; /* requests in flight (default $FAULTS_CONCURRENCY, else 8) */
};

struct hf_load_stats {
    int accepted; /* events stored: a 202, or a 200 replay of a stored event */
    int answered_202, answered_200, answered_503, answered_500, answered_other;
    int transport_errors; /* refused, reset: the event is posted again */
    int timeouts;         /* no answer within 10 s (a hang) */
    double max_ms;        /* slowest answer, any status */
    long max_status;      /* the slowest answer's HTTP status (0: a transport error) */
    double max_at_s;      /* when the slowest request was sent, seconds into the load */
    double window_max_ms; /* slowest answer since hf_load_window() */
    double max_503_ms;    /* slowest 503 */
    double max_503_at_s;  /* when it was sent, seconds into the load */
    bool done;            /* every event stored (or given up: answered_other) */
    double elapsed_s;
};

/* Posts cfg->count purchase orders (distinct event ids and recipients) from a thread of
 * its own: 503s, 500s and transport errors are posted again (same event id) after 200 ms;
 * any other answer is counted and the event given up. */
struct hf_load *hf_load_start(const struct hf_load_config *cfg);
void hf_load_stats(struct hf_load *l, struct hf_load_stats *out);
/* Starts a window: window_max_ms counts the answers from now on. */
void hf_load_window(struct hf_load *l);
/* Waits up to timeout_ms for the load to end (stopping it then); returns its stats. */
struct hf_load_stats hf_load_finish(struct hf_load *l, int timeout_ms);
/* Waits until at least n events are stored (or the load ended); false on timeout. */
bool hf_load_wait_accepted(struct hf_load *l, int n, int timeout_ms);
void hf_load_free(struct hf_load *l);
/* "+346PPNNNNNN": the recipient of event i of prefix pp. */
void hf_recipient(int prefix, int i, char out[16]);

/* ---------- what graph-sim received ---------- */

struct hf_sends {
    size_t total;      /* sends graph-sim accepted */
    size_t distinct;   /* distinct messages among them (biz_opaque_callback_data) */
    size_t duplicates; /* total - distinct */
    size_t max_per_message;
    char **dup_ids; /* the messages sent more than once, each once */
    size_t ndup;
};

void hf_sim_sends(const struct hf_stack *s, struct hf_sends *out);
void hf_sends_free(struct hf_sends *x);

/* Waits up to timeout_ms until the notification database holds `rows` messages and every
 * one is read, failed or skipped. Prints the status counts when it times out. */
bool hf_wait_terminal(const struct hf_stack *s, long rows, int timeout_ms);

/* Seconds since an arbitrary start (CLOCK_MONOTONIC). */
double hf_now(void);

#endif
