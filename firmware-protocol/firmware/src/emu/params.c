#include "params.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef enum { K_U32, K_I32, K_U64, K_DOUBLE, K_DIST } key_type;

typedef struct key_def {
    const char *name;
    key_type type;
    size_t offset;
    double min, max; /* inclusive bounds; for doubles and integers alike */
} key_def;

#define F(field) offsetof(emu_params, field)

/* Order is the order of the truth-file header and of profiles/default.conf. */
static const key_def keys[] = {
    { "seed", K_U64, F(seed), 0, 0 },
    { "geometry.blocks", K_U32, F(blocks), 1, 4294967295.0 },
    { "geometry.rows", K_U32, F(rows), 1, 4294967295.0 },
    { "geometry.bits_per_row", K_U32, F(bits_per_row), 8, 4294967295.0 },
    { "geometry.word_bits", K_U32, F(word_bits), 1, 65535 },
    { "voltage.nominal_mv", K_U32, F(voltage_nominal_mv), 1, 65535 },
    { "voltage.floor_mv", K_U32, F(voltage_floor_mv), 1, 65535 },
    { "voltage.max_mv", K_U32, F(voltage_max_mv), 1, 65535 },
    { "voltage.step_mv", K_U32, F(voltage_step_mv), 1, 65535 },
    { "temperature.nominal_decic", K_I32, F(temperature_nominal), -32768, 32766 },
    { "temperature.min_decic", K_I32, F(temperature_min), -32768, 32766 },
    { "temperature.max_decic", K_I32, F(temperature_max), -32768, 32766 },
    { "temperature.step_decic", K_I32, F(temperature_step), 0, 32766 },
    { "settle_ms", K_U32, F(settle_ms), 0, 65535 },
    { "lease_ms", K_U32, F(lease_ms), 100, 600000 },
    { "cells.mean", K_DOUBLE, F(mean), -10, 10 },
    { "cells.sigma", K_DOUBLE, F(sigma), 1e-6, 10 },
    { "cells.temperature_coefficient", K_DOUBLE, F(temperature_coefficient), -1, 1 },
    { "block_offsets.distribution", K_DIST, F(offsets), 0, 0 },
    { "block_offsets.sigma", K_DOUBLE, F(offset_sigma), 0, 10 },
    { "block_offsets.weak_share", K_DOUBLE, F(offset_weak_share), 0, 1 },
    { "block_offsets.weak_offset", K_DOUBLE, F(offset_weak_offset), -10, 10 },
    { "weak_bitlines.fraction", K_DOUBLE, F(bitline_fraction), 0, 1 },
    { "weak_bitlines.strength", K_DOUBLE, F(bitline_strength), -10, 10 },
    { "weak_wordlines.fraction", K_DOUBLE, F(wordline_fraction), 0, 1 },
    { "weak_wordlines.strength", K_DOUBLE, F(wordline_strength), -10, 10 },
    { "polarity.stuck_at_zero_share", K_DOUBLE, F(stuck_at_zero_share), 0, 1 },
    { "transient.share", K_DOUBLE, F(transient_share), 0, 1 },
    { "transient.read_failure_probability", K_DOUBLE, F(read_failure_probability), 0, 1 },
    { "current.leakage_ua", K_DOUBLE, F(leakage_ua), 0, 1e9 },
    { "current.dynamic_ua", K_DOUBLE, F(dynamic_ua), 0, 1e9 },
    { "current.leakage_temperature_coefficient", K_DOUBLE, F(leakage_temperature_coefficient), 0, 1 },
};

#define KEY_COUNT (sizeof keys / sizeof keys[0])

static const char *const dist_names[] = { "none", "normal", "two_class" };

void emu_params_default(emu_params *p)
{
    memset(p, 0, sizeof *p);
    p->seed = 1;
    p->blocks = 256;
    p->rows = 1024;
    p->bits_per_row = 32;
    p->word_bits = 32;
    p->voltage_nominal_mv = 1000;
    p->voltage_floor_mv = 500;
    p->voltage_max_mv = 1000;
    p->voltage_step_mv = 5;
    p->temperature_nominal = 250;
    p->temperature_min = 0;
    p->temperature_max = 850;
    p->temperature_step = 50;
    p->settle_ms = 2;
    p->lease_ms = 5000;
    p->mean = 0.41;
    p->sigma = 0.035;
    p->temperature_coefficient = -0.0002;
    p->offsets = EMU_OFFSETS_NORMAL;
    p->offset_sigma = 0.008;
    p->offset_weak_share = 0;
    p->offset_weak_offset = 0;
    p->bitline_fraction = 0.002;
    p->bitline_strength = 0.03;
    p->wordline_fraction = 0.001;
    p->wordline_strength = 0.02;
    p->stuck_at_zero_share = 0.9;
    p->transient_share = 0;
    p->read_failure_probability = 0.5;
    p->leakage_ua = 2000;
    p->dynamic_ua = 500;
    p->leakage_temperature_coefficient = 0.02;
    p->destructive = 0;
}

static const key_def *find_key(const char *name)
{
    size_t i;
    for (i = 0; i < KEY_COUNT; i++)
        if (strcmp(keys[i].name, name) == 0)
            return &keys[i];
    return NULL;
}

int emu_params_set(emu_params *p, const char *key, const char *value, char *err, size_t err_len)
{
    const key_def *k = find_key(key);
    char *base = (char *)p;
    char *end = NULL;

    if (k == NULL) {
        snprintf(err, err_len, "unknown key '%s'", key);
        return -1;
    }
    errno = 0;
    switch (k->type) {
    case K_U32:
    case K_U64: {
        unsigned long long v;
        if (!isdigit((unsigned char)value[0]))
            goto bad_number;
        v = strtoull(value, &end, 10);
        if (errno != 0 || *end != '\0')
            goto bad_number;
        if (k->type == K_U64) {
            uint64_t u = v;
            memcpy(base + k->offset, &u, sizeof u);
        } else {
            uint32_t u;
            if ((double)v < k->min || (double)v > k->max)
                goto out_of_range;
            u = (uint32_t)v;
            memcpy(base + k->offset, &u, sizeof u);
        }
        return 0;
    }
    case K_I32: {
        long long v = strtoll(value, &end, 10);
        int32_t s;
        if (errno != 0 || end == value || *end != '\0')
            goto bad_number;
        if ((double)v < k->min || (double)v > k->max)
            goto out_of_range;
        s = (int32_t)v;
        memcpy(base + k->offset, &s, sizeof s);
        return 0;
    }
    case K_DOUBLE: {
        double v = strtod(value, &end);
        if (errno != 0 || end == value || *end != '\0' || !isfinite(v))
            goto bad_number;
        if (v < k->min || v > k->max)
            goto out_of_range;
        memcpy(base + k->offset, &v, sizeof v);
        return 0;
    }
    case K_DIST: {
        size_t i;
        for (i = 0; i < sizeof dist_names / sizeof dist_names[0]; i++) {
            if (strcmp(value, dist_names[i]) == 0) {
                emu_offset_distribution d = (emu_offset_distribution)i;
                memcpy(base + k->offset, &d, sizeof d);
                return 0;
            }
        }
        snprintf(err, err_len, "key '%s': '%s' is not one of none, normal, two_class", key, value);
        return -1;
    }
    }
bad_number:
    snprintf(err, err_len, "key '%s': '%s' is not a %s", key, value,
             k->type == K_DOUBLE ? "finite number" : k->type == K_I32 ? "whole number" : "non-negative whole number");
    return -1;
out_of_range:
    snprintf(err, err_len, "key '%s': %s is outside [%.10g, %.10g]", key, value, k->min, k->max);
    return -1;
}

int emu_params_load(emu_params *p, const char *path, char *err, size_t err_len)
{
    FILE *f = fopen(path, "r");
    char line[512];
    char seen[KEY_COUNT];
    unsigned line_no = 0;

    if (f == NULL) {
        snprintf(err, err_len, "%s: cannot open profile: %s", path, strerror(errno));
        return -1;
    }
    memset(seen, 0, sizeof seen);
    while (fgets(line, sizeof line, f) != NULL) {
        char *s, *key, *value, *rest, *hash;
        char msg[256];
        const key_def *k;

        line_no++;
        if (strchr(line, '\n') == NULL && !feof(f)) {
            snprintf(err, err_len, "%s:%u: line longer than %u characters", path, line_no, (unsigned)sizeof line - 2);
            fclose(f);
            return -1;
        }
        hash = strchr(line, '#');
        if (hash != NULL)
            *hash = '\0';
        s = line;
        key = strtok(s, " \t\r\n");
        if (key == NULL)
            continue;
        value = strtok(NULL, " \t\r\n");
        rest = strtok(NULL, " \t\r\n");
        if (value == NULL || rest != NULL) {
            snprintf(err, err_len, "%s:%u: key '%s': expected exactly one value after the key", path, line_no, key);
            fclose(f);
            return -1;
        }
        k = find_key(key);
        if (k != NULL && seen[k - keys]) {
            snprintf(err, err_len, "%s:%u: key '%s' given twice", path, line_no, key);
            fclose(f);
            return -1;
        }
        if (emu_params_set(p, key, value, msg, sizeof msg) != 0) {
            snprintf(err, err_len, "%s:%u: %s", path, line_no, msg);
            fclose(f);
            return -1;
        }
        seen[k - keys] = 1;
    }
    if (ferror(f)) {
        snprintf(err, err_len, "%s: read error", path);
        fclose(f);
        return -1;
    }
    fclose(f);
    return 0;
}

int emu_params_check(const emu_params *p, char *err, size_t err_len)
{
    uint64_t bits;

    if (p->bits_per_row % 8 != 0) {
        snprintf(err, err_len, "geometry.bits_per_row must be a multiple of 8 (rows are whole bytes), got %u",
                 (unsigned)p->bits_per_row);
        return -1;
    }
    if (p->bits_per_row % p->word_bits != 0) {
        snprintf(err, err_len, "geometry.word_bits (%u) must divide geometry.bits_per_row (%u)",
                 (unsigned)p->word_bits, (unsigned)p->bits_per_row);
        return -1;
    }
    /* Cells are numbered in 32 bits, so the emulated memory stays below 512 MiB. */
    bits = (uint64_t)p->blocks * p->rows;
    if (bits > UINT64_C(0xFFFFFFFF) / p->bits_per_row) {
        snprintf(err, err_len, "geometry of %u x %u x %u bits is larger than the 2^32 cells this emulator numbers",
                 (unsigned)p->blocks, (unsigned)p->rows, (unsigned)p->bits_per_row);
        return -1;
    }
    if (!(p->voltage_floor_mv <= p->voltage_nominal_mv && p->voltage_nominal_mv <= p->voltage_max_mv)) {
        snprintf(err, err_len, "voltages must satisfy floor_mv <= nominal_mv <= max_mv, got %u, %u, %u",
                 (unsigned)p->voltage_floor_mv, (unsigned)p->voltage_nominal_mv, (unsigned)p->voltage_max_mv);
        return -1;
    }
    if ((p->voltage_nominal_mv - p->voltage_floor_mv) % p->voltage_step_mv != 0 ||
        (p->voltage_max_mv - p->voltage_floor_mv) % p->voltage_step_mv != 0) {
        snprintf(err, err_len, "voltage.nominal_mv and voltage.max_mv must lie on the step_mv grid from floor_mv");
        return -1;
    }
    if (!(p->temperature_min <= p->temperature_nominal && p->temperature_nominal <= p->temperature_max)) {
        snprintf(err, err_len, "temperatures must satisfy min_decic <= nominal_decic <= max_decic, got %d, %d, %d",
                 (int)p->temperature_min, (int)p->temperature_nominal, (int)p->temperature_max);
        return -1;
    }
    if (p->temperature_step == 0 ? (p->temperature_min != p->temperature_max)
                                 : ((p->temperature_nominal - p->temperature_min) % p->temperature_step != 0 ||
                                    (p->temperature_max - p->temperature_min) % p->temperature_step != 0)) {
        snprintf(err, err_len, "temperature.step_decic 0 needs min_decic = nominal_decic = max_decic; otherwise "
                               "nominal_decic and max_decic must lie on the step grid from min_decic");
        return -1;
    }
    return 0;
}

static void write_double(FILE *f, double v)
{
    char buf[40];
    int prec;
    /* The shortest form that reads back as the same double, so the header is exact and readable. */
    if (v == floor(v) && fabs(v) < 1e15) {
        fprintf(f, "%.0f", v);
        return;
    }
    for (prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    fputs(buf, f);
}

void emu_params_write(const emu_params *p, FILE *f, const char *prefix)
{
    const char *base = (const char *)p;
    size_t i;

    for (i = 0; i < KEY_COUNT; i++) {
        const key_def *k = &keys[i];
        fprintf(f, "%s%s ", prefix, k->name);
        switch (k->type) {
        case K_U32: {
            uint32_t v;
            memcpy(&v, base + k->offset, sizeof v);
            fprintf(f, "%lu", (unsigned long)v);
            break;
        }
        case K_U64: {
            uint64_t v;
            memcpy(&v, base + k->offset, sizeof v);
            fprintf(f, "%llu", (unsigned long long)v);
            break;
        }
        case K_I32: {
            int32_t v;
            memcpy(&v, base + k->offset, sizeof v);
            fprintf(f, "%ld", (long)v);
            break;
        }
        case K_DOUBLE: {
            double v;
            memcpy(&v, base + k->offset, sizeof v);
            write_double(f, v);
            break;
        }
        case K_DIST: {
            emu_offset_distribution d;
            memcpy(&d, base + k->offset, sizeof d);
            fputs(dist_names[d], f);
            break;
        }
        }
        fputc('\n', f);
    }
}
