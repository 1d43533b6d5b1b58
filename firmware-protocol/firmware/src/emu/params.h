/* Parameters of the emulated chip (the ground truth) and the profile file that sets them. */
#ifndef EMU_PARAMS_H
#define EMU_PARAMS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum emu_offset_distribution {
    EMU_OFFSETS_NONE,
    EMU_OFFSETS_NORMAL,
    EMU_OFFSETS_TWO_CLASS
} emu_offset_distribution;

typedef struct emu_params {
    /* geometry */
    uint32_t blocks, rows, bits_per_row, word_bits;
    /* operating range, mV and 0.1 C */
    uint32_t voltage_nominal_mv, voltage_floor_mv, voltage_max_mv, voltage_step_mv;
    int32_t temperature_nominal, temperature_min, temperature_max, temperature_step;
    uint32_t settle_ms, lease_ms;
    /* cell model, volts and volts per degree C */
    double mean, sigma, temperature_coefficient;
    emu_offset_distribution offsets;
    double offset_sigma, offset_weak_share, offset_weak_offset;
    double bitline_fraction, bitline_strength;
    double wordline_fraction, wordline_strength;
    double stuck_at_zero_share;
    double transient_share, read_failure_probability;
    /* telemetry current model, uA and 1/C */
    double leakage_ua, dynamic_ua, leakage_temperature_coefficient;
    uint64_t seed;
    int destructive; /* command line only */
} emu_params;

/* The compiled-in defaults, identical to profiles/default.conf. */
void emu_params_default(emu_params *p);

/*
 * Reads `key value` lines (# starts a comment) over the current values. Returns 0, or -1 with
 * a message naming the file, line and key in err.
 */
int emu_params_load(emu_params *p, const char *path, char *err, size_t err_len);

/* Sets one key from its text form; used by the loader and by tests. Returns 0, or -1 with err set. */
int emu_params_set(emu_params *p, const char *key, const char *value, char *err, size_t err_len);

/* Checks the parameters as a whole (geometry, ranges, grids). Returns 0, or -1 with err set. */
int emu_params_check(const emu_params *p, char *err, size_t err_len);

/* Writes every parameter as "<prefix>key value" lines, in profile syntax. */
void emu_params_write(const emu_params *p, FILE *f, const char *prefix);

#endif
