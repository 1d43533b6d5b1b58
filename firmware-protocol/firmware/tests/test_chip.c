/* The emulated chip and board: determinism, nesting, statistics, profiles, truth file. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "board.h"
#include "chip.h"
#include "hb_core.h"
#include "params.h"
#include "test.h"
#include "tests.h"
#include "util.h"

static uint32_t fake_ms;
static uint32_t fake_clock(void *ctx)
{
    (void)ctx;
    return fake_ms;
}

static int same_cells(const emu_chip *a, const emu_chip *b)
{
    size_t i;
    if (a->count != b->count)
        return 0;
    for (i = 0; i < a->count; i++)
        if (a->cells[i].cell != b->cells[i].cell || a->cells[i].critical_uv != b->cells[i].critical_uv ||
            a->cells[i].stuck != b->cells[i].stuck || a->cells[i].marginal != b->cells[i].marginal)
            return 0;
    return 1;
}

void test_chip_deterministic(void)
{
    emu_params p;
    emu_chip a, b, c;
    char err[256];

    emu_params_default(&p);
    CHECK_EQ(emu_chip_generate(&a, &p, err, sizeof err), 0);
    CHECK_EQ(emu_chip_generate(&b, &p, err, sizeof err), 0);
    p.seed = 2;
    CHECK_EQ(emu_chip_generate(&c, &p, err, sizeof err), 0);
    CHECK(same_cells(&a, &b));
    CHECK(!same_cells(&a, &c));
    CHECK(a.count > 50000 && a.count < 120000);
    CHECK(memcmp(a.block_offset, b.block_offset, 256 * sizeof(double)) == 0);
    emu_chip_free(&a);
    emu_chip_free(&b);
    emu_chip_free(&c);
}

void test_chip_invariants(void)
{
    emu_params p;
    emu_chip a;
    char err[256];
    size_t i, zeros = 0, ok = 1;
    double share, sd;

    emu_params_default(&p);
    CHECK_EQ(emu_chip_generate(&a, &p, err, sizeof err), 0);
    /* Worst corner: 500 mV at 0 C, where tc = -0.2 mV/C lowers the threshold by 5 mV. */
    CHECK_EQ(a.worst_uv, 495000);
    CHECK_EQ(a.memory_bytes, 1u << 20);
    for (i = 0; i < a.count; i++) {
        const emu_weak_cell *c = &a.cells[i];
        if (c->cell >= 8u << 20 || c->critical_uv <= a.worst_uv || c->stuck > 1 || c->marginal != 0 ||
            (i > 0 && c->cell <= a.cells[i - 1].cell))
            ok = 0;
        zeros += c->stuck == 0;
    }
    CHECK(ok);
    share = (double)zeros / a.count;
    sd = sqrt(0.9 * 0.1 / a.count);
    CHECK(fabs(share - 0.9) < 5 * sd);
    CHECK_EQ(emu_threshold_uv(&p, 550, 250), 550000);
    CHECK_EQ(emu_threshold_uv(&p, 550, 0), 545000);
    CHECK_EQ(emu_threshold_uv(&p, 550, 850), 562000);
    CHECK_EQ(emu_threshold_uv(&p, 500, 255), 500100);
    CHECK(emu_chip_failing(&a, emu_threshold_uv(&p, 550, 0)) > emu_chip_failing(&a, emu_threshold_uv(&p, 550, 850)));
    CHECK_EQ(emu_chip_failing(&a, 1000000), 0);
    CHECK_EQ(emu_chip_failing(&a, a.worst_uv), a.count);
    emu_chip_free(&a);
}

/*
 * Expected number and variance of failing cells at a threshold (volts), integrating the block
 * offset numerically and treating weak lines at their expected counts (plus their binomial
 * variance). Cells within a block are Poisson to an excellent approximation (q << 1).
 */
static void analytic(const emu_params *p, double t, double *mean, double *var)
{
    double cells = (double)p->rows * p->bits_per_row;
    double fb = p->bitline_fraction, fw = p->wordline_fraction;
    double n00 = cells * (1 - fb) * (1 - fw), n10 = cells * fb * (1 - fw), n01 = cells * (1 - fb) * fw, n11 = cells * fb * fw;
    double e1 = 0, e2 = 0, wsum = 0, lines = 0;
    int k, steps = p->offsets == EMU_OFFSETS_NORMAL ? 4001 : 1;

    for (k = 0; k < steps; k++) {
        double o = steps == 1 ? 0 : p->offset_sigma * (-10.0 + 20.0 * k / (steps - 1));
        double w = steps == 1 ? 1 : exp(-0.5 * (o / p->offset_sigma) * (o / p->offset_sigma));
        double q00 = emu_normal_tail((t - p->mean - o) / p->sigma);
        double q10 = emu_normal_tail((t - p->mean - o - p->bitline_strength) / p->sigma);
        double q01 = emu_normal_tail((t - p->mean - o - p->wordline_strength) / p->sigma);
        double q11 = emu_normal_tail((t - p->mean - o - p->bitline_strength - p->wordline_strength) / p->sigma);
        double m = n00 * q00 + n10 * q10 + n01 * q01 + n11 * q11;
        double db = p->rows * (q10 - q00), dw = p->bits_per_row * (q01 - q00);
        e1 += w * m;
        e2 += w * m * m;
        lines += w * (p->bits_per_row * fb * (1 - fb) * db * db + p->rows * fw * (1 - fw) * dw * dw);
        wsum += w;
    }
    e1 /= wsum;
    e2 /= wsum;
    lines /= wsum;
    *mean = p->blocks * e1;
    *var = p->blocks * (e1 + (e2 - e1 * e1) + lines);
}

void test_chip_expected_count(void)
{
    static const uint32_t mv[] = { 550, 500, 600 };
    emu_params p;
    emu_chip a;
    char err[256];
    size_t k;

    emu_params_default(&p);
    CHECK_EQ(emu_chip_generate(&a, &p, err, sizeof err), 0);
    for (k = 0; k < 3; k++) {
        double mean, var;
        size_t n = emu_chip_failing(&a, emu_threshold_uv(&p, mv[k], 250));
        analytic(&p, mv[k] / 1000.0, &mean, &var);
        printf("  failing at %u mV, 25 C: %lu (expected %.1f +- %.1f)\n", (unsigned)mv[k], (unsigned long)n, mean, sqrt(var));
        CHECK(fabs((double)n - mean) <= 4 * sqrt(var) + 1);
    }
    /* The other block-offset distributions. */
    p.offsets = EMU_OFFSETS_NONE;
    emu_chip_free(&a);
    CHECK_EQ(emu_chip_generate(&a, &p, err, sizeof err), 0);
    {
        double mean, var;
        size_t n = emu_chip_failing(&a, 550000);
        analytic(&p, 0.55, &mean, &var);
        CHECK(fabs((double)n - mean) <= 4 * sqrt(var) + 1);
        CHECK_EQ(a.block_offset[17], 0);
    }
    emu_chip_free(&a);
    p.offsets = EMU_OFFSETS_TWO_CLASS;
    p.offset_weak_share = 0.25;
    p.offset_weak_offset = 0.03;
    CHECK_EQ(emu_chip_generate(&a, &p, err, sizeof err), 0);
    {
        size_t i, weak = 0, ok = 1;
        for (i = 0; i < p.blocks; i++) {
            if (a.block_offset[i] != 0 && a.block_offset[i] != 0.03)
                ok = 0;
            weak += a.block_offset[i] == 0.03;
        }
        CHECK(ok);
        CHECK(weak > 30 && weak < 100);
    }
    emu_chip_free(&a);
}

/* All differing bits of a COMPARE over [address, address + n), following next/done. */
static size_t compare_all(hb_core *c, uint16_t *id, uint32_t address, uint32_t n, uint8_t reference, uint8_t pattern,
                          uint64_t *bits, size_t cap)
{
    size_t total = 0;
    uint32_t end = address + n;
    reply *r = malloc(sizeof *r);
    int done = 0;

    while (!done) {
        uint8_t p[11];
        size_t pn = 9, at = 9;
        uint64_t expect = (uint64_t)address * 8;
        put_u32le(p, address);
        put_u32le(p + 4, end - address);
        p[8] = reference;
        if (reference == 1) {
            p[9] = 1;
            p[10] = pattern;
            pn = 11;
        }
        if (request(c, (*id)++, HB_CMD_COMPARE, p, pn, r) != HB_OK)
            break;
        while (at < r->payload_len) {
            uint64_t v = 0;
            unsigned shift = 0;
            uint8_t b;
            do {
                b = r->payload[at++];
                v |= (uint64_t)(b & 0x7F) << shift;
                shift += 7;
            } while (b & 0x80);
            if (total < cap)
                bits[total] = expect + v;
            total++;
            expect += v + 1;
        }
        done = r->payload[8];
        address = hb_get_u32(r->payload + 4);
    }
    free(r);
    return total;
}

static int set_point(hb_core *c, uint16_t *id, uint16_t mv, int16_t t)
{
    uint8_t p[6];
    reply *r = malloc(sizeof *r);
    int s;
    put_u16le(p, mv);
    put_u16le(p + 2, 0);
    hb_put_i16(p + 4, t);
    s = request(c, (*id)++, HB_CMD_SET_OP, p, 6, r);
    free(r);
    return s;
}

static int fill(hb_core *c, uint16_t *id, uint8_t value)
{
    uint8_t p[10];
    reply *r = malloc(sizeof *r);
    int s;
    put_u32le(p, 0);
    put_u32le(p + 4, 1u << 20);
    p[8] = 1;
    p[9] = value;
    s = request(c, (*id)++, HB_CMD_FILL, p, 10, r);
    free(r);
    return s;
}

static int subset(const uint64_t *a, size_t na, const uint64_t *b, size_t nb)
{
    size_t i = 0, j = 0;
    for (; i < na; i++) {
        while (j < nb && b[j] < a[i])
            j++;
        if (j == nb || b[j] != a[i])
            return 0;
    }
    return 1;
}

void test_chip_board_nesting(void)
{
    static emu_board e;
    static hb_core c;
    static uint64_t s600[200000], s550[200000], s500[200000], s0[200000];
    emu_params p;
    char err[256];
    uint16_t id = 1;
    size_t n600, n550, n500, n0, i, expect550 = 0, expect_ones500 = 0;
    int exact = 1;
    clock_t t0;
    double ms;

    emu_params_default(&p);
    CHECK_EQ(emu_board_init(&e, &p, fake_clock, NULL, NULL, err, sizeof err), 0);
    CHECK_EQ(hb_core_init(&c, &e.hal), 0);
    CHECK_EQ(fill(&c, &id, 0xFF), HB_OK);
    /* At nominal the memory reads back what was written. */
    CHECK_EQ(compare_all(&c, &id, 0, 1u << 20, 0, 0, s0, 200000), 0);
    CHECK_EQ(set_point(&c, &id, 600, 0x7FFF), HB_OK);
    n600 = compare_all(&c, &id, 0, 1u << 20, 1, 0xFF, s600, 200000);
    CHECK_EQ(set_point(&c, &id, 550, 0x7FFF), HB_OK);
    t0 = clock();
    n550 = compare_all(&c, &id, 0, 1u << 20, 0, 0, s550, 200000);
    ms = 1000.0 * (double)(clock() - t0) / CLOCKS_PER_SEC;
    printf("  COMPARE of 1 MiB at 550 mV: %lu differing bits in %.1f ms\n", (unsigned long)n550, ms);
    CHECK(ms < 2000);
    CHECK_EQ(set_point(&c, &id, 500, 0x7FFF), HB_OK);
    n500 = compare_all(&c, &id, 0, 1u << 20, 1, 0xFF, s500, 200000);
    printf("  stuck-at-0 cells seen under 0xFF: %lu at 600 mV, %lu at 550 mV, %lu at 500 mV\n", (unsigned long)n600,
           (unsigned long)n550, (unsigned long)n500);
    CHECK(n600 <= n550 && n550 <= n500 && n500 <= 200000);
    CHECK(subset(s600, n600, s550, n550));
    CHECK(subset(s550, n550, s500, n500));
    CHECK(n500 > 1000);
    /* Exactly the truth: under all-ones, the stuck-at-0 cells above the threshold. */
    for (i = 0; i < e.chip.count; i++) {
        const emu_weak_cell *w = &e.chip.cells[i];
        if (w->critical_uv > 550000 && w->stuck == 0) {
            if (expect550 >= n550 || s550[expect550] != w->cell)
                exact = 0;
            expect550++;
        }
        expect_ones500 += w->critical_uv > 500000 && w->stuck == 1;
    }
    CHECK(exact);
    CHECK_EQ(expect550, n550);
    /* Under all-zeros the stuck-at-1 cells show instead. */
    CHECK_EQ(fill(&c, &id, 0x00), HB_OK);
    n0 = compare_all(&c, &id, 0, 1u << 20, 0, 0, s0, 200000);
    CHECK_EQ(n0, expect_ones500);
    /* Non-destructive: back at nominal everything reads as written. */
    CHECK_EQ(set_point(&c, &id, 1000, 0x7FFF), HB_OK);
    CHECK_EQ(compare_all(&c, &id, 0, 1u << 20, 1, 0x00, s0, 200000), 0);
    /* Cold makes this chip weaker (tc < 0): more faults at 0 C than at 85 C. */
    CHECK_EQ(fill(&c, &id, 0xFF), HB_OK);
    CHECK_EQ(set_point(&c, &id, 550, 0), HB_OK);
    n0 = compare_all(&c, &id, 0, 1u << 20, 0, 0, s0, 200000);
    CHECK_EQ(set_point(&c, &id, 550, 850), HB_OK);
    CHECK(compare_all(&c, &id, 0, 1u << 20, 0, 0, s600, 200000) < n0);
    hb_core_reset(&c);
    emu_board_free(&e);
}

void test_chip_golden_hello_and_telemetry(void)
{
    static emu_board e;
    static hb_core c;
    static reply r;
    emu_params p;
    char err[256];
    golden *v;
    size_t n = golden_load(&v);
    const golden *g;
    int k, ok = 1;

    emu_params_default(&p);
    CHECK_EQ(emu_board_init(&e, &p, fake_clock, NULL, NULL, err, sizeof err), 0);
    CHECK_EQ(hb_core_init(&c, &e.hal), 0);
    g = golden_find(v, n, "hello-request");
    feed(&c, g->wire, g->wire_len, &r);
    g = golden_find(v, n, "hello-reply");
    CHECK_EQ(r.wire_len, g->wire_len);
    CHECK_MEM(r.wire, g->wire, g->wire_len);
    /* Measured voltage within 1 mV of the set point; current grows with the voltage. */
    for (k = 0; k < 50; k++) {
        CHECK_EQ(request(&c, (uint16_t)(100 + k), HB_CMD_GET_TELEMETRY, NULL, 0, &r), HB_OK);
        if (abs((int)hb_get_u16(r.payload + 2) - 1000) > 1 || hb_get_i16(r.payload + 8) != 250)
            ok = 0;
    }
    CHECK(ok);
    CHECK_EQ(hb_get_u32(r.payload + 4), emu_board_current_ua(&p, 1000, 250));
    CHECK_EQ(emu_board_current_ua(&p, 1000, 250), 2500);
    CHECK(emu_board_current_ua(&p, 500, 250) < emu_board_current_ua(&p, 1000, 250));
    CHECK(emu_board_current_ua(&p, 500, 850) > emu_board_current_ua(&p, 500, 250));
    free(v);
    emu_board_free(&e);
}

static int marginal_all(const emu_chip *c)
{
    size_t i;
    for (i = 0; i < c->count; i++)
        if (!c->cells[i].marginal)
            return 0;
    return 1;
}

void test_chip_transient(void)
{
    static emu_board e;
    static uint8_t ones[1u << 20], a[1u << 20], b[1u << 20];
    emu_params p;
    char err[256];
    size_t i, failing = 0, fails_a = 0, differ = 0;

    emu_params_default(&p);
    p.transient_share = 1; /* every weak cell marginal */
    p.read_failure_probability = 0.5;
    CHECK_EQ(emu_board_init(&e, &p, fake_clock, NULL, NULL, err, sizeof err), 0);
    memset(ones, 0xFF, sizeof ones);
    CHECK_EQ(e.hal.mem_write(e.hal.ctx, 0, ones, sizeof ones), 0);
    CHECK_EQ(e.hal.set_point(e.hal.ctx, 520, 0, 250), 0);
    CHECK_EQ(e.hal.mem_read(e.hal.ctx, 0, a, sizeof a), 0);
    CHECK_EQ(e.hal.mem_read(e.hal.ctx, 0, b, sizeof b), 0);
    for (i = 0; i < e.chip.count; i++) {
        const emu_weak_cell *w = &e.chip.cells[i];
        if (w->critical_uv > 520000 && w->stuck == 0) {
            int fa = !(a[w->cell / 8] >> (w->cell % 8) & 1), fb2 = !(b[w->cell / 8] >> (w->cell % 8) & 1);
            failing++;
            fails_a += fa;
            differ += fa != fb2;
        }
    }
    CHECK(failing > 1000);
    CHECK(marginal_all(&e.chip));
    /* Each read fails a marginal cell with probability 0.5: about half fail, about half change between reads. */
    CHECK(fabs((double)fails_a / failing - 0.5) < 5 * sqrt(0.25 / failing));
    CHECK(fabs((double)differ / failing - 0.5) < 5 * sqrt(0.25 / failing));
    emu_board_free(&e);
}

void test_chip_destructive(void)
{
    static emu_board e;
    static uint8_t ones[1u << 20], a[1u << 20], w[1u << 20];
    emu_params p;
    char err[256];
    size_t i, destroyed = 0, expect = 0;

    emu_params_default(&p);
    p.destructive = 1;
    CHECK_EQ(emu_board_init(&e, &p, fake_clock, NULL, NULL, err, sizeof err), 0);
    CHECK(e.board.capabilities & HB_CAP_DESTRUCTIVE);
    memset(ones, 0xFF, sizeof ones);
    CHECK_EQ(e.hal.mem_write(e.hal.ctx, 0, ones, sizeof ones), 0);
    CHECK_EQ(e.hal.set_point(e.hal.ctx, 550, 0, 250), 0);
    CHECK_EQ(e.hal.set_point(e.hal.ctx, 1000, 0, 250), 0);
    CHECK_EQ(e.hal.mem_read(e.hal.ctx, 0, a, sizeof a), 0);
    CHECK_EQ(e.hal.mem_written(e.hal.ctx, 0, w, sizeof w), 0);
    CHECK_MEM(w, ones, sizeof ones);
    for (i = 0; i < sizeof a; i++)
        {
            unsigned x = (uint8_t)~a[i];
            while (x) {
                destroyed += x & 1u;
                x >>= 1;
            }
        }
    for (i = 0; i < e.chip.count; i++)
        expect += e.chip.cells[i].critical_uv > 550000 && e.chip.cells[i].stuck == 0;
    /* Back at nominal the cells that failed at 550 mV still hold their stuck value. */
    CHECK_EQ(destroyed, expect);
    CHECK(expect > 100);
    emu_board_free(&e);
}

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    fputs(text, f);
    return fclose(f);
}

void test_profile(void)
{
    emu_params d, p;
    char err[512], a[8192], b[8192];
    FILE *fa, *fb2;
    size_t na, nb;
    static const char *path = HB_BUILD_DIR "/test-profile.conf";

    emu_params_default(&d);
    emu_params_default(&p);
    p.seed = 99;
    p.blocks = 3;
    CHECK_EQ(emu_params_load(&p, HB_PROFILE_PATH, err, sizeof err), 0);
    /* profiles/default.conf and the compiled-in defaults agree, key for key. */
    fa = tmpfile();
    fb2 = tmpfile();
    CHECK(fa != NULL && fb2 != NULL);
    if (fa != NULL && fb2 != NULL) {
        emu_params_write(&d, fa, "");
        emu_params_write(&p, fb2, "");
        rewind(fa);
        rewind(fb2);
        na = fread(a, 1, sizeof a - 1, fa);
        nb = fread(b, 1, sizeof b - 1, fb2);
        a[na] = b[nb] = '\0';
        CHECK_EQ(na, nb);
        CHECK(strcmp(a, b) == 0);
        CHECK(strstr(a, "cells.mean 0.41\n") != NULL);
        CHECK(strstr(a, "current.leakage_ua 2000\n") != NULL);
        fclose(fa);
        fclose(fb2);
    }

    CHECK_EQ(write_file(path, "# comment\n\ncells.mean 0.42 # trailing comment\n  seed   7\n"), 0);
    CHECK_EQ(emu_params_load(&p, path, err, sizeof err), 0);
    CHECK(p.mean == 0.42 && p.seed == 7);

    CHECK_EQ(write_file(path, "seed 1\n\ncells.meen 0.42\n"), 0);
    CHECK_EQ(emu_params_load(&p, path, err, sizeof err), -1);
    CHECK(strstr(err, "test-profile.conf:3") != NULL && strstr(err, "cells.meen") != NULL);
    CHECK_EQ(write_file(path, "cells.sigma abc\n"), 0);
    CHECK_EQ(emu_params_load(&p, path, err, sizeof err), -1);
    CHECK(strstr(err, ":1") != NULL && strstr(err, "cells.sigma") != NULL);
    CHECK_EQ(write_file(path, "cells.sigma -0.1\n"), 0);
    CHECK_EQ(emu_params_load(&p, path, err, sizeof err), -1);
    CHECK_EQ(write_file(path, "geometry.blocks -3\n"), 0);
    CHECK_EQ(emu_params_load(&p, path, err, sizeof err), -1);
    CHECK_EQ(write_file(path, "seed 1 2\n"), 0);
    CHECK_EQ(emu_params_load(&p, path, err, sizeof err), -1);
    CHECK_EQ(write_file(path, "seed\n"), 0);
    CHECK_EQ(emu_params_load(&p, path, err, sizeof err), -1);
    CHECK_EQ(write_file(path, "seed 1\nseed 2\n"), 0);
    CHECK_EQ(emu_params_load(&p, path, err, sizeof err), -1);
    CHECK(strstr(err, ":2") != NULL);
    CHECK_EQ(write_file(path, "block_offsets.distribution lognormal\n"), 0);
    CHECK_EQ(emu_params_load(&p, path, err, sizeof err), -1);
    CHECK_EQ(emu_params_load(&p, HB_BUILD_DIR "/no-such-profile.conf", err, sizeof err), -1);
    CHECK(strstr(err, "no-such-profile") != NULL);
    remove(path);

    emu_params_default(&p);
    p.bits_per_row = 30;
    CHECK_EQ(emu_params_check(&p, err, sizeof err), -1);
    CHECK(strstr(err, "bits_per_row") != NULL);
    emu_params_default(&p);
    p.word_bits = 24;
    CHECK_EQ(emu_params_check(&p, err, sizeof err), -1);
    emu_params_default(&p);
    p.voltage_nominal_mv = 998;
    CHECK_EQ(emu_params_check(&p, err, sizeof err), -1);
    emu_params_default(&p);
    p.temperature_step = 0;
    CHECK_EQ(emu_params_check(&p, err, sizeof err), -1);
    emu_params_default(&p);
    p.voltage_floor_mv = 50; /* nearly every cell weak */
    p.blocks = 4;
    {
        emu_chip c;
        CHECK_EQ(emu_chip_generate(&c, &p, err, sizeof err), 0);
        CHECK(c.count > 130000);
        emu_chip_free(&c);
        p.blocks = 1024; /* 33.5 million weak cells: refused before drawing */
        CHECK_EQ(emu_chip_generate(&c, &p, err, sizeof err), -1);
        CHECK(strstr(err, "weak cells") != NULL);
    }
}

void test_truth_file(void)
{
    emu_params p;
    emu_chip a;
    char err[256], line[256];
    FILE *f = tmpfile();
    size_t header = 0, data = 0, i = 0;
    int ok = 1;

    emu_params_default(&p);
    CHECK_EQ(emu_chip_generate(&a, &p, err, sizeof err), 0);
    CHECK(f != NULL);
    if (f == NULL)
        return;
    CHECK_EQ(emu_chip_write_truth(&a, f), 0);
    rewind(f);
    while (fgets(line, sizeof line, f) != NULL) {
        if (line[0] == '#') {
            header++;
            continue;
        }
        {
            unsigned long cell;
            long uv;
            unsigned stuck, marginal;
            if (sscanf(line, "%lu %ld %u %u", &cell, &uv, &stuck, &marginal) != 4 || i >= a.count ||
                cell != a.cells[i].cell || uv != a.cells[i].critical_uv || stuck != a.cells[i].stuck ||
                marginal != a.cells[i].marginal)
                ok = 0;
            i++;
            data++;
        }
    }
    fclose(f);
    CHECK(ok);
    CHECK_EQ(data, a.count);
    CHECK(header > 30);
    emu_chip_free(&a);
}
