#!/usr/bin/env python3
"""Surveys how zip writers lay out their archives (for the gate's allow-lists).

    python3 survey.py A.zip [B.zip …]

For each zip: the extra-field header IDs in local and in central headers, data
descriptors (flag bit 3) per method and whether they carry the optional signature or
ZIP64 sizes, the made-by host byte, external attributes per kind of entry (file, dir,
symlink), the UTF-8 flag (bit 11), `./` entries, the ZIP64 end records, and the bytes
after the end of central directory record (its comment included).
"""

import struct
import sys
from collections import Counter, defaultdict

EXTRA_NAMES = {
    0x0001: "ZIP64",
    0x000A: "NTFS",
    0x5455: "ext-timestamp(UT)",
    0x5855: "Info-ZIP-Unix-old(UX)",
    0x7855: "Info-ZIP-Unix(Ux)",
    0x7875: "Info-ZIP-Unix-uid/gid(ux)",
    0x7075: "Info-ZIP-Unicode-Path(up)",
    0x6375: "Info-ZIP-Unicode-Comment(uc)",
    0xCAFE: "Java-JAR-magic",
    0xD935: "Android-align",
}
HOSTS = {0: "MS-DOS/FAT", 3: "Unix", 10: "NTFS", 11: "VFAT", 19: "OS X"}


def extras(buf: bytes) -> list[tuple[int, bytes]]:
    out, i = [], 0
    while i + 4 <= len(buf):
        hid, size = struct.unpack_from("<HH", buf, i)
        out.append((hid, buf[i + 4 : i + 4 + size]))
        i += 4 + size
    if i != len(buf):
        out.append((-1, buf[i:]))  # bytes that are no whole extra field
    return out


def fmt_ids(counter: Counter, total: int) -> str:
    if not counter:
        return "none"
    parts = []
    for hid, n in sorted(counter.items()):
        name = EXTRA_NAMES.get(hid, "?") if hid >= 0 else "trailing-garbage"
        parts.append(f"0x{hid & 0xFFFF:04x} {name} ({n}/{total})")
    return ", ".join(parts)


def find_eocd(data: bytes) -> int:
    i = len(data) - 22
    while i >= 0:
        i = data.rfind(b"PK\x05\x06", 0, i + 4)
        if i < 0:
            break
        (clen,) = struct.unpack_from("<H", data, i + 20)
        if i + 22 + clen <= len(data):
            return i
        i -= 1
    raise ValueError("no end of central directory record")


def survey(path: str) -> str:
    data = open(path, "rb").read()
    e = find_eocd(data)
    _, _, _, n_disk, n_total, cd_size, cd_off, clen = struct.unpack_from("<IHHHHIIH", data, e)
    comment = data[e + 22 : e + 22 + clen]
    trailing = data[e + 22 + clen :]
    lines = [f"== {path} ({len(data)} bytes)"]
    zip64 = "no"
    if e >= 20 and data[e - 20 : e - 16] == b"PK\x06\x07":
        (z64_off,) = struct.unpack_from("<Q", data, e - 20 + 8)
        if data[z64_off : z64_off + 4] == b"PK\x06\x06":
            rec_size, made, need, _, _, _, n_total64, cd_size64, cd_off64 = struct.unpack_from(
                "<QHHIIQQQQ", data, z64_off + 4
            )
            zip64 = (
                f"yes: ZIP64 EOCD at {z64_off}, {n_total64} entries; "
                f"EOCD says {n_total:#x} entries, cd_off {cd_off:#x}, cd_size {cd_size:#x}"
            )
            n_total, cd_off, cd_size = n_total64, cd_off64, cd_size64
    lines.append(f"  ZIP64 end records: {zip64}")
    if trailing:
        kind = "all zero" if not trailing.strip(b"\0") else f"starts {trailing[:16]!r}"
        lines.append(f"  trailing bytes after EOCD: {len(trailing)} ({kind})")
    else:
        lines.append("  trailing bytes after EOCD: 0")
    lines.append(f"  archive comment: {len(comment)} bytes")

    central_ids, local_ids = Counter(), Counter()
    hosts, versions, methods = Counter(), Counter(), Counter()
    dd = defaultdict(Counter)  # method -> how the descriptor looks
    attrs = defaultdict(Counter)
    utf8_flag, non_ascii, dot_entries, names = 0, 0, [], []
    first_lho = None
    i = cd_off
    for _ in range(n_total):
        assert data[i : i + 4] == b"PK\x01\x02", f"central header expected at {i}"
        (made, need, flags, method, _, _, crc, csize, usize, nlen, xlen, clen2, _, iattr, eattr, lho) = (
            struct.unpack_from("<HHHHHHIIIHHHHHII", data, i + 4)
        )
        name = data[i + 46 : i + 46 + nlen]
        cext = extras(data[i + 46 + nlen : i + 46 + nlen + xlen])
        i += 46 + nlen + xlen + clen2
        for hid, body in cext:
            central_ids[hid] += 1
            if hid == 0x0001:  # ZIP64: the fields that are 0xffffffff, in order
                vals = list(struct.unpack_from(f"<{len(body) // 8}Q", body)) if len(body) >= 8 else []
                if usize == 0xFFFFFFFF and vals:
                    usize = vals.pop(0)
                if csize == 0xFFFFFFFF and vals:
                    csize = vals.pop(0)
                if lho == 0xFFFFFFFF and vals:
                    lho = vals.pop(0)
        names.append(name)
        hosts[made >> 8] += 1
        versions[f"made {made & 0xFF} need {need}"] += 1
        methods[method] += 1
        if flags & 0x800:
            utf8_flag += 1
        if any(b > 0x7F for b in name):
            non_ascii += 1
        if name.startswith(b"./") or name == b".":
            dot_entries.append(name.decode("utf-8", "replace"))
        mode = eattr >> 16
        if (mode & 0o170000) == 0o120000:
            kind = "symlink"
        elif name.endswith(b"/"):
            kind = "dir"
        else:
            kind = "file"
        attrs[kind][f"0x{eattr:08x} (unix {mode:o}, dos 0x{eattr & 0xFF:02x})"] += 1
        first_lho = lho if first_lho is None else min(first_lho, lho)
        # The local header.
        assert data[lho : lho + 4] == b"PK\x03\x04", f"local header expected at {lho}"
        (_, lflags, lmethod, _, _, lcrc, lcsize, lusize, lnlen, lxlen) = struct.unpack_from("<HHHHHIIIHH", data, lho + 4)
        lext = extras(data[lho + 30 + lnlen : lho + 30 + lnlen + lxlen])
        for hid, _ in lext:
            local_ids[hid] += 1
        if flags & 0x8:
            end = lho + 30 + lnlen + lxlen + csize
            signed = data[end : end + 4] == b"PK\x07\x08"
            body = end + (4 if signed else 0)
            c32, u32 = struct.unpack_from("<II", data, body + 4)
            if c32 == csize & 0xFFFFFFFF and u32 == usize & 0xFFFFFFFF and (csize >> 32) == 0:
                width = "32-bit sizes"
                # A 64-bit descriptor would read as crc, csize_lo, csize_hi(=0), usize_lo…
                c64, u64 = struct.unpack_from("<QQ", data, body + 4)
                if c64 == csize and u64 == usize and not (c32 == csize and u32 == usize and u32 == 0):
                    width = "64-bit sizes"
            else:
                width = "64-bit sizes"
            local = ["crc" if lcrc else "", "csize" if lcsize else "", "usize" if lusize else ""]
            local_zero = "local crc/sizes 0" if not any(local) else "local " + "+".join(x for x in local if x) + " set"
            dd[method][f"{'with' if signed else 'without'} signature, {width}, {local_zero}"] += 1
    if first_lho:
        lines.append(f"  bytes before the first local header: {first_lho}")
    lines.append(f"  entries: {n_total}; methods: {dict(sorted(methods.items()))} (0 stored, 8 deflate)")
    lines.append("  made-by host: " + ", ".join(f"{h} {HOSTS.get(h, '?')} ({n})" for h, n in sorted(hosts.items())))
    lines.append("  versions: " + ", ".join(f"{v} ({n})" for v, n in sorted(versions.items())))
    lines.append(f"  central extra IDs: {fmt_ids(central_ids, n_total)}")
    lines.append(f"  local extra IDs:   {fmt_ids(local_ids, n_total)}")
    if dd:
        for m, c in sorted(dd.items()):
            lines.append(
                f"  data descriptors, method {m}: " + "; ".join(f"{k} ({n})" for k, n in sorted(c.items()))
            )
    else:
        lines.append("  data descriptors: none")
    for kind in ("file", "dir", "symlink"):
        if attrs[kind]:
            lines.append(f"  external attrs, {kind}: " + ", ".join(f"{a} x{n}" for a, n in sorted(attrs[kind].items())))
    lines.append(f"  non-ASCII names: {non_ascii}; UTF-8 flag (bit 11) set on: {utf8_flag}")
    lines.append(f"  ./ entries: {', '.join(dot_entries) if dot_entries else 'none'}")
    if n_total <= 40:
        lines.append("  names: " + " ".join(n.decode("utf-8", "replace") for n in names))
    return "\n".join(lines)


def main() -> None:
    for p in sys.argv[1:]:
        try:
            print(survey(p))
        except Exception as exc:  # noqa: BLE001 - one bad zip must not hide the others
            print(f"== {p}: could not survey: {exc}")
        print()


if __name__ == "__main__":
    main()
