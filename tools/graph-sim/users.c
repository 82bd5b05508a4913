/* users.c - a small table of users under a mutex (test-driven, a few entries). */
#include "users.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "e164.h"

#define USERS_MAX 1024

static pthread_mutex_t users_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sim_user table[USERS_MAX];
static size_t count;

bool users_by_wa_id(const char *wa_id, struct sim_user *out)
{
    bool found = false;
    pthread_mutex_lock(&users_lock);
    for (size_t i = 0; i < count && !found; i++) {
        if (table[i].wa_id[0] && strcmp(table[i].wa_id, wa_id) == 0) {
            *out = table[i];
            found = true;
        }
    }
    pthread_mutex_unlock(&users_lock);
    return found;
}

bool users_by_user_id(const char *user_id, struct sim_user *out)
{
    bool found = false;
    pthread_mutex_lock(&users_lock);
    for (size_t i = 0; i < count && !found; i++) {
        if (strcmp(table[i].user_id, user_id) == 0) {
            *out = table[i];
            found = true;
        }
    }
    pthread_mutex_unlock(&users_lock);
    return found;
}

/* "ES.1502576394655843", "US.ENT.118...": two upper-case letters, a dot, then letters,
 * digits and dots, as Meta's BSUIDs. */
static bool valid_user_id(const char *s)
{
    size_t n = strlen(s);
    if (n < 4 || n >= sizeof table[0].user_id || s[0] < 'A' || s[0] > 'Z' || s[1] < 'A' ||
        s[1] > 'Z' || s[2] != '.')
        return false;
    return strspn(s + 3, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.") ==
           n - 3;
}

static int user_from_json(const json_t *o, struct sim_user *u, char *err, size_t errlen)
{
    char e164[E164_MAX];
    memset(u, 0, sizeof(*u));
    const char *phone = json_string_value(json_object_get(o, "phone"));
    const char *id = json_string_value(json_object_get(o, "user_id"));
    const char *name = json_string_value(json_object_get(o, "username"));
    const json_t *hide = json_object_get(o, "hide_phone");
    if (!json_is_object(o) || !id || !valid_user_id(id)) {
        snprintf(err, errlen, "users[] need a user_id such as ES.1502576394655843");
        return -1;
    }
    if (json_object_get(o, "phone") && (!phone || !e164_normalize(phone, e164))) {
        snprintf(err, errlen, "users[].phone must be an E.164 number");
        return -1;
    }
    if ((name && strlen(name) >= sizeof u->username) || (hide && !json_is_boolean(hide))) {
        snprintf(err, errlen, "users[].username must be short; hide_phone a boolean");
        return -1;
    }
    if (phone)
        snprintf(u->wa_id, sizeof u->wa_id, "%s", e164 + 1);
    snprintf(u->user_id, sizeof u->user_id, "%s", id);
    snprintf(u->username, sizeof u->username, "%s", name ? name : "");
    u->hide_phone = json_is_true(hide) || !phone;
    return 0;
}

int users_set(const json_t *arr, bool replace, char *err, size_t errlen)
{
    static struct sim_user parsed[USERS_MAX];
    static pthread_mutex_t set_lock = PTHREAD_MUTEX_INITIALIZER;
    size_t i, n = 0;
    const json_t *o;
    int rc = -1;
    if (!json_is_array(arr) || json_array_size(arr) > USERS_MAX) {
        snprintf(err, errlen, "users must be an array of at most %d users", USERS_MAX);
        return -1;
    }
    pthread_mutex_lock(&set_lock);
    json_array_foreach (arr, i, o) {
        if (user_from_json(o, &parsed[n], err, errlen) != 0)
            goto out;
        n++;
    }
    pthread_mutex_lock(&users_lock);
    if (replace)
        count = 0;
    for (i = 0; i < n; i++) {
        size_t k = 0; /* the same BSUID again replaces the entry */
        while (k < count && strcmp(table[k].user_id, parsed[i].user_id) != 0)
            k++;
        if (k == count && count == USERS_MAX)
            break;
        table[k] = parsed[i];
        if (k == count)
            count++;
    }
    pthread_mutex_unlock(&users_lock);
    rc = 0;
out:
    pthread_mutex_unlock(&set_lock);
    return rc;
}

json_t *users_json(void)
{
    json_t *arr = json_array();
    pthread_mutex_lock(&users_lock);
    for (size_t i = 0; i < count; i++) {
        json_t *o = json_pack("{s:s, s:s, s:b}", "user_id", table[i].user_id, "username",
                              table[i].username, "hide_phone", table[i].hide_phone);
        json_object_set_new(o, "phone",
                            table[i].wa_id[0] ? json_sprintf("+%s", table[i].wa_id) : json_null());
        json_array_append_new(arr, o);
    }
    pthread_mutex_unlock(&users_lock);
    return arr;
}

void users_reset(void)
{
    pthread_mutex_lock(&users_lock);
    count = 0;
    pthread_mutex_unlock(&users_lock);
}
