#include "hb_core.h"

#include <string.h>

#include "hb_crc32c.h"

static void emit(hb_core *c, hb_event ev, uint16_t id, uint8_t command, const uint8_t *body, size_t len)
{
    if (c->hal->event != NULL)
        c->hal->event(c->hal->ctx, ev, id, command, body, len);
}

static int on_grid(int32_t v, int32_t lo, int32_t hi, int32_t step, int32_t nominal)
{
    if (v < lo || v > hi)
        return 0;
    if (step == 0)
        return v == nominal;
    return (v - lo) % step == 0;
}

/* A controllable quantity: nominal inside [lo, hi], all three on the step grid. A fixed one: lo = hi = nominal, step 0. */
static int range_consistent(int controllable, int32_t nominal, int32_t lo, int32_t hi, int32_t step)
{
    if (!controllable)
        return lo == nominal && hi == nominal && step == 0;
    if (step < 0 || lo > nominal || nominal > hi)
        return 0;
    if (step == 0)
        return lo == nominal && hi == nominal;
    return (nominal - lo) % step == 0 && (hi - lo) % step == 0;
}

static int board_valid(const hb_hal *hal, uint64_t *memory_bytes)
{
    const hb_board *b = hal->board;
    uint64_t block_rows;

    if (b == NULL || hal->mem_read == NULL || hal->mem_write == NULL || hal->set_point == NULL ||
        hal->telemetry == NULL || hal->now_ms == NULL)
        return 0;
    if (((b->capabilities & HB_CAP_COMPARE_WRITTEN) != 0) != (hal->mem_written != NULL))
        return 0;
    if (b->name == NULL || strlen(b->name) > 255)
        return 0;
    if (b->blocks == 0 || b->rows == 0 || b->bits_per_row == 0 || b->bits_per_row % 8 != 0)
        return 0;
    if (b->word_bits == 0 || b->bits_per_row % b->word_bits != 0)
        return 0;
    /*
     * Byte addresses are u32 and COMPARE reports next = address + length as a u32, so the
     * last byte address plus one must fit: the memory is at most 2^32 - 1 bytes.
     */
    block_rows = (uint64_t)b->blocks * b->rows;
    if (block_rows > (UINT64_C(0xFFFFFFFF) * 8) / b->bits_per_row)
        return 0;
    *memory_bytes = block_rows * b->bits_per_row / 8;
    if (!range_consistent(1, b->voltage_nominal_mv, b->voltage_floor_mv, b->voltage_max_mv, b->voltage_step_mv))
        return 0;
    if (!range_consistent((b->capabilities & HB_CAP_TRCD) != 0, b->trcd_nominal, b->trcd_min, b->trcd_max, b->trcd_step))
        return 0;
    /* 0 in SET_OP means "nominal tRCD", so a controllable tRCD cannot have 0 as a real value. */
    if ((b->capabilities & HB_CAP_TRCD) != 0 && b->trcd_min == 0)
        return 0;
    if (!range_consistent((b->capabilities & HB_CAP_TEMPERATURE) != 0, b->temperature_nominal, b->temperature_min,
                          b->temperature_max, b->temperature_step))
        return 0;
    /* 0x7FFF in SET_OP means "nominal temperature", so it cannot be a real value. */
    if (b->temperature_max == HB_TEMPERATURE_NOMINAL)
        return 0;
    if (b->default_lease_ms < HB_LEASE_MIN_MS || b->default_lease_ms > HB_LEASE_MAX_MS)
        return 0;
    return 1;
}

static int at_nominal(const hb_core *c)
{
    const hb_board *b = c->board;
    return c->voltage_mv == b->voltage_nominal_mv && c->trcd == b->trcd_nominal &&
           c->temperature == b->temperature_nominal;
}

static int go_nominal(hb_core *c)
{
    const hb_board *b = c->board;

    if (c->hal->set_point(c->hal->ctx, b->voltage_nominal_mv, b->trcd_nominal, b->temperature_nominal) != 0)
        return -1;
    c->voltage_mv = b->voltage_nominal_mv;
    c->trcd = b->trcd_nominal;
    c->temperature = b->temperature_nominal;
    return 0;
}

int hb_core_init(hb_core *c, const hb_hal *hal)
{
    uint64_t memory_bytes = 0;

    memset(c, 0, sizeof *c);
    c->hal = hal;
    if (!board_valid(hal, &memory_bytes))
        return -1;
    c->board = hal->board;
    c->memory_bytes = memory_bytes;
    hb_decoder_init(&c->decoder);
    c->boot_ms = hal->now_ms(hal->ctx);
    return hb_core_reset(c);
}

int hb_core_reset(hb_core *c)
{
    c->cache_valid = 0;
    c->cache_len = 0;
    c->lease_ms = c->board->default_lease_ms;
    c->last_valid_ms = c->hal->now_ms(c->hal->ctx);
    c->lease_lapsed = 0;
    return go_nominal(c);
}

int hb_core_poll(hb_core *c)
{
    uint32_t now = c->hal->now_ms(c->hal->ctx);

    if (c->lease_lapsed || (uint32_t)(now - c->last_valid_ms) < c->lease_ms)
        return 0;
    if (at_nominal(c)) {
        /* Nothing to restore, so nothing to report in the telemetry flag. */
        c->lease_lapsed = 1;
        return 0;
    }
    if (go_nominal(c) != 0) {
        /* Not marked lapsed: the next poll tries again, since leaving the memory low is the worse outcome. */
        emit(c, HB_EV_HAL_ERROR, 0, 0, NULL, 0);
        return 0;
    }
    c->lease_lapsed = 1;
    c->telemetry_flags |= HB_TELEMETRY_FLAG_LEASE_EXPIRED;
    /*
     * The remembered reply may be a SET_OP whose point no longer holds: replaying it to a host
     * that retries after the expiry would have it measure at nominal while believing otherwise.
     * Running that retry again is safe, since nothing else happened in between.
     */
    c->cache_valid = 0;
    emit(c, HB_EV_LEASE_EXPIRED, 0, 0, NULL, 0);
    return 1;
}

/* ---- replies ---- */

static size_t finish_reply(hb_core *c, const hb_header *req, uint8_t status, size_t payload_len,
                           uint8_t *wire, size_t cap)
{
    size_t n;

    c->reply[0] = HB_PROTOCOL_VERSION;
    c->reply[1] = HB_FLAG_REPLY;
    hb_put_u16(c->reply + 2, req->request_id);
    c->reply[4] = req->command;
    c->reply[5] = status;
    n = hb_frame_seal(c->reply, payload_len);
    return hb_frame_encode(c->reply, n, wire, cap);
}

static size_t error_reply(hb_core *c, const hb_header *req, uint8_t status, size_t payload_len, const uint8_t **reply)
{
    size_t n = finish_reply(c, req, status, payload_len, c->error_wire, sizeof c->error_wire);
    *reply = c->error_wire;
    return n;
}

static size_t put_version_range(hb_core *c)
{
    c->reply[HB_HEADER_SIZE] = HB_VERSION_MIN;
    c->reply[HB_HEADER_SIZE + 1] = HB_VERSION_MAX;
    return 2;
}

/* ---- commands; each returns a status and sets *len to the OK payload length ---- */

static int range_ok(const hb_core *c, uint32_t address, uint64_t length)
{
    return (uint64_t)address + length <= c->memory_bytes;
}

static uint8_t cmd_hello(hb_core *c, const uint8_t *p, size_t pn, size_t *len)
{
    const hb_board *b = c->board;
    uint8_t *o = c->reply + HB_HEADER_SIZE;
    size_t name_len;

    if (pn != 2)
        return HB_BAD_LENGTH;
    if (p[0] > p[1] || p[0] > HB_VERSION_MAX || p[1] < HB_VERSION_MIN) {
        *len = put_version_range(c);
        return HB_BAD_VERSION;
    }
    c->telemetry_flags &= (uint8_t)~HB_TELEMETRY_FLAG_LEASE_EXPIRED;
    o[0] = (uint8_t)(p[1] < HB_VERSION_MAX ? p[1] : HB_VERSION_MAX);
    o[1] = HB_VERSION_MIN;
    hb_put_u16(o + 2, HB_MAX_PAYLOAD);
    hb_put_u32(o + 4, b->capabilities);
    hb_put_u32(o + 8, b->blocks);
    hb_put_u32(o + 12, b->rows);
    hb_put_u32(o + 16, b->bits_per_row);
    hb_put_u16(o + 20, b->word_bits);
    hb_put_u16(o + 22, b->voltage_nominal_mv);
    hb_put_u16(o + 24, b->voltage_floor_mv);
    hb_put_u16(o + 26, b->voltage_max_mv);
    hb_put_u16(o + 28, b->voltage_step_mv);
    hb_put_u16(o + 30, b->trcd_nominal);
    hb_put_u16(o + 32, b->trcd_min);
    hb_put_u16(o + 34, b->trcd_max);
    hb_put_u16(o + 36, b->trcd_step);
    hb_put_i16(o + 38, b->temperature_nominal);
    hb_put_i16(o + 40, b->temperature_min);
    hb_put_i16(o + 42, b->temperature_max);
    hb_put_i16(o + 44, b->temperature_step);
    hb_put_u16(o + 46, b->settle_ms);
    hb_put_u32(o + 48, c->lease_ms);
    name_len = strlen(b->name);
    o[52] = (uint8_t)name_len;
    memcpy(o + 53, b->name, name_len);
    *len = 53 + name_len;
    return HB_OK;
}

static uint8_t cmd_set_op(hb_core *c, const uint8_t *p, size_t pn, size_t *len)
{
    const hb_board *b = c->board;
    uint16_t v, trcd;
    int16_t t;

    if (pn != 6)
        return HB_BAD_LENGTH;
    v = hb_get_u16(p);
    trcd = hb_get_u16(p + 2);
    t = hb_get_i16(p + 4);
    if (v < b->voltage_floor_mv)
        return HB_VOLTAGE_FLOOR;
    if (!on_grid(v, b->voltage_floor_mv, b->voltage_max_mv, b->voltage_step_mv, b->voltage_nominal_mv))
        return HB_BAD_ARGUMENT;
    if (trcd == HB_TRCD_NOMINAL)
        trcd = b->trcd_nominal;
    else if (!on_grid(trcd, b->trcd_min, b->trcd_max, b->trcd_step, b->trcd_nominal))
        return HB_BAD_ARGUMENT;
    if (t == HB_TEMPERATURE_NOMINAL)
        t = b->temperature_nominal;
    else if (!on_grid(t, b->temperature_min, b->temperature_max, b->temperature_step, b->temperature_nominal))
        return HB_BAD_ARGUMENT;
    if (c->hal->set_point(c->hal->ctx, v, trcd, t) != 0)
        return HB_INTERNAL;
    c->voltage_mv = v;
    c->trcd = trcd;
    c->temperature = t;
    hb_put_u16(c->reply + HB_HEADER_SIZE, v);
    hb_put_u16(c->reply + HB_HEADER_SIZE + 2, trcd);
    hb_put_i16(c->reply + HB_HEADER_SIZE + 4, t);
    *len = 6;
    return HB_OK;
}

static uint8_t cmd_telemetry(hb_core *c, size_t pn, size_t *len)
{
    uint8_t *o = c->reply + HB_HEADER_SIZE;
    uint16_t mv = 0;
    uint32_t ua = 0;
    int16_t t = 0;

    if (pn != 0)
        return HB_BAD_LENGTH;
    if (c->hal->telemetry(c->hal->ctx, &mv, &ua, &t) != 0)
        return HB_INTERNAL;
    if ((c->board->capabilities & HB_CAP_CURRENT) == 0)
        ua = 0;
    hb_put_u16(o, c->voltage_mv);
    hb_put_u16(o + 2, mv);
    hb_put_u32(o + 4, ua);
    hb_put_i16(o + 8, t);
    hb_put_u16(o + 10, c->trcd);
    hb_put_u32(o + 12, (uint32_t)(c->hal->now_ms(c->hal->ctx) - c->boot_ms));
    hb_put_u32(o + 16, c->lease_left_at_request);
    o[20] = c->telemetry_flags;
    *len = 21;
    return HB_OK;
}

static uint8_t cmd_write(hb_core *c, const uint8_t *p, size_t pn)
{
    uint32_t address;

    if (pn < 5)
        return HB_BAD_LENGTH;
    address = hb_get_u32(p);
    if (!range_ok(c, address, pn - 4))
        return HB_ADDRESS_RANGE;
    return c->hal->mem_write(c->hal->ctx, address, p + 4, (uint32_t)(pn - 4)) == 0 ? HB_OK : HB_INTERNAL;
}

static uint8_t cmd_read(hb_core *c, const uint8_t *p, size_t pn, size_t *len)
{
    uint32_t address;
    uint16_t n;

    if (pn != 6)
        return HB_BAD_LENGTH;
    address = hb_get_u32(p);
    n = hb_get_u16(p + 4);
    if (n == 0)
        return HB_ADDRESS_RANGE;
    if (n > HB_MAX_PAYLOAD)
        return HB_BAD_ARGUMENT;
    if (!range_ok(c, address, n))
        return HB_ADDRESS_RANGE;
    if (c->hal->mem_read(c->hal->ctx, address, c->reply + HB_HEADER_SIZE, n) != 0)
        return HB_INTERNAL;
    *len = n;
    return HB_OK;
}

static uint8_t cmd_fill(hb_core *c, const uint8_t *p, size_t pn)
{
    uint32_t address, n, unit, i;
    uint8_t pl;
    uint64_t pos, end;

    if (pn < 9)
        return HB_BAD_LENGTH;
    address = hb_get_u32(p);
    n = hb_get_u32(p + 4);
    pl = p[8];
    if (pl == 0 || pl > HB_MAX_PATTERN)
        return HB_BAD_ARGUMENT;
    if (pn != 9u + pl)
        return HB_BAD_LENGTH;
    if (!range_ok(c, address, n))
        return HB_ADDRESS_RANGE;
    /* A whole number of patterns per chunk keeps every chunk starting at pattern phase 0. */
    unit = pl * (HB_CORE_CHUNK / pl);
    for (i = 0; i < unit; i++)
        c->chunk_ref[i] = p[9 + i % pl];
    end = (uint64_t)address + n;
    for (pos = address; pos < end; pos += unit) {
        uint32_t k = end - pos < unit ? (uint32_t)(end - pos) : unit;
        if (c->hal->mem_write(c->hal->ctx, (uint32_t)pos, c->chunk_ref, k) != 0)
            return HB_INTERNAL;
    }
    return HB_OK;
}

static size_t leb128_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static size_t leb128_put(uint8_t *o, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        o[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    o[n++] = (uint8_t)v;
    return n;
}

static uint8_t cmd_compare(hb_core *c, const uint8_t *p, size_t pn, size_t *len)
{
    const size_t cap = HB_MAX_PAYLOAD - HB_COMPARE_REPLY_HEADER;
    uint8_t *head = c->reply + HB_HEADER_SIZE;
    uint8_t *out = head + HB_COMPARE_REPLY_HEADER;
    uint32_t address, n, count = 0;
    uint8_t reference, pl = 0;
    const uint8_t *pattern = NULL;
    uint64_t pos, end, next, expect;
    size_t used = 0;
    int done = 1;

    if (pn < 9)
        return HB_BAD_LENGTH;
    address = hb_get_u32(p);
    n = hb_get_u32(p + 4);
    reference = p[8];
    if (reference == 0) {
        if (pn != 9)
            return HB_BAD_LENGTH;
        if (c->hal->mem_written == NULL)
            return HB_BAD_ARGUMENT;
    } else if (reference == 1) {
        if (pn < 10)
            return HB_BAD_LENGTH;
        pl = p[9];
        if (pl == 0 || pl > HB_MAX_PATTERN)
            return HB_BAD_ARGUMENT;
        if (pn != 10u + pl)
            return HB_BAD_LENGTH;
        pattern = p + 10;
    } else {
        return HB_BAD_ARGUMENT;
    }
    if (n == 0 || !range_ok(c, address, n))
        return HB_ADDRESS_RANGE;

    end = (uint64_t)address + n;
    next = end;
    expect = (uint64_t)address * 8; /* the bit a gap of 0 would name */
    for (pos = address; pos < end && done; pos += HB_CORE_CHUNK) {
        uint32_t k = end - pos < HB_CORE_CHUNK ? (uint32_t)(end - pos) : HB_CORE_CHUNK;
        uint32_t i;

        if (c->hal->mem_read(c->hal->ctx, (uint32_t)pos, c->chunk_read, k) != 0)
            return HB_INTERNAL;
        if (reference == 0) {
            if (c->hal->mem_written(c->hal->ctx, (uint32_t)pos, c->chunk_ref, k) != 0)
                return HB_INTERNAL;
        } else {
            uint32_t phase = (uint32_t)((pos - address) % pl);
            for (i = 0; i < k; i++)
                c->chunk_ref[i] = pattern[(phase + i) % pl];
        }
        for (i = 0; i < k; i++) {
            uint8_t d = (uint8_t)(c->chunk_read[i] ^ c->chunk_ref[i]);
            uint64_t base, e;
            size_t need = 0;
            unsigned bit;

            if (d == 0)
                continue;
            base = (pos + i) * 8;
            e = expect;
            for (bit = 0; bit < 8; bit++) {
                if (d & (1u << bit)) {
                    need += leb128_size(base + bit - e);
                    e = base + bit + 1;
                }
            }
            if (used + need > cap) {
                /* Only whole bytes go into a reply, so the host can resume exactly at next. */
                next = pos + i;
                done = 0;
                break;
            }
            for (bit = 0; bit < 8; bit++) {
                if (d & (1u << bit)) {
                    used += leb128_put(out + used, base + bit - expect);
                    expect = base + bit + 1;
                    count++;
                }
            }
        }
    }
    hb_put_u32(head, count);
    hb_put_u32(head + 4, (uint32_t)next);
    head[8] = (uint8_t)done;
    *len = HB_COMPARE_REPLY_HEADER + used;
    return HB_OK;
}

static uint8_t cmd_lease(hb_core *c, const uint8_t *p, size_t pn, size_t *len)
{
    uint32_t ms;

    if (pn != 4)
        return HB_BAD_LENGTH;
    ms = hb_get_u32(p);
    if (ms < HB_LEASE_MIN_MS || ms > HB_LEASE_MAX_MS)
        return HB_BAD_ARGUMENT;
    c->lease_ms = ms;
    c->telemetry_flags &= (uint8_t)~HB_TELEMETRY_FLAG_LEASE_EXPIRED;
    hb_put_u32(c->reply + HB_HEADER_SIZE, ms);
    *len = 4;
    return HB_OK;
}

static uint8_t execute(hb_core *c, const hb_header *h, const uint8_t *p, size_t pn, size_t *len)
{
    *len = 0;
    switch (h->command) {
    case HB_CMD_HELLO:
        return cmd_hello(c, p, pn, len);
    case HB_CMD_SET_OP:
        return cmd_set_op(c, p, pn, len);
    case HB_CMD_GET_TELEMETRY:
        return cmd_telemetry(c, pn, len);
    case HB_CMD_WRITE:
        return cmd_write(c, p, pn);
    case HB_CMD_READ:
        return cmd_read(c, p, pn, len);
    case HB_CMD_FILL:
        return cmd_fill(c, p, pn);
    case HB_CMD_COMPARE:
        return cmd_compare(c, p, pn, len);
    case HB_CMD_LEASE:
        return cmd_lease(c, p, pn, len);
    case HB_CMD_RESET:
        if (pn != 0)
            return HB_BAD_LENGTH;
        return hb_core_reset(c) == 0 ? HB_OK : HB_INTERNAL;
    default:
        return HB_UNKNOWN_COMMAND;
    }
}

static size_t handle_body(hb_core *c, const uint8_t *body, size_t n, const uint8_t **reply)
{
    hb_header h;
    const uint8_t *p;
    size_t pn, len, wire;
    uint8_t status;
    uint32_t now, elapsed;
    hb_frame_result r;

    /* A lease that ran out while nobody polled ends before this request is looked at. */
    (void)hb_core_poll(c);
    r = hb_frame_parse(body, n, &h, &p, &pn);
    if (r == HB_FRAME_GARBAGE) {
        emit(c, HB_EV_GARBAGE, 0, 0, NULL, 0);
        return 0;
    }
    /*
     * Checked before the CRC: answering something that looks like a reply (our own echo, a
     * second board) could start an exchange nobody asked for; the host retries on timeout.
     */
    if (h.flags != 0) {
        emit(c, HB_EV_NOT_REQUEST, h.request_id, h.command, NULL, 0);
        return 0;
    }
    if (r == HB_FRAME_BAD_CRC) {
        /*
         * A header whose CRC failed may carry a damaged request id: echoed, it could name no
         * request the host waits for and be dropped as stale. Id 0, which no host uses, says
         * "the request you just sent", so the host resends at once instead of timing out.
         */
        emit(c, HB_EV_BAD_CRC, h.request_id, h.command, NULL, 0);
        h.request_id = 0;
        return error_reply(c, &h, HB_BAD_CRC, 0, reply);
    }
    if (r == HB_FRAME_BAD_LENGTH) {
        emit(c, HB_EV_BAD_LENGTH, h.request_id, h.command, NULL, 0);
        return error_reply(c, &h, HB_BAD_LENGTH, 0, reply);
    }
    if (h.version != HB_PROTOCOL_VERSION) {
        emit(c, HB_EV_BAD_VERSION, h.request_id, h.command, NULL, 0);
        return error_reply(c, &h, HB_BAD_VERSION, put_version_range(c), reply);
    }

    emit(c, HB_EV_REQUEST, h.request_id, h.command, body, n);
    now = c->hal->now_ms(c->hal->ctx);
    elapsed = now - c->last_valid_ms;
    c->lease_left_at_request = c->lease_lapsed || elapsed >= c->lease_ms ? 0 : c->lease_ms - elapsed;
    c->last_valid_ms = now;
    c->lease_lapsed = 0;

    if (c->cache_valid && c->cache_id == h.request_id && c->cache_command == h.command) {
        emit(c, HB_EV_REPLAYED, h.request_id, h.command, NULL, 0);
        *reply = c->cache_wire;
        return c->cache_len;
    }

    status = execute(c, &h, p, pn, &len);
    if (status == HB_INTERNAL)
        emit(c, HB_EV_HAL_ERROR, h.request_id, h.command, NULL, 0);
    if (status != HB_OK && status != HB_BAD_VERSION)
        len = 0;
    if (status == HB_BAD_LENGTH || status == HB_BAD_VERSION || status == HB_BUSY)
        return error_reply(c, &h, status, len, reply); /* not executed, so not remembered */

    wire = finish_reply(c, &h, status, len, c->cache_wire, sizeof c->cache_wire);
    /*
     * RESET forgets the cache, its own reply included: with a single remembered reply that is
     * the only way "forgets" can mean anything, and running a retried RESET again is harmless.
     */
    c->cache_valid = h.command != HB_CMD_RESET;
    c->cache_id = h.request_id;
    c->cache_command = h.command;
    c->cache_len = wire;
    *reply = c->cache_wire;
    return wire;
}

size_t hb_core_feed(hb_core *c, uint8_t byte, const uint8_t **reply)
{
    const uint8_t *body = NULL;
    size_t n = 0;

    switch (hb_decoder_push(&c->decoder, byte, &body, &n)) {
    case HB_DEC_FRAME:
        return handle_body(c, body, n, reply);
    case HB_DEC_GARBAGE:
        emit(c, HB_EV_GARBAGE, 0, 0, NULL, 0);
        return 0;
    case HB_DEC_TOO_LONG:
        emit(c, HB_EV_TOO_LONG, 0, 0, NULL, 0);
        return 0;
    case HB_DEC_NONE:
    default:
        return 0;
    }
}
