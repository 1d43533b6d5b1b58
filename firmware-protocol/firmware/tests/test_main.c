/* Runs every test case and prints "firmware tests: N passed, M failed"; exits 1 on any failure. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "test.h"
#include "tests.h"

long hb_checks;
long hb_check_failures;

#define HB_ENTRY(name) { #name, name },
static const hb_test_case cases[] = { HB_TEST_LIST(HB_ENTRY) };
#undef HB_ENTRY

int main(int argc, char **argv)
{
    size_t i, passed = 0, failed = 0;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        long before = hb_check_failures;
        clock_t t0;
        if (argc > 1 && strstr(cases[i].name, argv[1]) == NULL)
            continue;
        t0 = clock();
        printf("%s\n", cases[i].name);
        fflush(stdout);
        cases[i].fn();
        if (hb_check_failures == before) {
            passed++;
            printf("  ok (%.2f s)\n", (double)(clock() - t0) / CLOCKS_PER_SEC);
        } else {
            failed++;
            printf("  FAILED (%ld checks)\n", hb_check_failures - before);
        }
        fflush(stdout);
    }
    printf("firmware tests: %lu passed, %lu failed (%ld checks, %ld failed)\n", (unsigned long)passed,
           (unsigned long)failed, hb_checks, hb_check_failures);
    return failed == 0 ? 0 : 1;
}
