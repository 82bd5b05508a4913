/* po_template.h - the purchase-order template the platform sends, in every language a
 * bakery may pick: its name at Meta, each language's reviewed body text (a translation
 * of the design document's Spanish one, with the same three parameters: the supplier,
 * the order number, the amount) and the example values Meta requires when the template
 * is created. The one list of offered languages: tenant-service validates against it,
 * notification-service creates and checks the templates from it, graph-sim seeds its
 * account with it. */
#ifndef COMMON_PO_TEMPLATE_H
#define COMMON_PO_TEMPLATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define PO_TEMPLATE_NAME "po_notification"
#define PO_TEMPLATE_CATEGORY "UTILITY"

struct po_text {
    const char *language;   /* Meta's language code: "es", "ca", ... */
    const char *name;       /* the language's own name, for menus: "Català" */
    const char *body;       /* with {{1}} supplier, {{2}} order number, {{3}} amount */
    const char *example[3]; /* one value per parameter, the amount as that language writes it */
};

extern const struct po_text po_texts[];
extern const size_t po_texts_count;

/* The text of language, or NULL when it is not offered. */
const struct po_text *po_text(const char *language);

/* The checks of the template admin API, shared by both services so they answer alike.
 * Each returns NULL, or the offending field with a sentence for a 422 in *message. */
/* A report's query: name NULL or PO_TEMPLATE_NAME, language NULL or offered. */
const char *po_template_query_problem(const char *name, const char *language, const char **message);
/* A sync's body: an object with at most "languages", null or a list of offered codes. */
const char *po_template_sync_problem(const json_t *body, const char **message);

#endif
