/*
 * SKELETON: the hooks a board integrator provides for the Cortex-M port. Nothing here talks to
 * real hardware yet; every function below is a stub in hal_cortexm.c marked "INTEGRATOR".
 */
#ifndef BOARD_HOOKS_H
#define BOARD_HOOKS_H

#include <stdint.h>

/* UART: return a received byte (0..255) or -1 when none is waiting; never block. */
int board_uart_getc(void);
/* UART: send one byte (may block until the transmitter has room). */
void board_uart_putc(uint8_t byte);

/* Supply of the memory under test: program the regulator (DAC, PMBus, digipot, ...). Return 0 on success. */
int board_set_voltage_mv(uint16_t mv);
/* Measured supply voltage (ADC) and current (shunt amplifier), and the die/board temperature. */
uint16_t board_measure_voltage_mv(void);
uint32_t board_measure_current_ua(void);
int16_t board_measure_temperature_decic(void);

/* A millisecond tick, e.g. incremented by SysTick_Handler. */
extern volatile uint32_t board_ms_ticks;

#endif
