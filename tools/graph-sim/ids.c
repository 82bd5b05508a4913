/* ids.c - Meta-shaped identifiers built from counters and the seeded PRNG; base64 comes
 * from libcrypto. */
#include "ids.h"

#include <openssl/evp.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "sim.h"

static _Atomic uint64_t wamid_counter;
static _Atomic uint64_t numeric_counter;
static _Atomic unsigned generation;

void ids_new_generation(void)
{
    atomic_fetch_add(&generation, 1);
}

char *ids_base64url(const void *data, size_t len, char *out, size_t outlen)
{
    unsigned char tmp[512];
    if (len > 300 || outlen < 4 * ((len + 2) / 3) + 1) {
        if (outlen)
            out[0] = '\0';
        return out;
    }
    int n = EVP_EncodeBlock(tmp, data, (int)len);
    size_t j = 0;
    for (int i = 0; i < n && tmp[i] != '='; i++) {
        char c = (char)tmp[i];
        out[j++] = c == '+' ? '-' : c == '/' ? '_' : c;
    }
    out[j] = '\0';
    return out;
}

long ids_unbase64url(const char *s, char *out, size_t outlen)
{
    unsigned char in[512];
    unsigned char dec[400];
    size_t n = strlen(s);
    if (n == 0 || n > 400 || n % 4 == 1)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '-')
            c = '+';
        else if (c == '_')
            c = '/';
        else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
            return -1;
        in[i] = (unsigned char)c;
    }
    size_t pad = (4 - n % 4) % 4;
    for (size_t i = 0; i < pad; i++)
        in[n + i] = '=';
    int m = EVP_DecodeBlock(dec, in, (int)(n + pad));
    if (m < 0)
        return -1;
    size_t len = (size_t)m - pad;
    if (len + 1 > outlen)
        return -1;
    memcpy(out, dec, len);
    out[len] = '\0';
    return (long)len;
}

void ids_wamid(const char *wa_id, char out[IDS_WAMID_MAX])
{
    unsigned char raw[64];
    char hex[24];
    size_t n = strlen(wa_id);
    size_t pos = 0;

    if (n > 20)
        n = 20;
    uint64_t c = atomic_fetch_add(&wamid_counter, 1);
    uint64_t unique = prng_mix(c ^ prng_mix(prng_current_seed(&sim_rng)));
    snprintf(hex, sizeof hex, "%02X%016llX", atomic_load(&generation) & 0xff,
             (unsigned long long)unique);
    /* The layout of Meta's ids: a protobuf-like record holding the wa_id and a hex id. */
    raw[pos++] = 0x1c;
    raw[pos++] = 0x18;
    raw[pos++] = (unsigned char)n;
    memcpy(raw + pos, wa_id, n);
    pos += n;
    raw[pos++] = 0x15;
    raw[pos++] = 0x02;
    raw[pos++] = 0x00;
    raw[pos++] = 0x11;
    raw[pos++] = 0x18;
    raw[pos++] = 0x12;
    memcpy(raw + pos, hex, 18);
    pos += 18;
    raw[pos++] = 0x00;
    /* Standard base64 with padding, as in Meta's ids ("wamid.HBgL...ADAA="). */
    memcpy(out, "wamid.", 6);
    EVP_EncodeBlock((unsigned char *)out + 6, raw, (int)pos);
}

void ids_fbtrace(char out[IDS_FBTRACE_LEN])
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    uint64_t draws[3] = {prng_next(&sim_rng), prng_next(&sim_rng), prng_next(&sim_rng)};
    for (int i = 0; i < 23; i++) {
        uint64_t *src = &draws[i / 10]; /* ten 6-bit digits per 64-bit draw */
        out[i] = alphabet[*src & 63];
        *src >>= 6;
    }
    out[23] = '\0';
}

void ids_numeric(char out[IDS_NUMERIC_LEN])
{
    uint64_t c = atomic_fetch_add(&numeric_counter, 1);
    uint64_t v = prng_mix(c ^ 0x5bd1e995ULL ^ ((uint64_t)atomic_load(&generation) << 40));
    snprintf(out, IDS_NUMERIC_LEN, "1%015llu", (unsigned long long)(v % 1000000000000000ULL));
}
