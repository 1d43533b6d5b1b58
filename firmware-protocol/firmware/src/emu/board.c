#include "board.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hb_wire.h"

static void apply_stuck(uint8_t *bytes, uint32_t index, unsigned bit, uint8_t stuck)
{
    bytes[index] = (uint8_t)((bytes[index] & ~(1u << bit)) | ((unsigned)stuck << bit));
}

static int is_failing(const emu_board *e, const emu_weak_cell *c)
{
    return c->critical_uv > e->threshold_uv;
}

/*
 * Destructive chips: a failing cell cannot hold its data, so it ends up holding its stuck value.
 * Marginal cells are left to the read that catches them failing.
 */
static void destroy_failing(emu_board *e, uint64_t from_cell, uint64_t to_cell)
{
    size_t i;
    for (i = emu_chip_lower_bound(&e->chip, from_cell); i < e->chip.count && e->chip.cells[i].cell < to_cell; i++) {
        const emu_weak_cell *c = &e->chip.cells[i];
        if (!c->marginal && is_failing(e, c))
            apply_stuck(e->content, c->cell / 8, c->cell % 8, c->stuck);
    }
}

static int hal_read(void *ctx, uint32_t address, uint8_t *dst, uint32_t length)
{
    emu_board *e = ctx;
    uint64_t end = ((uint64_t)address + length) * 8;
    size_t i;

    memcpy(dst, e->content + address, length);
    /* Only the weak cells of the range can read differently from what they hold. */
    for (i = emu_chip_lower_bound(&e->chip, (uint64_t)address * 8); i < e->chip.count && e->chip.cells[i].cell < end; i++) {
        const emu_weak_cell *c = &e->chip.cells[i];
        if (!is_failing(e, c))
            continue;
        if (c->marginal && !(emu_rng_double(&e->transient) < e->chip.params.read_failure_probability))
            continue;
        apply_stuck(dst, c->cell / 8 - address, c->cell % 8, c->stuck);
        if (e->chip.params.destructive)
            apply_stuck(e->content, c->cell / 8, c->cell % 8, c->stuck);
    }
    return 0;
}

static int hal_write(void *ctx, uint32_t address, const uint8_t *src, uint32_t length)
{
    emu_board *e = ctx;

    memcpy(e->content + address, src, length);
    if (e->written != e->content) {
        memcpy(e->written + address, src, length);
        destroy_failing(e, (uint64_t)address * 8, ((uint64_t)address + length) * 8);
    }
    return 0;
}

static int hal_written(void *ctx, uint32_t address, uint8_t *dst, uint32_t length)
{
    emu_board *e = ctx;
    memcpy(dst, e->written + address, length);
    return 0;
}

static int hal_set_point(void *ctx, uint16_t voltage_mv, uint16_t trcd, int16_t temperature)
{
    emu_board *e = ctx;

    e->voltage_mv = voltage_mv;
    e->trcd = trcd;
    e->temperature = temperature;
    e->threshold_uv = emu_threshold_uv(&e->chip.params, voltage_mv, temperature);
    if (e->chip.params.destructive)
        destroy_failing(e, 0, e->chip.memory_bytes * 8);
    if (e->sleep_ms != NULL && e->chip.params.settle_ms > 0)
        e->sleep_ms(e->clock_ctx, e->chip.params.settle_ms);
    return 0;
}

uint32_t emu_board_current_ua(const emu_params *p, uint32_t voltage_mv, int32_t temperature_decic)
{
    double v = (double)voltage_mv / p->voltage_nominal_mv;
    double heat = 1.0 + p->leakage_temperature_coefficient * (temperature_decic - p->temperature_nominal) / 10.0;
    double ua;

    if (heat < 0)
        heat = 0;
    ua = p->leakage_ua * v * v * v * heat + p->dynamic_ua * v;
    return ua >= 4294967295.0 ? 0xFFFFFFFFu : (uint32_t)lround(ua);
}

static int hal_telemetry(void *ctx, uint16_t *voltage_mv, uint32_t *current_ua, int16_t *temperature)
{
    emu_board *e = ctx;
    uint64_t st = e->chip.params.seed ^ (++e->telemetry_reads * UINT64_C(0xA0761D6478BD642F));
    int noise = (int)(emu_splitmix64(&st) % 3) - 1; /* -1, 0 or +1 mV */

    *voltage_mv = (uint16_t)(e->voltage_mv + noise);
    *current_ua = emu_board_current_ua(&e->chip.params, e->voltage_mv, e->temperature);
    *temperature = e->temperature;
    return 0;
}

static uint32_t hal_now(void *ctx)
{
    emu_board *e = ctx;
    return e->clock_ms(e->clock_ctx);
}

int emu_board_init(emu_board *e, const emu_params *p, uint32_t (*clock_ms)(void *), void (*sleep_ms)(void *, uint32_t),
                   void *clock_ctx, char *err, size_t err_len)
{
    hb_board *b = &e->board;

    memset(e, 0, sizeof *e);
    if (emu_chip_generate(&e->chip, p, err, err_len) != 0)
        return -1;
    e->content = calloc((size_t)e->chip.memory_bytes, 1);
    e->written = p->destructive ? calloc((size_t)e->chip.memory_bytes, 1) : e->content;
    if (e->content == NULL || e->written == NULL) {
        snprintf(err, err_len, "out of memory for %llu bytes of emulated memory", (unsigned long long)e->chip.memory_bytes);
        emu_board_free(e);
        return -1;
    }
    e->clock_ms = clock_ms;
    e->sleep_ms = sleep_ms;
    e->clock_ctx = clock_ctx;
    emu_rng_seed(&e->transient, p->seed, UINT64_C(0xFFFFFFFF00000001));

    b->capabilities = HB_CAP_CURRENT | HB_CAP_COMPARE_WRITTEN | HB_CAP_EMULATED;
    if (p->temperature_step > 0)
        b->capabilities |= HB_CAP_TEMPERATURE;
    if (p->destructive)
        b->capabilities |= HB_CAP_DESTRUCTIVE;
    b->blocks = p->blocks;
    b->rows = p->rows;
    b->bits_per_row = p->bits_per_row;
    b->word_bits = (uint16_t)p->word_bits;
    b->voltage_nominal_mv = (uint16_t)p->voltage_nominal_mv;
    b->voltage_floor_mv = (uint16_t)p->voltage_floor_mv;
    b->voltage_max_mv = (uint16_t)p->voltage_max_mv;
    b->voltage_step_mv = (uint16_t)p->voltage_step_mv;
    b->trcd_nominal = b->trcd_min = b->trcd_max = b->trcd_step = 0;
    b->temperature_nominal = (int16_t)p->temperature_nominal;
    b->temperature_min = (int16_t)p->temperature_min;
    b->temperature_max = (int16_t)p->temperature_max;
    b->temperature_step = (int16_t)p->temperature_step;
    b->settle_ms = (uint16_t)p->settle_ms;
    b->default_lease_ms = p->lease_ms;
    b->name = EMU_FIRMWARE_NAME;

    e->voltage_mv = b->voltage_nominal_mv;
    e->temperature = b->temperature_nominal;
    e->threshold_uv = emu_threshold_uv(p, e->voltage_mv, e->temperature);

    e->hal.ctx = e;
    e->hal.board = b;
    e->hal.mem_read = hal_read;
    e->hal.mem_write = hal_write;
    e->hal.mem_written = hal_written;
    e->hal.set_point = hal_set_point;
    e->hal.telemetry = hal_telemetry;
    e->hal.now_ms = hal_now;
    e->hal.event = NULL;
    return 0;
}

void emu_board_free(emu_board *e)
{
    if (e->written != e->content)
        free(e->written);
    free(e->content);
    e->content = e->written = NULL;
    emu_chip_free(&e->chip);
}
