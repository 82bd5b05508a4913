/* hmac.h - HMAC-SHA256 as lowercase hex over OpenSSL libcrypto, and the check of Meta's
 * "X-Hub-Signature-256: sha256=<hex>" webhook header. */
#ifndef COMMON_HMAC_H
#define COMMON_HMAC_H

#include <stdbool.h>
#include <stddef.h>

#define HMAC_SHA256_HEX_LEN 65 /* 64 hex digits and the NUL */

/* Writes the lowercase hex HMAC-SHA256 of data under key into out. Returns 0, or -1 when
 * libcrypto fails (out is then an empty string). */
int hmac_sha256_hex(const char *key, size_t keylen, const void *data, size_t len,
                    char out[HMAC_SHA256_HEX_LEN]) __attribute__((warn_unused_result));

/* True when header is "sha256=<hex>" (hex in either case) and matches the HMAC-SHA256 of
 * the raw bytes data under key. The comparison takes the same time wherever it differs. */
bool hmac_sha256_verify_header(const char *header, const char *key, const void *data, size_t len);

#endif
