#include "hb_frame.h"

#include <string.h>

#include "hb_cobs.h"
#include "hb_crc32c.h"

hb_frame_result hb_frame_parse(const uint8_t *body, size_t n, hb_header *h,
                               const uint8_t **payload, size_t *payload_len)
{
    uint32_t crc;

    if (n < HB_MIN_BODY || n > HB_MAX_BODY)
        return HB_FRAME_GARBAGE;
    h->version = body[0];
    h->flags = body[1];
    h->request_id = hb_get_u16(body + 2);
    h->command = body[4];
    h->status = body[5];
    h->length = hb_get_u16(body + 6);
    *payload = body + HB_HEADER_SIZE;
    *payload_len = n - HB_MIN_BODY;
    crc = hb_crc32c(body, n - HB_CRC_SIZE);
    if (crc != hb_get_u32(body + n - HB_CRC_SIZE))
        return HB_FRAME_BAD_CRC;
    if (h->length != *payload_len)
        return HB_FRAME_BAD_LENGTH;
    return HB_FRAME_OK;
}

size_t hb_frame_seal(uint8_t *out, size_t payload_len)
{
    if (payload_len > HB_MAX_PAYLOAD)
        return 0;
    hb_put_u16(out + 6, (uint16_t)payload_len);
    hb_put_u32(out + HB_HEADER_SIZE + payload_len, hb_crc32c(out, HB_HEADER_SIZE + payload_len));
    return HB_MIN_BODY + payload_len;
}

size_t hb_frame_build(uint8_t *out, const hb_header *h, const uint8_t *payload, size_t n)
{
    if (n > HB_MAX_PAYLOAD)
        return 0;
    out[0] = h->version;
    out[1] = h->flags;
    hb_put_u16(out + 2, h->request_id);
    out[4] = h->command;
    out[5] = h->status;
    if (n > 0)
        memmove(out + HB_HEADER_SIZE, payload, n);
    return hb_frame_seal(out, n);
}

size_t hb_frame_encode(const uint8_t *body, size_t n, uint8_t *wire, size_t cap)
{
    size_t m;

    if (cap < 2)
        return 0;
    m = hb_cobs_encode(body, n, wire, cap - 1);
    if (m == 0)
        return 0;
    wire[m] = 0;
    return m + 1;
}

void hb_decoder_init(hb_decoder *d)
{
    d->len = 0;
    d->skipping = 0;
}

hb_decode_event hb_decoder_push(hb_decoder *d, uint8_t byte, const uint8_t **body, size_t *body_len)
{
    long n;

    if (byte != 0) {
        if (d->skipping)
            return HB_DEC_NONE;
        if (d->len == HB_MAX_ENCODED) {
            d->len = 0;
            d->skipping = 1;
            return HB_DEC_TOO_LONG;
        }
        d->buf[d->len++] = byte;
        return HB_DEC_NONE;
    }
    if (d->skipping) {
        /* The delimiter that ends an overlong frame is where the receiver is back in step. */
        d->skipping = 0;
        return HB_DEC_NONE;
    }
    if (d->len == 0)
        return HB_DEC_GARBAGE;
    n = hb_cobs_decode(d->buf, d->len, d->buf);
    d->len = 0;
    if (n < (long)HB_MIN_BODY || n > (long)HB_MAX_BODY)
        return HB_DEC_GARBAGE;
    *body = d->buf;
    *body_len = (size_t)n;
    return HB_DEC_FRAME;
}
