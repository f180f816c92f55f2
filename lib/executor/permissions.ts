// Deno permission flags of a training subprocess: the same as deno.json's `run` task (narrow: no
// network, no -A). A test keeps the two in sync.

export const RUN_PERMISSION_FLAGS: readonly string[] = [
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-run",
  "--allow-sys",
  "--allow-ffi",
];
