#!/usr/bin/env bash
# Install what is missing, then run every suite: lint and types, Python (unit, integration
# against real servers, engine, operations, client libraries), frontend (Vitest) and browser
# (Chromium).
# Extra arguments go to pytest, e.g. `tests/run.sh -m "not model"` or `tests/run.sh -k realtime`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/install.sh

# A CJK font, so screenshots of the Chinese interface show characters rather than boxes.
# PostgreSQL's server binaries live off PATH, under /usr/lib/postgresql/<version>/bin;
# tests start throwaway PostgreSQL and Redis servers of their own.
ensure_apt curl:curl chromium:chromium nginx:nginx openssl:openssl promtool:prometheus tmux:tmux \
  /usr/share/fonts/truetype/wqy/wqy-microhei.ttc:fonts-wqy-microhei \
  /usr/share/postgresql-common/pg_wrapper:postgresql redis-server:redis-server
ensure_python dev
ensure_llamacpp
ensure_frontend
ensure_clients
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

say "the OpenAPI document matches the backend's routes"
parley openapi | diff -u shared/openapi.json - || {
  echo "shared/openapi.json is stale: run 'parley openapi --output shared/openapi.json', then 'npm run gen:api' in frontend/" >&2
  exit 1
}

if [ -f frontend/package.json ]; then
  say "frontend: generated types, type check, unit tests"
  (cd frontend && npm run --silent check:types && npm run --silent check:api && npm run --silent typecheck && npm run --silent format:check && npm test --silent)
fi

# pytest's exit code 5 means the arguments selected no test in that run: not a failure.
# PYTEST_PYTHON: another virtualenv's Python (tests/clients runs from its own).
run_pytest() {
  "${PYTEST_PYTHON:-python}" -m pytest "$@" || { local rc=$?; [ "$rc" -eq 5 ] || exit "$rc"; }
}

say "Python tests: unit, engine, integration against real servers, operations"
run_pytest --ignore=tests/e2e --ignore=tests/clients "$@"

# openai, LangChain, litellm, pydantic-ai, the Agents SDK, instructor and the Vercel AI SDK
# against a real server on the embedded model, from their own virtualenv (the server runs
# from Parley's, on PATH).
say "client libraries against a real Parley (tests/clients)"
PYTEST_PYTHON="$CLIENTS_VENV/bin/python" run_pytest tests/clients "$@"

# On a throwaway PostgreSQL: the store and search, imports and files, two instances; then the
# contract suites (whose queries differ between the databases too) against two instances on
# it and one Redis, behind nginx.
say "Python tests on PostgreSQL: the store, search, imports, files, two instances"
run_pytest --db postgresql tests/test_db.py tests/library/test_search.py \
  tests/integration/test_transfer_api.py tests/integration/test_files_api.py tests/cluster "$@"
say "Python tests through nginx in front of two instances (PostgreSQL, Redis)"
run_pytest --front cluster --db postgresql tests/integration/test_realtime.py \
  tests/integration/test_conversations.py tests/integration/test_branches.py \
  tests/integration/test_compat_api.py tests/integration/test_openai_api.py \
  tests/integration/test_api_keys.py tests/integration/test_auth.py \
  tests/integration/test_search_api.py "$@"

# The browser tests drive Playwright's synchronous API, which keeps an event loop of its own
# in the main thread; the asyncio tests above share one loop per session. Separate processes.
say "browser tests (headless Chromium)"
run_pytest tests/e2e "$@"
