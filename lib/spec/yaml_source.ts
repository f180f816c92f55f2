// Parses spec YAML into plain data while keeping its nodes, so any value can be located by
// line:col. YAML 1.2 core schema, duplicate keys and unknown tags are errors, aliases are bounded.
import {
  type Document,
  isAlias,
  isMap,
  isPair,
  isScalar,
  LineCounter,
  parseDocument,
  visit,
} from "yaml";
import type { SpecIssue } from "../errors.ts";

/** Most alias expansions a spec may contain (stops billion-laughs documents). */
export const MAX_ALIAS_COUNT = 100;

export type PathSegment = string | number;

/** A parsed YAML spec: its plain data plus a way back from a data path to file positions. */
export interface YamlSource {
  fileName: string;
  data: unknown;
  /** Position of the value at `path`, or of its deepest existing ancestor. */
  locate(path: readonly PathSegment[]): { line: number; col: number };
  /** Position of the key `key` of the map at `path` (the map itself when the key is absent). */
  locateKey(path: readonly PathSegment[], key: string): { line: number; col: number };
}

/** Formats data path segments as `sweep.sae.target_l0[2]`. */
export function formatPath(path: readonly PathSegment[]): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else out += out ? `.${seg}` : seg;
  }
  return out;
}

function firstLine(message: string): string {
  return message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "");
}

/**
 * Parses `text`. Returns the source (data is undefined when the YAML is unusable) and every
 * syntax problem found, each located.
 */
export function parseYamlSource(
  text: string,
  fileName: string,
): { source: YamlSource; issues: SpecIssue[] } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter,
    uniqueKeys: true,
    schema: "core",
    version: "1.2",
    customTags: [],
    prettyErrors: true,
  });
  const issues: SpecIssue[] = [];
  for (const err of [...doc.errors, ...doc.warnings]) {
    const pos = err.linePos?.[0] ?? { line: 1, col: 1 };
    const message = err.code === "DUPLICATE_KEY"
      ? "duplicate key (each key may appear once per map)"
      : err.code === "TAG_RESOLVE_FAILED"
      ? `${
        firstLine(err.message).replace(/^Unresolved tag/, "unsupported tag")
      } (specs are plain data)`
      : err.code === "MULTIPLE_DOCS"
      ? "a spec is one YAML document; remove the `---` separator or split the file"
      : firstLine(err.message);
    issues.push({ file: fileName, line: pos.line, col: pos.col, path: "", message });
  }
  const pos = (offset: number) => {
    const p = lineCounter.linePos(offset);
    return { line: p.line, col: p.col };
  };
  let data: unknown = undefined;
  if (doc.errors.length === 0) {
    try {
      data = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (err) {
      const alias = firstAlias(doc);
      const at = alias?.range ? pos(alias.range[0]) : { line: 1, col: 1 };
      const detail = err instanceof Error ? err.message : String(err);
      issues.push({
        file: fileName,
        ...at,
        path: "",
        message: /alias/i.test(detail)
          ? `aliases expand to too many nodes (limit ${MAX_ALIAS_COUNT}); write the values out`
          : detail,
      });
    }
  }
  const nodeAt = (path: readonly PathSegment[]) => {
    // deno-lint-ignore no-explicit-any
    let node: any = doc.contents;
    let deepest = node;
    for (const seg of path) {
      if (isAlias(node)) node = node.resolve(doc);
      if (!node || typeof node !== "object" || !("items" in node)) break;
      const next = isMap(node)
        ? node.items.find((p) =>
          isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg)
        )
          ?.value
        : typeof seg === "number"
        ? node.items[seg]
        : undefined;
      if (next === undefined || next === null) break;
      node = next;
      deepest = node;
    }
    return deepest;
  };
  const source: YamlSource = {
    fileName,
    data,
    locate(path) {
      const node = nodeAt(path);
      return node?.range ? pos(node.range[0]) : { line: 1, col: 1 };
    },
    locateKey(path, key) {
      const parent = nodeAt(path);
      if (isMap(parent)) {
        const pair = parent.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
        // deno-lint-ignore no-explicit-any
        const keyNode = pair?.key as any;
        if (keyNode?.range) return pos(keyNode.range[0]);
      }
      return parent?.range ? pos(parent.range[0]) : { line: 1, col: 1 };
    },
  };
  return { source, issues };
}

function firstAlias(doc: Document) {
  // deno-lint-ignore no-explicit-any
  let found: any = undefined;
  visit(doc, {
    Alias(_key, node) {
      found = node;
      return visit.BREAK;
    },
  });
  return found as { range?: [number, number, number] } | undefined;
}
