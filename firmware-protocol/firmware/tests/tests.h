/* Every test case; test_main.c runs them in this order. */
#ifndef HB_TESTS_H
#define HB_TESTS_H

#define HB_TEST_LIST(X)                       \
    X(test_crc_check_value)                   \
    X(test_cobs_edges)                        \
    X(test_golden_vectors)                    \
    X(test_decoder_stream)                    \
    X(test_decoder_too_long)                  \
    X(test_decoder_sizes)                     \
    X(test_dispatch_hello)                    \
    X(test_dispatch_golden_replies)           \
    X(test_dispatch_set_op)                   \
    X(test_dispatch_memory)                   \
    X(test_dispatch_address_range)            \
    X(test_dispatch_payload_lengths)          \
    X(test_dispatch_unknown_command)          \
    X(test_dispatch_compare)                  \
    X(test_dispatch_compare_continuation)     \
    X(test_dispatch_retry_cache)              \
    X(test_dispatch_lease)                    \
    X(test_dispatch_reset)                    \
    X(test_dispatch_frames_and_hal_errors)    \
    X(test_core_init_rejects)                 \
    X(test_chip_deterministic)                \
    X(test_chip_invariants)                   \
    X(test_chip_expected_count)               \
    X(test_chip_board_nesting)                \
    X(test_chip_golden_hello_and_telemetry)   \
    X(test_chip_transient)                    \
    X(test_chip_destructive)                  \
    X(test_profile)                           \
    X(test_truth_file)                        \
    X(test_fuzz_random_bytes)                 \
    X(test_fuzz_mutated_frames)

#define HB_DECLARE(name) void name(void);
HB_TEST_LIST(HB_DECLARE)
#undef HB_DECLARE

#endif
