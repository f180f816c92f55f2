// Test helper: a write interposer. Wraps Deno's file-writing calls (open/create for writing,
// writeFile, writeTextFile, truncate, rename, link, copyFile, and sync of an open file) to record
// what a piece of code does to the file system, so a test can see a torn write without killing the
// process: a target opened for writing in place, a rename of a temp that was not fully written.
import { resolve } from "node:path";

/** One call that writes or publishes a file; paths are absolute. */
export type WriteEvent =
  | { op: "open"; path: string; append: boolean; createNew: boolean; truncate: boolean }
  | { op: "writeFile"; path: string; append: boolean; createNew: boolean }
  | { op: "truncate"; path: string }
  | { op: "rename" | "link" | "copyFile"; from: string; path: string }
  | { op: "sync"; path: string };

export interface WriteSpy {
  /** Every write event so far, in call order. */
  events: WriteEvent[];
  /** Puts Deno's own functions back. */
  restore(): void;
}

/**
 * Starts recording write events. `before`, when given, runs before each call is passed on (e.g. to
 * read a target's bytes at that moment); it may throw to fail the call.
 */
export function spyWrites(before?: (event: WriteEvent) => void | Promise<void>): WriteSpy {
  const events: WriteEvent[] = [];
  const paths = new WeakMap<Deno.FsFile, string>();
  const abs = (p: string | URL) => resolve(p instanceof URL ? p.pathname : p);
  const saved = {
    open: Deno.open,
    openSync: Deno.openSync,
    create: Deno.create,
    createSync: Deno.createSync,
    writeFile: Deno.writeFile,
    writeFileSync: Deno.writeFileSync,
    writeTextFile: Deno.writeTextFile,
    writeTextFileSync: Deno.writeTextFileSync,
    truncate: Deno.truncate,
    truncateSync: Deno.truncateSync,
    rename: Deno.rename,
    renameSync: Deno.renameSync,
    link: Deno.link,
    linkSync: Deno.linkSync,
    copyFile: Deno.copyFile,
    copyFileSync: Deno.copyFileSync,
    sync: Deno.FsFile.prototype.sync,
    syncSync: Deno.FsFile.prototype.syncSync,
    syncData: Deno.FsFile.prototype.syncData,
    syncDataSync: Deno.FsFile.prototype.syncDataSync,
  };
  const record = async (event: WriteEvent) => {
    events.push(event);
    await before?.(event);
  };
  const recordSync = (event: WriteEvent) => {
    events.push(event);
    const result = before?.(event);
    if (result instanceof Promise) throw new Error("spyWrites: a sync call needs a sync check");
  };
  const openEvent = (path: string | URL, o: Deno.OpenOptions = {}): WriteEvent | undefined =>
    o.write || o.append || o.create || o.createNew || o.truncate
      ? {
        op: "open",
        path: abs(path),
        append: o.append === true,
        createNew: o.createNew === true,
        truncate: o.truncate === true,
      }
      : undefined;
  const fileEvent = (path: string | URL, o: Deno.WriteFileOptions = {}): WriteEvent => ({
    op: "writeFile",
    path: abs(path),
    append: o.append === true,
    createNew: o.createNew === true,
  });

  Deno.open = async (path, options) => {
    const event = openEvent(path, options);
    if (event) await record(event);
    const file = await saved.open(path, options);
    paths.set(file, abs(path));
    return file;
  };
  Deno.openSync = (path, options) => {
    const event = openEvent(path, options);
    if (event) recordSync(event);
    const file = saved.openSync(path, options);
    paths.set(file, abs(path));
    return file;
  };
  Deno.create = async (path) => {
    await record({ op: "open", path: abs(path), append: false, createNew: false, truncate: true });
    const file = await saved.create(path);
    paths.set(file, abs(path));
    return file;
  };
  Deno.createSync = (path) => {
    recordSync({ op: "open", path: abs(path), append: false, createNew: false, truncate: true });
    const file = saved.createSync(path);
    paths.set(file, abs(path));
    return file;
  };
  Deno.writeFile = async (path, data, options) => {
    await record(fileEvent(path, options));
    return saved.writeFile(path, data, options);
  };
  Deno.writeFileSync = (path, data, options) => {
    recordSync(fileEvent(path, options));
    return saved.writeFileSync(path, data, options);
  };
  Deno.writeTextFile = async (path, data, options) => {
    await record(fileEvent(path, options));
    return saved.writeTextFile(path, data, options);
  };
  Deno.writeTextFileSync = (path, data, options) => {
    recordSync(fileEvent(path, options));
    return saved.writeTextFileSync(path, data, options);
  };
  Deno.truncate = async (path, len) => {
    await record({ op: "truncate", path: abs(path) });
    return saved.truncate(path, len);
  };
  Deno.truncateSync = (path, len) => {
    recordSync({ op: "truncate", path: abs(path) });
    return saved.truncateSync(path, len);
  };
  for (const op of ["rename", "link", "copyFile"] as const) {
    const sync = `${op}Sync` as const;
    // deno-lint-ignore no-explicit-any
    (Deno as any)[op] = async (from: string | URL, to: string | URL) => {
      await record({ op, from: abs(from), path: abs(to) });
      return saved[op](from as string, to as string);
    };
    // deno-lint-ignore no-explicit-any
    (Deno as any)[sync] = (from: string | URL, to: string | URL) => {
      recordSync({ op, from: abs(from), path: abs(to) });
      return saved[sync](from as string, to as string);
    };
  }
  for (const name of ["sync", "syncData"] as const) {
    const method = saved[name];
    Deno.FsFile.prototype[name] = async function (this: Deno.FsFile) {
      const path = paths.get(this);
      if (path !== undefined) await record({ op: "sync", path });
      return method.call(this);
    };
    const syncMethod = saved[`${name}Sync`];
    Deno.FsFile.prototype[`${name}Sync`] = function (this: Deno.FsFile) {
      const path = paths.get(this);
      if (path !== undefined) recordSync({ op: "sync", path });
      return syncMethod.call(this);
    };
  }
  return {
    events,
    restore() {
      Deno.open = saved.open;
      Deno.openSync = saved.openSync;
      Deno.create = saved.create;
      Deno.createSync = saved.createSync;
      Deno.writeFile = saved.writeFile;
      Deno.writeFileSync = saved.writeFileSync;
      Deno.writeTextFile = saved.writeTextFile;
      Deno.writeTextFileSync = saved.writeTextFileSync;
      Deno.truncate = saved.truncate;
      Deno.truncateSync = saved.truncateSync;
      Deno.rename = saved.rename;
      Deno.renameSync = saved.renameSync;
      Deno.link = saved.link;
      Deno.linkSync = saved.linkSync;
      Deno.copyFile = saved.copyFile;
      Deno.copyFileSync = saved.copyFileSync;
      Deno.FsFile.prototype.sync = saved.sync;
      Deno.FsFile.prototype.syncSync = saved.syncSync;
      Deno.FsFile.prototype.syncData = saved.syncData;
      Deno.FsFile.prototype.syncDataSync = saved.syncDataSync;
    },
  };
}

/** Whether an event writes bytes into `event.path` itself (not through a rename or link). */
export function writesInPlace(event: WriteEvent): boolean {
  return event.op === "open" || event.op === "writeFile" || event.op === "truncate" ||
    event.op === "copyFile";
}

/**
 * Checks that `write()` replaces `target` atomically: the target is never written in place, it is
 * published by one rename (or link) of a file in the same directory that was complete (`want`)
 * at that moment, and at every write call the target holds its old bytes (or is absent) or the
 * new ones. Returns the spy's events for further checks.
 */
export async function assertAtomicWrite(
  target: string,
  want: Uint8Array,
  write: () => Promise<void>,
): Promise<WriteEvent[]> {
  const path = resolve(target);
  const old = await Deno.readFile(path).catch(() => undefined);
  const same = (a: Uint8Array | undefined, b: Uint8Array | undefined) =>
    a !== undefined && b !== undefined && a.length === b.length && a.every((x, i) => x === b[i]);
  const problems: string[] = [];
  const spy = spyWrites((event) => {
    const now = readOrUndefined(path);
    if (!(now === undefined && old === undefined) && !same(now, old) && !same(now, want)) {
      problems.push(`before ${event.op} ${event.path}: ${path} held neither the old nor new bytes`);
    }
    if (event.path === path && writesInPlace(event)) {
      problems.push(`${event.op} wrote ${path} in place`);
    }
    if ((event.op === "rename" || event.op === "link") && event.path === path) {
      if (!same(readOrUndefined(event.from), want)) {
        problems.push(`${event.op} published ${event.from}, which did not hold the new bytes`);
      }
      if (resolve(event.from, "..") !== resolve(path, "..")) {
        problems.push(`${event.op} from another directory (${event.from}) is not atomic`);
      }
    }
  });
  try {
    await write();
  } finally {
    spy.restore();
  }
  const published = spy.events.filter((e) =>
    (e.op === "rename" || e.op === "link") && e.path === path
  );
  if (published.length !== 1) problems.push(`${path} was published ${published.length} times`);
  if (!same(readOrUndefined(path), want)) problems.push(`${path} does not hold the new bytes`);
  if (problems.length) throw new Error(`not an atomic write:\n${problems.join("\n")}`);
  return spy.events;
}

function readOrUndefined(path: string): Uint8Array | undefined {
  try {
    return Deno.readFileSync(path);
  } catch {
    return undefined;
  }
}
