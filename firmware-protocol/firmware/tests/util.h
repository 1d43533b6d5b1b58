/* Shared test helpers: golden vectors, request frames, a fake HAL with a fake clock. */
#ifndef HB_TEST_UTIL_H
#define HB_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "hb_core.h"
#include "hb_frame.h"
#include "hb_hal.h"

#ifndef HB_VECTORS_PATH
#define HB_VECTORS_PATH "../vectors/frames.txt"
#endif
#ifndef HB_BUILD_DIR
#define HB_BUILD_DIR "build"
#endif
#ifndef HB_PROFILE_PATH
#define HB_PROFILE_PATH "profiles/default.conf"
#endif

/* ---- golden vectors ---- */

typedef struct golden {
    char name[64];
    uint8_t wire[8192];
    size_t wire_len;
    char result[16]; /* ok, bad_crc, bad_length, garbage */
    int has_fields;
    unsigned version, flags, request_id, command, status;
    uint8_t payload[4200];
    size_t payload_len;
} golden;

/* Loads every vector (allocated array; free it). Returns the count, 0 on error. */
size_t golden_load(golden **out);
const golden *golden_find(const golden *v, size_t n, const char *name);

/* Parses hex into out; returns the byte count or -1. */
long hex_parse(const char *hex, uint8_t *out, size_t cap);

/* Independent bitwise CRC-32C, to check the table-driven one. */
uint32_t crc32c_bitwise(const uint8_t *data, size_t n);

/* ---- requests ---- */

/* Builds the wire bytes of a request (version 1, flags 0). Returns the wire length. */
size_t make_request(uint8_t *wire, uint16_t id, uint8_t command, const void *payload, size_t n);
/* The same with its CRC xored with crc_xor (a bad CRC whatever COBS does with the bytes). */
size_t make_request_crc_xor(uint8_t *wire, uint16_t id, uint8_t command, const void *payload, size_t n, uint32_t crc_xor);

typedef struct reply {
    int got;          /* a reply came back */
    size_t wire_len;
    uint8_t wire[HB_MAX_WIRE];
    hb_header h;
    uint8_t payload[HB_MAX_PAYLOAD];
    size_t payload_len;
    int valid;        /* COBS and CRC correct, flags 1 */
} reply;

/* Feeds wire bytes into the core, collecting the (last) reply and checking its framing. */
void feed(hb_core *c, const uint8_t *wire, size_t n, reply *r);
/* make_request + feed. Returns the reply status, or -1 when nothing came back. */
int request(hb_core *c, uint16_t id, uint8_t command, const void *payload, size_t n, reply *r);

/* Little-endian payload builders. */
size_t put_u16le(uint8_t *p, uint16_t v);
size_t put_u32le(uint8_t *p, uint32_t v);

/* ---- fake HAL ---- */

#define FAKE_MAX_FAULTS 4096

typedef struct fake_fault {
    uint64_t cell;
    uint16_t fails_below_mv; /* fails while the set point is below this */
    uint8_t stuck;
} fake_fault;

typedef struct fake_board {
    hb_board board;
    hb_hal hal;
    uint8_t *mem;
    uint64_t mem_bytes;
    fake_fault faults[FAKE_MAX_FAULTS];
    size_t fault_count;
    int invert_all_below_nominal; /* every bit reads inverted while below nominal */
    uint32_t now;
    uint16_t mv, trcd;
    int16_t temp;
    /* call counters */
    long reads, writes, write_bytes, set_points, telemetries;
    /* telemetry the fake reports */
    uint16_t measured_mv;
    uint32_t measured_ua;
    int fail_hal; /* every HAL call fails */
    /* events seen */
    long events[16];
} fake_board;

/*
 * A board like the default emulated one (1000/500/1000/5 mV, temperature 0..850 step 50,
 * capabilities TEMPERATURE|CURRENT|COMPARE_WRITTEN|EMULATED) with the given geometry.
 */
void fake_init(fake_board *f, uint32_t blocks, uint32_t rows, uint32_t bits_per_row);
void fake_free(fake_board *f);
void fake_add_fault(fake_board *f, uint64_t cell, uint16_t fails_below_mv, uint8_t stuck);

#endif
