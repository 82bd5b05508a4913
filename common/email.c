/* email.c - one check of an e-mail address for both services. */
#include "email.h"

#include <string.h>

static bool in_range(char c, char lo, char hi)
{
    return c >= lo && c <= hi;
}

bool email_address_valid(const char *s)
{
    static const char local_extra[] = "!#$%&'*+/=?^_`{|}~.-";
    if (!s || strlen(s) > EMAIL_ADDRESS_MAX)
        return false;
    const char *at = strchr(s, '@');
    if (!at || at == s || at - s > 64 || strchr(at + 1, '@'))
        return false;
    for (const char *p = s; p < at; p++) {
        if (!(in_range(*p, 'a', 'z') || in_range(*p, 'A', 'Z') || in_range(*p, '0', '9') ||
              strchr(local_extra, *p)))
            return false;
        if (*p == '.' && (p == s || p + 1 == at || p[1] == '.'))
            return false;
    }
    const char *label = at + 1;
    size_t labels = 0;
    bool tld_alpha = false;
    for (;;) {
        size_t n = strspn(label, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-");
        if (n == 0 || n > 63 || label[0] == '-' || label[n - 1] == '-')
            return false;
        labels++;
        tld_alpha = true;
        for (size_t i = 0; i < n; i++) {
            if (!(in_range(label[i], 'a', 'z') || in_range(label[i], 'A', 'Z')))
                tld_alpha = false;
        }
        if (label[n] == '\0')
            break;
        if (label[n] != '.')
            return false;
        label += n + 1;
    }
    return labels >= 2 && tld_alpha;
}
