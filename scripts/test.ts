// `deno task test`: the whole suite in a shuffled order (no test may depend on another having
// run), with a seed printed first so a failing order can be replayed:
// SAESWEEP_TEST_SEED=<seed> deno task test. Without arguments it also runs the `@example` blocks of
// mod.ts and lib/ as doc tests; extra arguments go to `deno test` instead (e.g. a file).
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
/** mod.ts and the lib/ files whose JSDoc has an `@example`: `deno test --doc` runs those. */
function docFiles(dir = "lib"): string[] {
  const found: string[] = [];
  for (const entry of Deno.readDirSync(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) found.push(...docFiles(path));
    else if (path.endsWith(".ts") && Deno.readTextFileSync(path).includes("@example")) {
      found.push(path);
    }
  }
  return found.sort();
}
const args = Deno.args.length ? Deno.args : ["--doc", "tests/", "mod.ts", ...docFiles()];
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
