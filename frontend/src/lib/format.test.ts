import { describe, expect, it } from "vitest";
import { formatBytes, formatPercent, formatUptime, processShareOfMachine, usagePercent } from "./format";

describe("formatBytes", () => {
  it("uses binary units with up to three significant digits", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(1023)).toBe("1023 B");
    expect(formatBytes(1024)).toBe("1.00 KiB");
    expect(formatBytes(1536)).toBe("1.50 KiB");
    expect(formatBytes(15 * 1024 * 1024)).toBe("15.0 MiB");
    expect(formatBytes(250 * 1024 ** 3)).toBe("250 GiB");
    expect(formatBytes(80 * 1024 ** 4)).toBe("80.0 TiB");
  });

  it("rolls over instead of showing 1024 of a unit", () => {
    expect(formatBytes(1024 * 1024 - 1)).toBe("1.00 MiB");
  });

  it("says unknown for missing or nonsense values", () => {
    expect(formatBytes(null)).toBe("—");
    expect(formatBytes(undefined)).toBe("—");
    expect(formatBytes(-1)).toBe("—");
    expect(formatBytes(Number.NaN)).toBe("—");
  });
});

describe("formatPercent", () => {
  it("rounds, keeping a decimal below 10%", () => {
    expect(formatPercent(42.345)).toBe("42%");
    expect(formatPercent(4.25)).toBe("4.3%");
    expect(formatPercent(0)).toBe("0%");
    expect(formatPercent(100)).toBe("100%");
    expect(formatPercent(null)).toBe("—");
  });
});

describe("usagePercent", () => {
  it("is the share of the whole, clamped to 0..100", () => {
    expect(usagePercent(1, 4)).toBe(25);
    expect(usagePercent(5, 4)).toBe(100);
    expect(usagePercent(-1, 4)).toBe(0);
    expect(usagePercent(1, 0)).toBe(0);
  });
});

describe("formatUptime", () => {
  it("shows the two largest units", () => {
    expect(formatUptime(59)).toBe("59 s");
    expect(formatUptime(125)).toBe("2 min");
    expect(formatUptime(3725)).toBe("1 h 2 min");
    expect(formatUptime(93_784)).toBe("1 d 2 h");
  });
});

describe("processShareOfMachine", () => {
  it("turns per-core percent into a share of all cores", () => {
    expect(processShareOfMachine(200, 8)).toBe(25);
    expect(processShareOfMachine(50, 1)).toBe(50);
    expect(processShareOfMachine(50, 0)).toBe(50);
  });
});
