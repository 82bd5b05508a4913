/* harness.h - integration-test harness: the private test PostgreSQL, scratch databases,
 * the real daemons started on free ports, and a libcurl HTTP client.
 *
 * Binaries come from $BIN_DIR (tests/run.sh sets build/asan); the test cluster is the one
 * scripts/pg.sh runs in $TEST_PG_DIR (default .run/test-pg). Daemon logs go to
 * .run/test-logs/<name>-<port>.log so a failing test can be read afterwards. */
#ifndef TESTS_HARNESS_H
#define TESTS_HARNESS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define H_JWT_SECRET "test-jwt-secret-0123456789abcdef"

struct h_proc {
    pid_t pid;
    char name[48];
    unsigned port;
    char url[64]; /* "http://127.0.0.1:PORT" */
    char log_path[256];
};

struct h_resp {
    long status;
    char *body; /* NUL-terminated */
    size_t len;
    json_t *json; /* parsed body, or NULL */
    char content_type[128];
};

/* Makes sure the test cluster runs (once per process). Returns false when it cannot. */
bool h_pg_start(void);
/* Creates (dropping first) database name on the test cluster and writes its URL. */
bool h_fresh_database(const char *name, char *url, size_t urllen);
/* Runs one SQL statement on url (no parameters: test code only). Returns the first
 * column of the first row as a fresh string ("" when none), or NULL on error. */
char *h_sql(const char *url, const char *sql);

/* A TCP port on 127.0.0.1 that nothing listens on right now. */
unsigned h_free_port(void);

/* method base + path (printf-formatted) with an optional bearer token and JSON body: a
 * GET without a body is h_get(), anything else h_json(). */
struct h_resp h_call(const char *method, const char *base, const char *token, const char *body,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Drops the database of a postgresql:// url (its name follows the last '/'), connected
 * to the server's "postgres" database; open connections are closed (FORCE). */
void h_drop_database(const char *url);

/* An environment for h_start(): "K=V" strings, NULL-terminated, owned. */
struct h_env {
    char *vars[64];
    size_t n;
};
/* Appends one "K=V" (fails the test when full). */
void h_env_add(struct h_env *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends each string of the NULL-terminated more (may be NULL). */
void h_env_add_all(struct h_env *e, const char *const *more);
void h_env_free(struct h_env *e);

/* graph-sim's default credentials, and the global sender number the stacks configure. */
#define H_SIM_TOKEN "graph-sim-access-token"
#define H_SIM_WABA "102290129340398"
#define H_SIM_SECRET "graph-sim-app-secret"
#define H_GLOBAL_PHONE "109876543210010"

/* Adds what every notification-service of a test stack needs: its database, the JWT
 * secret, tenant-service on tenant_port, and graph-sim at graph_url with the master
 * WABA's credentials and H_GLOBAL_PHONE. */
void h_env_notification(struct h_env *e, const char *db, unsigned tenant_port,
                        const char *graph_url);

/* Starts $BIN_DIR/binary with the current environment plus env ("K=V" strings, NULL
 * terminated). port_var names the variable that gets the chosen port ("TENANT_PORT");
 * when env itself sets port_var, that port is used (pick it with h_free_port()).
 * Waits up to 15 s until GET ready_path answers 200. With $H_WRAPPER set ("valgrind
 * ..."), the binary runs under that command. Returns false (process killed) when
 * it does not come up. */
bool h_start(struct h_proc *p, const char *binary, const char *port_var, const char *const *env,
             const char *ready_path);
/* True when $H_WRAPPER is set: daemons then run under it ("valgrind --error-exitcode=99
 * ...", see `make valgrind`), h_start() waits up to 120 s for readiness and h_stop() up
 * to 60 s for the exit. Tests with tight timing may stretch their own limits with it. */
bool h_wrapped(void);
/* Sends SIGTERM and waits up to 10 s (60 s under H_WRAPPER). Returns the exit status (0 = clean),
 * or -1 when it had to be killed or died by a signal. */
int h_stop(struct h_proc *p);
/* Sends sig and reaps the process (for kill -9 tests). */
void h_kill(struct h_proc *p, int sig);
/* Counts lines of p's log containing needle. */
int h_log_count(const struct h_proc *p, const char *needle);

/* HTTP: method url with optional bearer token, content type and body. Returns the
 * response (status 0 on transport failure); free it with h_resp_free(). */
struct h_resp h_http(const char *method, const char *url, const char *token,
                     const char *content_type, const char *body, size_t body_len);
/* Shorthands: JSON body (may be NULL) with Content-Type application/json. */
struct h_resp h_get(const char *url, const char *token);
struct h_resp h_json(const char *method, const char *url, const char *token, const char *body);
void h_resp_free(struct h_resp *r);
/* url = base + path, formatted. */
char *h_url(const char *base, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Mints a token with H_JWT_SECRET. role: "admin" | "user" | "service"; tenant and
 * tenant_role for users. ttl may be negative (already expired). Caller frees. */
char *h_token(const char *role, const char *tenant, const char *tenant_role, const char *sub,
              long ttl);

/* Mints an admin token (sub "policy-test") with H_JWT_SECRET and exactly these claims,
 * for the JWT_ISSUER / JWT_AUDIENCE / JWT_MAX_TTL_SECONDS / nbf tests: iss and aud when
 * not NULL, iat and nbf when not 0, exp always. Caller frees. */
char *h_token_claims(const char *iss, const char *aud, long iat, long nbf, long exp);

/* The token policy the policy tests start a daemon with (H_POLICY_ENV: three "K=V"). */
#define H_ISSUER "https://auth.test.example"
#define H_AUDIENCE "bakery-backbone"
#define H_MAX_TTL 86400L
#define H_POLICY_ENV "JWT_ISSUER=" H_ISSUER, "JWT_AUDIENCE=" H_AUDIENCE, "JWT_MAX_TTL_SECONDS=86400"
/* The daemon at base runs with H_POLICY_ENV: asserts that GET base+path with an admin
 * token that meets it is 200, and that a wrong or missing iss, a wrong or missing aud, a
 * lifetime above H_MAX_TTL (with and without iat) and an nbf 5 minutes ahead are each
 * 401 invalid_token saying why. */
void h_assert_token_policy(const char *base, const char *path);

/* Asserts the DESIGN.md error shape: success false, error == code, a message. */
void h_assert_error(const struct h_resp *r, long status, const char *code);

/* In a child forked to run a daemon: killed when the test process ends, stdout and
 * stderr to log_path. */
void h_child_setup(const char *log_path);

/* Polls cond(arg) every interval_ms until it is true or timeout_ms of wall time have
 * passed; returns the last cond value. h_wait_until polls every 20 ms. */
bool h_wait_every(bool (*cond)(void *arg), void *arg, int timeout_ms, int interval_ms);
bool h_wait_until(bool (*cond)(void *arg), void *arg, int timeout_ms);
/* The value of a Prometheus series ("name{labels}") at base/metrics, or -1. */
double h_metric(const char *base, const char *series);

#endif
