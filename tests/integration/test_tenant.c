/* test_tenant.c - tenant-service on its own (notification-service at a dead port): tenants,
 * notification settings with every role and every kind of bad input, the admin endpoints
 * that need no WABA, what the WABA-backed ones answer when notification-service is down,
 * the static pages with path traversal attempts, and 503 when the database goes away.
 * The WABA-backed endpoints with a live notification-service are in
 * test_tenant_whatsapp.c. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "alloc.h"
#include "auth.h"
#include "harness.h"
#include "harness_tenant.h"

#define SECRET_TEXT "top-secret-outside-the-static-dir"

static struct {
    char db_url[256];
    char static_parent[200]; /* holds static_dir and a secret beside it */
    char static_dir[256];
    char outside_file[300];
    struct h_proc ts;
    char a[HT_ID_LEN]; /* tenant A: the one the user tokens belong to */
    char b[HT_ID_LEN]; /* tenant B: another bakery */
    char *owner, *tadmin, *member, *viewer, *other_owner;
    char *expired, *wrong_secret;
} t;

static const char garbage[] = "not.a.jwt";

/* ---------- setup ---------- */

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* A frontend-static/ look-alike, with a secret next to it and a link leading to it. */
static void make_static_dir(void)
{
    char cwd[160];
    assert_non_null(getcwd(cwd, sizeof cwd));
    snprintf(t.static_parent, sizeof t.static_parent, "%s/.run/test-static-%d", cwd, (int)getpid());
    snprintf(t.static_dir, sizeof t.static_dir, "%s/www", t.static_parent);
    mkdir(t.static_parent, 0755);
    mkdir(t.static_dir, 0755);
    write_file(t.static_parent, "secret.txt", SECRET_TEXT);
    snprintf(t.outside_file, sizeof t.outside_file, "%s/secret.txt", t.static_parent);
    write_file(t.static_dir, "admin-whatsapp.html", "<!doctype html><title>admin</title>");
    write_file(t.static_dir, "settings-notifications.html", "<!doctype html><title>card</title>");
    write_file(t.static_dir, "favicon.ico", "ico");
    write_file(t.static_dir, "manifest.json", "{}");
    write_file(t.static_dir, "notes.exe", "MZ");
    write_file(t.static_dir, ".env", "SECRET=1");
    char sub[300];
    static const char *const dirs[] = {"css", "js", "img"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(sub, sizeof sub, "%s/%s", t.static_dir, dirs[i]);
        mkdir(sub, 0755);
    }
    snprintf(sub, sizeof sub, "%s/css", t.static_dir);
    write_file(sub, "app.css", "body{color:#333}");
    snprintf(sub, sizeof sub, "%s/js", t.static_dir);
    write_file(sub, "admin.js", "export const x = 1;");
    snprintf(sub, sizeof sub, "%s/img", t.static_dir);
    write_file(sub, "logo.svg", "<svg xmlns=\"http://www.w3.org/2000/svg\"/>");
    write_file(sub, "dot.png", "\x89PNG");
    char link[300];
    snprintf(link, sizeof link, "%s/leak.txt", t.static_dir);
    unlink(link);
    assert_int_equal(symlink(t.outside_file, link), 0);
    snprintf(link, sizeof link, "%s/style.css", t.static_dir);
    unlink(link);
    assert_int_equal(symlink("css/app.css", link), 0);
}

static int setup(void **state)
{
    (void)state;
    if (!h_fresh_database("it_tenant", t.db_url, sizeof t.db_url))
        return -1;
    make_static_dir();
    if (!ht_start_tenant(&t.ts, t.db_url, ht_dead_url(), t.static_dir, NULL))
        return -1;
    ht_create_tenant(&t.ts, "Panadería San Juan", t.a);
    ht_create_tenant(&t.ts, "Obrador Txuri", t.b);
    t.owner = ht_user(t.a, "owner");
    t.tadmin = ht_user(t.a, "admin");
    t.member = ht_user(t.a, "member");
    t.viewer = ht_user(t.a, "viewer");
    t.other_owner = ht_user(t.b, "owner");
    t.expired = h_token("admin", NULL, NULL, "platform-admin", -60);
    struct auth_principal p;
    memset(&p, 0, sizeof p);
    p.role = AUTH_ROLE_ADMIN;
    snprintf(p.sub, sizeof p.sub, "intruder");
    t.wrong_secret =
        auth_mint(&(struct auth_policy){.secret = "another-secret-entirely"}, &p, 3600);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    int rc = h_stop(&t.ts);
    char *rm = xasprintf("rm -rf '%s'", t.static_parent);
    if (system(rm) != 0)
        rc = -1;
    free(rm);
    free(t.owner);
    free(t.tadmin);
    free(t.member);
    free(t.viewer);
    free(t.other_owner);
    free(t.expired);
    free(t.wrong_secret);
    return rc == 0 ? 0 : -1;
}

/* ---------- helpers ---------- */

static struct h_resp call(const char *method, const char *path, const char *token, const char *body)
{
    return ht_call(&t.ts, method, path, token, body);
}

struct role_case {
    const char *who;
    const char *token;
    long status;
    const char *code; /* NULL: a success status */
};

/* Runs method path (with body) once per case and checks status and error code. */
static void expect_roles(const char *method, const char *path, const char *body,
                         const struct role_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct h_resp r = call(method, path, cases[i].token, body);
        if (r.status != cases[i].status)
            fprintf(stderr, "%s %s as %s: expected %ld, got %ld %s\n", method, path, cases[i].who,
                    cases[i].status, r.status, r.body);
        if (cases[i].code)
            h_assert_error(&r, cases[i].status, cases[i].code);
        else
            assert_int_equal(r.status, cases[i].status);
        h_resp_free(&r);
    }
}

/* The cases every authenticated endpoint shares: no, expired, garbage, forged token. */
static void expect_401s(const char *method, const char *path, const char *body)
{
    const struct role_case cases[] = {
        {"nobody", NULL, 401, "unauthorized"},
        {"expired", t.expired, 401, "token_expired"},
        {"garbage", garbage, 401, "invalid_token"},
        {"forged", t.wrong_secret, 401, "invalid_token"},
    };
    expect_roles(method, path, body, cases, sizeof cases / sizeof cases[0]);
}

/* GET path (a document of tenant A) is for the platform admin, services and A's users of
 * every tenant role; never for another tenant's user, nor without a valid token. */
static void expect_tenant_readers(const char *path)
{
    const struct role_case read[] = {
        {"platform admin", ht_admin(), 200, NULL},
        {"service", ht_service(), 200, NULL},
        {"owner", t.owner, 200, NULL},
        {"tenant admin", t.tadmin, 200, NULL},
        {"member", t.member, 200, NULL},
        {"viewer", t.viewer, 200, NULL},
        {"other tenant's owner", t.other_owner, 403, "forbidden"},
    };
    expect_roles("GET", path, NULL, read, sizeof read / sizeof read[0]);
    expect_401s("GET", path, NULL);
}

static char *path_of(const char *fmt, const char *id)
{
    return xasprintf(fmt, id);
}

struct field_case {
    const char *body;
    const char *field; /* the "field" the 422 must name */
};

/* Sends each body with method to path as token; each must be 422 validation_error
 * naming its field, in "field" and in the message. */
static void expect_field_errors(const char *method, const char *path, const char *token,
                                const struct field_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct h_resp r = call(method, path, token, cases[i].body);
        if (r.status != 422)
            fprintf(stderr, "body %s\n", cases[i].body);
        h_assert_error(&r, 422, "validation_error");
        assert_string_equal(ht_str(&r, "field"), cases[i].field);
        assert_non_null(strstr(ht_str(&r, "message"), cases[i].field));
        h_resp_free(&r);
    }
}

/* The tenant's settings as the admin reads them (a new reference). */
static json_t *settings_of(const char *id)
{
    char *path = path_of("/api/v1/tenants/%s/settings/notifications", id);
    struct h_resp r = call("GET", path, ht_admin(), NULL);
    assert_int_equal(r.status, 200);
    json_t *s = json_incref(r.json);
    h_resp_free(&r);
    free(path);
    return s;
}

/* ---------- tenants ---------- */

static void tenants_create_list_get(void **state)
{
    (void)state;
    char id[HT_ID_LEN];
    ht_create_tenant(&t.ts, "  Confitería Sarasola  ", id);

    char *path = path_of("/api/v1/tenants/%s", id);
    struct h_resp r = call("GET", path, ht_admin(), NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(ht_str(&r, "id"), id);
    assert_string_equal(ht_str(&r, "name"), "Confitería Sarasola"); /* trimmed */
    assert_int_equal(strlen(ht_str(&r, "created_at")), 24);         /* 2026-01-01T00:00:00.000Z */
    assert_non_null(json_object_get(r.json, "updated_at"));
    h_resp_free(&r);

    /* created with the default settings, in the same transaction */
    json_t *s = settings_of(id);
    json_t *defaults = json_loads(
        "{\"whatsapp_enabled\": false, \"whatsapp_phone_number_id\": \"\","
        " \"whatsapp_display_phone_number\": \"\", \"whatsapp_default_language\": \"es\","
        " \"email_enabled\": true, \"email_from_address\": \"\", \"email_from_name\": \"\","
        " \"email_reply_to\": \"\", \"enable_po_notifications\": true,"
        " \"enable_inventory_alerts\": true, \"enable_production_alerts\": true,"
        " \"enable_forecast_alerts\": true, \"po_notification_channels\": [\"email\"],"
        " \"inventory_alert_channels\": [\"email\"], \"production_alert_channels\": [\"email\"],"
        " \"forecast_alert_channels\": [\"email\"],"
        " \"plan\": \"standard\", \"whatsapp_monthly_quota\": 500}", /* PLAN_DEFAULT's */
        0, NULL);
    assert_true(json_equal(s, defaults));
    json_decref(defaults);
    json_decref(s);

    /* the list is ordered by name */
    r = call("GET", "/api/v1/tenants", ht_admin(), NULL);
    assert_int_equal(r.status, 200);
    assert_true(json_is_array(r.json));
    assert_true(json_array_size(r.json) >= 3);
    const char *prev = "";
    size_t i;
    json_t *item;
    bool found = false;
    json_array_foreach (r.json, i, item) {
        const char *name = json_string_value(json_object_get(item, "name"));
        assert_true(strcmp(prev, name) <= 0);
        prev = name;
        found = found || strcmp(json_string_value(json_object_get(item, "id")), id) == 0;
    }
    assert_true(found);
    h_resp_free(&r);

    /* SQL is just text */
    const char *sqlish = "Robert'); DROP TABLE tenants;--";
    char id2[HT_ID_LEN];
    ht_create_tenant(&t.ts, sqlish, id2);
    char *path2 = path_of("/api/v1/tenants/%s", id2);
    r = call("GET", path2, ht_admin(), NULL);
    assert_string_equal(ht_str(&r, "name"), sqlish);
    h_resp_free(&r);
    char *count = h_sql(t.db_url, "SELECT count(*) >= 4 FROM tenants");
    assert_string_equal(count, "t");
    free(count);

    /* two bakeries may share a name */
    char id3[HT_ID_LEN];
    ht_create_tenant(&t.ts, sqlish, id3);
    assert_string_not_equal(id2, id3);
    free(path);
    free(path2);
}

static void tenant_create_rejects_bad_input(void **state)
{
    (void)state;
    static const struct field_case cases[] = {
        {"{}", "name"},
        {"{\"name\": null}", "name"},
        {"{\"name\": 42}", "name"},
        {"{\"name\": \"   \"}", "name"},
        {"{\"name\": \"tab\\tinside\"}", "name"},
        {"{\"name\": \"line\\nbreak\"}", "name"},
        {"{\"name\": \"ok\", \"plan\": \"gold\"}", "plan"},
    };
    expect_field_errors("POST", "/api/v1/tenants", ht_admin(), cases,
                        sizeof cases / sizeof cases[0]);

    /* 200 characters are fine, 201 are not (characters, not bytes) */
    struct buf name = {0};
    for (int i = 0; i < 200; i++)
        buf_append_str(&name, "ñ");
    char *body = xasprintf("{\"name\": \"%s\"}", name.data);
    struct h_resp r = call("POST", "/api/v1/tenants", ht_admin(), body);
    assert_int_equal(r.status, 201);
    h_resp_free(&r);
    free(body);
    body = xasprintf("{\"name\": \"%sx\"}", name.data);
    r = call("POST", "/api/v1/tenants", ht_admin(), body);
    h_assert_error(&r, 422, "validation_error");
    h_resp_free(&r);
    free(body);
    buf_free(&name);

    r = call("POST", "/api/v1/tenants", ht_admin(), "{\"name\": ");
    h_assert_error(&r, 400, "malformed_json");
    h_resp_free(&r);
    r = call("POST", "/api/v1/tenants", ht_admin(), "[\"name\"]");
    h_assert_error(&r, 422, "invalid_body");
    h_resp_free(&r);
    r = call("POST", "/api/v1/tenants", ht_admin(), "{\"name\": \"\\u0000\"}");
    h_assert_error(&r, 400, "malformed_json");
    h_resp_free(&r);

    char *url = h_url(t.ts.url, "/api/v1/tenants");
    r = h_http("POST", url, ht_admin(), "text/plain", "name=x", 6);
    h_assert_error(&r, 415, "unsupported_media_type");
    h_resp_free(&r);
    r = h_http("POST", url, ht_admin(), NULL, "{\"name\":\"x\"}", 12);
    h_assert_error(&r, 415, "unsupported_media_type");
    h_resp_free(&r);
    size_t big = 1024 * 1024;
    char *mib = xmalloc(big);
    memset(mib, ' ', big);
    memcpy(mib, "{\"name\": \"x\"}", 13);
    r = h_http("POST", url, ht_admin(), "application/json", mib, big);
    h_assert_error(&r, 413, "payload_too_large");
    h_resp_free(&r);
    free(mib);
    free(url);
}

/* Bidi controls and zero-width characters would let a name show as another in the admin
 * list ("Pan\u200b\u202eadería" reads reversed after the override): refused like the
 * control characters, in every encoding JSON allows (escapes and raw UTF-8). */
static void tenant_names_refuse_invisible_and_bidi_characters(void **state)
{
    (void)state;
    static const struct field_case cases[] = {
        {"{\"name\": \"Pan\\u200b\\u202eader\\u00eda\"}", "name"},
        {"{\"name\": \"Pan\xe2\x80\x8b\xe2\x80\xae"
         "adería\"}",
         "name"},
        {"{\"name\": \"A\\u202aB\"}", "name"},
        {"{\"name\": \"A\\u202bB\"}", "name"},
        {"{\"name\": \"A\\u202cB\"}", "name"},
        {"{\"name\": \"A\\u202dB\"}", "name"},
        {"{\"name\": \"A\\u202eB\"}", "name"},
        {"{\"name\": \"A\\u2066B\"}", "name"},
        {"{\"name\": \"A\\u2067B\"}", "name"},
        {"{\"name\": \"A\\u2068B\"}", "name"},
        {"{\"name\": \"A\\u2069B\"}", "name"},
        {"{\"name\": \"A\\u200bB\"}", "name"},
        {"{\"name\": \"A\\u200cB\"}", "name"},
        {"{\"name\": \"A\\u200dB\"}", "name"},
        {"{\"name\": \"A\\u2060B\"}", "name"},
        {"{\"name\": \"\\ufeffPanader\\u00eda\"}", "name"},
        {"{\"name\": \"Panader\\u00eda\\u200b\"}", "name"},
    };
    expect_field_errors("POST", "/api/v1/tenants", ht_admin(), cases,
                        sizeof cases / sizeof cases[0]);
    struct h_resp r = call("POST", "/api/v1/tenants", ht_admin(),
                           "{\"name\": \"Pan\\u200b\\u202eader\\u00eda\"}");
    const char *message = json_string_value(json_object_get(r.json, "message"));
    assert_non_null(message);
    assert_non_null(strstr(message, "invisible"));
    h_resp_free(&r);

    /* Letters of every script, accents and the neighbours of the refused ranges pass:
     * U+2010 (hyphen), U+2030 (per mille), U+2070 (superscript zero). */
    static const char *const fine[] = {
        "{\"name\": \"Panadería Arrieta\"}",
        "{\"name\": \"Okindegi \\u2010 Gozotegia \\u2030 \\u2070\"}",
        "{\"name\": \"\\u062e\\u0628\\u0627\\u0632 \\u05de\\u05d0\\u05e4\\u05d9\\u05d9\\u05d4\"}",
        "{\"name\": \"\\u9eb5\\u5305\\u5e97 \\ud83e\\udd56\"}",
    };
    for (size_t i = 0; i < sizeof fine / sizeof fine[0]; i++) {
        r = call("POST", "/api/v1/tenants", ht_admin(), fine[i]);
        if (r.status != 201)
            fail_msg("%s: %ld %s", fine[i], r.status, r.body);
        h_resp_free(&r);
    }
}

/* JWT_ISSUER, JWT_AUDIENCE and JWT_MAX_TTL_SECONDS set: a token meeting them is taken,
 * wrong iss or aud, too long a lifetime and a future nbf are 401 invalid_token; so are
 * this suite's ordinary tokens, which carry neither iss nor aud. mint-token keeps to them. */
static void token_policy_is_enforced(void **state)
{
    (void)state;
    struct h_proc p;
    const char *const env[] = {H_POLICY_ENV, NULL};
    assert_true(ht_start_tenant(&p, t.db_url, ht_dead_url(), NULL, env));
    h_assert_token_policy(p.url, "/api/v1/tenants");
    struct h_resp r = ht_call(&p, "GET", "/api/v1/tenants", ht_admin(), NULL);
    h_assert_error(&r, 401, "invalid_token");
    h_resp_free(&r);

    /* mint-token reads the same variables: its token is taken, and it will not mint one
     * the services would refuse. */
    const char *bin = getenv("BIN_DIR") ? getenv("BIN_DIR") : "build/asan";
    char line[2048] = "";
    char *cmd = xasprintf("env JWT_SECRET=%s %s %s %s %s/mint-token --role admin --ttl 600",
                          H_JWT_SECRET, env[0], env[1], env[2], bin);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof line, f));
    assert_int_equal(pclose(f), 0);
    line[strcspn(line, "\n")] = '\0';
    r = ht_call(&p, "GET", "/api/v1/tenants", line, NULL);
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    free(cmd);
    cmd = xasprintf("env JWT_SECRET=%s %s %s %s %s/mint-token --role admin --ttl %ld 2>&1",
                    H_JWT_SECRET, env[0], env[1], env[2], bin, H_MAX_TTL + 1);
    f = popen(cmd, "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof line, f));
    assert_int_not_equal(pclose(f), 0);
    assert_non_null(strstr(line, "longer than JWT_MAX_TTL_SECONDS"));
    free(cmd);
    assert_int_equal(h_stop(&p), 0);
}

static void tenant_rights_by_role(void **state)
{
    (void)state;
    const struct role_case create[] = {
        {"owner", t.owner, 403, "forbidden"},
        {"service", ht_service(), 403, "forbidden"},
        {"member", t.member, 403, "forbidden"},
    };
    expect_roles("POST", "/api/v1/tenants", "{\"name\": \"Sneaky\"}", create, 3);
    expect_401s("POST", "/api/v1/tenants", "{\"name\": \"Sneaky\"}");
    expect_roles("GET", "/api/v1/tenants", NULL, create, 3);
    expect_401s("GET", "/api/v1/tenants", NULL);

    char *path = path_of("/api/v1/tenants/%s", t.a);
    expect_tenant_readers(path);
    free(path);
}

/* ---------- settings ---------- */

static void settings_read_rights(void **state)
{
    (void)state;
    char *path = path_of("/api/v1/tenants/%s/settings/notifications", t.a);
    expect_tenant_readers(path);

    /* the contract with notification-service: the bare object, 404 tenant_not_found */
    struct h_resp r = call("GET", path, ht_service(), NULL);
    assert_true(json_is_object(r.json));
    assert_null(json_object_get(r.json, "success"));
    assert_true(json_is_string(json_object_get(r.json, "whatsapp_phone_number_id")));
    h_resp_free(&r);
    r = call("GET", "/api/v1/tenants/00000000-0000-4000-8000-000000000000/settings/notifications",
             ht_service(), NULL);
    h_assert_error(&r, 404, "tenant_not_found");
    h_resp_free(&r);
    free(path);
}

static void settings_write_rights(void **state)
{
    (void)state;
    char *path = path_of("/api/v1/tenants/%s/settings/notifications", t.a);
    const struct role_case write[] = {
        {"platform admin", ht_admin(), 200, NULL},
        {"owner", t.owner, 200, NULL},
        {"tenant admin", t.tadmin, 200, NULL},
        {"member", t.member, 403, "forbidden"},
        {"viewer", t.viewer, 403, "forbidden"},
        {"other tenant's owner", t.other_owner, 403, "forbidden"},
        {"service", ht_service(), 403, "forbidden"},
    };
    expect_roles("PUT", path, "{\"email_from_name\": \"Obrador\"}", write,
                 sizeof write / sizeof write[0]);
    expect_401s("PUT", path, "{\"email_from_name\": \"Obrador\"}");
    free(path);
}

static void settings_update_merges(void **state)
{
    (void)state;
    char id[HT_ID_LEN];
    ht_create_tenant(&t.ts, "Panadería Goiko", id);
    char *owner = ht_user(id, "owner");
    char *path = path_of("/api/v1/tenants/%s/settings/notifications", id);
    json_t *before = settings_of(id);

    const char *change = "{\"whatsapp_enabled\": true, \"whatsapp_default_language\": \"eu\","
                         " \"email_from_address\": \"obrador@goiko.eus\","
                         " \"email_from_name\": \"x'); DELETE FROM tenant_settings; --\","
                         " \"email_reply_to\": \"\","
                         " \"po_notification_channels\": [\"email\", \"whatsapp\"],"
                         " \"forecast_alert_channels\": [],"
                         " \"enable_inventory_alerts\": false}";
    struct h_resp r = call("PUT", path, owner, change);
    assert_int_equal(r.status, 200);
    json_t *expected = json_deep_copy(before);
    json_t *patch = json_loads(change, 0, NULL);
    json_object_update(expected, patch);
    assert_true(json_equal(r.json, expected)); /* the whole new object */
    h_resp_free(&r);

    json_t *now = settings_of(id);
    assert_true(json_equal(now, expected));
    json_decref(now);

    /* {} changes nothing and answers the whole object */
    r = call("PUT", path, owner, "{}");
    assert_int_equal(r.status, 200);
    assert_true(json_equal(r.json, expected));
    h_resp_free(&r);

    /* a body with one bad key changes nothing at all */
    r = call("PUT", path, owner,
             "{\"email_enabled\": false, \"whatsapp_default_language\": \"fr\"}");
    h_assert_error(&r, 422, "validation_error");
    h_resp_free(&r);
    now = settings_of(id);
    assert_true(json_equal(now, expected));
    json_decref(now);

    json_decref(patch);
    json_decref(expected);
    json_decref(before);
    free(path);
    free(owner);
}

static void settings_validation_names_the_field(void **state)
{
    (void)state;
    static const struct field_case cases[] = {
        {"{\"whatsapp_enabled\": \"yes\"}", "whatsapp_enabled"},
        {"{\"whatsapp_enabled\": 1}", "whatsapp_enabled"},
        {"{\"whatsapp_enabled\": null}", "whatsapp_enabled"},
        {"{\"email_enabled\": \"false\"}", "email_enabled"},
        {"{\"enable_forecast_alerts\": []}", "enable_forecast_alerts"},
        {"{\"whatsapp_default_language\": \"fr\"}", "whatsapp_default_language"},
        {"{\"whatsapp_default_language\": \"ES\"}", "whatsapp_default_language"},
        {"{\"whatsapp_default_language\": \"es_ES\"}", "whatsapp_default_language"},
        {"{\"whatsapp_default_language\": 1}", "whatsapp_default_language"},
        {"{\"po_notification_channels\": [\"sms\"]}", "po_notification_channels"},
        {"{\"po_notification_channels\": [\"email\", \"email\"]}", "po_notification_channels"},
        {"{\"inventory_alert_channels\": \"email\"}", "inventory_alert_channels"},
        {"{\"production_alert_channels\": [1]}", "production_alert_channels"},
        {"{\"forecast_alert_channels\": null}", "forecast_alert_channels"},
        {"{\"email_from_address\": \"not-an-address\"}", "email_from_address"},
        {"{\"email_from_address\": \"a@b\"}", "email_from_address"},
        {"{\"email_from_address\": \"a b@c.es\"}", "email_from_address"},
        {"{\"email_from_address\": \"a@@c.es\"}", "email_from_address"},
        {"{\"email_from_address\": \"a..b@c.es\"}", "email_from_address"},
        {"{\"email_reply_to\": \"x@-c.es\"}", "email_reply_to"},
        {"{\"email_reply_to\": \"x@c.es\\r\\nBcc: all@evil.es\"}", "email_reply_to"},
        {"{\"email_from_name\": \"Obrador\\r\\nBcc: all@evil.es\"}", "email_from_name"},
        {"{\"email_from_name\": 7}", "email_from_name"},
        {"{\"whatsapp_access_token\": \"EAAx\"}", "whatsapp_access_token"},
        {"{\"whatsapp_business_account_id\": \"1\"}", "whatsapp_business_account_id"},
        {"{\"whatsapp_api_version\": \"v18.0\"}", "whatsapp_api_version"},
        {"{\"sms_enabled\": true}", "sms_enabled"},
        {"{\"email_enabled\": true, \"favourite_colour\": \"red\"}", "favourite_colour"},
    };
    char *path = path_of("/api/v1/tenants/%s/settings/notifications", t.a);
    expect_field_errors("PUT", path, t.owner, cases, sizeof cases / sizeof cases[0]);

    struct buf long_name = {0};
    for (int i = 0; i < 101; i++)
        buf_append_str(&long_name, "é");
    char *body = xasprintf("{\"email_from_name\": \"%s\"}", long_name.data);
    struct h_resp r = call("PUT", path, t.owner, body);
    h_assert_error(&r, 422, "validation_error");
    assert_string_equal(ht_str(&r, "field"), "email_from_name");
    h_resp_free(&r);
    free(body);
    buf_free(&long_name);

    /* the valid edge cases pass */
    r = call("PUT", path, t.owner,
             "{\"email_from_address\": \"pedidos+po@panaderia-san-juan.es\","
             " \"email_reply_to\": \"o'brien@horno.example.com\", \"forecast_alert_channels\": "
             "[\"whatsapp\", \"email\"], \"whatsapp_default_language\": \"en\"}");
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    free(path);
}

static void settings_phone_keys_belong_to_admin(void **state)
{
    (void)state;
    char *path = path_of("/api/v1/tenants/%s/settings/notifications", t.a);
    const char *bodies[] = {
        "{\"whatsapp_phone_number_id\": \"109876543210001\"}",
        "{\"whatsapp_display_phone_number\": \"+34 612 345 678\"}",
        "{\"whatsapp_enabled\": true, \"whatsapp_phone_number_id\": \"\"}",
        "{\"whatsapp_phone_number_id\": null}",
    };
    const char *tokens[] = {t.owner, t.tadmin, ht_admin()};
    for (size_t b = 0; b < 4; b++) {
        for (size_t k = 0; k < 3; k++) {
            struct h_resp r = call("PUT", path, tokens[k], bodies[b]);
            h_assert_error(&r, 403, "phone_assigned_by_admin");
            h_resp_free(&r);
        }
    }
    /* a member is refused for what they are, before what they ask */
    struct h_resp r = call("PUT", path, t.member, bodies[0]);
    h_assert_error(&r, 403, "forbidden");
    h_resp_free(&r);
    json_t *s = settings_of(t.a);
    assert_string_equal(json_string_value(json_object_get(s, "whatsapp_phone_number_id")), "");
    assert_false(json_is_true(json_object_get(s, "whatsapp_enabled")));
    json_decref(s);
    free(path);
}

static void settings_bad_bodies(void **state)
{
    (void)state;
    char *path = path_of("/api/v1/tenants/%s/settings/notifications", t.a);
    char *url = h_url(t.ts.url, "%s", path);
    struct h_resp r = call("PUT", path, t.owner, "{\"whatsapp_enabled\": tru");
    h_assert_error(&r, 400, "malformed_json");
    h_resp_free(&r);
    r = call("PUT", path, t.owner, "{\"a\": 1, \"a\": 2}");
    h_assert_error(&r, 400, "malformed_json");
    h_resp_free(&r);
    r = call("PUT", path, t.owner, "\xff\xfe{}");
    h_assert_error(&r, 400, "malformed_json");
    h_resp_free(&r);
    r = call("PUT", path, t.owner, "");
    h_assert_error(&r, 400, "malformed_json");
    h_resp_free(&r);
    r = call("PUT", path, t.owner, "true");
    h_assert_error(&r, 400, "malformed_json"); /* only objects and arrays are documents */
    h_resp_free(&r);
    r = call("PUT", path, t.owner, "[{\"whatsapp_enabled\": true}]");
    h_assert_error(&r, 422, "invalid_body");
    h_resp_free(&r);
    r = h_http("PUT", url, t.owner, "application/x-www-form-urlencoded", "whatsapp_enabled=1", 18);
    h_assert_error(&r, 415, "unsupported_media_type");
    h_resp_free(&r);
    size_t big = 1024 * 1024;
    char *mib = xmalloc(big);
    memset(mib, ' ', big);
    mib[0] = '{';
    mib[big - 1] = '}';
    r = h_http("PUT", url, t.owner, "application/json", mib, big);
    h_assert_error(&r, 413, "payload_too_large");
    h_resp_free(&r);
    free(mib);
    /* deep nesting is refused by the parser, not by a crash */
    struct buf deep = {0};
    buf_append_str(&deep, "{\"email_from_name\": ");
    for (int i = 0; i < 5000; i++)
        buf_append_str(&deep, "[");
    r = call("PUT", path, t.owner, deep.data);
    h_assert_error(&r, 400, "malformed_json");
    h_resp_free(&r);
    buf_free(&deep);
    free(url);
    free(path);
}

struct writer {
    const char *path;
    const char *token;
    const char *body;
    int failures;
};

static void *write_repeatedly(void *arg)
{
    struct writer *w = arg;
    for (int i = 0; i < 15; i++) {
        struct h_resp r = ht_call(&t.ts, "PUT", w->path, w->token, w->body);
        if (r.status != 200)
            w->failures++;
        h_resp_free(&r);
    }
    return NULL;
}

static void settings_concurrent_updates_keep_every_key(void **state)
{
    (void)state;
    char id[HT_ID_LEN];
    ht_create_tenant(&t.ts, "Horno San Blas", id);
    char *owner = ht_user(id, "owner");
    char *path = path_of("/api/v1/tenants/%s/settings/notifications", id);
    struct writer w[] = {
        {path, owner, "{\"whatsapp_enabled\": true}", 0},
        {path, ht_admin(), "{\"email_enabled\": false}", 0},
        {path, owner, "{\"email_from_name\": \"Horno San Blas\"}", 0},
        {path, owner, "{\"enable_forecast_alerts\": false}", 0},
        {path, ht_admin(), "{\"inventory_alert_channels\": [\"whatsapp\"]}", 0},
        {path, owner, "{\"whatsapp_default_language\": \"en\"}", 0},
    };
    size_t n = sizeof w / sizeof w[0];
    pthread_t threads[8];
    for (size_t i = 0; i < n; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, write_repeatedly, &w[i]), 0);
    for (size_t i = 0; i < n; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(w[i].failures, 0);
    }
    json_t *s = settings_of(id);
    assert_true(json_is_true(json_object_get(s, "whatsapp_enabled")));
    assert_true(json_is_false(json_object_get(s, "email_enabled")));
    assert_string_equal(json_string_value(json_object_get(s, "email_from_name")), "Horno San Blas");
    assert_true(json_is_false(json_object_get(s, "enable_forecast_alerts")));
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(s, "inventory_alert_channels"), 0)),
        "whatsapp");
    assert_string_equal(json_string_value(json_object_get(s, "whatsapp_default_language")), "en");
    json_decref(s);
    free(path);
    free(owner);
}

/* ---------- admin endpoints without a WABA ---------- */

static void admin_endpoints_need_platform_admin(void **state)
{
    (void)state;
    char *assign = path_of("/api/v1/admin/whatsapp/tenants/%s/assign-phone", t.a);
    char *unassign = path_of("/api/v1/admin/whatsapp/tenants/%s/unassign-phone", t.a);
    char *diag = path_of("/api/v1/admin/whatsapp/tenants/%s/diagnostics", t.a);
    const struct {
        const char *method;
        const char *path;
        const char *body;
    } endpoints[] = {
        {"GET", "/api/v1/admin/whatsapp/phone-numbers", NULL},
        {"GET", "/api/v1/admin/whatsapp/tenants", NULL},
        {"POST", assign, "{\"phone_number_id\": \"109876543210001\"}"},
        {"DELETE", unassign, NULL},
        {"GET", diag, NULL},
        {"GET", "/api/v1/admin/whatsapp/audit-log", NULL},
    };
    const struct role_case refused[] = {
        {"owner", t.owner, 403, "forbidden"},
        {"tenant admin", t.tadmin, 403, "forbidden"},
        {"member", t.member, 403, "forbidden"},
        {"viewer", t.viewer, 403, "forbidden"},
        {"other tenant's owner", t.other_owner, 403, "forbidden"},
        {"service", ht_service(), 403, "forbidden"},
    };
    for (size_t i = 0; i < sizeof endpoints / sizeof endpoints[0]; i++) {
        expect_roles(endpoints[i].method, endpoints[i].path, endpoints[i].body, refused,
                     sizeof refused / sizeof refused[0]);
        expect_401s(endpoints[i].method, endpoints[i].path, endpoints[i].body);
    }
    /* nothing was assigned or audited by the refused calls */
    char *audit = h_sql(t.db_url, "SELECT count(*) FROM whatsapp_assignment_audit");
    assert_string_equal(audit, "0");
    free(audit);
    free(assign);
    free(unassign);
    free(diag);
}

static void admin_tenants_lists_whatsapp_status(void **state)
{
    (void)state;
    struct h_resp r = call("GET", "/api/v1/admin/whatsapp/tenants", ht_admin(), NULL);
    assert_int_equal(r.status, 200);
    assert_true(json_is_array(r.json));
    size_t i;
    json_t *item;
    const char *prev = "";
    bool seen_a = false;
    json_array_foreach (r.json, i, item) {
        const char *name = json_string_value(json_object_get(item, "tenant_name"));
        assert_non_null(name);
        assert_true(strcmp(prev, name) <= 0);
        prev = name;
        assert_true(json_is_boolean(json_object_get(item, "whatsapp_enabled")));
        assert_non_null(json_object_get(item, "phone_number_id"));
        assert_non_null(json_object_get(item, "display_phone_number"));
        if (strcmp(json_string_value(json_object_get(item, "tenant_id")), t.a) == 0) {
            seen_a = true;
            assert_string_equal(name, "Panadería San Juan");
            assert_true(json_is_null(json_object_get(item, "phone_number_id")));
            assert_true(json_is_null(json_object_get(item, "display_phone_number")));
        }
    }
    assert_true(seen_a);
    h_resp_free(&r);
}

static void notification_service_down(void **state)
{
    (void)state;
    struct h_resp r = call("GET", "/api/v1/admin/whatsapp/phone-numbers", ht_admin(), NULL);
    h_assert_error(&r, 503, "upstream_unavailable");
    assert_non_null(strstr(ht_str(&r, "message"), "notification-service"));
    assert_non_null(strstr(ht_str(&r, "message"), "NOTIFICATION_SERVICE_URL"));
    h_resp_free(&r);

    char *assign = path_of("/api/v1/admin/whatsapp/tenants/%s/assign-phone", t.a);
    r = call("POST", assign, ht_admin(), "{\"phone_number_id\": \"109876543210001\"}");
    h_assert_error(&r, 503, "upstream_unavailable");
    h_resp_free(&r);
    /* an unknown tenant is answered without asking */
    r = call("POST",
             "/api/v1/admin/whatsapp/tenants/00000000-0000-4000-8000-000000000000/assign-phone",
             ht_admin(), "{\"phone_number_id\": \"109876543210001\"}");
    h_assert_error(&r, 404, "tenant_not_found");
    h_resp_free(&r);
    /* a bad body is answered without asking too */
    r = call("POST", assign, ht_admin(), "{\"phone_number_id\": \"12ab\"}");
    h_assert_error(&r, 422, "validation_error");
    assert_string_equal(ht_str(&r, "field"), "phone_number_id");
    h_resp_free(&r);

    /* diagnostics still answer 200: the outage is the diagnosis */
    char *diag = path_of("/api/v1/admin/whatsapp/tenants/%s/diagnostics", t.a);
    r = call("GET", diag, ht_admin(), NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(ht_str(&r, "tenant_id"), t.a);
    assert_string_equal(ht_str(&r, "tenant_name"), "Panadería San Juan");
    assert_true(json_is_false(json_object_get(r.json, "ok")));
    json_t *checks = json_object_get(r.json, "checks");
    static const char *const names[] = {"whatsapp_enabled", "phone_assigned", "phone_in_waba",
                                        "master_credentials", "template_approved"};
    assert_int_equal(json_array_size(checks), 5);
    for (size_t i = 0; i < 5; i++) {
        json_t *c = json_array_get(checks, i);
        assert_string_equal(json_string_value(json_object_get(c, "name")), names[i]);
        assert_true(json_is_boolean(json_object_get(c, "ok")));
        assert_true(json_string_length(json_object_get(c, "detail")) > 0);
        if (json_is_false(json_object_get(c, "ok")))
            assert_true(json_string_length(json_object_get(c, "fix")) > 0);
        else
            assert_true(json_is_null(json_object_get(c, "fix")));
    }
    for (size_t i = 3; i < 5; i++) {
        json_t *c = json_array_get(checks, i);
        assert_true(json_is_false(json_object_get(c, "ok")));
        assert_string_equal(json_string_value(json_object_get(c, "fix")),
                            "start notification-service / check NOTIFICATION_SERVICE_URL");
        assert_non_null(strstr(json_string_value(json_object_get(c, "detail")), "unreachable"));
    }
    h_resp_free(&r);
    free(diag);
    free(assign);
}

static void unassign_and_audit_without_notification_service(void **state)
{
    (void)state;
    char *unassign = path_of("/api/v1/admin/whatsapp/tenants/%s/unassign-phone", t.b);
    for (int i = 0; i < 2; i++) {
        struct h_resp r = call("DELETE", unassign, ht_admin(), NULL);
        assert_int_equal(r.status, 200);
        assert_true(json_is_true(json_object_get(r.json, "success")));
        assert_string_equal(ht_str(&r, "tenant_id"), t.b);
        assert_string_equal(ht_str(&r, "message"),
                            "Tenant 'Obrador Txuri' has no phone number assigned");
        h_resp_free(&r);
    }
    free(unassign);

    struct h_resp r = call("GET", "/api/v1/admin/whatsapp/audit-log", ht_admin(), NULL);
    assert_int_equal(r.status, 200);
    assert_true(json_is_array(r.json));
    assert_int_equal(json_array_size(r.json), 0);
    h_resp_free(&r);

    static const struct {
        const char *query;
        const char *field;
    } bad[] = {
        {"?limit=0", "limit"},
        {"?limit=501", "limit"},
        {"?limit=ten", "limit"},
        {"?limit=-1", "limit"},
        {"?limit=5x", "limit"},
        {"?tenant_id=42", "tenant_id"},
        {"?tenant_id=%27%3B--", "tenant_id"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *path = xasprintf("/api/v1/admin/whatsapp/audit-log%s", bad[i].query);
        r = call("GET", path, ht_admin(), NULL);
        h_assert_error(&r, 422, "validation_error");
        assert_string_equal(ht_str(&r, "field"), bad[i].field);
        h_resp_free(&r);
        free(path);
    }
    char *ok = xasprintf("/api/v1/admin/whatsapp/audit-log?tenant_id=%s&limit=500", t.a);
    r = call("GET", ok, ht_admin(), NULL);
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    free(ok);
    r = call("GET", "/api/v1/admin/whatsapp/audit-log?tenant_id=&limit=", ht_admin(), NULL);
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
}

/* Paths whose {id} is not a UUID name no tenant: 404 tenant_not_found, for every role
 * that may call the endpoint at all. */
static void invalid_ids_in_paths_are_404(void **state)
{
    (void)state;
    static const char *const ids[] = {
        "42",
        "not-a-uuid",
        "00000000-0000-4000-8000-00000000000",
        "%27%20OR%201%3D1--",
        "00000000-0000-4000-8000-000000000000x",
        "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz",
    };
    static const struct {
        const char *method;
        const char *fmt;
        const char *body;
    } endpoints[] = {
        {"GET", "/api/v1/tenants/%s", NULL},
        {"GET", "/api/v1/tenants/%s/settings/notifications", NULL},
        {"PUT", "/api/v1/tenants/%s/settings/notifications", "{\"email_enabled\": true}"},
        {"POST", "/api/v1/admin/whatsapp/tenants/%s/assign-phone",
         "{\"phone_number_id\": \"109876543210001\"}"},
        {"DELETE", "/api/v1/admin/whatsapp/tenants/%s/unassign-phone", NULL},
        {"GET", "/api/v1/admin/whatsapp/tenants/%s/diagnostics", NULL},
    };
    for (size_t e = 0; e < sizeof endpoints / sizeof endpoints[0]; e++) {
        for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
            char *path = xasprintf(endpoints[e].fmt, ids[i]);
            struct h_resp r = call(endpoints[e].method, path, ht_admin(), endpoints[e].body);
            h_assert_error(&r, 404, "tenant_not_found");
            h_resp_free(&r);
            free(path);
        }
        /* a well-formed id of nobody: 404 too */
        char *path = xasprintf(endpoints[e].fmt, "6f1c3a52-9b1e-4c1d-8f00-1234567890ab");
        struct h_resp r = call(endpoints[e].method, path, ht_admin(), endpoints[e].body);
        h_assert_error(&r, 404, "tenant_not_found");
        h_resp_free(&r);
        free(path);
    }
    /* upper-case UUIDs are the same tenant */
    char upper[HT_ID_LEN];
    for (size_t i = 0; i < HT_ID_LEN; i++)
        upper[i] = (char)(t.a[i] >= 'a' && t.a[i] <= 'f' ? t.a[i] - 32 : t.a[i]);
    char *path = path_of("/api/v1/tenants/%s", upper);
    struct h_resp r = call("GET", path, t.owner, NULL);
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    free(path);
}

/* ---------- static files ---------- */

struct raw_resp {
    int status;
    char head[2048];
    char body[4096];
};

/* Sends request verbatim (paths as written: no client-side normalisation) and reads the
 * answer until the server closes. */
static struct raw_resp raw(const char *request)
{
    struct raw_resp out;
    memset(&out, 0, sizeof out);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)t.ts.port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    size_t len = strlen(request);
    assert_int_equal(write(fd, request, len), (ssize_t)len);
    struct buf all = {0};
    char chunk[4096];
    ssize_t n;
    while ((n = read(fd, chunk, sizeof chunk)) > 0)
        buf_append(&all, chunk, (size_t)n);
    close(fd);
    if (all.data && sscanf(all.data, "HTTP/1.%*c %d", &out.status) == 1) {
        char *end = strstr(all.data, "\r\n\r\n");
        size_t hlen = end ? (size_t)(end - all.data) : all.len;
        snprintf(out.head, sizeof out.head, "%.*s", (int)hlen, all.data);
        if (end)
            snprintf(out.body, sizeof out.body, "%s", end + 4);
    }
    buf_free(&all);
    return out;
}

static struct raw_resp raw_get(const char *path, const char *extra_headers)
{
    char *req = xasprintf("GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n%s\r\n", path,
                          extra_headers ? extra_headers : "");
    struct raw_resp r = raw(req);
    free(req);
    return r;
}

/* The value of header name in head, or "" (static storage, overwritten by each call). */
static const char *header(const struct raw_resp *r, const char *name)
{
    static char value[512];
    char needle[64];
    snprintf(needle, sizeof needle, "\r\n%s: ", name);
    const char *p = strcasestr(r->head, needle);
    value[0] = '\0';
    if (p) {
        p += strlen(needle);
        size_t n = strcspn(p, "\r\n");
        snprintf(value, sizeof value, "%.*s", (int)n, p);
    }
    return value;
}

static void static_pages_and_assets(void **state)
{
    (void)state;
    static const struct {
        const char *path;
        const char *type;
        const char *body;
    } ok[] = {
        {"/app/admin/whatsapp", "text/html; charset=utf-8", "<title>admin</title>"},
        {"/app/settings/notifications", "text/html; charset=utf-8", "<title>card</title>"},
        {"/app/admin-whatsapp.html", "text/html; charset=utf-8", "<title>admin</title>"},
        {"/app/css/app.css", "text/css; charset=utf-8", "body{"},
        {"/app/style.css", "text/css; charset=utf-8", "body{"}, /* a link inside the dir */
        {"/app/js/admin.js", "text/javascript; charset=utf-8", "export const"},
        {"/app/img/logo.svg", "image/svg+xml", "<svg"},
        {"/app/img/dot.png", "image/png", "PNG"},
        {"/app/favicon.ico", "image/x-icon", "ico"},
        {"/app/manifest.json", "application/json; charset=utf-8", "{}"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        struct raw_resp r = raw_get(ok[i].path, NULL);
        if (r.status != 200)
            fprintf(stderr, "%s: %d\n", ok[i].path, r.status);
        assert_int_equal(r.status, 200);
        assert_string_equal(header(&r, "Content-Type"), ok[i].type);
        assert_string_equal(header(&r, "Cache-Control"), "no-cache");
        assert_string_equal(header(&r, "X-Content-Type-Options"), "nosniff");
        assert_non_null(strstr(r.body, ok[i].body));
        const char *csp = header(&r, "Content-Security-Policy");
        if (strncmp(ok[i].type, "text/html", 9) == 0)
            assert_string_equal(csp,
                                "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                                "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; "
                                "base-uri 'none'; form-action 'self'");
        else
            assert_string_equal(csp, "");
        /* exactly one Cache-Control header */
        const char *first = strcasestr(r.head, "\r\nCache-Control:");
        assert_null(strcasestr(first + 1, "\r\nCache-Control:"));
    }
}

static void static_refuses_traversal_and_listing(void **state)
{
    (void)state;
    static const char *const refused[] = {
        "/app/",
        "/app",
        "/app/css",
        "/app/css/",
        "/app/img/",
        "/app/../secret.txt",
        "/app/../../etc/passwd",
        "/app/css/../../secret.txt",
        "/app/%2e%2e/secret.txt",
        "/app/%2E%2E/secret.txt",
        "/app/%2e%2e%2fsecret.txt",
        "/app/..%2fsecret.txt",
        "/app/..%2Fsecret.txt",
        "/app/css/..%2f..%2fsecret.txt",
        "/app/%252e%252e/secret.txt",
        "/app/..",
        "/app/.",
        "/app/./admin-whatsapp.html",
        "/app/css/./app.css",
        "/app//etc/passwd",
        "/app/%2fetc%2fpasswd",
        "/app/%2Fetc/passwd",
        "/app/leak.txt",
        "/app/.env",
        "/app/css/.hidden",
        "/app/....//secret.txt",
        "/app/..\\secret.txt",
        "/app/%5c..%5csecret.txt",
        "/app/admin-whatsapp.html%00.png",
        "/app/admin-whatsapp.html%00",
        "/app/%00",
        "/app/notes.exe",
        "/app/missing.html",
        "/app/admin/whatsapp/",
        "/app/admin",
        "/app/admin/whatsapp/../../secret.txt",
        "/app/admin-whatsapp.html/",
        "/app/css//app.css",
        "/app/admin-whatsapp.html?x=/../secret.txt#",
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        struct raw_resp r = raw_get(refused[i], NULL);
        /* the last one is the page itself with a query: fine, but never the secret */
        if (i + 1 < sizeof refused / sizeof refused[0]) {
            if (r.status != 404)
                fprintf(stderr, "%s: %d\n", refused[i], r.status);
            assert_int_equal(r.status, 404);
        }
        assert_null(strstr(r.body, SECRET_TEXT));
        assert_null(strstr(r.body, "root:"));
        assert_null(strstr(r.body, "SECRET=1"));
    }
    struct raw_resp r = raw_get("/app/%2e%2e/secret.txt", NULL);
    assert_non_null(strstr(r.body, "\"error\":\"not_found\""));

    /* a missing STATIC_DIR is 404 too, never a 500 */
    char db[256];
    assert_true(h_fresh_database("it_tenant_nostatic", db, sizeof db));
    struct h_proc p;
    assert_true(ht_start_tenant(&p, db, ht_dead_url(), "/nonexistent/frontend-static", NULL));
    char *url = h_url(p.url, "/app/admin/whatsapp");
    struct h_resp hr = h_get(url, NULL);
    h_assert_error(&hr, 404, "not_found");
    h_resp_free(&hr);
    free(url);
    assert_int_equal(h_stop(&p), 0);
}

static void static_etag_and_head(void **state)
{
    (void)state;
    struct raw_resp r = raw_get("/app/css/app.css", NULL);
    assert_int_equal(r.status, 200);
    char etag[128];
    snprintf(etag, sizeof etag, "%s", header(&r, "ETag"));
    assert_true(strlen(etag) > 2 && etag[0] == '"');

    char *cond = xasprintf("If-None-Match: %s\r\n", etag);
    r = raw_get("/app/css/app.css", cond);
    assert_int_equal(r.status, 304);
    assert_string_equal(r.body, "");
    assert_string_equal(header(&r, "ETag"), etag);
    free(cond);
    r = raw_get("/app/css/app.css", "If-None-Match: \"stale\"\r\n");
    assert_int_equal(r.status, 200);

    r = raw("HEAD /app/admin/whatsapp HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "");
    assert_string_equal(header(&r, "Content-Type"), "text/html; charset=utf-8");

    /* a changed file gets a new tag */
    char dir[300];
    snprintf(dir, sizeof dir, "%s/css", t.static_dir);
    usleep(20000);
    write_file(dir, "app.css", "body{color:#000}");
    r = raw_get("/app/css/app.css", NULL);
    assert_string_not_equal(header(&r, "ETag"), etag);
    assert_string_equal(r.body, "body{color:#000}");

    /* static pages need no token, and POST is not a thing there */
    r = raw("POST /app/admin/whatsapp HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            "Content-Length: 0\r\n\r\n");
    assert_int_equal(r.status, 405);
}

/* ---------- operations ---------- */

static void ready_and_metrics(void **state)
{
    (void)state;
    struct h_resp r = call("GET", "/ready", NULL, NULL);
    assert_int_equal(r.status, 200);
    json_t *checks = json_object_get(r.json, "checks");
    assert_string_equal(json_string_value(json_object_get(checks, "database")), "ok");
    assert_string_equal(json_string_value(json_object_get(checks, "notification_service")),
                        "unreachable");
    h_resp_free(&r);
    r = call("GET", "/metrics", NULL, NULL);
    assert_non_null(strstr(r.body, "route=\"/api/v1/tenants/{id}/settings/notifications\""));
    assert_non_null(strstr(r.body, "upstream_requests_total{target=\"notification-service\""));
    h_resp_free(&r);
}

static void database_down_gives_503(void **state)
{
    (void)state;
    char db[256];
    assert_true(h_fresh_database("it_tenant_vanishing", db, sizeof db));
    struct h_proc p;
    assert_true(ht_start_tenant(&p, db, ht_dead_url(), NULL, NULL));
    char id[HT_ID_LEN];
    ht_create_tenant(&p, "Panadería Arrieta", id);

    /* The service's background connections (the settings listener, the live stream's
     * LISTEN) come straight back: terminate and rename until the rename wins. */
    char *renamed = NULL;
    for (int i = 0; i < 100 && !renamed; i++) {
        char *gone = h_sql(t.db_url, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                                     " WHERE datname = 'it_tenant_vanishing'");
        free(gone);
        renamed =
            h_sql(t.db_url, "ALTER DATABASE it_tenant_vanishing RENAME TO it_tenant_vanished");
        if (!renamed)
            usleep(20 * 1000);
    }
    assert_non_null(renamed);
    free(renamed);

    char *settings = path_of("/api/v1/tenants/%s/settings/notifications", id);
    char *unassign = path_of("/api/v1/admin/whatsapp/tenants/%s/unassign-phone", id);
    const struct {
        const char *method;
        const char *path;
        const char *token;
        const char *body;
    } calls[] = {
        {"GET", "/api/v1/tenants", ht_admin(), NULL},
        {"POST", "/api/v1/tenants", ht_admin(), "{\"name\": \"Forn de Sant Jaume\"}"},
        {"GET", settings, ht_service(), NULL},
        {"PUT", settings, ht_admin(), "{\"whatsapp_enabled\": true}"},
        {"GET", "/api/v1/admin/whatsapp/tenants", ht_admin(), NULL},
        {"DELETE", unassign, ht_admin(), NULL},
        {"GET", "/api/v1/admin/whatsapp/audit-log", ht_admin(), NULL},
    };
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
        struct h_resp r =
            ht_call(&p, calls[i].method, calls[i].path, calls[i].token, calls[i].body);
        h_assert_error(&r, 503, "database_unavailable");
        h_resp_free(&r);
    }
    struct h_resp r = ht_call(&p, "GET", "/ready", NULL, NULL);
    assert_int_equal(r.status, 503);
    assert_string_equal(ht_str(&r, "failing"), "database");
    h_resp_free(&r);

    /* and it comes back by itself */
    renamed = h_sql(t.db_url, "ALTER DATABASE it_tenant_vanished RENAME TO it_tenant_vanishing");
    free(renamed);
    usleep(300000);
    r = ht_call(&p, "GET", settings, ht_service(), NULL);
    assert_int_equal(r.status, 200);
    h_resp_free(&r);
    assert_int_equal(h_stop(&p), 0);
    free(settings);
    free(unassign);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tenants_create_list_get),
        cmocka_unit_test(tenant_create_rejects_bad_input),
        cmocka_unit_test(tenant_names_refuse_invisible_and_bidi_characters),
        cmocka_unit_test(token_policy_is_enforced),
        cmocka_unit_test(tenant_rights_by_role),
        cmocka_unit_test(settings_read_rights),
        cmocka_unit_test(settings_write_rights),
        cmocka_unit_test(settings_update_merges),
        cmocka_unit_test(settings_validation_names_the_field),
        cmocka_unit_test(settings_phone_keys_belong_to_admin),
        cmocka_unit_test(settings_bad_bodies),
        cmocka_unit_test(settings_concurrent_updates_keep_every_key),
        cmocka_unit_test(admin_endpoints_need_platform_admin),
        cmocka_unit_test(admin_tenants_lists_whatsapp_status),
        cmocka_unit_test(notification_service_down),
        cmocka_unit_test(unassign_and_audit_without_notification_service),
        cmocka_unit_test(invalid_ids_in_paths_are_404),
        cmocka_unit_test(static_pages_and_assets),
        cmocka_unit_test(static_refuses_traversal_and_listing),
        cmocka_unit_test(static_etag_and_head),
        cmocka_unit_test(ready_and_metrics),
        cmocka_unit_test(database_down_gives_503),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
