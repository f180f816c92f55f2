// Checks the shape of the module graph: no import cycles between files or between lib/ folders
// (static and dynamic imports alike), and lib/ never imports tasks/ or tests/.
import assert from "node:assert/strict";
import { dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const IMPORT = /(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g;

async function tsFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(join(ROOT, dir))) {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory) out.push(...await tsFiles(rel));
    else if (e.name.endsWith(".ts")) out.push(rel);
  }
  return out;
}

/** File-level graph of relative imports: path (relative to the root) -> imported paths. */
export function importGraph(sources: Record<string, string>): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const [file, text] of Object.entries(sources)) {
    const deps = [...text.matchAll(IMPORT)].map((m) => normalize(join(dirname(file), m[1])));
    graph.set(file, deps);
  }
  return graph;
}

/** Strongly connected components with more than one node (Tarjan), each sorted. */
export function cycles(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  let next = 0;
  function visit(v: string) {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) out.push(scc.sort());
    }
  }
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out;
}

/** The top-level folder of a path: `lib/sae/jumprelu/kernel.ts` -> `lib/sae`. */
function topFolder(path: string): string {
  return path.split("/").slice(0, -1).slice(0, 2).join("/");
}

/** Collapses a file graph to top-level folders (edges inside one folder dropped). */
function folderGraph(graph: Map<string, string[]>): Map<string, string[]> {
  const out = new Map<string, Set<string>>();
  for (const [file, deps] of graph) {
    const from = topFolder(file);
    if (!out.has(from)) out.set(from, new Set());
    for (const d of deps) if (topFolder(d) !== from) out.get(from)!.add(topFolder(d));
  }
  return new Map([...out].map(([k, v]) => [k, [...v]]));
}

async function projectGraph(): Promise<Map<string, string[]>> {
  const files = [...await tsFiles("lib"), ...await tsFiles("tasks"), "mod.ts"];
  const sources: Record<string, string> = {};
  for (const f of files) sources[f] = await Deno.readTextFile(join(ROOT, f));
  return importGraph(sources);
}

Deno.test("cycles() finds a two-file and a three-folder cycle and nothing in a DAG", () => {
  const g = importGraph({
    "lib/a/x.ts": 'import { y } from "./y.ts";',
    "lib/a/y.ts": 'export { x } from "./x.ts";',
    "lib/b/p.ts": 'const m = await import("../c/q.ts");',
    "lib/c/q.ts": 'import type { R } from "../d/r.ts";',
    "lib/d/r.ts": 'import { p } from "../b/p.ts";',
    "lib/e/s.ts": 'import { x } from "../a/x.ts";',
  });
  assert.deepEqual(cycles(g), [["lib/a/x.ts", "lib/a/y.ts"], [
    "lib/b/p.ts",
    "lib/c/q.ts",
    "lib/d/r.ts",
  ]]);
  assert.deepEqual(cycles(folderGraph(g)), [["lib/b", "lib/c", "lib/d"]]);
  assert.deepEqual(cycles(importGraph({ "a.ts": 'import "./b.ts";', "b.ts": "" })), []);
});

Deno.test("lib/ and tasks/ have no import cycles between files or between lib folders", async () => {
  const graph = await projectGraph();
  assert.ok(graph.size > 100, `only ${graph.size} modules found`);
  assert.deepEqual(cycles(graph), [], "file-level import cycles");
  const lib = new Map([...graph].filter(([f]) => f.startsWith("lib/")));
  assert.deepEqual(cycles(folderGraph(lib)), [], "folder-level import cycles in lib/");
});

Deno.test("lib/ imports nothing from tasks/ or tests/", async () => {
  const graph = await projectGraph();
  const bad = [...graph].flatMap(([f, deps]) =>
    f.startsWith("lib/")
      ? deps.filter((d) => relative("lib", d).startsWith("..")).map((d) => `${f} -> ${d}`)
      : []
  );
  assert.deepEqual(bad, []);
});
