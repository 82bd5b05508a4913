/* console_auth.c - signing in to the web pages without a token to paste (issue 22): a
 * one-time link made by the platform (POST /api/v1/auth/links), exchanged by the sign-in
 * page for a session cookie (POST /api/v1/auth/sessions), the session read and ended,
 * and the check the HTTP layer makes of a request's cookie (console_session_verify).
 *
 * Codes, session ids and CSRF tokens are 256 random bits in hex; the database keeps only
 * the SHA-256 of codes and session ids (store.c, migration 0007). */
#include "console_auth.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "app.h"
#include "handlers.h"
#include "hex.h"
#include "jsonutil.h"
#include "log.h"

#define SECRET_HEX CONSOLE_SECRET_HEX
#define LINK_TTL_DEFAULT CONSOLE_LINK_TTL_MAX
#define LINK_TTL_MIN 60
#define SUB_MAX 120

/* Writes 64 hex digits of fresh randomness; false when the generator fails. */
static bool random_hex(char out[SECRET_HEX + 1])
{
    unsigned char bytes[SECRET_HEX / 2];
    if (RAND_bytes(bytes, sizeof bytes) != 1)
        return false;
    hex_encode(bytes, sizeof bytes, out);
    return true;
}

/* The SHA-256 of secret in hex (what the database keys on); false when libcrypto fails. */
static bool secret_hash(const char *secret, char out[SECRET_HEX + 1])
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_Digest(secret, strlen(secret), digest, &n, EVP_sha256(), NULL) != 1 || n != 32)
        return false;
    hex_encode(digest, n, out);
    return true;
}

/* True when s is SECRET_HEX lower-case hex digits: what we hand out. Anything else is
 * nobody's, and costs no database call. */
static bool secret_shape(const char *s)
{
    return s && strlen(s) == SECRET_HEX && strspn(s, "0123456789abcdef") == SECRET_HEX;
}

bool console_session_hash(const char *value, char out[CONSOLE_SECRET_HEX + 1])
{
    return secret_shape(value) && secret_hash(value, out);
}

enum http_session_result console_session_verify(const char *value, struct auth_principal *out,
                                                char csrf[HTTP_CSRF_MAX])
{
    char hash[SECRET_HEX + 1];
    if (!console_session_hash(value, hash))
        return HTTP_SESSION_NONE;
    enum store_status st = store_session_get(hash, out, csrf, HTTP_CSRF_MAX);
    if (st == STORE_OK)
        return HTTP_SESSION_OK;
    return st == STORE_NOT_FOUND ? HTTP_SESSION_NONE : HTTP_SESSION_UNAVAILABLE;
}

/* ---------- replies ---------- */

/* Unix seconds as ISO 8601 UTC. */
static void iso_time(long t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Secure when the pages are served over HTTPS: PUBLIC_URL says so, or the proxy in front
 * does (a client that lies only gets a cookie it cannot send back over HTTP). */
static bool served_over_https(const struct http_request *req)
{
    const struct tenant_app *app = http_app(req);
    const char *proto = http_header(req, "X-Forwarded-Proto");
    return strncmp(app->cfg.public_url, "https://", 8) == 0 ||
           (proto && strcmp(proto, "https") == 0);
}

static void set_cookie(struct http_request *req, const char *value, long max_age)
{
    char *cookie =
        xasprintf("%s=%s; Path=/; Max-Age=%ld; HttpOnly; SameSite=Strict%s", CONSOLE_SESSION_COOKIE,
                  value, max_age, served_over_https(req) ? "; Secure" : "");
    http_add_header(req, "Set-Cookie", cookie);
    free(cookie);
}

/* The page a holder lands on after signing in. */
static const char *landing_page(const struct auth_principal *who)
{
    return who->role == AUTH_ROLE_ADMIN ? "/app/admin/whatsapp" : "/app/settings/notifications";
}

/* {sub, role, tenant_id, tenant_role, expires_at, csrf_token} of a session or token. */
static json_t *identity_doc(const struct auth_principal *who, const char *csrf)
{
    char expires[32];
    iso_time(who->exp, expires);
    bool user = who->role == AUTH_ROLE_USER;
    return json_pack("{s:b, s:s, s:s, s:o, s:o, s:s, s:o, s:s}", "success", 1, "sub", who->sub,
                     "role", auth_role_name(who->role), "tenant_id",
                     user ? json_string(who->tenant_id) : json_null(), "tenant_role",
                     user ? json_string(auth_tenant_role_name(who->tenant_role)) : json_null(),
                     "expires_at", expires, "csrf_token", csrf ? json_string(csrf) : json_null(),
                     "next", landing_page(who));
}

/* Checks body against fields as json_check_object() does, and refuses null too (a wrong
 * type, as everywhere in this API). Replies 422 and returns false on a failure. */
static bool check_body(struct http_request *req, const json_t *body,
                       const struct json_field *fields, size_t n)
{
    const char *field = NULL, *problem = NULL;
    const char *key;
    const json_t *v;
    json_object_foreach ((json_t *)body, key, v) {
        if (json_is_null(v)) {
            http_reply_field_error(req, 422, "validation_error", key, "%s must not be null", key);
            return false;
        }
    }
    if (json_check_object(body, fields, n, false, &field, &problem))
        return true;
    http_reply_field_error(req, 422, "validation_error", field ? field : "body", "%s %s",
                           field ? field : "the body", problem);
    return false;
}

/* ---------- POST /api/v1/auth/links ---------- */

/* The absolute link: PUBLIC_URL, else the scheme and Host this request came with (a Host
 * of odd bytes gives only the path). */
static char *link_url(const struct http_request *req, const char *path)
{
    const struct tenant_app *app = http_app(req);
    if (app->cfg.public_url[0])
        return xasprintf("%s%s", app->cfg.public_url, path);
    const char *host = http_header(req, "Host");
    size_t n = host ? strlen(host) : 0;
    if (n == 0 || n > 255 ||
        strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "0123456789.-:[]") != n)
        return xstrdup(path);
    return xasprintf("%s://%s%s", served_over_https(req) ? "https" : "http", host, path);
}

static bool printable_sub(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > SUB_MAX)
        return false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            return false;
    }
    return true;
}

void handle_auth_link_create(struct http_request *req)
{
    json_t *body = http_body_object(req);
    char code[SECRET_HEX + 1], hash[SECRET_HEX + 1];
    char *expires = NULL, *path = NULL, *url = NULL;
    struct auth_principal who = {0};
    const char *field = NULL, *problem = NULL;
    if (!body)
        return;
    static const struct json_field fields[] = {
        {"role", JK_STRING, true, 8},          {"tenant_id", JK_STRING, false, 40},
        {"tenant_role", JK_STRING, false, 8},  {"sub", JK_STRING, false, SUB_MAX},
        {"ttl_seconds", JK_INTEGER, false, 0},
    };
    if (!check_body(req, body, fields, sizeof fields / sizeof fields[0]))
        goto out;
    const char *role = json_str(body, "role"), *tenant = json_str(body, "tenant_id");
    const char *tenant_role = json_str(body, "tenant_role"), *sub = json_str(body, "sub");
    const json_t *ttl_v = json_object_get(body, "ttl_seconds");
    json_int_t ttl = ttl_v ? json_integer_value(ttl_v) : LINK_TTL_DEFAULT;
    bool user = role && strcmp(role, "user") == 0;
    if (!auth_role_parse(role, &who.role) || who.role == AUTH_ROLE_SERVICE)
        field = "role", problem = "role must be admin or user (services use bearer tokens)";
    else if (user && (!tenant || !uuid_is_valid(tenant, who.tenant_id)))
        field = "tenant_id", problem = "a user's link needs the tenant_id (a UUID) of the bakery";
    else if (user && (!tenant_role || !auth_tenant_role_parse(tenant_role, &who.tenant_role)))
        field = "tenant_role", problem = "tenant_role must be owner, admin, member or viewer";
    else if (!user && (tenant || tenant_role))
        field = tenant ? "tenant_id" : "tenant_role", problem = "an admin's link names no tenant";
    else if (sub && !printable_sub(sub))
        field = "sub", problem = "sub must be 1 to 120 printable characters";
    else if (ttl < LINK_TTL_MIN || ttl > CONSOLE_LINK_TTL_MAX)
        field = "ttl_seconds", problem = "ttl_seconds must be from 60 to 900 (15 minutes)";
    if (field) {
        http_reply_field_error(req, 422, "validation_error", field, "%s", problem);
        goto out;
    }
    snprintf(who.sub, sizeof who.sub, "%s",
             sub    ? sub
             : user ? "sign-in-link:user"
                    : "sign-in-link:admin");
    if (!random_hex(code) || !secret_hash(code, hash)) {
        http_reply_error(req, 500, "internal_error", "No randomness for a sign-in code");
        goto out;
    }
    enum store_status st =
        store_link_create(hash, &who, http_principal(req)->sub, (long)ttl, &expires);
    if (st != STORE_OK) {
        reply_store_failure(req, st);
        goto out;
    }
    path = xasprintf("/app/sign-in#code=%s", code);
    url = link_url(req, path);
    log_info("sign-in link made\trole=%s tenant=%s by=\"%s\" ttl=%lld", role,
             user ? who.tenant_id : "-", http_principal(req)->sub, (long long)ttl);
    http_reply_json(req, 201,
                    json_pack("{s:b, s:s, s:s, s:s, s:s, s:o, s:o, s:s}", "success", 1, "url", url,
                              "path", path, "expires_at", expires, "role", role, "tenant_id",
                              user ? json_string(who.tenant_id) : json_null(), "tenant_role",
                              user ? json_string(tenant_role) : json_null(), "sub", who.sub));
out:
    free(url);
    free(path);
    free(expires);
    json_decref(body);
}

/* ---------- POST /api/v1/auth/sessions ---------- */

/* Opens a session for the bearer token of this request (the pages' #token= links for
 * developers and operators): replies on failure and returns false. */
static bool open_for_bearer(struct http_request *req, const char *hash, const char *csrf,
                            struct auth_principal *who)
{
    const struct tenant_app *app = http_app(req);
    enum auth_result ar =
        auth_verify_header(http_header(req, "Authorization"), &app->cfg.auth, time(NULL), who);
    if (ar == AUTH_MISSING) {
        http_add_header(req, "WWW-Authenticate", "Bearer");
        http_reply_error(req, 401, "unauthorized", "A sign-in code or a bearer token is required");
        return false;
    }
    if (ar != AUTH_OK) {
        http_add_header(req, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
        http_reply_error(req, 401, ar == AUTH_EXPIRED ? "token_expired" : "invalid_token", "%s",
                         auth_result_message(ar));
        return false;
    }
    if (who->role == AUTH_ROLE_SERVICE) {
        http_reply_error(req, 403, "forbidden", "Services call the API with their bearer token");
        return false;
    }
    long expires = 0;
    enum store_status st =
        store_session_open(hash, csrf, who, app->cfg.session_ttl_seconds, &expires);
    if (st != STORE_OK) {
        reply_store_failure(req, st);
        return false;
    }
    who->exp = expires;
    return true;
}

void handle_auth_session_open(struct http_request *req)
{
    const struct tenant_app *app = http_app(req);
    json_t *body = http_body_object(req);
    char session[SECRET_HEX + 1], hash[SECRET_HEX + 1], csrf[SECRET_HEX + 1];
    char code_hash[SECRET_HEX + 1];
    struct auth_principal who = {0};
    if (!body)
        return;
    static const struct json_field fields[] = {{"code", JK_STRING, false, 128}};
    if (!check_body(req, body, fields, 1))
        goto out;
    if (!random_hex(session) || !secret_hash(session, hash) || !random_hex(csrf)) {
        http_reply_error(req, 500, "internal_error", "No randomness for a session");
        goto out;
    }
    const char *code = json_str(body, "code");
    if (!code) {
        if (!open_for_bearer(req, hash, csrf, &who))
            goto out;
    } else {
        const char *why = "unknown";
        enum store_status st =
            secret_shape(code) && secret_hash(code, code_hash)
                ? store_link_use(code_hash, hash, csrf, app->cfg.session_ttl_seconds, &who, &why)
                : STORE_NOT_FOUND;
        if (st == STORE_NOT_FOUND) {
            char error[40];
            snprintf(error, sizeof error, "sign_in_link_%s", why ? why : "unknown");
            http_reply_error(req, 401, error, "%s",
                             why && strcmp(why, "used") == 0 ? "This sign-in link was already used"
                             : why && strcmp(why, "expired") == 0
                                 ? "This sign-in link has expired"
                                 : "This is not a sign-in link of this platform");
            goto out;
        }
        if (st != STORE_OK) {
            reply_store_failure(req, st);
            goto out;
        }
    }
    set_cookie(req, session, who.exp - (long)time(NULL));
    log_info("session opened\trole=%s tenant=%s sub=\"%s\" by=%s", auth_role_name(who.role),
             who.role == AUTH_ROLE_USER ? who.tenant_id : "-", who.sub, code ? "link" : "token");
    http_reply_json(req, 201, identity_doc(&who, csrf));
out:
    json_decref(body);
}

/* ---------- GET and DELETE /api/v1/auth/session ---------- */

void handle_auth_session_get(struct http_request *req)
{
    const struct auth_principal *who = http_principal(req);
    char csrf[HTTP_CSRF_MAX] = "";
    struct auth_principal again;
    if (http_via_session(req) && console_session_verify(http_cookie(req, CONSOLE_SESSION_COOKIE),
                                                        &again, csrf) != HTTP_SESSION_OK) {
        http_reply_error(req, 401, "session_expired",
                         "The session has ended: open a new sign-in link");
        return;
    }
    json_t *doc = identity_doc(who, http_via_session(req) ? csrf : NULL);
    json_object_set_new(doc, "via", json_string(http_via_session(req) ? "cookie" : "bearer"));
    http_reply_json(req, 200, doc);
}

void handle_auth_session_close(struct http_request *req)
{
    const char *cookie = http_cookie(req, CONSOLE_SESSION_COOKIE);
    char hash[SECRET_HEX + 1];
    if (http_via_session(req) && console_session_hash(cookie, hash)) {
        enum store_status st = store_session_close(hash);
        if (st != STORE_OK) {
            reply_store_failure(req, st);
            return;
        }
    }
    set_cookie(req, "", 0);
    http_reply_json(req, 200,
                    json_pack("{s:b, s:s}", "success", 1, "message",
                              http_via_session(req) ? "Signed out" : "No session to end"));
}
