/* log.c - logfmt writer: one write(2) per line so lines from threads never interleave. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum log_level log_min_level = LOG_INFO;
static const char *log_service = "app";
static _Thread_local const char *log_req_id;

static const char *const level_names[] = {"debug", "info", "warn", "error", "fatal"};

void log_init(const char *service, enum log_level min_level)
{
    log_service = service;
    log_min_level = min_level;
}

bool log_level_parse(const char *s, enum log_level *out)
{
    for (int i = LOG_DEBUG; i <= LOG_ERROR; i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *out = (enum log_level)i;
            return true;
        }
    }
    return false;
}

void log_set_request_id(const char *id)
{
    log_req_id = id;
}

const char *log_request_id(void)
{
    return log_req_id;
}

/* Appends s as a logfmt quoted value, escaping quotes, backslashes and control bytes. */
static size_t put_quoted(char *dst, size_t cap, size_t pos, const char *s, size_t n)
{
    if (pos < cap)
        dst[pos++] = '"';
    for (size_t i = 0; i < n && pos + 4 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            dst[pos++] = '\\';
            dst[pos++] = (char)c;
        } else if (c == '\n') {
            dst[pos++] = '\\';
            dst[pos++] = 'n';
        } else if (c < 0x20 || c == 0x7f) {
            dst[pos++] = '?';
        } else {
            dst[pos++] = (char)c;
        }
    }
    if (pos < cap)
        dst[pos++] = '"';
    return pos;
}

void log_write(enum log_level level, const char *fmt, ...)
{
    char msg[2048];
    char line[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    size_t mlen = strlen(msg);

    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);

    int h = snprintf(line, sizeof(line), "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s svc=%s",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     ts.tv_nsec / 1000000, level_names[level], log_service);
    size_t pos = h > 0 ? (size_t)h : 0;
    if (log_req_id)
        pos += (size_t)snprintf(line + pos, sizeof(line) - pos, " req=%s", log_req_id);

    const char *tab = memchr(msg, '\t', mlen);
    size_t text_len = tab ? (size_t)(tab - msg) : mlen;
    pos += (size_t)snprintf(line + pos, sizeof(line) - pos, " msg=");
    pos = put_quoted(line, sizeof(line) - 2, pos, msg, text_len);
    if (tab) {
        size_t extra = mlen - text_len - 1;
        if (extra > sizeof(line) - 2 - pos - 1)
            extra = sizeof(line) - 2 - pos - 1;
        line[pos++] = ' ';
        memcpy(line + pos, tab + 1, extra);
        pos += extra;
    }
    line[pos++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, pos);
    (void)w;
}

char *log_mask_phone(const char *phone, char *out, size_t outlen)
{
    if (!outlen)
        return out;
    size_t n = phone ? strlen(phone) : 0;
    if (n < 8) {
        snprintf(out, outlen, "***");
        return out;
    }
    /* Keep the leading 6 characters (country code and operator) and the last 3. */
    snprintf(out, outlen, "%.6s***%s", phone, phone + n - 3);
    return out;
}
