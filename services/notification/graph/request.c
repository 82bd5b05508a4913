/* request.c - WhatsApp Cloud API request bodies and URLs. */
#include "graph/request.h"

#include "alloc.h"

char *graph_template_body(const char *to, const char *template_name, const char *language,
                          const json_t *parameters, const char *callback_id)
{
    json_t *template =
        json_pack("{s:s, s:{s:s}}", "name", template_name, "language", "code", language);
    json_t *body = NULL;
    char *text = NULL;
    if (!template)
        goto out;
    if (json_array_size(parameters) > 0) {
        json_t *list = json_array();
        size_t i;
        json_t *p;
        json_array_foreach (parameters, i, p)
            json_array_append_new(list, json_pack("{s:s, s:O}", "type", "text", "text", p));
        json_object_set_new(template, "components",
                            json_pack("[{s:s, s:o}]", "type", "body", "parameters", list));
    }
    body = json_pack("{s:s, s:s, s:s, s:s, s:O, s:s}", "messaging_product", "whatsapp",
                     "recipient_type", "individual", "to", to, "type", "template", "template",
                     template, "biz_opaque_callback_data", callback_id);
    if (body)
        text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
out:
    json_decref(template);
    json_decref(body);
    return text;
}

void graph_messages_url(struct buf *out, const char *base_url, const char *version,
                        const char *phone_number_id)
{
    buf_printf(out, "%s/%s/%s/messages", base_url, version, phone_number_id);
}
