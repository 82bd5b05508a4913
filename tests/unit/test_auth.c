/* test_auth.c - bearer JWT verification: good, expired, forged, other algorithms, and the
 * policy of JWT_ISSUER, JWT_AUDIENCE, JWT_MAX_TTL_SECONDS and nbf. */
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "alloc.h"
#include "auth.h"

#define SECRET "unit-test-secret"
#define TENANT "5d0c4a3e-6f0e-4a8e-9d6c-1c2b3a4d5e6f"
#define ISSUER "https://auth.panaderia.example"
#define AUDIENCE "whatsapp-backbone"

/* No issuer or audience pinned, the default maximum lifetime. */
static const struct auth_policy plain = {.secret = SECRET, .max_ttl = AUTH_DEFAULT_MAX_TTL_SECONDS};
/* A deployment that sets JWT_ISSUER and JWT_AUDIENCE. */
static const struct auth_policy pinned = {.secret = SECRET,
                                          .issuer = ISSUER,
                                          .audience = AUDIENCE,
                                          .max_ttl = AUTH_DEFAULT_MAX_TTL_SECONDS};

static char *mint(enum auth_role role, const char *tenant, enum tenant_role tr, long ttl)
{
    struct auth_principal p;
    memset(&p, 0, sizeof p);
    p.role = role;
    p.tenant_role = tr;
    snprintf(p.sub, sizeof p.sub, "alice");
    if (tenant)
        snprintf(p.tenant_id, sizeof p.tenant_id, "%s", tenant);
    return auth_mint(&plain, &p, ttl);
}

static enum auth_result verify(const char *token, struct auth_principal *p)
{
    char *header = xasprintf("Bearer %s", token);
    enum auth_result r = auth_verify_header(header, &plain, time(NULL), p);
    free(header);
    return r;
}

static char *b64url(const unsigned char *data, size_t len)
{
    char *out = xmalloc(len * 2 + 4);
    int n = EVP_EncodeBlock((unsigned char *)out, data, (int)len);
    int j = 0;
    for (int i = 0; i < n; i++) {
        if (out[i] == '=')
            continue;
        out[j++] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
    }
    out[j] = '\0';
    return out;
}

/* Builds header.payload.signature by hand, signing with HMAC-SHA256 of key (or leaving
 * the signature empty when key is NULL). */
static char *forge(const char *header_json, const char *payload_json, const char *key)
{
    char *h = b64url((const unsigned char *)header_json, strlen(header_json));
    char *p = b64url((const unsigned char *)payload_json, strlen(payload_json));
    char *signing = xasprintf("%s.%s", h, p);
    char *sig = xstrdup("");
    if (key) {
        unsigned char mac[32];
        unsigned int maclen = 0;
        HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)signing, strlen(signing),
             mac, &maclen);
        free(sig);
        sig = b64url(mac, maclen);
    }
    char *token = xasprintf("%s.%s", signing, sig);
    free(h);
    free(p);
    free(signing);
    free(sig);
    return token;
}

static void a_minted_user_token_verifies(void **state)
{
    (void)state;
    struct auth_principal p;
    char *t = mint(AUTH_ROLE_USER, TENANT, TENANT_ROLE_MEMBER, 60);
    assert_int_equal(verify(t, &p), AUTH_OK);
    assert_int_equal(p.role, AUTH_ROLE_USER);
    assert_int_equal(p.tenant_role, TENANT_ROLE_MEMBER);
    assert_string_equal(p.tenant_id, TENANT);
    assert_string_equal(p.sub, "alice");
    free(t);
}

static void expired_tokens_are_refused(void **state)
{
    (void)state;
    struct auth_principal p;
    char *t = mint(AUTH_ROLE_ADMIN, NULL, TENANT_ROLE_NONE, -5);
    assert_int_equal(verify(t, &p), AUTH_EXPIRED);
    free(t);
}

/* The last accepted token is remembered per thread: the time checks are made again,
 * and another policy is another verification. */
static void a_remembered_token_is_checked_again(void **state)
{
    (void)state;
    struct auth_principal p;
    char *t = mint(AUTH_ROLE_SERVICE, NULL, TENANT_ROLE_NONE, 60);
    char *header = xasprintf("Bearer %s", t);
    assert_int_equal(auth_verify_header(header, &plain, time(NULL), &p), AUTH_OK);
    assert_int_equal(auth_verify_header(header, &plain, time(NULL), &p), AUTH_OK);
    assert_int_equal(p.role, AUTH_ROLE_SERVICE);
    assert_string_equal(p.sub, "alice");
    assert_int_equal(auth_verify_header(header, &plain, time(NULL) + 61, &p), AUTH_EXPIRED);
    const struct auth_policy other = {.secret = "another-secret"};
    assert_int_equal(auth_verify_header(header, &other, time(NULL), &p), AUTH_INVALID);
    const struct auth_policy short_lived = {.secret = plain.secret, .max_ttl = 10};
    assert_int_equal(auth_verify_header(header, &short_lived, time(NULL), &p), AUTH_TOO_LONG);
    const struct auth_policy issuer = {.secret = plain.secret, .issuer = "someone-else"};
    assert_int_equal(auth_verify_header(header, &issuer, time(NULL), &p), AUTH_WRONG_ISSUER);
    assert_int_equal(auth_verify_header(header, &plain, time(NULL), &p), AUTH_OK);
    free(header);
    free(t);
}

static void a_wrong_signature_is_refused(void **state)
{
    (void)state;
    struct auth_principal p;
    char *t = mint(AUTH_ROLE_ADMIN, NULL, TENANT_ROLE_NONE, 60);
    char *header = xasprintf("Bearer %s", t);
    const struct auth_policy other = {.secret = "another-secret"};
    assert_int_equal(auth_verify_header(header, &other, time(NULL), &p), AUTH_INVALID);
    /* flip one character of the signature */
    t[strlen(t) - 2] = t[strlen(t) - 2] == 'A' ? 'B' : 'A';
    assert_int_equal(verify(t, &p), AUTH_INVALID);
    free(header);
    free(t);
}

static void alg_none_is_refused(void **state)
{
    (void)state;
    struct auth_principal p;
    char payload[256];
    snprintf(payload, sizeof payload, "{\"sub\":\"x\",\"role\":\"admin\",\"exp\":%ld}",
             (long)time(NULL) + 600);
    char *t = forge("{\"alg\":\"none\",\"typ\":\"JWT\"}", payload, NULL);
    assert_int_equal(verify(t, &p), AUTH_INVALID);
    free(t);
}

static void other_algorithms_are_refused(void **state)
{
    (void)state;
    struct auth_principal p;
    char payload[256];
    snprintf(payload, sizeof payload, "{\"sub\":\"x\",\"role\":\"admin\",\"exp\":%ld}",
             (long)time(NULL) + 600);
    /* An HS512 token signed correctly for its algorithm is still not ours. */
    char *t = forge("{\"alg\":\"HS512\",\"typ\":\"JWT\"}", payload, SECRET);
    assert_int_equal(verify(t, &p), AUTH_INVALID);
    free(t);
    /* The name is case-sensitive (RFC 7515): "Hs256" is not HS256, though libjwt reads
     * it as that (found by tests/fuzz/fuzz_auth.c). */
    t = forge("{\"alg\":\"Hs256\",\"typ\":\"JWT\"}", payload, SECRET);
    assert_int_equal(verify(t, &p), AUTH_INVALID);
    free(t);
    t = forge("{\"alg\":\"hs256\"}", payload, SECRET);
    assert_int_equal(verify(t, &p), AUTH_INVALID);
    free(t);
    /* A hand-made HS256 token with the right key verifies: the forger above is honest. */
    t = forge("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", payload, SECRET);
    assert_int_equal(verify(t, &p), AUTH_OK);
    free(t);
}

static void claims_are_required(void **state)
{
    (void)state;
    struct auth_principal p;
    long exp = (long)time(NULL) + 600;
    char payload[256];
    const char *hdr = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    const char *bodies[] = {
        "{\"sub\":\"x\",\"role\":\"admin\"}",            /* no exp */
        "{\"sub\":\"x\",\"role\":\"root\",\"exp\":%ld}", /* bad role */
        "{\"role\":\"admin\",\"exp\":%ld}",              /* no sub */
        "{\"sub\":\"x\",\"role\":\"user\",\"exp\":%ld}", /* no tenant */
        "{\"sub\":\"x\",\"role\":\"user\",\"tenant_id\":\"nope\",\"tenant_role\":\"owner\","
        "\"exp\":%ld}",
        "{\"sub\":\"x\",\"role\":\"user\",\"tenant_id\":\"" TENANT "\",\"tenant_role\":\"god\","
        "\"exp\":%ld}",
        "{\"sub\":\"x\",\"role\":\"admin\",\"exp\":\"%ld\"}", /* exp as a string */
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        snprintf(payload, sizeof payload, bodies[i], exp);
        char *t = forge(hdr, payload, SECRET);
        assert_int_equal(verify(t, &p), AUTH_INVALID);
        free(t);
    }
}

/* Verifies, under policy at NOW, a hand-made token signed with SECRET whose claims are
 * {"sub":"x","role":"admin", ...} with the printf-formatted rest. */
static enum auth_result verify_claims(const struct auth_policy *policy, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define NOW 1800000000L

static enum auth_result verify_claims(const struct auth_policy *policy, const char *fmt, ...)
{
    char rest[400], payload[512];
    struct auth_principal p;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rest, sizeof rest, fmt, ap);
    va_end(ap);
    snprintf(payload, sizeof payload, "{\"sub\":\"x\",\"role\":\"admin\",%s}", rest);
    char *t = forge("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", payload, SECRET);
    char *header = xasprintf("Bearer %s", t);
    enum auth_result r = auth_verify_header(header, policy, NOW, &p);
    free(header);
    free(t);
    return r;
}

static void a_future_nbf_is_refused_beyond_the_clock_skew(void **state)
{
    (void)state;
    long exp = NOW + 600;
    /* nbf now, and up to AUTH_CLOCK_SKEW_SECONDS ahead: accepted. */
    assert_int_equal(verify_claims(&plain, "\"iat\":%ld,\"nbf\":%ld,\"exp\":%ld", NOW, NOW, exp),
                     AUTH_OK);
    assert_int_equal(verify_claims(&plain, "\"iat\":%ld,\"nbf\":%ld,\"exp\":%ld", NOW,
                                   NOW + AUTH_CLOCK_SKEW_SECONDS, exp),
                     AUTH_OK);
    /* One second more: not yet valid; so is five minutes. */
    assert_int_equal(verify_claims(&plain, "\"iat\":%ld,\"nbf\":%ld,\"exp\":%ld", NOW,
                                   NOW + AUTH_CLOCK_SKEW_SECONDS + 1, exp),
                     AUTH_NOT_YET);
    assert_int_equal(verify_claims(&plain, "\"nbf\":%ld,\"exp\":%ld", NOW + 300, exp),
                     AUTH_NOT_YET);
    assert_string_equal(auth_result_message(AUTH_NOT_YET),
                        "The bearer token is not valid yet (nbf is in the future)");
}

static void a_non_integer_nbf_or_iat_is_invalid(void **state)
{
    (void)state;
    long exp = NOW + 600;
    assert_int_equal(verify_claims(&plain, "\"exp\":%ld,\"nbf\":\"%ld\"", exp, NOW - 1),
                     AUTH_INVALID);
    assert_int_equal(verify_claims(&plain, "\"exp\":%ld,\"nbf\":%ld.5", exp, NOW - 1),
                     AUTH_INVALID);
    assert_int_equal(verify_claims(&plain, "\"exp\":%ld,\"nbf\":null", exp), AUTH_INVALID);
    assert_int_equal(verify_claims(&plain, "\"exp\":%ld,\"nbf\":true", exp), AUTH_INVALID);
    assert_int_equal(verify_claims(&plain, "\"exp\":%ld,\"iat\":\"%ld\"", exp, NOW), AUTH_INVALID);
    /* Well-formed, both are fine. */
    assert_int_equal(
        verify_claims(&plain, "\"exp\":%ld,\"nbf\":%ld,\"iat\":%ld", exp, NOW - 1, NOW), AUTH_OK);
}

static void a_lifetime_above_the_maximum_is_refused(void **state)
{
    (void)state;
    long max = AUTH_DEFAULT_MAX_TTL_SECONDS;
    /* exp - iat exactly the maximum: accepted; one second more: refused. */
    assert_int_equal(verify_claims(&plain, "\"iat\":%ld,\"exp\":%ld", NOW, NOW + max), AUTH_OK);
    assert_int_equal(verify_claims(&plain, "\"iat\":%ld,\"exp\":%ld", NOW, NOW + max + 1),
                     AUTH_TOO_LONG);
    /* A ten-year admin token minted a year ago: its lifetime counts, not what is left. */
    long year = 31536000L;
    assert_int_equal(
        verify_claims(&plain, "\"iat\":%ld,\"exp\":%ld", NOW - year, NOW - year + 10 * year),
        AUTH_TOO_LONG);
    /* Without iat, what is left counts: exp - now. */
    assert_int_equal(verify_claims(&plain, "\"exp\":%ld", NOW + max), AUTH_OK);
    assert_int_equal(verify_claims(&plain, "\"exp\":%ld", NOW + max + 1), AUTH_TOO_LONG);
    /* A shorter maximum is the deployment's. */
    const struct auth_policy hour = {.secret = SECRET, .max_ttl = 3600};
    assert_int_equal(verify_claims(&hour, "\"iat\":%ld,\"exp\":%ld", NOW, NOW + 3600), AUTH_OK);
    assert_int_equal(verify_claims(&hour, "\"iat\":%ld,\"exp\":%ld", NOW, NOW + 3601),
                     AUTH_TOO_LONG);
    assert_non_null(strstr(auth_result_message(AUTH_TOO_LONG), "lifetime is too long"));
}

static void minting_keeps_to_the_maximum_lifetime(void **state)
{
    (void)state;
    struct auth_principal p;
    memset(&p, 0, sizeof p);
    p.role = AUTH_ROLE_SERVICE;
    snprintf(p.sub, sizeof p.sub, "svc");
    const struct auth_policy hour = {.secret = SECRET, .max_ttl = 3600};
    char *t = auth_mint(&hour, &p, 3601);
    assert_null(t);
    t = auth_mint(&hour, &p, 3600);
    assert_non_null(t);
    free(t);
    /* An already expired token for tests may still be minted. */
    t = auth_mint(&hour, &p, -5);
    assert_non_null(t);
    free(t);
    assert_int_equal(auth_ttl_within(&hour, 7200), 3600);
    assert_int_equal(auth_ttl_within(&hour, 60), 60);
    assert_int_equal(auth_ttl_within(&plain, 3600), 3600);
}

static void issuer_and_audience_are_checked_when_set(void **state)
{
    (void)state;
    long exp = NOW + 600;
    assert_int_equal(
        verify_claims(&pinned, "\"exp\":%ld,\"iss\":\"%s\",\"aud\":\"%s\"", exp, ISSUER, AUDIENCE),
        AUTH_OK);
    /* aud as an array that holds ours. */
    assert_int_equal(verify_claims(&pinned, "\"exp\":%ld,\"iss\":\"%s\",\"aud\":[\"other\",\"%s\"]",
                                   exp, ISSUER, AUDIENCE),
                     AUTH_OK);
    /* No iss, another iss, iss as an array. */
    assert_int_equal(verify_claims(&pinned, "\"exp\":%ld,\"aud\":\"%s\"", exp, AUDIENCE),
                     AUTH_WRONG_ISSUER);
    assert_int_equal(verify_claims(&pinned,
                                   "\"exp\":%ld,\"iss\":\"https://evil.example\",\"aud\":\"%s\"",
                                   exp, AUDIENCE),
                     AUTH_WRONG_ISSUER);
    assert_int_equal(verify_claims(&pinned, "\"exp\":%ld,\"iss\":[\"%s\"],\"aud\":\"%s\"", exp,
                                   ISSUER, AUDIENCE),
                     AUTH_WRONG_ISSUER);
    /* No aud, another, an array without ours, an empty array, a number. */
    const char *bad_aud[] = {NULL, "\"other\"", "[\"other\"]", "[]", "7"};
    for (size_t i = 0; i < sizeof bad_aud / sizeof bad_aud[0]; i++) {
        if (bad_aud[i])
            assert_int_equal(verify_claims(&pinned, "\"exp\":%ld,\"iss\":\"%s\",\"aud\":%s", exp,
                                           ISSUER, bad_aud[i]),
                             AUTH_WRONG_AUDIENCE);
        else
            assert_int_equal(verify_claims(&pinned, "\"exp\":%ld,\"iss\":\"%s\"", exp, ISSUER),
                             AUTH_WRONG_AUDIENCE);
    }
    /* Unset, neither is looked at. */
    assert_int_equal(
        verify_claims(&plain, "\"exp\":%ld,\"iss\":\"https://evil.example\",\"aud\":7", exp),
        AUTH_OK);
}

static void minted_tokens_carry_the_policy_issuer_and_audience(void **state)
{
    (void)state;
    struct auth_principal p, got;
    memset(&p, 0, sizeof p);
    p.role = AUTH_ROLE_ADMIN;
    snprintf(p.sub, sizeof p.sub, "ops");
    char *t = auth_mint(&pinned, &p, 600);
    char *header = xasprintf("Bearer %s", t);
    assert_int_equal(auth_verify_header(header, &pinned, time(NULL), &got), AUTH_OK);
    free(header);
    free(t);
    /* Minted without them, the pinned policy refuses it. */
    t = auth_mint(&plain, &p, 600);
    header = xasprintf("Bearer %s", t);
    assert_int_equal(auth_verify_header(header, &pinned, time(NULL), &got), AUTH_WRONG_ISSUER);
    free(header);
    free(t);
}

static void malformed_headers(void **state)
{
    (void)state;
    struct auth_principal p;
    time_t now = time(NULL);
    assert_int_equal(auth_verify_header(NULL, &plain, now, &p), AUTH_MISSING);
    assert_int_equal(auth_verify_header("", &plain, now, &p), AUTH_MISSING);
    assert_int_equal(auth_verify_header("Basic abc", &plain, now, &p), AUTH_MISSING);
    assert_int_equal(auth_verify_header("Bearer ", &plain, now, &p), AUTH_MISSING);
    assert_int_equal(auth_verify_header("Bearer garbage", &plain, now, &p), AUTH_INVALID);
    assert_int_equal(auth_verify_header("Bearer a.b.c", &plain, now, &p), AUTH_INVALID);
    assert_int_equal(auth_verify_header("Bearer ...", &plain, now, &p), AUTH_INVALID);
}

static void rights_follow_the_contract(void **state)
{
    (void)state;
    struct auth_principal p;
    memset(&p, 0, sizeof p);
    const char *other = "11111111-2222-3333-4444-555555555555";
    p.role = AUTH_ROLE_ADMIN;
    assert_true(auth_can_read_tenant(&p, TENANT));
    assert_true(auth_can_write_tenant(&p, TENANT));
    p.role = AUTH_ROLE_SERVICE;
    assert_true(auth_can_read_tenant(&p, TENANT));
    assert_false(auth_can_write_tenant(&p, TENANT));
    p.role = AUTH_ROLE_USER;
    snprintf(p.tenant_id, sizeof p.tenant_id, "%s", TENANT);
    enum tenant_role writers[] = {TENANT_ROLE_OWNER, TENANT_ROLE_ADMIN};
    enum tenant_role readers[] = {TENANT_ROLE_MEMBER, TENANT_ROLE_VIEWER};
    for (int i = 0; i < 2; i++) {
        p.tenant_role = writers[i];
        assert_true(auth_can_write_tenant(&p, TENANT));
        assert_false(auth_can_write_tenant(&p, other));
        assert_false(auth_can_read_tenant(&p, other));
        p.tenant_role = readers[i];
        assert_true(auth_can_read_tenant(&p, TENANT));
        assert_false(auth_can_write_tenant(&p, TENANT));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_minted_user_token_verifies),
        cmocka_unit_test(expired_tokens_are_refused),
        cmocka_unit_test(a_remembered_token_is_checked_again),
        cmocka_unit_test(a_wrong_signature_is_refused),
        cmocka_unit_test(alg_none_is_refused),
        cmocka_unit_test(other_algorithms_are_refused),
        cmocka_unit_test(claims_are_required),
        cmocka_unit_test(a_future_nbf_is_refused_beyond_the_clock_skew),
        cmocka_unit_test(a_non_integer_nbf_or_iat_is_invalid),
        cmocka_unit_test(a_lifetime_above_the_maximum_is_refused),
        cmocka_unit_test(minting_keeps_to_the_maximum_lifetime),
        cmocka_unit_test(issuer_and_audience_are_checked_when_set),
        cmocka_unit_test(minted_tokens_carry_the_policy_issuer_and_audience),
        cmocka_unit_test(malformed_headers),
        cmocka_unit_test(rights_follow_the_contract),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
