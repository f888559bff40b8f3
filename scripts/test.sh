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
unset AWS_ENDPOINT AWS_ENDPOINT_URL_S3 AWS_SESSION_TOKEN AWS_PROFILE AWS_DEFAULT_REGION || true

# --- the checks -------------------------------------------------------------------------
log "cargo fmt --check"
cargo fmt --check

log "cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets -- -D warnings

log "cargo test --all-targets"
cargo test --all-targets

log "cargo test --doc"
cargo test --doc

# --- fuzzing: a bounded run of each target where a nightly toolchain and cargo-fuzz exist;
# the committed seeds run in `cargo test` above either way (tests/it/fuzz_seeds.rs).
if cargo +nightly --version >/dev/null 2>&1 && cargo +nightly fuzz --version >/dev/null 2>&1; then
  for target in zip_inspect signature_block cert_chain deploy_json; do
    log "cargo fuzz run $target (60 s)"
    (cd fuzz && mkdir -p "corpus/$target" && cargo +nightly fuzz run "$target" "corpus/$target" "seeds/$target" -- -max_total_time=60 -rss_limit_mb=1024)
  done
else
  log "notice: no nightly toolchain with cargo-fuzz here; fuzz targets not run (their seeds ran in cargo test)"
  log "cargo build of the fuzz targets (they build on stable; only fuzzing needs nightly)"
  cargo build --quiet --manifest-path fuzz/Cargo.toml
fi

log "all checks passed"
