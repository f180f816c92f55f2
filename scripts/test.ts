// `deno task test`: the whole suite in a shuffled order (no test may depend on another having
// run), with a seed printed first so a failing order can be replayed:
// SAESWEEP_TEST_SEED=<seed> deno task test. Extra arguments go to `deno test` (e.g. a file).
const seed = Deno.env.get("SAESWEEP_TEST_SEED") ?? String(Math.floor(Math.random() * 2 ** 31));
const permissions = [
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-run",
  "--allow-sys",
  "--allow-ffi",
  "--allow-net=127.0.0.1",
];
const args = Deno.args.length ? Deno.args : ["tests/"];
console.error(`test order seed: ${seed} (replay: SAESWEEP_TEST_SEED=${seed} deno task test)`);
const child = new Deno.Command(Deno.execPath(), {
  args: ["test", ...permissions, `--shuffle=${seed}`, ...args],
  stdin: "inherit",
  stdout: "inherit",
  stderr: "inherit",
}).spawn();
// Ctrl-C reaches the whole process group; wait for deno test to finish its own teardown.
Deno.addSignalListener("SIGINT", () => {});
const status = await child.status;
Deno.exit(status.code);
