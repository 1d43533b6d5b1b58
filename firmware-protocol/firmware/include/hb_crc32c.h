/* CRC-32C (Castagnoli): reflected polynomial 0x82F63B78, init and final xor 0xFFFFFFFF. */
#ifndef HB_CRC32C_H
#define HB_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* CRC-32C of data[0..n); hb_crc32c("123456789", 9) == 0xE3069283. */
uint32_t hb_crc32c(const uint8_t *data, size_t n);

/* Incremental form: crc = hb_crc32c_update(0xFFFFFFFF, ...) ... ; result = crc ^ 0xFFFFFFFF. */
uint32_t hb_crc32c_update(uint32_t crc, const uint8_t *data, size_t n);

#endif
