/* harness_stack.h - the whole system for one suite: graph-sim, notification-service
 * (pointed at graph-sim and at tenant-service, with the master credentials, app secret
 * and verify token below) and tenant-service (serving frontend-static/), each on a free
 * port, on two fresh databases named after the suite. */
#ifndef TESTS_HARNESS_STACK_H
#define TESTS_HARNESS_STACK_H

#include <stdbool.h>

#include "harness.h"

#define HS_WABA_ID "987654321098765"
#define HS_GRAPH_TOKEN "EAAstack-graph-token-0123"
#define HS_APP_SECRET "stack-app-secret-0123"
#define HS_VERIFY_TOKEN "stack-verify-token-0123"
/* graph-sim's numbers: HS_PHONE(01) .. HS_PHONE(10) */
#define HS_PHONE(nn) "1098765432100" #nn

struct h_stack {
    struct h_proc sim, notif, ts;
    char tenant_db[256];
    char notif_db[256];
    unsigned ts_port;               /* tenant-service's, chosen before it starts */
    const char *const *notif_extra; /* hs_start()'s, for every instance */
};

/* Starts the three daemons on databases it_NAME_tenant and it_NAME_notification.
 * notif_extra, ts_extra: more "K=V" for notification-service and tenant-service (may be
 * NULL). Returns false when anything does not come up (what did is stopped). */
bool hs_start(struct h_stack *s, const char *name, const char *const *notif_extra,
              const char *const *ts_extra);
/* Starts one more notification-service (p) on the stack's database, graph-sim and
 * tenant-service, with the same settings, on port (pick it with h_free_port()). The caller stops
 * it. */
bool hs_start_notification(struct h_stack *s, struct h_proc *p, unsigned port);
/* What the suites on a stack do all the time; each fails the test when it does not work. */
/* PUTs json to the tenant's notification settings, as the admin. */
void hs_settings(const struct h_stack *s, const char *tenant, const char *json);
/* Assigns a WABA number to the tenant, as the admin. */
void hs_assign(const struct h_stack *s, const char *tenant, const char *phone);
/* POSTs body to graph-sim's control path (200 expected). */
void hs_sim(const struct h_stack *s, const char *path, const char *body);
/* POSTs a purchase order of tenant for the supplier at to (E.164) through p, as the
 * order service; 202 expected. Returns the message id (the caller frees it). */
char *hs_post_order(const struct h_proc *p, const char *tenant, const char *to);
/* A column of a message as text ("" for NULL); the caller frees it. */
char *hs_column(const struct h_stack *s, const char *id, const char *col);

/* Starts a real SMTP server (tests/lib/smtp_sink.py on Debian's python3-aiosmtpd) on
 * port of 127.0.0.1 (0: a free one), writing what it accepts to dir/NNNNNN.eml; args are
 * more of its options (NULL-terminated, may be NULL). p->url is "smtp://127.0.0.1:PORT".
 * Stop it with h_stop(). */
bool hs_start_smtp(struct h_proc *p, unsigned port, const char *dir, const char *const *args);

/* Stops them (tenant-service first); returns 0 when every one exited 0. */
int hs_stop(struct h_stack *s);

#endif
