/* pgarray.c - array literal elements, comma-separated after the opening brace. */
#include "pgarray.h"

#include <stdio.h>
#include <string.h>

void pgarray_open(struct buf *b)
{
    buf_reset(b);
    buf_append(b, "{", 1);
}

void pgarray_add(struct buf *b, const char *s)
{
    if (b->len > 1)
        buf_append(b, ",", 1);
    if (!s) {
        buf_append_str(b, "NULL");
        return;
    }
    buf_append(b, "\"", 1);
    while (*s) {
        size_t run = strcspn(s, "\"\\");
        buf_append(b, s, run);
        s += run;
        if (*s) {
            char esc[2] = {'\\', *s++};
            buf_append(b, esc, 2);
        }
    }
    buf_append(b, "\"", 1);
}

void pgarray_add_long(struct buf *b, long long v, bool null)
{
    char num[24];
    snprintf(num, sizeof num, "%lld", v);
    pgarray_add(b, null ? NULL : num);
}

void pgarray_close(struct buf *b)
{
    buf_append(b, "}", 1);
}
