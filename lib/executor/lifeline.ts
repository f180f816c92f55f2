// The lifeline between the local executor and its training children: the parent holds the write
// end of each child's stdin and never writes; the child reads until end of file, which happens
// when the parent exits or is killed, and then stops (checkpoints) instead of training as an orphan.

/** Calls `onLost` once stdin reaches end of file (or fails); returns at once. */
export function watchLifeline(onLost: () => void): void {
  (async () => {
    try {
      for await (const _ of Deno.stdin.readable) { /* the parent never writes */ }
    } catch {
      // A broken pipe means the same as end of file: the parent is gone.
    }
    onLost();
  })();
}
