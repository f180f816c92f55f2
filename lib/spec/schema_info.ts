// Reads the zod spec schema as data: which keys exist at a path, what a leaf expects (in words),
// its default and description. Used by error messages, sweep-path checks and the key reference.
import type { z } from "zod";

// deno-lint-ignore no-explicit-any
type AnySchema = z.ZodType<any, any, any>;
// deno-lint-ignore no-explicit-any
type Def = Record<string, any>;

function defOf(schema: unknown): Def {
  return (schema as unknown as { _zod: { def: Def } })._zod.def;
}

/** Strips default/prefault/optional/nullable wrappers; reports whether null is accepted. */
export function unwrapSchema(schema: AnySchema): { inner: AnySchema; nullable: boolean } {
  let inner = schema;
  let nullable = false;
  for (;;) {
    const def = defOf(inner);
    if (def.type === "nullable") nullable = true;
    if (["default", "prefault", "optional", "nullable", "readonly"].includes(def.type)) {
      inner = def.innerType;
    } else return { inner, nullable };
  }
}

/** The variants of an object or discriminated union, as objects with a `shape`. */
function objectVariants(schema: AnySchema): Record<string, AnySchema>[] {
  const { inner } = unwrapSchema(schema);
  const def = defOf(inner);
  if (def.type === "object") return [def.shape];
  if (def.type === "union") return def.options.flatMap((o: AnySchema) => objectVariants(o));
  return [];
}

/** Keys a map at this schema may have (union of all variants); empty when not an object. */
export function schemaKeys(schema: AnySchema): string[] {
  const keys = new Set<string>();
  for (const shape of objectVariants(schema)) for (const k of Object.keys(shape)) keys.add(k);
  return [...keys];
}

/** True when the schema is a map whose keys are fixed (a strict object or union of them). */
export function isObjectSchema(schema: AnySchema): boolean {
  return objectVariants(schema).length > 0;
}

/**
 * The schema of `key` under `schema`. For a discriminated union, `variant` (the discriminator
 * value present in the data, if any) picks the branch; otherwise the first branch having the key.
 */
export function childSchema(
  schema: AnySchema,
  key: string | number,
  variant?: unknown,
): AnySchema | undefined {
  const { inner } = unwrapSchema(schema);
  const def = defOf(inner);
  if (typeof key === "number" || /^\d+$/.test(String(key))) {
    if (def.type === "array") return def.element;
  }
  if (def.type === "record") return def.valueType;
  const shapes = objectVariants(inner);
  if (variant !== undefined && def.type === "union") {
    const match = shapes.find((s) => {
      const d = s[def.discriminator as string];
      return d !== undefined && unwrapLiteral(d).includes(variant);
    });
    if (match && String(key) in match) return match[String(key)];
  }
  for (const shape of shapes) if (String(key) in shape) return shape[String(key)];
  return undefined;
}

function unwrapLiteral(schema: AnySchema): unknown[] {
  const def = defOf(unwrapSchema(schema).inner);
  return def.type === "literal" ? def.values : [];
}

/** Walks dotted path segments from `root`; undefined when a segment does not exist. */
export function schemaAt(root: AnySchema, segments: (string | number)[]): AnySchema | undefined {
  let current: AnySchema | undefined = root;
  for (const seg of segments) {
    if (!current) return undefined;
    current = childSchema(current, seg);
  }
  return current;
}

/** Default value of a schema (undefined when it has none). */
export function schemaDefault(schema: AnySchema): unknown {
  let s = schema;
  for (;;) {
    const def = defOf(s);
    if (def.type === "default") {
      return typeof def.defaultValue === "function" ? def.defaultValue() : def.defaultValue;
    }
    if (def.type === "prefault") return undefined;
    if (["optional", "nullable", "readonly"].includes(def.type)) s = def.innerType;
    else return undefined;
  }
}

/** Whether a schema may be left out without a default (`.optional()` outside any default). */
export function schemaIsOptional(schema: AnySchema): boolean {
  let s = schema;
  for (;;) {
    const def = defOf(s);
    if (def.type === "optional") return true;
    if (["nullable", "readonly"].includes(def.type)) s = def.innerType;
    else return false;
  }
}

/** The `.describe()` text of a schema or of one of its wrappers. */
export function schemaDescription(schema: AnySchema): string {
  let s: AnySchema | undefined = schema;
  while (s) {
    if (s.description) return s.description;
    const def = defOf(s);
    s = def.innerType;
  }
  return "";
}

function formatNumber(x: number): string {
  return String(x);
}

function rangeWords(checks: Def[] | undefined): string[] {
  const words: string[] = [];
  for (const check of checks ?? []) {
    const d = defOf(check);
    if (d.check === "greater_than") {
      words.push(`${d.inclusive ? ">=" : ">"} ${formatNumber(d.value)}`);
    }
    if (d.check === "less_than") words.push(`${d.inclusive ? "<=" : "<"} ${formatNumber(d.value)}`);
    if (d.check === "min_length" && d.minimum > 0) words.push(`at least ${d.minimum} long`);
  }
  return words;
}

/** What a schema accepts, in words: `a number > 0`, `an integer >= 1`, `one of "log", "linear"`. */
export function describeExpected(schema: AnySchema): string {
  const { inner, nullable } = unwrapSchema(schema);
  const def = defOf(inner);
  let words: string;
  switch (def.type) {
    case "number": {
      const isInt = def.format === "safeint" || def.format === "int32";
      const range = rangeWords(def.checks).filter((w) =>
        !(isInt && (w.includes("9007199254740991") || w.includes("-9007199254740991")))
      );
      words = (isInt ? "an integer" : "a number") + (range.length ? " " + range.join(" and ") : "");
      break;
    }
    case "boolean":
      words = "true or false";
      break;
    case "string": {
      const pattern = def.checks?.map((c: AnySchema) => defOf(c)).find((d: Def) =>
        d.format === "regex"
      );
      words = pattern ? `a string matching ${pattern.pattern}` : "a string";
      const range = rangeWords(def.checks);
      if (range.includes("at least 1 long")) words = "a non-empty string";
      break;
    }
    case "enum":
      words = "one of " + Object.values(def.entries).map((v) => JSON.stringify(v)).join(", ");
      break;
    case "literal":
      words = def.values.map((v: unknown) => JSON.stringify(v)).join(" or ");
      break;
    case "array": {
      const min = rangeWords(def.checks).length ? "a non-empty list" : "a list";
      words = `${min} of ${plural(describeExpected(def.element))}`;
      break;
    }
    case "object":
      words = "a map";
      break;
    case "union":
      words = def.discriminator
        ? `a map with \`${def.discriminator}: ${
          def.options.flatMap((o: AnySchema) => unwrapLiteral(defOf(o).shape[def.discriminator]))
            .join(" | ")
        }\``
        : def.options.map((o: AnySchema) => describeExpected(o)).join(" or ");
      break;
    case "record":
      words = "a map";
      break;
    default:
      words = "a value";
  }
  return nullable ? `${words} or null` : words;
}

function plural(words: string): string {
  return words.replace(/^an? /, "").replace(/^(number|integer|string|map|list)/, "$1s");
}

/** Every leaf path under `schema` (dotted), with its schema, in declaration order. */
export function leafPaths(
  schema: AnySchema,
  prefix = "",
): { path: string; schema: AnySchema }[] {
  const shapes = objectVariants(schema);
  const { inner } = unwrapSchema(schema);
  if (shapes.length === 0 || defOf(inner).type === "record") return [{ path: prefix, schema }];
  const out: { path: string; schema: AnySchema }[] = [];
  // A union of a map and other forms (data.train_text: files or {sample: ...}) is a key itself too.
  const def = defOf(inner);
  if (def.type === "union" && !def.discriminator && prefix) out.push({ path: prefix, schema });
  const seen = new Set<string>();
  for (const shape of shapes) {
    for (const [key, child] of Object.entries(shape)) {
      const path = prefix ? `${prefix}.${key}` : key;
      for (const leaf of leafPaths(child, path)) {
        if (!seen.has(leaf.path)) {
          seen.add(leaf.path);
          out.push(leaf);
        }
      }
    }
  }
  return out;
}
