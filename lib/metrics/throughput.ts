// Training throughput: tokens per second from a token count and elapsed time. No clocks here;
// the caller measures time (performance.now()).

/** Tokens per second; 0 when no time has elapsed yet. */
export function tokensPerSecond(tokens: number, seconds: number): number {
  return seconds > 0 ? tokens / seconds : 0;
}
