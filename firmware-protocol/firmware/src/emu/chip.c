#include "chip.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rng.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

double emu_normal_tail(double z)
{
    return 0.5 * erfc(z / sqrt(2.0));
}

int32_t emu_threshold_uv(const emu_params *p, uint32_t voltage_mv, int32_t temperature_decic)
{
    double shift = p->temperature_coefficient * ((double)(temperature_decic - p->temperature_nominal) / 10.0) * 1e6;
    return (int32_t)voltage_mv * 1000 - (int32_t)lround(shift);
}

static double standard_normal(emu_rng *r)
{
    double u1 = emu_rng_open0(r), u2 = emu_rng_double(r);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

/*
 * z ~ N(0, 1) conditioned on z > a, exactly. For a >= 0, Robert (1995): a shifted exponential
 * proposal with the optimal rate, accepted with probability exp(-(z - alpha)^2 / 2); the
 * acceptance rate stays above 0.76 however deep the tail. For a < 0 the tail holds at least
 * half the mass, so drawing until z > a costs at most two tries on average.
 */
static double normal_tail_draw(emu_rng *r, double a)
{
    if (a >= 0) {
        double alpha = 0.5 * (a + sqrt(a * a + 4.0));
        for (;;) {
            double z = a - log(emu_rng_open0(r)) / alpha;
            double d = z - alpha;
            if (emu_rng_double(r) <= exp(-0.5 * d * d))
                return z;
        }
    }
    for (;;) {
        double z = standard_normal(r);
        if (z > a)
            return z;
    }
}

/* Geometric skipping over [0, count): the next index chosen with probability q each, or -1 when done. */
typedef struct skipper {
    int64_t next;
    uint64_t count;
    double q, log_keep;
} skipper;

static void skip_init(skipper *s, uint64_t count, double q)
{
    s->next = -1;
    s->count = count;
    s->q = q;
    s->log_keep = q < 1 ? log1p(-q) : 0;
}

static int64_t skip_next(skipper *s, emu_rng *r)
{
    uint64_t from = (uint64_t)(s->next + 1);
    double gap;

    if (s->q <= 0 || from >= s->count)
        return -1;
    if (s->q >= 1) {
        s->next++;
        return s->next;
    }
    gap = floor(log(emu_rng_open0(r)) / s->log_keep);
    if (gap >= (double)(s->count - from))
        return -1;
    s->next = (int64_t)(from + (uint64_t)gap);
    return s->next;
}

typedef struct cell_list {
    emu_weak_cell *v;
    size_t n, cap;
} cell_list;

static int list_push(cell_list *l, emu_weak_cell c)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 4096;
        emu_weak_cell *v = realloc(l->v, cap * sizeof *v);
        if (v == NULL)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = c;
    return 0;
}

static int by_cell(const void *a, const void *b)
{
    uint32_t x = ((const emu_weak_cell *)a)->cell, y = ((const emu_weak_cell *)b)->cell;
    return (x > y) - (x < y);
}

typedef struct block_ctx {
    const emu_params *p;
    emu_rng *r;
    double worst;   /* volts */
    int32_t worst_uv;
    double offset;  /* this block's offset */
    uint32_t first; /* cell number of the block's first cell */
    cell_list *out;
} block_ctx;

/* Draws the cell's critical voltage from the tail of its class beyond the worst corner, then its polarity and kind. */
static int add_cell(block_ctx *b, uint32_t row, uint32_t col, double class_offset)
{
    const emu_params *p = b->p;
    double m = p->mean + b->offset + class_offset;
    double z = normal_tail_draw(b->r, (b->worst - m) / p->sigma);
    double x = m + p->sigma * z;
    uint8_t stuck = emu_rng_double(b->r) >= p->stuck_at_zero_share;
    uint8_t marginal = p->transient_share > 0 && emu_rng_double(b->r) < p->transient_share;
    emu_weak_cell c;
    double uv = x * 1e6;

    /* Rounding to whole microvolts can land a cell on the worst threshold, where it never fails. */
    if (uv >= 2147483647.0)
        uv = 2147483647.0;
    c.critical_uv = (int32_t)lround(uv);
    if (c.critical_uv <= b->worst_uv)
        return 0;
    c.cell = b->first + row * p->bits_per_row + col;
    c.stuck = stuck;
    c.marginal = marginal;
    if (b->out->n >= EMU_MAX_WEAK_CELLS)
        return -2;
    return list_push(b->out, c);
}

static double tail_q(const block_ctx *b, double class_offset)
{
    return emu_normal_tail((b->worst - b->p->mean - b->offset - class_offset) / b->p->sigma);
}

static int draw_block(block_ctx *b, uint8_t *weak_col, uint8_t *weak_row, uint32_t *cols, uint32_t *rows_list)
{
    const emu_params *p = b->p;
    uint32_t nb = 0, nw = 0, i, j;
    skipper s;
    int64_t k;
    double q;
    int rc;

    switch (p->offsets) {
    case EMU_OFFSETS_NORMAL:
        b->offset = p->offset_sigma * standard_normal(b->r);
        break;
    case EMU_OFFSETS_TWO_CLASS:
        b->offset = emu_rng_double(b->r) < p->offset_weak_share ? p->offset_weak_offset : 0;
        break;
    case EMU_OFFSETS_NONE:
    default:
        b->offset = 0;
        break;
    }
    memset(weak_col, 0, p->bits_per_row);
    memset(weak_row, 0, p->rows);
    skip_init(&s, p->bits_per_row, p->bitline_fraction);
    while ((k = skip_next(&s, b->r)) >= 0) {
        weak_col[k] = 1;
        cols[nb++] = (uint32_t)k;
    }
    skip_init(&s, p->rows, p->wordline_fraction);
    while ((k = skip_next(&s, b->r)) >= 0) {
        weak_row[k] = 1;
        rows_list[nw++] = (uint32_t)k;
    }

    /* Each cell belongs to exactly one class and is drawn at its own class's tail probability. */
    q = tail_q(b, 0);
    skip_init(&s, (uint64_t)p->rows * p->bits_per_row, q);
    while ((k = skip_next(&s, b->r)) >= 0) {
        uint32_t row = (uint32_t)(k / p->bits_per_row), col = (uint32_t)(k % p->bits_per_row);
        if (!weak_col[col] && !weak_row[row] && (rc = add_cell(b, row, col, 0)) != 0)
            return rc;
    }
    q = tail_q(b, p->bitline_strength);
    for (i = 0; i < nb; i++) {
        skip_init(&s, p->rows, q);
        while ((k = skip_next(&s, b->r)) >= 0)
            if (!weak_row[k] && (rc = add_cell(b, (uint32_t)k, cols[i], p->bitline_strength)) != 0)
                return rc;
    }
    q = tail_q(b, p->wordline_strength);
    for (j = 0; j < nw; j++) {
        skip_init(&s, p->bits_per_row, q);
        while ((k = skip_next(&s, b->r)) >= 0)
            if (!weak_col[k] && (rc = add_cell(b, rows_list[j], (uint32_t)k, p->wordline_strength)) != 0)
                return rc;
    }
    q = tail_q(b, p->bitline_strength + p->wordline_strength);
    for (j = 0; j < nw; j++)
        for (i = 0; i < nb; i++)
            if (emu_rng_double(b->r) < q &&
                (rc = add_cell(b, rows_list[j], cols[i], p->bitline_strength + p->wordline_strength)) != 0)
                return rc;
    return 0;
}

int emu_chip_generate(emu_chip *chip, const emu_params *p, char *err, size_t err_len)
{
    cell_list list = { NULL, 0, 0 };
    uint8_t *weak_col = NULL, *weak_row = NULL;
    uint32_t *cols = NULL, *rows_list = NULL;
    uint32_t block;
    int32_t t_cold, t_hot;
    int rc = 0;

    memset(chip, 0, sizeof *chip);
    if (emu_params_check(p, err, err_len) != 0)
        return -1;
    chip->params = *p;
    chip->memory_bytes = (uint64_t)p->blocks * p->rows * p->bits_per_row / 8;
    /* The threshold is linear in T, so the worst corner is at one end of the temperature range. */
    t_cold = emu_threshold_uv(p, p->voltage_floor_mv, p->temperature_min);
    t_hot = emu_threshold_uv(p, p->voltage_floor_mv, p->temperature_max);
    chip->worst_uv = t_cold < t_hot ? t_cold : t_hot;

    {
        /* Refuse before drawing: with block offsets ignored this underestimates, the hard limit below catches the rest. */
        double worst = chip->worst_uv / 1e6, cells = (double)p->blocks * p->rows * p->bits_per_row;
        double fb = p->bitline_fraction, fw = p->wordline_fraction;
        double expected = cells * ((1 - fb) * (1 - fw) * emu_normal_tail((worst - p->mean) / p->sigma) +
                                   fb * (1 - fw) * emu_normal_tail((worst - p->mean - p->bitline_strength) / p->sigma) +
                                   (1 - fb) * fw * emu_normal_tail((worst - p->mean - p->wordline_strength) / p->sigma) +
                                   fb * fw * emu_normal_tail((worst - p->mean - p->bitline_strength - p->wordline_strength) / p->sigma));
        if (expected > EMU_MAX_WEAK_CELLS) {
            snprintf(err, err_len, "about %.0f weak cells between %u mV and the worst corner, more than the %u this "
                     "emulator draws: raise voltage.floor_mv", expected, (unsigned)p->voltage_floor_mv, EMU_MAX_WEAK_CELLS);
            return -1;
        }
    }
    chip->block_offset = calloc(p->blocks, sizeof *chip->block_offset);
    weak_col = malloc(p->bits_per_row);
    weak_row = malloc(p->rows);
    cols = malloc((size_t)p->bits_per_row * sizeof *cols);
    rows_list = malloc((size_t)p->rows * sizeof *rows_list);
    if (chip->block_offset == NULL || weak_col == NULL || weak_row == NULL || cols == NULL || rows_list == NULL) {
        snprintf(err, err_len, "out of memory");
        rc = -1;
        goto done;
    }
    for (block = 0; block < p->blocks && rc == 0; block++) {
        emu_rng r;
        block_ctx b;
        size_t start = list.n;

        emu_rng_seed(&r, p->seed, block);
        b.p = p;
        b.r = &r;
        b.worst_uv = chip->worst_uv;
        b.worst = chip->worst_uv / 1e6;
        b.offset = 0;
        b.first = block * p->rows * p->bits_per_row;
        b.out = &list;
        rc = draw_block(&b, weak_col, weak_row, cols, rows_list);
        chip->block_offset[block] = b.offset;
        if (rc == -2)
            snprintf(err, err_len, "more than %u weak cells between %u mV and the worst corner: raise voltage.floor_mv",
                     EMU_MAX_WEAK_CELLS, (unsigned)p->voltage_floor_mv);
        else if (rc != 0)
            snprintf(err, err_len, "out of memory");
        else
            qsort(list.v + start, list.n - start, sizeof *list.v, by_cell);
    }
done:
    free(weak_col);
    free(weak_row);
    free(cols);
    free(rows_list);
    if (rc != 0) {
        free(list.v);
        free(chip->block_offset);
        chip->block_offset = NULL;
        return -1;
    }
    chip->cells = list.v;
    chip->count = list.n;
    return 0;
}

void emu_chip_free(emu_chip *chip)
{
    free(chip->cells);
    free(chip->block_offset);
    chip->cells = NULL;
    chip->block_offset = NULL;
    chip->count = 0;
}

size_t emu_chip_lower_bound(const emu_chip *chip, uint64_t cell)
{
    size_t lo = 0, hi = chip->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (chip->cells[mid].cell < cell)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

size_t emu_chip_failing(const emu_chip *chip, int32_t threshold_uv)
{
    size_t i, n = 0;
    for (i = 0; i < chip->count; i++)
        n += chip->cells[i].critical_uv > threshold_uv;
    return n;
}

int emu_chip_write_truth(const emu_chip *chip, FILE *f)
{
    size_t i;

    fprintf(f, "# hilboard-emu truth 1\n");
    emu_params_write(&chip->params, f, "# ");
    fprintf(f, "# destructive %d\n", chip->params.destructive);
    fprintf(f, "# worst_threshold_uv %ld\n", (long)chip->worst_uv);
    fprintf(f, "# weak_cells %lu\n", (unsigned long)chip->count);
    fprintf(f, "# fails_when critical_uv > voltage_mv * 1000 - round(temperature_coefficient * (T_decic - nominal_decic) / 10 * 1e6)\n");
    fprintf(f, "# columns cell critical_uv stuck marginal\n");
    for (i = 0; i < chip->count; i++) {
        const emu_weak_cell *c = &chip->cells[i];
        fprintf(f, "%lu %ld %u %u\n", (unsigned long)c->cell, (long)c->critical_uv, c->stuck, c->marginal);
    }
    return ferror(f) ? -1 : 0;
}
