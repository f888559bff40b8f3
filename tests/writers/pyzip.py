#!/usr/bin/env python3
"""Zips a directory with Python's zipfile, for tests/it/writers.rs.

    python3 pyzip.py deflate|stored SRC_DIR OUT.zip

Every directory gets its entry (`name/`), files are read from disk, and symlinks are
stored as links (mode 0o120777, the target as the entry's bytes), as `zip -y` does.
"""

import os
import sys
import zipfile


def main() -> None:
    method, src, out = sys.argv[1:4]
    compression = {"deflate": zipfile.ZIP_DEFLATED, "stored": zipfile.ZIP_STORED}[method]
    with zipfile.ZipFile(out, "w", compression=compression) as zf:
        for root, dirs, files in os.walk(src):
            dirs.sort()
            rel_root = os.path.relpath(root, src)
            for name in sorted(dirs + files):
                path = os.path.join(root, name)
                arcname = name if rel_root == "." else f"{rel_root}/{name}"
                if os.path.islink(path):
                    info = zipfile.ZipInfo.from_file(path, arcname)
                    info.external_attr = (os.lstat(path).st_mode & 0xFFFF) << 16
                    info.compress_type = compression
                    zf.writestr(info, os.readlink(path))
                    if name in dirs:
                        dirs.remove(name)  # never walk into a linked directory
                else:
                    zf.write(path, arcname)


if __name__ == "__main__":
    main()
