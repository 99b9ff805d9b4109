"""What the machine has and uses: GPUs (through pynvml), CPU, memory and the data directory's disk.

Everything here blocks (NVML calls, a walk of the data directory): call it off the event loop.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any

import psutil
from pydantic import BaseModel

log = logging.getLogger(__name__)


class GpuInfo(BaseModel):
    index: int
    name: str
    memory_used_bytes: int
    memory_total_bytes: int
    utilization_percent: float | None
    temperature_c: float | None


class CpuInfo(BaseModel):
    logical_cores: int
    percent: float
    process_percent: float
    load_average: list[float]


class MemoryInfo(BaseModel):
    total_bytes: int
    available_bytes: int
    used_bytes: int
    percent: float
    process_rss_bytes: int


class DiskInfo(BaseModel):
    path: str
    total_bytes: int
    used_bytes: int
    free_bytes: int
    percent: float
    data_dir_bytes: int


class HostResources(BaseModel):
    gpus: list[GpuInfo]
    cpu: CpuInfo
    memory: MemoryInfo
    disk: DiskInfo


class GpuProbe:
    """Reads every NVIDIA GPU through NVML; an empty list where there is no driver or pynvml.

    A machine found without NVML is not asked again, so scrapes stay cheap there.
    """

    def __init__(self) -> None:
        self._nvml: Any = None
        self._absent = False
        self._lock = threading.Lock()

    def _library(self) -> Any:
        with self._lock:
            if self._absent or self._nvml is not None:
                return self._nvml
            try:
                import pynvml

                pynvml.nvmlInit()
            except Exception as exc:  # ImportError or any NVMLError: no GPU to report.
                log.debug("no GPU readings: %s", exc)
                self._absent = True
                return None
            self._nvml = pynvml
            return pynvml

    def read(self) -> list[GpuInfo]:
        nvml = self._library()
        if nvml is None:
            return []
        try:
            return [_read_gpu(nvml, index) for index in range(nvml.nvmlDeviceGetCount())]
        except Exception as exc:
            log.warning("reading the GPUs failed: %s", exc)
            return []

    def close(self) -> None:
        with self._lock:
            if self._nvml is not None:
                try:
                    self._nvml.nvmlShutdown()
                except Exception as exc:
                    log.debug("nvmlShutdown failed: %s", exc)
                self._nvml = None


def _optional(read: Any, *args: Any) -> Any:
    """A reading some GPUs do not support (utilisation on MIG slices, for one) is None."""
    try:
        return read(*args)
    except Exception:
        return None


def _read_gpu(nvml: Any, index: int) -> GpuInfo:
    handle = nvml.nvmlDeviceGetHandleByIndex(index)
    name = nvml.nvmlDeviceGetName(handle)
    memory = nvml.nvmlDeviceGetMemoryInfo(handle)
    rates = _optional(nvml.nvmlDeviceGetUtilizationRates, handle)
    temperature = _optional(nvml.nvmlDeviceGetTemperature, handle, nvml.NVML_TEMPERATURE_GPU)
    return GpuInfo(
        index=index,
        name=name.decode() if isinstance(name, bytes) else str(name),
        memory_used_bytes=int(memory.used),
        memory_total_bytes=int(memory.total),
        utilization_percent=None if rates is None else float(rates.gpu),
        temperature_c=None if temperature is None else float(temperature),
    )


def directory_bytes(root: Path) -> int:
    """Bytes of the regular files under `root` (links not followed)."""
    total = 0
    for folder, _dirs, files in os.walk(root):
        for name in files:
            try:
                stat = os.lstat(os.path.join(folder, name))
            except OSError:
                continue
            total += stat.st_size
    return total


class HostSampler:
    """CPU percentages are measured between two calls; the first one starts the clock."""

    def __init__(self, data_dir: Path, gpus: GpuProbe) -> None:
        self._data_dir = data_dir
        self._gpus = gpus
        self._process = psutil.Process()
        psutil.cpu_percent(interval=None)
        self._process.cpu_percent(interval=None)

    def process_rss_bytes(self) -> int:
        return int(self._process.memory_info().rss)

    def sample(self) -> HostResources:
        memory = psutil.virtual_memory()
        disk = psutil.disk_usage(str(self._data_dir))
        return HostResources(
            gpus=self._gpus.read(),
            cpu=CpuInfo(
                logical_cores=psutil.cpu_count() or 1,
                percent=psutil.cpu_percent(interval=None),
                process_percent=self._process.cpu_percent(interval=None),
                load_average=[round(x, 2) for x in psutil.getloadavg()],
            ),
            memory=MemoryInfo(
                total_bytes=memory.total,
                available_bytes=memory.available,
                used_bytes=memory.total - memory.available,
                percent=memory.percent,
                process_rss_bytes=self.process_rss_bytes(),
            ),
            disk=DiskInfo(
                path=str(self._data_dir),
                total_bytes=disk.total,
                used_bytes=disk.used,
                free_bytes=disk.free,
                percent=disk.percent,
                data_dir_bytes=directory_bytes(self._data_dir),
            ),
        )
