/* Frame bodies (header, payload, CRC) and the streaming frame decoder of PROTOCOL.md section 1. */
#ifndef HB_FRAME_H
#define HB_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "hb_wire.h"

typedef struct hb_header {
    uint8_t version;
    uint8_t flags;
    uint16_t request_id;
    uint8_t command;
    uint8_t status;
    uint16_t length; /* as read from the header; may disagree with the payload (bad length) */
} hb_header;

typedef enum hb_frame_result {
    HB_FRAME_OK = 0,
    HB_FRAME_BAD_CRC,    /* header readable, CRC wrong */
    HB_FRAME_BAD_LENGTH, /* CRC right, length field disagrees with the body size */
    HB_FRAME_GARBAGE     /* body shorter than 12 or longer than 4108 bytes */
} hb_frame_result;

/*
 * Checks a decoded body. For every result but GARBAGE, *h holds the header as read and
 * payload/payload_len the bytes between header and CRC. The CRC is checked before the length
 * field: a body whose CRC fails cannot be trusted to say anything about its own length.
 */
hb_frame_result hb_frame_parse(const uint8_t *body, size_t n, hb_header *h,
                               const uint8_t **payload, size_t *payload_len);

/* Writes header (length field = n), payload and CRC to out. Returns the body size, 0 if n > 4096. */
size_t hb_frame_build(uint8_t *out, const hb_header *h, const uint8_t *payload, size_t n);

/* Stamps the length field and CRC of a body whose header and payload are already in out. */
size_t hb_frame_seal(uint8_t *out, size_t payload_len);

/* COBS-encodes a body and appends the delimiter. Returns the wire size, 0 if cap is too small. */
size_t hb_frame_encode(const uint8_t *body, size_t n, uint8_t *wire, size_t cap);

typedef enum hb_decode_event {
    HB_DEC_NONE = 0, /* byte taken, no frame complete yet */
    HB_DEC_FRAME,    /* a body of 12..4108 bytes is ready */
    HB_DEC_GARBAGE,  /* a frame ended but was empty, invalid COBS, or of impossible size */
    HB_DEC_TOO_LONG  /* more than 4125 bytes without a delimiter: dropped, skipping to the next 0x00 */
} hb_decode_event;

typedef struct hb_decoder {
    uint8_t buf[HB_MAX_ENCODED];
    size_t len;
    int skipping; /* after too long: discard until the next delimiter */
} hb_decoder;

void hb_decoder_init(hb_decoder *d);

/*
 * Feeds one received byte. On HB_DEC_FRAME, *body and *body_len give the decoded body, which
 * lives in d->buf and stays valid until the next call.
 */
hb_decode_event hb_decoder_push(hb_decoder *d, uint8_t byte, const uint8_t **body, size_t *body_len);

#endif
