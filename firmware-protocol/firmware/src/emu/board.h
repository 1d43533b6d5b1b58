/*
 * The emulated board: an emulated chip behind the HAL of include/hb_hal.h. Pure C99; the host
 * program supplies the clock and the settle wait, tests supply fakes.
 */
#ifndef EMU_BOARD_H
#define EMU_BOARD_H

#include <stddef.h>
#include <stdint.h>

#include "chip.h"
#include "hb_hal.h"
#include "rng.h"

#define EMU_FIRMWARE_NAME "hilboard-emu 1.0.0"

typedef struct emu_board {
    emu_chip chip;
    hb_board board;
    hb_hal hal;
    uint8_t *content; /* what the cells hold */
    uint8_t *written; /* the data last written: content itself unless destructive */
    uint16_t voltage_mv;
    uint16_t trcd;
    int16_t temperature;
    int32_t threshold_uv;
    emu_rng transient;         /* one draw per read of a failing marginal cell */
    uint64_t telemetry_reads;  /* drives the measurement noise */
    uint32_t (*clock_ms)(void *clock_ctx);
    void (*sleep_ms)(void *clock_ctx, uint32_t ms); /* may be NULL: no settle wait */
    void *clock_ctx;
} emu_board;

/*
 * Draws the chip and prepares the HAL (e->hal). Memory starts all zero at the nominal point.
 * Returns 0, or -1 with err set.
 */
int emu_board_init(emu_board *e, const emu_params *p, uint32_t (*clock_ms)(void *), void (*sleep_ms)(void *, uint32_t),
                   void *clock_ctx, char *err, size_t err_len);
void emu_board_free(emu_board *e);

/* Measured current in uA at a point (the telemetry model). */
uint32_t emu_board_current_ua(const emu_params *p, uint32_t voltage_mv, int32_t temperature_decic);

#endif
