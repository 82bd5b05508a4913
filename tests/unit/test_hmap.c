/* test_hmap.c - the intrusive hash table of common/hmap.h: growth, lookups among equal
 * hashes, removal and draining. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hmap.h"

struct item {
    struct hmap_node node;
    char key[16];
};

static struct item *find(struct hmap *m, const char *key, uint64_t hash)
{
    for (struct hmap_node *n = hmap_first(m, hash); n; n = hmap_next(n)) {
        struct item *it = hmap_entry(n, struct item, node);
        if (strcmp(it->key, key) == 0)
            return it;
    }
    return NULL;
}

static void count_and_free(struct hmap_node *n, void *arg)
{
    (*(int *)arg)++;
    free(hmap_entry(n, struct item, node));
}

static void grows_finds_removes_and_drains(void **state)
{
    (void)state;
    struct hmap m;
    hmap_init(&m, 1);
    static struct item *items[5000];
    for (int i = 0; i < 5000; i++) {
        items[i] = calloc(1, sizeof(*items[i]));
        snprintf(items[i]->key, sizeof items[i]->key, "k%d", i);
        hmap_insert(&m, &items[i]->node, hmap_hash_str(items[i]->key));
    }
    assert_int_equal(m.count, 5000);
    assert_true(m.nbuckets >= 5000);
    for (int i = 0; i < 5000; i++)
        assert_ptr_equal(find(&m, items[i]->key, hmap_hash_str(items[i]->key)), items[i]);
    assert_null(find(&m, "absent", hmap_hash_str("absent")));
    for (int i = 0; i < 5000; i += 2) {
        hmap_remove(&m, &items[i]->node);
        free(items[i]);
    }
    assert_int_equal(m.count, 2500);
    assert_null(find(&m, "k0", hmap_hash_str("k0")));
    assert_ptr_equal(find(&m, "k1", hmap_hash_str("k1")), items[1]);
    int drained = 0;
    hmap_drain(&m, count_and_free, &drained);
    assert_int_equal(drained, 2500);
    assert_int_equal(m.count, 0);
    hmap_free(&m);
}

/* Entries whose hashes are equal are told apart by the caller's key comparison. */
static void equal_hashes_are_walked(void **state)
{
    (void)state;
    struct hmap m;
    hmap_init(&m, 4);
    struct item a = {.key = "a"}, b = {.key = "b"}, c = {.key = "c"};
    hmap_insert(&m, &a.node, 42);
    hmap_insert(&m, &b.node, 42);
    hmap_insert(&m, &c.node, 42 + 4); /* same bucket, other hash */
    assert_ptr_equal(find(&m, "a", 42), &a);
    assert_ptr_equal(find(&m, "b", 42), &b);
    assert_null(find(&m, "c", 42));
    assert_ptr_equal(find(&m, "c", 46), &c);
    assert_true(hmap_hash_more(hmap_hash_str("ab"), '\n', "c") !=
                hmap_hash_more(hmap_hash_str("a"), '\n', "bc"));
    hmap_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(grows_finds_removes_and_drains),
        cmocka_unit_test(equal_hashes_are_walked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
