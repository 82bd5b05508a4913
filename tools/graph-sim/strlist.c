/* strlist.c - comma-separated lists and lists of allowed names, read one way everywhere
 * in graph-sim. */
#include "strlist.h"

#include <stdio.h>
#include <string.h>

bool strlist_next(const char **cursor, const char **item, size_t *len)
{
    const char *s = *cursor;
    if (!s || !*s)
        return false;
    *item = s;
    *len = strcspn(s, ",");
    s += *len;
    if (*s == ',')
        s++;
    *cursor = s;
    return true;
}

void strlist_trim(const char **item, size_t *len)
{
    while (*len && **item == ' ') {
        (*item)++;
        (*len)--;
    }
    while (*len && (*item)[*len - 1] == ' ')
        (*len)--;
}

bool strlist_has(const char *list, const char *word)
{
    size_t wlen = strlen(word);
    const char *item;
    size_t len;
    while (strlist_next(&list, &item, &len)) {
        strlist_trim(&item, &len);
        if (len == wlen && wlen && strncmp(item, word, wlen) == 0)
            return true;
    }
    return false;
}

size_t strlist_find(const char *const *names, size_t n, const char *item, size_t len)
{
    size_t i = 0;
    while (i < n && !(strlen(names[i]) == len && strncmp(names[i], item, len) == 0))
        i++;
    return i;
}

bool strlist_one_of(const char *s, const char *const *names, size_t n)
{
    return strlist_find(names, n, s, strlen(s)) < n;
}

const char *strlist_unknown_key(const json_t *obj, const char *const *known, size_t n)
{
    const char *key;
    const json_t *v;
    json_object_foreach ((json_t *)obj, key, v) {
        if (!strlist_one_of(key, known, n))
            return key;
    }
    return NULL;
}

bool strlist_fields(const char *fields, const struct strlist_bit *table, size_t n, bool cut_braces,
                    unsigned *mask, char *bad, size_t badlen)
{
    const char *name;
    size_t len;
    while (strlist_next(&fields, &name, &len)) {
        strlist_trim(&name, &len);
        const char *brace = cut_braces ? memchr(name, '{', len) : NULL;
        if (brace) {
            len = (size_t)(brace - name);
            strlist_trim(&name, &len);
        }
        if (!len)
            continue;
        size_t i = 0;
        while (i < n && !(strlen(table[i].name) == len && strncmp(table[i].name, name, len) == 0))
            i++;
        if (i == n) {
            snprintf(bad, badlen, "%.*s", (int)(len > 64 ? 64 : len), name);
            return false;
        }
        *mask |= table[i].bit;
    }
    return true;
}
