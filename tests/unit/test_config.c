/* test_config.c - the configuration table: defaults, required, ranges, masking. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"

static const char *const *fake_env;

static const char *lookup(const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; fake_env[i]; i++) {
        if (strncmp(fake_env[i], name, n) == 0 && fake_env[i][n] == '=')
            return fake_env[i] + n + 1;
    }
    return NULL;
}

static const char *url, *secret, *name;
static long port;
static bool enabled;

static const struct cfg_var vars[] = {
    {"DB_URL", CFG_URL, &url, "http://db", 0, 0, 0, "where"},
    {"SECRET", CFG_STRING, &secret, NULL, 0, 0, CFG_REQUIRED | CFG_SECRET, "shh"},
    {"PORT", CFG_INT, &port, "8001", 0, 65535, 0, "port"},
    {"ENABLED", CFG_BOOL, &enabled, "true", 0, 0, 0, "on?"},
    {"NAME", CFG_STRING, &name, NULL, 0, 0, 0, "optional"},
};
#define NVARS (sizeof vars / sizeof vars[0])

static int load(const char *const *env, char *err)
{
    fake_env = env;
    return cfg_load(vars, NVARS, lookup, err, 256);
}

static void defaults_apply(void **state)
{
    (void)state;
    char err[256];
    const char *env[] = {"SECRET=x", NULL};
    assert_int_equal(load(env, err), 0);
    assert_string_equal(url, "http://db");
    assert_int_equal(port, 8001);
    assert_true(enabled);
    assert_string_equal(name, "");
}

static void values_override_defaults(void **state)
{
    (void)state;
    char err[256];
    const char *env[] = {"SECRET=x",         "PORT=9000", "ENABLED=off",
                         "DB_URL=https://h", "NAME=n",    NULL};
    assert_int_equal(load(env, err), 0);
    assert_int_equal(port, 9000);
    assert_false(enabled);
    assert_string_equal(url, "https://h");
    assert_string_equal(name, "n");
}

static void a_missing_required_variable_is_named(void **state)
{
    (void)state;
    char err[256];
    const char *env[] = {"PORT=1", NULL};
    assert_int_equal(load(env, err), -1);
    assert_non_null(strstr(err, "SECRET"));
    const char *empty[] = {"SECRET=", NULL};
    assert_int_equal(load(empty, err), -1);
    assert_non_null(strstr(err, "SECRET"));
}

static void bad_values_are_named(void **state)
{
    (void)state;
    char err[256];
    const char *cases[][3] = {
        {"SECRET=x", "PORT=70000", "PORT"},       {"SECRET=x", "PORT=12x", "PORT"},
        {"SECRET=x", "PORT= 12", "PORT"},         {"SECRET=x", "PORT=99999999999999999999", "PORT"},
        {"SECRET=x", "ENABLED=maybe", "ENABLED"}, {"SECRET=x", "DB_URL=ftp://x", "DB_URL"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *env[] = {cases[i][0], cases[i][1], NULL};
        assert_int_equal(load(env, err), -1);
        assert_non_null(strstr(err, cases[i][2]));
    }
}

static void strict_number_parsing(void **state)
{
    (void)state;
    long v;
    assert_true(cfg_parse_long("42", 0, 100, &v));
    assert_int_equal(v, 42);
    assert_true(cfg_parse_long("-3", -5, 5, &v));
    assert_false(cfg_parse_long("", 0, 100, &v));
    assert_false(cfg_parse_long("4 2", 0, 100, &v));
    assert_false(cfg_parse_long("101", 0, 100, &v));
    assert_false(cfg_parse_long("0x10", 0, 100, &v));
    assert_false(cfg_parse_long(NULL, 0, 100, &v));
}

static void secrets_are_masked_when_printed(void **state)
{
    (void)state;
    char err[256];
    const char *env[] = {"SECRET=very-secret-value", NULL};
    assert_int_equal(load(env, err), 0);
    char out[1024] = {0};
    FILE *f = fmemopen(out, sizeof out - 1, "w");
    cfg_print(vars, NVARS, f);
    fclose(f);
    assert_null(strstr(out, "very-secret-value"));
    assert_non_null(strstr(out, "SECRET=******"));
    assert_non_null(strstr(out, "PORT=8001"));
}

static void command_line(void **state)
{
    (void)state;
    char *a0[] = {"x", NULL};
    char *a1[] = {"x", "--help", NULL};
    char *a2[] = {"x", "--check-config", NULL};
    char *a3[] = {"x", "--bogus", NULL};
    char *a4[] = {"x", "--version", NULL};
    char *a5[] = {"x", "--migrate-only", NULL};
    assert_int_equal(cfg_parse_args(1, a0), CFG_RUN);
    assert_int_equal(cfg_parse_args(2, a1), CFG_HELP);
    assert_int_equal(cfg_parse_args(2, a2), CFG_CHECK);
    assert_int_equal(cfg_parse_args(2, a3), CFG_BAD_ARG);
    assert_int_equal(cfg_parse_args(2, a4), CFG_VERSION);
    assert_int_equal(cfg_parse_args(2, a5), CFG_MIGRATE_ONLY);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_apply),
        cmocka_unit_test(values_override_defaults),
        cmocka_unit_test(a_missing_required_variable_is_named),
        cmocka_unit_test(bad_values_are_named),
        cmocka_unit_test(strict_number_parsing),
        cmocka_unit_test(secrets_are_masked_when_printed),
        cmocka_unit_test(command_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
