#!/usr/bin/env bash
# The project's test command (README): formatting, lints, and every test, with the store
# contract also run against a real S3-compatible server (moto's, from PyPI, on 127.0.0.1).
#
#   bash scripts/test.sh            # what CI runs (.ci/run)
#
# Needs: Rust stable with rustfmt and clippy, Python 3 with venv, and the package
# registries. The server is stopped on exit, by the process id this script started.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Pinned: 5.2.5 answers a PUT with `If-None-Match: *` on an existing key with 412, which
# object_store's PutMode::Create (S3ConditionalPut::ETagMatch) needs.
MOTO_VERSION=5.2.5
VENV=target/moto-venv
MOTO_LOG=target/moto.log

log() { printf '==> %s\n' "$*" >&2; }

mkdir -p target

# --- OpenSSL's libcrypto and headers: the content digest hashes with it (openssl-sys
# finds them with pkg-config). Debian's libssl-dev and pkg-config, as root, if missing.
if ! pkg-config --exists openssl 2>/dev/null; then
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    log "installing libssl-dev pkg-config (apt)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libssl-dev pkg-config >/dev/null
  else
    log "notice: not root; not installing libssl-dev and pkg-config (the build needs them)"
  fi
fi

# --- moto's server, in a venv of its own ---------------------------------------------
installed_moto() {
  "$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("moto"))' 2>/dev/null || true
}
if [[ "$(installed_moto)" != "$MOTO_VERSION" ]]; then
  log "installing moto[server]==$MOTO_VERSION into $VENV"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
fi

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

MOTO_PID=
stop_moto() {
  if [[ -n "$MOTO_PID" ]] && kill -0 "$MOTO_PID" 2>/dev/null; then
    kill "$MOTO_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$MOTO_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$MOTO_PID" 2>/dev/null || true
    wait "$MOTO_PID" 2>/dev/null || true
  fi
  MOTO_PID=
}
trap stop_moto EXIT
trap 'exit 130' INT TERM

# Answers when its HTTP port serves a request (an S3 ListBuckets).
moto_answers() {
  python3 - "$1" <<'PY'
import sys, urllib.request
try:
    urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/", timeout=1).read()
except Exception:
    sys.exit(1)
PY
}

start_moto() {
  local port=$1
  "$VENV/bin/moto_server" -H 127.0.0.1 -p "$port" >"$MOTO_LOG" 2>&1 &
  MOTO_PID=$!
  for _ in $(seq 1 60); do # ~30 s
    if ! kill -0 "$MOTO_PID" 2>/dev/null; then
      return 1 # exited: the port was taken between picking and binding, say
    fi
    if moto_answers "$port"; then
      return 0
    fi
    sleep 0.5
  done
  return 1
}

MOTO_PORT=
for _ in 1 2 3; do
  port=$(free_port)
  if start_moto "$port"; then
    MOTO_PORT=$port
    break
  fi
  stop_moto
done
if [[ -z "$MOTO_PORT" ]]; then
  log "moto's server did not start; its log ($MOTO_LOG):"
  cat "$MOTO_LOG" >&2 || true
  exit 1
fi
log "moto $MOTO_VERSION serving S3 at http://127.0.0.1:$MOTO_PORT (pid $MOTO_PID, log $MOTO_LOG)"

export SIGNER_TEST_S3_ENDPOINT="http://127.0.0.1:$MOTO_PORT"
export AWS_ENDPOINT_URL="$SIGNER_TEST_S3_ENDPOINT"
export AWS_ACCESS_KEY_ID=testing
export AWS_SECRET_ACCESS_KEY=testing
export AWS_REGION=us-east-1
export AWS_ALLOW_HTTP=true
# Settings from the caller's environment that would point the S3 client elsewhere.
unset AWS_ENDPOINT AWS_ENDPOINT_URL_S3 AWS_ENDPOINT_URL_KMS AWS_SESSION_TOKEN AWS_PROFILE AWS_DEFAULT_REGION || true

# The KMS tests (tests/it/custody.rs) start a moto of their own that enforces IAM.
SIGNER_TEST_MOTO_SERVER="$(pwd)/$VENV/bin/moto_server"
export SIGNER_TEST_MOTO_SERVER

# --- the AWS clients that drive `signer serve` (tests/it/serve.rs, tests/serve/clients.py):
# the aws cli (v1, from PyPI) and boto3, pinned, in a venv of their own (their botocore is
# not moto's).
AWSCLI_VERSION=1.46.3
BOTO3_VERSION=1.44.8
CLIENTS_VENV=target/aws-clients-venv
installed_clients() {
  "$CLIENTS_VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("awscli"), m.version("boto3"))' 2>/dev/null || true
}
if [[ "$(installed_clients)" != "$AWSCLI_VERSION $BOTO3_VERSION" ]]; then
  log "installing awscli==$AWSCLI_VERSION boto3==$BOTO3_VERSION into $CLIENTS_VENV"
  rm -rf "$CLIENTS_VENV"
  python3 -m venv "$CLIENTS_VENV"
  "$CLIENTS_VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    "awscli==$AWSCLI_VERSION" "boto3==$BOTO3_VERSION"
fi
SIGNER_TEST_AWS_CLIENTS="$(pwd)/$CLIENTS_VENV/bin"
export SIGNER_TEST_AWS_CLIENTS

# The strict client: the AWS SDK for Rust in a crate of its own (tests/sdk-rust, its own
# lockfile), built here so the main build does not compile the SDKs; tests/it/serve.rs runs
# it against the server.
log "cargo build tests/sdk-rust (aws-sdk-signer, aws-sdk-lambda)"
cargo build --quiet --locked --manifest-path tests/sdk-rust/Cargo.toml --target-dir target/sdk-rust
SIGNER_TEST_SDK_RUST="$(pwd)/target/sdk-rust/debug/signer-sdk-check"
export SIGNER_TEST_SDK_RUST

# --- SoftHSM2 for the PKCS#11 tests (tests/it/custody.rs): Debian's softhsm2 and opensc
# (pkcs11-tool), as root; each test makes its own token in a temporary directory.
SOFTHSM_MODULE=/usr/lib/softhsm/libsofthsm2.so
if [[ ! -f "$SOFTHSM_MODULE" ]] || ! command -v pkcs11-tool >/dev/null 2>&1; then
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    log "installing softhsm2 opensc (apt)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends softhsm2 opensc >/dev/null
  else
    log "notice: not root; not installing softhsm2 and opensc (the PKCS#11 tests fail without them)"
  fi
fi
export SIGNER_TEST_PKCS11_MODULE="$SOFTHSM_MODULE"

# --- the zip writers and readers of tests/it/writers.rs ---------------------------------
# Debian's zip, unzip, bsdtar and 7z (apt, as root only), and the npm zip libraries pinned
# in tests/writers/package.json (with its lockfile) in target/npm-writers. With
# SIGNER_TEST_WRITERS=1 the test fails when one is missing; plain `cargo test` skips it.
WRITERS_NPM=target/npm-writers
missing_debs=()
for pair in zip:zip unzip:unzip bsdtar:libarchive-tools 7z:p7zip-full; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing_debs+=("${pair#*:}")
done
if ((${#missing_debs[@]})); then
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    log "installing ${missing_debs[*]} (apt)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing_debs[@]}" >/dev/null
  else
    log "notice: not root; not installing ${missing_debs[*]} (the writers test will say what is missing)"
  fi
fi
if ! cmp -s tests/writers/package-lock.json "$WRITERS_NPM/package-lock.json" ||
  [[ ! -d "$WRITERS_NPM/node_modules" ]]; then
  log "installing the npm zip writers into $WRITERS_NPM"
  rm -rf "$WRITERS_NPM"
  mkdir -p "$WRITERS_NPM"
  cp tests/writers/package.json tests/writers/package-lock.json "$WRITERS_NPM/"
  npm install --no-audit --no-fund --omit-lockfile-registry-resolved --prefix "$WRITERS_NPM" >/dev/null
  # npm may rewrite the lockfile; keep the committed one, so the next run sees no change.
  cp tests/writers/package-lock.json "$WRITERS_NPM/package-lock.json"
fi
export SIGNER_TEST_WRITERS=1
SIGNER_TEST_NODE_MODULES="$(pwd)/$WRITERS_NPM/node_modules"
export SIGNER_TEST_NODE_MODULES

# --- the checks -------------------------------------------------------------------------
log "cargo fmt --check"
cargo fmt --check

log "cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets -- -D warnings

# --- the MSRV: no older toolchain can be installed here, so the declared rust-version is
# checked two ways instead. clippy's incompatible_msrv lint (above) refuses std APIs newer
# than it; this step refuses a rust-version lower than any dependency's (cargo metadata).
# Language features are on the reviewer: let-chains need 1.88, below the 1.89 that uuid
# asks for.
log "rust-version covers every dependency's"
cargo metadata --format-version 1 --locked | python3 -c '
import json, sys
m = json.load(sys.stdin)
ver = lambda v: tuple(int(x) for x in (v.split(".") + ["0", "0"])[:3])
root = next(p for p in m["packages"] if p["id"] in m["workspace_members"])
declared = root["rust_version"]
need, name = max((ver(p["rust_version"]), p["name"]) for p in m["packages"] if p["rust_version"])
shown = ".".join(map(str, need))
if need > ver(declared):
    sys.exit(f"Cargo.toml says rust-version {declared}, but {name} needs {shown}: raise it")
print(f"rust-version {declared}: every dependency builds with it (the highest, {name}, needs {shown})")
'

log "cargo test --all-targets"
cargo test --all-targets

log "cargo test --doc"
cargo test --doc

# --- fuzzing: every target in fuzz/ (`cargo fuzz list`), for a bounded time each, on the
# stable toolchain (RUSTC_BOOTSTRAP=1 lets cargo-fuzz pass its -Z flags; `-s none`: no
# sanitizer, which would need nightly's std). SIGNER_FUZZ_SECONDS sets the time per target
# (default 45 s; the build of the targets comes on top, several minutes when uncached).
# Each run starts from the committed seeds (fuzz/seeds/TARGET, replayed by `cargo test`
# through tests/it/fuzz_seeds.rs) and the local corpus (fuzz/corpus/TARGET, not committed).
# A crash fails CI; cargo fuzz leaves the input under fuzz/artifacts/TARGET/. Once the bug
# is fixed, the crashing input is committed as a seed in fuzz/seeds/TARGET/ (named crash-…)
# so `cargo test` keeps checking it. -timeout=30 makes a hanging input a failure too, within
# the bound.
FUZZ_SECONDS=${SIGNER_FUZZ_SECONDS:-45}
CARGO_FUZZ_VERSION=0.13.2
if ! cargo fuzz --version >/dev/null 2>&1; then
  log "installing cargo-fuzz $CARGO_FUZZ_VERSION (cargo install, into cargo's bin directory)"
  cargo install cargo-fuzz --locked --version "$CARGO_FUZZ_VERSION"
fi
fuzz_targets=$(cd fuzz && cargo fuzz list)
log "cargo fuzz build -s none (targets: ${fuzz_targets//$'\n'/ })"
(cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz build -s none)
fuzz_failed=()
for target in $fuzz_targets; do
  log "cargo fuzz run $target (${FUZZ_SECONDS} s)"
  mkdir -p "fuzz/corpus/$target" "fuzz/artifacts/$target"
  marker=$(mktemp)
  if ! (cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run "$target" -s none "corpus/$target" "seeds/$target" -- \
    -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048 -timeout=30); then
    fuzz_failed+=("$target")
    log "FUZZ FAILURE in $target; the input that made it fail (reproduce: cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run -s none $target FILE):"
    found=$(find "fuzz/artifacts/$target" -type f -newer "$marker")
    echo "${found:-(none written: see the output above)}" | sed 's/^/    /' >&2
  fi
  rm -f "$marker"
done
if ((${#fuzz_failed[@]})); then
  log "fuzzing failed: ${fuzz_failed[*]} (inputs under fuzz/artifacts/TARGET/; fix, then commit them to fuzz/seeds/TARGET/)"
  exit 1
fi

log "all checks passed"
