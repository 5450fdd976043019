#!/usr/bin/env bash
# Start `make run` as a user would, wait for it, connect with the official MCP client
# using the demo token it printed, then stop everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
port=${SMOKE_PORT:-8000}
log=$(mktemp)
setsid make run PORT="$port" >"$log" 2>&1 &
pid=$!
cleanup() { kill -TERM -- "-$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
trap cleanup EXIT

# A fresh checkout migrates first: dj-stripe's migrations alone take about 100 s of CPU
# here (its 0002 renders the model state hundreds of times), so allow several minutes.
for _ in $(seq 1 400); do
  if curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then break; fi
  sleep 1
done
curl -fsS "http://127.0.0.1:$port/readyz" || { echo "serve did not come up; its log:"; tail -n 40 "$log"; exit 1; }; echo

token=$(grep -o 'orch_live_[0-9A-Za-z]\{38\}' "$log" | head -n1 || true)
if [ -z "$token" ]; then
  # Not the first run on this checkout: the demo token was shown before. Make one.
  token=$(.venv/bin/python manage.py createtoken --org demo --user demo@orchestra.local --name ci-smoke \
          | grep -o 'orch_live_[0-9A-Za-z]\{38\}' | head -n1)
fi
.venv/bin/python .ci/smoke_client.py "http://127.0.0.1:$port/mcp" "$token"
grep -q '"type": "sse"' "$log" || grep -q 'Demo token exists' "$log"
echo "smoke: ok"
