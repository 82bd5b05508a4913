/* hmac.c - HMAC-SHA256 hex digests and webhook signature checks. */
#include "hmac.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>
#include <strings.h>

#include "hex.h"

int hmac_sha256_hex(const char *key, size_t keylen, const void *data, size_t len,
                    char out[HMAC_SHA256_HEX_LEN])
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;

    out[0] = '\0';
    if (keylen > (size_t)2147483647)
        return -1;
    if (!HMAC(EVP_sha256(), key, (int)keylen, data, len, mac, &maclen) || maclen != 32)
        return -1;
    hex_encode(mac, maclen, out);
    return 0;
}

bool hmac_sha256_verify_header(const char *header, const char *key, const void *data, size_t len)
{
    char want[HMAC_SHA256_HEX_LEN];
    char got[HMAC_SHA256_HEX_LEN];

    if (!header || !key || strncmp(header, "sha256=", 7) != 0 || strlen(header + 7) != 64)
        return false;
    if (hmac_sha256_hex(key, strlen(key), data, len, want) != 0)
        return false;
    for (size_t i = 0; i < 64; i++) {
        char c = header[7 + i];
        got[i] = (c >= 'A' && c <= 'F') ? (char)(c - 'A' + 'a') : c;
    }
    got[64] = '\0';
    return CRYPTO_memcmp(want, got, 64) == 0;
}
