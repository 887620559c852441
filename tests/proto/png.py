"""png.py - a PNG of one colour for the tests that send an image (the
desktop client's avatar, the browser's upload), made with zlib: no
imaging library needed."""
import struct
import zlib


def png(width, height, rgb):
    """A PNG of one colour, made with zlib (no imaging library needed)."""
    def chunk(kind, data):
        return struct.pack('>I', len(data)) + kind + data + \
            struct.pack('>I', zlib.crc32(kind + data) & 0xffffffff)
    row = b'\0' + bytes(rgb) * width
    return b'\x89PNG\r\n\x1a\n' + \
        chunk(b'IHDR', struct.pack('>IIBBBBB', width, height, 8, 2, 0, 0, 0)) + \
        chunk(b'IDAT', zlib.compress(row * height)) + chunk(b'IEND', b'')
