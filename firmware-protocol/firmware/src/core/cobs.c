#include "hb_cobs.h"

size_t hb_cobs_encode(const uint8_t *src, size_t n, uint8_t *dst, size_t cap)
{
    size_t out = 1; /* dst[code_at] is reserved for the current block's code byte */
    size_t code_at = 0;
    uint8_t code = 1;
    size_t i;

    if (cap < 1)
        return 0;
    for (i = 0; i < n; i++) {
        if (src[i] == 0) {
            dst[code_at] = code;
            if (out >= cap)
                return 0;
            code_at = out++;
            code = 1;
        } else {
            if (out >= cap)
                return 0;
            dst[out++] = src[i];
            code++;
            if (code == 0xFF) {
                dst[code_at] = code;
                if (out >= cap)
                    return 0;
                code_at = out++;
                code = 1;
            }
        }
    }
    dst[code_at] = code;
    return out;
}

long hb_cobs_decode(const uint8_t *src, size_t n, uint8_t *dst)
{
    size_t in = 0, out = 0;

    while (in < n) {
        uint8_t code = src[in];
        size_t k;

        if (code == 0 || in + code > n)
            return -1;
        in++;
        for (k = 1; k < code; k++) {
            if (src[in] == 0)
                return -1;
            dst[out++] = src[in++];
        }
        /* A block shorter than 254 data bytes stands for a zero, except at the very end. */
        if (code != 0xFF && in < n)
            dst[out++] = 0;
    }
    return (long)out;
}
