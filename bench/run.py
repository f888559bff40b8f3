#!/usr/bin/env python3
"""Benchmark harness for `signer` (issue 7; rows of issues 3, 4 and 5).

    python3 bench/run.py [--quick] [--rounds N] [--out BENCHMARKS.md]

Builds `cargo build --release` once, generates its inputs under target/bench/inputs
(cached, keyed by size; --regen rebuilds them), creates a throwaway SIGNER_HOME and
file store, then runs `signer` and each peer tool interleaved, round after round, on
the same files, and writes BENCHMARKS.md: medians, ratios signer/peer against the
issue's goals, peak RSS of each child (ru_maxrss from wait4), CPU time, the machine,
the date, the commit and the command that reproduces the run.

Python 3.11 standard library only. A missing peer (apksigner, minisign, unzip, …) is
installed from the distribution's packages (apt-get, when run as root; --no-install
turns that off); a peer still missing is reported in the report, never silently skipped.
Every child runs with a timeout; a failing row records its error and the run goes on.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import hashlib
import json
import os
import platform
import random
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import traceback
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "target" / "bench"
INPUTS = BENCH / "inputs"
GEN_VERSION = 1  # bump when an input generator changes; part of every cached name

MB = 1_000_000
MiB = 1024 * 1024
# Peer tools the harness installs when missing, and the distribution package of each.
PEER_PACKAGES = {"apksigner": "apksigner", "minisign": "minisign", "unzip": "unzip",
                 "jarsigner": "openjdk-17-jdk-headless"}
STOREPASS = "benchpass"  # throwaway keystore for jarsigner/apksigner, under the run dir

# ---------------------------------------------------------------------------------
# Running children: posix_spawn + wait4 (per-child rusage), timeout kills the group.
# ---------------------------------------------------------------------------------


@dataclass
class Sample:
    argv: list[str]
    rc: int | None
    wall: float  # seconds, spawn to reap
    cpu: float  # user + sys seconds of the child (and its reaped children)
    user: float
    sys: float
    rss_kb: int  # ru_maxrss of the child
    minflt: int
    ctxsw: int
    stdout: str = ""
    stderr: str = ""
    timed_out: bool = False
    missing: bool = False

    def ok(self) -> bool:
        return self.rc == 0

    def why(self) -> str:
        if self.missing:
            return f"`{self.argv[0]}` not installed"
        if self.timed_out:
            return f"timed out: {shlex.join(self.argv)}"
        tail = (self.stderr.strip() or self.stdout.strip()).splitlines()[-3:]
        return f"exit {self.rc}: {shlex.join(short_argv(self.argv))}: " + " / ".join(tail)


def start_moto(moto_bin: Path, out) -> tuple[subprocess.Popen, int]:
    """moto's server on a free loopback port, its log to `out`; returns once it listens
    (or after 30 s). The caller stops it."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    proc = subprocess.Popen([str(moto_bin), "-H", "127.0.0.1", "-p", str(port)], stdout=out, stderr=out)
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    return proc, port


def short_argv(argv: list[str]) -> list[str]:
    """Paths under the run dir shortened for messages."""
    out = []
    for a in argv:
        s = str(a)
        s = s.replace(str(BENCH) + "/", "target/bench/")
        out.append(s)
    return out


class Runner:
    """Runs one command at a time through the probe (bench/probe.rs), which times it and
    reaps it with wait4 so its peak RSS is its own; the harness enforces the timeout by
    killing the probe's process group. Without a probe, children are spawned directly and
    their ru_maxrss includes the harness's own high-water mark (reported as such)."""

    def __init__(self, scratch: Path, probe: Path | None = None):
        self.scratch = scratch
        self.probe = probe
        self.n = 0

    def run(
        self,
        argv: list[str | Path],
        *,
        env: dict[str, str] | None = None,
        timeout: float = 600,
        stdout: str | Path | None = None,
        stdin: str | Path = "/dev/null",
        warm: list[Path] = (),
        sync: bool = True,
    ) -> Sample:
        argv = [str(a) for a in argv]
        self.n += 1
        env = env if env is not None else dict(os.environ)
        exe = argv[0] if "/" in argv[0] else shutil.which(argv[0], path=env.get("PATH"))
        if exe is None:
            return Sample(argv, None, 0.0, 0.0, 0.0, 0.0, 0, 0, 0, missing=True)
        out_path = str(stdout) if stdout is not None else str(self.scratch / "child.stdout")
        err_path = str(self.scratch / "child.stderr")
        res_path = str(self.scratch / "child.probe")
        if sync:
            os.sync()
        for p in warm:
            warm_cache(p)
        if sync:
            settle()
        actions = [
            (os.POSIX_SPAWN_OPEN, 0, str(stdin), os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
            (os.POSIX_SPAWN_OPEN, 2, err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600),
        ]
        spawn = [exe, *argv[1:]]
        if self.probe:
            try:
                os.unlink(res_path)
            except FileNotFoundError:
                pass
            spawn = [str(self.probe), res_path, *spawn]
        done = threading.Event()
        holder: dict[str, int] = {}
        fired = threading.Event()

        def watchdog():
            if not done.wait(timeout):
                pid = holder.get("pid")
                if pid:
                    fired.set()
                    try:
                        os.killpg(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass

        th = threading.Thread(target=watchdog, daemon=True)
        th.start()
        t0 = time.perf_counter()
        pid = os.posix_spawn(spawn[0], spawn, env, file_actions=actions, setpgroup=0)
        holder["pid"] = pid
        _, status, ru = os.wait4(pid, 0)
        t1 = time.perf_counter()
        done.set()
        rc = os.waitstatus_to_exitcode(status)
        s = Sample(
            argv, rc, t1 - t0, ru.ru_utime + ru.ru_stime, ru.ru_utime, ru.ru_stime,
            ru.ru_maxrss, ru.ru_minflt, ru.ru_nvcsw + ru.ru_nivcsw,
            timed_out=fired.is_set(),
        )
        if self.probe:
            f = read_text(res_path).split()
            if len(f) == 7:
                wall_ns, code, user_us, sys_us, maxrss, minflt, ctxsw = map(int, f)
                s.rc, s.wall = code, wall_ns / 1e9
                s.user, s.sys = user_us / 1e6, sys_us / 1e6
                s.cpu = s.user + s.sys
                s.rss_kb, s.minflt, s.ctxsw = maxrss, minflt, ctxsw
            elif not s.timed_out:
                s.rc = s.rc or -1
        if stdout is None:
            s.stdout = read_text(out_path)
        s.stderr = read_text(err_path)
        return s


def build_probe(scratch: Path) -> tuple[Path | None, str]:
    src = ROOT / "bench" / "probe.rs"
    digest = hashlib.sha256(src.read_bytes()).hexdigest()[:12]
    exe = BENCH / f"probe-{digest}"
    if exe.exists():
        return exe, ""
    BENCH.mkdir(parents=True, exist_ok=True)
    tmp = BENCH / f"probe-{digest}.part"
    r = Runner(scratch).run(["rustc", "-O", "--edition", "2021", "-o", tmp, src],
                            timeout=300, sync=False)
    if not r.ok():
        return None, r.why()
    os.replace(tmp, exe)
    return exe, ""


def read_text(path: str, limit: int = 200_000) -> str:
    try:
        with open(path, "rb") as f:
            return f.read(limit).decode("utf-8", "replace")
    except OSError:
        return ""


_WARM_BUF = bytearray(8 * MiB)


def cpu_busy_jiffies() -> int:
    """Jiffies all CPUs spent busy since boot (/proc/stat: all but idle and iowait)."""
    try:
        f = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0
    return sum(f) - f[3] - (f[4] if len(f) > 4 else 0)


def settle(max_wait: float = 2.0, window: float = 0.1) -> None:
    """Waits (at most max_wait) until the CPUs stay idle for a window: a two-core run is
    slowed by any writeback or kernel work still going on from the run before, a
    one-core peer much less, so starting both on a quiet machine keeps the ratio fair."""
    hz = os.sysconf("SC_CLK_TCK") or 100
    end = time.time() + max_wait
    while time.time() < end:
        a = cpu_busy_jiffies()
        time.sleep(window)
        if cpu_busy_jiffies() - a <= 0.05 * window * hz * (os.cpu_count() or 1):
            return


def warm_cache(path: Path) -> None:
    """The equivalent of `cat PATH > /dev/null`: every input is in the page cache."""
    p = Path(path)
    if p.is_dir():
        for q in sorted(p.rglob("*")):
            if q.is_file():
                warm_cache(q)
        return
    with open(p, "rb", buffering=0) as f:
        view = memoryview(_WARM_BUF)
        while f.readinto(view):
            pass


class CmdFailed(Exception):
    def __init__(self, sample: Sample):
        super().__init__(sample.why())
        self.sample = sample


def must(s: Sample) -> Sample:
    if not s.ok():
        raise CmdFailed(s)
    return s


# ---------------------------------------------------------------------------------
# Inputs (cached under target/bench/inputs, keyed by size and generator version)
# ---------------------------------------------------------------------------------

FIXED_DATE = (2024, 1, 1, 0, 0, 0)


def _zinfo(name: str) -> zipfile.ZipInfo:
    zi = zipfile.ZipInfo(name, date_time=FIXED_DATE)
    zi.external_attr = 0o644 << 16
    zi.create_system = 3
    return zi


def _atomic(path: Path, write) -> Path:
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    write(tmp)
    os.replace(tmp, path)
    return path


def stored_zip(size: int, entry: int = 10 * MB) -> Path:
    """A STORED zip of `size` random bytes in entries of at most `entry` bytes."""
    path = INPUTS / f"stored-{size}-v{GEN_VERSION}.zip"

    def write(tmp: Path):
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as z:
            left, i = size, 0
            while left > 0:
                n = min(entry, left)
                z.writestr(_zinfo(f"function/blob-{i:03d}.bin"), os.urandom(n))
                left -= n
                i += 1

    return _atomic(path, write)


WORDS = (
    "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike "
    "november oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee "
    "zulu import return def class self value index buffer layer runtime"
).split()


def _text(rng: random.Random, nbytes: int) -> bytes:
    parts, n, line = [], 0, 0
    while n < nbytes:
        ws = rng.choices(WORDS, k=3 * 4096)
        ns = [rng.getrandbits(20) for _ in range(4096)]
        s = "".join(
            f"{ws[3*i]} {ws[3*i+1]}={ns[i]} {ws[3*i+2]} {line + i}\n" for i in range(4096)
        )
        line += 4096
        parts.append(s)
        n += len(s)
    return "".join(parts).encode()[:nbytes]


def deflated_layer(unzipped: int, entry: int = 1 * MB) -> Path:
    """A DEFLATED (level 6) layer of `unzipped` bytes of text-like data, 1 MB entries."""
    path = INPUTS / f"layer-deflated-{unzipped}-v{GEN_VERSION}.zip"

    def write(tmp: Path):
        rng = random.Random(20240101)
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as z:
            left, i = unzipped, 0
            while left > 0:
                n = min(entry, left)
                z.writestr(
                    _zinfo(f"python/lib/pkg{i // 25:03d}/module{i:04d}.py"), _text(rng, n),
                    compress_type=zipfile.ZIP_DEFLATED, compresslevel=6,
                )
                left -= n
                i += 1

    return _atomic(path, write)


def many_packages(count: int, size: int) -> Path:
    """`count` STORED packages of one `size`-byte random entry each."""
    d = INPUTS / f"packages-{count}x{size}-v{GEN_VERSION}"
    if (d / ".complete").exists():
        return d
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    for i in range(count):
        with zipfile.ZipFile(d / f"pkg-{i:04d}.zip", "w", zipfile.ZIP_STORED) as z:
            z.writestr(_zinfo(f"handler-{i:04d}.bin"), os.urandom(size))
    (d / ".complete").write_text("ok\n")
    return d


def many_entries_zip(count: int) -> Path:
    """A STORED zip of `count` empty entries under 1000-entry folders (ZIP64 past 65,535)."""
    path = INPUTS / f"entries-{count}-v{GEN_VERSION}.zip"

    def write(tmp: Path):
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as z:
            for i in range(count):
                z.writestr(_zinfo(f"node_modules/pkg{i // 1000:04d}/file{i:07d}.js"), b"")

    return _atomic(path, write)


def halves(src: Path) -> tuple[Path, Path]:
    """The two halves of `src`, as files: what two cores hash side by side."""
    a, b = INPUTS / (src.name + ".half1"), INPUTS / (src.name + ".half2")
    if not (a.exists() and b.exists()):
        data = src.read_bytes()
        mid = len(data) // 2
        _atomic(a, lambda tmp: tmp.write_bytes(data[:mid]))
        _atomic(b, lambda tmp: tmp.write_bytes(data[mid:]))
    return a, b


def central_directory_size(path: Path) -> int:
    """The central directory's size, from the end records (ZIP64 if present)."""
    with open(path, "rb") as f:
        f.seek(max(0, path.stat().st_size - 128 * 1024))
        tail = f.read()
    z64 = tail.rfind(b"PK\x06\x06")
    if z64 >= 0:
        return int.from_bytes(tail[z64 + 40:z64 + 48], "little")
    eocd = tail.rfind(b"PK\x05\x06")
    return int.from_bytes(tail[eocd + 12:eocd + 16], "little")


def package_list(d: Path) -> list[Path]:
    return sorted(d.glob("pkg-*.zip"))


def tiny_zip() -> Path:
    """A package of about 1 KB (one stored entry of 900 bytes)."""
    path = INPUTS / f"tiny-1k-v{GEN_VERSION}.zip"

    def write(tmp: Path):
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as z:
            z.writestr(_zinfo("index.js"), os.urandom(900))

    return _atomic(path, write)


# ---------------------------------------------------------------------------------
# Statistics and rows
# ---------------------------------------------------------------------------------


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


@dataclass
class Side:
    name: str
    samples: list[Sample] = field(default_factory=list)  # one per round (summed if several commands)
    error: str | None = None

    @property
    def wall(self):
        return med([s.wall for s in self.samples])

    @property
    def cpu(self):
        return med([s.cpu for s in self.samples])

    @property
    def rss_kb(self):
        return max((s.rss_kb for s in self.samples), default=None)

    def walls(self):
        return [round(s.wall, 4) for s in self.samples]

    def as_json(self):
        return {
            "name": self.name, "error": self.error, "median_wall_s": self.wall,
            "median_cpu_s": self.cpu, "peak_rss_kb": self.rss_kb, "walls_s": self.walls(),
            "cpus_s": [round(s.cpu, 4) for s in self.samples],
        }


def combine(samples: list[Sample]) -> Sample:
    """Several commands timed as one: times and CPU add up, peak RSS is the largest."""
    return Sample(
        [a for s in samples for a in s.argv + [";"]][:-1],
        0 if all(s.ok() for s in samples) else next(s.rc for s in samples if not s.ok()),
        sum(s.wall for s in samples), sum(s.cpu for s in samples),
        sum(s.user for s in samples), sum(s.sys for s in samples),
        max(s.rss_kb for s in samples), sum(s.minflt for s in samples),
        sum(s.ctxsw for s in samples),
    )


@dataclass
class Row:
    key: str
    title: str
    signer: Side | None = None
    peer: Side | None = None
    goal: float | None = None  # ratio signer/peer must be <= goal
    goal_text: str = ""
    note: str = ""
    error: str | None = None
    unavailable: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def ratio(self):
        if self.signer and self.peer and self.signer.wall and self.peer.wall:
            return self.signer.wall / self.peer.wall
        return None

    @property
    def met(self):
        r = self.ratio
        if r is None or self.goal is None:
            return None
        return r <= self.goal

    def as_json(self):
        return {
            "key": self.key, "title": self.title, "goal": self.goal, "goal_text": self.goal_text,
            "ratio": self.ratio, "met": self.met, "note": self.note, "error": self.error,
            "unavailable": self.unavailable,
            "signer": self.signer.as_json() if self.signer else None,
            "peer": self.peer.as_json() if self.peer else None,
            "extra": self.extra,
        }


def alternate(rounds: int, a: Side, fa, b: Side, fb, between=None) -> None:
    """Run a and b interleaved, order swapped every round (ABBA), `rounds` times each.
    A side that fails stops running and records its error; the other goes on."""
    for r in range(rounds):
        order = [(a, fa), (b, fb)] if r % 2 == 0 else [(b, fb), (a, fa)]
        for side, fn in order:
            if side.error:
                continue
            try:
                side.samples.append(fn())
            except CmdFailed as e:
                side.error = str(e)
            except Exception as e:  # noqa: BLE001 - a harness bug must not stop the run
                side.error = f"{type(e).__name__}: {e}"
            if between:
                between()


# ---------------------------------------------------------------------------------
# The benchmark
# ---------------------------------------------------------------------------------


class Bench:
    def __init__(self, args):
        self.args = args
        self.quick = args.quick
        self.rounds = args.rounds or (2 if self.quick else 5)
        q = self.quick
        self.big = 25 * MB if q else 250 * MB
        self.mid = 2_500_000 if q else 25 * MB
        self.layer_unzipped = 25 * MB if q else 250 * MB
        self.jobs_count = 100 if q else 1000
        self.entries_count = 100_000 if q else 1_000_000
        self.job_size = 100_000
        self.sign_baseline = 10 if q else 50
        self.cold_reps = 5 if q else 20
        self.callgrind_size = 5 * MB
        self.scratch = BENCH / f"run-{os.getpid()}"
        self.rows: dict[str, Row] = {}
        self.sections: dict[str, str] = {}
        self.info: dict = {}
        self.log_lines: list[str] = []

    # -- helpers ----------------------------------------------------------------------

    def log(self, msg: str) -> None:
        line = f"[{time.strftime('%H:%M:%S')}] {msg}"
        print(line, file=sys.stderr, flush=True)

    def t(self, name: str) -> Path:
        return self.scratch / name

    def senv(self, home: Path | None = None, store: Path | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SIGNER_", "AWS_"))}
        env["SIGNER_HOME"] = str(home or self.home)
        env["SIGNER_STORE"] = "file://" + str(store or self.store)
        env.setdefault("LC_ALL", "C")
        return env

    def signer(self, *args, env=None, **kw) -> Sample:
        return self.r.run([self.bin, *args], env=env or self.senv(), **kw)

    def rm(self, *paths: Path) -> None:
        for p in paths:
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            else:
                try:
                    p.unlink()
                except FileNotFoundError:
                    pass

    def signer_has(self, *sub: str) -> bool:
        return self.signer(*sub, "--help", sync=False, timeout=60).ok()

    # -- setup --------------------------------------------------------------------------

    def install_peers(self) -> None:
        """Installs missing peers from the distribution's packages (apt-get, as root)."""
        missing = [pkg for tool, pkg in PEER_PACKAGES.items() if not shutil.which(tool)]
        self.info["installed_peers"] = []
        if not missing or self.args.no_install:
            return
        if os.geteuid() != 0 or not shutil.which("apt-get"):
            self.log(f"missing peers {missing}: not root or no apt-get, so they are reported")
            return
        self.log(f"apt-get install {' '.join(missing)}")
        s = self.r.run(["apt-get", "install", "-y", "--no-install-recommends", *missing],
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
                       sync=False, timeout=1200)
        if s.ok():
            self.info["installed_peers"] = missing
        else:
            self.log(f"apt-get failed ({s.why()}): the missing peers are reported")

    def setup(self) -> None:
        if self.args.regen:
            self.log("--regen: removing cached inputs")
            shutil.rmtree(INPUTS, ignore_errors=True)
        shutil.rmtree(self.scratch, ignore_errors=True)
        self.scratch.mkdir(parents=True)
        probe, err = build_probe(self.scratch)
        if probe is None:
            self.log(f"no probe ({err}): peak RSS will include the harness's own")
        self.info["probe_error"] = err
        self.r = Runner(self.scratch, probe)
        floor = [self.r.run(["true"], sync=False, timeout=30).rss_kb for _ in range(3)]
        self.info["rss_floor_kb"] = min(floor)
        self.install_peers()

        built = ROOT / "target" / "release" / "signer"
        if not self.args.no_build:
            self.log("cargo build --release")
            s = self.r.run(
                ["cargo", "build", "--release", "--bin", "signer", "--example", "hashspeed",
                 "--manifest-path", ROOT / "Cargo.toml"],
                timeout=3600, sync=False,
            )
            if not s.ok():
                sys.exit("cargo build --release failed:\n" + s.stderr[-4000:])
        if not built.exists():
            sys.exit(f"{built} missing (run without --no-build)")
        # A private copy: the shared target dir may be rebuilt by others during the run.
        self.bin = self.t("signer")
        shutil.copy2(built, self.bin)
        self.info["binary_mtime"] = dt.datetime.fromtimestamp(
            built.stat().st_mtime, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

        self.log("generating inputs (cached under target/bench/inputs)")
        t0 = time.time()
        self.in_big = stored_zip(self.big)
        self.in_mid = stored_zip(self.mid)
        self.in_cg = stored_zip(self.callgrind_size, entry=1 * MB)
        self.in_layer = deflated_layer(self.layer_unzipped)
        self.in_jobs = many_packages(self.jobs_count, self.job_size)
        self.in_tiny = tiny_zip()
        self.log(f"inputs ready in {time.time() - t0:.1f}s")

        self.home = self.t("home")
        self.store = self.t("store")
        self.home.mkdir(mode=0o700)
        must(self.signer("init", sync=False, timeout=120))
        s = must(self.signer("--output", "json", "profile", "create", "Bench", sync=False,
                             timeout=120))
        self.profile_version = json.loads(s.stdout)["current_version"]

        # openssl key pair (same algorithm as the profile: ECDSA P-384 / SHA-384)
        self.key = self.t("key.pem")
        self.pub = self.t("pub.pem")
        must(self.r.run(["openssl", "ecparam", "-name", "secp384r1", "-genkey", "-noout",
                         "-out", self.key], sync=False, timeout=60))
        must(self.r.run(["openssl", "ec", "-in", self.key, "-pubout", "-out", self.pub],
                        sync=False, timeout=60))

        # Signed packages for verify rows, and openssl signatures over the very same files.
        self.signed = {}
        for label, src in (("big", self.in_big), ("mid", self.in_mid), ("tiny", self.in_tiny),
                           ("cg", self.in_cg)):
            dst = self.t(f"signed-{label}.zip")
            must(self.signer("sign", "--profile", "Bench", src, "-o", dst, timeout=900))
            self.ossl_sign(dst)
            self.signed[label] = dst

    def ossl_sign(self, path: Path) -> Path:
        sig = path.with_name(path.name + ".sig")
        must(self.r.run(["openssl", "dgst", "-sha384", "-sign", self.key, "-out", sig, path],
                        sync=False, timeout=900))
        return sig

    def ossl_verify(self, path: Path) -> Sample:
        return must(self.r.run(
            ["openssl", "dgst", "-sha384", "-verify", self.pub, "-signature",
             path.with_name(path.name + ".sig"), path], warm=[path]))

    # -- rows ---------------------------------------------------------------------------

    def row_sign(self) -> Row:
        row = Row("sign", f"`signer sign` {self.big // MB} MB stored",
                  goal=1.10, goal_text="≤ 1.10")
        src, out, cp_out, sig = self.in_big, self.t("out-sign.zip"), self.t("out-cp.zip"), \
            self.t("out-cp.sig")
        row.signer = Side("signer sign")
        row.peer = Side("cp + openssl dgst -sha384 -sign")

        def a():
            s = must(self.signer("sign", "--profile", "Bench", src, "-o", out, warm=[src],
                                 timeout=900))
            self.rm(out)
            return s

        def b():
            s1 = must(self.r.run(["cp", src, cp_out], warm=[src], timeout=900))
            s2 = must(self.r.run(["openssl", "dgst", "-sha384", "-sign", self.key, "-out", sig,
                                  cp_out], sync=False, timeout=900))
            self.rm(cp_out, sig)
            return combine([s1, s2])

        alternate(self.rounds, row.signer, a, row.peer, b)
        row.note = ("peer: `cp SRC COPY` then `openssl dgst -sha384 -sign key.pem COPY` "
                    "(times added; P-384 key)")
        return row

    def row_verify(self) -> Row:
        row = Row("verify", f"`signer verify` {self.big // MB} MB", goal=1.10,
                  goal_text="≤ 1.10")
        pkg = self.signed["big"]
        row.signer = Side("signer verify")
        row.peer = Side("openssl dgst -sha384 -verify")
        alternate(self.rounds, row.signer,
                  lambda: must(self.signer("verify", pkg, warm=[pkg], timeout=900)),
                  row.peer, lambda: self.ossl_verify(pkg))
        row.note = "both over the same signed package (openssl with its own signature over it)"
        return row

    def keystore(self) -> Path:
        ks = self.t("bench.p12")
        if not ks.exists():
            must(self.r.run(
                ["keytool", "-genkeypair", "-keystore", ks, "-storetype", "PKCS12",
                 "-storepass", STOREPASS, "-keypass", STOREPASS, "-alias", "bench",
                 "-keyalg", "EC", "-groupname", "secp384r1", "-sigalg", "SHA384withECDSA",
                 "-dname", "CN=signer bench", "-validity", "365"], sync=False, timeout=120))
        return ks

    def row_zip_signers(self) -> list[Row]:
        rows = []
        src, out = self.in_big, self.t("out-sign.zip")

        def signer_side():
            s = must(self.signer("sign", "--profile", "Bench", src, "-o", out, warm=[src],
                                 timeout=900))
            self.rm(out)
            return s

        # jarsigner
        row = Row("jarsigner", f"`signer sign` vs `jarsigner` ({self.big // MB} MB)",
                  goal=0.10, goal_text="≤ 0.10")
        if not shutil.which("jarsigner") or not shutil.which("keytool"):
            row.unavailable = "jarsigner/keytool not installed"
        else:
            try:
                ks = self.keystore()
                jout = self.t("out-jar.zip")

                def jar():
                    s = must(self.r.run(
                        ["jarsigner", "-keystore", ks, "-storetype", "PKCS12",
                         "-storepass", STOREPASS, "-digestalg", "SHA-384",
                         "-sigalg", "SHA384withECDSA", "-signedjar", jout, src, "bench"],
                        warm=[src], timeout=1800))
                    self.rm(jout)
                    return s

                row.signer, row.peer = Side("signer sign"), Side("jarsigner")
                alternate(self.rounds, row.signer, signer_side, row.peer, jar)
                row.note = ("jarsigner -digestalg SHA-384 -sigalg SHA384withECDSA, PKCS12 "
                            "keystore (EC secp384r1), -signedjar to a new file")
            except CmdFailed as e:
                row.error = str(e)
        rows.append(row)

        # apksigner
        row = Row("apksigner", f"`signer sign` vs `apksigner` ({self.big // MB} MB)",
                  goal_text="(report)")
        if not shutil.which("apksigner"):
            row.unavailable = "apksigner not installed (not on PATH)"
        else:
            try:
                ks = self.keystore()
                aout = self.t("out-apk.zip")

                def apk():
                    s = must(self.r.run(
                        ["apksigner", "sign", "--ks", ks, "--ks-pass", f"pass:{STOREPASS}",
                         "--ks-key-alias", "bench", "--min-sdk-version", "24",
                         "--out", aout, src], warm=[src], timeout=1800))
                    self.rm(aout, aout.with_name(aout.name + ".idsig"))
                    return s

                row.signer, row.peer = Side("signer sign"), Side("apksigner")
                alternate(self.rounds, row.signer, signer_side, row.peer, apk)
            except CmdFailed as e:
                row.error = str(e)
        rows.append(row)

        # minisign
        row = Row("minisign", f"`signer sign` vs `minisign -S` ({self.big // MB} MB)",
                  goal_text="(report)")
        if not shutil.which("minisign"):
            row.unavailable = "minisign not installed (not on PATH)"
        else:
            try:
                msk, mpk = self.t("minisign.key"), self.t("minisign.pub")
                if not msk.exists():
                    must(self.r.run(["minisign", "-G", "-W", "-f", "-p", mpk, "-s", msk],
                                    sync=False, timeout=60))
                msig = self.t("out.minisig")

                def mini():
                    s = must(self.r.run(["minisign", "-S", "-s", msk, "-m", src, "-x", msig],
                                        warm=[src], timeout=1800))
                    self.rm(msig)
                    return s

                row.signer, row.peer = Side("signer sign"), Side("minisign -S")
                alternate(self.rounds, row.signer, signer_side, row.peer, mini)
                row.note = "minisign writes a detached signature (no copy of the package)"
            except CmdFailed as e:
                row.error = str(e)
        rows.append(row)
        return rows

    def row_layer(self) -> Row:
        row = Row("layer", f"`signer layer publish` deflated layer ({self.layer_unzipped // MB}"
                  " MB unzipped)", goal=0.75, goal_text="≤ 0.75")
        if not self.signer_has("layer", "publish"):
            row.unavailable = "signer layer publish not available"
            return row
        z = self.in_layer
        row.signer, row.peer = Side("signer layer publish"), Side("unzip -tq")
        n = {"i": 0}

        def a():
            n["i"] += 1
            st = self.t(f"layer-store-{n['i']}")  # fresh store: a first publish, no dedup
            # Layer records are sealed by the root CA: the fresh store gets the bench
            # store's root (whose key the home holds), outside the timed command.
            (st / "ca").mkdir(parents=True)
            shutil.copy2(self.store / "ca" / "root.json", st / "ca" / "root.json")
            try:
                return must(self.signer("layer", "publish", "benchlayer", z,
                                        env=self.senv(store=st), warm=[z], timeout=900))
            finally:
                self.rm(st)

        alternate(self.rounds, row.signer, a, row.peer,
                  lambda: must(self.r.run(["unzip", "-tq", z], warm=[z], timeout=900)))
        row.extra["zipped_bytes"] = z.stat().st_size
        row.extra["unzipped_bytes"] = self.layer_unzipped
        row.note = (f"zip {z.stat().st_size / MB:.0f} MB, {self.layer_unzipped // MB} MB "
                    "unzipped, 1 MB text entries, ZIP_DEFLATED level 6; each publish into a "
                    "fresh file store (no dedup)")
        return row

    def row_memory(self) -> Row:
        row = Row("memory", "peak RSS of sign and verify", goal_text="≤ 64 MB and flat")
        out = self.t("out-mem.zip")
        res = {}
        for label, src, signed in (("mid", self.in_mid, self.signed["mid"]),
                                   ("big", self.in_big, self.signed["big"])):
            s_side, v_side = Side(f"sign {label}"), Side(f"verify {label}")
            reuse = self.rows.get("sign"), self.rows.get("verify")
            if label == "big" and all(r and r.signer and r.signer.samples for r in reuse):
                s_side, v_side = reuse[0].signer, reuse[1].signer
            else:
                def sgn(src=src):
                    s = must(self.signer("sign", "--profile", "Bench", src, "-o", out,
                                         warm=[src], timeout=900))
                    self.rm(out)
                    return s
                alternate(self.rounds, s_side, sgn, v_side,
                          lambda signed=signed: must(self.signer("verify", signed,
                                                                 warm=[signed], timeout=900)))
            res[label] = (s_side, v_side)
        row.extra = {
            "sizes_mb": {"mid": self.mid / MB, "big": self.big / MB},
            "sign_rss_kb": {k: v[0].rss_kb for k, v in res.items()},
            "verify_rss_kb": {k: v[1].rss_kb for k, v in res.items()},
            "errors": [e for v in res.values() for e in (v[0].error, v[1].error) if e],
        }
        if row.extra["errors"]:
            row.error = "; ".join(row.extra["errors"])
        return row

    def row_hash_floor(self) -> list[Row]:
        """Sign and verify against the two-core hash floor: `openssl dgst -sha384` over each
        half of the package, both at once (issue 11, point 8)."""
        a, b = halves(self.in_big)
        floor = ["sh", "-c", 'openssl dgst -sha384 "$1" >/dev/null & openssl dgst -sha384 "$2" '
                 '>/dev/null; wait', "floor", a, b]
        rows = []
        out = self.t("out-floor.zip")
        for key, title, cmd in (
            ("floor-sign", "`signer sign` vs the two-core SHA-384 floor",
             lambda: self.signer("sign", "--profile", "Bench", self.in_big, "-o", out,
                                 warm=[self.in_big], timeout=900)),
            ("floor-verify", "`signer verify` vs the two-core SHA-384 floor",
             lambda: self.signer("verify", self.signed["big"], warm=[self.signed["big"]],
                                 timeout=900)),
        ):
            row = Row(key, f"{title} ({self.big // MB} MB)", goal=1.25, goal_text="≤ 1.25")
            row.signer, row.peer = Side(key), Side("openssl dgst -sha384 × 2 halves at once")

            def run_signer(cmd=cmd):
                s = must(cmd())
                self.rm(out)
                return s

            alternate(self.rounds, row.signer, run_signer, row.peer,
                      lambda: must(self.r.run(floor, warm=[a, b], timeout=900)))
            rows.append(row)
        rows[-1].note = ("floor: both halves of the package hashed by two `openssl dgst -sha384` "
                         "at once, so both cores hash at OpenSSL's speed; `verify` (text output) "
                         "hashes nothing else: the whole-file SHA-256 is computed only for a "
                         "JSON verdict, which shows it")
        return rows

    def row_entries(self) -> Row:
        """Peak RSS of sign, verify and layer publish for a zip of many tiny entries, against
        the issue-11 budget of 2 × the central directory + 32 MB."""
        src = many_entries_zip(self.entries_count)
        cd = central_directory_size(src)
        budget_kb = (2 * cd + 32 * MB) // 1024
        row = Row("entries", f"peak RSS, {self.entries_count:,} entries "
                  f"({cd / MB:.0f} MB central directory)",
                  goal_text=f"≤ 2 × CD + 32 MB = {(2 * cd + 32 * MB) / MB:.0f} MB")
        out = self.t("out-entries.zip")
        sides = {}
        for label, cmd in (
            ("sign", lambda: self.signer("sign", "--profile", "Bench", src, "-o", out,
                                         warm=[src], timeout=900)),
            ("verify", lambda: self.signer("verify", out, warm=[out], timeout=900)),
            ("layer publish", lambda: self.signer("layer", "publish", "many", src,
                                                  warm=[src], timeout=900)),
        ):
            side = Side(label)
            s = cmd()
            if s.ok():
                side.samples.append(s)
            else:
                side.error = s.why()
            sides[label] = side
        self.rm(out)
        row.signer = max(sides.values(), key=lambda x: x.rss_kb or 0)
        row.extra = {"central_directory": cd, "budget_kb": budget_kb,
                     "rss_kb": {k: v.rss_kb for k, v in sides.items()},
                     "wall_s": {k: v.wall for k, v in sides.items()}}
        errors = [f"{k}: {v.error}" for k, v in sides.items() if v.error]
        if errors:
            row.error = "; ".join(errors)
        return row

    def row_jobs(self) -> Row:
        row = Row("jobs", f"jobs: {self.jobs_count} × {self.job_size // 1000} KB, "
                  "`worker --concurrency 4`")
        if not self.signer_has("sign-job", "start"):
            row.unavailable = "signer sign-job not available"
            return row
        if not self.signer_has("worker"):
            row.unavailable = "signer worker not available"
            return row
        pkgs = package_list(self.in_jobs)
        base = pkgs[: self.sign_baseline]
        out = self.t("out-job-sign.zip")
        sign_side = Side("signer sign (per file)")
        submit_side = Side("sign-job start (all jobs)")
        worker_side = Side("worker --concurrency 4 --until-idle")
        per_sign: list[Sample] = []
        counts = []

        def baseline():
            ss = []
            for p in base:
                ss.append(must(self.signer("sign", "--profile", "Bench", p, "-o", out,
                                           warm=[p], timeout=120)))
                self.rm(out)
            per_sign.extend(ss)
            return combine(ss)

        n = {"i": 0}

        def jobs():
            n["i"] += 1
            home, store = self.t(f"jobs-home-{n['i']}"), self.t(f"jobs-store-{n['i']}")
            dest = self.t(f"jobs-out-{n['i']}")
            home.mkdir(mode=0o700)
            dest.mkdir()
            env = self.senv(home=home, store=store)
            try:
                must(self.signer("init", env=env, sync=False, timeout=120))
                must(self.signer("profile", "create", "Bench", env=env, sync=False,
                                 timeout=120))
                warm_cache(self.in_jobs)
                subs = []
                for p in pkgs:
                    subs.append(must(self.signer(
                        "--output", "json", "sign-job", "start", "--profile", "Bench",
                        "--source", f"file://{p}", "--destination", f"file://{dest}/",
                        env=env, sync=False, timeout=120)))
                submit_side.samples.append(combine(subs))
                w = must(self.signer("worker", "--concurrency", "4", "--until-idle",
                                     env=env, timeout=3600))
                counts.append(len(list(dest.rglob("*.zip"))))
                return w
            finally:
                self.rm(home, store, dest)

        alternate(self.rounds, sign_side, baseline, worker_side, jobs)
        if submit_side.samples == [] and worker_side.error:
            submit_side.error = worker_side.error
        row.extra = {"jobs": len(pkgs), "baseline_files": len(base),
                     "signed_objects_per_round": counts,
                     "sign_per_file_wall_s": med([s.wall for s in per_sign]),
                     "sign_per_file_cpu_s": med([s.cpu for s in per_sign]),
                     "sign_peak_rss_kb": max((s.rss_kb for s in per_sign), default=None),
                     "submit": submit_side.as_json(), "worker": worker_side.as_json(),
                     "baseline": sign_side.as_json()}
        row.signer, row.peer = worker_side, sign_side
        errs = [e for e in (sign_side.error, worker_side.error) if e]
        if errs:
            row.error = "; ".join(errs)
        return row

    def row_cold(self) -> Row:
        row = Row("cold", "cold start: `signer verify` of a 1 KB package", goal=None,
                  goal_text="(report)")
        pkg = self.signed["tiny"]
        row.signer, row.peer = Side("signer verify"), Side("openssl dgst -sha384 -verify")
        for _ in range(self.cold_reps):
            alternate(self.rounds, row.signer,
                      lambda: must(self.signer("verify", pkg, warm=[pkg], timeout=60,
                                               sync=False)),
                      row.peer,
                      lambda: must(self.r.run(
                          ["openssl", "dgst", "-sha384", "-verify", self.pub, "-signature",
                           pkg.with_name(pkg.name + ".sig"), pkg], warm=[pkg], timeout=60,
                          sync=False)))
        row.note = (f"{pkg.stat().st_size} bytes signed package; "
                    f"{self.rounds * self.cold_reps} runs each, interleaved")
        return row

    def row_timestamp(self) -> list[Row]:
        """What an RFC 3161 timestamp costs per signature (a local TSA: openssl ts -reply
        behind tests/tsa/tsa.py) and what checking one costs in verify: a small package,
        in a store with a TSA against one without."""
        sign = Row("timestamp-sign", "`signer sign` small package, with a timestamp (local TSA)",
                   goal_text="(report)")
        verify = Row("timestamp-verify", "`signer verify` small package, with a timestamp",
                     goal_text="(report)")
        if not self.signer_has("tsa", "set"):
            sign.unavailable = verify.unavailable = "signer tsa not available"
            return [sign, verify]
        tsa_dir = self.t("tsa")
        proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "tsa" / "tsa.py"), str(tsa_dir)],
                                stdout=subprocess.PIPE, text=True)
        try:
            port = int((proc.stdout.readline() if proc.stdout else "").strip())
            home, store = self.t("tsa-home"), self.t("tsa-store")
            home.mkdir(mode=0o700)
            env = self.senv(home, store)
            must(self.signer("init", env=env, sync=False, timeout=120))
            must(self.signer("profile", "create", "Bench", env=env, sync=False, timeout=120))
            src = package_list(self.in_jobs)[0]
            plain = self.t("ts-plain.zip")
            must(self.signer("sign", "--profile", "Bench", src, "-o", plain, env=env, sync=False, timeout=120))
            must(self.signer("tsa", "set", f"http://127.0.0.1:{port}/", "--root", tsa_dir / "ca.pem",
                             env=env, sync=False, timeout=60))
            stamped = self.t("ts-stamped.zip")
            must(self.signer("sign", "--profile", "Bench", src, "-o", stamped, env=env, sync=False, timeout=120))
            out = self.t("ts-out.zip")
            sign.signer, sign.peer = Side("signer sign (timestamped)"), Side("signer sign (no TSA)")

            def with_tsa():
                s = must(self.signer("sign", "--profile", "Bench", src, "-o", out, env=env, warm=[src],
                                     timeout=120))
                self.rm(out)
                return s

            def without():
                s = must(self.signer("sign", "--profile", "Bench", src, "-o", out, warm=[src], timeout=120))
                self.rm(out)
                return s

            alternate(self.rounds, sign.signer, with_tsa, sign.peer, without)
            sign.note = ("peer: the same `signer sign` in a store with no TSA; the difference is "
                         "one round trip to the TSA and its token's checks")
            verify.signer, verify.peer = Side("signer verify (timestamped)"), Side("signer verify (untimestamped)")
            alternate(self.rounds, verify.signer,
                      lambda: must(self.signer("verify", stamped, env=env, warm=[stamped], timeout=120)),
                      verify.peer,
                      lambda: must(self.signer("verify", plain, env=env, warm=[plain], timeout=120)))
            verify.note = "the same store; the difference is checking the token (CMS, chain to the TSA root)"
        except (CmdFailed, ValueError, OSError) as e:
            sign.error = verify.error = f"setup: {e}"
        finally:
            proc.kill()
            proc.wait()
        return [sign, verify]

    def row_custody(self) -> list[Row]:
        """Signatures per second with the key in a PKCS#11 token (SoftHSM2) and in AWS KMS
        (moto's server on 127.0.0.1), next to a key file: the same jobs, one signature
        each, signed by one `worker --concurrency 4 --until-idle` that opens its key once."""
        count = min(len(package_list(self.in_jobs)), 50)
        hsm = Row("custody-pkcs11", f"key in SoftHSM2: {count} jobs, one signature each", goal_text="(report)")
        kms = Row("custody-kms", f"key in AWS KMS (moto): {count} jobs, one signature each", goal_text="(report)")
        module = Path("/usr/lib/softhsm/libsofthsm2.so")
        moto_bin = ROOT / "target" / "moto-venv" / "bin" / "moto_server"
        if not (module.is_file() and shutil.which("softhsm2-util")):
            hsm.unavailable = "SoftHSM2 not installed (apt-get install softhsm2)"
        if not moto_bin.is_file():
            kms.unavailable = "moto not installed (bash scripts/test.sh installs it in target/moto-venv)"
        pkgs = package_list(self.in_jobs)[:count]
        moto = None
        extra_env: dict[str, dict[str, str]] = {"file": {}}
        try:
            if not hsm.unavailable:
                tokens = self.t("softhsm-tokens")
                tokens.mkdir()
                conf = self.t("softhsm2.conf")
                conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n")
                pin = self.t("softhsm-pin")
                pin.write_text("1234\n")
                pin.chmod(0o600)
                must(self.r.run(["softhsm2-util", "--init-token", "--free", "--label", "bench", "--so-pin", "5678",
                                 "--pin", "1234"], env={**os.environ, "SOFTHSM2_CONF": str(conf)},
                                sync=False, timeout=60))
                extra_env["pkcs11:token=bench"] = {"SOFTHSM2_CONF": str(conf), "SIGNER_PKCS11_MODULE": str(module),
                                                   "SIGNER_PKCS11_PIN_FILE": str(pin)}
            if not kms.unavailable:
                moto, port = start_moto(moto_bin, subprocess.DEVNULL)
                extra_env["aws-kms"] = {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_ACCESS_KEY_ID": "bench",
                                        "AWS_SECRET_ACCESS_KEY": "bench", "AWS_REGION": "us-east-1"}
            n = {"i": 0}

            def round_with(key_store: str):
                n["i"] += 1
                home, store = self.t(f"custody-home-{n['i']}"), self.t(f"custody-store-{n['i']}")
                dest = self.t(f"custody-out-{n['i']}")
                home.mkdir(mode=0o700)
                dest.mkdir()
                env = {**self.senv(home=home, store=store), **extra_env[key_store]}
                try:
                    must(self.signer("init", env=env, sync=False, timeout=120))
                    must(self.signer("profile", "create", "Bench", "--key-store", key_store, env=env, sync=False,
                                     timeout=120))
                    for p in pkgs:
                        must(self.signer("sign-job", "start", "--profile", "Bench", "--source", f"file://{p}",
                                         "--destination", f"file://{dest}/", env=env, sync=False, timeout=120))
                    warm_cache(self.in_jobs)
                    w = must(self.signer("worker", "--concurrency", "4", "--until-idle", env=env, timeout=3600))
                    signed = len(list(dest.rglob("*.zip")))
                    if signed != len(pkgs):
                        raise ValueError(f"{signed} of {len(pkgs)} jobs signed")
                    return w
                finally:
                    self.rm(home, store, dest)

            for row, key_store, label in ((hsm, "pkcs11:token=bench", "SoftHSM2"), (kms, "aws-kms", "AWS KMS (moto)")):
                if row.unavailable:
                    continue
                row.signer, row.peer = Side(f"worker, key in {label}"), Side("worker, key file")
                alternate(self.rounds, row.signer, lambda k=key_store: round_with(k), row.peer,
                          lambda: round_with("file"))
                per_s = {side.name: (count / side.wall if side.wall else None) for side in (row.signer, row.peer)}
                row.extra = {"jobs": count, "signatures_per_s": per_s}
                row.note = ("signatures per second, whole jobs (read, gate, sign, write): "
                            + "; ".join(f"{k} {v:.1f}/s" for k, v in per_s.items() if v))
        except (CmdFailed, ValueError, OSError) as e:
            for row in (hsm, kms):
                if not row.unavailable and not row.error:
                    row.error = f"setup: {e}"
        finally:
            if moto is not None:
                moto.kill()
                moto.wait()
        return [hsm, kms]

    def row_list(self) -> Row:
        """`sign-job list` over 10,000 jobs on the file store, all run by a worker, against
        reading every job record with `cat` (the floor for any listing that reads them)."""
        count = 1000 if self.args.quick else 10_000
        row = Row("list", f"`sign-job list` over {count:,} finished jobs (file store)", goal_text="(report)")
        home, store, dest = self.t("list-home"), self.t("list-store"), self.t("list-out")
        home.mkdir(mode=0o700)
        dest.mkdir()
        env = self.senv(home=home, store=store)
        try:
            must(self.signer("init", env=env, sync=False, timeout=120))
            must(self.signer("profile", "create", "Bench", env=env, sync=False, timeout=120))
            src = tiny_zip()
            argv = [str(self.bin), "sign-job", "start", "--profile", "Bench", "--source", f"file://{src}",
                    "--destination", f"file://{dest}/"]

            def submit(_):
                subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               timeout=120)

            t0 = time.time()
            with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
                list(pool.map(submit, range(count)))
            submitted = time.time() - t0
            must(self.signer("worker", "--concurrency", "4", "--until-idle", env=env, sync=False, timeout=3600))
            records = [str(p) for p in (store / "jobs").rglob("*.json")]
            listing = self.t("list-records.txt")
            listing.write_text("\n".join(records))
            row.signer = Side("signer sign-job list")
            row.peer = Side("cat every job record")
            alternate(self.rounds, row.signer,
                      lambda: must(self.signer("--output", "json", "sign-job", "list", env=env,
                                               stdout=self.t("list.json"), timeout=600)),
                      row.peer,
                      lambda: must(self.r.run(["xargs", "-a", str(listing), "cat"], stdout="/dev/null",
                                              timeout=600)))
            listed = len(json.loads(self.t("list.json").read_text())["jobs"])
            if listed != count:
                raise ValueError(f"sign-job list showed {listed} jobs, not {count}")
            row.extra = {"jobs": count, "records": len(records), "submit_all_s": submitted}
            row.note = (f"{count:,} jobs ({len(records):,} records) listed; submitting them took "
                        f"{submitted:.0f} s from {os.cpu_count()} threads")
        except (CmdFailed, ValueError, OSError, subprocess.SubprocessError, json.JSONDecodeError) as e:
            row.error = f"setup: {e}"
        finally:
            self.rm(home, store, dest)
        return row

    def row_requests(self) -> list[Row]:
        """S3 requests per `sign-job start` and per processed job, counted from moto's
        request log: jobs from an S3 bucket to an S3 bucket, the store on S3 too, and
        `worker --concurrency 4 --until-idle` on 4 processes at once."""
        jobs = 100 if self.args.quick else 1000
        workers = 4
        start = Row("requests-start", f"S3 requests per `sign-job start` ({jobs} jobs)", goal_text="≤ 6")
        work = Row("requests-job", f"S3 requests per processed job ({jobs} jobs, {workers} workers)",
                   goal_text="≤ 12")
        moto_bin = ROOT / "target" / "moto-venv" / "bin" / "moto_server"
        python = moto_bin.with_name("python")
        if not moto_bin.is_file():
            start.unavailable = work.unavailable = "moto not installed (bash scripts/test.sh installs it)"
            return [start, work]
        log_path = self.t("moto-requests.log")
        log = open(log_path, "w")
        moto, port = start_moto(moto_bin, log)

        def requests() -> int:
            with open(log_path) as f:
                return sum(1 for line in f if 'HTTP/1.1" ' in line)

        try:
            endpoint = f"http://127.0.0.1:{port}"
            aws = {"AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                   "AWS_REGION": "us-east-1", "AWS_ALLOW_HTTP": "true"}
            seed = (
                "import boto3, io, zipfile, sys\n"
                f"s3 = boto3.client('s3', endpoint_url='{endpoint}', region_name='us-east-1', "
                "aws_access_key_id='bench', aws_secret_access_key='bench')\n"
                "for b in ('store', 'src', 'dst'): s3.create_bucket(Bucket=b)\n"
                f"for i in range({jobs}):\n"
                "    buf = io.BytesIO()\n"
                "    with zipfile.ZipFile(buf, 'w', zipfile.ZIP_DEFLATED) as z:\n"
                "        z.writestr('index.js', 'exports.handler = () => %d;\\n' % i)\n"
                "    s3.put_object(Bucket='src', Key='in/%d.zip' % i, Body=buf.getvalue())\n"
            )
            must(self.r.run([str(python), "-c", seed], env={**os.environ, **aws}, sync=False, timeout=1200))
            home = self.t("requests-home")
            home.mkdir(mode=0o700)
            env = {**self.senv(home=home), **aws, "SIGNER_STORE": "s3://store"}
            must(self.signer("init", env=env, sync=False, timeout=120))
            must(self.signer("profile", "create", "Bench", env=env, sync=False, timeout=120))
            before = requests()
            subs = []
            for i in range(jobs):
                subs.append(must(self.signer("sign-job", "start", "--profile", "Bench", "--source",
                                             f"s3://src/in/{i}.zip", "--destination", "s3://dst/out/",
                                             env=env, sync=False, timeout=120)))
            submitted = requests()
            t0 = time.time()
            procs = [subprocess.Popen([str(self.bin), "worker", "--concurrency", "4", "--until-idle"], env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                     for _ in range(workers)]
            codes = [p.wait(timeout=3600) for p in procs]
            wall = time.time() - t0
            done = requests()
            if any(codes):
                raise ValueError(f"a worker exited {codes}")
            per_start = (submitted - before) / jobs
            per_job = (done - submitted) / jobs
            start.extra = {"requests": submitted - before, "jobs": jobs, "per_start": per_start,
                           "submit_median_wall_s": med([x.wall for x in subs])}
            work.extra = {"requests": done - submitted, "jobs": jobs, "workers": workers, "per_job": per_job,
                          "wall_s": wall}
            start.note = f"{per_start:.1f} requests per submission"
            t1 = time.time()
            must(self.signer("--output", "json", "sign-job", "list", env=env, sync=False, timeout=600,
                             stdout=self.t("requests-list.json")))
            list_wall = time.time() - t1
            list_requests = requests() - done
            if len(json.loads(self.t("requests-list.json").read_text())["jobs"]) != jobs:
                raise ValueError("sign-job list did not show every job")
            work.extra.update({"list_requests": list_requests, "list_wall_s": list_wall})
            work.note = (f"{per_job:.1f} requests per job; {jobs} jobs in {wall:.1f} s on moto; "
                         f"`sign-job list` of them: {list_requests} requests, {list_wall:.1f} s")
        except (CmdFailed, ValueError, OSError, subprocess.TimeoutExpired) as e:
            start.error = work.error = f"setup: {e}"
        finally:
            moto.kill()
            moto.wait()
            log.close()
        return [start, work]

    def row_deploy(self) -> list[Row]:
        small = Row("deploy-small", "`signer deploy check`: function + 5 signed small layers",
                    goal_text="(report)")
        large = Row("deploy-large", f"`signer deploy check`: {self.big // MB} MB function + "
                    "5 signed small layers", goal_text="(report)")
        if not self.signer_has("deploy", "check"):
            small.unavailable = large.unavailable = "signer deploy check not available"
            return [small, large]
        try:
            if not self.signer_has("layer", "publish"):
                raise RuntimeError("signer layer publish not available (needed for layers)")
            pkgs = package_list(self.in_jobs)
            layer_files = []
            for i in range(5):
                s = must(self.signer("--output", "json", "layer", "publish", f"benchdep{i}",
                                     pkgs[i], "--sign", "Bench", sync=False, timeout=120))
                ref = json.loads(s.stdout).get("layer", f"benchdep{i}:1")
                lf = self.t(f"deploy-layer-{i}.zip")
                g = self.signer("layer", "get", ref, "-o", lf, sync=False, timeout=120)
                if not g.ok():  # fall back to the source bytes for the peer
                    shutil.copy2(pkgs[i], lf)
                self.ossl_sign(lf)
                layer_files.append((ref, lf))
            fn_small = self.t("deploy-fn-small.zip")
            must(self.signer("sign", "--profile", "Bench", pkgs[5], "-o", fn_small,
                             sync=False, timeout=120))
            self.ossl_sign(fn_small)
            csc = None
            if self.signer_has("csc", "create"):
                s = must(self.signer("--output", "json", "csc", "create",
                                     "--allowed-publisher", f"Bench/{self.profile_version}",
                                     sync=False, timeout=60))
                d = json.loads(s.stdout)
                csc = d.get("id") or d.get("csc_id") or (d.get("csc") or {}).get("id")
            small.extra["csc"] = csc
        except (CmdFailed, RuntimeError, json.JSONDecodeError, KeyError) as e:
            small.error = large.error = f"setup: {e}"
            return [small, large]

        for row, code in ((small, fn_small), (large, self.signed["big"])):
            doc = {"function": "bench", "code": str(code),
                   "layers": [ref for ref, _ in layer_files], "memory_mb": 1024,
                   "ephemeral_storage_mb": 512, "timeout_s": 30}
            if csc:
                doc["code_signing_config"] = csc
            jf = self.t(f"deploy-{row.key}.json")
            jf.write_text(json.dumps(doc))
            files = [code] + [lf for _, lf in layer_files]
            row.signer = Side("signer deploy check")
            row.peer = Side("openssl dgst -verify × 6")
            alternate(self.rounds, row.signer,
                      lambda jf=jf, code=code: must(self.signer(
                          "deploy", "check", jf, warm=[jf, code], timeout=900)),
                      row.peer,
                      lambda files=files: combine([self.ossl_verify(f) for f in files]))
            row.note = ("peer: six `openssl dgst -sha384 -verify` processes, one per package "
                        "(times added)" + ("" if csc else "; no CSC (csc create unavailable)"))
        return [small, large]

    def row_hash(self) -> Row:
        row = Row("hash", f"hash-speed reference ({self.big // MB} MB)", goal_text="(context)")
        f = self.in_big
        cmds = {
            "cat > /dev/null": (["cat", f], "/dev/null"),
            "sha384sum": (["sha384sum", f], None),
            "openssl dgst -sha384": (["openssl", "dgst", "-sha384", f], None),
            "sha256sum": (["sha256sum", f], None),
            "cp": (["cp", f, self.t("out-hash-cp.zip")], None),
        }
        sides = {k: Side(k) for k in cmds}
        for r in range(self.rounds):
            keys = list(cmds) if r % 2 == 0 else list(reversed(cmds))
            for k in keys:
                side = sides[k]
                if side.error:
                    continue
                argv, so = cmds[k]
                s = self.r.run(argv, stdout=so, warm=[f], timeout=900)
                self.rm(self.t("out-hash-cp.zip"))
                if s.ok():
                    side.samples.append(s)
                else:
                    side.error = s.why()
        row.extra = {k: v.as_json() for k, v in sides.items()}
        row.extra["bytes"] = f.stat().st_size
        # Which hash: ring, sha2 and OpenSSL in memory, and the chunked content digest.
        speed = ROOT / "target" / "release" / "examples" / "hashspeed"
        mib = 32 if self.quick else 256
        s = self.r.run([speed, str(mib)], sync=False, timeout=900) if speed.exists() else None
        if s is not None and s.ok():
            row.extra["inmemory"] = {"mib": mib,
                            "rows": [json.loads(ln) for ln in s.stdout.splitlines() if ln]}
        else:
            row.extra["inmemory"] = {"error": s.why() if s else f"{speed} not built"}
        return row

    def where_time_goes(self) -> None:
        parts = []
        # perf stat
        if shutil.which("perf") and self.r.run(["perf", "stat", "-e", "task-clock", "true"],
                                               sync=False, timeout=60).ok():
            big, sbig = self.in_big, self.signed["big"]
            main_env, fresh_env = self.senv(), self.senv(store=self.t("perf-store"))
            cmds = [
                ("signer sign", [self.bin, "sign", "--profile", "Bench", big, "-o",
                                 self.t("out-perf.zip")], [big], main_env),
                ("cp", ["cp", big, self.t("out-perf.zip")], [big], None),
                ("openssl dgst -sha384 -sign", ["openssl", "dgst", "-sha384", "-sign",
                                                self.key, "-out", self.t("perf.sig"), big],
                 [big], None),
                ("signer verify", [self.bin, "verify", sbig], [sbig], main_env),
                ("openssl dgst -sha384 -verify", ["openssl", "dgst", "-sha384", "-verify",
                                                  self.pub, "-signature", str(sbig) + ".sig",
                                                  sbig], [sbig], None),
            ]
            if self.signer_has("layer", "publish"):
                cmds += [
                    ("signer layer publish", [self.bin, "layer", "publish", "perflayer",
                                              self.in_layer], [self.in_layer], fresh_env),
                    ("unzip -tq", ["unzip", "-tq", self.in_layer], [self.in_layer], None),
                ]
            lines = ["| command | elapsed s | task-clock s | CPUs utilized | user s | sys s | "
                     "context switches | page faults |",
                     "|---|---:|---:|---:|---:|---:|---:|---:|"]
            for name, argv, warm, env in cmds:
                s = self.r.run(["perf", "stat", "-e", "task-clock,context-switches,page-faults",
                                "--", *argv], env=env or self.senv(), warm=warm, timeout=900)
                self.rm(self.t("out-perf.zip"), self.t("perf.sig"), self.t("perf-store"))
                if not s.ok():
                    lines.append(f"| {name} | failed: {s.why()} |||||||")
                    continue
                p = parse_perf(s.stderr)
                lines.append(
                    f"| {name} | {p.get('elapsed', 0):.3f} | {p.get('task-clock', 0):.3f} | "
                    f"{p.get('cpus', 0):.2f} | {p.get('user', 0):.3f} | {p.get('sys', 0):.3f} | "
                    f"{int(p.get('context-switches', 0))} | {int(p.get('page-faults', 0))} |")
            parts.append(
                f"`perf stat -e task-clock,context-switches,page-faults`, one warm run each "
                f"({self.big // MB} MB package; layer: the deflated layer):\n\n" + "\n".join(lines))
        else:
            parts.append("`perf stat` is not available on this machine (or not permitted).")

        # callgrind
        if shutil.which("valgrind") and shutil.which("callgrind_annotate"):
            for label, argv in (
                ("sign", [self.bin, "sign", "--profile", "Bench", self.in_cg, "-o",
                          self.t("out-cg.zip")]),
                ("verify", [self.bin, "verify", self.signed["cg"]]),
            ):
                cg = self.t(f"callgrind.{label}.out")
                s = self.r.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={cg}",
                                *argv], env=self.senv(), timeout=1800)
                self.rm(self.t("out-cg.zip"))
                if not s.ok():
                    parts.append(f"callgrind of `signer {label}` failed: {s.why()}")
                    continue
                a = self.r.run(["callgrind_annotate", cg], sync=False, timeout=300)
                top = callgrind_top(a.stdout, 10)
                parts.append(
                    f"`valgrind --tool=callgrind` of `signer {label}` on a "
                    f"{self.callgrind_size // MB} MB stored package (instruction counts, "
                    f"independent of machine noise; top 10 functions by own instructions, "
                    f"`callgrind_annotate`; under valgrind's simulated CPU, libraries may pick "
                    f"other code paths than on this CPU):\n\n```\n{top}\n```")
                self.rm(cg)
        else:
            parts.append("valgrind is not installed: no callgrind profile.")
        self.sections["where"] = "\n\n".join(parts)

    # -- machine ------------------------------------------------------------------------

    def machine(self) -> None:
        cpu = "unknown"
        flags = set()
        try:
            txt = Path("/proc/cpuinfo").read_text()
            m = re.search(r"^model name\s*:\s*(.+)$", txt, re.M)
            cpu = m.group(1).strip() if m else cpu
            m = re.search(r"^flags\s*:\s*(.+)$", txt, re.M)
            flags = set(m.group(1).split()) if m else set()
        except OSError:
            pass
        mem = "unknown"
        try:
            m = re.search(r"MemTotal:\s*(\d+) kB", Path("/proc/meminfo").read_text())
            mem = f"{int(m.group(1)) / 1024 / 1024:.1f} GiB"
        except (OSError, AttributeError):
            pass

        def out(argv, timeout=30):
            s = self.r.run(argv, sync=False, timeout=timeout)
            return (s.stdout + s.stderr).strip() if not s.missing else "not installed"

        commit = out(["git", "-C", ROOT, "rev-parse", "--short=12", "HEAD"])
        dirty = [ln for ln in out(["git", "-C", ROOT, "status", "--porcelain"]).splitlines()
                 if ln.strip()]
        fs = out(["stat", "-f", "-c", "%T", BENCH])
        java = out(["java", "-version"]).splitlines()
        self.info.update({
            "cpu": cpu,
            "cores": os.cpu_count(),
            "cores_available": len(os.sched_getaffinity(0)),
            "cpu_flags": " ".join(f for f in ("sha_ni", "avx2", "avx512f", "bmi2", "sha512")
                                  if f in flags) or "none of sha_ni/avx2/avx512f",
            "memory": mem,
            "kernel": f"{platform.system()} {platform.release()}",
            "filesystem": fs,
            "commit": commit,
            "dirty_files": len(dirty),
            "rustc": out(["rustc", "-V"]),
            "openssl": out(["openssl", "version"]),
            "java": java[0] if java else "",
            "unzip": out(["unzip", "-v"]).splitlines()[0] if shutil.which("unzip") else "not installed",
            "python": platform.python_version(),
            "peers": {t: (shutil.which(t) or "not installed") for t in
                      ("openssl", "jarsigner", "keytool", "apksigner", "minisign", "unzip",
                       "sha384sum", "perf", "valgrind")},
        })

    # -- main -----------------------------------------------------------------------------

    def run_all(self) -> None:
        only = set(self.args.only.split(",")) if self.args.only else None
        self.info["load_start"] = os.getloadavg()
        self.info["started"] = dt.datetime.now(dt.timezone.utc)
        steps = [
            ("sign", self.row_sign), ("verify", self.row_verify),
            ("zipsigners", self.row_zip_signers), ("layer", self.row_layer),
            ("memory", self.row_memory), ("jobs", self.row_jobs), ("cold", self.row_cold),
            ("deploy", self.row_deploy), ("hash", self.row_hash),
            ("floor", self.row_hash_floor), ("entries", self.row_entries),
            ("timestamp", self.row_timestamp), ("custody", self.row_custody),
            ("requests", self.row_requests), ("list", self.row_list),
        ]
        for key, fn in steps:
            if only and key not in only:
                continue
            self.info.setdefault("load_samples", []).append(os.getloadavg()[0])
            self.log(f"row {key} …")
            t0 = time.time()
            try:
                res = fn()
            except Exception as e:  # noqa: BLE001 - one row's failure must not stop others
                res = Row(key, key, error=f"{type(e).__name__}: {e}")
                traceback.print_exc()
            for row in res if isinstance(res, list) else [res]:
                self.rows[row.key] = row
                self.log(f"  {row.key}: {summary_line(row)}")
            self.log(f"  ({time.time() - t0:.0f}s)")
        if not only or "profile" in only:
            self.log("where the time goes (perf stat, callgrind) …")
            try:
                self.where_time_goes()
            except Exception as e:  # noqa: BLE001
                self.sections["where"] = f"profiling failed: {type(e).__name__}: {e}"
                traceback.print_exc()
        self.info["load_end"] = os.getloadavg()
        self.info.setdefault("load_samples", []).append(self.info["load_end"][0])
        self.info["finished"] = dt.datetime.now(dt.timezone.utc)


def parse_perf(text: str) -> dict[str, float]:
    """Figures from `perf stat`'s human output (LC_ALL=C)."""
    p: dict[str, float] = {}

    def num(x: str) -> float:
        return float(x.replace(",", ""))

    for ln in text.splitlines():
        if m := re.match(r"^\s*([\d.,]+)\s+msec\s+task-clock.*?#\s*([\d.]+)\s+CPUs", ln):
            p["task-clock"], p["cpus"] = num(m.group(1)) / 1000, num(m.group(2))
        elif m := re.match(r"^\s*([\d.,]+)\s+(context-switches|page-faults)\b", ln):
            p[m.group(2)] = num(m.group(1))
        elif m := re.match(r"^\s*([\d.]+)\s+seconds\s+(time elapsed|user|sys)", ln):
            p[{"time elapsed": "elapsed"}.get(m.group(2), m.group(2))] = num(m.group(1))
    return p


def _short_cg(line: str) -> str:
    """`  1,234 (5.0%)  /long/path/file.S:function [object]` -> `  1,234 (5.0%)  function`."""
    m = re.match(r"^(\s*[\d,]+\s+\([^)]*\))\s+(.*)$", line)
    if not m:
        return line
    rest = re.sub(r"\s+\[[^\]]*\]$", "", m.group(2))
    if ":" in rest:
        path, func = rest.split(":", 1)
        if "/" in path or path == "???":
            rest = func
    rest = rest if len(rest) <= 140 else rest[:137] + "..."
    return f"{m.group(1)}  {rest}"


def callgrind_top(text: str, n: int) -> str:
    lines = text.splitlines()
    total = next((ln for ln in lines if "PROGRAM TOTALS" in ln), "")
    out, started = [], False
    for ln in lines:
        if "file:function" in ln:
            started = True
            out.append(ln.rstrip())
            continue
        if started:
            if ln.startswith("--") or not ln.strip():
                if len(out) > 1:
                    break
                continue
            out.append(_short_cg(ln.rstrip()))
            if len(out) > n:
                break
    return "\n".join(([total.strip(), ""] if total else []) + out)


# ---------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------


def fs_(x, digits=3):
    return "—" if x is None else f"{x:.{digits}f} s"


def fmb(kb):
    return "—" if kb is None else f"{kb / 1024:.1f} MB"


def fratio(r):
    return "—" if r is None else f"{r:.2f}"


def fmet(m):
    return "—" if m is None else ("**met**" if m else "**not met**")


def summary_line(row: Row) -> str:
    if row.unavailable:
        return row.unavailable
    if row.key == "jobs" and not row.error:
        w, n = (row.extra.get("worker") or {}).get("median_wall_s"), row.extra.get("jobs")
        sp = row.extra.get("sign_per_file_wall_s")
        if w and sp:
            return f"{n / w:.0f} jobs/s, {w / n * 1000:.1f} ms/job vs sign {sp * 1000:.1f} ms/file"
    bits = []
    if row.signer:
        bits.append(f"signer {fs_(row.signer.wall)}")
    if row.peer:
        bits.append(f"peer {fs_(row.peer.wall)}")
    if row.ratio is not None:
        bits.append(f"ratio {row.ratio:.2f}")
    if row.error:
        bits.append(f"ERROR {row.error}")
    return ", ".join(bits) or "done"


def memory_verdict(row: Row):
    e = row.extra
    vals = [v for d in (e.get("sign_rss_kb", {}), e.get("verify_rss_kb", {})) for v in d.values()]
    if not vals or None in vals or len(vals) < 4:
        return None, None
    peak_ok = max(vals) <= 64 * 1024
    growth = max(e["sign_rss_kb"]["big"] - e["sign_rss_kb"]["mid"],
                 e["verify_rss_kb"]["big"] - e["verify_rss_kb"]["mid"])
    flat_ok = growth <= 8 * 1024
    return peak_ok and flat_ok, growth


def render(b: Bench, argv: list[str]) -> str:
    i = b.info
    started = i["started"].strftime("%Y-%m-%d %H:%M UTC")
    cmd = "python3 bench/run.py" + (" " + shlex.join(argv) if argv else "")
    L = []
    L.append("# Benchmarks\n")
    if b.quick:
        L.append("> **Smoke run (`--quick`)**: inputs are 10× smaller and rounds fewer; these "
                 "figures prove the harness works, they are not the issue's figures. The full "
                 "run is `python3 bench/run.py`.\n")
    L.append(f"Generated by `{cmd}` on {started} "
             f"(took {(i['finished'] - i['started']).total_seconds() / 60:.1f} min). "
             "Reproduce with that command from the repository root; it builds "
             "`cargo build --release` first and caches its generated inputs under "
             "`target/bench/inputs` (`--regen` rebuilds them).\n")
    dirty = f" + uncommitted changes in {i['dirty_files']} files" if i["dirty_files"] else ""
    L.append("## Machine\n")
    L.append(f"- CPU: {i['cpu']}, {i['cores']} cores ({i['cores_available']} available to "
             f"the run); flags: {i['cpu_flags']}")
    L.append(f"- Memory: {i['memory']}; {i['kernel']}; target/ on {i['filesystem']}")
    L.append(f"- Load average (1/5/15 min) at start {fmt_load(i['load_start'])}, at end "
             f"{fmt_load(i['load_end'])}, highest 1-min load seen between rows "
             f"{max(i['load_samples']):.2f}" + (
                 " — **the machine was busy: expect noise**"
                 if max(i["load_samples"] + [i["load_start"][0]]) >= 1.5 else ""))
    L.append(f"- signer: commit `{i['commit']}`{dirty}; {i['rustc']}; release build "
             f"(binary of {i['binary_mtime']}, copied for the run)")
    L.append(f"- Peers: {i['openssl']}; {i['java']} (jarsigner); {i['unzip']}; Python "
             f"{i['python']}")
    missing = [t for t, p in i["peers"].items() if p == "not installed"]
    if missing:
        L.append(f"- Not installed (reported, not skipped): {', '.join(missing)}")
    if i.get("installed_peers"):
        L.append(f"- Installed for this run from the distribution's packages: "
                 f"{', '.join(i['installed_peers'])}")
    L.append("")
    L.append("## Method\n")
    L.append(f"- {b.rounds} rounds; in each round signer and the peer run one after the other, "
             "and the order is swapped every round (A B, B A, …). Figures are medians over "
             "the rounds; ratio = signer median / peer median (below 1: signer is faster).")
    if i.get("probe_error"):
        L.append("- Wall time is from spawn to reap of the process (`posix_spawn` + `wait4`); "
                 "CPU is its user + system time. **The probe could not be built** "
                 f"({i['probe_error']}): peak RSS figures include the harness's own.")
    else:
        L.append("- Each command is started by a tiny probe (`bench/probe.rs`, built with "
                 "`rustc -O`) that times it from spawn to reap and takes its `ru_maxrss` and "
                 "user + system CPU time from `wait4`, so the peak RSS is the command's own "
                 "(spawned from the Python harness directly, Linux would report at least the "
                 "harness's size). Floor of the method: `true` measures "
                 f"{fmb(i.get('rss_floor_kb'))}. Peak RSS is the largest over the rounds.")
    L.append("- Page cache warm: before every timed command its inputs are read once (the "
             "equivalent of `cat FILE > /dev/null`) and `sync` runs, so all runs read from "
             "memory and start with no dirty pages; then the harness waits (at most 2 s) until "
             "the CPUs have been idle for 0.1 s, so no run pays for the writeback of the one "
             "before; outputs are deleted after each run.")
    L.append(f"- Inputs (generated): a {b.big // MB} MB STORED package of random bytes "
             f"(10 MB entries); a {b.mid / MB:g} MB one for the memory row; a deflated layer of "
             f"{b.layer_unzipped // MB} MB unzipped text (1 MB entries, level 6); "
             f"{b.jobs_count} packages of {b.job_size // 1000} KB; a 1 KB package. "
             "(MB = 10^6 bytes.) A throwaway `SIGNER_HOME` and file store with `signer init` and an "
             "ECDSA-P384-SHA384 profile; the openssl key is P-384 too.")
    L.append("")

    L.append("## Results\n")
    L.append("| # | measurement | signer | peer | peer time | ratio | goal | result | "
             "signer peak RSS | peer peak RSS |")
    L.append("|---|---|---:|---|---:|---:|---|---|---:|---:|")
    order = [("1", "sign"), ("2", "verify"), ("3a", "jarsigner"), ("3b", "apksigner"),
             ("3c", "minisign"), ("4", "layer"), ("5", "memory"), ("6", "jobs"),
             ("7", "cold"), ("8a", "deploy-small"), ("8b", "deploy-large"),
             ("9a", "floor-sign"), ("9b", "floor-verify"), ("10", "entries"),
             ("11a", "timestamp-sign"), ("11b", "timestamp-verify"),
             ("12a", "custody-pkcs11"), ("12b", "custody-kms"),
             ("13a", "requests-start"), ("13b", "requests-job"), ("13c", "list")]
    for num, key in order:
        row = b.rows.get(key)
        if row is None:
            continue
        L.append(table_line(num, row))
    L.append("")
    errs = [(k, r.error) for k, r in b.rows.items() if r.error]
    if errs:
        L.append("Errors:\n")
        for k, e in errs:
            L.append(f"- `{k}`: {e}")
        L.append("")
    notes = [(k, r.note) for k, r in b.rows.items() if r.note]
    if notes:
        L.append("Notes:\n")
        for k, n in notes:
            L.append(f"- `{k}`: {n}")
        L.append("")

    mem = b.rows.get("memory")
    if mem and mem.extra.get("sign_rss_kb"):
        e = mem.extra
        ok, growth = memory_verdict(mem)
        L.append("## Peak memory (row 5)\n")
        L.append(f"| command | {e['sizes_mb']['mid']:g} MB | {e['sizes_mb']['big']:g} MB |")
        L.append("|---|---:|---:|")
        L.append(f"| signer sign | {fmb(e['sign_rss_kb'].get('mid'))} | "
                 f"{fmb(e['sign_rss_kb'].get('big'))} |")
        L.append(f"| signer verify | {fmb(e['verify_rss_kb'].get('mid'))} | "
                 f"{fmb(e['verify_rss_kb'].get('big'))} |")
        L.append("")
        L.append("Goal: ≤ 64 MB, and flat — taken here as growing by at most 8 MB while the "
                 f"package grows 10×. Largest growth: {fmb(growth)}; result: {fmet(ok)}.\n")

    jobs = b.rows.get("jobs")
    if jobs and (jobs.extra.get("worker") or jobs.unavailable):
        L.append("## Jobs (row 6, issue 3)\n")
        if jobs.unavailable:
            L.append(jobs.unavailable + ".\n")
        else:
            e = jobs.extra
            w, s, base = e["worker"], e["submit"], e["baseline"]
            n = e["jobs"]
            wall = w["median_wall_s"]
            sub = s["median_wall_s"]
            sp = e["sign_per_file_wall_s"]
            L.append(f"{n} jobs of {b.job_size // 1000} KB on the file store; submission "
                     "(one `signer sign-job start` process per job, one after the other) is "
                     "measured apart from processing (one `signer worker --concurrency 4 "
                     "--until-idle`). Each round uses a fresh store. Signed objects found per "
                     f"round: {e['signed_objects_per_round']}.\n")
            L.append("| measurement | median | per job | jobs/s | CPU per job | peak RSS |")
            L.append("|---|---:|---:|---:|---:|---:|")
            if sub:
                L.append(f"| submission ({n} × `sign-job start`) | {fs_(sub, 2)} | "
                         f"{sub / n * 1000:.1f} ms | {n / sub:.0f} | "
                         f"{(s['median_cpu_s'] or 0) / n * 1000:.1f} ms | "
                         f"{fmb(s['peak_rss_kb'])} |")
            if wall:
                L.append(f"| processing (`worker --concurrency 4`) | {fs_(wall, 2)} | "
                         f"{wall / n * 1000:.1f} ms | **{n / wall:.0f}** | "
                         f"{(w['median_cpu_s'] or 0) / n * 1000:.1f} ms | "
                         f"{fmb(w['peak_rss_kb'])} |")
            if sp:
                L.append(f"| `signer sign` of the same files, sequential (baseline, "
                         f"{e['baseline_files']} files) | {fs_(base['median_wall_s'], 2)} | "
                         f"{sp * 1000:.1f} ms | {1 / sp:.0f} | "
                         f"{(e['sign_per_file_cpu_s'] or 0) * 1000:.1f} ms | "
                         f"{fmb(e['sign_peak_rss_kb'])} |")
            L.append("")
            if wall and sp:
                pj = wall / n
                L.append(f"Per-job overhead of the worker over `signer sign` of the same file: "
                         f"{(pj - sp) * 1000:+.1f} ms wall per job ({pj / sp:.2f}×); CPU "
                         f"{((w['median_cpu_s'] or 0) / n - (e['sign_per_file_cpu_s'] or 0)) * 1000:+.1f} "
                         "ms per job. End to end (submission + processing): "
                         f"{((sub or 0) + wall) / n * 1000:.1f} ms per job.\n")

    hashrow = b.rows.get("hash")
    if hashrow and hashrow.extra:
        e = hashrow.extra
        size = e["bytes"]
        L.append(f"## Hash-speed reference (row 9, {size / MB:.0f} MB file)\n")
        L.append("| command | median | MB/s | peak RSS |")
        L.append("|---|---:|---:|---:|")
        for k, v in e.items():
            if k in ("bytes", "inmemory"):
                continue
            if v["error"]:
                L.append(f"| `{k}` | {v['error']} | | |")
                continue
            m = v["median_wall_s"]
            L.append(f"| `{k}` | {fs_(m)} | {size / MB / m:.0f} | {fmb(v['peak_rss_kb'])} |")
        for key, name in (("sign", "signer sign"), ("verify", "signer verify")):
            r = b.rows.get(key)
            if r and r.signer and r.signer.wall:
                L.append(f"| `{name}` (row {1 if key == 'sign' else 2}) | {fs_(r.signer.wall)} "
                         f"| {size / MB / r.signer.wall:.0f} | {fmb(r.signer.rss_kb)} |")
        L.append("")
        mem = e.get("inmemory") or {}
        L.append(f"### Which hash (in memory, best of 3; `cargo run --release --example "
                 f"hashspeed {mem.get('mib', 256)}`)\n")
        if "rows" in mem:
            L.append("| hash | MB/s |")
            L.append("|---|---:|")
            for r in mem["rows"]:
                L.append(f"| {r['what']} | {r['mb_per_s']:.0f} |")
            L.append("")
            L.append("signer hashes the content digest's chunks with OpenSSL's libcrypto "
                     "(`format::digest`), the fastest SHA-384 of the rows above on this CPU, and "
                     "uses ring for signatures and the whole-package SHA-256.\n")
        else:
            L.append(f"not measured: {mem.get('error', 'the row did not run')}\n")
        same_hash_floor(b, e, mem, L)
        floor = (e.get("openssl dgst -sha384") or {}).get("median_wall_s")
        v = b.rows.get("verify")
        if floor and v and v.signer and v.signer.wall:
            L.append(f"`signer verify` / `openssl dgst -sha384` (the read-and-hash floor): "
                     f"{v.signer.wall / floor:.2f}.\n")

    L.append("## Where the time goes\n")
    L.append(b.sections.get("where", "not run (`--only` without `profile`)."))
    L.append("")

    # The reasoning behind the goals that are not met is written by people, in
    # bench/ANALYSIS.md, and carried into every report.
    analysis = Path(__file__).with_name("ANALYSIS.md")
    if analysis.exists():
        L.append(analysis.read_text().rstrip() + "\n")

    L.append("## Samples (wall seconds per round)\n")
    L.append("| row | side | samples | median CPU |")
    L.append("|---|---|---|---:|")
    for key, row in b.rows.items():
        for side in (row.signer, row.peer):
            if side and side.samples:
                walls = side.walls()
                shown = ", ".join(f"{w:.3f}" for w in walls[:12]) + (
                    f", … ({len(walls)} runs)" if len(walls) > 12 else "")
                L.append(f"| {key} | {side.name} | {shown} | {fs_(side.cpu)} |")
    L.append("")
    L.append(f"Raw figures of this run: `target/bench/last-run.json`.\n")
    return "\n".join(L)


def fmt_load(t):
    return "/".join(f"{x:.2f}" for x in t)


def table_line(num: str, row: Row) -> str:
    if row.unavailable:
        return (f"| {num} | {row.title} | — | {row.unavailable} | — | — | {row.goal_text} | "
                "not measured | — | — |")
    if row.key == "memory":
        e = row.extra
        ok, growth = memory_verdict(row)
        vals = [v for d in (e.get("sign_rss_kb", {}), e.get("verify_rss_kb", {}))
                for v in d.values() if v]
        peak = max(vals) if vals else None
        return (f"| {num} | {row.title} | {fmb(peak)} peak; growth {fmb(growth)} "
                f"({e['sizes_mb']['mid']:g}→{e['sizes_mb']['big']:g} MB) | — | — | — | "
                f"{row.goal_text} | {fmet(ok)} | {fmb(peak)} | — |")
    if row.key == "entries":
        e = row.extra
        rss = e.get("rss_kb", {})
        peak = max((v for v in rss.values() if v), default=None)
        each = "; ".join(f"{k} {fmb(v)}" for k, v in rss.items())
        ok = None if peak is None else peak <= e["budget_kb"]
        return (f"| {num} | {row.title} | {each} | — | — | — | {row.goal_text} | {fmet(ok)} | "
                f"{fmb(peak)} | — |")
    if row.key in ("requests-start", "requests-job"):
        e = row.extra
        per = e.get("per_start", e.get("per_job"))
        limit = 6 if row.key == "requests-start" else 12
        shown = "—" if per is None else f"{per:.1f} requests"
        ok = None if per is None else per <= limit
        result = "error (below)" if row.error else fmet(ok)
        return f"| {num} | {row.title} | {shown} | — | — | — | {row.goal_text} | {result} | — | — |"
    if row.key == "jobs":
        e = row.extra
        w = (e.get("worker") or {}).get("median_wall_s")
        sp = e.get("sign_per_file_wall_s")
        n = e.get("jobs", 0)
        sig = f"{n / w:.0f} jobs/s ({w / n * 1000:.1f} ms/job)" if w else "—"
        peer = f"{sp * 1000:.1f} ms/file" if sp else "—"
        ratio = f"{(w / n) / sp:.2f}" if w and sp else "—"
        return (f"| {num} | {row.title} | {sig} | `signer sign` per file | {peer} | {ratio} | "
                f"(report) | — | {fmb(row.signer.rss_kb if row.signer else None)} | "
                f"{fmb(row.peer.rss_kb if row.peer else None)} |")
    sw = row.signer.wall if row.signer else None
    pw = row.peer.wall if row.peer else None
    if row.goal is not None:
        result = fmet(row.met)
    else:
        result = "—"
    if row.error and row.ratio is None:
        result = "error (below)"
    cold = row.key == "cold"
    f = (lambda x: "—" if x is None else f"{x * 1000:.1f} ms") if cold else fs_
    return (f"| {num} | {row.title} | {f(sw)} | {row.peer.name if row.peer else '—'} | "
            f"{f(pw)} | {fratio(row.ratio)} | {row.goal_text} | {result} | "
            f"{fmb(row.signer.rss_kb if row.signer else None)} | "
            f"{fmb(row.peer.rss_kb if row.peer else None)} |")


def same_hash_floor(b: "Bench", e: dict, mem: dict, L: list[str]) -> None:
    """Rows 9a/9b against signer's own hash: what one-read signing costs above computing the
    content digest itself."""
    rows = {r["what"]: r["mb_per_s"] for r in mem.get("rows", [])}
    every = next((v for k, v in rows.items() if k.startswith("signer content digest")), None)
    ring = rows.get("ring SHA-384 (one core)")
    ossl = (e.get("openssl dgst -sha384") or {}).get("median_wall_s")
    sign, verify = b.rows.get("floor-sign"), b.rows.get("floor-verify")
    if not (every and ring and ossl and sign and sign.signer and sign.signer.wall):
        return
    same = b.big / MB / every
    L.append(f"### Rows 9a/9b against signer's own hash\n")
    L.append(f"The floor of rows 9a/9b is `openssl dgst -sha384`, which reads and hashes the "
             f"file at {e['bytes'] / MB / ossl:.0f} MB/s on one core (ring hashes memory at "
             f"{ring:.0f} MB/s). signer hashes the content digest's chunks with the same "
             f"OpenSSL code; its content digest on every core, in memory, takes {same:.3f} s "
             f"for the {b.big // MB} MB package ({every:.0f} MB/s); against that: sign "
             f"{sign.signer.wall / same:.2f}x"
             + (f", verify {verify.signer.wall / same:.2f}x" if verify and verify.signer
                and verify.signer.wall else "")
             + ". That is what reading, gating and writing cost above the hash itself.\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="smoke test: 10x smaller inputs, 2 rounds")
    ap.add_argument("--rounds", type=int, help="rounds per row (default 5; --quick: 2)")
    ap.add_argument("--out", default=str(ROOT / "BENCHMARKS.md"),
                    help="where to write the report (default: BENCHMARKS.md at the repo root)")
    ap.add_argument("--regen", action="store_true", help="regenerate the cached inputs")
    ap.add_argument("--no-build", action="store_true",
                    help="use the existing target/release/signer without building")
    ap.add_argument("--only", help="comma-separated subset of: sign,verify,zipsigners,layer,"
                    "memory,jobs,cold,deploy,hash,floor,entries,timestamp,custody,requests,list,profile")
    ap.add_argument("--no-install", action="store_true",
                    help="do not install missing peers from the distribution's packages")
    ap.add_argument("--keep", action="store_true",
                    help="keep the run's scratch directory under target/bench")
    args = ap.parse_args()
    if args.rounds is not None and args.rounds < 1:
        ap.error("--rounds must be at least 1")

    b = Bench(args)
    try:
        b.setup()
        b.machine()
        b.run_all()
        text = render(b, sys.argv[1:])
        out = Path(args.out)
        out.write_text(text)
        (BENCH / "last-run.json").write_text(json.dumps(
            {"info": {k: (str(v) if isinstance(v, dt.datetime) else v)
                      for k, v in b.info.items()},
             "quick": b.quick, "rounds": b.rounds,
             "rows": {k: r.as_json() for k, r in b.rows.items()},
             "sections": b.sections}, indent=1, default=str))
        b.log(f"wrote {out}")
    finally:
        if not args.keep:
            shutil.rmtree(b.scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
