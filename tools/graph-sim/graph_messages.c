/* graph_messages.c - POST /{version}/{phone_id}/messages: validates the body as Meta
 * does, applies injected errors and the two limits, stores what it accepted and
 * schedules the status webhooks. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "e164.h"
#include "events.h"
#include "faults.h"
#include "graph.h"
#include "graph_error.h"
#include "ids.h"
#include "limiter.h"
#include "msglimit.h"
#include "msgstore.h"
#include "phones.h"
#include "sessions.h"
#include "settings.h"
#include "sim.h"
#include "templates.h"
#include "users.h"
#include "webhook.h"

#define BIZ_OPAQUE_MAX 512
#define TEXT_BODY_MAX 4096
#define TEMPLATE_TEXT_MAX 1024

/* A validated send. Strings are borrowed from the parsed body. */
struct send_req {
    const char *to;
    char wa_id[SIM_WA_ID_MAX];
    const char *type;
    const char *template_name;
    const char *language;
    const char *biz_opaque;
    long ttl_seconds; /* the request's ttl_seconds (Direct Send); 0 = the template's */
    struct tpl_info tpl;
};

/* A send's error: the code and its details, answered by reply_send_error(). */
struct send_err {
    long code;
    char details[256];
};

static bool fail(struct send_err *e, long code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool fail(struct send_err *e, long code, const char *fmt, ...)
{
    va_list ap;
    e->code = code;
    va_start(ap, fmt);
    vsnprintf(e->details, sizeof e->details, fmt, ap);
    va_end(ap);
    return false;
}

/* Meta's wording for a missing parameter. */
static bool missing(struct send_err *e, const char *name)
{
    return fail(e, 100, "The parameter %s is required.", name);
}

/* "to": E.164 with or without '+'. Without it, a number of 11 or more digits is taken as
 * international; a shorter one gets the sender's country code, as Meta does. */
static bool recipient(const char *to, const struct sim_phone *phone, char wa_id[SIM_WA_ID_MAX])
{
    char e164[E164_MAX];
    char buf[80];
    const char *s = to;
    while (*s == ' ')
        s++;
    if (*s == '+' || (s[0] == '0' && s[1] == '0')) {
        if (!e164_normalize(s, e164))
            return false;
    } else {
        size_t digits = 0;
        for (const char *p = s; *p; p++)
            digits += isdigit((unsigned char)*p) != 0;
        bool local = digits < 11 && phone->country_code[0];
        snprintf(buf, sizeof buf, "+%s%s", local ? phone->country_code : "", s);
        if (!e164_normalize(buf, e164))
            return false;
    }
    snprintf(wa_id, SIM_WA_ID_MAX, "%s", e164 + 1);
    return true;
}

/* Checks one template component's parameters; adds their count and text length. */
static bool check_parameters(const json_t *params, const char *ctype, int *count, size_t *text_len,
                             struct send_err *e)
{
    size_t i;
    const json_t *p;
    if (!json_is_array(params))
        return fail(e, 100, "Param template['components'][%s]['parameters'] must be an array",
                    ctype);
    json_array_foreach (params, i, p) {
        const char *ptype = json_string_value(json_object_get(p, "type"));
        if (!json_is_object(p) || !ptype)
            return fail(e, 131008, "Parameter type is required for %s parameter %zu", ctype, i + 1);
        if (strcmp(ptype, "text") == 0) {
            const json_t *t = json_object_get(p, "text");
            if (!t || json_is_null(t))
                return fail(e, 131008, "Parameter of type text is missing text value");
            if (!json_is_string(t))
                return fail(e, 100, "Param text must be a string");
            const char *text = json_string_value(t);
            if (!*text)
                return fail(e, 131008, "Parameter of type text is missing text value");
            if (strpbrk(text, "\n\t") || strstr(text, "     "))
                return fail(e, 100,
                            "Param text cannot have new-line/tab characters or more "
                            "than 4 consecutive spaces");
            *text_len += json_string_length(t);
        } else if (strcmp(ptype, "currency") != 0 && strcmp(ptype, "date_time") != 0 &&
                   strcmp(ptype, "image") != 0 && strcmp(ptype, "document") != 0 &&
                   strcmp(ptype, "video") != 0 && strcmp(ptype, "payload") != 0 &&
                   strcmp(ptype, "location") != 0) {
            return fail(e, 100, "Invalid parameter type: %.32s", ptype);
        } else if (!json_object_get(p, ptype)) {
            return fail(e, 131008, "Parameter of type %.32s is missing its %.32s object", ptype,
                        ptype);
        }
        (*count)++;
    }
    return true;
}

static bool check_template(const json_t *tpl, struct send_req *r, struct send_err *e)
{
    int body_n = 0, header_n = 0;
    size_t text_len = 0;
    size_t i;
    const json_t *c;

    if (!tpl)
        return missing(e, "template");
    if (!json_is_object(tpl))
        return fail(e, 100, "Param template must be a JSON object");
    r->template_name = json_string_value(json_object_get(tpl, "name"));
    if (!r->template_name || !*r->template_name)
        return missing(e, "template['name']");
    const json_t *lang = json_object_get(tpl, "language");
    if (!lang)
        return missing(e, "template['language']");
    r->language = json_string_value(json_object_get(lang, "code"));
    if (!json_is_object(lang) || !r->language || !*r->language)
        return missing(e, "template['language']['code']");
    const char *policy = json_string_value(json_object_get(lang, "policy"));
    if (json_object_get(lang, "policy") && (!policy || strcmp(policy, "deterministic") != 0))
        return fail(e, 100, "Param template['language']['policy'] must be deterministic");
    const json_t *comps = json_object_get(tpl, "components");
    if (comps && !json_is_array(comps))
        return fail(e, 100, "Param template['components'] must be an array");
    json_array_foreach (comps, i, c) {
        const char *ctype = json_string_value(json_object_get(c, "type"));
        const json_t *params = json_object_get(c, "parameters");
        if (!json_is_object(c) || !ctype)
            return missing(e, "template['components'][i]['type']");
        if (strcasecmp(ctype, "body") == 0) {
            if (params && !check_parameters(params, "body", &body_n, &text_len, e))
                return false;
        } else if (strcasecmp(ctype, "header") == 0) {
            if (params && !check_parameters(params, "header", &header_n, &text_len, e))
                return false;
        } else if (strcasecmp(ctype, "button") == 0) {
            int ignored = 0;
            if (params && !check_parameters(params, "button", &ignored, &text_len, e))
                return false;
        } else {
            return fail(e, 100,
                        "Param template['components'][%zu]['type'] must be one of "
                        "{HEADER, BODY, BUTTON}",
                        i);
        }
    }

    enum tpl_lookup found = templates_find(r->template_name, r->language, &r->tpl);
    if (found == TPL_NO_NAME || found == TPL_NO_LANGUAGE)
        return fail(e, 132001, "template name (%.128s) does not exist in %.16s", r->template_name,
                    r->language);
    if (strcmp(r->tpl.status, "PAUSED") == 0)
        return fail(e, 132015, "Template %.128s is paused", r->template_name);
    if (strcmp(r->tpl.status, "DISABLED") == 0)
        return fail(e, 132016, "Template %.128s is disabled", r->template_name);
    if (strcmp(r->tpl.status, "APPROVED") != 0)
        return fail(e, 132001, "template name (%.128s) is not approved in %.16s (status %s)",
                    r->template_name, r->language, r->tpl.status);
    if (header_n != r->tpl.header_params)
        return fail(e, 132000,
                    "header: number of localizable_params (%d) does not match the expected "
                    "number of params (%d)",
                    header_n, r->tpl.header_params);
    if (body_n != r->tpl.body_params)
        return fail(e, 132000,
                    "body: number of localizable_params (%d) does not match the expected number "
                    "of params (%d)",
                    body_n, r->tpl.body_params);
    /* Each {{n}} is replaced: about five characters out, the parameter in. */
    if (r->tpl.body_len + text_len > TEMPLATE_TEXT_MAX + 5 * (size_t)body_n)
        return fail(e, 132005, "The translated body exceeds %d characters", TEMPLATE_TEXT_MAX);
    return true;
}

static bool check_send(const json_t *body, const struct sim_phone *phone, struct send_req *r,
                       struct send_err *e)
{
    static const char *const other_types[] = {"image",    "audio",       "document",
                                              "video",    "sticker",     "location",
                                              "contacts", "interactive", "reaction"};
    memset(r, 0, sizeof(*r));
    const json_t *mp = json_object_get(body, "messaging_product");
    if (!mp)
        return missing(e, "messaging_product");
    if (!json_is_string(mp) || strcasecmp(json_string_value(mp), "whatsapp") != 0)
        return fail(e, 100, "Param messaging_product must be one of {WHATSAPP}");
    const json_t *rt = json_object_get(body, "recipient_type");
    if (rt && (!json_is_string(rt) || (strcmp(json_string_value(rt), "individual") != 0 &&
                                       strcmp(json_string_value(rt), "group") != 0)))
        return fail(e, 100, "Param recipient_type must be one of {INDIVIDUAL, GROUP}");
    const json_t *to = json_object_get(body, "to");
    if (!to)
        return missing(e, "to");
    if (!json_is_string(to) || json_string_length(to) == 0 || json_string_length(to) > 63)
        return fail(e, 100, "Param to must be a phone number");
    r->to = json_string_value(to);
    if (!recipient(r->to, phone, r->wa_id))
        return fail(e, 100, "Param to is not a valid phone number");
    if (strcmp(r->wa_id, phone->digits) == 0)
        return fail(e, 131021, "Sender and recipient phone number is the same.");
    const json_t *biz = json_object_get(body, "biz_opaque_callback_data");
    if (biz && (!json_is_string(biz) || json_string_length(biz) > BIZ_OPAQUE_MAX))
        return fail(e, 100,
                    "Param biz_opaque_callback_data must be a string of at most %d "
                    "characters",
                    BIZ_OPAQUE_MAX);
    r->biz_opaque = json_string_value(biz);
    const json_t *ttl = json_object_get(body, "ttl_seconds");
    if (ttl &&
        (!json_is_integer(ttl) || json_integer_value(ttl) < 30 || json_integer_value(ttl) > 43200))
        return fail(e, 100, "Param ttl_seconds must be an integer between 30 and 43200");
    r->ttl_seconds = ttl ? (long)json_integer_value(ttl) : 0;
    const json_t *type = json_object_get(body, "type");
    if (type && !json_is_string(type))
        return fail(e, 100, "Param type must be a string");
    r->type = type ? json_string_value(type) : "text"; /* Meta's default */
    if (strcmp(r->type, "template") == 0)
        return check_template(json_object_get(body, "template"), r, e);
    if (strcmp(r->type, "text") == 0) {
        const json_t *text = json_object_get(body, "text");
        const json_t *tb = json_object_get(text, "body");
        if (!text)
            return missing(e, "text");
        if (!tb)
            return missing(e, "text['body']");
        if (!json_is_string(tb) || json_string_length(tb) == 0 ||
            json_string_length(tb) > TEXT_BODY_MAX)
            return fail(e, 100, "Param text['body'] must be a string of 1 to %d characters",
                        TEXT_BODY_MAX);
        return true;
    }
    for (size_t i = 0; i < sizeof other_types / sizeof other_types[0]; i++) {
        if (strcmp(r->type, other_types[i]) == 0) {
            if (!json_is_object(json_object_get(body, r->type)))
                return missing(e, r->type);
            return true;
        }
    }
    return fail(e, 100,
                "Param type must be one of {AUDIO, CONTACTS, DOCUMENT, IMAGE, INTERACTIVE, "
                "LOCATION, REACTION, STICKER, TEMPLATE, TEXT, VIDEO} - got \"%.32s\".",
                r->type);
}

static uint64_t wa_id_number(const char *wa_id)
{
    uint64_t n = 0;
    for (const char *s = wa_id; *s; s++)
        n = n * 10 + (uint64_t)(*s - '0');
    return n;
}

static void lower_copy(char *dst, size_t cap, const char *src)
{
    size_t i = 0;
    for (; src[i] && i + 1 < cap; i++)
        dst[i] = (char)tolower((unsigned char)src[i]);
    dst[i] = '\0';
}

/* The time to live of a message: the request's, the template's, or Meta's default for
 * the category (authentication 10 minutes, else 30 days). */
static long ttl_ms(const struct send_req *r)
{
    if (r->ttl_seconds)
        return r->ttl_seconds * 1000;
    if (r->template_name && r->tpl.ttl_seconds)
        return r->tpl.ttl_seconds * 1000;
    if (r->template_name && strcmp(r->tpl.category, "AUTHENTICATION") == 0)
        return 600L * 1000;
    return 30L * 86400 * 1000;
}

/* Stores the accepted send, schedules its webhooks and answers 200. */
static void accept(struct http_request *req, const struct sim_phone *phone,
                   const struct send_req *r, long async_code, const char *async_details)
{
    struct sim_user user;
    bool has_user = users_by_wa_id(r->wa_id, &user);
    /* Pricing per message (PMP): a utility template inside an open customer-service
     * window is free, as are service (non-template) messages, which only go out inside
     * one; everything else is billed as regular. */
    bool window = sessions_open(phone->id, r->wa_id, sim_wall_ms());
    bool free_cs = !r->template_name || (window && strcmp(r->tpl.category, "UTILITY") == 0);
    struct msg_record rec;
    char category[24];
    size_t len;
    const char *raw = http_body(req, &len);

    memset(&rec, 0, sizeof rec);
    ids_wamid(r->wa_id, rec.wamid);
    snprintf(rec.phone_id, sizeof rec.phone_id, "%s", phone->id);
    snprintf(rec.to, sizeof rec.to, "%s", r->to);
    snprintf(rec.wa_id, sizeof rec.wa_id, "%s", r->wa_id);
    snprintf(rec.type, sizeof rec.type, "%s", r->type);
    if (r->template_name) {
        snprintf(rec.template_name, sizeof rec.template_name, "%s", r->template_name);
        snprintf(rec.language, sizeof rec.language, "%s", r->language);
    }
    rec.accepted_ms = sim_wall_ms();
    msgstore_add(&rec, raw, len);
    msgstore_count(phone->slot, phone->id, rec.accepted_ms, COUNT_ACCEPTED, 0);

    lower_copy(category, sizeof category, r->template_name ? r->tpl.category : "service");
    struct wh_send ws = {
        .wamid = rec.wamid,
        .phone_id = phone->id,
        .display_digits = phone->digits,
        .wa_id = r->wa_id,
        .biz_opaque = r->biz_opaque,
        .category = category,
        .pricing_type = free_cs ? "free_customer_service" : "regular",
        .billable = !free_cs,
        .user_id = has_user ? user.user_id : NULL,
        .hide_recipient = has_user && user.hide_phone,
        .ttl_ms = !async_code && faults_unreachable(r->wa_id) ? ttl_ms(r) : 0,
        .fail_code = async_code,
        .fail_details = async_details && *async_details ? async_details : NULL,
    };
    webhook_schedule(&ws);

    json_t *msg = json_pack("{s:s}", "id", rec.wamid);
    if (r->template_name)
        json_object_set_new(msg, "message_status", json_string("accepted"));
    gerr_reply_json(req, 200,
                    json_pack("{s:s, s:[{s:s, s:s}], s:[o]}", "messaging_product", "whatsapp",
                              "contacts", "input", r->to, "wa_id", r->wa_id, "messages", msg));
}

static void reply_error(struct http_request *req, const struct sim_phone *phone,
                        enum count_kind kind, long code, unsigned status, const char *details)
{
    msgstore_count(phone->slot, phone->id, sim_wall_ms(), kind, code);
    if (!status) {
        if (*details)
            gerr_reply(req, code, "%s", details);
        else
            gerr_reply(req, code, NULL);
        return;
    }
    const struct gerr_info *info = gerr_lookup(code);
    char message[256];
    snprintf(message, sizeof message, "(#%ld) %s", code, info ? info->title : "Error");
    gerr_reply_ex(req, status, code, 0, NULL, message,
                  *details ? details : (info ? info->details : "Simulated error."));
}

void graph_handle_send(struct http_request *req)
{
    struct sim_phone phone;
    struct send_req r;
    struct send_err e = {0, ""};
    struct fault_error injected;
    struct sim_settings set;
    json_t *body = NULL;
    size_t len;
    long mps, pair_window;

    if (graph_begin(req))
        return;
    const char *id = http_param(req, "node");
    if (!phones_get(id, &phone)) {
        graph_unknown_object(req, id);
        return;
    }
    const char *raw = http_body(req, &len);
    body = len ? json_loadb(raw, len, JSON_REJECT_DUPLICATES, NULL) : NULL;
    if (!json_is_object(body)) {
        reply_error(req, &phone, COUNT_ERROR, 100, 0,
                    len ? "The request body must be a JSON object"
                        : "The parameter messaging_product is required.");
        goto out;
    }
    if (!check_send(body, &phone, &r, &e)) {
        reply_error(req, &phone, COUNT_ERROR, e.code, 0, e.details);
        goto out;
    }

    struct fault_scope scoped;
    int64_t wall = sim_wall_ms();
    if (faults_account_error(wall, &scoped) ||
        (r.template_name && faults_template_error(r.template_name, r.language, wall, &scoped)) ||
        faults_phone_error(phone.id, wall, &scoped)) {
        reply_error(req, &phone, COUNT_ERROR, scoped.code, 0, scoped.details);
        goto out;
    }

    long async_code = 0;
    const char *async_details = NULL;
    if (faults_send_error(phone.id, r.wa_id, &injected)) {
        if (!injected.async) {
            reply_error(req, &phone, COUNT_ERROR, injected.code, injected.http_status,
                        injected.details);
            goto out;
        }
        async_code = injected.code;
        async_details = injected.details;
    }

    /* The portfolio's messaging limit counts users reached outside a service window, on
     * every number of the WABA. Meta documents no code of its own for it; 131048 is its
     * "restrictions on how many messages can be sent" code. */
    settings_get(&set);
    enum msglimit_take taken = ML_KNOWN;
    if (set.messaging_limit > 0 && !sessions_open(phone.id, r.wa_id, wall)) {
        taken = msglimit_take(wa_id_number(r.wa_id), wall, set.messaging_limit);
        if (taken == ML_FULL) {
            char details[256];
            snprintf(details, sizeof details,
                     "The business portfolio has reached its messaging limit of %ld unique "
                     "users in 24 hours (%s).",
                     set.messaging_limit, events_tier_name(set.messaging_limit));
            reply_error(req, &phone, COUNT_ERROR, 131048, 0, details);
            goto out;
        }
    }

    settings_limits(&mps, &pair_window);
    if (phone.mps >= 0)
        mps = phone.mps;
    switch (limiter_try(phone.slot, mps, pair_window, wa_id_number(r.wa_id), monotonic_ms())) {
    case LIM_THROUGHPUT:
        if (taken == ML_NEW)
            msglimit_release(wa_id_number(r.wa_id));
        reply_error(req, &phone, COUNT_THROTTLED, 130429, 0, "");
        goto out;
    case LIM_PAIR:
        if (taken == ML_NEW)
            msglimit_release(wa_id_number(r.wa_id));
        reply_error(req, &phone, COUNT_PAIR, 131056, 0, "");
        goto out;
    case LIM_OK:
        break;
    }

    if (!async_code && faults_not_on_whatsapp(r.wa_id))
        async_code = 131026;
    if (!async_code && strcmp(r.type, "text") == 0 &&
        !sessions_open(phone.id, r.wa_id, sim_wall_ms()))
        async_code = 131047;
    accept(req, &phone, &r, async_code, async_details);
out:
    json_decref(body);
}
