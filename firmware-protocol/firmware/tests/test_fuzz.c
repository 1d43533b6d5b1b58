/*
 * Fuzzing the decoder and the dispatcher with deterministic seeds: random byte strings and
 * mutated valid frames. Checked: no crash (run under ASan/UBSan), bounded work, every accepted
 * frame carries a correct CRC, and every accepted mutated frame is one of the valid frames.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hb_cobs.h"
#include "hb_core.h"
#include "hb_crc32c.h"
#include "hb_frame.h"
#include "rng.h"
#include "test.h"
#include "tests.h"
#include "util.h"

#define RANDOM_STRINGS 100000
#define MUTATED_FRAMES 100000
#define CORPUS 300

typedef struct corpus_frame {
    uint8_t body[HB_MAX_BODY];
    size_t body_len;
    uint8_t wire[HB_MAX_WIRE];
    size_t wire_len;
    uint32_t crc;
} corpus_frame;

static corpus_frame *corpus;
static size_t corpus_n;

/* What the fuzz run saw. */
typedef struct stats {
    long inputs, bytes, frames, garbage, too_long, bad_crc, bad_length, accepted, accepted_intact, accepted_corrupt;
    long core_requests, core_requests_unknown, core_replies, core_bad_replies;
} stats;

static stats st;
static int check_corpus; /* core requests must be corpus bodies */

static int in_corpus(const uint8_t *body, size_t n)
{
    uint32_t crc = hb_crc32c(body, n);
    size_t i;
    for (i = 0; i < corpus_n; i++)
        if (corpus[i].body_len == n && corpus[i].crc == crc && memcmp(corpus[i].body, body, n) == 0)
            return 1;
    return 0;
}

static int crc_correct(const uint8_t *body, size_t n)
{
    return n >= HB_MIN_BODY && crc32c_bitwise(body, n - 4) == hb_get_u32(body + n - 4);
}

static fake_board fb;
static hb_hal fuzz_hal;
static hb_core core;
static hb_decoder dec, reply_dec;

static void fuzz_event(void *ctx, hb_event ev, uint16_t id, uint8_t command, const uint8_t *body, size_t len)
{
    (void)ctx;
    (void)id;
    (void)command;
    if (ev != HB_EV_REQUEST)
        return;
    st.core_requests++;
    /* The core executes only frames with a correct CRC, flags 0 and version 1. */
    if (!crc_correct(body, len) || body[0] != 1 || body[1] != 0)
        st.core_bad_replies++;
    if (check_corpus && !in_corpus(body, len))
        st.core_requests_unknown++;
}

static void setup_core(void)
{
    fake_init(&fb, 16, 1024, 32); /* 64 KiB */
    fuzz_hal = fb.hal;
    fuzz_hal.event = fuzz_event;
    CHECK_EQ(hb_core_init(&core, &fuzz_hal), 0);
    hb_decoder_init(&dec);
    hb_decoder_init(&reply_dec);
}

static void check_reply(const uint8_t *wire, size_t n)
{
    size_t i, frames = 0;
    st.core_replies++;
    for (i = 0; i < n; i++) {
        const uint8_t *body;
        size_t len;
        hb_decode_event e = hb_decoder_push(&reply_dec, wire[i], &body, &len);
        if (e == HB_DEC_FRAME) {
            hb_header h;
            const uint8_t *p;
            size_t pn;
            frames++;
            if (hb_frame_parse(body, len, &h, &p, &pn) != HB_FRAME_OK || h.flags != 1 || h.version != 1 ||
                !crc_correct(body, len))
                st.core_bad_replies++;
        } else if (e != HB_DEC_NONE) {
            st.core_bad_replies++;
        }
    }
    if (frames != 1 || wire[n - 1] != 0)
        st.core_bad_replies++;
}

/* Feeds bytes to a standalone decoder (checking what it accepts) and to the core. */
static void feed_both(const uint8_t *bytes, size_t n)
{
    size_t i;
    st.inputs++;
    st.bytes += (long)n;
    for (i = 0; i < n; i++) {
        const uint8_t *body, *reply;
        size_t len, rn;
        hb_header h;
        const uint8_t *p;
        size_t pn;

        switch (hb_decoder_push(&dec, bytes[i], &body, &len)) {
        case HB_DEC_FRAME:
            st.frames++;
            switch (hb_frame_parse(body, len, &h, &p, &pn)) {
            case HB_FRAME_OK:
                st.accepted++;
                if (!crc_correct(body, len))
                    st.accepted_corrupt++;
                else if (check_corpus) {
                    if (in_corpus(body, len))
                        st.accepted_intact++;
                    else
                        st.accepted_corrupt++;
                }
                break;
            case HB_FRAME_BAD_CRC:
                st.bad_crc++;
                break;
            case HB_FRAME_BAD_LENGTH:
                st.bad_length++;
                break;
            case HB_FRAME_GARBAGE:
                st.garbage++;
                break;
            }
            break;
        case HB_DEC_GARBAGE:
            st.garbage++;
            break;
        case HB_DEC_TOO_LONG:
            st.too_long++;
            break;
        case HB_DEC_NONE:
            break;
        }
        rn = hb_core_feed(&core, bytes[i], &reply);
        if (rn > 0)
            check_reply(reply, rn);
    }
    fb.now += 3; /* leases run out now and then */
    (void)hb_core_poll(&core);
}

static void print_stats(const char *what, double seconds)
{
    printf("  %s: %ld inputs, %ld bytes in %.1f s; decoder: %ld frames, %ld garbage, %ld too long, %ld bad CRC, "
           "%ld bad length, %ld accepted (%ld intact, %ld corrupt); core: %ld requests executed or replayed, "
           "%ld replies, %ld bad\n",
           what, st.inputs, st.bytes, seconds, st.frames, st.garbage, st.too_long, st.bad_crc, st.bad_length,
           st.accepted, st.accepted_intact, st.accepted_corrupt, st.core_requests, st.core_replies, st.core_bad_replies);
}

void test_fuzz_random_bytes(void)
{
    static uint8_t buf[6000];
    emu_rng r;
    long k;
    clock_t t0 = clock();

    memset(&st, 0, sizeof st);
    check_corpus = 0;
    setup_core();
    emu_rng_seed(&r, 20261129, 1);
    for (k = 0; k < RANDOM_STRINGS; k++) {
        uint64_t x = emu_rng_next(&r);
        size_t n = (size_t)(x % 300), i;
        /*
         * Modes: 0-2 raw bytes (no zeros, uniform, one zero in 16); 3 a random body, COBS-framed,
         * so the CRC check sees it; 4 a random body with a correct CRC, so the dispatcher sees
         * arbitrary versions, flags, commands, lengths and payloads.
         */
        unsigned mode = (unsigned)((x >> 16) % 5);
        if ((x >> 24) % 1000 == 0) {
            n = 4100 + (size_t)((x >> 34) % 1800); /* long runs reach the too-long path */
            mode = 0;
        }
        for (i = 0; i < n; i++) {
            uint64_t y = emu_rng_next(&r);
            buf[i] = (uint8_t)y;
            if (mode == 0 && buf[i] == 0)
                buf[i] = 1;
            else if (mode == 2 && (y >> 8) % 16 == 0)
                buf[i] = 0;
        }
        if (mode >= 3) {
            static uint8_t wire[HB_MAX_WIRE + 8];
            size_t wn;
            if (n < HB_MIN_BODY)
                n = HB_MIN_BODY + n % 4;
            if (mode == 4) {
                buf[0] = (x >> 32) % 4 ? 1 : buf[0];                      /* mostly version 1 */
                buf[1] = (x >> 34) % 4 ? 0 : buf[1];                      /* mostly flags 0 */
                buf[4] = (uint8_t)(buf[4] % 12);                          /* commands 0..11 */
                if ((x >> 36) % 4)
                    hb_put_u16(buf + 6, (uint16_t)(n - HB_MIN_BODY)); /* mostly the right length */
                hb_put_u32(buf + n - 4, hb_crc32c(buf, n - 4));
            }
            wire[0] = 0; /* ends whatever the previous raw input left open */
            wn = hb_frame_encode(buf, n, wire + 1, sizeof wire - 1);
            feed_both(wire, wn + 1);
            continue;
        }
        feed_both(buf, n);
    }
    print_stats("random strings", (double)(clock() - t0) / CLOCKS_PER_SEC);
    CHECK_EQ(st.inputs, RANDOM_STRINGS);
    CHECK_EQ(st.accepted_corrupt, 0);
    CHECK_EQ(st.core_bad_replies, 0);
    CHECK(st.frames > 30000);
    CHECK(st.bad_crc > 10000);
    CHECK(st.accepted > 10000);
    CHECK(st.core_requests > 5000);
    CHECK(st.too_long > 10);
    fake_free(&fb);
}

static size_t random_payload(emu_rng *r, uint8_t command, uint8_t *p)
{
    uint64_t x = emu_rng_next(r);
    size_t n, i;
    uint32_t address = (uint32_t)(x % 70000); /* mostly inside the 64 KiB memory */

    switch (command) {
    case HB_CMD_HELLO:
        p[0] = (uint8_t)(x >> 20) % 3;
        p[1] = (uint8_t)(1 + (x >> 24) % 3);
        return 2;
    case HB_CMD_SET_OP:
        hb_put_u16(p, (uint16_t)(450 + 5 * ((x >> 20) % 120)));
        hb_put_u16(p + 2, (x >> 30) % 8 == 0 ? 1 : 0);
        hb_put_i16(p + 4, (x >> 34) % 2 ? 0x7FFF : (int16_t)(50 * ((x >> 36) % 20)));
        return 6;
    case HB_CMD_WRITE:
        n = 1 + (size_t)((x >> 20) % 700);
        if ((x >> 40) % 50 == 0)
            n = 4092;
        hb_put_u32(p, address);
        for (i = 0; i < n; i++)
            p[4 + i] = (uint8_t)emu_rng_next(r);
        return 4 + n;
    case HB_CMD_READ:
        hb_put_u32(p, address);
        hb_put_u16(p + 4, (uint16_t)((x >> 20) % 4200));
        return 6;
    case HB_CMD_FILL:
    case HB_CMD_COMPARE: {
        uint8_t pl = (uint8_t)(1 + (x >> 40) % 16);
        size_t at = 9;
        hb_put_u32(p, address);
        hb_put_u32(p + 4, (uint32_t)((x >> 20) % 9000));
        if (command == HB_CMD_FILL) {
            p[8] = pl;
        } else {
            p[8] = (uint8_t)((x >> 50) % 2);
            if (p[8] == 0)
                return 9;
            p[9] = pl;
            at = 10;
        }
        for (i = 0; i < pl; i++)
            p[at + i] = (uint8_t)emu_rng_next(r);
        return at + pl;
    }
    case HB_CMD_LEASE:
        hb_put_u32(p, (uint32_t)(50 + (x >> 20) % 10000));
        return 4;
    default:
        n = (size_t)((x >> 20) % 20);
        for (i = 0; i < n; i++)
            p[i] = (uint8_t)emu_rng_next(r);
        return n;
    }
}

static void build_corpus(emu_rng *r)
{
    static uint8_t payload[HB_MAX_PAYLOAD];
    golden *v;
    size_t n = golden_load(&v), i;

    corpus = malloc(CORPUS * sizeof *corpus);
    CHECK(corpus != NULL);
    corpus_n = 0;
    /* The golden request frames with a correct CRC and length first. */
    for (i = 0; i < n && corpus_n < CORPUS; i++) {
        long bn;
        if (strcmp(v[i].result, "ok") != 0 || v[i].flags != 0)
            continue;
        memcpy(corpus[corpus_n].wire, v[i].wire, v[i].wire_len);
        corpus[corpus_n].wire_len = v[i].wire_len;
        bn = hb_cobs_decode(v[i].wire, v[i].wire_len - 1, corpus[corpus_n].body);
        corpus[corpus_n].body_len = (size_t)bn;
        corpus_n++;
    }
    free(v);
    while (corpus_n < CORPUS) {
        corpus_frame *f = &corpus[corpus_n];
        uint8_t command = (uint8_t)(1 + emu_rng_next(r) % 10);
        size_t pn = random_payload(r, command, payload);
        hb_header h;
        h.version = 1;
        h.flags = 0;
        h.request_id = (uint16_t)(1 + emu_rng_next(r) % 65535);
        h.command = command;
        h.status = 0;
        f->body_len = hb_frame_build(f->body, &h, payload, pn);
        f->wire_len = hb_frame_encode(f->body, f->body_len, f->wire, sizeof f->wire);
        corpus_n++;
    }
    for (i = 0; i < corpus_n; i++)
        corpus[i].crc = hb_crc32c(corpus[i].body, corpus[i].body_len);
}

/* Applies one random mutation in place; returns the new length (buffer holds up to cap bytes). */
static size_t mutate(emu_rng *r, uint8_t *b, size_t n, size_t cap)
{
    uint64_t x = emu_rng_next(r);
    size_t pos = n ? (size_t)((x >> 8) % n) : 0, k, i;

    switch (x % 7) {
    case 0: /* flip 1..4 bits */
        for (k = 0, i = 1 + (x >> 40) % 4; k < i && n > 0; k++) {
            uint64_t y = emu_rng_next(r);
            b[(y >> 8) % n] ^= (uint8_t)(1u << (y % 8));
        }
        return n;
    case 1: /* overwrite a byte */
        if (n > 0)
            b[pos] = (uint8_t)(x >> 48);
        return n;
    case 2: /* truncate */
        return pos;
    case 3: /* insert 1..8 random bytes */
        k = 1 + (size_t)((x >> 40) % 8);
        if (n + k > cap)
            return n;
        memmove(b + pos + k, b + pos, n - pos);
        for (i = 0; i < k; i++)
            b[pos + i] = (uint8_t)emu_rng_next(r);
        return n + k;
    case 4: /* delete 1..8 bytes */
        k = 1 + (size_t)((x >> 40) % 8);
        if (pos + k > n)
            k = n - pos;
        memmove(b + pos, b + pos + k, n - pos - k);
        return n - k;
    case 5: { /* splice: keep a prefix, append the tail of another frame */
        const corpus_frame *o = &corpus[emu_rng_next(r) % corpus_n];
        size_t from = (size_t)((x >> 40) % o->wire_len);
        if (pos + (o->wire_len - from) > cap)
            return n;
        memcpy(b + pos, o->wire + from, o->wire_len - from);
        return pos + (o->wire_len - from);
    }
    default: /* duplicate a segment */
        k = 1 + (size_t)((x >> 40) % 16);
        if (pos + k > n || n + k > cap)
            return n;
        memmove(b + pos + k, b + pos, n - pos);
        return n + k;
    }
}

void test_fuzz_mutated_frames(void)
{
    static uint8_t buf[3 * HB_MAX_WIRE];
    emu_rng r;
    long k;
    clock_t t0 = clock();
    const uint8_t zero = 0;

    memset(&st, 0, sizeof st);
    emu_rng_seed(&r, 20261129, 2);
    build_corpus(&r);
    check_corpus = 1;
    setup_core();
    for (k = 0; k < MUTATED_FRAMES; k++) {
        const corpus_frame *f = &corpus[emu_rng_next(&r) % corpus_n];
        size_t n = f->wire_len, m, mutations = 1 + emu_rng_next(&r) % 3;
        memcpy(buf, f->wire, n);
        for (m = 0; m < mutations; m++)
            n = mutate(&r, buf, n, sizeof buf - 1);
        buf[n++] = 0; /* close whatever the mutation left open, so each input stands alone */
        feed_both(buf, n);
    }
    /* The untouched corpus is accepted in full afterwards: the decoder is back in step. */
    {
        long before = st.accepted_intact;
        size_t i;
        feed_both(&zero, 1);
        for (i = 0; i < corpus_n; i++)
            feed_both(corpus[i].wire, corpus[i].wire_len);
        CHECK_EQ(st.accepted_intact - before, (long)corpus_n);
    }
    print_stats("mutated frames", (double)(clock() - t0) / CLOCKS_PER_SEC);
    CHECK_EQ(st.accepted_corrupt, 0);
    CHECK_EQ(st.core_requests_unknown, 0);
    CHECK_EQ(st.core_bad_replies, 0);
    CHECK(st.bad_crc > 10000);
    CHECK(st.accepted_intact > 1000);
    CHECK(st.core_requests > 1000);
    free(corpus);
    corpus = NULL;
    fake_free(&fb);
}
