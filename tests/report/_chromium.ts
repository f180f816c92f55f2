// Test helper: headless Chromium for report pages. `openInChromium` dumps a page's DOM after load;
// `withChromiumPage` drives a page over the DevTools protocol (evaluate, wait for a condition, real
// mouse events), optionally with the network switched off, and collects console messages,
// exceptions and every URL the page requested. Tests skip without Chromium, except under CI=true.
import { ok } from "node:assert/strict";
import { pathToFileURL } from "node:url";

export const CI = ["1", "true"].includes((Deno.env.get("CI") ?? "").toLowerCase());

async function findChromium(): Promise<string | null> {
  for (const name of ["chromium", "chromium-browser", "google-chrome"]) {
    try {
      const out = await new Deno.Command(name, {
        args: ["--version"],
        stdout: "null",
        stderr: "null",
      }).output();
      if (out.success) return name;
    } catch {
      // not installed under this name
    }
  }
  return null;
}

export const CHROMIUM = await findChromium();

/** A test that needs Chromium: skipped without it on a dev machine, failing under CI. */
export function chromiumTest(name: string, fn: () => Promise<void>): void {
  Deno.test({ name, ignore: CHROMIUM === null && !CI, fn });
}

const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

function requireChromium(): string {
  if (CHROMIUM === null) {
    throw new Error("CI is set but chromium is not installed: apt-get install -y chromium");
  }
  return CHROMIUM;
}

/** The DOM Chromium built from `path`, and the console messages it logged. */
export async function openInChromium(path: string): Promise<{ dom: string; console: string[] }> {
  const profile = await Deno.makeTempDir({ prefix: "saesweep_chromium_" });
  try {
    const out = await new Deno.Command(requireChromium(), {
      args: [
        ...FLAGS,
        `--user-data-dir=${profile}`,
        "--enable-logging=stderr",
        "--v=0",
        "--dump-dom",
        pathToFileURL(path).href,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    ok(out.success, `chromium failed:\n${stderr}`);
    return {
      dom: new TextDecoder().decode(out.stdout),
      console: stderr.split("\n").filter((l) => /:CONSOLE[:(]/.test(l)),
    };
  } finally {
    await removeProfile(profile);
  }
}

/** A page driven over the DevTools protocol. */
export interface ChromiumPage {
  /** Value of a JS expression in the page (promises awaited); throws on a page exception. */
  evaluate<T>(expression: string): Promise<T>;
  /** Polls `expression` until it is truthy, failing after `timeoutMs` (a generous deadline). */
  waitFor(expression: string, timeoutMs?: number): Promise<void>;
  /** Moves the mouse to the centre of the first element matching `selector` (scrolled into view). */
  hover(selector: string): Promise<void>;
  /** Clicks the centre of the first element matching `selector` with the mouse. */
  click(selector: string): Promise<void>;
}

/**
 * Opens `path` in a fresh headless Chromium, runs `fn` on the loaded page, and returns every
 * console message, uncaught exception and error log entry the page produced.
 */
export async function withChromiumPage(
  path: string,
  fn: (page: ChromiumPage) => Promise<void>,
  options: { offline?: boolean } = {},
): Promise<{ console: string[]; requests: string[] }> {
  const requests: string[] = [];
  const profile = await Deno.makeTempDir({ prefix: "saesweep_chromium_" });
  const child = new Deno.Command(requireChromium(), {
    args: [...FLAGS, `--user-data-dir=${profile}`, "--remote-debugging-port=0", "about:blank"],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const messages: string[] = [];
  let socket: WebSocket | null = null;
  try {
    // Chromium prints the browser endpoint on stderr; keep draining stderr afterwards.
    const lines = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let buffered = "", endpoint: string | null = null;
    while (endpoint === null) {
      const { value, done } = await lines.read();
      if (done) throw new Error(`chromium exited before listening:\n${buffered}`);
      buffered += value;
      endpoint = /DevTools listening on (ws:\/\/\S+)/.exec(buffered)?.[1] ?? null;
    }
    (async () => {
      while (!(await lines.read()).done) { /* drain */ }
    })().catch(() => {});
    const port = new URL(endpoint).port;
    const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
    const target = targets.find((t: { type: string }) => t.type === "page");
    ok(target, "no page target");
    socket = new WebSocket(target.webSocketDebuggerUrl);
    const ws = socket;
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = reject;
    });
    let nextId = 1;
    const pending = new Map<number, (msg: Record<string, unknown>) => void>();
    const events: ((msg: Record<string, unknown>) => void)[] = [];
    ws.onmessage = (e) => {
      const msg = JSON.parse(e.data);
      if (typeof msg.id === "number") pending.get(msg.id)?.(msg);
      else for (const h of events) h(msg);
    };
    const send = (method: string, params: Record<string, unknown> = {}) =>
      new Promise<Record<string, unknown>>((resolve, reject) => {
        const id = nextId++;
        pending.set(
          id,
          (msg) =>
            msg.error
              ? reject(new Error(JSON.stringify(msg.error)))
              : resolve(msg.result as Record<string, unknown>),
        );
        ws.send(JSON.stringify({ id, method, params }));
      });
    events.push((msg) => {
      // deno-lint-ignore no-explicit-any
      const p = msg.params as Record<string, any>;
      if (msg.method === "Runtime.consoleAPICalled") {
        messages.push(
          `console.${p.type}: ${
            p.args.map((a: { value?: unknown; description?: string }) => a.value ?? a.description)
              .join(" ")
          }`,
        );
      } else if (msg.method === "Runtime.exceptionThrown") {
        messages.push(
          `exception: ${p.exceptionDetails.exception?.description ?? p.exceptionDetails.text}`,
        );
      } else if (msg.method === "Log.entryAdded" && p.entry.level === "error") {
        messages.push(`log: ${p.entry.text}`);
      } else if (msg.method === "Network.requestWillBeSent") {
        requests.push(p.request.url);
      }
    });
    await send("Runtime.enable");
    await send("Log.enable");
    await send("Page.enable");
    await send("Network.enable");
    if (options.offline) {
      await send("Network.emulateNetworkConditions", {
        offline: true,
        latency: 0,
        downloadThroughput: -1,
        uploadThroughput: -1,
      });
    }
    const centre = async (selector: string) => {
      const at = await page.evaluate<{ x: number; y: number } | null>(`(() => {
        const el = document.querySelector(${JSON.stringify(selector)});
        if (!el) return null;
        el.scrollIntoView({ block: "center" });
        const r = el.getBoundingClientRect();
        return { x: r.left + r.width / 2, y: r.top + r.height / 2 };
      })()`);
      if (at === null) throw new Error(`no element matches ${selector}`);
      return at;
    };
    const mouse = (type: string, at: { x: number; y: number }) =>
      send("Input.dispatchMouseEvent", { type, ...at, button: "left", clickCount: 1 });
    const url = pathToFileURL(path).href;
    await send("Page.navigate", { url });
    const page: ChromiumPage = {
      async evaluate<T>(expression: string): Promise<T> {
        const r = await send("Runtime.evaluate", {
          expression,
          returnByValue: true,
          awaitPromise: true,
        }) as { result: { value: T }; exceptionDetails?: { text: string } };
        if (r.exceptionDetails) {
          throw new Error(`page exception: ${JSON.stringify(r.exceptionDetails)}`);
        }
        return r.result.value;
      },
      async waitFor(expression: string, timeoutMs = 30_000): Promise<void> {
        const deadline = Date.now() + timeoutMs;
        let last: unknown = null;
        while (true) {
          try {
            // An evaluation can fail while a navigation replaces the page: retry it.
            if (await page.evaluate<boolean>(`Boolean(${expression})`)) return;
          } catch (err) {
            last = err;
          }
          if (Date.now() > deadline) {
            throw new Error(`timed out waiting for ${expression}${last ? `: ${last}` : ""}`);
          }
          await new Promise((r) => setTimeout(r, 50));
        }
      },
      async hover(selector: string): Promise<void> {
        await mouse("mouseMoved", await centre(selector));
      },
      async click(selector: string): Promise<void> {
        const at = await centre(selector);
        await mouse("mouseMoved", at);
        await mouse("mousePressed", at);
        await mouse("mouseReleased", at);
      },
    };
    await page.waitFor(
      `location.href === ${JSON.stringify(url)} && document.readyState === "complete"`,
    );
    await fn(page);
  } finally {
    socket?.close();
    try {
      child.kill("SIGTERM");
    } catch { /* already exited */ }
    await child.status;
    await removeProfile(profile);
  }
  return { console: messages, requests };
}

/**
 * Removes Chromium's profile directory. Its helper processes (renderer, GPU, crashpad) can still
 * write there for a moment after the browser process exits, so removal is retried until it goes
 * through (up to 10 s); the directory is a temp dir, so a last failure is left to the OS.
 */
async function removeProfile(profile: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await Deno.remove(profile, { recursive: true });
      return;
    } catch (err) {
      if (err instanceof Deno.errors.NotFound || Date.now() > deadline) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
