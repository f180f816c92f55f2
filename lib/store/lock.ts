// The lock of a run directory: a `LOCK` file created exclusively, holding pid, host and time. A
// lock left by a dead process on this host is taken over; a live one is refused with LockError.
import { hostname } from "node:os";
import { join } from "node:path";
import { LockError } from "../errors.ts";
import { RUN_FILES } from "./records.ts";

/** Contents of a LOCK file. */
export interface LockInfo {
  pid: number;
  host: string;
  time: string;
  /** Random token identifying the holder (release removes only its own lock). */
  token: string;
}

/** A held run lock. */
export interface RunLock {
  readonly path: string;
  readonly info: LockInfo;
  release(): Promise<void>;
}

/** True when `pid` is a live process on this host (unknown counts as alive). */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (pid === Deno.pid) return true;
  if (Deno.build.os === "linux") {
    try {
      const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
      // A zombie (state Z) has exited; its pid only waits to be reaped.
      return !/^\d+ \(.*\) Z/s.test(stat);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return false;
    }
  }
  try {
    Deno.kill(pid, "SIGCONT");
    return true;
  } catch (err) {
    return !(err instanceof Deno.errors.NotFound) && !/ESRCH|No such process/.test(String(err));
  }
}

/** Reads a LOCK file; undefined when it does not exist or is unreadable garbage. */
export async function readLock(runDir: string): Promise<LockInfo | undefined> {
  try {
    const info = JSON.parse(await Deno.readTextFile(join(runDir, RUN_FILES.lock)));
    return typeof info?.pid === "number" && typeof info?.host === "string" ? info : undefined;
  } catch {
    return undefined;
  }
}

/** True when `info` belongs to a process that no longer runs on this host. */
export function isStale(info: LockInfo): boolean {
  return info.host === hostname() && !isProcessAlive(info.pid);
}

/** Takes the lock of `runDir` (created if missing). Throws LockError if a live process holds it. */
export async function acquireRunLock(runDir: string): Promise<RunLock> {
  await Deno.mkdir(runDir, { recursive: true });
  const path = join(runDir, RUN_FILES.lock);
  const token = Array.from(crypto.getRandomValues(new Uint32Array(4)), (n) => n.toString(16))
    .join("");
  const info: LockInfo = { pid: Deno.pid, host: hostname(), time: new Date().toISOString(), token };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const file = await Deno.open(path, { write: true, createNew: true });
      try {
        await file.write(new TextEncoder().encode(JSON.stringify(info) + "\n"));
        await file.sync();
      } finally {
        file.close();
      }
      return makeLock(path, info);
    } catch (err) {
      if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
    }
    const holder = await readLock(runDir);
    if (holder === undefined) {
      // Unreadable or half-written: treat as stale only if it stays so (a writer may be mid-write).
      await new Promise((r) => setTimeout(r, 50));
      if (await readLock(runDir) !== undefined) continue;
    } else if (!isStale(holder)) {
      throw new LockError(
        `run ${runDir} is locked by pid ${holder.pid} on ${holder.host} since ${holder.time}`,
        {
          hint: holder.host === hostname()
            ? "another process is training this run; wait for it or stop it"
            : `the lock belongs to another host; if no process there trains this run, delete ${path}`,
        },
      );
    }
    await Deno.remove(path).catch(() => {});
  }
  throw new LockError(`could not take the lock of ${runDir}: other processes keep taking it`, {
    hint: "run one sweep at a time per output directory",
  });
}

function makeLock(path: string, info: LockInfo): RunLock {
  let released = false;
  return {
    path,
    info,
    async release() {
      if (released) return;
      released = true;
      try {
        const current = JSON.parse(await Deno.readTextFile(path));
        if (current?.token === info.token) await Deno.remove(path);
      } catch {
        // Already gone: nothing to release.
      }
    },
  };
}
