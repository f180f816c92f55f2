// Tests lib/store/atomic.ts: replacements are atomic, seen through a write interposer
// (_write_spy.ts) rather than kill points: the target is never opened for writing, and it is
// published by one rename of a complete, fsynced temp file in its directory.
import assert from "node:assert/strict";
import {
  appendLine,
  removeTempFiles,
  writeFileAtomic,
  writeJsonAtomic,
} from "../../lib/store/atomic.ts";
import { assertAtomicWrite } from "./_write_spy.ts";

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

Deno.test("writeFileAtomic() never writes its target in place and fsyncs the temp before the rename", async () => {
  await withDir(async (dir) => {
    const target = `${dir}/summary.json`;
    const enc = new TextEncoder();
    for (const text of ["first", "second, longer", "3"]) {
      const events = await assertAtomicWrite(
        target,
        enc.encode(text),
        () => writeFileAtomic(target, text),
      );
      const rename = events.findIndex((e) => e.op === "rename" && e.path === target);
      const temp = events[rename].op === "rename" ? (events[rename] as { from: string }).from : "";
      const synced = events.findIndex((e) => e.op === "sync" && e.path === temp);
      assert.ok(synced >= 0 && synced < rename, `${temp} fsynced before its rename`);
    }
    assert.deepEqual(await names(dir), ["summary.json"]);
  });
});

Deno.test("writeJsonAtomic() never writes its target in place", async () => {
  await withDir(async (dir) => {
    const target = `${dir}/cfg.json`;
    const want = new TextEncoder().encode('{\n  "d_sae": 32\n}\n');
    await assertAtomicWrite(target, want, () => writeJsonAtomic(target, { d_sae: 32 }));
    await assertAtomicWrite(target, want, () => writeJsonAtomic(target, { d_sae: 32 }));
  });
});

Deno.test("the write interposer catches an in-place write and a rename of an incomplete temp", async () => {
  // The check the tests above rely on can fail: writers that are not atomic are refused.
  await withDir(async (dir) => {
    const target = `${dir}/a.json`;
    await Deno.writeTextFile(target, "old");
    const want = new TextEncoder().encode("new!");
    await assert.rejects(
      assertAtomicWrite(target, want, () => Deno.writeFile(target, want)),
      /writeFile wrote .*a\.json in place/,
    );
    await Deno.writeTextFile(target, "old");
    await assert.rejects(
      assertAtomicWrite(target, want, async () => {
        const file = await Deno.open(target, { write: true });
        await file.write(want);
        file.close();
      }),
      /open wrote .*a\.json in place/,
    );
    await Deno.writeTextFile(target, "old");
    await assert.rejects(
      assertAtomicWrite(target, want, async () => {
        await Deno.writeFile(`${dir}/tmp`, want.subarray(0, 2));
        await Deno.rename(`${dir}/tmp`, target);
        await Deno.writeFile(target, want.subarray(2), { append: true });
      }),
      /rename published .*tmp, which did not hold the new bytes/,
    );
    await Deno.writeTextFile(target, "old");
    const other = await Deno.makeTempDir();
    await assert.rejects(
      assertAtomicWrite(target, want, async () => {
        await Deno.writeFile(`${other}/tmp`, want);
        await Deno.rename(`${other}/tmp`, target);
      }),
      /from another directory/,
    );
    await Deno.remove(other, { recursive: true });
  });
});

Deno.test("removeTempFiles() removes exactly the temp names of the two atomic writers, in subdirectories too", async () => {
  await withDir(async (dir) => {
    await Deno.mkdir(`${dir}/sae`);
    // Temps: writeFileAtomic's `.<name>.<tag>.tmp`, writeSafetensors's `<name>.tmp-<pid>-<8 hex>`.
    const temps = [
      ".summary.json.1a2b3c.tmp",
      "sae/.cfg.json.zz9.tmp",
      "sae/w.safetensors.tmp-77-0123abcd",
    ];
    // Near misses a run or its user may hold: kept.
    const kept = [
      "summary.json",
      "metrics.jsonl",
      "LOCK",
      "x.tmp", // no leading dot
      "notes.v2.tmp", // a tag, but no leading dot
      ".hidden", // no .tmp
      ".a.tmp", // no tag between the name and .tmp
      ".summary.json.1A2B.tmp", // upper case is not a tag of writeFileAtomic's
      "sae/w.safetensors.tmp-77-0123abc", // 7 hex digits
      "sae/w.safetensors.tmp-x-0123abcd", // no pid
      "sae/w.safetensors.tmp-77-0123abcd.bak",
    ];
    for (const p of [...temps, ...kept]) await Deno.writeTextFile(`${dir}/${p}`, "x");
    assert.equal(await removeTempFiles(dir), temps.length);
    const left = [
      ...(await names(dir)).filter((n) => n !== "sae"),
      ...(await names(`${dir}/sae`)).map((n) => `sae/${n}`),
    ];
    assert.deepEqual(left.sort(), [...kept].sort());
    assert.equal(await removeTempFiles(`${dir}/missing`), 0);
  });
});
