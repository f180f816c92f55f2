// The package version and the git commit of the checkout the code runs from (read from .git
// directly, so no subprocess or extra permission is needed).
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const VERSION = "0.1.0";

/** HEAD commit of the repository containing this file, or null outside a git checkout. */
export async function readGitCommit(): Promise<string | null> {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const git = join(dir, ".git");
    try {
      const head = (await Deno.readTextFile(join(git, "HEAD"))).trim();
      if (!head.startsWith("ref: ")) return head;
      const ref = head.slice(5);
      try {
        return (await Deno.readTextFile(join(git, ref))).trim();
      } catch {
        const packed = await Deno.readTextFile(join(git, "packed-refs")).catch(() => "");
        const line = packed.split("\n").find((l) => l.endsWith(` ${ref}`));
        return line ? line.split(" ")[0] : null;
      }
    } catch {
      dir = dirname(dir);
    }
  }
  return null;
}
