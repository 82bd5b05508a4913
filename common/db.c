/* db.c - per-thread libpq connections with lazy prepared statements and reconnects. */
#include "db.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "log.h"
#include "monotonic.h"

#define DB_MAX_PREPARED 128
#define DB_REPLAN_FIRST_MS 1000 /* a replan statement is prepared again after 1 s, */
#define DB_REPLAN_MAX_MS 64000  /* then after twice as long each time, up to 64 s */
#define DB_RETRY_INTERVAL_MS 250
#define DB_STARTUP_CONNECT_MS 10000 /* db_migrate()'s least deadline: nobody waits on it */

static const char *db_conninfo;
static int db_connect_timeout_ms = 1000;

/* The connection db_migrate() used, kept for the first thread that needs one: a new
 * connection costs a server process start (tens of milliseconds on a small machine), and
 * without it the first request after start-up (/ready) would pay for another. */
static PGconn *spare_conn;
static pthread_mutex_t spare_lock = PTHREAD_MUTEX_INITIALIZER;

struct db_thread {
    PGconn *conn;
    bool in_tx;
    struct prepared {
        const struct db_stmt *stmt;
        int64_t replan_at_ms, replan_after_ms; /* replan statements only */
    } prepared[DB_MAX_PREPARED];
    size_t nprepared;
    bool background; /* leaves the spare to request threads */
    int64_t last_fail_ms;
    char sqlstate[6];
    char constraint[64];
    char message[256];
};

static _Thread_local struct db_thread tls;
static pthread_key_t tls_key;
static pthread_once_t tls_key_once = PTHREAD_ONCE_INIT;

/* Closes a thread's connection when the thread exits (pool threads, workers). */
static void on_thread_exit(void *unused)
{
    (void)unused;
    db_thread_close();
}

static void make_key(void)
{
    pthread_key_create(&tls_key, on_thread_exit);
}

void db_init(const char *conninfo, int connect_timeout_ms)
{
    db_conninfo = conninfo;
    db_connect_timeout_ms = connect_timeout_ms;
}

static void set_error(const char *sqlstate, const char *constraint, const char *message)
{
    snprintf(tls.sqlstate, sizeof tls.sqlstate, "%s", sqlstate ? sqlstate : "");
    snprintf(tls.constraint, sizeof tls.constraint, "%s", constraint ? constraint : "");
    snprintf(tls.message, sizeof tls.message, "%s", message ? message : "");
    tls.message[strcspn(tls.message, "\n")] = '\0';
}

const char *db_error_sqlstate(void)
{
    return tls.sqlstate;
}

const char *db_error_constraint(void)
{
    return tls.constraint;
}

const char *db_error_message(void)
{
    return tls.message;
}

/* The server's notices ("relation ... already exists, skipping") go to our log, not to
 * libpq's default of raw lines on stderr. */
static void log_notice(void *unused, const char *message)
{
    (void)unused;
    log_debug("database notice\tmessage=\"%.*s\"", (int)strcspn(message, "\n"), message);
}

/* Waits until conn's socket is ready for what PQconnectPoll() asked, or deadline_ms
 * (monotonic) passes. False on timeout or a poll failure. */
static bool wait_socket(const PGconn *conn, PostgresPollingStatusType want, int64_t deadline_ms)
{
    struct pollfd pfd = {
        .fd = PQsocket(conn),
        .events = want == PGRES_POLLING_READING ? POLLIN : POLLOUT,
    };
    for (;;) {
        int64_t left = deadline_ms - monotonic_ms();
        if (left <= 0)
            return false;
        int n = poll(&pfd, 1, (int)left);
        if (n > 0)
            return true;
        if (n == 0 || errno != EINTR)
            return false;
    }
}

/* libpq's own connect_timeout is whole seconds, at least 2, and every address of a host
 * gets one: a server that takes connections into its backlog and never answers (a
 * postmaster finishing a shutdown, a stalled network) would hold the calling thread, and
 * every request that thread serves, longer than our answers may take. So the handshake
 * runs non-blocking, under one deadline of timeout_ms for all of it. */
static PGconn *connect_within(int timeout_ms)
{
    const char *keys[] = {"dbname", "application_name", NULL};
    const char *vals[] = {db_conninfo, "bakery-whatsapp", NULL};
    PGconn *conn = PQconnectStartParams(keys, vals, 1);
    if (!conn) {
        set_error("08006", NULL, "out of memory");
        return NULL;
    }
    int64_t deadline = monotonic_ms() + timeout_ms;
    PostgresPollingStatusType poll_st = PGRES_POLLING_WRITING;
    while (PQstatus(conn) != CONNECTION_BAD && poll_st != PGRES_POLLING_OK &&
           poll_st != PGRES_POLLING_FAILED) {
        if (!wait_socket(conn, poll_st, deadline)) {
            set_error("08006", NULL, "connecting took longer than the deadline");
            PQfinish(conn);
            return NULL;
        }
        poll_st = PQconnectPoll(conn);
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        set_error("08006", NULL, PQerrorMessage(conn));
        PQfinish(conn);
        return NULL;
    }
    PQsetNoticeProcessor(conn, log_notice, NULL);
    return conn;
}

PGconn *db_connect_raw(void)
{
    return connect_within(db_connect_timeout_ms);
}

/* Makes conn the spare when it may be one and there is none yet; otherwise closes it. */
static void spare_or_close(PGconn *conn, bool may_be_spare)
{
    pthread_mutex_lock(&spare_lock);
    if (may_be_spare && !spare_conn) {
        spare_conn = conn;
        conn = NULL;
    }
    pthread_mutex_unlock(&spare_lock);
    PQfinish(conn);
}

/* Takes the spare connection when there is a live one. */
static PGconn *take_spare(void)
{
    pthread_mutex_lock(&spare_lock);
    PGconn *conn = spare_conn;
    spare_conn = NULL;
    pthread_mutex_unlock(&spare_lock);
    if (conn && PQstatus(conn) != CONNECTION_OK) {
        PQfinish(conn);
        conn = NULL;
    }
    return conn;
}

void db_cleanup(void)
{
    PQfinish(take_spare());
}

void db_thread_close(void)
{
    PQfinish(tls.conn);
    tls.conn = NULL;
    tls.nprepared = 0;
    tls.in_tx = false;
}

void db_thread_pass_on(void)
{
    PGconn *conn = tls.conn;
    tls.conn = NULL;
    tls.nprepared = 0;
    if (!conn || tls.in_tx || PQstatus(conn) != CONNECTION_OK) {
        tls.in_tx = false;
        PQfinish(conn);
        return;
    }
    /* The next thread knows nothing of this one's statements: it would prepare them again
     * under the same names. */
    PGresult *res = PQexec(conn, "DEALLOCATE ALL");
    bool clean = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    spare_or_close(conn, clean);
}

void db_thread_background(void)
{
    tls.background = true;
}

/* Returns this thread's live connection, (re)connecting when needed, or NULL. */
static PGconn *thread_conn(void)
{
    if (tls.conn && PQstatus(tls.conn) == CONNECTION_OK)
        return tls.conn;
    if (tls.conn)
        db_thread_close();
    int64_t now = monotonic_ms();
    if (tls.last_fail_ms && now - tls.last_fail_ms < DB_RETRY_INTERVAL_MS) {
        set_error("08006", NULL, "database unavailable (retrying shortly)");
        return NULL;
    }
    tls.conn = tls.background ? NULL : take_spare();
    if (!tls.conn)
        tls.conn = db_connect_raw();
    if (!tls.conn) {
        if (!tls.last_fail_ms)
            log_warn("database connection failed\terror=\"%s\"", tls.message);
        tls.last_fail_ms = monotonic_ms(); /* the pause counts from the failure */
        return NULL;
    }
    pthread_once(&tls_key_once, make_key);
    pthread_setspecific(tls_key, &tls);
    if (tls.last_fail_ms)
        log_info("database connection restored");
    tls.last_fail_ms = 0;
    return tls.conn;
}

/* Classifies a failed result, records the details and returns the status. */
static enum db_status classify(PGconn *conn, PGresult *res)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    set_error(state ? state : "08006",
              res ? PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME) : NULL, PQerrorMessage(conn));
    if (PQstatus(conn) != CONNECTION_OK || (state && strncmp(state, "08", 2) == 0) ||
        (state && strcmp(state, "57P01") == 0))
        return DB_UNAVAILABLE;
    if (state && strcmp(state, "23505") == 0)
        return DB_CONFLICT;
    return DB_ERROR;
}

static struct prepared *find_prepared(const struct db_stmt *stmt)
{
    for (size_t i = 0; i < tls.nprepared; i++) {
        if (tls.prepared[i].stmt == stmt)
            return &tls.prepared[i];
    }
    return NULL;
}

/* Prepares stmt on conn, as new or (when p is its slot) again. */
static enum db_status prepare(PGconn *conn, const struct db_stmt *stmt, struct prepared *p)
{
    if (p) {
        char sql[96];
        snprintf(sql, sizeof sql, "DEALLOCATE %s", stmt->name);
        PGresult *res = PQexec(conn, sql);
        enum db_status st = PQresultStatus(res) == PGRES_COMMAND_OK ? DB_OK : classify(conn, res);
        PQclear(res);
        if (st != DB_OK)
            return st;
    }
    PGresult *res = PQprepare(conn, stmt->name, stmt->sql, stmt->nparams, NULL);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        enum db_status st = classify(conn, res);
        PQclear(res);
        if (st == DB_ERROR)
            log_error("prepare failed\tstmt=%s error=\"%s\"", stmt->name, tls.message);
        if (p) /* it is gone from the server */
            *p = tls.prepared[--tls.nprepared];
        return st;
    }
    PQclear(res);
    if (!p && tls.nprepared < DB_MAX_PREPARED) {
        p = &tls.prepared[tls.nprepared++];
        *p = (struct prepared){.stmt = stmt};
    }
    if (p && stmt->replan) {
        int64_t after = p->replan_after_ms ? 2 * p->replan_after_ms : DB_REPLAN_FIRST_MS;
        p->replan_after_ms = after < DB_REPLAN_MAX_MS ? after : DB_REPLAN_MAX_MS;
        p->replan_at_ms = monotonic_ms() + p->replan_after_ms;
    }
    return DB_OK;
}

/* Hands res to *out (or frees it) when it succeeded; classifies and logs it when not. */
static enum db_status finish(PGconn *conn, const struct db_stmt *stmt, PGresult *res,
                             PGresult **out)
{
    ExecStatusType st = PQresultStatus(res);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        if (out)
            *out = res;
        else
            PQclear(res);
        return DB_OK;
    }
    enum db_status status = classify(conn, res);
    PQclear(res);
    if (status == DB_ERROR)
        log_error("query failed\tstmt=%s sqlstate=%s error=\"%s\"", stmt->name, tls.sqlstate,
                  tls.message);
    return status;
}

static enum db_status exec_once(const struct db_stmt *stmt, const char *const *params,
                                PGresult **out)
{
    PGconn *conn = thread_conn();
    if (!conn)
        return DB_UNAVAILABLE;
    struct prepared *p = find_prepared(stmt);
    if (!p || (stmt->replan && monotonic_ms() >= p->replan_at_ms)) {
        enum db_status st = prepare(conn, stmt, p);
        if (st != DB_OK)
            return st;
    }
    return finish(conn, stmt,
                  PQexecPrepared(conn, stmt->name, stmt->nparams, params, NULL, NULL, 0), out);
}

enum db_status db_exec(const struct db_stmt *stmt, const char *const *params, PGresult **out)
{
    if (out)
        *out = NULL;
    enum db_status st = exec_once(stmt, params, out);
    if (st == DB_UNAVAILABLE && !tls.in_tx && tls.conn) {
        /* The server went away under an idle connection: one fresh try. */
        db_thread_close();
        tls.last_fail_ms = 0;
        st = exec_once(stmt, params, out);
    }
    if (st == DB_UNAVAILABLE && tls.conn && PQstatus(tls.conn) != CONNECTION_OK)
        db_thread_close();
    return st;
}

static enum db_status simple(const char *sql)
{
    PGconn *conn = thread_conn();
    if (!conn)
        return DB_UNAVAILABLE;
    PGresult *res = PQexec(conn, sql);
    enum db_status st = DB_OK;
    if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
        st = classify(conn, res);
    PQclear(res);
    return st;
}

enum db_status db_begin(void)
{
    enum db_status st = simple("BEGIN");
    if (st == DB_UNAVAILABLE && tls.conn) {
        db_thread_close();
        tls.last_fail_ms = 0;
        st = simple("BEGIN");
    }
    tls.in_tx = st == DB_OK;
    return st;
}

enum db_status db_commit(void)
{
    enum db_status st = simple("COMMIT");
    tls.in_tx = false;
    if (st != DB_OK && tls.conn && PQstatus(tls.conn) != CONNECTION_OK)
        db_thread_close();
    return st;
}

void db_rollback(void)
{
    if (tls.conn && PQtransactionStatus(tls.conn) != PQTRANS_IDLE) {
        PGresult *res = PQexec(tls.conn, "ROLLBACK");
        PQclear(res);
    }
    tls.in_tx = false;
}

bool db_ping(void)
{
    static const struct db_stmt ping = {"db_ping", "SELECT 1", 0};
    return db_exec(&ping, NULL, NULL) == DB_OK;
}

/* ---------- migrations ---------- */

static bool run(PGconn *conn, const char *sql, const char *what)
{
    PGresult *res = PQexec(conn, sql);
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK || PQresultStatus(res) == PGRES_TUPLES_OK;
    if (!ok) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", PQerrorMessage(conn));
        msg[strcspn(msg, "\n")] = '\0';
        log_error("migration step failed\tstep=%s error=\"%s\"", what, msg);
    }
    PQclear(res);
    return ok;
}

static bool is_recorded(const PGresult *recorded, const char *name)
{
    for (int i = 0; i < PQntuples(recorded); i++) {
        if (strcmp(PQgetvalue(recorded, i, 0), name) == 0)
            return true;
    }
    return false;
}

int db_migrate(const char *scope, const struct db_migration *migrations, size_t n)
{
    int applied = 0;
    PGresult *recorded = NULL; /* the names in schema_migrations */
    PGconn *conn =
        connect_within(db_connect_timeout_ms > DB_STARTUP_CONNECT_MS ? db_connect_timeout_ms
                                                                     : DB_STARTUP_CONNECT_MS);
    if (!conn) {
        log_error("cannot connect to the database to migrate\terror=\"%s\"", tls.message);
        return -1;
    }
    /* hashtext() is stable across PostgreSQL versions we support; the key only needs to
     * be the same for every instance of one service. */
    const char *lock_params[] = {scope};
    PGresult *res = PQexecParams(conn, "SELECT pg_advisory_lock(hashtext($1))", 1, NULL,
                                 lock_params, NULL, NULL, 0);
    bool locked = PQresultStatus(res) == PGRES_TUPLES_OK;
    PQclear(res);
    if (!locked || !run(conn,
                        "CREATE TABLE IF NOT EXISTS schema_migrations ("
                        " name text PRIMARY KEY,"
                        " applied_at timestamptz NOT NULL DEFAULT now())",
                        "schema_migrations")) {
        applied = -1;
        goto out;
    }
    /* What is recorded, in one round trip: the common start finds everything applied. */
    recorded = PQexec(conn, "SELECT name FROM schema_migrations");
    if (PQresultStatus(recorded) != PGRES_TUPLES_OK) {
        applied = -1;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const char *params[] = {migrations[i].name};
        if (is_recorded(recorded, migrations[i].name))
            continue;
        if (!run(conn, "BEGIN", migrations[i].name) ||
            !run(conn, migrations[i].sql, migrations[i].name)) {
            run(conn, "ROLLBACK", "rollback");
            applied = -1;
            goto out;
        }
        res = PQexecParams(conn, "INSERT INTO schema_migrations (name) VALUES ($1)", 1, NULL,
                           params, NULL, NULL, 0);
        bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
        PQclear(res);
        if (!ok || !run(conn, "COMMIT", migrations[i].name)) {
            run(conn, "ROLLBACK", "rollback");
            applied = -1;
            goto out;
        }
        log_info("migration applied\tname=%s", migrations[i].name);
        applied++;
    }
out:
    PQclear(recorded);
    res = PQexecParams(conn, "SELECT pg_advisory_unlock(hashtext($1))", 1, NULL, lock_params, NULL,
                       NULL, 0);
    bool unlocked = PQresultStatus(res) == PGRES_TUPLES_OK;
    PQclear(res);
    spare_or_close(conn, unlocked && applied >= 0);
    return applied;
}

PGconn *db_listen(const char *channel, const char *app_name)
{
    PGconn *c = db_connect_raw();
    if (!c)
        return NULL;
    char *sql = xasprintf("SET application_name = '%s'; SET synchronous_commit = off; LISTEN %s",
                          app_name, channel);
    PGresult *res = PQexec(c, sql);
    bool ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    free(sql);
    if (!ok || PQsetnonblocking(c, 1) != 0) {
        log_warn("cannot LISTEN\tchannel=%s error=\"%.200s\"", channel, PQerrorMessage(c));
        PQfinish(c);
        return NULL;
    }
    return c;
}

int db_listen_drain(PGconn *c)
{
    int n = 0;
    if (!PQconsumeInput(c) || PQstatus(c) != CONNECTION_OK)
        return -1;
    int self = PQbackendPID(c);
    for (PGnotify *note; (note = PQnotifies(c)) != NULL; PQfreemem(note)) {
        if (note->be_pid != self)
            n++;
    }
    return n;
}

enum db_status db_exec_retrying(const struct db_stmt *stmt, const char *const *params,
                                PGresult **out)
{
    enum db_status st = DB_ERROR;
    for (int attempt = 0; attempt < 3; attempt++) {
        st = db_exec(stmt, params, out);
        const char *state = db_error_sqlstate();
        if (st != DB_ERROR || (strcmp(state, "40P01") != 0 && strcmp(state, "40001") != 0))
            break;
        log_warn("retrying after a lock conflict\tstmt=%s sqlstate=%s", stmt->name, state);
    }
    return st;
}
