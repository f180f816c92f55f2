import assert from "node:assert/strict";
import { appendLine, writeFileAtomic, writeJsonAtomic } from "../../lib/store/atomic.ts";

async function withDir(fn: (dir: string) => Promise<void>) {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function names(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) out.push(e.name);
  return out.sort();
}

Deno.test("writeFileAtomic() replaces the file and leaves no temp file", async () => {
  await withDir(async (dir) => {
    await writeFileAtomic(`${dir}/a.json`, "old");
    await writeFileAtomic(`${dir}/a.json`, new TextEncoder().encode("new"));
    assert.equal(await Deno.readTextFile(`${dir}/a.json`), "new");
    assert.deepEqual(await names(dir), ["a.json"]);
  });
});

Deno.test("writeFileAtomic() interrupted mid-write keeps the old file and no visible temp", async () => {
  await withDir(async (dir) => {
    await writeFileAtomic(`${dir}/a.json`, "old");
    // Simulate a crash between writing the temp file and renaming it over the target.
    const rename = Deno.rename;
    let tempSeen = "";
    Deno.rename = (from: string | URL, _to: string | URL) => {
      tempSeen = String(from);
      throw new Error("simulated crash");
    };
    try {
      await assert.rejects(writeFileAtomic(`${dir}/a.json`, "new"), /simulated crash/);
    } finally {
      Deno.rename = rename;
    }
    assert.match(tempSeen, /\/\.a\.json\.[0-9a-z]+\.tmp$/);
    assert.equal(await Deno.readTextFile(`${dir}/a.json`), "old");
    assert.deepEqual(await names(dir), ["a.json"]);
  });
});

Deno.test("writeJsonAtomic() writes pretty JSON with a trailing newline", async () => {
  await withDir(async (dir) => {
    await writeJsonAtomic(`${dir}/s.json`, { a: 1 });
    assert.equal(await Deno.readTextFile(`${dir}/s.json`), '{\n  "a": 1\n}\n');
  });
});

Deno.test("appendLine() appends one newline-terminated line per call", async () => {
  await withDir(async (dir) => {
    await appendLine(`${dir}/m.jsonl`, '{"step":1}');
    await appendLine(`${dir}/m.jsonl`, '{"step":2}\n');
    assert.equal(await Deno.readTextFile(`${dir}/m.jsonl`), '{"step":1}\n{"step":2}\n');
  });
});
