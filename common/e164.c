/* e164.c - phone number normalization. */
#include "e164.h"

#include <stddef.h>

bool e164_normalize(const char *in, char out[E164_MAX])
{
    if (!in)
        return false;
    size_t digits = 0;
    bool plus = false;
    const char *s = in;
    while (*s == ' ')
        s++;
    if (*s == '+') {
        plus = true;
        s++;
    } else if (s[0] == '0' && s[1] == '0') {
        plus = true;
        s += 2;
    }
    if (!plus)
        return false;
    out[0] = '+';
    for (; *s; s++) {
        char c = *s;
        if (c == ' ' || c == '-' || c == '.' || c == '(' || c == ')')
            continue;
        if (c < '0' || c > '9')
            return false;
        if (digits == 0 && c == '0')
            return false;
        if (digits == 15)
            return false;
        out[1 + digits++] = c;
    }
    if (digits < 8)
        return false;
    out[1 + digits] = '\0';
    return true;
}
