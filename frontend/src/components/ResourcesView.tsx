// The machine as administrators see it: GPUs, CPU, memory, disk, the models (with Load and
// Unload) and the server's activity, polled while the view is open.
import { useCallback, useEffect, useRef, useState } from "react";
import { ApiError } from "../api/http";
import { fetchResources, fetchStats, loadModel, unloadModel } from "../api/rest";
import type { GpuInfo, HostResources, ModelInfo, ServerStats, User } from "../api/types";
import { formatBytes, formatPercent, formatUptime, processShareOfMachine, usagePercent } from "../lib/format";
import { MenuButton } from "./MenuButton";

export const POLL_INTERVAL_MS = 5_000;
// While a model loads, its progress is worth watching more closely.
const LOADING_POLL_INTERVAL_MS = 1_000;

interface ResourcesViewProps {
  token: string;
  /** Null until /api/auth/me has answered. */
  user: User | null;
  sidebarOpen: boolean;
  onToggleSidebar: () => void;
}

export function ResourcesView({ token, user, sidebarOpen, onToggleSidebar }: ResourcesViewProps) {
  const isAdmin = user?.is_admin === true;
  return (
    <section className="resources-view" aria-labelledby="resources-title">
      <header className="chat-header">
        <MenuButton expanded={sidebarOpen} onClick={onToggleSidebar} />
        <h1 id="resources-title" className="chat-title">
          Resources
        </h1>
      </header>
      {user === null ? (
        <p className="resources-body muted">Loading…</p>
      ) : isAdmin ? (
        <AdminResources token={token} />
      ) : (
        <AdminsOnly />
      )}
    </section>
  );
}

function AdminsOnly() {
  return (
    <div className="resources-body">
      <div className="banner warning admins-only" role="alert">
        This page is for administrators only. Ask an administrator of this server if you need to see its resources.
      </div>
    </div>
  );
}

function AdminResources({ token }: { token: string }) {
  const [resources, setResources] = useState<HostResources | null>(null);
  const [stats, setStats] = useState<ServerStats | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [forbidden, setForbidden] = useState(false);
  const [updatedAt, setUpdatedAt] = useState<Date | null>(null);
  const [busy, setBusy] = useState<Record<string, boolean>>({});
  const [actionErrors, setActionErrors] = useState<Record<string, string>>({});

  const refresh = useCallback(async () => {
    const [host, activity] = await Promise.allSettled([fetchResources(token), fetchStats(token)]);
    if (host.status === "fulfilled") {
      setResources(host.value);
      setError(null);
      setUpdatedAt(new Date());
    } else {
      const reason = host.reason as unknown;
      if (reason instanceof ApiError && reason.status === 403) setForbidden(true);
      else setError(reason instanceof Error ? reason.message : "Could not read the resources.");
    }
    if (activity.status === "fulfilled") setStats(activity.value);
  }, [token]);

  // Poll while the view is open: every 5 s, every second while a model loads; skipped while
  // the tab is hidden. A timeout chain, so slow answers never pile up.
  const anyLoading = resources?.models.some((model) => model.state === "loading") ?? false;
  const refreshRef = useRef(refresh);
  refreshRef.current = refresh;
  useEffect(() => {
    let stopped = false;
    let timer: number | undefined;
    const tick = async () => {
      if (document.visibilityState !== "hidden") await refreshRef.current();
      if (!stopped) timer = window.setTimeout(tick, anyLoading ? LOADING_POLL_INTERVAL_MS : POLL_INTERVAL_MS);
    };
    void tick();
    return () => {
      stopped = true;
      window.clearTimeout(timer);
    };
  }, [anyLoading]);

  async function act(model: ModelInfo, action: "load" | "unload") {
    setBusy((current) => ({ ...current, [model.id]: true }));
    setActionErrors(({ [model.id]: _dropped, ...rest }) => rest);
    try {
      await (action === "load" ? loadModel(token, model.id) : unloadModel(token, model.id));
    } catch (reason) {
      const message = reason instanceof Error ? reason.message : "The request failed.";
      setActionErrors((current) => ({ ...current, [model.id]: message }));
    } finally {
      await refresh();
      setBusy(({ [model.id]: _dropped, ...rest }) => rest);
    }
  }

  if (forbidden) return <AdminsOnly />;

  return (
    <div className="resources-body">
      <p className="resources-status muted">
        {updatedAt ? `Updated ${updatedAt.toLocaleTimeString()} · refreshes every 5 s` : "Loading…"}
        <button type="button" className="secondary small" onClick={() => void refresh()}>
          Refresh now
        </button>
      </p>
      {error && (
        <div className="banner error" role="alert">
          {error}
        </div>
      )}
      {resources && (
        <>
          <section aria-labelledby="hardware-heading">
            <h2 id="hardware-heading" className="resources-heading">
              Hardware
            </h2>
            <div className="resource-grid">
              {resources.gpus.length === 0 ? (
                <article className="resource-card" aria-labelledby="gpu-none">
                  <h3 id="gpu-none">GPU</h3>
                  <p className="muted">No GPU</p>
                </article>
              ) : (
                resources.gpus.map((gpu) => <GpuCard key={gpu.index} gpu={gpu} />)
              )}
              <CpuCard cpu={resources.cpu} />
              <article className="resource-card" aria-labelledby="ram-heading">
                <h3 id="ram-heading">Memory</h3>
                <Meter
                  label="RAM used"
                  percent={resources.memory.percent}
                  text={`${formatBytes(resources.memory.used_bytes)} of ${formatBytes(resources.memory.total_bytes)}`}
                />
                <dl className="facts">
                  <dt>Available</dt>
                  <dd>{formatBytes(resources.memory.available_bytes)}</dd>
                  <dt>Parley (resident)</dt>
                  <dd>{formatBytes(resources.memory.process_rss_bytes)}</dd>
                </dl>
              </article>
              <article className="resource-card" aria-labelledby="disk-heading">
                <h3 id="disk-heading">Disk</h3>
                <Meter
                  label="Disk used"
                  percent={resources.disk.percent}
                  text={`${formatBytes(resources.disk.used_bytes)} of ${formatBytes(resources.disk.total_bytes)}`}
                />
                <dl className="facts">
                  <dt>Free</dt>
                  <dd>{formatBytes(resources.disk.free_bytes)}</dd>
                  <dt>Data directory</dt>
                  <dd>{formatBytes(resources.disk.data_dir_bytes)}</dd>
                  <dt>Path</dt>
                  <dd className="path" title={resources.disk.path}>
                    <bdi>{resources.disk.path}</bdi>
                  </dd>
                </dl>
              </article>
            </div>
          </section>
          <ModelsTable models={resources.models} busy={busy} errors={actionErrors} onAct={act} />
        </>
      )}
      {stats && <ActivityStrip stats={stats} />}
    </div>
  );
}

interface MeterProps {
  label: string;
  /** The accessible name, where the visible label needs its card's context. */
  name?: string;
  percent: number;
  text?: string;
}

function Meter({ label, name = label, percent, text }: MeterProps) {
  const value = Math.min(100, Math.max(0, percent));
  const level = value >= 90 ? " high" : value >= 75 ? " raised" : "";
  return (
    <div className="meter-row">
      <div className="meter-label">
        <span>{label}</span>
        <span>{text ? `${text} (${formatPercent(percent)})` : formatPercent(percent)}</span>
      </div>
      <div
        className="meter"
        role="meter"
        aria-label={name}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={Math.round(value)}
        aria-valuetext={text ? `${text}, ${formatPercent(percent)}` : formatPercent(percent)}
      >
        <div className={`meter-fill${level}`} style={{ width: `${value}%` }} />
      </div>
    </div>
  );
}

function GpuCard({ gpu }: { gpu: GpuInfo }) {
  const headingId = `gpu-${gpu.index}-heading`;
  return (
    <article className="resource-card" aria-labelledby={headingId}>
      <h3 id={headingId}>
        GPU {gpu.index} <span className="muted card-subtitle">{gpu.name}</span>
      </h3>
      <Meter
        label="Memory"
        name={`GPU ${gpu.index} memory`}
        percent={usagePercent(gpu.memory_used_bytes, gpu.memory_total_bytes)}
        text={`${formatBytes(gpu.memory_used_bytes)} of ${formatBytes(gpu.memory_total_bytes)}`}
      />
      <dl className="facts">
        <dt>Utilisation</dt>
        <dd>{formatPercent(gpu.utilization_percent)}</dd>
        <dt>Temperature</dt>
        <dd>{gpu.temperature_c === null ? "—" : `${Math.round(gpu.temperature_c)} °C`}</dd>
      </dl>
    </article>
  );
}

function CpuCard({ cpu }: { cpu: HostResources["cpu"] }) {
  return (
    <article className="resource-card" aria-labelledby="cpu-heading">
      <h3 id="cpu-heading">
        CPU <span className="muted card-subtitle">{cpu.logical_cores} logical cores</span>
      </h3>
      <Meter label="All processes" name="CPU, all processes" percent={cpu.percent} />
      <Meter
        label="Parley"
        name="CPU, Parley"
        percent={processShareOfMachine(cpu.process_percent, cpu.logical_cores)}
      />
      <dl className="facts">
        <dt>Load average (1, 5, 15 min)</dt>
        <dd>{cpu.load_average.length ? cpu.load_average.map((load) => load.toFixed(2)).join(" · ") : "—"}</dd>
      </dl>
    </article>
  );
}

const STATE_LABELS: Record<ModelInfo["state"], string> = {
  available: "Not loaded",
  loading: "Loading",
  loaded: "Loaded",
  failed: "Failed",
};

interface ModelsTableProps {
  models: ModelInfo[];
  busy: Record<string, boolean>;
  errors: Record<string, string>;
  onAct: (model: ModelInfo, action: "load" | "unload") => Promise<void>;
}

function ModelsTable({ models, busy, errors, onAct }: ModelsTableProps) {
  return (
    <section aria-labelledby="models-heading">
      <h2 id="models-heading" className="resources-heading">
        Models
      </h2>
      <table className="models-table" aria-labelledby="models-heading">
        <thead>
          <tr>
            <th scope="col">Model</th>
            <th scope="col">State</th>
            <th scope="col">Device</th>
            <th scope="col">Dtype</th>
            <th scope="col">Memory</th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {models.map((model) => (
            <tr key={model.id} data-model={model.id}>
              <th scope="row" data-label="Model">
                <span className="model-id">{model.id}</span>
                {model.is_default && <span className="badge badge-default">default</span>}
              </th>
              <td data-label="State">
                <div>
                  <span className={`badge badge-${model.state}`}>
                    {STATE_LABELS[model.state]}
                    {model.state === "loading" && model.progress != null && ` ${Math.round(model.progress * 100)}%`}
                  </span>
                  {model.state === "loading" && (
                    <progress
                      className="model-progress"
                      aria-label={`Loading ${model.id}`}
                      max={1}
                      value={model.progress ?? undefined}
                    />
                  )}
                  {model.state === "failed" && model.error && <p className="model-error">{model.error}</p>}
                </div>
              </td>
              <td data-label="Device">{model.device ?? "—"}</td>
              <td data-label="Dtype">{model.dtype ?? "—"}</td>
              <td data-label="Memory">{formatBytes(model.memory_bytes)}</td>
              <td className="model-actions">
                <ModelAction model={model} busy={busy[model.id] === true} onAct={onAct} />
                {errors[model.id] && (
                  <p className="form-error" role="alert">
                    {errors[model.id]}
                  </p>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

/** One button whose label follows the model's state. It stays the same element and is only
 * aria-disabled while busy, so the keyboard focus stays on it from "Unload" to "Load". */
function ModelAction({ model, busy, onAct }: { model: ModelInfo; busy: boolean; onAct: ModelsTableProps["onAct"] }) {
  const action = model.state === "loaded" ? "unload" : "load";
  const unavailable = busy || model.state === "loading";
  const [text, name] =
    action === "unload"
      ? ["Unload", `Unload ${model.id}`]
      : model.state === "failed"
        ? ["Retry", `Retry loading ${model.id}`]
        : ["Load", `Load ${model.id}`];
  return (
    <button
      type="button"
      className={`${action === "unload" ? "secondary" : "primary"} small`}
      aria-label={name}
      aria-disabled={unavailable || undefined}
      onClick={() => {
        if (!unavailable) void onAct(model, action);
      }}
    >
      {text}
    </button>
  );
}

function ActivityStrip({ stats }: { stats: ServerStats }) {
  const items: [string, string][] = [
    ["Uptime", formatUptime(stats.uptime_s)],
    ["Requests", stats.requests.total.toLocaleString()],
    ["Answers", stats.runs.total.toLocaleString()],
    ["Generating", String(stats.runs.active)],
    ["Queued", String(stats.runs.queued)],
    ["Tokens out", stats.tokens.generated.toLocaleString()],
    ["First token p50", stats.runs.ttft_ms.p50 === null ? "—" : `${(stats.runs.ttft_ms.p50 / 1000).toFixed(2)} s`],
  ];
  return (
    <section aria-labelledby="activity-heading">
      <h2 id="activity-heading" className="resources-heading">
        Activity
      </h2>
      <dl className="activity-strip">
        {items.map(([label, value]) => (
          <div key={label} className="activity-item">
            <dt>{label}</dt>
            <dd>{value}</dd>
          </div>
        ))}
      </dl>
    </section>
  );
}
