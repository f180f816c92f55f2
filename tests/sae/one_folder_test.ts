// The one-folder promise: no code outside lib/sae/ (each architecture's folder, the shared
// machinery and the registry) names a built-in architecture in a string, so nothing dispatches on
// one by name: the report, the export, the engines, the bench and the tasks read what they need
// from the descriptors (or the registry's FEATURED_ARCHITECTURE / REFERENCE_BASELINE). Comments,
// identifiers and longer strings (labels, help text) may mention them.
import assert from "node:assert/strict";
import { join } from "node:path";
import { architectureNames } from "../../lib/sae/registry.ts";
import { ROOT } from "../tasks/_spawn.ts";

async function tsFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(join(ROOT, dir))) {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory) out.push(...await tsFiles(rel));
    else if (rel.endsWith(".ts")) out.push(rel);
  }
  return out;
}

/** `file:line: text` of each code line of `text` with a string that is exactly a name in `names`. */
export function nameStrings(file: string, text: string, names: readonly string[]): string[] {
  const quoted = new RegExp(`["'\`](${names.join("|")})["'\`]`);
  return text.split("\n").flatMap((line, i) => {
    const code = line.trimStart();
    if (code.startsWith("//") || code.startsWith("*") || code.startsWith("/*")) return [];
    return quoted.test(line) ? [`${file}:${i + 1}: ${code}`] : [];
  });
}

Deno.test("nameStrings() finds a quoted architecture name in code, not in comments or longer strings", () => {
  const text = [
    'if (arch === "topk") return;',
    '// the "topk" case',
    " * `batchtopk` in a doc comment",
    'const label = "topk with grad clip";',
    "const k = tf.topk(x, 3);",
    "const kind = `gated`;",
  ].join("\n");
  assert.deepEqual(nameStrings("f.ts", text, ["topk", "batchtopk", "gated"]), [
    'f.ts:1: if (arch === "topk") return;',
    "f.ts:6: const kind = `gated`;",
  ]);
});

Deno.test("no code outside lib/sae/ names a built-in architecture in a string", async () => {
  const names = architectureNames();
  assert.ok(names.includes("jumprelu") && names.includes("topk"));
  const files = [...await tsFiles("lib"), ...await tsFiles("tasks"), "mod.ts"]
    .filter((f) => !f.startsWith("lib/sae/"));
  const found: string[] = [];
  for (const f of files) {
    found.push(...nameStrings(f, await Deno.readTextFile(join(ROOT, f)), names));
  }
  assert.deepEqual(found, [], `architecture names outside lib/sae/:\n${found.join("\n")}`);
});
