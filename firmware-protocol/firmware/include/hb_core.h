/*
 * The board side of the protocol: frame decoding, request checks, the reply cache, the lease
 * and the command dispatcher. No I/O: bytes go in through hb_core_feed, replies come out as
 * wire bytes (COBS body plus delimiter) for the caller to send, and the memory and operating
 * point are reached only through the HAL. All state is in hb_core (about 13 KiB), so an MCU
 * can place it statically.
 */
#ifndef HB_CORE_H
#define HB_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "hb_frame.h"
#include "hb_hal.h"
#include "hb_wire.h"

#define HB_CORE_CHUNK 256u

typedef struct hb_core {
    const hb_hal *hal;
    const hb_board *board;
    uint64_t memory_bytes;

    hb_decoder decoder;
    uint8_t reply[HB_MAX_BODY];          /* the reply body under construction */
    uint8_t cache_wire[HB_MAX_WIRE];     /* wire bytes of the reply to the last executed request */
    size_t cache_len;
    int cache_valid;
    uint16_t cache_id;
    uint8_t cache_command;
    uint8_t error_wire[32];              /* replies that are never remembered (all short) */
    uint8_t chunk_read[HB_CORE_CHUNK];   /* FILL and COMPARE work in chunks to bound memory */
    uint8_t chunk_ref[HB_CORE_CHUNK];

    uint16_t voltage_mv; /* the operating point in force */
    uint16_t trcd;
    int16_t temperature;

    uint32_t boot_ms;
    uint32_t lease_ms;
    uint32_t last_valid_ms;      /* when the last valid request arrived */
    uint32_t lease_left_at_request; /* lease remaining when the current request arrived */
    int lease_lapsed;            /* the lease ran out and nothing has renewed it since */
    uint8_t telemetry_flags;
} hb_core;

/*
 * Checks the board description (bits per row a multiple of 8, word bits dividing it, memory
 * below 4 GiB, nominal/floor/max on the step grids, name at most 255 bytes), moves the
 * memory to its nominal point and starts the default lease. Returns 0, or -1 for a board
 * description the protocol cannot express or a HAL that cannot reach the nominal point (the
 * core is then unusable).
 */
int hb_core_init(hb_core *c, const hb_hal *hal);

/*
 * Feeds one received byte. Returns the length of a reply to send now (and sets *reply to the
 * wire bytes, valid until the next call into the core), or 0.
 */
size_t hb_core_feed(hb_core *c, uint8_t byte, const uint8_t **reply);

/*
 * Enforces the lease; call it often (every few ms) even while no bytes arrive. Returns 1 when
 * the lease ran out just now and the board went back to nominal, else 0.
 */
int hb_core_poll(hb_core *c);

/* Forgets the reply cache, returns to nominal and the default lease (what RESET does). */
int hb_core_reset(hb_core *c);

#endif
