#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hb_cobs.h"
#include "hb_crc32c.h"
#include "hb_wire.h"
#include "test.h"

long hex_parse(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    while (hex[0] != '\0' && hex[1] != '\0') {
        unsigned v;
        if (n >= cap || sscanf(hex, "%2x", &v) != 1)
            return -1;
        out[n++] = (uint8_t)v;
        hex += 2;
    }
    return hex[0] == '\0' ? (long)n : -1;
}

static char *next_field(char **s)
{
    char *start = *s, *bar;
    if (start == NULL)
        return NULL;
    bar = strchr(start, '|');
    if (bar != NULL) {
        *bar = '\0';
        *s = bar + 1;
    } else {
        *s = NULL;
    }
    return start;
}

size_t golden_load(golden **out)
{
    FILE *f = fopen(HB_VECTORS_PATH, "r");
    static char line[20000];
    golden *v = NULL;
    size_t n = 0, cap = 0;

    *out = NULL;
    if (f == NULL) {
        fprintf(stderr, "cannot open %s\n", HB_VECTORS_PATH);
        return 0;
    }
    while (fgets(line, sizeof line, f) != NULL) {
        char *s = line, *fields[9];
        int i;
        golden *g;
        long len;

        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '#' || line[0] == '\0')
            continue;
        for (i = 0; i < 9; i++)
            fields[i] = next_field(&s);
        if (fields[8] == NULL) {
            fprintf(stderr, "bad vector line: %s\n", line);
            n = 0;
            break;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            v = realloc(v, cap * sizeof *v);
            if (v == NULL)
                abort();
        }
        g = &v[n++];
        memset(g, 0, sizeof *g);
        snprintf(g->name, sizeof g->name, "%s", fields[0]);
        len = hex_parse(fields[1], g->wire, sizeof g->wire);
        g->wire_len = len < 0 ? 0 : (size_t)len;
        snprintf(g->result, sizeof g->result, "%s", fields[2]);
        g->has_fields = strcmp(fields[3], "-") != 0;
        if (g->has_fields) {
            g->version = (unsigned)strtoul(fields[3], NULL, 0);
            g->flags = (unsigned)strtoul(fields[4], NULL, 0);
            g->request_id = (unsigned)strtoul(fields[5], NULL, 0);
            g->command = (unsigned)strtoul(fields[6], NULL, 0);
            g->status = (unsigned)strtoul(fields[7], NULL, 0);
            len = hex_parse(fields[8], g->payload, sizeof g->payload);
            g->payload_len = len < 0 ? 0 : (size_t)len;
        }
    }
    fclose(f);
    *out = v;
    return n;
}

const golden *golden_find(const golden *v, size_t n, const char *name)
{
    size_t i;
    for (i = 0; i < n; i++)
        if (strcmp(v[i].name, name) == 0)
            return &v[i];
    fprintf(stderr, "no golden vector '%s'\n", name);
    return NULL;
}

uint32_t crc32c_bitwise(const uint8_t *data, size_t n)
{
    uint32_t crc = 0xFFFFFFFFu;
    size_t i;
    int k;
    for (i = 0; i < n; i++) {
        crc ^= data[i];
        for (k = 0; k < 8; k++)
            crc = (crc >> 1) ^ ((crc & 1u) ? 0x82F63B78u : 0u);
    }
    return crc ^ 0xFFFFFFFFu;
}

size_t put_u16le(uint8_t *p, uint16_t v)
{
    hb_put_u16(p, v);
    return 2;
}

size_t put_u32le(uint8_t *p, uint32_t v)
{
    hb_put_u32(p, v);
    return 4;
}

size_t make_request(uint8_t *wire, uint16_t id, uint8_t command, const void *payload, size_t n)
{
    return make_request_crc_xor(wire, id, command, payload, n, 0);
}

size_t make_request_crc_xor(uint8_t *wire, uint16_t id, uint8_t command, const void *payload, size_t n, uint32_t crc_xor)
{
    static uint8_t body[HB_MAX_BODY];
    hb_header h;
    size_t bn;

    h.version = 1;
    h.flags = 0;
    h.request_id = id;
    h.command = command;
    h.status = 0;
    h.length = (uint16_t)n;
    bn = hb_frame_build(body, &h, payload, n);
    hb_put_u32(body + bn - 4, hb_get_u32(body + bn - 4) ^ crc_xor);
    return hb_frame_encode(body, bn, wire, HB_MAX_WIRE);
}

void feed(hb_core *c, const uint8_t *wire, size_t n, reply *r)
{
    size_t i;

    r->got = 0;
    r->valid = 0;
    r->wire_len = 0;
    r->payload_len = 0;
    for (i = 0; i < n; i++) {
        const uint8_t *out = NULL;
        size_t len = hb_core_feed(c, wire[i], &out);
        if (len > 0) {
            r->got = 1;
            r->wire_len = len;
            memcpy(r->wire, out, len);
        }
    }
    if (r->got) {
        static uint8_t body[HB_MAX_WIRE];
        long bn;
        const uint8_t *p;
        size_t pn;

        r->valid = r->wire_len >= 2 && r->wire[r->wire_len - 1] == 0 && memchr(r->wire, 0, r->wire_len - 1) == NULL;
        bn = r->valid ? hb_cobs_decode(r->wire, r->wire_len - 1, body) : -1;
        if (bn < 0 || hb_frame_parse(body, (size_t)bn, &r->h, &p, &pn) != HB_FRAME_OK || r->h.flags != 1 ||
            crc32c_bitwise(body, (size_t)bn - 4) != hb_get_u32(body + bn - 4)) {
            r->valid = 0;
        } else {
            memcpy(r->payload, p, pn);
            r->payload_len = pn;
        }
    }
}

int request(hb_core *c, uint16_t id, uint8_t command, const void *payload, size_t n, reply *r)
{
    static uint8_t wire[HB_MAX_WIRE];
    size_t wn = make_request(wire, id, command, payload, n);

    feed(c, wire, wn, r);
    CHECK(r->got);
    CHECK(r->valid);
    if (r->got && r->valid) {
        CHECK_EQ(r->h.request_id, id);
        CHECK_EQ(r->h.command, command);
    }
    return r->got && r->valid ? r->h.status : -1;
}

/* ---- fake HAL ---- */

static int fault_applies(const fake_board *f, const fake_fault *x)
{
    return f->mv < x->fails_below_mv;
}

static int fake_read(void *ctx, uint32_t address, uint8_t *dst, uint32_t length)
{
    fake_board *f = ctx;
    size_t i;
    if (f->fail_hal)
        return -1;
    f->reads++;
    memcpy(dst, f->mem + address, length);
    if (f->invert_all_below_nominal && f->mv < f->board.voltage_nominal_mv)
        for (i = 0; i < length; i++)
            dst[i] = (uint8_t)~dst[i];
    for (i = 0; i < f->fault_count; i++) {
        const fake_fault *x = &f->faults[i];
        uint64_t byte = x->cell / 8;
        if (byte >= address && byte < (uint64_t)address + length && fault_applies(f, x)) {
            unsigned bit = (unsigned)(x->cell % 8);
            dst[byte - address] = (uint8_t)((dst[byte - address] & ~(1u << bit)) | ((unsigned)x->stuck << bit));
        }
    }
    return 0;
}

static int fake_write(void *ctx, uint32_t address, const uint8_t *src, uint32_t length)
{
    fake_board *f = ctx;
    if (f->fail_hal)
        return -1;
    f->writes++;
    f->write_bytes += length;
    memcpy(f->mem + address, src, length);
    return 0;
}

static int fake_written(void *ctx, uint32_t address, uint8_t *dst, uint32_t length)
{
    fake_board *f = ctx;
    if (f->fail_hal)
        return -1;
    memcpy(dst, f->mem + address, length);
    return 0;
}

static int fake_set_point(void *ctx, uint16_t mv, uint16_t trcd, int16_t temp)
{
    fake_board *f = ctx;
    if (f->fail_hal)
        return -1;
    f->set_points++;
    f->mv = mv;
    f->trcd = trcd;
    f->temp = temp;
    return 0;
}

static int fake_telemetry(void *ctx, uint16_t *mv, uint32_t *ua, int16_t *temp)
{
    fake_board *f = ctx;
    if (f->fail_hal)
        return -1;
    f->telemetries++;
    *mv = f->measured_mv ? f->measured_mv : f->mv;
    *ua = f->measured_ua;
    *temp = f->temp;
    return 0;
}

static uint32_t fake_now(void *ctx)
{
    return ((fake_board *)ctx)->now;
}

static void fake_event(void *ctx, hb_event ev, uint16_t id, uint8_t command, const uint8_t *body, size_t len)
{
    fake_board *f = ctx;
    (void)id;
    (void)command;
    (void)body;
    (void)len;
    if ((unsigned)ev < 16)
        f->events[ev]++;
}

void fake_init(fake_board *f, uint32_t blocks, uint32_t rows, uint32_t bits_per_row)
{
    hb_board *b = &f->board;

    memset(f, 0, sizeof *f);
    b->capabilities = HB_CAP_TEMPERATURE | HB_CAP_CURRENT | HB_CAP_COMPARE_WRITTEN | HB_CAP_EMULATED;
    b->blocks = blocks;
    b->rows = rows;
    b->bits_per_row = bits_per_row;
    b->word_bits = 32;
    b->voltage_nominal_mv = 1000;
    b->voltage_floor_mv = 500;
    b->voltage_max_mv = 1000;
    b->voltage_step_mv = 5;
    b->temperature_nominal = 250;
    b->temperature_min = 0;
    b->temperature_max = 850;
    b->temperature_step = 50;
    b->settle_ms = 2;
    b->default_lease_ms = 5000;
    b->name = "hilboard-emu 1.0.0";
    f->mem_bytes = (uint64_t)blocks * rows * bits_per_row / 8;
    f->mem = calloc((size_t)f->mem_bytes, 1);
    if (f->mem == NULL)
        abort();
    f->now = 1000000;
    f->hal.ctx = f;
    f->hal.board = b;
    f->hal.mem_read = fake_read;
    f->hal.mem_write = fake_write;
    f->hal.mem_written = fake_written;
    f->hal.set_point = fake_set_point;
    f->hal.telemetry = fake_telemetry;
    f->hal.now_ms = fake_now;
    f->hal.event = fake_event;
}

void fake_free(fake_board *f)
{
    free(f->mem);
    f->mem = NULL;
}

void fake_add_fault(fake_board *f, uint64_t cell, uint16_t fails_below_mv, uint8_t stuck)
{
    if (f->fault_count < FAKE_MAX_FAULTS) {
        f->faults[f->fault_count].cell = cell;
        f->faults[f->fault_count].fails_below_mv = fails_below_mv;
        f->faults[f->fault_count].stuck = stuck;
        f->fault_count++;
    }
}
