/*
 * SKELETON HAL for a Cortex-M board. The memory under test is a static array standing in for
 * the real SRAM (on a real board: the separately powered SRAM or BRAM region whose supply the
 * board can lower). Everything marked INTEGRATOR must be replaced for real hardware.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "board_hooks.h"
#include "hb_hal.h"
#include "hb_wire.h"

/* 4 blocks x 256 rows x 32 bits = 4 KiB: small enough for any M4 part while porting. */
#define PORT_BLOCKS 4u
#define PORT_ROWS 256u
#define PORT_BITS_PER_ROW 32u
#define PORT_MEMORY_BYTES (PORT_BLOCKS * PORT_ROWS * PORT_BITS_PER_ROW / 8u)

static uint8_t memory_under_test[PORT_MEMORY_BYTES]; /* INTEGRATOR: map to the real memory */

volatile uint32_t board_ms_ticks;

/*
 * No COMPARE_WRITTEN: keeping a shadow copy of the memory needs as much RAM again; add it
 * (and set mem_written) if the part has room.
 */
static const hb_board port_board = {
    0u,                               /* capabilities: no tRCD, temperature, current or shadow copy */
    PORT_BLOCKS, PORT_ROWS, PORT_BITS_PER_ROW, 32u,
    1000u, 500u, 1000u, 5u,           /* voltage nominal, floor, max, step: INTEGRATOR */
    0u, 0u, 0u, 0u,                   /* tRCD not controllable */
    250, 250, 250, 0,                 /* temperature not controllable, 25.0 C */
    2u,                               /* settle ms: INTEGRATOR, measure the regulator */
    HB_DEFAULT_LEASE_MS,
    "hilboard-cortexm 0.1.0"
};

static int port_read(void *ctx, uint32_t address, uint8_t *dst, uint32_t length)
{
    (void)ctx;
    /* INTEGRATOR: read through volatile accesses (or DMA) so the compiler cannot cache values. */
    memcpy(dst, memory_under_test + address, length);
    return 0;
}

static int port_write(void *ctx, uint32_t address, const uint8_t *src, uint32_t length)
{
    (void)ctx;
    memcpy(memory_under_test + address, src, length);
    return 0;
}

static uint32_t port_now(void *ctx)
{
    (void)ctx;
    return board_ms_ticks;
}

static int port_set_point(void *ctx, uint16_t voltage_mv, uint16_t trcd, int16_t temperature)
{
    uint32_t start;
    (void)ctx;
    (void)trcd;
    (void)temperature;
    if (board_set_voltage_mv(voltage_mv) != 0)
        return -1;
    /* The protocol promises the settle time has passed before the reply. */
    start = board_ms_ticks;
    while ((uint32_t)(board_ms_ticks - start) < port_board.settle_ms) {
    }
    return 0;
}

static int port_telemetry(void *ctx, uint16_t *voltage_mv, uint32_t *current_ua, int16_t *temperature)
{
    (void)ctx;
    *voltage_mv = board_measure_voltage_mv();
    *current_ua = board_measure_current_ua();
    *temperature = board_measure_temperature_decic();
    return 0;
}

const hb_hal port_hal = {
    NULL, &port_board, port_read, port_write, NULL, port_set_point, port_telemetry, port_now, NULL
};

/* ---- INTEGRATOR stubs: replace with the board's drivers ---- */

int board_uart_getc(void)
{
    return -1; /* INTEGRATOR: read the UART receive register / ring buffer */
}

void board_uart_putc(uint8_t byte)
{
    (void)byte; /* INTEGRATOR: write the UART transmit register (or queue for DMA) */
}

int board_set_voltage_mv(uint16_t mv)
{
    (void)mv; /* INTEGRATOR: program the memory's regulator */
    return 0;
}

uint16_t board_measure_voltage_mv(void)
{
    return port_board.voltage_nominal_mv; /* INTEGRATOR: ADC */
}

uint32_t board_measure_current_ua(void)
{
    return 0; /* INTEGRATOR: shunt measurement; then set HB_CAP_CURRENT */
}

int16_t board_measure_temperature_decic(void)
{
    return port_board.temperature_nominal; /* INTEGRATOR: sensor */
}
