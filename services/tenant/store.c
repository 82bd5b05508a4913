/* store.c - all of tenant-service's SQL: tenants, notification settings, WhatsApp plans,
 * phone-number assignment (a transaction decided by the unique index) and its audit log. */
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "log.h"
#include "pgarray.h"
#include "plans.h"

/* Timestamps leave the database as ISO 8601 in UTC with milliseconds. */
#define ISO(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
#define PHONE_ID "(s.notification_settings ->> 'whatsapp_phone_number_id')"
#define PHONE_DISPLAY "(s.notification_settings ->> 'whatsapp_display_phone_number')"
/* clang-format off */
#define TENANT_JSON                                                                                \
    "json_build_object('id', t.id, 'name', t.name,"                                                \
    " 'created_at', " ISO("t.created_at") ","                                                      \
    " 'updated_at', " ISO("t.updated_at") ")"
/* A tenant's effective monthly quota as jsonb (null = unlimited): its override, else its
 * plan's, looked up in the parameter q (plan_quotas_json(), where the defaults are). */
#define EFFECTIVE_QUOTA(q) "coalesce(to_jsonb(s.quota_override), " q "::jsonb -> s.plan)"
/* The settings document served (GET, PUT, the feed): the stored keys, the plan and its
 * effective quota, so that notification-service learns both with the settings. */
#define SETTINGS_DOC(q)                                                                            \
    "(s.notification_settings || jsonb_build_object('plan', s.plan,"                               \
    " 'whatsapp_monthly_quota', " EFFECTIVE_QUOTA(q) "))"
#define PLAN_JSON(q)                                                                               \
    "json_build_object('tenant_id', s.tenant_id, 'plan', s.plan,"                                  \
    " 'quota_override', s.quota_override, 'monthly_quota', " EFFECTIVE_QUOTA(q) ","               \
    " 'updated_at', " ISO("s.plan_updated_at") ")"
#define FEED_SETTINGS SETTINGS_DOC("$4") /* the feed statement's $4 */
/* clang-format on */

/* ---------- tenants ---------- */

static const struct db_stmt stmt_tenant_create = {
    "tenant_create",
    "WITH t AS (INSERT INTO tenants (name) VALUES ($1)"
    "           RETURNING id, name, created_at, updated_at),"
    "     s AS (INSERT INTO tenant_settings (tenant_id, notification_settings, plan)"
    "           SELECT id, default_notification_settings(), $2 FROM t)"
    " SELECT " TENANT_JSON "::text FROM t",
    2,
};

static const struct db_stmt stmt_tenant_list = {
    "tenant_list",
    "SELECT coalesce(json_agg(" TENANT_JSON " ORDER BY t.name, t.id), '[]')::text"
    " FROM tenants t",
    0,
};

static const struct db_stmt stmt_tenant_get = {
    "tenant_get",
    "SELECT " TENANT_JSON "::text FROM tenants t WHERE t.id = $1",
    1,
};

/* ---------- settings ---------- */

static const struct db_stmt stmt_settings_get = {
    "tenant_settings_get",
    "SELECT " SETTINGS_DOC("$2") "::text FROM tenant_settings s WHERE s.tenant_id = $1",
    2,
};

/* The settings of several tenants at once (concurrent GETs, common/group.h). */
static const struct db_stmt stmt_settings_get_many = {
    "tenant_settings_get_many",
    "SELECT s.tenant_id::text, " SETTINGS_DOC("$2") "::text FROM tenant_settings s"
                                                    " WHERE s.tenant_id = ANY($1::uuid[])",
    2,
};

/* One statement: the merge happens under the row lock the UPDATE takes, so two owners
 * changing different keys at once both keep their change. The WhatsApp switch moves the
 * purchase-order channels with it (tenant_settings_apply, migration 0006). */
static const struct db_stmt stmt_settings_merge = {
    "tenant_settings_merge",
    "UPDATE tenant_settings s"
    "   SET notification_settings = tenant_settings_apply(s.notification_settings, $2::jsonb),"
    "       updated_at = now()"
    " WHERE s.tenant_id = $1"
    " RETURNING " SETTINGS_DOC("$3") "::text",
    3,
};

static const struct db_stmt stmt_tenant_settings = {
    "tenant_with_settings",
    "SELECT t.name, s.notification_settings::text"
    "  FROM tenants t JOIN tenant_settings s ON s.tenant_id = t.id"
    " WHERE t.id = $1",
    1,
};

/* The change feed: one statement, so the position, the changed rows and the asked
 * tenants come from one snapshot. Rows are taken in change order, at most $2 of them. */
static const struct db_stmt stmt_settings_changes = {
    "tenant_settings_changes",
    "WITH changed AS ("
    "  SELECT s.tenant_id, s.change_seq, " FEED_SETTINGS " AS notification_settings"
    "   FROM tenant_settings s"
    "   WHERE $1::bigint IS NOT NULL AND s.change_seq > $1::bigint"
    "   ORDER BY s.change_seq LIMIT $2),"
    " asked AS ("
    "  SELECT s.tenant_id, s.change_seq, " FEED_SETTINGS " AS notification_settings"
    "   FROM tenant_settings s"
    "   WHERE s.tenant_id = ANY ($3::uuid[]))"
    " SELECT json_build_object("
    "  'position', c.seq, 'epoch', c.epoch,"
    "  'changes', coalesce((SELECT json_agg(json_build_object('tenant_id', tenant_id,"
    "     'seq', change_seq, 'settings', notification_settings) ORDER BY change_seq)"
    "     FROM changed), '[]'),"
    "  'tenants', coalesce((SELECT json_agg(json_build_object('tenant_id', tenant_id,"
    "     'seq', change_seq, 'settings', notification_settings)) FROM asked), '[]'))::text"
    " FROM settings_change_counter c",
    4,
};

/* ---------- plans ---------- */

static const struct db_stmt stmt_plan_get = {
    "tenant_plan_get",
    "SELECT " PLAN_JSON("$2") "::text FROM tenant_settings s WHERE s.tenant_id = $1",
    2,
};

/* Locks the settings row for the rest of the plan change. */
static const struct db_stmt stmt_plan_lock = {
    "tenant_plan_lock",
    "SELECT s.plan, s.quota_override FROM tenant_settings s WHERE s.tenant_id = $1 FOR UPDATE",
    1,
};

/* The trigger of migration 0003 (as 0004 left it) numbers the change for the feed. */
static const struct db_stmt stmt_plan_set = {
    "tenant_plan_set",
    "UPDATE tenant_settings"
    "   SET plan = $2, quota_override = $3::integer, plan_updated_at = now(), updated_at = now()"
    " WHERE tenant_id = $1",
    3,
};

/* ---------- WhatsApp administration ---------- */

static const struct db_stmt stmt_whatsapp_tenants = {
    "tenant_whatsapp_tenants",
    "SELECT coalesce(json_agg(json_build_object("
    "    'tenant_id', t.id,"
    "    'tenant_name', t.name,"
    "    'whatsapp_enabled', coalesce(s.notification_settings -> 'whatsapp_enabled' = 'true',"
    "                                 false),"
    "    'phone_number_id', nullif(" PHONE_ID ", ''),"
    "    'display_phone_number', CASE WHEN coalesce(" PHONE_ID ", '') = '' THEN NULL"
    "                                 ELSE coalesce(" PHONE_DISPLAY ", '') END)"
    "  ORDER BY t.name, t.id), '[]')::text"
    "  FROM tenants t LEFT JOIN tenant_settings s ON s.tenant_id = t.id",
    0,
};

static const struct db_stmt stmt_phone_holders = {
    "tenant_phone_holders",
    "SELECT coalesce(json_object_agg(" PHONE_ID ","
    "           json_build_object('tenant_id', t.id, 'tenant_name', t.name)), '{}')::text"
    "  FROM tenant_settings s JOIN tenants t ON t.id = s.tenant_id"
    " WHERE " PHONE_ID " <> ''",
    0,
};

/* The second condition lets the planner use the partial unique index. */
static const struct db_stmt stmt_phone_holder = {
    "tenant_phone_holder",
    "SELECT s.tenant_id::text, t.name FROM tenant_settings s JOIN tenants t ON t.id = s.tenant_id"
    " WHERE " PHONE_ID " = $1 AND " PHONE_ID " <> ''",
    1,
};

/* Locks the tenant's settings row for the rest of the assignment transaction. */
static const struct db_stmt stmt_assignment_lock = {
    "tenant_assignment_lock",
    "SELECT t.name, coalesce(" PHONE_ID ", ''), coalesce(" PHONE_DISPLAY ", '')"
    "  FROM tenants t JOIN tenant_settings s ON s.tenant_id = t.id"
    " WHERE t.id = $1"
    "   FOR UPDATE OF s",
    1,
};

static const struct db_stmt stmt_phone_set = {
    "tenant_phone_set",
    "UPDATE tenant_settings"
    "   SET notification_settings = notification_settings || jsonb_build_object("
    "           'whatsapp_phone_number_id', $2::text,"
    "           'whatsapp_display_phone_number', $3::text),"
    "       updated_at = now()"
    " WHERE tenant_id = $1",
    3,
};

static const struct db_stmt stmt_audit_insert = {
    "tenant_audit_insert",
    "INSERT INTO whatsapp_assignment_audit"
    "  (tenant_id, action, phone_number_id, display_phone_number, actor, reason)"
    " VALUES ($1, $2, $3, $4, $5, $6)",
    6,
};

/* A quota crossing, once per tenant, event and month (migration 0005's index): the
 * first column says whether the tenant exists, the second whether a row was written. */
static const struct db_stmt stmt_quota_event = {
    "tenant_quota_event",
    "WITH t AS (SELECT id FROM tenants WHERE id = $1),"
    " ins AS (INSERT INTO whatsapp_assignment_audit"
    "           (tenant_id, action, phone_number_id, display_phone_number, actor, reason)"
    "         SELECT id, $2, '', '', $3, $4 FROM t ON CONFLICT DO NOTHING RETURNING id)"
    " SELECT EXISTS (SELECT 1 FROM t), EXISTS (SELECT 1 FROM ins)",
    4,
};

/* clang-format off */
#define AUDIT_JSON                                                                                 \
    "SELECT coalesce(json_agg(json_build_object("                                                  \
    "    'id', a.id, 'tenant_id', a.tenant_id, 'tenant_name', t.name, 'action', a.action,"         \
    "    'phone_number_id', a.phone_number_id,"                                                    \
    "    'display_phone_number', a.display_phone_number, 'actor', a.actor,"                        \
    "    'reason', a.reason, 'created_at', " ISO("a.created_at") ")"                               \
    "  ORDER BY a.created_at DESC, a.id DESC), '[]')::text"
/* clang-format on */

/* Two statements rather than "$1 IS NULL OR tenant_id = $1", so each has a plan that
 * uses its index. */
static const struct db_stmt stmt_audit_all = {
    "tenant_audit_all",
    AUDIT_JSON " FROM (SELECT * FROM whatsapp_assignment_audit"
               "        ORDER BY created_at DESC, id DESC LIMIT $1) a"
               " LEFT JOIN tenants t ON t.id = a.tenant_id",
    1,
};

static const struct db_stmt stmt_audit_tenant = {
    "tenant_audit_tenant",
    AUDIT_JSON " FROM (SELECT * FROM whatsapp_assignment_audit WHERE tenant_id = $1"
               "        ORDER BY created_at DESC, id DESC LIMIT $2) a"
               " LEFT JOIN tenants t ON t.id = a.tenant_id",
    2,
};

/* ---------- helpers ---------- */

/* Parses a JSON text cell produced by one of our statements. NULL (logged) if it is not
 * JSON, which would be a bug in the statement. */
static json_t *parse_cell(const PGresult *res, int row, int col, const char *stmt)
{
    json_error_t err;
    json_t *v = json_loads(PQgetvalue(res, row, col), 0, &err);
    if (!v)
        log_error("statement returned invalid JSON\tstmt=%s error=\"%s\"", stmt, err.text);
    return v;
}

/* Runs stmt; on STORE_OK *res holds at least one row (the caller PQclear()s it), and no
 * row at all is STORE_NOT_FOUND. */
static enum store_status exec_row(const struct db_stmt *stmt, const char *const *params,
                                  PGresult **res)
{
    enum store_status st = (enum store_status)db_exec(stmt, params, res);
    if (st == STORE_OK && PQntuples(*res) == 0) {
        PQclear(*res);
        *res = NULL;
        st = STORE_NOT_FOUND;
    }
    return st;
}

/* Runs stmt and returns the JSON of the first column of its single row in *out. */
static enum store_status exec_json(const struct db_stmt *stmt, const char *const *params,
                                   json_t **out)
{
    PGresult *res = NULL;
    enum store_status st = exec_row(stmt, params, &res);

    *out = NULL;
    if (st == STORE_OK) {
        *out = parse_cell(res, 0, 0, stmt->name);
        if (!*out)
            st = STORE_ERROR;
    }
    PQclear(res);
    return st;
}

static void set_str(char **dst, const char *src)
{
    free(*dst);
    *dst = xstrdup(src);
}

/* ---------- tenants and settings ---------- */

enum store_status store_tenant_create(const char *name, const char *plan, json_t **out)
{
    const char *params[] = {name, plan};
    return exec_json(&stmt_tenant_create, params, out);
}

enum store_status store_tenant_list(json_t **out)
{
    return exec_json(&stmt_tenant_list, NULL, out);
}

enum store_status store_tenant_get(const char *id, json_t **out)
{
    const char *params[] = {id};
    return exec_json(&stmt_tenant_get, params, out);
}

enum store_status store_settings_get(const char *tenant_id, json_t **out)
{
    const char *params[] = {tenant_id, plan_quotas_json()};
    return exec_json(&stmt_settings_get, params, out);
}

enum store_status store_settings_get_many(const char *const *tenant_ids, size_t n, char **docs)
{
    struct buf ids = {0};
    PGresult *res = NULL;

    for (size_t i = 0; i < n; i++)
        docs[i] = NULL;
    pgarray_open(&ids);
    for (size_t i = 0; i < n; i++)
        pgarray_add(&ids, tenant_ids[i]);
    pgarray_close(&ids);
    const char *params[] = {ids.data, plan_quotas_json()};
    enum store_status st = (enum store_status)db_exec(&stmt_settings_get_many, params, &res);
    if (st != STORE_OK)
        goto out;
    /* A batch is small (the requests that came during one query): no index needed. */
    for (int r = 0; r < PQntuples(res); r++) {
        for (size_t i = 0; i < n; i++) {
            if (!docs[i] && strcmp(PQgetvalue(res, r, 0), tenant_ids[i]) == 0)
                docs[i] = xstrdup(PQgetvalue(res, r, 1));
        }
    }
out:
    PQclear(res);
    buf_free(&ids);
    return st;
}

enum store_status store_settings_merge(const char *tenant_id, const json_t *patch, json_t **out)
{
    char *text = json_dumps(patch, JSON_COMPACT);
    const char *params[] = {tenant_id, text, plan_quotas_json()};
    enum store_status st = exec_json(&stmt_settings_merge, params, out);
    free(text);
    return st;
}

enum store_status store_settings_changes(const long long *after, long limit,
                                         const char *const *tenant_ids, size_t n, json_t **out)
{
    char after_text[24];
    char limit_text[24];
    struct buf ids = {0};

    snprintf(after_text, sizeof after_text, "%lld", after ? *after : 0LL);
    snprintf(limit_text, sizeof limit_text, "%ld", limit);
    pgarray_open(&ids);
    for (size_t i = 0; i < n; i++)
        pgarray_add(&ids, tenant_ids[i]);
    pgarray_close(&ids);
    const char *params[] = {after ? after_text : NULL, limit_text, ids.data, plan_quotas_json()};
    enum store_status st = exec_json(&stmt_settings_changes, params, out);
    buf_free(&ids);
    return st;
}

enum store_status store_tenant_settings(const char *tenant_id, char **name, json_t **settings)
{
    PGresult *res = NULL;
    const char *params[] = {tenant_id};
    enum store_status st = exec_row(&stmt_tenant_settings, params, &res);

    *name = NULL;
    *settings = NULL;
    if (st != STORE_OK)
        goto out;
    *settings = parse_cell(res, 0, 1, stmt_tenant_settings.name);
    if (!*settings) {
        st = STORE_ERROR;
        goto out;
    }
    *name = xstrdup(PQgetvalue(res, 0, 0));
out:
    PQclear(res);
    return st;
}

/* ---------- WhatsApp administration ---------- */

enum store_status store_whatsapp_tenants(json_t **out)
{
    return exec_json(&stmt_whatsapp_tenants, NULL, out);
}

enum store_status store_phone_holders(json_t **out)
{
    return exec_json(&stmt_phone_holders, NULL, out);
}

void store_assignment_free(struct store_assignment *a)
{
    free(a->tenant_name);
    free(a->previous_phone_id);
    free(a->previous_display);
    free(a->holder_name);
    memset(a, 0, sizeof(*a));
}

/* Begins the transaction and locks the tenant's settings row; fills the tenant's name
 * and current number into a. */
static enum store_status begin_and_lock(const char *tenant_id, struct store_assignment *a)
{
    PGresult *res = NULL;
    const char *params[] = {tenant_id};
    enum store_status st = (enum store_status)db_begin();
    if (st != STORE_OK)
        return st;
    st = exec_row(&stmt_assignment_lock, params, &res);
    if (st != STORE_OK)
        goto out;
    set_str(&a->tenant_name, PQgetvalue(res, 0, 0));
    set_str(&a->previous_phone_id, PQgetvalue(res, 0, 1));
    set_str(&a->previous_display, PQgetvalue(res, 0, 2));
out:
    PQclear(res);
    return st;
}

static enum store_status audit(const char *tenant_id, const char *action, const char *phone_id,
                               const char *display, const char *actor, const char *reason)
{
    const char *params[] = {tenant_id, action, phone_id, display, actor, reason};
    return (enum store_status)db_exec(&stmt_audit_insert, params, NULL);
}

static enum store_status set_phone(const char *tenant_id, const char *phone_id, const char *display)
{
    const char *params[] = {tenant_id, phone_id, display};
    return (enum store_status)db_exec(&stmt_phone_set, params, NULL);
}

/* One attempt of store_phone_assign(); the caller looks up the holder on a conflict. */
static enum store_status assign_once(const char *tenant_id, const char *phone_id,
                                     const char *display, const char *actor,
                                     struct store_assignment *a)
{
    char *reason = NULL;
    enum store_status st = begin_and_lock(tenant_id, a);
    if (st != STORE_OK)
        goto out;
    bool same_id = strcmp(a->previous_phone_id, phone_id) == 0;
    a->changed = !same_id || strcmp(a->previous_display, display) != 0;
    if (!a->changed)
        goto commit;
    st = set_phone(tenant_id, phone_id, display);
    if (st != STORE_OK)
        goto out;
    if (same_id) {
        reason = xstrdup("display number changed");
    } else if (a->previous_phone_id[0]) {
        char *why = xasprintf("replaced by %s", phone_id);
        st = audit(tenant_id, "unassign", a->previous_phone_id, a->previous_display, actor, why);
        free(why);
        if (st != STORE_OK)
            goto out;
        reason = xasprintf("replaces %s", a->previous_phone_id);
    }
    st = audit(tenant_id, "assign", phone_id, display, actor, reason);
    if (st != STORE_OK)
        goto out;
commit:
    st = (enum store_status)db_commit();
out:
    free(reason);
    if (st != STORE_OK)
        db_rollback();
    return st;
}

/* Who holds phone_id now, into a->holder and a->holder_name (named, so that the admin
 * page can say which bakery has it); holder stays "" when nobody does. */
static enum store_status find_holder(const char *phone_id, struct store_assignment *a)
{
    PGresult *res = NULL;
    const char *params[] = {phone_id};
    enum store_status st = exec_row(&stmt_phone_holder, params, &res);
    a->holder[0] = '\0';
    free(a->holder_name);
    a->holder_name = NULL;
    if (st == STORE_OK && uuid_is_valid(PQgetvalue(res, 0, 0), a->holder))
        a->holder_name = xstrdup(PQgetvalue(res, 0, 1));
    PQclear(res);
    return st == STORE_NOT_FOUND ? STORE_OK : st;
}

enum store_status store_phone_assign(const char *tenant_id, const char *phone_id,
                                     const char *display, const char *actor,
                                     struct store_assignment *out)
{
    enum store_status st = STORE_ERROR;

    memset(out, 0, sizeof(*out));
    /* A conflict whose holder let go before we could name it is worth one more try. */
    for (int attempt = 0; attempt < 2; attempt++) {
        st = assign_once(tenant_id, phone_id, display, actor, out);
        if (st != STORE_CONFLICT)
            break;
        if (strcmp(db_error_constraint(), "tenant_settings_phone_number_id_key") != 0) {
            log_error("unexpected unique violation\tconstraint=%s", db_error_constraint());
            return STORE_ERROR;
        }
        enum store_status hs = find_holder(phone_id, out);
        if (hs != STORE_OK)
            return hs;
        if (out->holder[0])
            break;
    }
    return st;
}

enum store_status store_phone_unassign(const char *tenant_id, const char *actor,
                                       struct store_assignment *out)
{
    enum store_status st;

    memset(out, 0, sizeof(*out));
    st = begin_and_lock(tenant_id, out);
    if (st != STORE_OK)
        goto out;
    out->changed = out->previous_phone_id[0] != '\0';
    if (out->changed) {
        st = set_phone(tenant_id, "", "");
        if (st == STORE_OK)
            st = audit(tenant_id, "unassign", out->previous_phone_id, out->previous_display, actor,
                       NULL);
        if (st != STORE_OK)
            goto out;
    }
    st = (enum store_status)db_commit();
out:
    if (st != STORE_OK)
        db_rollback();
    return st;
}

/* ---------- plans ---------- */

enum store_status store_plan_get(const char *tenant_id, json_t **out)
{
    const char *params[] = {tenant_id, plan_quotas_json()};
    return exec_json(&stmt_plan_get, params, out);
}

/* An override as the audit log says it: the number, or "none". */
static void override_text(long q, char out[24])
{
    if (q < 0)
        snprintf(out, 24, "none");
    else
        snprintf(out, 24, "%ld", q);
}

enum store_status store_plan_change(const char *tenant_id, const struct plan_change *change,
                                    const char *actor, struct store_plan_outcome *out)
{
    PGresult *res = NULL;
    char *reason = NULL;
    char override_new[24] = "";
    const char *lock_params[] = {tenant_id};

    memset(out, 0, sizeof(*out));
    enum store_status st = (enum store_status)db_begin();
    if (st != STORE_OK)
        return st;
    st = exec_row(&stmt_plan_lock, lock_params, &res);
    if (st != STORE_OK)
        goto out;
    snprintf(out->old_plan, sizeof out->old_plan, "%s", PQgetvalue(res, 0, 0));
    out->old_override = PQgetisnull(res, 0, 1) ? -1 : strtol(PQgetvalue(res, 0, 1), NULL, 10);
    snprintf(out->new_plan, sizeof out->new_plan, "%s",
             change->plan ? change->plan->name : out->old_plan);
    out->new_override = change->set_override ? change->quota_override : out->old_override;
    out->plan_changed = strcmp(out->old_plan, out->new_plan) != 0;
    out->override_changed = out->old_override != out->new_override;
    if (!out->plan_changed && !out->override_changed)
        goto document;

    if (out->new_override >= 0)
        override_text(out->new_override, override_new);
    const char *set_params[] = {tenant_id, out->new_plan, override_new[0] ? override_new : NULL};
    st = (enum store_status)db_exec(&stmt_plan_set, set_params, NULL);
    if (st != STORE_OK)
        goto out;
    if (out->plan_changed) {
        reason = xasprintf("%s -> %s", out->old_plan, out->new_plan);
        st = audit(tenant_id, "plan_change", "", "", actor, reason);
        if (st != STORE_OK)
            goto out;
        free(reason);
        reason = NULL;
    }
    if (out->override_changed) {
        char before[24], after[24];
        override_text(out->old_override, before);
        override_text(out->new_override, after);
        reason = xasprintf("%s -> %s", before, after);
        st = audit(tenant_id, "quota_override", "", "", actor, reason);
        if (st != STORE_OK)
            goto out;
    }
document:
    st = store_plan_get(tenant_id, &out->plan);
    if (st != STORE_OK)
        goto out;
    st = (enum store_status)db_commit();
out:
    free(reason);
    PQclear(res);
    if (st != STORE_OK) {
        db_rollback();
        json_decref(out->plan);
        out->plan = NULL;
    }
    return st;
}

/* ---------- audit log ---------- */

enum store_status store_quota_event(const char *tenant_id, const char *event, const char *actor,
                                    const char *reason, bool *written)
{
    PGresult *res = NULL;
    const char *params[] = {tenant_id, event, actor, reason};
    *written = false;
    enum store_status st = exec_row(&stmt_quota_event, params, &res);
    if (st == STORE_OK && PQgetvalue(res, 0, 0)[0] != 't')
        st = STORE_NOT_FOUND;
    if (st == STORE_OK)
        *written = PQgetvalue(res, 0, 1)[0] == 't';
    PQclear(res);
    return st;
}

enum store_status store_audit_list(const char *tenant_id, long limit, json_t **out)
{
    char limit_text[24];
    snprintf(limit_text, sizeof limit_text, "%ld", limit);
    if (tenant_id) {
        const char *params[] = {tenant_id, limit_text};
        return exec_json(&stmt_audit_tenant, params, out);
    }
    const char *params[] = {limit_text};
    return exec_json(&stmt_audit_all, params, out);
}

/* ---------- the settings readers (migration 0008, settings_readers.c) ---------- */

#define LEASE_END "now() + $3::int * interval '1 millisecond'"

static const struct db_stmt stmt_reader_register = {
    "tenant_reader_register",
    "INSERT INTO settings_readers (reader_id, label, seen_seq, expires_at)"
    " VALUES ($1, $2, -1, " LEASE_END ")"
    " ON CONFLICT (reader_id) DO UPDATE"
    "   SET label = excluded.label, boot = now(), seen_seq = -1, expires_at = excluded.expires_at",
    3,
};

/* One snapshot: the counter and the rows changed after $1 (none when $1 is NULL). */
static const struct db_stmt stmt_reader_changes = {
    "tenant_reader_changes",
    "SELECT c.seq, s.tenant_id::text FROM settings_change_counter c"
    " LEFT JOIN LATERAL (SELECT tenant_id FROM tenant_settings"
    "                     WHERE $1::bigint IS NOT NULL AND change_seq > $1::bigint"
    "                     ORDER BY change_seq LIMIT $2::int) s ON true",
    2,
};

static const struct db_stmt stmt_reader_renew = {
    "tenant_reader_renew",
    "UPDATE settings_readers SET seen_seq = $2::bigint, expires_at = " LEASE_END
    " WHERE reader_id = $1 RETURNING 1",
    3,
};

static const struct db_stmt stmt_reader_remove = {
    "tenant_reader_remove",
    "DELETE FROM settings_readers WHERE reader_id = $1",
    1,
};

static const struct db_stmt stmt_readers_lagging = {
    "tenant_readers_lagging",
    "SELECT target_seq, lagging FROM settings_readers_lagging($1::bigint)",
    1,
};

static const struct db_stmt stmt_readers_evict = {
    "tenant_readers_evict",
    "WITH gone AS (DELETE FROM settings_readers WHERE seen_seq < $1::bigint RETURNING expires_at)"
    " SELECT coalesce(max(greatest(0, ceil(extract(epoch FROM expires_at - clock_timestamp())"
    "                                      * 1000))), 0)::bigint FROM gone",
    1,
};

enum store_status store_reader_register(const char *reader_id, const char *label, long lease_ms)
{
    char lease_text[24];
    snprintf(lease_text, sizeof lease_text, "%ld", lease_ms);
    const char *params[] = {reader_id, label, lease_text};
    return (enum store_status)db_exec(&stmt_reader_register, params, NULL);
}

enum store_status store_reader_changes(const long long *after, size_t max, long long *position,
                                       char (*ids)[UUID_STR_LEN], size_t *n)
{
    char after_text[24], max_text[24];
    PGresult *res = NULL;
    snprintf(after_text, sizeof after_text, "%lld", after ? *after : 0LL);
    snprintf(max_text, sizeof max_text, "%zu", max);
    const char *params[] = {after ? after_text : NULL, max_text};
    *n = 0;
    enum store_status st = exec_row(&stmt_reader_changes, params, &res);
    if (st != STORE_OK)
        goto out;
    *position = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    for (int r = 0; r < PQntuples(res) && *n < max; r++) {
        if (!PQgetisnull(res, r, 1) && uuid_is_valid(PQgetvalue(res, r, 1), ids[*n]))
            (*n)++;
    }
out:
    PQclear(res);
    return st == STORE_NOT_FOUND ? STORE_ERROR : st; /* the counter has its one row */
}

enum store_status store_reader_renew(const char *reader_id, long long seen, long lease_ms)
{
    char seen_text[24], lease_text[24];
    PGresult *res = NULL;
    snprintf(seen_text, sizeof seen_text, "%lld", seen);
    snprintf(lease_text, sizeof lease_text, "%ld", lease_ms);
    const char *params[] = {reader_id, seen_text, lease_text};
    enum store_status st = exec_row(&stmt_reader_renew, params, &res);
    PQclear(res);
    return st;
}

enum store_status store_reader_remove(const char *reader_id)
{
    const char *params[] = {reader_id};
    return (enum store_status)db_exec(&stmt_reader_remove, params, NULL);
}

enum store_status store_readers_lagging(const long long *target, long long *target_out,
                                        long *lagging)
{
    char target_text[24];
    PGresult *res = NULL;
    snprintf(target_text, sizeof target_text, "%lld", target ? *target : 0LL);
    const char *params[] = {target ? target_text : NULL};
    enum store_status st = exec_row(&stmt_readers_lagging, params, &res);
    if (st == STORE_OK) {
        *target_out = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        *lagging = strtol(PQgetvalue(res, 0, 1), NULL, 10);
    }
    PQclear(res);
    return st == STORE_NOT_FOUND ? STORE_ERROR : st;
}

enum store_status store_readers_evict(long long target, long *lease_left_ms)
{
    char target_text[24];
    PGresult *res = NULL;
    snprintf(target_text, sizeof target_text, "%lld", target);
    const char *params[] = {target_text};
    *lease_left_ms = 0;
    enum store_status st = exec_row(&stmt_readers_evict, params, &res);
    if (st == STORE_OK)
        *lease_left_ms = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return st == STORE_NOT_FOUND ? STORE_ERROR : st;
}

/* ---------- the console: sign-in links, sessions, its live stream (issue 22) ---------- */

/* Old links and sessions go when a link is made: both tables stay as small as the
 * console's use of the last day. */
static const struct db_stmt stmt_console_prune = {
    "tenant_console_prune",
    "WITH l AS (DELETE FROM sign_in_links WHERE expires_at < now() - interval '1 day')"
    " DELETE FROM console_sessions WHERE expires_at < now() - interval '1 day'",
    0,
};

/* No row: a user's tenant does not exist. */
static const struct db_stmt stmt_link_create = {
    "tenant_link_create",
    "INSERT INTO sign_in_links"
    "  (code_hash, sub, role, tenant_id, tenant_role, created_by, expires_at)"
    " SELECT decode($1, 'hex'), $2, $3, $4::uuid, $5, $6, now() + make_interval(secs => $7::int)"
    "  WHERE $4::uuid IS NULL OR EXISTS (SELECT 1 FROM tenants WHERE id = $4::uuid)"
    " RETURNING " ISO("expires_at"),
    7,
};

#define SESSION_COLUMNS                                                                            \
    "sub, role, coalesce(tenant_id::text, ''), coalesce(tenant_role, ''),"                         \
    " extract(epoch FROM expires_at)::bigint"

/* The link is used by this UPDATE, once: a second use waits for the row lock and then
 * finds used_at set. The session is opened in the same statement. */
static const struct db_stmt stmt_link_use = {
    "tenant_link_use",
    "WITH link AS (UPDATE sign_in_links SET used_at = now()"
    "               WHERE code_hash = decode($1, 'hex') AND used_at IS NULL"
    "                 AND expires_at > now()"
    "               RETURNING sub, role, tenant_id, tenant_role),"
    " s AS (INSERT INTO console_sessions"
    "         (id_hash, csrf_token, sub, role, tenant_id, tenant_role, expires_at)"
    "       SELECT decode($2, 'hex'), $3, sub, role, tenant_id, tenant_role,"
    "              now() + make_interval(secs => $4::int) FROM link"
    "       RETURNING *)"
    " SELECT " SESSION_COLUMNS " FROM s",
    4,
};

static const struct db_stmt stmt_link_state = {
    "tenant_link_state",
    "SELECT CASE WHEN used_at IS NOT NULL THEN 'used' ELSE 'expired' END"
    " FROM sign_in_links WHERE code_hash = decode($1, 'hex')",
    1,
};

/* A session for a bearer token's holder, ending with the token at the latest. No row: a
 * user's tenant does not exist. */
static const struct db_stmt stmt_session_open = {
    "tenant_session_open",
    "INSERT INTO console_sessions"
    "  (id_hash, csrf_token, sub, role, tenant_id, tenant_role, expires_at)"
    " SELECT decode($1, 'hex'), $2, $3, $4, $5::uuid, nullif($6, ''),"
    "        least(now() + make_interval(secs => $7::int), to_timestamp($8::bigint))"
    "  WHERE $5::uuid IS NULL OR EXISTS (SELECT 1 FROM tenants WHERE id = $5::uuid)"
    " RETURNING " SESSION_COLUMNS,
    8,
};

static const struct db_stmt stmt_session_get = {
    "tenant_session_get",
    "SELECT csrf_token, " SESSION_COLUMNS " FROM console_sessions"
    " WHERE id_hash = decode($1, 'hex') AND expires_at > now()",
    1,
};

static const struct db_stmt stmt_session_close = {
    "tenant_session_close",
    "DELETE FROM console_sessions WHERE id_hash = decode($1, 'hex')",
    1,
};

/* What the console's stream announces after (settings seq $1, audit id $2). */
static const struct db_stmt stmt_console_events = {
    "tenant_console_events",
    "SELECT json_build_object('position', c.seq, 'epoch', c.epoch,"
    "  'audit_max', greatest((SELECT coalesce(max(id), 0) FROM whatsapp_assignment_audit),"
    "                        (SELECT coalesce(max(id), 0) FROM whatsapp_account_changes)),"
    "  'settings', coalesce((SELECT json_agg(json_build_object('tenant_id', x.tenant_id,"
    "       'seq', x.change_seq) ORDER BY x.change_seq)"
    "     FROM (SELECT tenant_id, change_seq FROM tenant_settings WHERE change_seq > $1::bigint"
    "           ORDER BY change_seq LIMIT 500) x), '[]'),"
    "  'audit', coalesce((SELECT json_agg(json_build_object('id', y.id,"
    "       'tenant_id', y.tenant_id, 'action', y.action) ORDER BY y.id)"
    "     FROM (SELECT id, tenant_id, action FROM whatsapp_assignment_audit WHERE id > $2::bigint"
    "           ORDER BY id LIMIT 500) y), '[]'),"
    "  'account', coalesce((SELECT json_agg(jsonb_build_object('id', z.id, 'kind', z.kind)"
    "       || z.detail ORDER BY z.id)"
    "     FROM (SELECT id, kind, detail FROM whatsapp_account_changes WHERE id > $2::bigint"
    "           ORDER BY id LIMIT 500) z), '[]'))::text"
    " FROM settings_change_counter c",
    2,
};

/* Ids share the audit log's sequence (migration 0009): the stream's audit position covers
 * them. Rows older than a day are of no stream's use any more. */
static const struct db_stmt stmt_account_change = {
    "tenant_account_change",
    "WITH old AS (DELETE FROM whatsapp_account_changes"
    "             WHERE created_at < now() - interval '1 day')"
    " INSERT INTO whatsapp_account_changes (kind, detail) VALUES ($1, $2::jsonb) RETURNING id",
    2,
};

/* Fills who from the SESSION_COLUMNS starting at column col of res's first row. */
static enum store_status identity_from(const PGresult *res, int col, struct auth_principal *who)
{
    memset(who, 0, sizeof(*who));
    snprintf(who->sub, sizeof who->sub, "%s", PQgetvalue(res, 0, col));
    if (!auth_role_parse(PQgetvalue(res, 0, col + 1), &who->role))
        return STORE_ERROR;
    snprintf(who->tenant_id, sizeof who->tenant_id, "%s", PQgetvalue(res, 0, col + 2));
    const char *tr = PQgetvalue(res, 0, col + 3);
    if (*tr && !auth_tenant_role_parse(tr, &who->tenant_role))
        return STORE_ERROR;
    who->exp = strtol(PQgetvalue(res, 0, col + 4), NULL, 10);
    return STORE_OK;
}

enum store_status store_link_create(const char *code_hash, const struct auth_principal *who,
                                    const char *created_by, long ttl, char **expires_at)
{
    PGresult *res = NULL;
    char ttl_text[24];
    snprintf(ttl_text, sizeof ttl_text, "%ld", ttl);
    bool user = who->role == AUTH_ROLE_USER;
    const char *params[] = {code_hash,
                            who->sub,
                            auth_role_name(who->role),
                            user ? who->tenant_id : NULL,
                            user ? auth_tenant_role_name(who->tenant_role) : NULL,
                            created_by,
                            ttl_text};
    *expires_at = NULL;
    enum store_status st = (enum store_status)db_exec(&stmt_console_prune, NULL, NULL);
    if (st == STORE_OK)
        st = exec_row(&stmt_link_create, params, &res);
    if (st == STORE_OK)
        *expires_at = xstrdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    return st;
}

enum store_status store_link_use(const char *code_hash, const char *session_hash, const char *csrf,
                                 long ttl, struct auth_principal *who, const char **why)
{
    PGresult *res = NULL;
    char ttl_text[24];
    snprintf(ttl_text, sizeof ttl_text, "%ld", ttl);
    const char *params[] = {code_hash, session_hash, csrf, ttl_text};
    *why = NULL;
    enum store_status st = exec_row(&stmt_link_use, params, &res);
    if (st == STORE_OK)
        st = identity_from(res, 0, who);
    PQclear(res);
    res = NULL;
    if (st == STORE_NOT_FOUND) {
        const char *code[] = {code_hash};
        enum store_status seen = exec_row(&stmt_link_state, code, &res);
        *why = seen != STORE_OK                             ? "unknown"
               : strcmp(PQgetvalue(res, 0, 0), "used") == 0 ? "used"
                                                            : "expired";
        if (seen != STORE_OK && seen != STORE_NOT_FOUND)
            st = seen;
        PQclear(res);
    }
    return st;
}

enum store_status store_session_open(const char *session_hash, const char *csrf,
                                     const struct auth_principal *who, long ttl, long *expires)
{
    PGresult *res = NULL;
    char ttl_text[24], exp_text[24];
    snprintf(ttl_text, sizeof ttl_text, "%ld", ttl);
    snprintf(exp_text, sizeof exp_text, "%ld", who->exp);
    bool user = who->role == AUTH_ROLE_USER;
    const char *params[] = {session_hash,
                            csrf,
                            who->sub,
                            auth_role_name(who->role),
                            user ? who->tenant_id : NULL,
                            user ? auth_tenant_role_name(who->tenant_role) : "",
                            ttl_text,
                            exp_text};
    struct auth_principal opened;
    enum store_status st = exec_row(&stmt_session_open, params, &res);
    if (st == STORE_OK)
        st = identity_from(res, 0, &opened);
    if (st == STORE_OK)
        *expires = opened.exp;
    PQclear(res);
    return st;
}

enum store_status store_session_get(const char *session_hash, struct auth_principal *who,
                                    char *csrf, size_t csrf_size)
{
    PGresult *res = NULL;
    const char *params[] = {session_hash};
    enum store_status st = exec_row(&stmt_session_get, params, &res);
    if (st == STORE_OK) {
        snprintf(csrf, csrf_size, "%s", PQgetvalue(res, 0, 0));
        st = identity_from(res, 1, who);
    }
    PQclear(res);
    return st;
}

enum store_status store_session_close(const char *session_hash)
{
    const char *params[] = {session_hash};
    return (enum store_status)db_exec(&stmt_session_close, params, NULL);
}

enum store_status store_account_change(const char *kind, const json_t *detail, long long *id)
{
    PGresult *res = NULL;
    char *text = json_dumps(detail, JSON_COMPACT);
    const char *params[] = {kind, text};
    *id = 0;
    enum store_status st = exec_row(&stmt_account_change, params, &res);
    if (st == STORE_OK)
        *id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    free(text);
    return st;
}

enum store_status store_console_events(long long after_seq, long long after_audit, json_t **out)
{
    char seq_text[24], audit_text[24];
    snprintf(seq_text, sizeof seq_text, "%lld", after_seq);
    snprintf(audit_text, sizeof audit_text, "%lld", after_audit);
    const char *params[] = {seq_text, audit_text};
    return exec_json(&stmt_console_events, params, out);
}
