"""Operations: metrics, stats, request and run logs, host resources."""

from parley.telemetry.metrics import BatchLoadReporter, Telemetry
from parley.telemetry.middleware import TelemetryMiddleware
from parley.telemetry.resources import GpuProbe, HostResources, HostSampler

__all__ = [
    "BatchLoadReporter",
    "GpuProbe",
    "HostResources",
    "HostSampler",
    "Telemetry",
    "TelemetryMiddleware",
]
