// Small helpers shared by the WGSL generators of gemm.ts (_gemm_tiled.ts, _gemm_direct.ts).

/** A float as a WGSL f32 literal that round-trips. */
export function f32(x: number): string {
  const s = String(Math.fround(x));
  return /[.e]/.test(s) ? s : `${s}.0`;
}
