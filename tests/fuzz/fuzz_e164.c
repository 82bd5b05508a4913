/* fuzz_e164.c - libFuzzer harness of E.164 normalization (common/e164.c). An accepted
 * number must be '+' and 8 to 15 digits, the first not 0, made of exactly the input's
 * digits (less a "00" prefix), from input holding only separators; and normalizing it
 * again must give it back unchanged. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e164.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok, const char *what, const char *in, const char *out)
{
    if (ok)
        return;
    fprintf(stderr, "e164 invariant broken: %s\nin: \"%s\"\nout: \"%s\"\n", what, in, out);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = malloc(size + 1);
    memcpy(in, data, size);
    in[size] = '\0';
    char *out = malloc(E164_MAX); /* exact size: ASan sees any write past it */

    if (e164_normalize(in, out)) {
        size_t n = strnlen(out, E164_MAX);
        check(n < E164_MAX, "not NUL-terminated within E164_MAX", in, "");
        check(out[0] == '+', "no leading +", in, out);
        check(n >= 9 && n <= 16, "not 8 to 15 digits", in, out);
        check(out[1] >= '1' && out[1] <= '9', "first digit 0", in, out);
        check(strspn(out + 1, "0123456789") == n - 1, "not only digits", in, out);

        /* The input: spaces, then '+' or "00", then digits and separators only. */
        const char *s = in + strspn(in, " ");
        bool double_zero = s[0] != '+';
        check(s[0] == '+' || (s[0] == '0' && s[1] == '0'), "no + or 00 prefix", in, out);
        s += double_zero ? 2 : 1;
        check(strspn(s, "0123456789 -.()") == strlen(s), "odd bytes accepted", in, out);
        char digits[64];
        size_t nd = 0;
        for (; *s && nd < sizeof digits - 1; s++) {
            if (*s >= '0' && *s <= '9')
                digits[nd++] = *s;
        }
        digits[nd] = '\0';
        check(strcmp(digits, out + 1) == 0, "digits changed", in, out);

        char *again = malloc(E164_MAX);
        check(e164_normalize(out, again), "normalized form refused", in, out);
        check(strcmp(again, out) == 0, "not idempotent", in, out);
        free(again);
    }
    free(out);
    free(in);
    return 0;
}
