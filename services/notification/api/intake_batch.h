/* intake_batch.h - group commit of intake (common/group.h): the rows of concurrent
 * requests go to PostgreSQL together, in one multi-row INSERT and one transaction (one
 * WAL flush), and each request is answered only after that commit, so a message is
 * still stored before its answer. A lone request commits at once, on its own thread,
 * with the plain single-row INSERT. */
#ifndef NOTIFICATION_INTAKE_BATCH_H
#define NOTIFICATION_INTAKE_BATCH_H

#include <stdbool.h>

#include "http.h"
#include "api/store.h"

struct intake_entry;

/* Starts the committer; max_rows caps one transaction. Returns false (logged) when the
 * thread cannot start. */
bool intake_batch_start(long max_rows) __attribute__((warn_unused_result));
/* After the HTTP server stopped: commits what is still queued, then ends the thread. */
void intake_batch_stop(void);

/* Commits a copy of m at once on this thread when no commit is in flight and nothing
 * waits; otherwise queues it for the next commit. Either way the entry becomes req's
 * state: intake_batch_outcome() tells whether it is answered yet, and when it is not the
 * handler parks req (intake_batch_wait()) and runs again once it is. */
void intake_batch_submit(struct http_request *req, const struct store_new_message *m);

/* The entry req was submitted with, or NULL on the handler's first run. */
struct intake_entry *intake_batch_entry(const struct http_request *req);

/* The outcome of e in *ref (ref->st: DB_OK, or why there is none). Returns false while
 * its commit is still pending: the handler parks the request again, unless this is its
 * last run (http_park_expired(): the server is stopping), where a commit in flight is
 * waited for up to a few seconds and then answered DB_UNAVAILABLE (503; a replay finds
 * the row if it was stored). *m is the message as submitted, owned by the entry and
 * valid until the request is done. */
bool intake_batch_outcome(struct intake_entry *e, bool last_run, const struct store_new_message **m,
                          struct store_message_ref *ref);

/* Parks req again until its commit answers (after intake_batch_outcome() said false). */
void intake_batch_wait(struct http_request *req);

#endif
