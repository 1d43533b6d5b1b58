/*
 * SKELETON main loop for a Cortex-M board: bytes from the UART into the protocol core, replies
 * back out, the lease checked on every pass. Clock, UART and SysTick setup are the integrator's.
 */
#include <stddef.h>
#include <stdint.h>

#include "board_hooks.h"
#include "hb_core.h"

extern const hb_hal port_hal;

/* Static: about 13 KiB of buffers, which would not fit a typical startup stack. */
static hb_core core;

void SysTick_Handler(void);
void SysTick_Handler(void)
{
    board_ms_ticks++;
}

int main(void)
{
    /* INTEGRATOR: clocks, UART (e.g. 921600 8N1), SysTick at 1 kHz, memory supply at nominal. */
    if (hb_core_init(&core, &port_hal) != 0) {
        for (;;) {
        }
    }
    for (;;) {
        int c = board_uart_getc();
        if (c >= 0) {
            const uint8_t *reply = NULL;
            size_t n = hb_core_feed(&core, (uint8_t)c, &reply), i;
            for (i = 0; i < n; i++)
                board_uart_putc(reply[i]);
        }
        (void)hb_core_poll(&core);
    }
}
