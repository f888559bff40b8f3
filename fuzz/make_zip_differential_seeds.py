#!/usr/bin/env python3
"""Makes the seeds of the zip_differential fuzz target (fuzz/seeds/zip_differential/).

    python3 fuzz/make_zip_differential_seeds.py

Small valid zips, each of a kind the target's two readers take different paths through:
Python's zipfile (deflate, stored, a directory, a ZIP64 extra field, data descriptors from
an unseekable output), Info-ZIP's zip when installed (a symlink, extra fields, and a
streamed entry from a pipe), and a stored entry with a data descriptor built byte by byte.
Timestamps are fixed so the output is the same on every run (Info-ZIP's take the files').
"""

import io
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib
import zipfile

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seeds", "zip_differential")
DATE = (2024, 1, 2, 3, 4, 6)


class Unseekable(io.RawIOBase):
    """A write-only stream that cannot tell or seek, so zipfile writes data descriptors."""

    def __init__(self):
        self.buf = bytearray()

    def writable(self):
        return True

    def write(self, b):
        self.buf += b
        return len(b)


def info(name, method, mode=0o100644):
    zi = zipfile.ZipInfo(name, DATE)
    zi.compress_type = method
    zi.create_system = 3
    zi.external_attr = mode << 16
    return zi


def python_seeds():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(info("src/", zipfile.ZIP_STORED, 0o40755), b"")
        z.writestr(info("src/main.py", zipfile.ZIP_DEFLATED), b"print('hello')\n" * 20)
        z.writestr(info("README", zipfile.ZIP_STORED), b"a stored file\n")
        z.writestr(info("empty", zipfile.ZIP_DEFLATED), b"")
    yield "python-zipfile_deflate-stored-dir.zip", buf.getvalue()

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        with z.open(info("big.txt", zipfile.ZIP_DEFLATED), "w", force_zip64=True) as f:
            f.write(b"zip64 local extra field\n" * 8)
        with z.open(info("raw.bin", zipfile.ZIP_STORED), "w", force_zip64=True) as f:
            f.write(bytes(range(64)))
    yield "python-zipfile_zip64-extra.zip", buf.getvalue()

    out = Unseekable()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr(info("streamed.txt", zipfile.ZIP_DEFLATED), b"written to a pipe\n" * 10)
        z.writestr(info("stored.txt", zipfile.ZIP_STORED), b"stored, with a descriptor\n")
    yield "python-zipfile_unseekable-dd.zip", bytes(out.buf)

    out = Unseekable()
    with zipfile.ZipFile(out, "w") as z:
        with z.open(info("streamed64.txt", zipfile.ZIP_DEFLATED), "w", force_zip64=True) as f:
            f.write(b"a 64-bit data descriptor\n" * 6)
    yield "python-zipfile_unseekable-zip64-dd.zip", bytes(out.buf)


def infozip_seeds():
    if shutil.which("zip") is None:
        print("no Info-ZIP zip here: its seeds are left as they are", file=sys.stderr)
        return
    with tempfile.TemporaryDirectory() as d:
        os.makedirs(os.path.join(d, "pkg", "lib"))
        with open(os.path.join(d, "pkg", "lib", "util.js"), "w") as f:
            f.write("exports.x = 1;\n" * 30)
        with open(os.path.join(d, "pkg", "index.js"), "w") as f:
            f.write("require('./lib/util');\n")
        os.symlink("lib/util.js", os.path.join(d, "pkg", "link.js"))
        for root, dirs, files in os.walk(d):
            for n in dirs + files:
                os.utime(os.path.join(root, n), (1_700_000_000, 1_700_000_000), follow_symlinks=False)
        os.utime(os.path.join(d, "pkg"), (1_700_000_000, 1_700_000_000))
        subprocess.run(["zip", "-qry", "-X", "../out.zip", "."], cwd=os.path.join(d, "pkg"), check=True)
        with open(os.path.join(d, "out.zip"), "rb") as f:
            yield "infozip_symlink-dir.zip", f.read()
        # With extra fields (extended timestamp, Unix uid/gid): no -X.
        subprocess.run(["zip", "-qr", "../extra.zip", "index.js", "lib"], cwd=os.path.join(d, "pkg"), check=True)
        with open(os.path.join(d, "extra.zip"), "rb") as f:
            yield "infozip_extra-fields.zip", f.read()
        # To a pipe, so with a data descriptor (and a ZIP64 local field), from stdin (a file,
        # not a pipe: a pipe would make the entry a FIFO, which the gate refuses).
        stdin = os.path.join(d, "stdin.txt")
        with open(stdin, "wb") as f:
            f.write(b"from stdin\n" * 40)
        os.utime(stdin, (1_700_000_000, 1_700_000_000))
        with open(stdin, "rb") as f:
            piped = subprocess.run(["zip", "-q", "-X", "-", "-"], stdin=f, capture_output=True, check=True)
        yield "infozip_pipe-dd.zip", piped.stdout


def stored_with_descriptor():
    """Two stored entries with flag bit 3, zero CRC and sizes in the local headers, and a
    signed data descriptor after each, built byte by byte (APPNOTE 4.3.7, 4.3.9, 4.3.12,
    4.3.16)."""
    files = [(b"a.txt", b"stored data, streamed\n"), (b"b.bin", b"PK\x07 and PK\x03\x04 inside stored data\n")]
    body, central = bytearray(), bytearray()
    dos_time, dos_date = 0x1883, 0x5822
    for name, data in files:
        offset = len(body)
        crc = zlib.crc32(data)
        body += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0x0008, 0, dos_time, dos_date, 0, 0, 0, len(name), 0)
        body += name + data
        body += struct.pack("<IIII", 0x08074B50, crc, len(data), len(data))
        central += struct.pack(
            "<IHHHHHHIIIHHHHHII",
            0x02014B50, (3 << 8) | 20, 20, 0x0008, 0, dos_time, dos_date, crc, len(data), len(data),
            len(name), 0, 0, 0, 0, 0o100644 << 16, offset,
        )
        central += name
    eocd = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(files), len(files), len(central), len(body), 0)
    return bytes(body + central + eocd)


def main():
    os.makedirs(OUT, exist_ok=True)
    seeds = list(python_seeds()) + list(infozip_seeds())
    seeds.append(("bytes_stored-dd.zip", stored_with_descriptor()))
    for name, data in seeds:
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
        print(f"{name}: {len(data)} bytes")


if __name__ == "__main__":
    main()
