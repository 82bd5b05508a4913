/* po_template.c - the texts. Spanish is the design document's; the others say the same
 * thing in the register a supplier expects from a business message. */
#include "po_template.h"

#include <string.h>

const struct po_text po_texts[] = {
    {"es",
     "Español",
     "Hola {{1}}, has recibido una nueva orden de compra {{2}} por un total de {{3}}.",
     {"Harinas del Norte", "PO-2024-001", "1.250,00 €"}},
    {"en",
     "English",
     "Hello {{1}}, you have received a new purchase order {{2}} for a total of {{3}}.",
     {"Northern Flour Mills", "PO-2024-001", "€1,250.00"}},
    {"eu",
     "Euskara",
     "Kaixo {{1}}, {{2}} erosketa-agindu berria jaso duzu, guztira {{3}}.",
     {"Iparraldeko Irinak", "PO-2024-001", "1.250,00 €"}},
    {"ca",
     "Català",
     "Hola {{1}}, has rebut una nova ordre de compra {{2}} per un total de {{3}}.",
     {"Farines del Nord", "PO-2024-001", "1.250,00 €"}},
    {"gl",
     "Galego",
     "Ola {{1}}, recibiches unha nova orde de compra {{2}} por un total de {{3}}.",
     {"Fariñas do Norte", "PO-2024-001", "1.250,00 €"}},
};
const size_t po_texts_count = sizeof po_texts / sizeof po_texts[0];

const struct po_text *po_text(const char *language)
{
    for (size_t i = 0; language && i < po_texts_count; i++) {
        if (strcmp(po_texts[i].language, language) == 0)
            return &po_texts[i];
    }
    return NULL;
}
