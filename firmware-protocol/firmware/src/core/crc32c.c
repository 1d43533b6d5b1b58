#include "hb_crc32c.h"

/*
 * Half-byte table: 64 bytes of constants instead of 1 KiB, which matters more on a small
 * MCU than the second lookup per byte (a 4 KiB frame still takes well under a millisecond).
 * Entry i is the CRC register after shifting the nibble i through the reflected polynomial.
 */
static const uint32_t crc32c_nibble[16] = {
    0x00000000u, 0x105EC76Fu, 0x20BD8EDEu, 0x30E349B1u,
    0x417B1DBCu, 0x5125DAD3u, 0x61C69362u, 0x7198540Du,
    0x82F63B78u, 0x92A8FC17u, 0xA24BB5A6u, 0xB21572C9u,
    0xC38D26C4u, 0xD3D3E1ABu, 0xE330A81Au, 0xF36E6F75u
};

uint32_t hb_crc32c_update(uint32_t crc, const uint8_t *data, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        crc ^= data[i];
        crc = (crc >> 4) ^ crc32c_nibble[crc & 0x0Fu];
        crc = (crc >> 4) ^ crc32c_nibble[crc & 0x0Fu];
    }
    return crc;
}

uint32_t hb_crc32c(const uint8_t *data, size_t n)
{
    return hb_crc32c_update(0xFFFFFFFFu, data, n) ^ 0xFFFFFFFFu;
}
