/* Consistent Overhead Byte Stuffing (Cheshire and Baker 1999), as framed in PROTOCOL.md section 1. */
#ifndef HB_COBS_H
#define HB_COBS_H

#include <stddef.h>
#include <stdint.h>

/* Worst-case encoded size of n bytes (no delimiter). */
#define HB_COBS_MAX_ENCODED(n) ((n) + (n) / 254u + 1u)

/*
 * Encodes src[0..n) into dst (no delimiter appended). Returns the encoded length, or 0 when
 * cap is too small. A run of 254 non-zero bytes is closed with code 0xFF and a new block is
 * always opened after it, so the output matches vectors/make_vectors.py byte for byte.
 * src and dst must not overlap.
 */
size_t hb_cobs_encode(const uint8_t *src, size_t n, uint8_t *dst, size_t cap);

/*
 * Decodes src[0..n) (no delimiter) into dst. dst may equal src (decoding in place is safe
 * because the output never overtakes the input). Returns the decoded length, or -1 when the
 * input is not valid COBS: a zero byte inside, or a code byte pointing past the end.
 */
long hb_cobs_decode(const uint8_t *src, size_t n, uint8_t *dst);

#endif
