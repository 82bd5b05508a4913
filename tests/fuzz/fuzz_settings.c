/* fuzz_settings.c - libFuzzer harness of the notification-settings update check
 * (services/tenant/settings_validate.c), fed as PUT .../settings/notifications bodies are:
 * parsed by jansson with duplicates refused, objects only. An accepted patch may hold
 * only keys a tenant may change, each with a value of its kind; a refusal must name a
 * key of the patch and say why. The free-text rule is run on every string too, and the
 * name rule, checked against a byte search for the invisible characters it refuses. */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "settings_validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok, const char *what)
{
    if (ok)
        return;
    fprintf(stderr, "settings invariant broken: %s\n", what);
    abort();
}

static const char *const bool_keys[] = {
    "whatsapp_enabled",         "email_enabled",
    "enable_po_notifications",  "enable_inventory_alerts",
    "enable_production_alerts", "enable_forecast_alerts",
};
static const char *const text_keys[] = {"email_from_address", "email_from_name", "email_reply_to"};
static const char *const channel_keys[] = {"po_notification_channels", "inventory_alert_channels",
                                           "production_alert_channels", "forecast_alert_channels"};

static bool in(const char *key, const char *const *set, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(key, set[i]) == 0)
            return true;
    }
    return false;
}

#define IN(key, set) in(key, set, sizeof(set) / sizeof((set)[0]))

static void check_accepted(const json_t *patch)
{
    const char *key;
    json_t *v;
    json_object_foreach ((json_t *)patch, key, v) {
        if (IN(key, bool_keys)) {
            check(json_is_boolean(v), "a switch that is not a boolean");
        } else if (strcmp(key, "whatsapp_default_language") == 0) {
            const char *s = json_string_value(v);
            check(s && (strcmp(s, "es") == 0 || strcmp(s, "en") == 0 || strcmp(s, "eu") == 0 ||
                        strcmp(s, "ca") == 0 || strcmp(s, "gl") == 0),
                  "a language other than es, en, eu, ca, gl");
        } else if (IN(key, text_keys)) {
            check(json_is_string(v), "text that is not a string");
            check(text_problem(json_string_value(v), 254) == NULL, "text with control bytes");
        } else if (IN(key, channel_keys)) {
            check(json_is_array(v) && json_array_size(v) <= 2, "channels not a short array");
            size_t i;
            json_t *item;
            json_array_foreach (v, i, item) {
                const char *s = json_string_value(item);
                check(s && (strcmp(s, "email") == 0 || strcmp(s, "whatsapp") == 0),
                      "an unknown channel");
            }
        } else {
            check(false, "a key a tenant may not change");
        }
    }
}

/* The oracle of the name rule, on bytes: the UTF-8 encodings of U+200B-200D, U+202A-202E,
 * U+2060, U+2066-2069 and U+FEFF. */
static bool has_invisible(const char *text)
{
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if (p[0] == 0xE2 && p[1] == 0x80 &&
            ((p[2] >= 0x8B && p[2] <= 0x8D) || (p[2] >= 0xAA && p[2] <= 0xAE)))
            return true;
        if (p[0] == 0xE2 && p[1] == 0x81 && (p[2] == 0xA0 || (p[2] >= 0xA6 && p[2] <= 0xA9)))
            return true;
        if (p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF)
            return true;
    }
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *patch = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(patch)) {
        json_decref(patch);
        return 0;
    }
    struct settings_problem problem;
    memset(&problem, 0, sizeof problem);
    if (settings_validate_patch(patch, &problem)) {
        check_accepted(patch);
    } else {
        check(problem.status == 403 || problem.status == 422, "a status other than 403 or 422");
        check(problem.code && problem.code[0], "no error code");
        check(problem.field && json_object_get(patch, problem.field),
              "the field named is not in the patch");
        check(problem.message[0] != '\0', "no message");
        check(strnlen(problem.message, sizeof problem.message) < sizeof problem.message,
              "message not terminated");
    }
    const char *key;
    json_t *v;
    json_object_foreach (patch, key, v) {
        if (json_is_string(v)) {
            const char *text = json_string_value(v);
            const char *plain = text_problem(text, 100);
            const char *name = name_problem(text, 100);
            check(!plain || name, "a name passes what free text does not");
            check(!name == (!plain && !has_invisible(text)),
                  "the name rule and the byte search disagree on invisible characters");
        }
    }
    json_decref(patch);
    return 0;
}
