/* strlist.h - the lists of names graph-sim reads: comma-separated ones ("id, name,status"
 * in fields=, GRAPH_SIM_* variables and settings) and arrays of allowed names. */
#ifndef SIM_STRLIST_H
#define SIM_STRLIST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Steps through a comma-separated list. *cursor is the rest of the list (NULL counts as
 * empty). Returns false at its end; otherwise points *item at the next item, *len
 * characters long and untrimmed (possibly empty), and moves *cursor past it and its
 * comma. The item points into the list. */
bool strlist_next(const char **cursor, const char **item, size_t *len);
/* Narrows item/len to leave out the spaces at both ends. */
void strlist_trim(const char **item, size_t *len);
/* True when the comma-separated list (NULL = empty) names word, spaces around items
 * ignored; an empty word is never named. */
bool strlist_has(const char *list, const char *word);
/* The index of the name of names (n of them) equal to the len characters at item, or n
 * when there is none. */
size_t strlist_find(const char *const *names, size_t n, const char *item, size_t len);
/* True when s is one of names (n of them). */
bool strlist_one_of(const char *s, const char *const *names, size_t n);
/* The first key of obj that is not one of known (n of them), or NULL when every key is;
 * borrowed from obj. */
const char *strlist_unknown_key(const json_t *obj, const char *const *known, size_t n);

/* A name of a "fields" argument and the bit it sets. */
struct strlist_bit {
    const char *name;
    unsigned bit;
};

/* Sets in *mask the bits of the comma-separated names of fields, looked up in table (n
 * rows); spaces around names are ignored and, with cut_braces, a sub-selection such as
 * throughput{level} counts as its name. Returns false, with the unknown name (at most 64
 * characters) in bad, when a name is not in the table. */
bool strlist_fields(const char *fields, const struct strlist_bit *table, size_t n, bool cut_braces,
                    unsigned *mask, char *bad, size_t badlen);

#endif
