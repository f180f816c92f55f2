// Number and duration formatting shared by the report renderers (deterministic, locale-free).

/** A number to `digits` significant digits without trailing zeros; `-` for null or non-finite. */
export function num(v: unknown, digits = 3): string {
  if (typeof v !== "number" || !Number.isFinite(v)) return "-";
  if (Math.abs(v) >= 10 ** digits) return v.toFixed(0);
  return String(Number(v.toPrecision(digits)));
}

/** A fraction as a signed percentage with one decimal, e.g. `+12.5%`; `-` for null. */
export function signedPct(v: unknown): string {
  if (typeof v !== "number" || !Number.isFinite(v)) return "-";
  const s = (v * 100).toFixed(1);
  return v > 0 ? `+${s}%` : `${s}%`;
}

/** A fraction as a percentage with one decimal, e.g. `3.1%`. */
export function pct(v: unknown): string {
  if (typeof v !== "number" || !Number.isFinite(v)) return "-";
  return `${(v * 100).toFixed(1)}%`;
}

/** A fraction as a percentage to `digits` significant digits, e.g. `0.038%` or `12.5%`. */
export function pctSig(v: unknown, digits = 2): string {
  if (typeof v !== "number" || !Number.isFinite(v)) return "-";
  return v === 0 ? "0%" : `${Number((v * 100).toPrecision(digits))}%`;
}

/** Seconds as `12.3 s`, `4.5 min` or `1.2 h`. */
export function duration(seconds: number): string {
  if (seconds < 120) return `${num(seconds)} s`;
  if (seconds < 7200) return `${(seconds / 60).toFixed(1)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}
