"""Test-side tools for operations: scraping /metrics, PromQL metric names, admins, nginx."""

from __future__ import annotations

import os
import re
import shutil
import signal
import ssl
import subprocess
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import REPO, ServerProcess, free_port, stop_process
from tests.integration.ws import ChatSocket, ChatUser, Frame

DEPLOY = REPO / "deploy"
LETSENCRYPT = "/etc/letsencrypt/live/parley.example.com"

# Series Prometheus makes itself, not the target.
PROMETHEUS_OWN = frozenset({"up", "scrape_duration_seconds", "scrape_samples_scraped"})


def need(command: str) -> str:
    """The path of a command, or skip the test where this machine lacks it."""
    path = shutil.which(command)
    if path is None:
        pytest.skip(f"{command} is not installed here (tests/run.sh installs it)")
    return path


# ---------- /metrics ----------


def scrape(server: ServerProcess) -> dict[str, Metric]:
    response = httpx.get(f"{server.base_url}/metrics", timeout=10)
    response.raise_for_status()
    assert response.headers["content-type"].startswith("text/plain")
    return {family.name: family for family in text_string_to_metric_families(response.text)}


def value(families: dict[str, Metric], sample: str, **labels: str) -> float:
    """The sum of the samples named `sample` whose labels include `labels` (0 if none)."""
    total = 0.0
    for family in families.values():
        for item in family.samples:
            if item.name == sample and all(item.labels.get(k) == v for k, v in labels.items()):
                total += item.value
    return total


_SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("", "_sum", "_count", "_created"),
}


def exported_names(families: dict[str, Metric]) -> set[str]:
    """Every series name a query may use: the samples present, and for a family declared
    without samples (GPU gauges on a machine without a GPU) the names its type gives."""
    names: set[str] = set()
    for family in families.values():
        names.update(item.name for item in family.samples)
        names.update(family.name + suffix for suffix in _SUFFIXES.get(family.type, ("",)))
    return names


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_IDENTIFIER = re.compile(r"(?<![\w:.$])([A-Za-z_:][\w:]*)(?![\w:])(?!\s*\()")
_LABEL_VALUES = re.compile(r"^\s*label_values\((.*),\s*\w+\s*\)\s*$")
_KEYWORDS = frozenset(
    {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "inf", "nan"}
)


def promql_metrics(expr: str) -> set[str]:
    """The metric names a PromQL expression (or a Grafana `label_values` query) reads."""
    match = _LABEL_VALUES.match(expr)
    if match:
        expr = match.group(1)
    expr = _STRING.sub("", expr)
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # ranges
    expr = _GROUPING.sub("", expr)
    return {name for name in _IDENTIFIER.findall(expr) if name.lower() not in _KEYWORDS}


def unknown_metrics(exprs: Iterable[str], exported: set[str]) -> dict[str, set[str]]:
    unknown: dict[str, set[str]] = {}
    for expr in exprs:
        missing = promql_metrics(expr) - exported - PROMETHEUS_OWN
        if missing:
            unknown[expr] = missing
    return unknown


# ---------- users and chats ----------


async def chat_once(
    user: ChatUser, content: str, ws_url: str | None = None, **connect: Any
) -> list[Frame]:
    """Send one message on a new conversation and read every frame up to its `end`."""
    conversation_id = user.new_conversation()
    socket, ready = await ChatSocket.open(user, conversation_id, ws_url=ws_url, **connect)
    assert ready["type"] == "ready"
    try:
        await socket.say(content)
        return await socket.until("end", "error", timeout_s=60)
    finally:
        await socket.close()


# ---------- nginx in front of a server, with the site file of deploy/ ----------


def insecure_tls() -> ssl.SSLContext:
    """The test certificate is self-signed."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"deploy/nginx/parley.conf no longer has exactly one {old!r}"
    return text.replace(old, new)


class Nginx:
    """nginx as a plain process with its own prefix, serving deploy/nginx/parley.conf with the
    test's ports, a self-signed certificate and every proxy_read_timeout set to `read_timeout_s`,
    in front of `upstreams` (round-robin, as the site's upstream block says for several).
    """

    def __init__(
        self, prefix: Path, upstreams: Sequence[ServerProcess], read_timeout_s: int
    ) -> None:
        self.prefix = prefix
        self.upstreams = upstreams
        self.read_timeout_s = read_timeout_s
        self.http_port = free_port()
        self.https_port = free_port()
        self.base_url = f"https://127.0.0.1:{self.https_port}"
        self.ws_url = f"wss://127.0.0.1:{self.https_port}"
        self.certificate = prefix / "cert.pem"
        self.process: subprocess.Popen[bytes] | None = None

    def _site(self) -> str:
        site = (DEPLOY / "nginx" / "parley.conf").read_text()
        for old, new in (
            ("listen 80;", f"listen 127.0.0.1:{self.http_port};"),
            ("listen 443 ssl http2;", f"listen 127.0.0.1:{self.https_port} ssl http2;"),
            (
                "server 127.0.0.1:8000;",
                "\n    ".join(f"server 127.0.0.1:{u.port};" for u in self.upstreams),
            ),
            (
                "/etc/letsencrypt/live/parley.example.com/fullchain.pem",
                str(self.prefix / "cert.pem"),
            ),
            ("/etc/letsencrypt/live/parley.example.com/privkey.pem", str(self.prefix / "key.pem")),
            ("/var/log/nginx/parley.error.log", str(self.prefix / "logs" / "error.log")),
        ):
            site = _replace_once(site, old, new)
        site = site.replace("/var/log/nginx/", f"{self.prefix}/logs/")
        site, count = re.subn(
            r"proxy_read_timeout \d+s;", f"proxy_read_timeout {self.read_timeout_s}s;", site
        )
        assert count >= 1
        return site

    def _config(self) -> str:
        temp = self.prefix / "temp"
        user = "user root;\n" if os.geteuid() == 0 else ""
        paths = "\n".join(
            f"    {kind}_temp_path {temp / kind};"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        return (
            f"{user}worker_processes 1;\n"
            f"pid {self.prefix / 'nginx.pid'};\n"
            f"error_log {self.prefix / 'logs' / 'main-error.log'} info;\n"
            "events { worker_connections 256; }\n"
            "http {\n"
            "    default_type application/octet-stream;\n"
            f"{paths}\n"
            f"{self._site()}\n"
            "}\n"
        )

    def start(self) -> Nginx:
        nginx = need("nginx")
        openssl = need("openssl")
        (self.prefix / "logs").mkdir(parents=True, exist_ok=True)
        (self.prefix / "temp").mkdir(exist_ok=True)
        subprocess.run(
            [
                openssl,
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=127.0.0.1",
                # So a client may verify it too (SSL_CERT_FILE), as tests/cluster/ does.
                "-addext",
                "subjectAltName=IP:127.0.0.1",
                "-keyout",
                str(self.prefix / "key.pem"),
                "-out",
                str(self.prefix / "cert.pem"),
            ],
            check=True,
            capture_output=True,
        )
        conf = self.prefix / "nginx.conf"
        conf.write_text(self._config())
        # -e: the log for errors before the configuration is read (not /var/log/nginx).
        startup_log = self.prefix / "logs" / "startup-error.log"
        command = [nginx, "-p", str(self.prefix), "-e", str(startup_log), "-c", str(conf)]
        checked = subprocess.run([*command, "-t"], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr
        self.process = subprocess.Popen(
            [*command, "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                response = httpx.get(f"{self.base_url}/health", verify=False, timeout=1)
                if response.status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited: {self.error_log()}")
            time.sleep(0.1)
        raise RuntimeError(f"nginx did not start: {self.error_log()}")

    def error_log(self) -> str:
        logs = self.prefix / "logs"
        return "\n".join(path.read_text() for path in sorted(logs.glob("*error.log")))

    def stop(self) -> None:
        stop_process(self.process, signal.SIGQUIT, timeout_s=10)  # SIGQUIT: graceful
