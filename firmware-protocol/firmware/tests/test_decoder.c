/* The streaming frame decoder: garbage between frames, truncation, flipped bits, overlong frames. */
#include <stdlib.h>
#include <string.h>

#include "hb_frame.h"
#include "test.h"
#include "tests.h"
#include "util.h"

typedef struct collected {
    size_t frames, garbage, too_long, ok;
    uint16_t ids[64];
} collected;

static void push_all(hb_decoder *d, const uint8_t *bytes, size_t n, collected *c)
{
    size_t i;
    for (i = 0; i < n; i++) {
        const uint8_t *body;
        size_t len;
        switch (hb_decoder_push(d, bytes[i], &body, &len)) {
        case HB_DEC_FRAME: {
            hb_header h;
            const uint8_t *p;
            size_t pn;
            c->frames++;
            if (hb_frame_parse(body, len, &h, &p, &pn) == HB_FRAME_OK) {
                if (c->ok < 64)
                    c->ids[c->ok] = h.request_id;
                c->ok++;
            }
            break;
        }
        case HB_DEC_GARBAGE:
            c->garbage++;
            break;
        case HB_DEC_TOO_LONG:
            c->too_long++;
            break;
        case HB_DEC_NONE:
            break;
        }
    }
}

void test_decoder_stream(void)
{
    static uint8_t stream[40000];
    uint8_t f1[HB_MAX_WIRE], f2[HB_MAX_WIRE], pl[300];
    size_t n1, n2, n = 0, i;
    hb_decoder d;
    collected c;
    static const uint8_t junk[] = { 0x55, 0x13, 0x00, 0x02, 0xFF, 0x00, 0x00, 0x07, 0x07 };

    for (i = 0; i < sizeof pl; i++)
        pl[i] = (uint8_t)(i * 13);
    n1 = make_request(f1, 101, 0x04, pl, sizeof pl);
    n2 = make_request(f2, 102, 0x03, NULL, 0);

    /* Frames back to back, with garbage before, between and a bare delimiter run. */
    memcpy(stream + n, junk, sizeof junk);
    n += sizeof junk;
    stream[n++] = 0;
    memcpy(stream + n, f1, n1);
    n += n1;
    memcpy(stream + n, junk, sizeof junk);
    n += sizeof junk;
    /* The junk ends in non-zero bytes: they run into f2, which is therefore lost ... */
    memcpy(stream + n, f2, n2);
    n += n2;
    /* ... but the next f2 after a delimiter is received. */
    stream[n++] = 0;
    memcpy(stream + n, f2, n2);
    n += n2;
    memset(&c, 0, sizeof c);
    hb_decoder_init(&d);
    push_all(&d, stream, n, &c);
    CHECK_EQ(c.ok, 2);
    CHECK_EQ(c.ids[0], 101);
    CHECK_EQ(c.ids[1], 102);
    CHECK_EQ(c.too_long, 0);

    /* Fed in one go or byte by byte makes no difference; a truncated frame followed by a good one. */
    memset(&c, 0, sizeof c);
    hb_decoder_init(&d);
    push_all(&d, f1, n1 / 2, &c);
    stream[0] = 0; /* the line drops the rest: the receiver sees a delimiter */
    push_all(&d, stream, 1, &c);
    push_all(&d, f1, n1, &c);
    CHECK_EQ(c.ok, 1);
    CHECK_EQ(c.frames + c.garbage, 2);

    /* Every single-bit flip of a frame is rejected: by COBS, size or CRC. */
    {
        size_t accepted = 0, bit;
        for (bit = 0; bit < (n1 - 1) * 8; bit++) {
            uint8_t tmp[HB_MAX_WIRE];
            memcpy(tmp, f1, n1);
            tmp[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            memset(&c, 0, sizeof c);
            hb_decoder_init(&d);
            push_all(&d, tmp, n1, &c);
            stream[0] = 0;
            push_all(&d, stream, 1, &c); /* flush a frame the flip may have left open */
            accepted += c.ok;
        }
        CHECK_EQ(accepted, 0);
    }

    /* Every truncation is rejected. */
    {
        size_t cut, accepted = 0;
        for (cut = 0; cut < n1 - 1; cut++) {
            memset(&c, 0, sizeof c);
            hb_decoder_init(&d);
            push_all(&d, f1, cut, &c);
            stream[0] = 0;
            push_all(&d, stream, 1, &c);
            accepted += c.ok;
        }
        CHECK_EQ(accepted, 0);
    }
}

void test_decoder_too_long(void)
{
    static uint8_t big[HB_MAX_ENCODED + 100];
    uint8_t f[HB_MAX_WIRE], zero = 0, pl[HB_MAX_PAYLOAD];
    hb_decoder d;
    collected c;
    size_t n, i;

    /* Exactly 4125 encoded bytes is the largest legal frame and is accepted. */
    for (i = 0; i < sizeof pl; i++)
        pl[i] = (uint8_t)(i % 255 + 1);
    n = make_request(f, 7, 0x04, pl, sizeof pl);
    CHECK_EQ(n, HB_MAX_WIRE);
    memset(&c, 0, sizeof c);
    hb_decoder_init(&d);
    push_all(&d, f, n, &c);
    CHECK_EQ(c.ok, 1);
    CHECK_EQ(c.too_long, 0);

    /* 4126 bytes without a delimiter: dropped; everything up to the next 0x00 is discarded. */
    memset(big, 0x01, sizeof big);
    memset(&c, 0, sizeof c);
    hb_decoder_init(&d);
    push_all(&d, big, HB_MAX_ENCODED, &c);
    CHECK_EQ(c.too_long, 0);
    push_all(&d, big, 1, &c);
    CHECK_EQ(c.too_long, 1);
    /* A whole valid frame inside the overlong run is still skipped (no delimiter before it). */
    push_all(&d, f, n - 1, &c);
    CHECK_EQ(c.ok, 0);
    push_all(&d, &zero, 1, &c); /* resync: nothing reported for the skipped tail */
    CHECK_EQ(c.frames, 0);
    CHECK_EQ(c.garbage, 0);
    push_all(&d, f, n, &c);
    CHECK_EQ(c.ok, 1);
    CHECK_EQ(c.too_long, 1);

    /* A very long run only reports too long once. */
    memset(&c, 0, sizeof c);
    hb_decoder_init(&d);
    for (i = 0; i < 5; i++)
        push_all(&d, big, sizeof big, &c);
    CHECK_EQ(c.too_long, 1);
    push_all(&d, &zero, 1, &c);
    push_all(&d, f, n, &c);
    CHECK_EQ(c.ok, 1);
}

void test_decoder_sizes(void)
{
    /* Bodies of 11 and 4109 bytes are garbage; 12 and 4108 are frames. */
    static uint8_t body[HB_MAX_BODY + 2], wire[HB_MAX_WIRE + 4];
    hb_decoder d;
    collected c;
    size_t sizes[4] = { 11, 12, HB_MAX_BODY, HB_MAX_BODY + 1 };
    size_t i, k;

    for (i = 0; i < sizeof body; i++)
        body[i] = (uint8_t)(i % 251 + 1);
    for (k = 0; k < 4; k++) {
        size_t wn = hb_frame_encode(body, sizes[k], wire, sizeof wire);
        CHECK(wn > 0);
        memset(&c, 0, sizeof c);
        hb_decoder_init(&d);
        push_all(&d, wire, wn, &c);
        if (sizes[k] == 11)
            CHECK_EQ(c.garbage, 1);
        else if (sizes[k] == HB_MAX_BODY + 1)
            CHECK_EQ(c.garbage + c.too_long, 1);
        else
            CHECK_EQ(c.frames, 1);
    }
}
