/* graph_error.c - the error codes of the WhatsApp Cloud API with their titles, details
 * and HTTP statuses, and the encoding of Graph API replies. */
#include "graph_error.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "ids.h"
#include "jsonutil.h"

static atomic_bool all_400;

static const struct gerr_info catalogue[] = {
    {0, "AuthException", "We were unable to authenticate the app user.", 401},
    {1, "API Unknown", "Invalid request or possible server error.", 400},
    {2, "API Service", "Temporary due to downtime or due to being overloaded.", 503},
    {4, "Application request limit reached", "The app has reached its API call rate limit.", 429},
    {10, "Permission Denied", "Permission is either not granted or has been removed.", 403},
    {100, "Invalid parameter", "Invalid parameter", 400},
    {190, "Access token has expired", "Access token has expired", 401},
    {368, "Temporarily blocked for policies violations",
     "The WhatsApp Business Account is restricted for policy violations.", 403},
    {80007, "Rate limit issues", "The WhatsApp Business Account has reached its rate limit.", 429},
    {130497, "Business account is restricted from messaging users in this country",
     "The WhatsApp Business Account is restricted from messaging to users in certain "
     "countries.",
     403},
    {130429, "Rate limit hit", "Cloud API message throughput has been reached.", 429},
    {131000, "Something went wrong", "Message failed to send because of an unknown error.", 500},
    {131005, "Access denied", "Permission is either not granted or has been removed.", 403},
    {131008, "Required parameter is missing", "The request is missing a required parameter.", 400},
    {131009, "Parameter value is not valid", "One or more parameter values are invalid.", 400},
    {131016, "Service unavailable", "A service is temporarily unavailable.", 503},
    {131021, "Recipient cannot be sender", "Sender and recipient phone number is the same.", 400},
    {131026, "Message undeliverable",
     "Message Undeliverable: the recipient is not a WhatsApp user or uses an old app.", 400},
    {131031, "Account has been locked", "The business account is locked.", 403},
    {131042, "Business eligibility payment issue",
     "Message failed to send because there were one or more errors related to your payment "
     "method.",
     402},
    {131045, "Incorrect certificate",
     "Message failed to send due to a phone number registration error.", 400},
    {131047, "Re-engagement message",
     "Message failed to send because more than 24 hours have passed since the customer last "
     "replied to this number.",
     400},
    {131048, "Spam rate limit hit",
     "Message failed to send because there are restrictions on how many messages can be sent "
     "from this phone number.",
     429},
    {131049, "Meta chose not to deliver.",
     "This message was not delivered to maintain healthy ecosystem engagement.", 400},
    {131051, "Unsupported message type", "Unsupported message type.", 400},
    {131056, "(Business Account, Consumer Account) pair rate limit hit",
     "Too many messages sent from the sender phone number to the same recipient phone number "
     "in a short period of time.",
     429},
    {131057, "Account in maintenance mode", "Business Account is in maintenance mode.", 503},
    {131064, "Account messaging limit reached due to template classification violations",
     "Message failed to send because this account has reached its messaging limit due to "
     "template classification violations.",
     400},
    {132000, "Number of parameters does not match the expected number of params",
     "The number of variable parameter values does not match the number of variables "
     "defined in the template.",
     400},
    {132001, "Template name does not exist in the translation",
     "The template does not exist in the specified language or the template has not been "
     "approved.",
     404},
    {132005, "Translated text too long", "Translated text is too long.", 400},
    {132007, "Template Format Character Policy Violated",
     "Template content violates a WhatsApp policy.", 400},
    {132012, "Parameter format does not match format in the created template",
     "Variable parameter values formatted incorrectly.", 400},
    {132015, "Template is Paused", "Template is paused due to low quality.", 400},
    {132016, "Template is Disabled", "Template has been paused too many times.", 400},
    {133010, "Account not registered",
     "Phone number not registered on the WhatsApp Business "
     "Platform.",
     400},
};

const struct gerr_info *gerr_lookup(long code)
{
    for (size_t i = 0; i < sizeof catalogue / sizeof catalogue[0]; i++) {
        if (catalogue[i].code == code)
            return &catalogue[i];
    }
    return NULL;
}

void gerr_set_all_400(bool on)
{
    atomic_store(&all_400, on);
}

unsigned gerr_status(long code)
{
    const struct gerr_info *e = gerr_lookup(code);
    unsigned status = e ? e->status : 400;
    /* 401 (tokens) and 5xx (outages) are the same in every source. */
    if (atomic_load(&all_400) && status != 401 && status < 500)
        status = 400;
    return status;
}

void gerr_reply_json(struct http_request *req, unsigned status, json_t *body)
{
    char *text = json_dump_compact(body);
    json_decref(body);
    http_reply_bytes(req, status, "application/json; charset=UTF-8", text, strlen(text));
    free(text);
}

void gerr_reply_ex(struct http_request *req, unsigned status, long code, long subcode,
                   const char *type, const char *message, const char *details)
{
    char trace[IDS_FBTRACE_LEN];
    ids_fbtrace(trace);
    json_t *err = json_pack("{s:s, s:s, s:I}", "message", message, "type",
                            type ? type : "OAuthException", "code", (json_int_t)code);
    if (subcode)
        json_object_set_new(err, "error_subcode", json_integer(subcode));
    if (details)
        json_object_set_new(
            err, "error_data",
            json_pack("{s:s, s:s}", "messaging_product", "whatsapp", "details", details));
    json_object_set_new(err, "fbtrace_id", json_string(trace));
    gerr_reply_json(req, status, json_pack("{s:o}", "error", err));
}

void gerr_reply(struct http_request *req, long code, const char *details_fmt, ...)
{
    const struct gerr_info *e = gerr_lookup(code);
    char message[256];
    char details[512];

    if (e)
        snprintf(message, sizeof message, "(#%ld) %s", code, e->title);
    else
        snprintf(message, sizeof message, "(#%ld) Error", code);
    if (details_fmt) {
        va_list ap;
        va_start(ap, details_fmt);
        vsnprintf(details, sizeof details, details_fmt, ap);
        va_end(ap);
    } else {
        snprintf(details, sizeof details, "%s", e ? e->details : "Simulated error.");
    }
    gerr_reply_ex(req, gerr_status(code), code, 0, NULL, message, details);
}

json_t *gerr_async_error(long code, const char *details)
{
    const struct gerr_info *e = gerr_lookup(code);
    const char *title = e ? e->title : "Error";
    return json_pack("{s:I, s:s, s:s, s:{s:s}, s:s}", "code", (json_int_t)code, "title", title,
                     "message", title, "error_data", "details",
                     details ? details : (e ? e->details : "Simulated error."), "href",
                     "https://developers.facebook.com/docs/whatsapp/cloud-api/support/"
                     "error-codes/");
}
