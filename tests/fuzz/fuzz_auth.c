/* fuzz_auth.c - libFuzzer harness of bearer-token parsing and verification
 * (common/auth.c over libjwt). Modes, by the first input byte:
 *   0, 1  the rest as the Authorization header value (1: after "Bearer ");
 *   2     "HEADER-JSON\nPAYLOAD-JSON" made into a token signed with the right secret, so
 *         the claim checks are reached: an accepted token must say alg HS256 and carry
 *         exactly the claims the principal reports;
 *   3     the same signed with another secret: never accepted;
 *   4     a principal made from the input, minted and verified: the same comes back.
 * Every accepted principal must be well-formed (role, sub, unexpired exp, a user's
 * canonical tenant id and tenant role), and an accepted token of mode 2 must meet the
 * policy (iss, nbf, lifetime). */
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <uuid/uuid.h>

#include "auth.h"
#include "uuidutil.h"

#define SECRET "fuzz-jwt-secret-0123456789abcdef"
#define OTHER_SECRET "not-the-secret-0123456789abcdef"
#define NOW 1700000000L

#define ISSUER "https://auth.example"
#define AUDIENCE "bakery-api"
static const struct auth_policy policy = {.secret = SECRET,
                                          .issuer = ISSUER,
                                          .audience = AUDIENCE,
                                          .max_ttl = AUTH_DEFAULT_MAX_TTL_SECONDS};
static const struct auth_policy other_policy = {.secret = OTHER_SECRET};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok, const char *what)
{
    if (ok)
        return;
    fprintf(stderr, "auth invariant broken: %s\n", what);
    abort();
}

static void check_principal(const struct auth_principal *p, time_t now)
{
    check(p->role == AUTH_ROLE_ADMIN || p->role == AUTH_ROLE_USER || p->role == AUTH_ROLE_SERVICE,
          "unknown role accepted");
    check(p->sub[0] != '\0' && strnlen(p->sub, sizeof p->sub) < sizeof p->sub, "bad sub");
    check(p->exp > (long)now, "expired token accepted");
    if (p->role == AUTH_ROLE_USER) {
        char canon[UUID_STR_LEN];
        check(uuid_is_valid(p->tenant_id, canon) && strcmp(canon, p->tenant_id) == 0,
              "user without a canonical tenant id");
        check(p->tenant_role >= TENANT_ROLE_OWNER && p->tenant_role <= TENANT_ROLE_VIEWER,
              "user without a tenant role");
    }
    /* The rights table must not crash on any accepted principal. */
    (void)auth_can_read_tenant(p, "11111111-1111-4111-8111-111111111111");
    (void)auth_can_write_tenant(p, p->tenant_id);
}

/* base64url without padding, as JWTs use it; the caller frees. */
static char *b64url(const unsigned char *in, size_t len)
{
    char *out = malloc(4 * ((len + 2) / 3) + 1);
    int n = EVP_EncodeBlock((unsigned char *)out, in, (int)len);
    while (n > 0 && out[n - 1] == '=')
        n--;
    out[n] = '\0';
    for (char *c = out; *c; c++) {
        if (*c == '+')
            *c = '-';
        else if (*c == '/')
            *c = '_';
    }
    return out;
}

/* "Bearer h.p.sig" over the two JSON texts, signed HS256 with secret; the caller frees. */
static char *signed_header(const char *header, size_t hlen, const char *payload, size_t plen,
                           const char *secret)
{
    char *h = b64url((const unsigned char *)header, hlen);
    char *p = b64url((const unsigned char *)payload, plen);
    size_t ilen = strlen(h) + 1 + strlen(p);
    char *input = malloc(ilen + 1);
    snprintf(input, ilen + 1, "%s.%s", h, p);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)input, ilen, mac,
         &maclen);
    char *sig = b64url(mac, maclen);
    size_t tlen = 7 + ilen + 1 + strlen(sig);
    char *token = malloc(tlen + 1);
    snprintf(token, tlen + 1, "Bearer %s.%s", input, sig);
    free(h);
    free(p);
    free(input);
    free(sig);
    return token;
}

/* An accepted token of mode 2: its own JSON must say what the principal says. */
static void check_claims(const char *header, size_t hlen, const char *payload, size_t plen,
                         const struct auth_principal *p)
{
    /* libjwt reads each decoded segment as a C string: bytes after a NUL do not count
     * (harmless: only the secret's holder can sign such a token). */
    json_t *h = json_loadb(header, strnlen(header, hlen), 0, NULL);
    json_t *c = json_loadb(payload, strnlen(payload, plen), 0, NULL);
    check(h && c, "accepted a token whose JSON does not parse");
    const char *alg = json_string_value(json_object_get(h, "alg"));
    check(alg && strcmp(alg, "HS256") == 0, "accepted an algorithm other than HS256");
    const char *sub = json_string_value(json_object_get(c, "sub"));
    check(sub && strcmp(sub, p->sub) == 0, "sub differs from the claim");
    const char *role = json_string_value(json_object_get(c, "role"));
    check(role && strcmp(role, auth_role_name(p->role)) == 0, "role differs from the claim");
    const json_t *exp = json_object_get(c, "exp");
    check(json_is_integer(exp) && json_integer_value(exp) == p->exp, "exp differs from the claim");
    const char *iss = json_string_value(json_object_get(c, "iss"));
    check(iss && strcmp(iss, ISSUER) == 0, "accepted another issuer");
    const json_t *nbf = json_object_get(c, "nbf");
    check(!nbf ||
              (json_is_integer(nbf) && json_integer_value(nbf) <= NOW + AUTH_CLOCK_SKEW_SECONDS),
          "accepted a future or malformed nbf");
    const json_t *iat = json_object_get(c, "iat");
    check(!iat || json_is_integer(iat), "accepted a malformed iat");
    long long from = iat ? json_integer_value(iat) : NOW;
    check(json_integer_value(exp) - from <= AUTH_DEFAULT_MAX_TTL_SECONDS,
          "accepted a lifetime above the maximum");
    if (p->role == AUTH_ROLE_USER) {
        const char *tenant = json_string_value(json_object_get(c, "tenant_id"));
        check(tenant && strcasecmp(tenant, p->tenant_id) == 0, "tenant_id differs");
        const char *tr = json_string_value(json_object_get(c, "tenant_role"));
        check(tr && strcmp(tr, auth_tenant_role_name(p->tenant_role)) == 0, "tenant_role differs");
    }
    json_decref(h);
    json_decref(c);
}

static void mint_and_verify(const uint8_t *data, size_t size)
{
    struct auth_principal p, got;
    memset(&p, 0, sizeof p);
    if (size < 20)
        return;
    p.role = (enum auth_role)(1 << (data[0] % 3));
    p.tenant_role = (enum tenant_role)(1 + data[1] % 4);
    long ttl = 1 + (long)(data[2] % 200) * 60;
    uuid_t u;
    memcpy(u, data + 3, 16);
    if (p.role == AUTH_ROLE_USER)
        uuid_unparse_lower(u, p.tenant_id);
    size_t n = size - 19 < sizeof p.sub - 1 ? size - 19 : sizeof p.sub - 1;
    memcpy(p.sub, data + 19, n);
    p.sub[n] = '\0';
    if (!p.sub[0])
        return;

    time_t now = time(NULL);
    char *token = auth_mint(&policy, &p, ttl);
    if (!token)
        return; /* claims jansson cannot encode (a sub that is not UTF-8) */
    size_t tlen = strlen(token);
    char *header = malloc(tlen + 8);
    snprintf(header, tlen + 8, "Bearer %s", token);
    enum auth_result r = auth_verify_header(header, &policy, now, &got);
    check(r == AUTH_OK, "a freshly minted token is refused");
    check_principal(&got, now);
    check(strcmp(got.sub, p.sub) == 0 && got.role == p.role, "sub or role changed on the way");
    if (p.role == AUTH_ROLE_USER)
        check(strcmp(got.tenant_id, p.tenant_id) == 0 && got.tenant_role == p.tenant_role,
              "tenant changed on the way");
    check(auth_verify_header(header, &other_policy, now, &got) == AUTH_INVALID,
          "a token verified under another secret");
    free(header);
    free(token);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct auth_principal p;
    if (size == 0)
        return 0;
    uint8_t mode = data[0] % 5;
    const char *rest = (const char *)data + 1;
    size_t len = size - 1;

    if (mode == 4) {
        mint_and_verify(data + 1, len);
        return 0;
    }
    if (mode <= 1) {
        size_t pre = mode == 1 ? 7 : 0;
        char *header = malloc(pre + len + 1);
        memcpy(header, "Bearer ", pre);
        memcpy(header + pre, rest, len);
        header[pre + len] = '\0';
        if (auth_verify_header(header, &policy, NOW, &p) == AUTH_OK)
            check_principal(&p, NOW);
        free(header);
        return 0;
    }
    const char *nl = memchr(rest, '\n', len);
    if (!nl)
        return 0;
    size_t hlen = (size_t)(nl - rest);
    const char *payload = nl + 1;
    size_t plen = len - hlen - 1;
    char *header = signed_header(rest, hlen, payload, plen, mode == 2 ? SECRET : OTHER_SECRET);
    enum auth_result r = auth_verify_header(header, &policy, NOW, &p);
    if (mode == 3)
        check(r != AUTH_OK, "accepted a token signed with another secret");
    if (r == AUTH_OK) {
        check_principal(&p, NOW);
        check_claims(rest, hlen, payload, plen, &p);
    }
    free(header);
    return 0;
}
