#!/usr/bin/env bash
# Install what is missing, then run every suite: lint and types, Python (unit, integration
# against real servers, engine, operations), frontend (Vitest) and browser (Chromium).
# Extra arguments go to pytest, e.g. `tests/run.sh -m "not model"` or `tests/run.sh -k realtime`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/install.sh

ensure_apt curl:curl chromium:chromium nginx:nginx promtool:prometheus tmux:tmux
ensure_python dev
ensure_frontend
export PATH="$VENV/bin:$PATH" HF_HUB_OFFLINE=1

say "lint and types"
ruff check backend tests bench
ruff format --check backend tests bench
mypy

say "the protocol schema matches the backend's frames"
parley schema | diff -u shared/protocol.schema.json - || {
  echo "shared/protocol.schema.json is stale: run 'parley schema --output shared/protocol.schema.json'" >&2
  exit 1
}

if [ -f frontend/package.json ]; then
  say "frontend: generated types, type check, unit tests"
  (cd frontend && npm run --silent check:types && npm run --silent typecheck && npm run --silent format:check && npm test --silent)
fi

say "Python, browser and operations tests"
python -m pytest "$@"
