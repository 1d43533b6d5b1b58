/* Constants of the HilBench board protocol, version 1 (PROTOCOL.md). */
#ifndef HB_WIRE_H
#define HB_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define HB_PROTOCOL_VERSION 1u
#define HB_VERSION_MIN 1u
#define HB_VERSION_MAX 1u

#define HB_HEADER_SIZE 8u
#define HB_CRC_SIZE 4u
#define HB_MAX_PAYLOAD 4096u
#define HB_MIN_BODY (HB_HEADER_SIZE + HB_CRC_SIZE)               /* 12 */
#define HB_MAX_BODY (HB_HEADER_SIZE + HB_MAX_PAYLOAD + HB_CRC_SIZE) /* 4108 */
/* COBS adds one code byte per started run of 254 bytes: 4108 + 17. */
#define HB_MAX_ENCODED 4125u
/* Encoded body plus the 0x00 delimiter. */
#define HB_MAX_WIRE (HB_MAX_ENCODED + 1u)

#define HB_FLAG_REPLY 0x01u

enum hb_command {
    HB_CMD_HELLO = 0x01,
    HB_CMD_SET_OP = 0x02,
    HB_CMD_GET_TELEMETRY = 0x03,
    HB_CMD_WRITE = 0x04,
    HB_CMD_READ = 0x05,
    HB_CMD_FILL = 0x06,
    HB_CMD_COMPARE = 0x07,
    HB_CMD_LEASE = 0x08,
    HB_CMD_RESET = 0x09
};

enum hb_status {
    HB_OK = 0,
    HB_BAD_CRC = 1,
    HB_BAD_LENGTH = 2,
    HB_UNKNOWN_COMMAND = 3,
    HB_ADDRESS_RANGE = 4,
    HB_VOLTAGE_FLOOR = 5,
    HB_BUSY = 6,
    HB_BAD_VERSION = 7,
    HB_BAD_ARGUMENT = 8,
    HB_INTERNAL = 9
};

enum hb_capability {
    HB_CAP_TRCD = 1u << 0,
    HB_CAP_TEMPERATURE = 1u << 1,
    HB_CAP_CURRENT = 1u << 2,
    HB_CAP_COMPARE_WRITTEN = 1u << 3,
    HB_CAP_DESTRUCTIVE = 1u << 4,
    HB_CAP_EMULATED = 1u << 5
};

#define HB_TELEMETRY_FLAG_LEASE_EXPIRED 0x01u
#define HB_TRCD_NOMINAL 0u
#define HB_TEMPERATURE_NOMINAL 0x7FFF
#define HB_LEASE_MIN_MS 100u
#define HB_LEASE_MAX_MS 600000u
#define HB_DEFAULT_LEASE_MS 5000u
#define HB_MAX_PATTERN 16u
#define HB_COMPARE_REPLY_HEADER 9u

/* Little-endian field access; the wire is little-endian whatever the CPU is. */
static inline uint16_t hb_get_u16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t hb_get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline int16_t hb_get_i16(const uint8_t *p)
{
    uint16_t u = hb_get_u16(p);
    /* Portable two's-complement reinterpretation without implementation-defined conversion. */
    return u < 0x8000u ? (int16_t)u : (int16_t)(-(int32_t)(0x10000u - u));
}
static inline void hb_put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void hb_put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}
static inline void hb_put_i16(uint8_t *p, int16_t v) { hb_put_u16(p, (uint16_t)v); }

#endif
