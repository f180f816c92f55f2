// Paths of the random-weight Hugging Face fixtures (written by fixtures/make_hf_fixtures.py with
// their numpy forward pass) and a copy helper for tests that break a folder.

/** Folder of one fixture: "llama" (byte-level BPE, tied, llama3 RoPE, bf16) or "qwen2" (shards). */
export function hfFixture(name: "llama" | "qwen2"): string {
  return new URL(`./fixtures/${name}`, import.meta.url).pathname;
}

/** A temporary copy of a fixture folder (for tests that remove or rewrite a file). */
export async function copyFixture(name: "llama" | "qwen2"): Promise<string> {
  const dir = `${await Deno.makeTempDir()}/${name}`;
  await Deno.mkdir(dir);
  for await (const e of Deno.readDir(hfFixture(name))) {
    await Deno.copyFile(`${hfFixture(name)}/${e.name}`, `${dir}/${e.name}`);
  }
  return dir;
}

/** Removes a copy made by copyFixture (with its temporary parent). */
export async function removeCopy(dir: string): Promise<void> {
  await Deno.remove(dir.replace(/\/[^/]+$/, ""), { recursive: true });
}
