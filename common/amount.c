/* amount.c - decimal text to "1.250,00 €" / "€1,250.00", digit by digit: the amount is
 * kept as its digit string and a decimal point position, rounded to cents on the digits. */
#include "amount.h"

#include <stdbool.h>
#include <string.h>

#define MAX_INPUT_DIGITS 64
#define MAX_EXPONENT 64
#define MAX_INT_DIGITS 40
/* Cents as digits: a carry digit, up to MAX_INPUT_DIGITS + 2 * MAX_EXPONENT positions. */
#define SCALED_MAX (1 + MAX_INPUT_DIGITS + 2 * MAX_EXPONENT + 4)

/* A parsed amount: value = 0.d1d2d3... * 10^point, negated when negative. */
struct decimal {
    bool negative;
    char digits[MAX_INPUT_DIGITS];
    long ndigits;
    long point;
};

/* An output cursor that refuses to overrun. */
struct writer {
    char *out;
    size_t len, cap;
    bool overflow;
};

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int parse(const char *s, struct decimal *d)
{
    long nint = 0, exponent = 0;
    bool exp_negative = false;

    memset(d, 0, sizeof(*d));
    if (*s == '-') {
        d->negative = true;
        s++;
    }
    for (; is_digit(*s); s++, nint++) {
        if (d->ndigits == MAX_INPUT_DIGITS)
            return -1;
        d->digits[d->ndigits++] = *s;
    }
    if (*s == '.') {
        for (s++; is_digit(*s); s++) {
            if (d->ndigits == MAX_INPUT_DIGITS)
                return -1;
            d->digits[d->ndigits++] = *s;
        }
    }
    if (d->ndigits == 0)
        return -1;
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '-' || *s == '+')
            exp_negative = *s++ == '-';
        if (!is_digit(*s))
            return -1;
        for (; is_digit(*s); s++) {
            exponent = exponent * 10 + (*s - '0');
            if (exponent > MAX_EXPONENT)
                return -1;
        }
    }
    if (*s != '\0')
        return -1;
    d->point = nint + (exp_negative ? -exponent : exponent);
    return 0;
}

/* The digit at position i of d (positions before 0 or after the last are zeros). */
static char digit_at(const struct decimal *d, long i)
{
    return i >= 0 && i < d->ndigits ? d->digits[i] : '0';
}

/* Writes the amount in cents, rounded half away from zero, into scaled as digits without
 * leading zeros but at least three ("005" is 0.05). Returns the digit count, or -1 when
 * it does not fit. */
static long to_cents(const struct decimal *d, char scaled[SCALED_MAX])
{
    long lo = d->point - 1 < 0 ? d->point - 1 : 0; /* the units digit at least */
    long hi = d->point + 2;                        /* one past the hundredths */
    long n = hi - lo;
    if (n + 1 > SCALED_MAX - 1)
        return -1;
    scaled[0] = '0'; /* room for a carry */
    for (long i = 0; i < n; i++)
        scaled[1 + i] = digit_at(d, lo + i);
    n++;
    if (digit_at(d, hi) >= '5') {
        long i = n - 1;
        while (scaled[i] == '9')
            scaled[i--] = '0';
        scaled[i]++;
    }
    long skip = 0;
    while (n - skip > 3 && scaled[skip] == '0')
        skip++;
    memmove(scaled, scaled + skip, (size_t)(n - skip));
    return n - skip;
}

static void put(struct writer *w, const char *s, size_t n)
{
    if (w->overflow || w->len + n >= w->cap) {
        w->overflow = true;
        return;
    }
    memcpy(w->out + w->len, s, n);
    w->len += n;
}

static void put_str(struct writer *w, const char *s)
{
    put(w, s, strlen(s));
}

/* Writes the integer digits with a separator every three from the right. */
static void put_grouped(struct writer *w, const char *digits, long n, char separator)
{
    for (long i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            put(w, &separator, 1);
        put(w, &digits[i], 1);
    }
}

static bool english(const char *language)
{
    return strncmp(language, "en", 2) == 0 &&
           (language[2] == '\0' || language[2] == '_' || language[2] == '-');
}

static bool valid_currency(const char *c)
{
    for (int i = 0; i < 3; i++) {
        if (c[i] < 'A' || c[i] > 'Z')
            return false;
    }
    return c[3] == '\0';
}

int amount_format(const char *amount, const char *currency, const char *language, char *out,
                  size_t outlen)
{
    struct decimal d;
    char scaled[SCALED_MAX];
    struct writer w = {out, 0, outlen, false};
    int rc = -1;

    if (!out || outlen == 0)
        return -1;
    out[0] = '\0';
    if (!amount || !currency || !language || !valid_currency(currency) || parse(amount, &d))
        goto out;
    long n = to_cents(&d, scaled);
    if (n < 0 || n - 2 > MAX_INT_DIGITS)
        goto out;
    bool zero = true;
    for (long i = 0; i < n; i++)
        zero = zero && scaled[i] == '0';
    const char *sign = d.negative && !zero ? "-" : "";
    bool euro = strcmp(currency, "EUR") == 0;

    put_str(&w, sign);
    if (english(language)) {
        put_str(&w, euro ? "€" : currency);
        if (!euro)
            put_str(&w, " ");
        put_grouped(&w, scaled, n - 2, ',');
        put_str(&w, ".");
        put(&w, scaled + n - 2, 2);
    } else {
        put_grouped(&w, scaled, n - 2, '.');
        put_str(&w, ",");
        put(&w, scaled + n - 2, 2);
        put_str(&w, " ");
        put_str(&w, euro ? "€" : currency);
    }
    if (w.overflow)
        goto out;
    out[w.len] = '\0';
    rc = 0;
out:
    if (rc)
        out[0] = '\0';
    return rc;
}
