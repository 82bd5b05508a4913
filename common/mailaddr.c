/* mailaddr.c - email address checks (mailaddr.h). Pure: unit-tested and fuzzable. */
#include "mailaddr.h"

#include <string.h>

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool local_ok(const char *s, size_t n)
{
    static const char atext[] = "!#$%&'*+/=?^_`{|}~-";
    if (n == 0 || n > 64 || s[0] == '.' || s[n - 1] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '.') {
            if (s[i + 1] == '.')
                return false;
        } else if (!is_alpha(c) && !is_digit(c) && !strchr(atext, c)) {
            return false;
        }
    }
    return true;
}

static bool domain_ok(const char *s, size_t n)
{
    size_t labels = 0, start = 0;
    if (n == 0 || n > 253)
        return false;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && s[i] != '.') {
            if (!is_alpha(s[i]) && !is_digit(s[i]) && s[i] != '-')
                return false;
            continue;
        }
        size_t len = i - start;
        if (len == 0 || len > 63 || s[start] == '-' || s[i - 1] == '-')
            return false;
        labels++;
        if (i == n) { /* the top-level domain: letters only, two or more */
            if (len < 2)
                return false;
            for (size_t k = start; k < i; k++)
                if (!is_alpha(s[k]))
                    return false;
        }
        start = i + 1;
    }
    return labels >= 2;
}

bool mailaddr_normalize(const char *in, char out[MAILADDR_MAX])
{
    if (!in)
        return false;
    while (*in == ' ')
        in++;
    size_t n = strlen(in);
    while (n && in[n - 1] == ' ')
        n--;
    if (n == 0 || n >= MAILADDR_MAX)
        return false;
    const char *at = memchr(in, '@', n);
    if (!at || memchr(at + 1, '@', n - (size_t)(at - in) - 1))
        return false;
    size_t local = (size_t)(at - in);
    if (!local_ok(in, local) || !domain_ok(at + 1, n - local - 1))
        return false;
    memcpy(out, in, n);
    out[n] = '\0';
    for (size_t i = local + 1; i < n; i++)
        if (out[i] >= 'A' && out[i] <= 'Z')
            out[i] = (char)(out[i] - 'A' + 'a');
    return true;
}

bool mailaddr_valid(const char *s)
{
    char out[MAILADDR_MAX];
    return s && *s && s[0] != ' ' && s[strlen(s) - 1] != ' ' && mailaddr_normalize(s, out);
}
