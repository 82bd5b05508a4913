/* store.h - tenant-service's persistence: every SQL statement it runs lives in store.c.
 *
 * Results that are JSON documents are built by PostgreSQL (json_build_object) and
 * handed back parsed: the caller owns the returned reference. */
#ifndef TENANT_STORE_H
#define TENANT_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "auth.h"
#include "db.h"
#include "plans.h"
#include "uuidutil.h"

enum store_status {
    STORE_OK = DB_OK,
    STORE_NOT_FOUND = 1,                /* no such tenant */
    STORE_UNAVAILABLE = DB_UNAVAILABLE, /* the database cannot be reached: 503 */
    STORE_CONFLICT = DB_CONFLICT,       /* the phone number belongs to another tenant */
    STORE_ERROR = DB_ERROR,             /* a bug or a broken schema: 500, logged */
};

#define STORE_AUDIT_LIMIT_MAX 500

/* Creates a tenant and its default notification settings, on plan (PLAN_DEFAULT), in one
 * transaction. *out: the new tenant {id, name, created_at, updated_at}. */
enum store_status store_tenant_create(const char *name, const char *plan, json_t **out)
    __attribute__((warn_unused_result));
/* *out: every tenant, ordered by name. */
enum store_status store_tenant_list(json_t **out) __attribute__((warn_unused_result));
/* *out: the tenant, or STORE_NOT_FOUND. id must be a canonical UUID. */
enum store_status store_tenant_get(const char *id, json_t **out)
    __attribute__((warn_unused_result));

/* *out: the tenant's whole notification_settings object with its "plan" and
 * "whatsapp_monthly_quota" (effective; null = unlimited), or STORE_NOT_FOUND. So are the
 * settings of store_settings_merge() and of the feed's rows. */
enum store_status store_settings_get(const char *tenant_id, json_t **out)
    __attribute__((warn_unused_result));
/* The same documents, as JSON text, for n tenants in one statement: docs[i] (the caller
 * frees each) is tenant_ids[i]'s, or NULL when there is no such tenant. tenant_ids must
 * be canonical UUIDs. */
enum store_status store_settings_get_many(const char *const *tenant_ids, size_t n, char **docs)
    __attribute__((warn_unused_result));
/* Merges patch (an object of validated keys, borrowed) into the settings in a single
 * UPDATE, so concurrent updates of different keys never lose each other. *out: the
 * whole new object. */
enum store_status store_settings_merge(const char *tenant_id, const json_t *patch, json_t **out)
    __attribute__((warn_unused_result));
/* The settings change feed (migration 0003). *out: {position, epoch, changes, tenants}:
 * position is the newest change number committed; changes are the rows changed after
 * *after, in change order, at most limit (none when after is NULL); tenants are the
 * current rows of the n tenant_ids asked for (canonical UUIDs; absent: no such tenant).
 * Each row is {tenant_id, seq, settings}. All from one snapshot. */
enum store_status store_settings_changes(const long long *after, long limit,
                                         const char *const *tenant_ids, size_t n, json_t **out)
    __attribute__((warn_unused_result));
/* *name: the tenant's name (caller frees); *settings: its settings object. */
enum store_status store_tenant_settings(const char *tenant_id, char **name, json_t **settings)
    __attribute__((warn_unused_result));

/* *out: [{tenant_id, tenant_name, whatsapp_enabled, phone_number_id,
 * display_phone_number}] ordered by name; the phone fields null when unassigned. */
enum store_status store_whatsapp_tenants(json_t **out) __attribute__((warn_unused_result));
/* *out: {phone_number_id: {tenant_id, tenant_name}} for every assigned number. */
enum store_status store_phone_holders(json_t **out) __attribute__((warn_unused_result));

/* The outcome of an assignment or unassignment. Strings are owned; free with
 * store_assignment_free(). */
struct store_assignment {
    char *tenant_name;
    char *previous_phone_id; /* "" when the tenant had none */
    char *previous_display;
    bool changed;              /* false: it was already so (no audit row written) */
    char holder[UUID_STR_LEN]; /* STORE_CONFLICT: the tenant holding the number */
    char *holder_name;         /* STORE_CONFLICT: its name (owned), NULL when unknown */
};
void store_assignment_free(struct store_assignment *a);

/* Gives phone_id (shown as display) to the tenant, replacing any number it had, and
 * writes the audit rows with actor, all in one transaction. The unique index on the
 * phone id decides between concurrent assignments: the loser gets STORE_CONFLICT with
 * out->holder and out->holder_name set. Assigning the number the tenant already has changes
 * nothing. */
enum store_status store_phone_assign(const char *tenant_id, const char *phone_id,
                                     const char *display, const char *actor,
                                     struct store_assignment *out)
    __attribute__((warn_unused_result));
/* Takes the tenant's number away (audit row with actor); nothing to do when it has none. */
enum store_status store_phone_unassign(const char *tenant_id, const char *actor,
                                       struct store_assignment *out)
    __attribute__((warn_unused_result));

/* *out: the tenant's plan {tenant_id, plan, quota_override, monthly_quota (effective;
 * null = unlimited), updated_at}, or STORE_NOT_FOUND. */
enum store_status store_plan_get(const char *tenant_id, json_t **out)
    __attribute__((warn_unused_result));

/* What store_plan_change() did. plan is owned (json_decref) and NULL unless STORE_OK. */
struct store_plan_outcome {
    char old_plan[16], new_plan[16];
    long old_override, new_override; /* -1: none */
    bool plan_changed, override_changed;
    json_t *plan; /* the plan after, as store_plan_get() */
};

/* Applies change to the tenant's plan in one transaction under its settings row's lock:
 * writes what differs, with an audit row (actor, "old -> new" as reason) for each of the
 * plan (plan_change) and the override (quota_override) that changed. Being a settings
 * change, it is numbered for the feed. Changing nothing writes nothing. */
enum store_status store_plan_change(const char *tenant_id, const struct plan_change *change,
                                    const char *actor, struct store_plan_outcome *out)
    __attribute__((warn_unused_result));

/* Writes the audit row of a quota crossing (event quota_warning or quota_reached; reason
 * "YYYY-MM: ..." names its month) unless the tenant has it for that month already
 * (*written false). STORE_NOT_FOUND for an unknown tenant. */
enum store_status store_quota_event(const char *tenant_id, const char *event, const char *actor,
                                    const char *reason, bool *written)
    __attribute__((warn_unused_result));

/* *out: the newest audit rows first, at most limit, of one tenant (tenant_id not NULL)
 * or of all. */
enum store_status store_audit_list(const char *tenant_id, long limit, json_t **out)
    __attribute__((warn_unused_result));

/* ---------- the settings readers: instances serving settings from a cache (0008) ----------
 * reader_id is a canonical UUID; lease_ms the lease a registration or renewal grants. */

/* Registers the reader (again), with nothing seen: writers wait for it from now on. */
enum store_status store_reader_register(const char *reader_id, const char *label, long lease_ms)
    __attribute__((warn_unused_result));
/* The change counter now (*position) and, when after is not NULL, the tenants whose
 * settings changed after *after, in change order, at most max of them: ids[0..*n). All
 * from one snapshot. *n == max means there may be more. */
enum store_status store_reader_changes(const long long *after, size_t max, long long *position,
                                       char (*ids)[UUID_STR_LEN], size_t *n)
    __attribute__((warn_unused_result));
/* Says the reader has applied every change up to seen and renews its lease.
 * STORE_NOT_FOUND: it is not registered (a writer removed it): register again. */
enum store_status store_reader_renew(const char *reader_id, long long seen, long lease_ms)
    __attribute__((warn_unused_result));
/* Takes the reader out (nothing when it is not registered). */
enum store_status store_reader_remove(const char *reader_id) __attribute__((warn_unused_result));
/* After a settings change: deletes the readers below target whose lease is over, then
 * counts the readers still below it (*lagging). target NULL: the counter now; *target_out
 * is the target used. */
enum store_status store_readers_lagging(const long long *target, long long *target_out,
                                        long *lagging) __attribute__((warn_unused_result));
/* Deletes every reader below target, lease running or not; *lease_left_ms: the longest
 * lease among them still has that long to run (0 when none). */
enum store_status store_readers_evict(long long target, long *lease_left_ms)
    __attribute__((warn_unused_result));

/* ---------- the console: sign-in links and sessions (migration 0007) ----------
 * Codes and session ids arrive as the 64 hex digits of their SHA-256: the database never
 * sees them. who->exp is in Unix seconds. */

/* Stores a one-time link for who (admin, or a user of an existing tenant: else
 * STORE_NOT_FOUND), made by created_by, usable for ttl seconds; prunes links and sessions
 * ended a day ago. *expires_at: ISO 8601 (the caller frees it). */
enum store_status store_link_create(const char *code_hash, const struct auth_principal *who,
                                    const char *created_by, long ttl, char **expires_at)
    __attribute__((warn_unused_result));
/* Uses the link once and opens a session (session_hash, csrf) of ttl seconds in the same
 * statement; *who is its holder. STORE_NOT_FOUND: *why is "used", "expired" or
 * "unknown" (static). */
enum store_status store_link_use(const char *code_hash, const char *session_hash, const char *csrf,
                                 long ttl, struct auth_principal *who, const char **why)
    __attribute__((warn_unused_result));
/* Opens a session for a bearer token's holder, ending after ttl seconds or at who->exp,
 * whichever is first (*expires). STORE_NOT_FOUND: a user's tenant does not exist. */
enum store_status store_session_open(const char *session_hash, const char *csrf,
                                     const struct auth_principal *who, long ttl, long *expires)
    __attribute__((warn_unused_result));
/* The live session's holder and CSRF token; STORE_NOT_FOUND when unknown or ended. */
enum store_status store_session_get(const char *session_hash, struct auth_principal *who,
                                    char *csrf, size_t csrf_size)
    __attribute__((warn_unused_result));
/* Ends a session (nothing when there is none). */
enum store_status store_session_close(const char *session_hash) __attribute__((warn_unused_result));
/* Records a change of the WhatsApp account for the console's stream (kind as checked by
 * the handler, detail a JSON object, borrowed); *id is its row's. */
enum store_status store_account_change(const char *kind, const json_t *detail, long long *id)
    __attribute__((warn_unused_result));
/* For the console's stream: {position, epoch, audit_max, settings: [{tenant_id, seq}]
 * changed after after_seq, audit: [{id, tenant_id, action}] and account: [{id, kind,
 * ...its detail}] with id > after_audit}, at most 500 of each, oldest first. */
enum store_status store_console_events(long long after_seq, long long after_audit, json_t **out)
    __attribute__((warn_unused_result));

#endif
