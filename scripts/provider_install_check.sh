#!/usr/bin/env bash
# A server install of the reference provider, checked from scratch (make provider-check; CI runs it):
# a fresh venv from requirements-provider.lock (hash-checked), the package itself without dependencies,
# then: no Qt, pyqtgraph or numpy can be imported; psycopg can; `paygo-provider serve` starts on a SQLite
# file with no chain node to reach and `paygo-provider healthcheck` gets its answer; `paygo-desktop` (the
# GUI) says it needs the gui extra.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
work=$(mktemp -d)
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

"$PYTHON" -m venv "$work/venv"
bin="$work/venv/bin"
"$bin/python" -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements-provider.lock
"$bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation .

"$bin/python" - <<'PY'
import importlib.util
import sys

present = [m for m in ("PySide6", "shiboken6", "qasync", "pyqtgraph", "numpy") if importlib.util.find_spec(m)]
if present:
    sys.exit(f"a server install must not have {', '.join(present)}")
import psycopg  # noqa: F401  the PostgreSQL driver is there, with its libpq

print("no Qt, pyqtgraph or numpy; psycopg", psycopg.__version__)
PY
# the desktop app, asked for on a server install, says what it needs instead of failing inside an import
if "$bin/paygo-desktop" --data-dir "$work/data" 2>"$work/gui.err"; then
  echo "paygo-desktop started without Qt?" >&2; exit 1
fi
grep -q "paygo-desktop\[gui\]" "$work/gui.err" || { echo "unexpected: $(cat "$work/gui.err")" >&2; exit 1; }

port=$("$bin/python" -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
closed=$("$bin/python" -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
cat > "$work/provider.toml" <<TOML
name = "Install check"
private_key_env = "PAYGO_CHECK_KEY"
rpc_url = "http://127.0.0.1:$closed"
chain_id = 31337
vault = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
database = "provider.sqlite3"
public_base_url = "http://127.0.0.1:$port"

[[assets]]
symbol = "USDC"
address = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"
decimals = 6
TOML
key=$("$bin/python" -c "import secrets; print('0x' + secrets.token_hex(32))")
PAYGO_CHECK_KEY=$key "$bin/paygo-provider" serve --config "$work/provider.toml" --port "$port" \
  >"$work/provider.log" 2>&1 &
server=$!
for _ in $(seq 1 150); do
  if "$bin/paygo-provider" healthcheck --url "http://127.0.0.1:$port" >"$work/health.json" 2>/dev/null; then
    echo "health: $(cat "$work/health.json")"
    "$bin/python" -c "
import json, sys
health = json.load(open('$work/health.json'))
sys.exit(0 if health['status'] in ('ok', 'degraded') and 'acceptingSessions' in health else 'unexpected health')
"
    "$bin/python" - "$bin/python" <<'PY'
import subprocess
import sys

code = "import sys, paygo_desktop.provider.server, paygo_desktop.provider.app; print([m for m in sys.modules if m.split('.')[0] in ('PySide6', 'qasync', 'pyqtgraph', 'numpy')])"
out = subprocess.run([sys.argv[1], "-c", code], capture_output=True, text=True, check=True).stdout.strip()
if out != "[]":
    sys.exit(f"the provider imported {out}")
PY
    echo "provider install check: ok"
    exit 0
  fi
  if ! kill -0 "$server" 2>/dev/null; then break; fi
  sleep 0.2
done
echo "the provider did not answer its health check; its log:" >&2
cat "$work/provider.log" >&2
exit 1
