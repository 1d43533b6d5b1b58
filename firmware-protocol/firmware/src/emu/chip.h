/*
 * The emulated chip's ground truth: every weak cell (one that fails somewhere in the operating
 * range) with its critical voltage in integer microvolts, stuck value and marginal flag.
 */
#ifndef EMU_CHIP_H
#define EMU_CHIP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "params.h"

/* Weak cells beyond this many are refused: the range reaches too deep into the distribution. */
#define EMU_MAX_WEAK_CELLS 16777216u

typedef struct emu_weak_cell {
    uint32_t cell;       /* (block * rows + row) * bits_per_row + bit; byte cell / 8, bit cell % 8 */
    int32_t critical_uv; /* fails while critical_uv > threshold_uv */
    uint8_t stuck;       /* the value it reads while failing */
    uint8_t marginal;    /* fails only on a share of reads */
} emu_weak_cell;

typedef struct emu_chip {
    emu_params params;
    uint64_t memory_bytes;
    int32_t worst_uv;     /* threshold at the worst corner (floor voltage, most weakening temperature) */
    emu_weak_cell *cells; /* sorted by cell */
    size_t count;
    double *block_offset; /* volts, per block */
} emu_chip;

/* Draws the chip. Returns 0, or -1 with err set (bad parameters, too many weak cells, no memory). */
int emu_chip_generate(emu_chip *chip, const emu_params *p, char *err, size_t err_len);
void emu_chip_free(emu_chip *chip);

/*
 * Threshold in microvolts at a set point: V_mV * 1000 - shift, where
 * shift = round(tc * ((T_decic - Tnom_decic) / 10) * 1e6) computed in IEEE double, halves away from zero.
 */
int32_t emu_threshold_uv(const emu_params *p, uint32_t voltage_mv, int32_t temperature_decic);

/* Index of the first weak cell whose number is >= cell. */
size_t emu_chip_lower_bound(const emu_chip *chip, uint64_t cell);

/* Number of weak cells with critical_uv > threshold_uv (marginal ones included). */
size_t emu_chip_failing(const emu_chip *chip, int32_t threshold_uv);

/* The truth file: "# key value" header lines, then "cell critical_uv stuck marginal" per weak cell. */
int emu_chip_write_truth(const emu_chip *chip, FILE *f);

/* Upper normal tail 0.5 * erfc(z / sqrt 2). */
double emu_normal_tail(double z);

#endif
