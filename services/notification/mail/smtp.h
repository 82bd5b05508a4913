/* mail/smtp.h - one email handed to the mail server with libcurl's SMTP client and MIME
 * API: multipart/alternative (plain text and HTML, UTF-8, quoted-printable), the
 * headers an order needs (From, To, Reply-To, Subject in RFC 2047 words, Date,
 * Message-ID), STARTTLS when asked for and AUTH when a user is set. Blocking; one
 * handle per caller thread keeps its connection to the server between messages. */
#ifndef NOTIFICATION_MAIL_SMTP_H
#define NOTIFICATION_MAIL_SMTP_H

#include <stdbool.h>
#include <stddef.h>

#include "mail/compose.h"

struct smtp_config {
    const char *url;      /* SMTP_URL: smtp://host:port or smtps://host:port */
    const char *username; /* SMTP_USERNAME, "" for none */
    const char *password; /* SMTP_PASSWORD */
    bool starttls;        /* SMTP_STARTTLS: smtp:// must upgrade to TLS, else refuse */
    const char *ca_file;  /* SMTP_CA_FILE: trust this CA bundle ("" = the system's) */
    long timeout_ms;
};

enum smtp_outcome {
    SMTP_ACCEPTED, /* the server took it (250 after DATA) */
    SMTP_RETRY,    /* no connection, a timeout, a 4xx: try again later */
    SMTP_REFUSED,  /* a 5xx: this message will never be taken as it is */
};

struct smtp_client;

/* A client for cfg (its strings must outlive it). NULL when libcurl cannot start one. */
struct smtp_client *smtp_client_new(const struct smtp_config *cfg);
void smtp_client_free(struct smtp_client *c);

/* Sends m under message_id (the Message-ID header's value, without brackets). *code
 * gets the server's last reply code (0 when none), error why when not accepted. */
enum smtp_outcome smtp_send(struct smtp_client *c, const struct mail *m, const char *message_id,
                            long *code, char *error, size_t errlen);

#endif
