/* The dispatcher against a fake HAL and a fake clock. */
#include <stdlib.h>
#include <string.h>

#include "hb_core.h"
#include "hb_wire.h"
#include "test.h"
#include "tests.h"
#include "util.h"

static fake_board fb;
static hb_core core;
static reply rep;

static void setup(void)
{
    fake_init(&fb, 256, 1024, 32);
    CHECK_EQ(hb_core_init(&core, &fb.hal), 0);
}

static void teardown(void)
{
    fake_free(&fb);
}

static int set_op(uint16_t id, uint16_t mv, uint16_t trcd, int16_t t)
{
    uint8_t p[6];
    put_u16le(p, mv);
    put_u16le(p + 2, trcd);
    hb_put_i16(p + 4, t);
    return request(&core, id, HB_CMD_SET_OP, p, 6, &rep);
}

static int do_write(uint16_t id, uint32_t address, const uint8_t *data, size_t n)
{
    static uint8_t p[HB_MAX_PAYLOAD];
    put_u32le(p, address);
    memcpy(p + 4, data, n);
    return request(&core, id, HB_CMD_WRITE, p, 4 + n, &rep);
}

static int do_read(uint16_t id, uint32_t address, uint16_t n)
{
    uint8_t p[6];
    put_u32le(p, address);
    put_u16le(p + 4, n);
    return request(&core, id, HB_CMD_READ, p, 6, &rep);
}

static int do_fill(uint16_t id, uint32_t address, uint32_t n, const uint8_t *pattern, uint8_t pl)
{
    uint8_t p[9 + 255];
    put_u32le(p, address);
    put_u32le(p + 4, n);
    p[8] = pl;
    memcpy(p + 9, pattern, pl);
    return request(&core, id, HB_CMD_FILL, p, 9u + pl, &rep);
}

static int do_compare(uint16_t id, uint32_t address, uint32_t n, uint8_t reference, const uint8_t *pattern, uint8_t pl)
{
    uint8_t p[10 + 255];
    size_t pn = 9;
    put_u32le(p, address);
    put_u32le(p + 4, n);
    p[8] = reference;
    if (reference == 1) {
        p[9] = pl;
        memcpy(p + 10, pattern, pl);
        pn = 10u + pl;
    }
    return request(&core, id, HB_CMD_COMPARE, p, pn, &rep);
}

static int do_lease(uint16_t id, uint32_t ms)
{
    uint8_t p[4];
    put_u32le(p, ms);
    return request(&core, id, HB_CMD_LEASE, p, 4, &rep);
}

static int do_hello(uint16_t id, uint8_t lo, uint8_t hi)
{
    uint8_t p[2];
    p[0] = lo;
    p[1] = hi;
    return request(&core, id, HB_CMD_HELLO, p, 2, &rep);
}

/* Telemetry fields of the last reply. */
static uint16_t tel_set_mv(void) { return hb_get_u16(rep.payload); }
static uint32_t tel_lease_left(void) { return hb_get_u32(rep.payload + 16); }
static uint8_t tel_flags(void) { return rep.payload[20]; }

/*
 * Decodes a COMPARE reply into bit addresses. Returns the count, or (size_t)-1 when the reply
 * is malformed (count disagreeing with the varints, trailing bytes, non-increasing bits).
 */
static size_t decode_compare(uint32_t address, uint64_t *bits, size_t cap, uint32_t *next, int *done)
{
    uint32_t count;
    size_t at = 9, k = 0;
    uint64_t expect = (uint64_t)address * 8;

    if (rep.payload_len < 9)
        return (size_t)-1;
    count = hb_get_u32(rep.payload);
    *next = hb_get_u32(rep.payload + 4);
    *done = rep.payload[8];
    while (at < rep.payload_len) {
        uint64_t v = 0;
        unsigned shift = 0;
        for (;;) {
            uint8_t b;
            if (at >= rep.payload_len || shift > 63)
                return (size_t)-1;
            b = rep.payload[at++];
            v |= (uint64_t)(b & 0x7F) << shift;
            shift += 7;
            if (!(b & 0x80))
                break;
        }
        if (k < cap)
            bits[k] = expect + v;
        k++;
        expect = expect + v + 1;
    }
    return k == count ? k : (size_t)-1;
}

void test_dispatch_hello(void)
{
    const uint8_t *o;

    setup();
    CHECK_EQ(do_hello(1, 1, 1), HB_OK);
    o = rep.payload;
    CHECK_EQ(rep.payload_len, 53 + 18);
    CHECK_EQ(o[0], 1);
    CHECK_EQ(o[1], 1);
    CHECK_EQ(hb_get_u16(o + 2), 4096);
    CHECK_EQ(hb_get_u32(o + 4), 0x2E);
    CHECK_EQ(hb_get_u32(o + 8), 256);
    CHECK_EQ(hb_get_u32(o + 12), 1024);
    CHECK_EQ(hb_get_u32(o + 16), 32);
    CHECK_EQ(hb_get_u16(o + 20), 32);
    CHECK_EQ(hb_get_u16(o + 22), 1000);
    CHECK_EQ(hb_get_u16(o + 24), 500);
    CHECK_EQ(hb_get_u16(o + 26), 1000);
    CHECK_EQ(hb_get_u16(o + 28), 5);
    CHECK_EQ(hb_get_u16(o + 30), 0);
    CHECK_EQ(hb_get_u16(o + 36), 0);
    CHECK_EQ(hb_get_i16(o + 38), 250);
    CHECK_EQ(hb_get_i16(o + 40), 0);
    CHECK_EQ(hb_get_i16(o + 42), 850);
    CHECK_EQ(hb_get_i16(o + 44), 50);
    CHECK_EQ(hb_get_u16(o + 46), 2);
    CHECK_EQ(hb_get_u32(o + 48), 5000);
    CHECK_EQ(o[52], 18);
    CHECK_MEM(o + 53, "hilboard-emu 1.0.0", 18);

    CHECK_EQ(do_hello(2, 1, 3), HB_OK);
    CHECK_EQ(rep.payload[0], 1);
    CHECK_EQ(do_hello(3, 0, 1), HB_OK);
    CHECK_EQ(do_hello(4, 2, 3), HB_BAD_VERSION);
    CHECK_EQ(rep.payload_len, 2);
    CHECK_EQ(rep.payload[0], 1);
    CHECK_EQ(rep.payload[1], 1);
    CHECK_EQ(do_hello(5, 0, 0), HB_BAD_VERSION);
    CHECK_EQ(do_hello(6, 1, 0), HB_BAD_VERSION);
    CHECK_EQ(request(&core, 7, HB_CMD_HELLO, "\x01", 1, &rep), HB_BAD_LENGTH);
    CHECK_EQ(request(&core, 8, HB_CMD_HELLO, "\x01\x01\x01", 3, &rep), HB_BAD_LENGTH);
    CHECK_EQ(rep.payload_len, 0);
    teardown();
}

void test_dispatch_golden_replies(void)
{
    golden *v;
    size_t n = golden_load(&v), i;
    const golden *g;
    uint32_t boot;

    setup();
    boot = fb.now;
    /* HELLO reply, byte for byte, from a board described like the default emulated one. */
    g = golden_find(v, n, "hello-request");
    feed(&core, g->wire, g->wire_len, &rep);
    g = golden_find(v, n, "hello-reply");
    CHECK_EQ(rep.wire_len, g->wire_len);
    CHECK_MEM(rep.wire, g->wire, g->wire_len);

    /* SET_OP below the floor with id 2: the VOLTAGE_FLOOR reply vector. */
    CHECK_EQ(set_op(2, 450, 0, 0x7FFF), HB_VOLTAGE_FLOOR);
    g = golden_find(v, n, "set-op-floor");
    CHECK_EQ(rep.wire_len, g->wire_len);
    CHECK_MEM(rep.wire, g->wire, g->wire_len);

    /* A version-2 request: the BAD_VERSION reply vector. */
    g = golden_find(v, n, "version-2-request");
    feed(&core, g->wire, g->wire_len, &rep);
    g = golden_find(v, n, "bad-version-reply");
    CHECK_EQ(rep.wire_len, g->wire_len);
    CHECK_MEM(rep.wire, g->wire, g->wire_len);

    /* The COMPARE request and reply vectors: bits 8195, 8200, 8201 stuck at 0 under 0xFF. */
    {
        static const uint8_t ff = 0xFF;
        CHECK_EQ(do_fill(30, 1024, 1024, &ff, 1), HB_OK);
        fake_add_fault(&fb, 8195, 600, 0);
        fake_add_fault(&fb, 8200, 600, 0);
        fake_add_fault(&fb, 8201, 600, 0);
        fake_add_fault(&fb, 8201 + 8 * 1024, 600, 0); /* outside the range: must not show */
        CHECK_EQ(set_op(31, 550, 0, 0x7FFF), HB_OK);
        g = golden_find(v, n, "compare-pattern");
        feed(&core, g->wire, g->wire_len, &rep);
        g = golden_find(v, n, "compare-reply");
        CHECK_EQ(rep.wire_len, g->wire_len);
        CHECK_MEM(rep.wire, g->wire, g->wire_len);
    }

    /* GET_TELEMETRY: set 550 mV, measured 549 mV, 12345 uA, 25.0 C, uptime 60000, 1500 ms of lease left. */
    fb.measured_mv = 549;
    fb.measured_ua = 12345;
    fb.now = boot + 56500;
    CHECK_EQ(do_hello(33, 1, 1), HB_OK); /* the lease lapsed meanwhile: clear the flag */
    CHECK_EQ(set_op(32, 550, 0, 250), HB_OK);
    fb.now = boot + 60000;
    g = golden_find(v, n, "telemetry-reply");
    CHECK_EQ(request(&core, 12, HB_CMD_GET_TELEMETRY, NULL, 0, &rep), HB_OK);
    CHECK_EQ(rep.wire_len, g->wire_len);
    CHECK_MEM(rep.wire, g->wire, g->wire_len);

    /* Bad CRC and bad length vectors get their error replies with the header's id and command. */
    g = golden_find(v, n, "bad-crc");
    feed(&core, g->wire, g->wire_len, &rep);
    CHECK(rep.got && rep.valid);
    CHECK_EQ(rep.h.status, HB_BAD_CRC);
    CHECK_EQ(rep.h.request_id, 0); /* the damaged header's id is not trusted */
    CHECK_EQ(rep.h.command, 0x03);
    CHECK_EQ(rep.payload_len, 0);
    g = golden_find(v, n, "bad-length");
    feed(&core, g->wire, g->wire_len, &rep);
    CHECK(rep.got && rep.valid);
    CHECK_EQ(rep.h.status, HB_BAD_LENGTH);
    CHECK_EQ(rep.h.request_id, 17);
    CHECK_EQ(rep.h.command, 0x05);

    /* Garbage and replies (flags 1) get no answer at all. */
    for (i = 0; i < n; i++) {
        if (strcmp(v[i].result, "garbage") == 0 || (v[i].has_fields && v[i].flags == 1)) {
            feed(&core, v[i].wire, v[i].wire_len, &rep);
            CHECK(!rep.got);
        }
    }

    /* Every request vector is answered with its id and command, and the expected status. */
    {
        static const struct {
            const char *name;
            int status;
        } req[] = {
            { "hello-request", HB_OK },       { "set-op-request", HB_OK }, { "write-zeros", HB_OK },
            { "write-254", HB_ADDRESS_RANGE }, { "write-300", HB_OK },      { "read-request", HB_OK },
            { "fill-request", HB_OK },         { "compare-pattern", HB_OK }, { "compare-written", HB_OK },
            { "lease-request", HB_OK },        { "reset-request", HB_OK },
        };
        for (i = 0; i < sizeof req / sizeof req[0]; i++) {
            g = golden_find(v, n, req[i].name);
            feed(&core, g->wire, g->wire_len, &rep);
            CHECK(rep.got && rep.valid);
            CHECK_EQ(rep.h.request_id, g->request_id);
            CHECK_EQ(rep.h.command, g->command);
            if (rep.h.status != req[i].status)
                fprintf(stderr, "vector %s answered with status %u\n", req[i].name, rep.h.status);
            CHECK_EQ(rep.h.status, req[i].status);
        }
    }
    free(v);
    teardown();
}

void test_dispatch_set_op(void)
{
    long before;

    setup();
    before = fb.set_points;
    CHECK_EQ(set_op(1, 495, 0, 0x7FFF), HB_VOLTAGE_FLOOR);
    CHECK_EQ(set_op(2, 0, 0, 0x7FFF), HB_VOLTAGE_FLOOR);
    CHECK_EQ(set_op(3, 1005, 0, 0x7FFF), HB_BAD_ARGUMENT);
    CHECK_EQ(set_op(4, 552, 0, 0x7FFF), HB_BAD_ARGUMENT);
    CHECK_EQ(set_op(5, 550, 10, 0x7FFF), HB_BAD_ARGUMENT);   /* tRCD not controllable */
    CHECK_EQ(set_op(6, 550, 0, 900), HB_BAD_ARGUMENT);       /* above 85.0 C */
    CHECK_EQ(set_op(7, 550, 0, -10), HB_BAD_ARGUMENT);       /* below 0 C */
    CHECK_EQ(set_op(8, 550, 0, 255), HB_BAD_ARGUMENT);       /* off the 5 C grid */
    CHECK_EQ(set_op(9, 551, 10, 900), HB_BAD_ARGUMENT);
    CHECK_EQ(rep.payload_len, 0);
    CHECK_EQ(fb.set_points, before);
    CHECK_EQ(fb.mv, 1000);
    CHECK_EQ(request(&core, 10, HB_CMD_GET_TELEMETRY, NULL, 0, &rep), HB_OK);
    CHECK_EQ(tel_set_mv(), 1000);

    CHECK_EQ(set_op(11, 550, 0, 0x7FFF), HB_OK);
    CHECK_EQ(rep.payload_len, 6);
    CHECK_EQ(hb_get_u16(rep.payload), 550);
    CHECK_EQ(hb_get_u16(rep.payload + 2), 0);
    CHECK_EQ(hb_get_i16(rep.payload + 4), 250);
    CHECK_EQ(fb.mv, 550);
    CHECK_EQ(set_op(12, 500, 0, 0), HB_OK);
    CHECK_EQ(hb_get_i16(rep.payload + 4), 0);
    CHECK_EQ(fb.temp, 0);
    CHECK_EQ(set_op(13, 1000, 0, 850), HB_OK);
    CHECK_EQ(fb.temp, 850);
    /* An error leaves the point as it was. */
    CHECK_EQ(set_op(14, 450, 0, 250), HB_VOLTAGE_FLOOR);
    CHECK_EQ(fb.mv, 1000);
    CHECK_EQ(fb.temp, 850);
    teardown();

    /* A board without temperature control accepts only its nominal temperature. */
    fake_init(&fb, 16, 64, 32);
    fb.board.capabilities &= ~(uint32_t)HB_CAP_TEMPERATURE;
    fb.board.temperature_min = fb.board.temperature_max = 250;
    fb.board.temperature_step = 0;
    CHECK_EQ(hb_core_init(&core, &fb.hal), 0);
    CHECK_EQ(set_op(1, 600, 0, 250), HB_OK);
    CHECK_EQ(set_op(2, 600, 0, 0x7FFF), HB_OK);
    CHECK_EQ(set_op(3, 600, 0, 300), HB_BAD_ARGUMENT);
    teardown();

    /* A board with tRCD control: 0 means nominal, others must be on the grid. */
    fake_init(&fb, 16, 64, 32);
    fb.board.capabilities |= HB_CAP_TRCD;
    fb.board.trcd_nominal = 1375;
    fb.board.trcd_min = 500;
    fb.board.trcd_max = 1500;
    fb.board.trcd_step = 25;
    CHECK_EQ(hb_core_init(&core, &fb.hal), 0);
    CHECK_EQ(set_op(1, 1000, 0, 0x7FFF), HB_OK);
    CHECK_EQ(hb_get_u16(rep.payload + 2), 1375);
    CHECK_EQ(set_op(2, 1000, 525, 0x7FFF), HB_OK);
    CHECK_EQ(fb.trcd, 525);
    CHECK_EQ(set_op(3, 1000, 530, 0x7FFF), HB_BAD_ARGUMENT);
    CHECK_EQ(set_op(4, 1000, 475, 0x7FFF), HB_BAD_ARGUMENT);
    CHECK_EQ(set_op(5, 1000, 1525, 0x7FFF), HB_BAD_ARGUMENT);
    CHECK_EQ(fb.trcd, 525);
    teardown();
}

void test_dispatch_memory(void)
{
    static uint8_t data[4092];
    static const uint8_t pat3[] = { 0xA1, 0xB2, 0xC3 };
    uint32_t mem = 1u << 20;
    size_t i;

    setup();
    for (i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 31 + 7);
    CHECK_EQ(do_write(1, 1000, data, sizeof data), HB_OK);
    CHECK_EQ(rep.payload_len, 0);
    CHECK_EQ(do_read(2, 1000, 4092), HB_OK);
    CHECK_EQ(rep.payload_len, 4092);
    CHECK_MEM(rep.payload, data, 4092);
    CHECK_EQ(do_read(3, 999, 4096), HB_OK);
    CHECK_EQ(rep.payload_len, 4096);
    CHECK_EQ(rep.payload[0], 0);
    CHECK_MEM(rep.payload + 1, data, 4092);
    /* Writes at a low voltage store what was sent. */
    CHECK_EQ(set_op(4, 500, 0, 0x7FFF), HB_OK);
    CHECK_EQ(do_write(5, mem - 3, data, 3), HB_OK);
    CHECK_MEM(fb.mem + mem - 3, data, 3);

    /* FILL repeats the pattern from the start address, across the chunk boundaries. */
    CHECK_EQ(do_fill(6, 12345, 100001, pat3, 3), HB_OK);
    for (i = 0; i < 100001; i++)
        if (fb.mem[12345 + i] != pat3[i % 3])
            break;
    CHECK_EQ(i, 100001);
    CHECK_EQ(fb.mem[12344], 0);
    CHECK_EQ(fb.mem[12345 + 100001], 0);
    {
        uint8_t pat16[16];
        for (i = 0; i < 16; i++)
            pat16[i] = (uint8_t)(0xF0 + i);
        CHECK_EQ(do_fill(7, 0, mem, pat16, 16), HB_OK);
        CHECK_EQ(fb.mem[mem - 1], 0xFF);
        CHECK_EQ(fb.mem[mem - 16], 0xF0);
        CHECK_EQ(do_fill(8, 5, 77, pat16, 7), HB_OK);
        CHECK_EQ(fb.mem[5 + 76], pat16[76 % 7]);
    }
    /* FILL of nothing is fine; an empty pattern or one longer than 16 is not. */
    CHECK_EQ(do_fill(9, mem, 0, pat3, 1), HB_OK);
    CHECK_EQ(do_fill(10, 0, 10, pat3, 0), HB_BAD_ARGUMENT);
    {
        uint8_t p17[17] = { 0 };
        CHECK_EQ(do_fill(11, 0, 10, p17, 17), HB_BAD_ARGUMENT);
    }
    teardown();
}

void test_dispatch_address_range(void)
{
    uint32_t mem = 1u << 20;
    uint8_t d[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    static const uint8_t pat = 0x55;
    long writes;

    setup();
    writes = fb.writes;
    CHECK_EQ(do_write(1, mem - 4, d, 5), HB_ADDRESS_RANGE);
    CHECK_EQ(do_write(2, mem, d, 1), HB_ADDRESS_RANGE);
    CHECK_EQ(do_write(3, 0xFFFFFFFFu, d, 2), HB_ADDRESS_RANGE);
    CHECK_EQ(do_fill(4, mem - 10, 11, &pat, 1), HB_ADDRESS_RANGE);
    CHECK_EQ(do_fill(5, 0xFFFFFFF0u, 0x20, &pat, 1), HB_ADDRESS_RANGE);
    CHECK_EQ(do_fill(6, mem + 1, 0, &pat, 1), HB_ADDRESS_RANGE);
    CHECK_EQ(fb.writes, writes);
    CHECK_EQ(do_read(7, 0, 0), HB_ADDRESS_RANGE);
    CHECK_EQ(do_read(8, mem - 16, 17), HB_ADDRESS_RANGE);
    CHECK_EQ(do_read(9, 0xFFFFFFFFu, 1), HB_ADDRESS_RANGE);
    CHECK_EQ(do_read(10, 0, 4097), HB_BAD_ARGUMENT);
    CHECK_EQ(do_compare(11, 0, 0, 1, &pat, 1), HB_ADDRESS_RANGE);
    CHECK_EQ(do_compare(12, mem - 1, 2, 0, NULL, 0), HB_ADDRESS_RANGE);
    CHECK_EQ(do_compare(13, 0xFFFFFFFFu, 0xFFFFFFFFu, 1, &pat, 1), HB_ADDRESS_RANGE);
    CHECK_EQ(do_compare(14, mem - 1, 1, 0, NULL, 0), HB_OK);
    CHECK_EQ(do_read(15, mem - 4096, 4096), HB_OK);
    CHECK_EQ(do_write(16, mem - 5, d, 5), HB_OK);
    teardown();
}

void test_dispatch_payload_lengths(void)
{
    static const struct {
        uint8_t command;
        size_t bad[4];
        size_t nbad;
    } cases[] = {
        { HB_CMD_HELLO, { 0, 1, 3, 0 }, 3 },
        { HB_CMD_SET_OP, { 0, 5, 7, 0 }, 3 },
        { HB_CMD_GET_TELEMETRY, { 1, 4, 0, 0 }, 2 },
        { HB_CMD_WRITE, { 0, 3, 4, 0 }, 3 },
        { HB_CMD_READ, { 0, 5, 7, 0 }, 3 },
        { HB_CMD_FILL, { 0, 8, 9, 11 }, 4 },  /* 9 and 11 with pattern_length 1: 10 expected */
        { HB_CMD_COMPARE, { 0, 8, 10, 11 }, 4 }, /* reference 0 takes exactly 9 */
        { HB_CMD_LEASE, { 0, 3, 5, 0 }, 3 },
        { HB_CMD_RESET, { 1, 2, 0, 0 }, 2 },
    };
    uint8_t p[64];
    size_t i, k;
    uint16_t id = 100;

    setup();
    memset(p, 0, sizeof p);
    p[8] = 1; /* FILL pattern_length 1; COMPARE reference 0 for this byte is overridden below */
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (k = 0; k < cases[i].nbad; k++) {
            if (cases[i].command == HB_CMD_COMPARE)
                p[8] = 0;
            else
                p[8] = 1;
            if (cases[i].command == HB_CMD_HELLO)
                p[0] = p[1] = 1;
            CHECK_EQ(request(&core, id, cases[i].command, p, cases[i].bad[k], &rep), HB_BAD_LENGTH);
            CHECK_EQ(rep.payload_len, 0);
        }
        id++;
    }
    /* COMPARE against a pattern: 10 + pattern_length exactly. */
    p[8] = 1;
    p[9] = 2;
    put_u32le(p + 4, 4);
    CHECK_EQ(request(&core, id, HB_CMD_COMPARE, p, 11, &rep), HB_BAD_LENGTH);
    CHECK_EQ(request(&core, id, HB_CMD_COMPARE, p, 13, &rep), HB_BAD_LENGTH);
    CHECK_EQ(request(&core, id, HB_CMD_COMPARE, p, 9, &rep), HB_BAD_LENGTH);
    CHECK_EQ(request(&core, id, HB_CMD_COMPARE, p, 12, &rep), HB_OK);
    p[8] = 2;
    CHECK_EQ(request(&core, (uint16_t)(id + 1), HB_CMD_COMPARE, p, 9, &rep), HB_BAD_ARGUMENT);
    p[8] = 1;
    p[9] = 0;
    CHECK_EQ(request(&core, (uint16_t)(id + 2), HB_CMD_COMPARE, p, 10, &rep), HB_BAD_ARGUMENT);
    p[9] = 17;
    CHECK_EQ(request(&core, (uint16_t)(id + 3), HB_CMD_COMPARE, p, 27, &rep), HB_BAD_ARGUMENT);
    /* BAD_LENGTH is not remembered: the same id with a right payload is executed. */
    CHECK_EQ(set_op(500, 600, 0, 0x7FFF), HB_OK);
    CHECK_EQ(request(&core, 501, HB_CMD_SET_OP, p, 5, &rep), HB_BAD_LENGTH);
    CHECK_EQ(set_op(501, 700, 0, 0x7FFF), HB_OK);
    CHECK_EQ(fb.mv, 700);
    teardown();
}

void test_dispatch_unknown_command(void)
{
    static const uint8_t commands[] = { 0x00, 0x0A, 0x10, 0x7F, 0x80, 0xFF };
    size_t i;

    setup();
    for (i = 0; i < sizeof commands; i++) {
        CHECK_EQ(request(&core, (uint16_t)(i + 1), commands[i], "abc", 3, &rep), HB_UNKNOWN_COMMAND);
        CHECK_EQ(rep.payload_len, 0);
    }
    teardown();
}

static int in_set(const uint64_t *set, size_t n, uint64_t v)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (set[i] == v)
            return 1;
    return 0;
}

void test_dispatch_compare(void)
{
    static uint8_t data[65536], chunk[4000];
    static uint64_t bits[40000], expect[40000];
    static const uint8_t pat3[] = { 0xA5, 0x0F, 0x3C };
    uint32_t seed = 12345, next = 0;
    size_t i, n, ne;
    int done = 0;
    const uint32_t base = 100000; /* region [base, base + 65536) */

    setup();
    for (i = 0; i < sizeof data; i++) {
        seed = seed * 1103515245u + 12345u;
        data[i] = (uint8_t)(seed >> 16);
    }
    for (i = 0; i < sizeof data; i += sizeof chunk) {
        size_t k = sizeof data - i < sizeof chunk ? sizeof data - i : sizeof chunk;
        memcpy(chunk, data + i, k);
        CHECK_EQ(do_write((uint16_t)(1 + i / sizeof chunk), base + (uint32_t)i, chunk, k), HB_OK);
    }
    /* 300 faults in the region, half failing below 700 mV, half below 600 mV. */
    for (i = 0; i < 300; i++) {
        uint64_t cell;
        size_t k;
        seed = seed * 1103515245u + 12345u;
        cell = (uint64_t)base * 8 + (seed >> 8) % (65536u * 8u);
        for (k = 0; k < fb.fault_count && fb.faults[k].cell != cell; k++) {
        }
        if (k == fb.fault_count) /* one fault per cell keeps the expectation simple */
            fake_add_fault(&fb, cell, (i % 2) ? 700 : 600, (uint8_t)(seed >> 3 & 1));
    }
    /* At nominal nothing differs. */
    CHECK_EQ(do_compare(100, base, 65536, 0, NULL, 0), HB_OK);
    n = decode_compare(base, bits, 40000, &next, &done);
    CHECK_EQ(n, 0);
    CHECK_EQ(next, base + 65536);
    CHECK_EQ(done, 1);

    /* At 650 mV against the data last written: the 700 mV faults whose stuck value differs from the data. */
    CHECK_EQ(set_op(101, 650, 0, 0x7FFF), HB_OK);
    ne = 0;
    for (i = 0; i < fb.fault_count; i++) {
        const fake_fault *x = &fb.faults[i];
        uint8_t stored = (uint8_t)(data[x->cell / 8 - base] >> (x->cell % 8) & 1);
        if (x->fails_below_mv == 700 && stored != x->stuck && !in_set(expect, ne, x->cell))
            expect[ne++] = x->cell;
    }
    CHECK(ne > 50);
    CHECK_EQ(do_compare(102, base, 65536, 0, NULL, 0), HB_OK);
    n = decode_compare(base, bits, 40000, &next, &done);
    CHECK_EQ(n, ne);
    CHECK_EQ(done, 1);
    for (i = 0; i < n && i < 40000; i++) {
        CHECK(in_set(expect, ne, bits[i]));
        if (i > 0)
            CHECK(bits[i] > bits[i - 1]);
    }

    /* Against a pattern over data holding that pattern: the faults whose stuck value differs from the pattern. */
    CHECK_EQ(do_fill(103, base, 65536, pat3, 3), HB_OK);
    CHECK_EQ(set_op(104, 550, 0, 0x7FFF), HB_OK);
    ne = 0;
    for (i = 0; i < fb.fault_count; i++) {
        const fake_fault *x = &fb.faults[i];
        uint8_t stored = (uint8_t)(pat3[(x->cell / 8 - base) % 3] >> (x->cell % 8) & 1);
        if (stored != x->stuck && !in_set(expect, ne, x->cell))
            expect[ne++] = x->cell;
    }
    CHECK_EQ(do_compare(105, base, 65536, 1, pat3, 3), HB_OK);
    n = decode_compare(base, bits, 40000, &next, &done);
    CHECK_EQ(n, ne);
    for (i = 0; i < n && i < 40000; i++)
        CHECK(in_set(expect, ne, bits[i]));
    /* A sub-range starting mid-pattern uses pattern[i % length] from its own address. */
    {
        static const uint8_t shifted[] = { 0x0F, 0x3C, 0xA5 };
        CHECK_EQ(do_compare(106, base + 1, 3000, 1, shifted, 3), HB_OK);
        n = decode_compare(base + 1, bits, 40000, &next, &done);
        for (i = 0; i < n && i < 40000; i++)
            CHECK(in_set(expect, ne, bits[i]));
        CHECK_EQ(next, base + 3001);
    }
    teardown();
}

void test_dispatch_compare_continuation(void)
{
    static uint64_t bits[4096];
    static uint8_t seen[16384 * 8];
    static const uint8_t zero = 0;
    uint32_t address = 4096, end = 4096 + 16384, next = 0;
    size_t total = 0, replies = 0, i, n;
    int done = 0, ok = 1;
    uint16_t id = 10;

    setup();
    fb.invert_all_below_nominal = 1;
    CHECK_EQ(do_fill(1, 0, 1u << 20, &zero, 1), HB_OK);
    CHECK_EQ(set_op(2, 900, 0, 0x7FFF), HB_OK);
    memset(seen, 0, sizeof seen);
    while (!done && replies < 1000) {
        CHECK_EQ(do_compare(id++, address, end - address, 1, &zero, 1), HB_OK);
        CHECK(rep.payload_len <= HB_MAX_PAYLOAD);
        n = decode_compare(address, bits, 4096, &next, &done);
        CHECK(n != (size_t)-1);
        if (n == (size_t)-1)
            break;
        if (replies == 0) {
            /* Every bit differs, one varint byte each: 4087 bytes hold 510 whole bytes of the range. */
            CHECK_EQ(n, 4080);
            CHECK_EQ(next, address + 510);
            CHECK_EQ(done, 0);
        }
        for (i = 0; i < n; i++) {
            uint64_t b = bits[i] - (uint64_t)4096 * 8;
            if (bits[i] < (uint64_t)4096 * 8 || b >= sizeof seen || seen[b] || bits[i] >= (uint64_t)next * 8)
                ok = 0;
            else
                seen[b] = 1;
        }
        /* A reply ends on a whole byte: all 8 bits of the last byte are in it. */
        CHECK(n % 8 == 0);
        total += n;
        replies++;
        CHECK(next > address);
        address = next;
    }
    CHECK(ok);
    CHECK_EQ(done, 1);
    CHECK_EQ(next, end);
    CHECK_EQ(total, 16384 * 8);
    CHECK_EQ(replies, (16384 + 509) / 510);

    /* Sparse bits far apart need multi-byte varints; the whole 1 MiB is compared in one reply. */
    fb.invert_all_below_nominal = 0;
    fake_add_fault(&fb, 3, 950, 1);
    fake_add_fault(&fb, 5000000, 950, 1);
    fake_add_fault(&fb, 8388607, 950, 1);
    CHECK_EQ(do_compare(id++, 0, 1u << 20, 1, &zero, 1), HB_OK);
    n = decode_compare(0, bits, 4096, &next, &done);
    CHECK_EQ(n, 3);
    CHECK_EQ(bits[0], 3);
    CHECK_EQ(bits[1], 5000000);
    CHECK_EQ(bits[2], 8388607);
    CHECK_EQ(done, 1);
    CHECK_EQ(next, 1u << 20);
    CHECK_EQ(rep.payload_len, 9 + 1 + 4 + 4);
    teardown();
}

void test_dispatch_retry_cache(void)
{
    static const uint8_t p11 = 0x11;
    uint8_t wire[HB_MAX_WIRE], first[HB_MAX_WIRE], d[3] = { 7, 8, 9 };
    size_t wn, first_len;
    long writes, set_points;

    setup();
    /* FILL id 5, then the same FILL again: the remembered reply, nothing executed. */
    {
        uint8_t p[10];
        put_u32le(p, 0);
        put_u32le(p + 4, 4096);
        p[8] = 1;
        p[9] = p11;
        wn = make_request(wire, 5, HB_CMD_FILL, p, 10);
    }
    feed(&core, wire, wn, &rep);
    CHECK(rep.got && rep.h.status == HB_OK);
    memcpy(first, rep.wire, rep.wire_len);
    first_len = rep.wire_len;
    writes = fb.writes;
    fb.mem[10] = 0x99; /* if the FILL ran again this would be overwritten */
    feed(&core, wire, wn, &rep);
    CHECK_EQ(rep.wire_len, first_len);
    CHECK_MEM(rep.wire, first, first_len);
    CHECK_EQ(fb.writes, writes);
    CHECK_EQ(fb.mem[10], 0x99);
    CHECK_EQ(fb.events[HB_EV_REPLAYED], 1);

    /*
     * PROTOCOL.md section 4 remembers only the last executed request. After WRITE id 6, a FILL
     * with id 5 is a new request and runs (a host never does this: one request in flight).
     */
    CHECK_EQ(do_write(6, 10, d, 3), HB_OK);
    feed(&core, wire, wn, &rep);
    CHECK_EQ(rep.h.status, HB_OK);
    CHECK_EQ(fb.mem[10], 0x11);
    CHECK_EQ(fb.events[HB_EV_REPLAYED], 1);

    /* A SET_OP retried is applied once; its reply is byte-identical. */
    set_points = fb.set_points;
    CHECK_EQ(set_op(8, 550, 0, 0x7FFF), HB_OK);
    memcpy(first, rep.wire, rep.wire_len);
    first_len = rep.wire_len;
    CHECK_EQ(set_op(8, 550, 0, 0x7FFF), HB_OK);
    CHECK_EQ(fb.set_points, set_points + 1);
    CHECK_MEM(rep.wire, first, first_len);
    /* The same id with another command is a different request. */
    CHECK_EQ(request(&core, 8, HB_CMD_GET_TELEMETRY, NULL, 0, &rep), HB_OK);

    /* BAD_CRC is not remembered: the intact frame with that id runs. */
    {
        uint8_t p[6];
        put_u16le(p, 600);
        put_u16le(p + 2, 0);
        hb_put_i16(p + 4, 0x7FFF);
        wn = make_request_crc_xor(wire, 9, HB_CMD_SET_OP, p, 6, 0x00010000u);
        feed(&core, wire, wn, &rep);
        CHECK(rep.got && rep.valid);
        CHECK_EQ(rep.h.status, HB_BAD_CRC);
        set_points = fb.set_points;
        CHECK_EQ(set_op(9, 600, 0, 0x7FFF), HB_OK);
        CHECK_EQ(fb.set_points, set_points + 1);
    }
    /* Errors of executed requests are remembered and replayed like any reply. */
    CHECK_EQ(do_write(11, 0xFFFFFF00u, d, 3), HB_ADDRESS_RANGE);
    CHECK_EQ(do_write(11, 0xFFFFFF00u, d, 3), HB_ADDRESS_RANGE);
    CHECK_EQ(fb.events[HB_EV_REPLAYED], 3);
    /* HELLO answered BAD_VERSION is not remembered. */
    CHECK_EQ(do_hello(13, 5, 6), HB_BAD_VERSION);
    CHECK_EQ(do_hello(13, 1, 1), HB_OK);
    /* RESET forgets the cache, its own reply included: a repeated RESET runs again. */
    set_points = fb.set_points;
    CHECK_EQ(request(&core, 12, HB_CMD_RESET, NULL, 0, &rep), HB_OK);
    CHECK_EQ(request(&core, 12, HB_CMD_RESET, NULL, 0, &rep), HB_OK);
    CHECK_EQ(fb.set_points, set_points + 2);
    CHECK_EQ(core.cache_valid, 0);
    teardown();
}

void test_dispatch_lease(void)
{
    uint32_t t0;

    setup();
    CHECK_EQ(set_op(1, 550, 0, 0x7FFF), HB_OK);
    t0 = fb.now;
    fb.now = t0 + 4999;
    CHECK_EQ(hb_core_poll(&core), 0);
    CHECK_EQ(fb.mv, 550);
    fb.now = t0 + 5000;
    CHECK_EQ(hb_core_poll(&core), 1);
    CHECK_EQ(fb.mv, 1000);
    CHECK_EQ(fb.events[HB_EV_LEASE_EXPIRED], 1);
    CHECK_EQ(hb_core_poll(&core), 0); /* once */
    CHECK_EQ(request(&core, 2, HB_CMD_GET_TELEMETRY, NULL, 0, &rep), HB_OK);
    CHECK_EQ(tel_set_mv(), 1000);
    CHECK_EQ(tel_flags(), 1);
    CHECK_EQ(tel_lease_left(), 0);
    /* The flag stays until LEASE or HELLO. */
    CHECK_EQ(request(&core, 3, HB_CMD_GET_TELEMETRY, NULL, 0, &rep), HB_OK);
    CHECK_EQ(tel_flags(), 1);
    CHECK_EQ(tel_lease_left(), 5000);
    CHECK_EQ(do_lease(4, 2000), HB_OK);
    CHECK_EQ(hb_get_u32(rep.payload), 2000);
    CHECK_EQ(request(&core, 5, HB_CMD_GET_TELEMETRY, NULL, 0, &rep), HB_OK);
    CHECK_EQ(tel_flags(), 0);

    /* Any valid request renews; the new 2000 ms lease applies. */
    CHECK_EQ(set_op(6, 600, 0, 0x7FFF), HB_OK);
    t0 = fb.now;
    fb.now = t0 + 1500;
    CHECK_EQ(do_read(7, 0, 1), HB_OK);
    fb.now = t0 + 3000;
    CHECK_EQ(hb_core_poll(&core), 0);
    fb.now = t0 + 1500 + 1999;
    CHECK_EQ(request(&core, 8, HB_CMD_GET_TELEMETRY, NULL, 0, &rep), HB_OK);
    CHECK_EQ(tel_lease_left(), 1);
    CHECK_EQ(tel_set_mv(), 600);
    /* An expiry nobody polled for is enforced before the next request is executed. */
    fb.now += 2500;
    CHECK_EQ(request(&core, 9, HB_CMD_GET_TELEMETRY, NULL, 0, &rep), HB_OK);
    CHECK_EQ(tel_set_mv(), 1000);
    CHECK_EQ(tel_flags(), 1);
    CHECK_EQ(do_hello(10, 1, 1), HB_OK);
    CHECK_EQ(hb_get_u32(rep.payload + 48), 2000);
    CHECK_EQ(request(&core, 11, HB_CMD_GET_TELEMETRY, NULL, 0, &rep), HB_OK);
    CHECK_EQ(tel_flags(), 0);

    /* At the nominal point an expiry has nothing to restore and sets no flag. */
    fb.now += 10000;
    CHECK_EQ(hb_core_poll(&core), 0);
    CHECK_EQ(request(&core, 12, HB_CMD_GET_TELEMETRY, NULL, 0, &rep), HB_OK);
    CHECK_EQ(tel_flags(), 0);

    /* Bad frames do not renew. */
    CHECK_EQ(set_op(13, 600, 0, 0x7FFF), HB_OK);
    t0 = fb.now;
    fb.now = t0 + 1000;
    CHECK_EQ(request(&core, 14, HB_CMD_GET_TELEMETRY, "x", 1, &rep), HB_BAD_LENGTH); /* a valid frame: renews */
    fb.now = t0 + 2999;
    {
        uint8_t wire[64];
        size_t wn = make_request_crc_xor(wire, 15, HB_CMD_GET_TELEMETRY, NULL, 0, 1);
        feed(&core, wire, wn, &rep);
        CHECK_EQ(rep.h.status, HB_BAD_CRC);
    }
    fb.now = t0 + 3000;
    CHECK_EQ(hb_core_poll(&core), 1);

    /*
     * A SET_OP whose reply was lost and whose lease ran out before the retry: the retry runs
     * again (the expiry emptied the cache) instead of replaying a point that no longer holds.
     */
    CHECK_EQ(set_op(20, 550, 0, 0x7FFF), HB_OK);
    fb.now += 2 * 2000;
    CHECK_EQ(hb_core_poll(&core), 1);
    CHECK_EQ(fb.mv, 1000);
    CHECK_EQ(set_op(20, 550, 0, 0x7FFF), HB_OK);
    CHECK_EQ(fb.mv, 550);
    /* An expiry at nominal restores nothing and keeps the cache. */
    CHECK_EQ(set_op(21, 1000, 0, 0x7FFF), HB_OK);
    fb.now += 2 * 2000;
    CHECK_EQ(hb_core_poll(&core), 0);
    {
        long before = fb.set_points;
        CHECK_EQ(set_op(21, 1000, 0, 0x7FFF), HB_OK);
        CHECK_EQ(fb.set_points, before);
    }

    /* Lease bounds. */
    CHECK_EQ(do_lease(16, 99), HB_BAD_ARGUMENT);
    CHECK_EQ(do_lease(17, 600001), HB_BAD_ARGUMENT);
    CHECK_EQ(do_lease(18, 100), HB_OK);
    CHECK_EQ(do_lease(19, 600000), HB_OK);
    teardown();
}

void test_dispatch_reset(void)
{
    uint8_t d[4] = { 0xDE, 0xAD, 0xBE, 0xEF };

    setup();
    CHECK_EQ(do_write(1, 64, d, 4), HB_OK);
    CHECK_EQ(set_op(2, 550, 0, 100), HB_OK);
    CHECK_EQ(do_lease(3, 2000), HB_OK);
    CHECK_EQ(request(&core, 4, HB_CMD_RESET, NULL, 0, &rep), HB_OK);
    CHECK_EQ(rep.payload_len, 0);
    CHECK_EQ(fb.mv, 1000);
    CHECK_EQ(fb.temp, 250);
    CHECK_EQ(do_hello(5, 1, 1), HB_OK);
    CHECK_EQ(hb_get_u32(rep.payload + 48), 5000);
    CHECK_EQ(do_read(6, 64, 4), HB_OK);
    CHECK_MEM(rep.payload, d, 4);
    CHECK_EQ(request(&core, 7, HB_CMD_RESET, "\x00", 1, &rep), HB_BAD_LENGTH);
    teardown();
}

void test_dispatch_frames_and_hal_errors(void)
{
    static uint8_t body[HB_MAX_BODY], wire[HB_MAX_WIRE];
    hb_header h;
    size_t bn, wn;
    long before;

    setup();
    /* A well-formed frame with flags 1 (a reply) is discarded silently. */
    h.version = 1;
    h.flags = 1;
    h.request_id = 3;
    h.command = HB_CMD_GET_TELEMETRY;
    h.status = 0;
    bn = hb_frame_build(body, &h, NULL, 0);
    wn = hb_frame_encode(body, bn, wire, sizeof wire);
    feed(&core, wire, wn, &rep);
    CHECK(!rep.got);
    h.flags = 0x80;
    bn = hb_frame_build(body, &h, NULL, 0);
    wn = hb_frame_encode(body, bn, wire, sizeof wire);
    feed(&core, wire, wn, &rep);
    CHECK(!rep.got);
    CHECK_EQ(fb.events[HB_EV_NOT_REQUEST], 2);
    /* A nonzero status byte in a request is ignored. */
    h.flags = 0;
    h.status = 9;
    bn = hb_frame_build(body, &h, NULL, 0);
    wn = hb_frame_encode(body, bn, wire, sizeof wire);
    feed(&core, wire, wn, &rep);
    CHECK(rep.got && rep.h.status == HB_OK);

    /* HAL failures answer INTERNAL and change nothing. */
    fb.fail_hal = 1;
    CHECK_EQ(do_read(10, 0, 4), HB_INTERNAL);
    CHECK_EQ(set_op(11, 600, 0, 0x7FFF), HB_INTERNAL);
    CHECK_EQ(request(&core, 12, HB_CMD_GET_TELEMETRY, NULL, 0, &rep), HB_INTERNAL);
    CHECK_EQ(do_compare(13, 0, 16, 0, NULL, 0), HB_INTERNAL);
    CHECK_EQ(rep.payload_len, 0);
    fb.fail_hal = 0;
    CHECK_EQ(request(&core, 14, HB_CMD_GET_TELEMETRY, NULL, 0, &rep), HB_OK);
    CHECK_EQ(tel_set_mv(), 1000);
    /* A lease expiry the HAL cannot carry out is retried at every poll until it works. */
    CHECK_EQ(set_op(15, 600, 0, 0x7FFF), HB_OK);
    fb.now += 6000;
    fb.fail_hal = 1;
    before = fb.events[HB_EV_HAL_ERROR];
    CHECK_EQ(hb_core_poll(&core), 0);
    CHECK_EQ(hb_core_poll(&core), 0);
    CHECK_EQ(fb.events[HB_EV_HAL_ERROR], before + 2);
    fb.fail_hal = 0;
    CHECK_EQ(hb_core_poll(&core), 1);
    CHECK_EQ(fb.mv, 1000);
    teardown();
}

void test_core_init_rejects(void)
{
    static const char long_name[] =
        "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
        "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789"
        "01234567890123456789012345678901234567890123456789012345";
    int k;

    for (k = 0; k < 9; k++) {
        fake_init(&fb, 4, 16, 32);
        switch (k) {
        case 0: fb.board.bits_per_row = 30; break;
        case 1: fb.board.word_bits = 24; break;
        case 2: fb.board.voltage_nominal_mv = 998; break;
        case 3: fb.board.name = long_name; break;
        case 4: fb.board.temperature_max = 0x7FFF; fb.board.temperature_step = 1; break;
        case 5: fb.hal.mem_written = NULL; break;
        case 6: fb.board.blocks = 65536; fb.board.rows = 65536; fb.board.bits_per_row = 8; fb.board.word_bits = 8; break;
        case 7: fb.board.default_lease_ms = 50; break;
        case 8: fb.board.capabilities |= HB_CAP_TRCD; break; /* controllable tRCD with 0 nominal */
        }
        if (hb_core_init(&core, &fb.hal) != -1)
            fprintf(stderr, "board variant %d accepted\n", k);
        CHECK_EQ(hb_core_init(&core, &fb.hal), -1);
        teardown();
    }
    /* Just under 4 GiB is fine (no memory is touched here). */
    fake_init(&fb, 4, 16, 32);
    fb.board.blocks = 65535;
    fb.board.rows = 65536;
    fb.board.bits_per_row = 8;
    fb.board.word_bits = 8;
    CHECK_EQ(hb_core_init(&core, &fb.hal), 0);
    CHECK_EQ(core.memory_bytes, (uint64_t)65535 * 65536);
    teardown();
}
