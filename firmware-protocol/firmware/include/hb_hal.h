/*
 * Hardware abstraction: everything the protocol core needs from a board. The core never
 * touches hardware, files or clocks itself, so the same core runs on the host emulator and
 * on a microcontroller.
 */
#ifndef HB_HAL_H
#define HB_HAL_H

#include <stddef.h>
#include <stdint.h>

/* What HELLO reports (PROTOCOL.md 3.1); fields a board does not control are nominal, min = max = nominal, step 0. */
typedef struct hb_board {
    uint32_t capabilities; /* HB_CAP_* */
    uint32_t blocks;
    uint32_t rows;         /* per block */
    uint32_t bits_per_row; /* a multiple of 8 */
    uint16_t word_bits;
    uint16_t voltage_nominal_mv, voltage_floor_mv, voltage_max_mv, voltage_step_mv;
    uint16_t trcd_nominal, trcd_min, trcd_max, trcd_step;                      /* 10 ps units */
    int16_t temperature_nominal, temperature_min, temperature_max, temperature_step; /* 0.1 C */
    uint16_t settle_ms;
    uint32_t default_lease_ms; /* after power-up and RESET; PROTOCOL.md says 5000 */
    const char *name;          /* firmware name and version, at most 255 bytes */
} hb_board;

/* Events the core reports for logging and tests; body/len are set for HB_EV_REQUEST only. */
typedef enum hb_event {
    HB_EV_REQUEST,       /* a request passed the CRC, length, flags and version checks */
    HB_EV_REPLAYED,      /* a retried request answered from the reply cache */
    HB_EV_GARBAGE,       /* discarded frame (empty, bad COBS, impossible size) */
    HB_EV_TOO_LONG,      /* more than 4125 bytes without a delimiter */
    HB_EV_NOT_REQUEST,   /* flags other than 0: discarded */
    HB_EV_BAD_CRC,
    HB_EV_BAD_LENGTH,    /* length field disagreed with the frame size */
    HB_EV_BAD_VERSION,
    HB_EV_LEASE_EXPIRED, /* the board went back to nominal on its own */
    HB_EV_HAL_ERROR      /* a HAL call failed; the request got INTERNAL */
} hb_event;

typedef struct hb_hal {
    void *ctx;
    const hb_board *board;

    /* Bytes as the memory returns them at the current operating point. Returns 0 on success. */
    int (*mem_read)(void *ctx, uint32_t address, uint8_t *dst, uint32_t length);
    /* Stores bytes (at any operating point). Returns 0 on success. */
    int (*mem_write)(void *ctx, uint32_t address, const uint8_t *src, uint32_t length);
    /* The data last written (COMPARE reference 0); NULL unless the board has COMPARE_WRITTEN. */
    int (*mem_written)(void *ctx, uint32_t address, uint8_t *dst, uint32_t length);
    /*
     * Moves the memory to a point the core has already validated and waits the settle time.
     * trcd and temperature are absolute values, never the "nominal" markers. Returns 0 on success.
     */
    int (*set_point)(void *ctx, uint16_t voltage_mv, uint16_t trcd, int16_t temperature);
    /* Measured supply voltage, current (0 without CURRENT) and temperature. Returns 0 on success. */
    int (*telemetry)(void *ctx, uint16_t *voltage_mv, uint32_t *current_ua, int16_t *temperature);
    /* A free-running millisecond counter; wrapping at 2^32 is fine. */
    uint32_t (*now_ms)(void *ctx);
    /* Optional (may be NULL). */
    void (*event)(void *ctx, hb_event ev, uint16_t request_id, uint8_t command, const uint8_t *body, size_t len);
} hb_hal;

#endif
