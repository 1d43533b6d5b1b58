#!/usr/bin/env python3
"""Regenerates frames.txt, the golden frames of PROTOCOL.md, from first principles
(an independent third implementation of COBS and CRC-32C). Run: python3 make_vectors.py > frames.txt"""
import struct


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def cobs(data: bytes) -> bytes:
    out, block = bytearray(), bytearray()
    for b in data:
        if b == 0:
            out += bytes([len(block) + 1]) + block
            block = bytearray()
        else:
            block.append(b)
            if len(block) == 254:
                out += bytes([255]) + block
                block = bytearray()
    out += bytes([len(block) + 1]) + block
    return bytes(out)


def body(version, flags, rid, cmd, status, payload, length=None, crc_xor=0):
    header = struct.pack('<BBHBBH', version, flags, rid, cmd, status, len(payload) if length is None else length)
    crc = crc32c(header + payload) ^ crc_xor
    return header + payload + struct.pack('<I', crc)


vectors = []


def add(name, meaning, wire, result, fields):
    vectors.append((name, meaning, wire, result, fields))


def frame(name, meaning, version, flags, rid, cmd, status, payload, **kw):
    wire = cobs(body(version, flags, rid, cmd, status, payload, **kw)) + b'\x00'
    result = 'ok'
    if 'crc_xor' in kw: result = 'bad_crc'
    if 'length' in kw: result = 'bad_length'
    add(name, meaning, wire, result, (version, flags, rid, cmd, status, payload))


frame('hello-request', 'HELLO, request id 1, host speaks versions 1..1', 1, 0, 1, 0x01, 0, bytes([1, 1]))
hello = struct.pack('<BBHIIIIHHHHHHHHHhhhhHIB', 1, 1, 4096, 0b101110, 256, 1024, 32, 32,
                    1000, 500, 1000, 5, 0, 0, 0, 0, 250, 0, 850, 50, 2, 5000, 18) + b'hilboard-emu 1.0.0'
frame('hello-reply', 'HELLO reply: 256 blocks x 1024 rows x 32 bits, 1000 mV nominal, floor 500 mV, step 5 mV, '
      'no tRCD, temperature 0..85 C in 5 C steps, settle 2 ms, lease 5000 ms, '
      'capabilities TEMPERATURE|CURRENT|COMPARE_WRITTEN|EMULATED', 1, 1, 1, 0x01, 0, hello)
frame('set-op-request', 'SET_OP 550 mV, tRCD nominal (0), temperature nominal (0x7FFF), id 2', 1, 0, 2, 0x02, 0,
      struct.pack('<HHh', 550, 0, 0x7FFF))
frame('set-op-floor', 'SET_OP reply: VOLTAGE_FLOOR (status 5), empty payload', 1, 1, 2, 0x02, 5, b'')
frame('write-zeros', 'WRITE 5 bytes 00 11 00 00 22 at byte address 0x100 (zeros inside the body exercise COBS)', 1, 0, 3, 0x04, 0,
      struct.pack('<I', 0x100) + bytes([0, 0x11, 0, 0, 0x22]))
frame('write-254', 'WRITE of 250 non-zero bytes 01..FA at address 0x01020304: address and data are a run of exactly 254 '
      'non-zero bytes, which fills a COBS block (code 0xFF); the CRC (no zero byte) follows in a short one', 1, 0, 0x0102, 0x04, 0,
      struct.pack('<I', 0x01020304) + bytes(range(1, 251)))
frame('write-300', 'WRITE of 300 bytes (i % 255) + 1 at address 0x20304: more than one COBS block', 1, 0, 0x0304, 0x04, 0,
      struct.pack('<I', 0x20304) + bytes((i % 255) + 1 for i in range(300)))
frame('read-request', 'READ 16 bytes at 0x40, id 65535', 1, 0, 65535, 0x05, 0, struct.pack('<IH', 0x40, 16))
frame('fill-request', 'FILL 1 MiB from 0 with pattern AA 55', 1, 0, 7, 0x06, 0, struct.pack('<IIB', 0, 1 << 20, 2) + bytes([0xAA, 0x55]))
frame('compare-pattern', 'COMPARE 1024 bytes at 1024 against pattern FF FF FF FF', 1, 0, 8, 0x07, 0,
      struct.pack('<IIBB', 1024, 1024, 1, 4) + bytes([0xFF] * 4))
frame('compare-written', 'COMPARE 727552 bytes at 0 against the data last written', 1, 0, 9, 0x07, 0,
      struct.pack('<IIB', 0, 727552, 0))
frame('compare-reply', 'COMPARE reply: bits 8195, 8200, 8201 differ in the range from byte 1024; done', 1, 1, 8, 0x07, 0,
      struct.pack('<IIB', 3, 2048, 1) + bytes([3, 4, 0]))
frame('compare-reply-varint', 'COMPARE reply, not done (next 13000): bits 300 and 100300 from address 0 (gaps 300 = AC 02, 99999 = 9F 8D 06)',
      1, 1, 10, 0x07, 0, struct.pack('<IIB', 2, 13000, 0) + bytes([0xAC, 0x02, 0x9F, 0x8D, 0x06]))
frame('lease-request', 'LEASE 2000 ms', 1, 0, 11, 0x08, 0, struct.pack('<I', 2000))
frame('telemetry-reply', 'GET_TELEMETRY reply: set 550 mV, measured 549 mV, 12345 uA, 25.0 C, tRCD 0, uptime 60000 ms, '
      'lease 1500 ms left, lease never expired', 1, 1, 12, 0x03, 0, struct.pack('<HHIhHIIB', 550, 549, 12345, 250, 0, 60000, 1500, 0))
frame('reset-request', 'RESET, empty payload', 1, 0, 13, 0x09, 0, b'')
frame('busy-reply', 'reply BUSY (status 6) to a WRITE', 1, 1, 14, 0x04, 6, b'')
frame('bad-version-reply', 'reply BAD_VERSION (7) to a version-2 request: the board speaks 1..1', 1, 1, 15, 0x01, 7, bytes([1, 1]))
frame('version-2-request', 'a well-formed frame of protocol version 2: the codec accepts it, the board answers BAD_VERSION', 2, 0, 15, 0x01, 0, bytes([2, 2]))
frame('bad-crc', 'GET_TELEMETRY id 16 whose CRC has its lowest bit flipped: bad CRC, header still readable', 1, 0, 16, 0x03, 0, b'', crc_xor=1)
frame('bad-length', 'READ id 17 whose length field says 7 but carries 6 payload bytes', 1, 0, 17, 0x05, 0, struct.pack('<IH', 0, 4), length=7)
add('garbage-cobs', 'invalid COBS: the code byte 0x09 points past the end of the frame', bytes([0x09, 0x01, 0x02, 0x00]), 'garbage', None)
add('garbage-short', 'valid COBS but a body of 6 bytes, shorter than header and CRC', cobs(bytes([1, 0, 1, 0, 1, 0])) + b'\x00', 'garbage', None)
add('garbage-empty', 'an empty frame: a lone delimiter', b'\x00', 'garbage', None)

print('# Golden frames of PROTOCOL.md, generated by make_vectors.py. One vector per line:')
print('# name|wire bytes in hex, delimiter included|result|version|flags|request id|command|status|payload hex')
print('# result: ok, bad_crc, bad_length (header fields as read), garbage (no fields: "-").')
print('# A "# " line before a vector says what it means. CRC-32C("123456789") = %08X' % crc32c(b'123456789'))
for name, meaning, wire, result, fields in vectors:
    print('# ' + meaning)
    if fields is None:
        print('|'.join([name, wire.hex(), result] + ['-'] * 6))
    else:
        v, f, rid, cmd, st, payload = fields
        print('|'.join([name, wire.hex(), result, str(v), str(f), str(rid), '0x%02x' % cmd, str(st), payload.hex()]))
