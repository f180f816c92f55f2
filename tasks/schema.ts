// `deno task schema`: regenerates schema/experiment.schema.json and experiments/README.md from the
// zod spec schema (formatted with `deno fmt`, so the committed files pass `deno fmt --check`).
import { fileURLToPath } from "node:url";
import { experimentJsonSchemaText } from "../lib/spec/json_schema.ts";
import { keyReferenceMarkdown } from "../lib/spec/key_reference.ts";
import { runMain } from "./_cli.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

/** Formats text as `deno fmt` would with this repository's configuration. */
async function denoFmt(text: string, ext: string): Promise<string> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["fmt", `--ext=${ext}`, "-"],
    cwd: ROOT,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const out = await child.output();
  if (!out.success) throw new Error(`deno fmt failed: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout);
}

/** The generated files: repository-relative path -> formatted text. */
export async function renderSchemaFiles(): Promise<Record<string, string>> {
  return {
    "schema/experiment.schema.json": await denoFmt(experimentJsonSchemaText(), "json"),
    "experiments/README.md": await denoFmt(keyReferenceMarkdown(), "md"),
  };
}

async function main(): Promise<number> {
  for (const [path, text] of Object.entries(await renderSchemaFiles())) {
    await Deno.mkdir(`${ROOT}${path.split("/")[0]}`, { recursive: true });
    await Deno.writeTextFile(`${ROOT}${path}`, text);
    console.log(`wrote ${path}`);
  }
  return 0;
}

if (import.meta.main) runMain(main);
