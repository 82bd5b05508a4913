/* mail/smtp.c - libcurl's SMTP client and MIME API, one easy handle per client. */
#include "mail/smtp.h"

#include <curl/curl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"

struct smtp_client {
    const struct smtp_config *cfg;
    CURL *curl;      /* kept: its connection to the server is reused */
    char reply[256]; /* the server's last refusal of the message under way */
};

/* Keeps the server's last refusal (a 4xx or 5xx reply line; a QUIT's 221 may follow):
 * libcurl's error names only the code. */
static int on_debug(CURL *curl, curl_infotype type, char *data, size_t size, void *arg)
{
    (void)curl;
    struct smtp_client *c = arg;
    if (type != CURLINFO_HEADER_IN || size < 3 || (data[0] != '4' && data[0] != '5'))
        return 0;
    while (size && (data[size - 1] == '\n' || data[size - 1] == '\r'))
        size--;
    if (size > sizeof c->reply - 1)
        size = sizeof c->reply - 1;
    memcpy(c->reply, data, size);
    c->reply[size] = '\0';
    return 0;
}

struct smtp_client *smtp_client_new(const struct smtp_config *cfg)
{
    CURL *curl = curl_easy_init();
    if (!curl)
        return NULL;
    struct smtp_client *c = xcalloc(1, sizeof(*c));
    c->cfg = cfg;
    c->curl = curl;
    return c;
}

void smtp_client_free(struct smtp_client *c)
{
    if (!c)
        return;
    curl_easy_cleanup(c->curl);
    free(c);
}

static bool printable_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return false;
    return true;
}

/* s as header text: itself when printable ASCII, else RFC 2047 encoded words of at most
 * 45 bytes of UTF-8 each (60 characters of base64), never splitting a character. */
static void header_text(struct buf *b, const char *s)
{
    if (printable_ascii(s)) {
        buf_append_str(b, s);
        return;
    }
    size_t len = strlen(s);
    for (size_t at = 0; at < len;) {
        size_t n = len - at > 45 ? 45 : len - at;
        while (n < len - at && n > 0 && ((unsigned char)s[at + n] & 0xc0) == 0x80)
            n--; /* s[at + n] continues a character: end the word before it */
        unsigned char out[64];
        int w = EVP_EncodeBlock(out, (const unsigned char *)s + at, (int)n);
        buf_printf(b, "%s=?UTF-8?B?%.*s?=", at ? "\r\n " : "", w, (const char *)out);
        at += n;
    }
}

/* "Name <address>" or "<address>" after a header's name. */
static char *address_header(const char *header, const char *name, const char *address)
{
    struct buf b = {0};
    buf_printf(&b, "%s: ", header);
    if (name && *name) {
        header_text(&b, name);
        buf_append_str(&b, " ");
    }
    buf_printf(&b, "<%s>", address);
    return buf_steal(&b);
}

static struct curl_slist *append_owned(struct curl_slist *l, char *line)
{
    struct curl_slist *n = curl_slist_append(l, line);
    free(line);
    return n ? n : l;
}

static void add_part(curl_mime *mime, const char *data, const char *type)
{
    curl_mimepart *part = curl_mime_addpart(mime);
    curl_mime_data(part, data, CURL_ZERO_TERMINATED);
    curl_mime_type(part, type);
    curl_mime_encoder(part, "quoted-printable");
}

enum smtp_outcome smtp_send(struct smtp_client *c, const struct mail *m, const char *message_id,
                            long *code, char *error, size_t errlen)
{
    const struct smtp_config *cfg = c->cfg;
    CURL *curl = c->curl;
    struct curl_slist *rcpt = NULL, *headers = NULL, *inline_part = NULL;
    curl_mime *mime = NULL, *alt = NULL;
    char errbuf[CURL_ERROR_SIZE] = "";
    char *from = xasprintf("<%s>", m->from_address), *to = xasprintf("<%s>", m->to);
    struct buf b = {0};

    *code = 0;
    curl_easy_reset(curl); /* the options; the connection stays */
    rcpt = curl_slist_append(NULL, to);

    char date[64];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "Date: %a, %d %b %Y %H:%M:%S +0000", &tm);
    headers = curl_slist_append(headers, date);
    headers = append_owned(headers, address_header("From", m->from_name, m->from_address));
    headers = append_owned(headers, address_header("To", NULL, m->to));
    if (m->reply_to[0])
        headers = append_owned(headers, address_header("Reply-To", NULL, m->reply_to));
    buf_append_str(&b, "Subject: ");
    header_text(&b, m->subject);
    headers = append_owned(headers, buf_steal(&b));
    headers = append_owned(headers, xasprintf("Message-ID: <%s>", message_id));

    mime = curl_mime_init(curl);
    alt = curl_mime_init(curl);
    add_part(alt, m->text, "text/plain; charset=utf-8");
    add_part(alt, m->html, "text/html; charset=utf-8");
    curl_mimepart *part = curl_mime_addpart(mime);
    curl_mime_subparts(part, alt); /* mime owns alt from here */
    curl_mime_type(part, "multipart/alternative");
    inline_part = curl_slist_append(NULL, "Content-Disposition: inline");
    curl_mime_headers(part, inline_part, 1); /* and the part owns this list */

    curl_easy_setopt(curl, CURLOPT_URL, cfg->url);
    curl_easy_setopt(curl, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_MIMEPOST, mime);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, cfg->timeout_ms);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, cfg->timeout_ms);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    c->reply[0] = '\0';
    curl_easy_setopt(curl, CURLOPT_DEBUGFUNCTION, on_debug);
    curl_easy_setopt(curl, CURLOPT_DEBUGDATA, c);
    curl_easy_setopt(curl, CURLOPT_VERBOSE, 1L); /* feeds on_debug only */
    if (cfg->starttls)
        curl_easy_setopt(curl, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
    if (cfg->ca_file[0])
        curl_easy_setopt(curl, CURLOPT_CAINFO, cfg->ca_file);
    if (cfg->username[0]) {
        curl_easy_setopt(curl, CURLOPT_USERNAME, cfg->username);
        curl_easy_setopt(curl, CURLOPT_PASSWORD, cfg->password);
    }

    CURLcode rc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, code);
    enum smtp_outcome outcome = SMTP_ACCEPTED;
    if (rc != CURLE_OK) {
        /* A 5xx refuses this message; a refused login or TLS is the configuration's
         * fault and, like a 4xx or no connection, may pass. */
        outcome =
            *code >= 500 && *code < 600 && rc != CURLE_LOGIN_DENIED ? SMTP_REFUSED : SMTP_RETRY;
        if (*code && c->reply[0])
            snprintf(error, errlen, "SMTP %s", c->reply);
        else
            snprintf(error, errlen, "SMTP %ld: %s", *code,
                     errbuf[0] ? errbuf : curl_easy_strerror(rc));
    }
    curl_easy_setopt(curl, CURLOPT_MIMEPOST, NULL);
    curl_mime_free(mime);
    curl_slist_free_all(rcpt);
    curl_slist_free_all(headers);
    free(from);
    free(to);
    return outcome;
}
