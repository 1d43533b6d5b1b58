/* A small assertion framework: CHECK records a failure and carries on, so one run shows every failure. */
#ifndef HB_TEST_H
#define HB_TEST_H

#include <stdint.h>
#include <stdio.h>

extern long hb_checks;
extern long hb_check_failures;

#define CHECK(cond)                                                                          \
    do {                                                                                     \
        hb_checks++;                                                                         \
        if (!(cond)) {                                                                       \
            hb_check_failures++;                                                             \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);          \
        }                                                                                    \
    } while (0)

#define CHECK_EQ(a, b)                                                                       \
    do {                                                                                     \
        long long hb_a_ = (long long)(a), hb_b_ = (long long)(b);                            \
        hb_checks++;                                                                         \
        if (hb_a_ != hb_b_) {                                                                \
            hb_check_failures++;                                                             \
            fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %lld, %s == %lld\n", __FILE__,    \
                    __LINE__, #a, hb_a_, #b, hb_b_);                                         \
        }                                                                                    \
    } while (0)

#define CHECK_MEM(a, b, n)                                                                   \
    do {                                                                                     \
        hb_checks++;                                                                         \
        if (memcmp((a), (b), (n)) != 0) {                                                    \
            hb_check_failures++;                                                             \
            fprintf(stderr, "%s:%d: CHECK_MEM failed: %s vs %s (%lu bytes)\n", __FILE__,     \
                    __LINE__, #a, #b, (unsigned long)(n));                                   \
        }                                                                                    \
    } while (0)

typedef void (*hb_test_fn)(void);

typedef struct hb_test_case {
    const char *name;
    hb_test_fn fn;
} hb_test_case;

#endif
