/* db.h - PostgreSQL access: one connection per thread, made on first use and remade
 * after the server restarts; statements declared once as data, prepared lazily on each
 * connection, always executed with parameters (never glued from input). */
#ifndef COMMON_DB_H
#define COMMON_DB_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>

/* A statement of a store module. Declare them as static const objects; the name must be
 * unique in the process.
 *
 * A statement is prepared once per connection and PostgreSQL soon settles on one plan
 * for it, made for the tables as they were then. That is right for lookups by key, but
 * not for a batch over a table that grows from empty: a plan made while the table was
 * empty scans it whole, and keeps doing so until the next ANALYZE. Such a statement sets
 * replan and is prepared again, for the tables as they are by then, 1 s after it was
 * first prepared on a connection, then after 2, 4, ... and at most 64 s. (Planning it at
 * every execution instead cost a third of the webhook's throughput.) */
struct db_stmt {
    const char *name;
    const char *sql;
    int nparams;
    bool replan;
};

enum db_status {
    DB_OK = 0,
    DB_UNAVAILABLE = -1, /* cannot reach the server (answer 503, retry later) */
    DB_CONFLICT = -2,    /* unique violation: see db_error_constraint() */
    DB_ERROR = -3,       /* anything else: a bug or a bad migration */
};

/* Sets the connection string every thread uses and how long making a connection may take
 * (the whole handshake; db_migrate() allows at least 10 s). Call once before any other
 * call. */
void db_init(const char *conninfo, int connect_timeout_ms);

/* Executes stmt with params (NULL entries are SQL NULL; text format). On DB_OK, *out
 * (when out is not NULL) receives the result, which the caller PQclear()s. A failure
 * caused by a dropped connection outside a transaction is retried once on a new one. */
enum db_status db_exec(const struct db_stmt *stmt, const char *const *params, PGresult **out)
    __attribute__((warn_unused_result));

/* db_exec(), run again (at most three times) when PostgreSQL broke a deadlock or a
 * serialization conflict by failing this statement: batch statements that lock many
 * rows can meet others locking them in another order. */
enum db_status db_exec_retrying(const struct db_stmt *stmt, const char *const *params,
                                PGresult **out) __attribute__((warn_unused_result));

/* Transactions on this thread's connection. db_begin() fails with DB_UNAVAILABLE when the
 * server cannot be reached; db_rollback() is harmless outside a transaction. */
enum db_status db_begin(void) __attribute__((warn_unused_result));
enum db_status db_commit(void) __attribute__((warn_unused_result));
void db_rollback(void);

/* Details of this thread's last failure (empty strings when none). */
const char *db_error_sqlstate(void);
const char *db_error_constraint(void);
const char *db_error_message(void);

/* Runs "SELECT 1"; true when the server answers. */
bool db_ping(void);

/* Opens a separate connection (for LISTEN, or tools); the caller PQfinish()es it. NULL
 * when the server cannot be reached. */
PGconn *db_connect_raw(void);

/* Opens a separate, non-blocking connection that LISTENs on channel (an identifier),
 * named app_name in pg_stat_activity; its own NOTIFYs skip the WAL flush. NULL (logged)
 * when the server cannot be reached. The caller PQfinish()es it. */
PGconn *db_listen(const char *channel, const char *app_name);
/* Reads what arrived on a db_listen() connection: the number of notifications other
 * connections sent (0 or more), or -1 when the connection is broken (close it and
 * listen again later). */
int db_listen_drain(PGconn *c);

/* Closes this thread's connection (call when a thread ends). */
void db_thread_close(void);

/* Hands this thread's connection on as the spare (its prepared statements dropped) for
 * the next thread that needs one, instead of closing it: a start-up thread's work done,
 * the first request uses its connection rather than opening one. */
void db_thread_pass_on(void);

/* Marks the calling thread as a background one: it opens its own connection and leaves
 * the spare to a thread that serves requests, so that a new instance's first request
 * (its load balancer's /ready) does not wait for a connection to be made. */
void db_thread_background(void);

/* Closes the connection db_migrate() left for the first thread that needs one, if no
 * thread took it. Call at exit. */
void db_cleanup(void);

/* A migration: a numbered SQL script applied once. */
struct db_migration {
    const char *name; /* "0001_init" */
    const char *sql;
};

/* Applies, in order and each in its own transaction, the migrations not yet recorded in
 * schema_migrations, holding an advisory lock keyed by scope so concurrent starts
 * serialize. Returns the number applied, or -1 (logged) on failure. On success its
 * connection is kept for the first thread that needs one (see db_cleanup()). */
int db_migrate(const char *scope, const struct db_migration *migrations, size_t n)
    __attribute__((warn_unused_result));

#endif
