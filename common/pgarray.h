/* pgarray.h - PostgreSQL array literals ("{...}") built in a buf: how a batch travels as
 * one text parameter per column, unnested on the server ("unnest($1::uuid[], ...)"), so
 * that it costs one round trip. */
#ifndef COMMON_PGARRAY_H
#define COMMON_PGARRAY_H

#include <stdbool.h>

#include "alloc.h"

/* Empties b and opens an array: "{". */
void pgarray_open(struct buf *b);
/* Appends s, double-quoted with its backslashes and double quotes escaped; NULL becomes
 * an unquoted NULL element. */
void pgarray_add(struct buf *b, const char *s);
/* Appends v, or NULL when null is set. */
void pgarray_add_long(struct buf *b, long long v, bool null);
/* Closes the array: "}". b->data is then the literal. */
void pgarray_close(struct buf *b);

#endif
