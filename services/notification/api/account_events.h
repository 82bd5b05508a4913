/* account_events.h - the account-level webhook changes (webhook_parse.h) stored and
 * applied: every one is kept in whatsapp_account_events (a repeat is stored once and
 * applied once); a template's status holds or releases its sends (outbox/holds.h); a
 * number's quality or the account's capability expires the cached phone-number list; a
 * restriction of the account pauses sending (outbox/pause.h); po_notification moved out
 * of UTILITY is logged as an error, since it changes the price of every order. A change
 * with a value we cannot use is stored, logged and counted; it never fails the batch. */
#ifndef NOTIFICATION_ACCOUNT_EVENTS_H
#define NOTIFICATION_ACCOUNT_EVENTS_H

#include <jansson.h>

#include "api/webhook_parse.h"
#include "db.h"

/* Stores and applies the batch's account-level changes in body order and adds their
 * counts to summary as "account_events". A database failure stops it (Meta retries the
 * POST; what was stored is then a repeat). */
enum db_status account_events_apply(const struct webhook_batch *b, json_t *summary)
    __attribute__((warn_unused_result));

#endif
