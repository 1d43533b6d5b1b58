/* CRC-32C, COBS and the golden frames of vectors/frames.txt. */
#include <stdlib.h>
#include <string.h>

#include "hb_cobs.h"
#include "hb_crc32c.h"
#include "hb_frame.h"
#include "test.h"
#include "tests.h"
#include "util.h"

void test_crc_check_value(void)
{
    static const uint8_t check[] = "123456789";
    uint8_t buf[1000];
    size_t i;
    uint32_t crc;

    CHECK_EQ(hb_crc32c(check, 9), 0xE3069283u);
    CHECK_EQ(crc32c_bitwise(check, 9), 0xE3069283u);
    CHECK_EQ(hb_crc32c(check, 0), 0x00000000u);
    for (i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)(i * 7 + (i >> 3));
    for (i = 0; i <= sizeof buf; i += 37)
        CHECK_EQ(hb_crc32c(buf, i), crc32c_bitwise(buf, i));
    crc = hb_crc32c_update(0xFFFFFFFFu, buf, 300);
    crc = hb_crc32c_update(crc, buf + 300, 700) ^ 0xFFFFFFFFu;
    CHECK_EQ(crc, hb_crc32c(buf, 1000));
}

static void cobs_case(const uint8_t *in, size_t n, const uint8_t *expect, size_t expect_n)
{
    uint8_t enc[HB_COBS_MAX_ENCODED(5000)], dec[5000];
    size_t m = hb_cobs_encode(in, n, enc, sizeof enc);
    long d;

    CHECK_EQ(m, expect_n);
    if (expect != NULL)
        CHECK_MEM(enc, expect, expect_n);
    CHECK(memchr(enc, 0, m) == NULL);
    d = hb_cobs_decode(enc, m, dec);
    CHECK_EQ(d, (long)n);
    if (d == (long)n)
        CHECK_MEM(dec, in, n);
    /* in place */
    d = hb_cobs_decode(enc, m, enc);
    CHECK_EQ(d, (long)n);
    if (d == (long)n)
        CHECK_MEM(enc, in, n);
}

void test_cobs_edges(void)
{
    static const uint8_t z1[] = { 0 }, e_z1[] = { 1, 1 };
    static const uint8_t z2[] = { 0, 0 }, e_z2[] = { 1, 1, 1 };
    static const uint8_t a[] = { 0x11, 0x22, 0x00, 0x33 }, e_a[] = { 3, 0x11, 0x22, 2, 0x33 };
    static const uint8_t b[] = { 0x11, 0x00, 0x00, 0x00 }, e_b[] = { 2, 0x11, 1, 1, 1 };
    static const uint8_t e_empty[] = { 1 };
    uint8_t run[600], enc[700], out[700];
    size_t i, m;

    cobs_case(z1, 0, e_empty, 1);
    cobs_case(z1, 1, e_z1, 2);
    cobs_case(z2, 2, e_z2, 3);
    cobs_case(a, 4, e_a, 5);
    cobs_case(b, 4, e_b, 5);
    for (i = 0; i < sizeof run; i++)
        run[i] = (uint8_t)(i % 255 + 1);
    /* 253, 254 and 255 non-zero bytes straddle the 0xFF block boundary. */
    cobs_case(run, 253, NULL, 254);
    cobs_case(run, 254, NULL, 256); /* FF, 254 bytes, then the always-opened final block 01 */
    m = hb_cobs_encode(run, 254, enc, sizeof enc);
    CHECK_EQ(enc[0], 0xFF);
    CHECK_EQ(enc[255], 0x01);
    cobs_case(run, 255, NULL, 257);
    cobs_case(run, 508, NULL, 511);
    cobs_case(run, 600, NULL, 603);
    run[254] = 0;
    cobs_case(run, 300, NULL, 302);
    (void)m;

    /* Invalid inputs: code pointing past the end, a zero byte inside. */
    {
        static const uint8_t bad1[] = { 0x09, 0x01, 0x02 };
        static const uint8_t bad2[] = { 0x03, 0x00, 0x02 };
        static const uint8_t bad3[] = { 0x02 };
        static const uint8_t bad4[] = { 0xFF, 1, 2, 3 };
        static const uint8_t ok1[] = { 0x01 };
        CHECK_EQ(hb_cobs_decode(bad1, 3, out), -1);
        CHECK_EQ(hb_cobs_decode(bad2, 3, out), -1);
        CHECK_EQ(hb_cobs_decode(bad3, 1, out), -1);
        CHECK_EQ(hb_cobs_decode(bad4, 4, out), -1);
        CHECK_EQ(hb_cobs_decode(ok1, 1, out), 0);
    }
    /* Encoder refuses a too small output buffer instead of overrunning it. */
    CHECK_EQ(hb_cobs_encode(run, 10, enc, 10), 0);
    CHECK_EQ(hb_cobs_encode(run, 10, enc, 11), 11);
    CHECK_EQ(hb_cobs_encode(run, 254, enc, 255), 0);
    CHECK_EQ(hb_cobs_encode(run, 254, enc, 256), 256);
    /* The largest body encodes to exactly HB_MAX_ENCODED bytes. */
    {
        static uint8_t big[HB_MAX_BODY], bigenc[HB_MAX_WIRE];
        for (i = 0; i < sizeof big; i++)
            big[i] = (uint8_t)(i % 255 + 1);
        CHECK_EQ(hb_cobs_encode(big, sizeof big, bigenc, sizeof bigenc), HB_MAX_ENCODED);
        CHECK_EQ(hb_frame_encode(big, sizeof big, bigenc, sizeof bigenc), HB_MAX_WIRE);
    }
}

void test_golden_vectors(void)
{
    golden *v;
    size_t n = golden_load(&v), i, ok = 0;

    CHECK(n >= 20);
    for (i = 0; i < n; i++) {
        const golden *g = &v[i];
        hb_decoder d;
        const uint8_t *body = NULL, *payload = NULL;
        size_t body_len = 0, payload_len = 0, k, events = 0;
        hb_decode_event last = HB_DEC_NONE;
        static uint8_t body_copy[HB_MAX_BODY];
        hb_header h;

        hb_decoder_init(&d);
        for (k = 0; k < g->wire_len; k++) {
            hb_decode_event e = hb_decoder_push(&d, g->wire[k], &body, &body_len);
            if (e != HB_DEC_NONE) {
                events++;
                last = e;
                if (e == HB_DEC_FRAME)
                    memcpy(body_copy, body, body_len);
            }
        }
        CHECK_EQ(events, 1);
        if (strcmp(g->result, "garbage") == 0) {
            if (last != HB_DEC_GARBAGE)
                fprintf(stderr, "vector %s: expected garbage\n", g->name);
            CHECK_EQ(last, HB_DEC_GARBAGE);
            continue;
        }
        CHECK_EQ(last, HB_DEC_FRAME);
        if (last != HB_DEC_FRAME)
            continue;
        {
            hb_frame_result r = hb_frame_parse(body_copy, body_len, &h, &payload, &payload_len);
            hb_frame_result want = strcmp(g->result, "ok") == 0 ? HB_FRAME_OK
                                   : strcmp(g->result, "bad_crc") == 0 ? HB_FRAME_BAD_CRC
                                                                        : HB_FRAME_BAD_LENGTH;
            if (r != want)
                fprintf(stderr, "vector %s: result %d, want %d\n", g->name, (int)r, (int)want);
            CHECK_EQ(r, want);
        }
        CHECK(g->has_fields);
        CHECK_EQ(h.version, g->version);
        CHECK_EQ(h.flags, g->flags);
        CHECK_EQ(h.request_id, g->request_id);
        CHECK_EQ(h.command, g->command);
        CHECK_EQ(h.status, g->status);
        CHECK_EQ(payload_len, g->payload_len);
        if (payload_len == g->payload_len)
            CHECK_MEM(payload, g->payload, payload_len);
        if (strcmp(g->result, "ok") == 0) {
            static uint8_t rebuilt[HB_MAX_BODY], wire[HB_MAX_WIRE];
            size_t bn = hb_frame_build(rebuilt, &h, g->payload, g->payload_len);
            size_t wn = hb_frame_encode(rebuilt, bn, wire, sizeof wire);
            CHECK_EQ(wn, g->wire_len);
            if (wn == g->wire_len && memcmp(wire, g->wire, wn) != 0)
                fprintf(stderr, "vector %s: re-encoding differs\n", g->name);
            CHECK_MEM(wire, g->wire, g->wire_len);
            ok++;
        }
    }
    CHECK(ok >= 17);
    free(v);
}
