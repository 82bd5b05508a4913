/* settings_cache.h - the settings documents this instance has read, kept in memory so that
 * a GET needs no database round trip. Bounded (SETTINGS_CACHE_ENTRIES, the least recently
 * read goes first); it answers only while settings_readers.c says it may (its lease runs
 * and it has applied every change the lease promises), and never keeps a document read
 * before a change it has applied: a read takes a ticket before it asks the database, and
 * its document is kept only if no change was applied since. Thread-safe. */
#ifndef TENANT_SETTINGS_CACHE_H
#define TENANT_SETTINGS_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "uuidutil.h"

/* max_entries 0: no cache (every call below then does nothing, get always misses). */
void settings_cache_init(long max_entries);
/* Frees every entry (after the last request and the keeper's stop). */
void settings_cache_free(void);
bool settings_cache_enabled(void);

/* A copy of tenant_id's document (the caller frees it; *len its length), or NULL when it
 * is not cached or the cache may not answer now. Counts a hit or a miss. */
char *settings_cache_get(const char *tenant_id, size_t *len);
/* Taken before reading a document from the database, handed to settings_cache_put(). */
uint64_t settings_cache_ticket(void);
/* Keeps a copy of doc, read from the database after ticket was taken, unless a change
 * was applied since (then it may be older than that change). */
void settings_cache_put(const char *tenant_id, const char *doc, uint64_t ticket);

/* For settings_readers.c: forgets the documents of the n tenants (ids canonical UUIDs)
 * or of all, so that reads in flight keep none of theirs either. */
void settings_cache_forget(const char (*ids)[UUID_STR_LEN], size_t n);
void settings_cache_forget_all(void);
/* It may answer until monotonic_ms() deadline_ms; stop: from now on it may not. */
void settings_cache_serve_until(int64_t deadline_ms);
void settings_cache_stop_serving(void);

#endif
