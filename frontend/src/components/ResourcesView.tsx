// The machine as administrators see it: GPUs, CPU, memory, disk, the models (with Load and
// Unload) and the server's activity, polled while the view is open.
import { useCallback, useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { ApiError } from "../api/http";
import { fetchResources, fetchStats, loadModel, unloadModel } from "../api/rest";
import type { GpuInfo, HostResources, ModelInfo, ServerStats, User } from "../api/types";
import { useLanguage } from "../i18n";
import {
  formatBytes,
  formatClockTime,
  formatNumber,
  formatPercent,
  formatUptime,
  processShareOfMachine,
  usagePercent,
} from "../lib/format";
import { MenuButton } from "./MenuButton";
// The page header borrows the chat header's look.
import "./ChatLayout.css";
import "./ResourcesView.css";

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
  const { t } = useTranslation();
  const isAdmin = user?.is_admin === true;
  return (
    <section className="resources-view" aria-labelledby="resources-title">
      <header className="chat-header">
        <MenuButton expanded={sidebarOpen} onClick={onToggleSidebar} />
        <h1 id="resources-title" className="chat-title">
          {t("resources.title")}
        </h1>
      </header>
      {user === null ? (
        <p className="resources-body muted">{t("resources.loading")}</p>
      ) : isAdmin ? (
        <AdminResources token={token} />
      ) : (
        <AdminsOnly />
      )}
    </section>
  );
}

function AdminsOnly() {
  const { t } = useTranslation();
  return (
    <div className="resources-body">
      <div className="banner warning admins-only" role="alert">
        {t("resources.adminsOnly")}
      </div>
    </div>
  );
}

function AdminResources({ token }: { token: string }) {
  const { t } = useTranslation();
  const language = useLanguage();
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
      else setError(reason instanceof Error ? reason.message : t("resources.readFailed"));
    }
    if (activity.status === "fulfilled") setStats(activity.value);
  }, [token, t]);

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
      const message = reason instanceof Error ? reason.message : t("resources.requestFailed");
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
        {updatedAt ? t("resources.updated", { time: formatClockTime(updatedAt, language) }) : t("resources.loading")}
        <button type="button" className="secondary small" onClick={() => void refresh()}>
          {t("resources.refreshNow")}
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
              {t("resources.hardware")}
            </h2>
            <div className="resource-grid">
              {resources.gpus.length === 0 ? (
                <article className="resource-card" aria-labelledby="gpu-none">
                  <h3 id="gpu-none">{t("resources.gpu")}</h3>
                  <p className="muted">{t("resources.noGpu")}</p>
                </article>
              ) : (
                resources.gpus.map((gpu) => <GpuCard key={gpu.index} gpu={gpu} />)
              )}
              <CpuCard cpu={resources.cpu} />
              <article className="resource-card" aria-labelledby="ram-heading">
                <h3 id="ram-heading">{t("resources.memory")}</h3>
                <Meter
                  label={t("resources.ramUsed")}
                  percent={resources.memory.percent}
                  text={t("resources.ofTotal", {
                    used: formatBytes(resources.memory.used_bytes, language),
                    total: formatBytes(resources.memory.total_bytes, language),
                  })}
                />
                <dl className="facts">
                  <dt>{t("resources.available")}</dt>
                  <dd>{formatBytes(resources.memory.available_bytes, language)}</dd>
                  <dt>{t("resources.parleyResident")}</dt>
                  <dd>{formatBytes(resources.memory.process_rss_bytes, language)}</dd>
                </dl>
              </article>
              <article className="resource-card" aria-labelledby="disk-heading">
                <h3 id="disk-heading">{t("resources.disk")}</h3>
                <Meter
                  label={t("resources.diskUsed")}
                  percent={resources.disk.percent}
                  text={t("resources.ofTotal", {
                    used: formatBytes(resources.disk.used_bytes, language),
                    total: formatBytes(resources.disk.total_bytes, language),
                  })}
                />
                <dl className="facts">
                  <dt>{t("resources.free")}</dt>
                  <dd>{formatBytes(resources.disk.free_bytes, language)}</dd>
                  <dt>{t("resources.dataDirectory")}</dt>
                  <dd>{formatBytes(resources.disk.data_dir_bytes, language)}</dd>
                  <dt>{t("resources.path")}</dt>
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
  const { t } = useTranslation();
  const language = useLanguage();
  const headingId = `gpu-${gpu.index}-heading`;
  return (
    <article className="resource-card" aria-labelledby={headingId}>
      <h3 id={headingId}>
        {t("resources.gpuNumber", { index: gpu.index })} <span className="muted card-subtitle">{gpu.name}</span>
      </h3>
      <Meter
        label={t("resources.memory")}
        name={t("resources.gpuMemory", { index: gpu.index })}
        percent={usagePercent(gpu.memory_used_bytes, gpu.memory_total_bytes)}
        text={t("resources.ofTotal", {
          used: formatBytes(gpu.memory_used_bytes, language),
          total: formatBytes(gpu.memory_total_bytes, language),
        })}
      />
      <dl className="facts">
        <dt>{t("resources.utilisation")}</dt>
        <dd>{formatPercent(gpu.utilization_percent)}</dd>
        <dt>{t("resources.temperature")}</dt>
        <dd>{gpu.temperature_c === null ? "—" : `${Math.round(gpu.temperature_c)} °C`}</dd>
      </dl>
    </article>
  );
}

function CpuCard({ cpu }: { cpu: HostResources["cpu"] }) {
  const { t } = useTranslation();
  return (
    <article className="resource-card" aria-labelledby="cpu-heading">
      <h3 id="cpu-heading">
        {t("resources.cpu")}{" "}
        <span className="muted card-subtitle">{t("resources.logicalCores", { count: cpu.logical_cores })}</span>
      </h3>
      <Meter label={t("resources.allProcesses")} name={t("resources.cpuAllProcesses")} percent={cpu.percent} />
      <Meter
        label={t("resources.parley")}
        name={t("resources.cpuParley")}
        percent={processShareOfMachine(cpu.process_percent, cpu.logical_cores)}
      />
      <dl className="facts">
        <dt>{t("resources.loadAverage")}</dt>
        <dd>{cpu.load_average.length ? cpu.load_average.map((load) => load.toFixed(2)).join(" · ") : "—"}</dd>
      </dl>
    </article>
  );
}

interface ModelsTableProps {
  models: ModelInfo[];
  busy: Record<string, boolean>;
  errors: Record<string, string>;
  onAct: (model: ModelInfo, action: "load" | "unload") => Promise<void>;
}

function ModelsTable({ models, busy, errors, onAct }: ModelsTableProps) {
  const { t } = useTranslation();
  const language = useLanguage();
  const stateLabels: Record<ModelInfo["state"], string> = {
    available: t("resources.stateAvailable"),
    loading: t("resources.stateLoading"),
    loaded: t("resources.stateLoaded"),
    failed: t("resources.stateFailed"),
  };
  return (
    <section aria-labelledby="models-heading">
      <h2 id="models-heading" className="resources-heading">
        {t("resources.models")}
      </h2>
      <table className="models-table" aria-labelledby="models-heading">
        <thead>
          <tr>
            <th scope="col">{t("resources.model")}</th>
            <th scope="col">{t("resources.state")}</th>
            <th scope="col">{t("resources.device")}</th>
            <th scope="col">{t("resources.dtype")}</th>
            <th scope="col">{t("resources.memory")}</th>
            <th scope="col">
              <span className="visually-hidden">{t("resources.actions")}</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {models.map((model) => (
            <tr key={model.id} data-model={model.id}>
              <th scope="row" data-label={t("resources.model")}>
                <span className="model-id">{model.id}</span>
                {model.is_default && <span className="badge badge-default">{t("resources.default")}</span>}
              </th>
              <td data-label={t("resources.state")}>
                <div>
                  <span className={`badge badge-${model.state}`}>
                    {stateLabels[model.state]}
                    {model.state === "loading" && model.progress != null && ` ${Math.round(model.progress * 100)}%`}
                  </span>
                  {model.state === "loading" && (
                    <progress
                      className="model-progress"
                      aria-label={t("resources.loadingModel", { model: model.id })}
                      max={1}
                      value={model.progress ?? undefined}
                    />
                  )}
                  {model.state === "failed" && model.error && <p className="model-error">{model.error}</p>}
                </div>
              </td>
              <td data-label={t("resources.device")}>{model.device ?? "—"}</td>
              <td data-label={t("resources.dtype")}>{model.dtype ?? "—"}</td>
              <td data-label={t("resources.memory")}>{formatBytes(model.memory_bytes, language)}</td>
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
  const { t } = useTranslation();
  const action = model.state === "loaded" ? "unload" : "load";
  const unavailable = busy || model.state === "loading";
  const [text, name] =
    action === "unload"
      ? [t("resources.unload"), t("resources.unloadModel", { model: model.id })]
      : model.state === "failed"
        ? [t("resources.retry"), t("resources.retryModel", { model: model.id })]
        : [t("resources.load"), t("resources.loadModel", { model: model.id })];
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
  const { t } = useTranslation();
  const language = useLanguage();
  const number = (value: number) => formatNumber(value, language);
  const units = {
    days: (value: number) => t("units.days", { value }),
    hours: (value: number) => t("units.hours", { value }),
    minutes: (value: number) => t("units.minutes", { value }),
    seconds: (value: number) => t("units.seconds", { value }),
  };
  const p50 = stats.runs.ttft_ms.p50;
  const items: [string, string][] = [
    [t("resources.uptime"), formatUptime(stats.uptime_s, units)],
    [t("resources.requests"), number(stats.requests.total)],
    [t("resources.answers"), number(stats.runs.total)],
    [t("resources.generating"), number(stats.runs.active)],
    [t("resources.queued"), number(stats.runs.queued)],
    [t("resources.tokensOut"), number(stats.tokens.generated)],
    [
      t("resources.firstTokenP50"),
      p50 === null
        ? "—"
        : t("units.seconds", {
            value: formatNumber(p50 / 1000, language, { minimumFractionDigits: 2, maximumFractionDigits: 2 }),
          }),
    ],
  ];
  return (
    <section aria-labelledby="activity-heading">
      <h2 id="activity-heading" className="resources-heading">
        {t("resources.activity")}
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
