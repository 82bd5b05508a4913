/* alloc.h - allocation wrappers that abort on out-of-memory, and a growable byte buffer.
 *
 * A service that cannot allocate a few bytes cannot do anything useful either; aborting
 * keeps every call site free of impossible-to-test error paths. */
#ifndef COMMON_ALLOC_H
#define COMMON_ALLOC_H

#include <stdarg.h>
#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *ptr, size_t size);
/* Returns a fresh copy of s (NULL stays NULL); the caller frees it. */
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* Returns a freshly allocated formatted string; the caller frees it. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A growable byte buffer, always NUL-terminated after its len bytes. */
struct buf {
    char *data;
    size_t len;
    size_t cap;
};

void buf_append(struct buf *b, const void *data, size_t len);
void buf_append_str(struct buf *b, const char *s);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
void buf_reset(struct buf *b);
/* Hands the bytes to the caller (who frees them) and leaves b empty. */
char *buf_steal(struct buf *b);
void buf_free(struct buf *b);

#endif
