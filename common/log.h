/* log.h - levelled logfmt lines on stderr, one line per event.
 *
 * Every line carries ts, level, svc and, inside a request, req=<request id>, so a log
 * shipper can parse it and a request can be followed. Secrets never go through here:
 * mask phone numbers with log_mask_phone() and never pass a token. */
#ifndef COMMON_LOG_H
#define COMMON_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR, LOG_FATAL };

/* Sets the service name and minimum level; call once at start. */
void log_init(const char *service, enum log_level min_level);
/* Parses "debug", "info", "warn", "error"; returns false on anything else. */
bool log_level_parse(const char *s, enum log_level *out);
extern enum log_level log_min_level;

/* The request id of the calling thread (NULL outside a request). The string is not copied:
 * it must stay valid until log_set_request_id(NULL). */
void log_set_request_id(const char *id);
const char *log_request_id(void);

/* fmt formats the msg="..." value; extra key=value pairs may follow a '\t' in the
 * formatted text ("accepted\tcount=3 tenant=..."), written verbatim after msg. */
void log_write(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...)                                                                             \
    do {                                                                                           \
        if (log_min_level <= LOG_DEBUG)                                                            \
            log_write(LOG_DEBUG, __VA_ARGS__);                                                     \
    } while (0)
#define log_info(...)                                                                              \
    do {                                                                                           \
        if (log_min_level <= LOG_INFO)                                                             \
            log_write(LOG_INFO, __VA_ARGS__);                                                      \
    } while (0)
#define log_warn(...)                                                                              \
    do {                                                                                           \
        if (log_min_level <= LOG_WARN)                                                             \
            log_write(LOG_WARN, __VA_ARGS__);                                                      \
    } while (0)
#define log_error(...) log_write(LOG_ERROR, __VA_ARGS__)

/* Writes a masked form of a phone number ("+34612***678") into out (NUL-terminated,
 * truncated to outlen). Short inputs are masked whole. Returns out. */
char *log_mask_phone(const char *phone, char *out, size_t outlen);

#endif
