"""podman for the container tests: the image built from the repository's Dockerfile, and
Parley running in it as a test server.

podman runs here with the runc runtime, the cgroupfs cgroup manager and host networking (the
machine's containers.conf, docs/deployment.md): a container listens on a port of this
machine, so the tests reach it as they reach a `parley serve` of their own.
"""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO, ServerProcess

# Any Debian bookworm image will do as the base; this one is made locally with mmdebstrap when
# missing, since no image registry need be reachable.
BASE_IMAGE = "localhost/debian:bookworm-minbase"
IMAGE = "localhost/parley:test"
# The host's CA bundle, for a build whose registries sit behind a TLS-intercepting proxy.
HOST_CERTS = Path("/etc/ssl/certs")
BUILD_CERTS = "/run/host-certs"
# A fresh build compiles llama.cpp for 14 x86 CPU levels, 362 objects: on this project's
# 2-core VM under a load of 20 it compiled 114 in 21 minutes (docs/deployment.md, section 9).
BUILD_TIMEOUT_S = 2 * 3600


def podman(*args: str, timeout_s: float = 120, check: bool = True) -> str:
    """Run podman; its stdout, or a failure carrying its output."""
    done = subprocess.run(
        ["podman", *args], capture_output=True, text=True, timeout=timeout_s, check=False
    )
    if check and done.returncode != 0:
        raise AssertionError(
            f"podman {' '.join(args)} failed ({done.returncode}):\n"
            f"{done.stdout[-4000:]}{done.stderr[-4000:]}"
        )
    return done.stdout.strip()


def require_podman() -> None:
    """Skip, saying why, where podman cannot run containers."""
    if shutil.which("podman") is None:
        pytest.skip("podman is not installed (apt-get install podman runc)")
    try:
        podman("info", timeout_s=60)
    except AssertionError as exc:
        pytest.skip(f"podman cannot run here: {exc}")


def ensure_base_image(workdir: Path) -> None:
    """The Debian base, bootstrapped from Debian's archive when this machine has none."""
    if subprocess.run(["podman", "image", "exists", BASE_IMAGE], check=False).returncode == 0:
        return
    if shutil.which("mmdebstrap") is None:
        pytest.skip(f"no {BASE_IMAGE} and no mmdebstrap to make it (apt-get install mmdebstrap)")
    rootfs = workdir / "rootfs.tar"
    subprocess.run(
        ["mmdebstrap", "--quiet", "--variant=minbase", "bookworm", str(rootfs)],
        check=True,
        timeout=1200,
    )
    podman("import", str(rootfs), BASE_IMAGE, timeout_s=600)
    rootfs.unlink()


def build_image(log_path: Path) -> None:
    """`podman build` of the Dockerfile; unchanged layers (llama.cpp's above all) are cached."""
    certs: list[str] = []
    bundle = HOST_CERTS / "ca-certificates.crt"
    if bundle.is_file():
        inside = f"{BUILD_CERTS}/ca-certificates.crt"
        certs = [f"--volume={HOST_CERTS}:{BUILD_CERTS}:ro"] + [
            f"--build-arg={name}={inside}"
            for name in ("PIP_CERT", "NODE_EXTRA_CA_CERTS", "CURL_CA_BUNDLE")
        ]
    with log_path.open("w") as log:
        done = subprocess.run(
            [
                "podman",
                "build",
                "--format=docker",
                "--network=host",
                *certs,
                f"--build-arg=BASE_IMAGE={BASE_IMAGE}",
                f"--tag={IMAGE}",
                str(REPO),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=BUILD_TIMEOUT_S,
            check=False,
        )
    if done.returncode != 0:
        tail = log_path.read_text(errors="replace")[-6000:]
        raise AssertionError(f"podman build failed ({done.returncode}):\n{tail}")


class ContainerServer(ServerProcess):
    """Parley in a container of `image`, its /data on the named volume `volume`, on a port of
    this machine. `start` after `stop` makes a new container on the same volume."""

    def __init__(self, image: str, workdir: Path, volume: str, **settings: str) -> None:
        super().__init__(workdir, **settings)
        self.image = image
        self.volume = volume
        self.settings = {
            key: value
            for key, value in self.env.items()
            if key.startswith("PARLEY_") and key != "PARLEY_DATA_DIR"
        }
        self.name: str | None = None

    def start(self, timeout_s: float = 180.0) -> ContainerServer:
        self.name = f"parley-test-{uuid.uuid4().hex[:8]}"
        podman(
            "run",
            "--detach",
            "--network=host",
            f"--name={self.name}",
            f"--volume={self.volume}:/data",
            *(f"--env={key}={value}" for key, value in self.settings.items()),
            self.image,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if podman("inspect", "--format={{.State.Running}}", self.name) != "true":
                raise RuntimeError(f"the container exited early:\n{self.log()}")
            try:
                if httpx.get(f"{self.base_url}/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the container did not answer in time:\n{self.log()}")

    def log(self) -> str:
        if self.name is None:
            return ""
        return podman("logs", self.name, check=False)

    def exec(self, *command: str) -> str:
        assert self.name is not None
        return podman("exec", self.name, *command)

    def stop(self) -> None:
        if self.name is not None:
            podman("stop", "--time=30", self.name, timeout_s=60, check=False)
            podman("rm", "--force", self.name, check=False)
            self.name = None
