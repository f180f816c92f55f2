// Turns zod validation issues into located SpecIssues with messages in the house style:
// `expected a number > 0, got "16" (string)`; unknown keys get a did-you-mean. Pure.
import type { z } from "zod";
import type { SpecIssue } from "../errors.ts";
import { didYouMean } from "./did_you_mean.ts";
import { childSchema, describeExpected, schemaKeys } from "./schema_info.ts";
import { formatPath, type PathSegment, type YamlSource } from "./yaml_source.ts";

// deno-lint-ignore no-explicit-any
type AnySchema = z.ZodType<any, any, any>;

/** Shows an offending value briefly: `"16" (string)`, `1.5`, `a list`, `null`. */
export function showValue(value: unknown): string {
  if (typeof value === "string") {
    const s = value.length > 40 ? value.slice(0, 37) + "..." : value;
    return `${JSON.stringify(s)} (string)`;
  }
  if (Array.isArray(value)) return "a list";
  if (value === null) return "null";
  if (typeof value === "object") return "a map";
  return String(value);
}

function valueAt(data: unknown, path: readonly PathSegment[]): unknown {
  let current = data;
  for (const seg of path) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<string, unknown>)[String(seg)];
  }
  return current;
}

/** The schema at a data path, choosing union branches by the discriminator found in `data`. */
export function schemaAtData(
  root: AnySchema,
  data: unknown,
  path: readonly PathSegment[],
): AnySchema | undefined {
  let schema: AnySchema | undefined = root;
  for (let i = 0; i < path.length && schema; i++) {
    const here = valueAt(data, path.slice(0, i));
    const variant = here && typeof here === "object"
      ? (here as { source?: unknown }).source
      : undefined;
    schema = childSchema(schema, path[i], variant);
  }
  return schema;
}

export interface IssueContext {
  source: YamlSource;
  schema: AnySchema;
  /** The data that was validated (for offending values and union branches). */
  data: unknown;
  /**
   * Maps a data path to the place it came from in the file (sweep values are validated after
   * substitution into the spec); identity when absent.
   */
  relocate?: (path: PathSegment[]) => PathSegment[];
}

/** Converts zod issues to located spec issues (one per unknown key). */
export function specIssuesFromZod(
  issues: readonly z.core.$ZodIssue[],
  ctx: IssueContext,
): SpecIssue[] {
  const out: SpecIssue[] = [];
  const relocate = ctx.relocate ?? ((p: PathSegment[]) => p);
  const at = (dataPath: PathSegment[], message: string, key?: string) => {
    const filePath = relocate(dataPath);
    const pos = key === undefined
      ? ctx.source.locate(filePath)
      : ctx.source.locateKey(filePath, key);
    const shownPath = key === undefined ? filePath : [...filePath, key];
    out.push({ file: ctx.source.fileName, ...pos, path: formatPath(shownPath), message });
  };
  for (const issue of issues) {
    const path = issue.path.map((p) => (typeof p === "symbol" ? String(p) : p)) as PathSegment[];
    const input = valueAt(ctx.data, path);
    const present = input !== undefined;
    const schema = schemaAtData(ctx.schema, ctx.data, path);
    const expected = schema ? describeExpected(schema) : "";
    switch (issue.code) {
      case "unrecognized_keys": {
        const parentSchema = schemaAtData(ctx.schema, ctx.data, path);
        const known = parentSchema ? schemaKeys(parentSchema) : [];
        for (const key of issue.keys) {
          // A key of another variant of this section (e.g. `path` under source: synthetic) is
          // not a typo: say where it belongs instead of suggesting the key itself.
          const guess = known.includes(key) ? undefined : didYouMean(key, known);
          const source = (input as { source?: unknown } | undefined)?.source;
          const variant = typeof source === "string" ? `source \`${source}\`` : "this variant";
          const message = known.includes(key)
            ? `\`${key}\` is not a key of ${variant} (it belongs to another variant)`
            : guess
            ? `unknown key; did you mean \`${guess}\`?`
            : "unknown key";
          at(path, message, key);
        }
        break;
      }
      case "invalid_union": {
        const disc = (issue as { discriminator?: string }).discriminator;
        const options = (issue as { options?: unknown[] }).options ?? [];
        const choices = options.map((o) => JSON.stringify(o)).join(", ");
        if (disc && !present) {
          at(path.slice(0, -1), `missing required key \`${disc}\` (one of ${choices})`);
        } else if (disc) {
          at(path, `expected one of ${choices}, got ${showValue(input)}`);
        } else {
          // A union of a list and a map (data.train_text): a map is checked as the map branch,
          // so a misspelt key inside it is named like any other unknown key.
          const branches = (issue as { errors?: z.core.$ZodIssue[][] }).errors ?? [];
          const typed = branches.filter((b) =>
            !b.some((i) => i.code === "invalid_type" && i.path.length === 0)
          );
          if (typed.length === 1 && input !== null && typeof input === "object") {
            const nested = typed[0].map((i) => ({ ...i, path: [...issue.path, ...i.path] }));
            out.push(...specIssuesFromZod(nested as z.core.$ZodIssue[], ctx));
          } else at(path, `expected ${expected || "another form"}, got ${showValue(input)}`);
        }
        break;
      }
      case "invalid_type":
        if (!present) {
          const key = String(path[path.length - 1]);
          at(path.slice(0, -1), `missing required key \`${key}\` (${expected})`);
        } else {
          at(path, `expected ${expected}, got ${showValue(input)}`);
        }
        break;
      case "invalid_format":
        if (issue.message && !issue.message.startsWith("Invalid")) {
          at(path, `expected ${issue.message}, got ${showValue(input)}`);
        } else {
          at(path, `expected ${expected}, got ${showValue(input)}`);
        }
        break;
      case "too_small":
      case "too_big":
      case "invalid_value":
      case "not_multiple_of":
        at(path, `expected ${expected}, got ${showValue(input)}`);
        break;
      default:
        at(path, issue.message.charAt(0).toLowerCase() + issue.message.slice(1));
    }
  }
  return out;
}
