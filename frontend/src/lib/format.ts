// Numbers, dates and durations for the reader's language (a BCP 47 tag such as "en" or "zh-CN").

export function formatNumber(value: number, locale: string, options: Intl.NumberFormatOptions = {}): string {
  return new Intl.NumberFormat(locale, options).format(value);
}

/** 1234 -> "1.2" (seconds), 12_345 -> "12": the number of seconds, one decimal below 10 s. */
export function secondsValue(ms: number, locale: string): string {
  return ms < 10_000
    ? formatNumber(ms / 1000, locale, { minimumFractionDigits: 1, maximumFractionDigits: 1 })
    : formatNumber(Math.round(ms / 1000), locale);
}

/** "3 minutes ago", "3分钟前"; the date alone beyond a day; "" for a time that is not one. */
export function formatRelativeTime(iso: string, locale: string, now: number = Date.now()): string {
  const time = new Date(iso).getTime();
  const seconds = Math.round((now - time) / 1000);
  if (!Number.isFinite(seconds)) return "";
  const relative = new Intl.RelativeTimeFormat(locale, { numeric: "auto" });
  if (seconds < 60) return relative.format(0, "second");
  if (seconds < 3600) return relative.format(-Math.floor(seconds / 60), "minute");
  if (seconds < 86_400) return relative.format(-Math.floor(seconds / 3600), "hour");
  return new Intl.DateTimeFormat(locale, { dateStyle: "medium" }).format(time);
}

/** A message's time in full: "Dec 2, 2026, 4:05 AM", "2026年12月2日 04:05". */
export function formatDateTime(iso: string, locale: string): string {
  const time = new Date(iso).getTime();
  if (!Number.isFinite(time)) return "";
  return new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short" }).format(time);
}

/** The clock time alone, for "updated at". */
export function formatClockTime(date: Date, locale: string): string {
  return new Intl.DateTimeFormat(locale, { timeStyle: "medium" }).format(date);
}

const BYTE_UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

/** 1536 -> "1.5 KiB"; binary units, three significant digits at most; "—" when unknown. */
export function formatBytes(bytes: number | null | undefined, locale: string = "en"): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes) || bytes < 0) return "—";
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  if (unit === 0) return `${bytes} B`;
  const digits = value < 10 ? 2 : value < 100 ? 1 : 0;
  // 1023.9 KiB would round to "1024 KiB": say "1.00 MiB" instead.
  if (Number(value.toFixed(digits)) >= 1024 && unit < BYTE_UNITS.length - 1) {
    return `1.00 ${BYTE_UNITS[unit + 1]}`;
  }
  const shown = formatNumber(value, locale, {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
    useGrouping: false,
  });
  return `${shown} ${BYTE_UNITS[unit]}`;
}

/** 42.345 -> "42%", 4.25 -> "4.3%"; "—" when unknown. */
export function formatPercent(percent: number | null | undefined): string {
  if (percent === null || percent === undefined || !Number.isFinite(percent)) return "—";
  return percent < 10 && percent !== 0 ? `${percent.toFixed(1)}%` : `${Math.round(percent)}%`;
}

/** A share of a whole as a percentage for a bar, clamped to 0..100 (0 when the whole is 0). */
export function usagePercent(used: number, total: number): number {
  if (!Number.isFinite(used) || !Number.isFinite(total) || total <= 0) return 0;
  return Math.min(100, Math.max(0, (used / total) * 100));
}

export interface DurationUnits {
  days: (value: number) => string;
  hours: (value: number) => string;
  minutes: (value: number) => string;
  seconds: (value: number) => string;
}

const ENGLISH_UNITS: DurationUnits = {
  days: (value) => `${value} d`,
  hours: (value) => `${value} h`,
  minutes: (value) => `${value} min`,
  seconds: (value) => `${value} s`,
};

/** 93784 -> "1 d 2 h", 3725 -> "1 h 2 min", 59 -> "59 s" (the units in the reader's language). */
export function formatUptime(seconds: number, units: DurationUnits = ENGLISH_UNITS): string {
  const s = Math.max(0, Math.floor(seconds));
  const days = Math.floor(s / 86_400);
  const hours = Math.floor((s % 86_400) / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  if (days > 0) return `${units.days(days)} ${units.hours(hours)}`;
  if (hours > 0) return `${units.hours(hours)} ${units.minutes(minutes)}`;
  if (minutes > 0) return units.minutes(minutes);
  return units.seconds(s);
}

/** psutil counts a process's CPU per core (200% is two cores busy): as a share of the machine. */
export function processShareOfMachine(processPercent: number, logicalCores: number): number {
  return processPercent / Math.max(1, logicalCores);
}
