// Checks the runs root directory (`--out`) before a sweep does anything: it must be a directory,
// or creatable inside a writable one. Creates nothing that stays (a probe is removed at once).
import { dirname, resolve } from "node:path";
import { UsageError } from "../errors.ts";

/** Throws a UsageError (exit 2) when runs cannot be written under `out`. */
export async function checkOutDir(out: string): Promise<void> {
  let dir = resolve(out);
  for (;;) {
    let info: Deno.FileInfo | undefined;
    try {
      info = await Deno.stat(dir);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) {
        throw new UsageError(`--out ${out}: cannot use ${dir}: ${(err as Error).message}`, {
          hint: "choose an output directory you can write to",
        });
      }
    }
    if (info && !info.isDirectory) {
      throw new UsageError(`--out ${out}: ${dir} is a file, not a directory`, {
        hint: "point --out at a directory (it is created when missing)",
      });
    }
    if (info) break;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  try {
    await Deno.remove(await Deno.makeTempDir({ dir, prefix: ".saesweep-probe-" }));
  } catch (err) {
    throw new UsageError(`--out ${out}: cannot write in ${dir}: ${(err as Error).message}`, {
      hint: "choose an output directory you can write to",
    });
  }
}
