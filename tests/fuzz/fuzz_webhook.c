/* fuzz_webhook.c - libFuzzer harness of the webhook's signature check (common/hmac.c) and
 * payload parsing (services/notification/api/webhook_parse.c). An input starting with a line
 * "sha256=..." has that line checked as X-Hub-Signature-256 over the rest: it must be
 * accepted exactly when it is the HMAC of the rest in hex of either case. The body is then
 * parsed: every status kept must have a wamid, a known status and a timestamp in range;
 * every inbound message an E.164 sender and a receiving number. */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "e164.h"
#include "hmac.h"
#include "log.h"
#include "uuidutil.h"
#include "api/webhook_parse.h"

#define APP_SECRET "fuzz-app-secret"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static void check(bool ok, const char *what)
{
    if (ok)
        return;
    fprintf(stderr, "webhook invariant broken: %s\n", what);
    abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    log_init("fuzz", LOG_ERROR); /* bad items are logged as warnings */
    return 0;
}

static void check_signature(const char *header, const char *body, size_t len)
{
    char want[HMAC_SHA256_HEX_LEN];
    check(hmac_sha256_hex(APP_SECRET, strlen(APP_SECRET), body, len, want) == 0, "no HMAC");
    bool expected = strlen(header) == 71 && strcasecmp(header + 7, want) == 0;
    check(hmac_sha256_verify_header(header, APP_SECRET, body, len) == expected,
          "signature check disagrees with the HMAC");
}

static void check_batch(const struct webhook_batch *b)
{
    static const char *const known[] = {"sent", "delivered", "read", "failed"};
    for (size_t i = 0; i < b->n; i++) {
        const struct webhook_status *e = &b->ev[i];
        check(e->wamid && e->wamid[0] && strlen(e->wamid) <= WEBHOOK_WAMID_MAX, "bad wamid kept");
        bool ok = false;
        for (size_t k = 0; k < 4; k++)
            ok = ok || (e->status && strcmp(e->status, known[k]) == 0);
        check(ok, "unknown status kept");
        check(e->ts >= 0 && e->ts <= 253402300799LL, "timestamp out of range");
        check(!e->callback_id || uuid_is_valid(e->callback_id, NULL), "callback not a UUID");
        check(!e->error_message || e->error_message[0], "empty error message");
        check(!e->has_error_code || strcmp(e->status, "failed") == 0, "error code on success");
    }
    for (size_t i = 0; i < b->nin; i++) {
        const struct inbound *in = &b->in[i];
        char again[E164_MAX];
        check(e164_normalize(in->from, again) && strcmp(again, in->from) == 0,
              "sender not in E.164");
        check(in->phone_number_id != NULL, "inbound without its receiving number");
        check(in->action == INBOUND_OTHER || in->action == INBOUND_OPT_OUT ||
                  in->action == INBOUND_OPT_IN,
              "unknown action");
    }
    check(b->statuses_invalid >= 0 && b->statuses_unknown >= 0 && b->inbound_invalid >= 0,
          "negative counts");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *raw = (const char *)data;
    size_t len = size;

    if (size >= 7 && memcmp(data, "sha256=", 7) == 0) {
        const char *nl = memchr(data, '\n', size);
        if (!nl)
            return 0;
        size_t hlen = (size_t)(nl - raw);
        char *header = malloc(hlen + 1);
        memcpy(header, raw, hlen);
        header[hlen] = '\0';
        raw = nl + 1;
        len = size - hlen - 1;
        check_signature(header, raw, len);
        free(header);
    }
    /* An exact-size copy: the body is not NUL-terminated for the parser. */
    char *body = malloc(len ? len : 1);
    memcpy(body, raw, len);
    struct webhook_batch b;
    memset(&b, 0, sizeof b);
    char err[160];
    if (webhook_parse(body, len, &b, err, sizeof err))
        check_batch(&b);
    else
        check(err[0] != '\0', "refused without a reason");
    webhook_batch_free(&b);
    free(body);
    return 0;
}
