// The corpus of malformed inputs: specs, data files, checkpoints and flags a hostile but fair
// user might give. Each case names the files it creates, the command, and what must come out:
// the exit code, a fragment of the message and where the problem is (file:line:col, spec key,
// flag or file name). corpus_test.ts runs them all and checks that nothing was written.
import { encodeNpy } from "../../lib/formats/npy.ts";
import { encodeSafetensors } from "../../lib/formats/safetensors.ts";

/** A real checkpoint of the `good` spec's topk run, to corrupt (see corpus_test.ts). */
export interface GoodCheckpoint {
  record: Record<string, unknown>;
  tensorsFile: string;
  tensors: Uint8Array;
  /** The record with its recordSha256 recomputed, as if written by the trainer. */
  sign(record: Record<string, unknown>): Promise<Record<string, unknown>>;
}

export interface CorpusCase {
  name: string;
  /** Files to create, relative to the case's directory; `{id}` is the topk run id. */
  files?: Record<string, string | Uint8Array>;
  /** Checkpoint files made from a real one (run directory of the topk run). */
  checkpoint?: (good: GoodCheckpoint) => Promise<Record<string, string | Uint8Array>>;
  symlinks?: Record<string, string>;
  task?: "sweep" | "run";
  args: string[];
  code: 1 | 2;
  message: string;
  location: string;
}

/** Rows of pseudo-random activations [n, d] (deterministic, not constant). */
export function rows(n: number, d: number): Float32Array {
  return Float32Array.from({ length: n * d }, (_, i) => Math.sin(i * 12.9898) * 3);
}

const npy = (x: Float32Array, shape: number[]) => encodeNpy(x, { shape, dtype: "<f4" });
const withValue = (i: number, v: number) => {
  const x = rows(3000, 8);
  x[i] = v;
  return npy(x, [3000, 8]);
};
const intNpy = () => {
  const b = npy(rows(3000, 8), [3000, 8]);
  const at = new TextDecoder("latin1").decode(b.subarray(0, 128)).indexOf("'<f4'");
  b[at + 2] = "i".charCodeAt(0); // same bytes, now declared int32
  return b;
};

/** A spec whose data is `data` (flow YAML) with small, fast training settings. */
export function specWith(data: string, sae = "{width: 16, target_l0: 4}"): string {
  return `name: c\ndata: ${data}\nsae: ${sae}\ntrain: {tokens: 10240, batch_size: 256, ` +
    `log_every: 5, checkpoint_every: 10, lr_warmup_steps: 5}\neval: {tokens: 256}\n`;
}

/** The shared stories260K fixture (../shared/fixtures, never copied into the repository). */
const FIXTURES = new URL("../../../shared/fixtures/", import.meta.url).pathname;
const LM = (extra: string, tokenizer = `${FIXTURES}stories260K/tok512.bin`) =>
  specWith(
    `{source: lm, checkpoint: ${FIXTURES}stories260K/stories260K.bin, tokenizer: ${tokenizer}, ` +
      `train_text: [${FIXTURES}text/tinystories_sample.txt], ` +
      `heldout_text: [${FIXTURES}text/tinystories_sample.txt]${extra}}`,
  );

export const GOOD = specWith(
  "{source: synthetic, d_model: 8, n_features: 16}",
  "{width: 32, target_l0: 4, architecture: topk}",
);
const FILES = (path: string, extra = "") => specWith(`{source: files, path: ${path}${extra}}`);
const spec = (text: string) => ({ "spec.yaml": text });

export const CASES: CorpusCase[] = [
  // Specs: every problem located by line and column.
  {
    name: "yaml syntax error",
    files: spec("name: c\ndata: {source: synthetic\n"),
    args: ["spec.yaml"],
    code: 2,
    message: "problem",
    location: "spec.yaml:3:1",
  },
  {
    name: "multi-document yaml",
    files: spec("name: c\n---\nname: d\n"),
    args: ["spec.yaml"],
    code: 2,
    message: "a spec is one YAML document",
    location: "spec.yaml:2:1",
  },
  {
    name: "misspelt key",
    files: spec("name: c\nsae: {widht: 16}\n"),
    args: ["spec.yaml"],
    code: 2,
    message: "did you mean `width`",
    location: "spec.yaml:2:7",
  },
  {
    name: "key of another data source",
    files: spec("name: c\ndata: {source: synthetic, path: a.npy}\n"),
    args: ["spec.yaml"],
    code: 2,
    message: "`path` is not a key of source `synthetic`",
    location: "spec.yaml:2:27",
  },
  {
    name: "number as a string",
    files: spec('name: c\ntrain:\n  lr: "0.1"\n'),
    args: ["spec.yaml"],
    code: 2,
    message: "train.lr: expected a number > 0",
    location: "spec.yaml:3:7",
  },
  {
    name: "negative learning rate",
    files: spec("name: c\ntrain: {lr: -1}\n"),
    args: ["spec.yaml"],
    code: 2,
    message: "train.lr",
    location: "spec.yaml:2:13",
  },
  {
    name: "zero width",
    files: spec("name: c\nsae: {width: 0}\n"),
    args: ["spec.yaml"],
    code: 2,
    message: "sae.width",
    location: "spec.yaml:2:14",
  },
  {
    name: "target L0 not below width",
    files: spec("name: c\ndata: {source: synthetic}\nsae: {width: 8, target_l0: 8}\n"),
    args: ["spec.yaml"],
    code: 2,
    message: "target_l0 8 must be < sae.width 8",
    location: "spec.yaml:3",
  },
  {
    name: "unknown architecture",
    files: spec("name: c\nsae: {architecture: relux}\n"),
    args: ["spec.yaml"],
    code: 2,
    message: "sae.architecture",
    location: "spec.yaml:2:21",
  },
  {
    name: "duplicate key",
    files: spec("name: c\nname: d\n"),
    args: ["spec.yaml"],
    code: 2,
    message: "duplicate key",
    location: "spec.yaml:2:1",
  },
  {
    name: "executable tag",
    files: spec("name: !!js/function 'x'\n"),
    args: ["spec.yaml"],
    code: 2,
    message: "specs are plain data",
    location: "spec.yaml:1:7",
  },
  {
    name: "alias bomb",
    files: spec(
      "a: &a [1,1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n",
    ),
    args: ["spec.yaml"],
    code: 2,
    message: "aliases expand to too many nodes",
    location: "spec.yaml:",
  },
  {
    name: "unknown sweep axis",
    files: spec("name: c\nsweep:\n  sae.widht: [8, 16]\n"),
    args: ["spec.yaml"],
    code: 2,
    message: "did you mean `sae.width`",
    location: "spec.yaml:3:3",
  },
  {
    name: "empty spec",
    files: spec(""),
    args: ["spec.yaml"],
    code: 2,
    message: "problem",
    location: "spec.yaml:1:1",
  },
  {
    name: "spec is a list",
    files: spec("- name: c\n"),
    args: ["spec.yaml"],
    code: 2,
    message: "problem",
    location: "spec.yaml:1:1",
  },
  {
    name: "tokens with underscores",
    files: spec("name: c\ntrain:\n  tokens: 1_500_000\n"),
    args: ["spec.yaml"],
    code: 2,
    message: "train.tokens",
    location: "spec.yaml:3:11",
  },
  {
    name: "missing spec file",
    args: ["nowhere.yaml"],
    code: 2,
    message: "nowhere.yaml",
    location: "nowhere.yaml",
  },
  // Data files: found once, before any run, naming the spec key and the file.
  {
    name: "missing data file",
    files: spec(FILES("acts/none.npy")),
    args: ["spec.yaml"],
    code: 2,
    message: "does not exist",
    location: "data.path: ",
  },
  {
    name: "integer dtype",
    files: { ...spec(FILES("a.npy")), "a.npy": intNpy() },
    args: ["spec.yaml"],
    code: 2,
    message: "unsupported .npy dtype <i4",
    location: "a.npy",
  },
  {
    name: "rank-3 array",
    files: { ...spec(FILES("a.npy")), "a.npy": npy(rows(300, 8), [30, 10, 8]) },
    args: ["spec.yaml"],
    code: 2,
    message: "is not 2-D [tokens, d_model]",
    location: "a.npy",
  },
  {
    name: "rank-1 array",
    files: { ...spec(FILES("a.npy")), "a.npy": npy(rows(300, 1), [300]) },
    args: ["spec.yaml"],
    code: 2,
    message: "is not 2-D [tokens, d_model]",
    location: "a.npy",
  },
  {
    name: "NaN in the data",
    files: { ...spec(FILES("a.npy")), "a.npy": withValue(123 * 8 + 5, NaN) },
    args: ["spec.yaml"],
    code: 2,
    message: "row 123, column 5 holds NaN",
    location: "data.path: ",
  },
  {
    name: "Inf in the data",
    files: { ...spec(FILES("a.npy")), "a.npy": withValue(7 * 8 + 2, -Infinity) },
    args: ["spec.yaml"],
    code: 2,
    message: "row 7, column 2 holds -Infinity",
    location: "a.npy",
  },
  {
    name: "all-zero data",
    files: { ...spec(FILES("a.npy")), "a.npy": npy(new Float32Array(3000 * 8), [3000, 8]) },
    args: ["spec.yaml"],
    code: 2,
    message: "sampled activation vectors are zero",
    location: "a.npy",
  },
  {
    name: "constant data",
    files: { ...spec(FILES("a.npy")), "a.npy": npy(new Float32Array(3000 * 8).fill(2), [3000, 8]) },
    args: ["spec.yaml"],
    code: 2,
    message: "sampled activation vectors are identical",
    location: "a.npy",
  },
  {
    name: "not an activation file",
    files: { ...spec(FILES("a.txt")), "a.txt": "hello" },
    args: ["spec.yaml"],
    code: 2,
    message: "not a .npy or .safetensors file",
    location: "a.txt",
  },
  {
    name: "truncated npy",
    files: { ...spec(FILES("a.npy")), "a.npy": npy(rows(3000, 8), [3000, 8]).slice(0, 5000) },
    args: ["spec.yaml"],
    code: 2,
    message: "a.npy",
    location: "data.path: ",
  },
  {
    name: "garbage npy",
    files: { ...spec(FILES("a.npy")), "a.npy": new TextEncoder().encode("not numpy at all") },
    args: ["spec.yaml"],
    code: 2,
    message: "a.npy",
    location: "data.path: ",
  },
  {
    name: "directory without shards",
    files: { ...spec(FILES("acts")), "acts/readme.txt": "x" },
    args: ["spec.yaml"],
    code: 2,
    message: "holds no .npy or .safetensors files",
    location: "acts",
  },
  {
    name: "shards of different widths",
    files: {
      ...spec(FILES("acts")),
      "acts/0.npy": npy(rows(2000, 8), [2000, 8]),
      "acts/1.npy": npy(rows(2000, 4), [2000, 4]),
    },
    args: ["spec.yaml"],
    code: 2,
    message: "d_model 4 differs from 8",
    location: "1.npy",
  },
  {
    name: "broken symlinked shard",
    files: { ...spec(FILES("acts")), "acts/0.npy": npy(rows(2000, 8), [2000, 8]) },
    symlinks: { "acts/1.npy": "gone.npy" },
    args: ["spec.yaml"],
    code: 2,
    message: "symbolic link to a file that does not exist",
    location: "1.npy",
  },
  {
    name: "safetensors with several tensors and no data.tensor",
    files: {
      ...spec(FILES("a.safetensors")),
      "a.safetensors": encodeSafetensors({
        x: { dtype: "F32", shape: [2000, 8], data: rows(2000, 8) },
        y: { dtype: "F32", shape: [2000, 8], data: rows(2000, 8) },
      }),
    },
    args: ["spec.yaml"],
    code: 2,
    message: "holds 2 tensors, and data.tensor does not say which",
    location: "a.safetensors",
  },
  {
    name: "safetensors without the named tensor",
    files: {
      ...spec(FILES("a.safetensors", ", tensor: acts")),
      "a.safetensors": encodeSafetensors({
        x: { dtype: "F32", shape: [2000, 8], data: rows(2000, 8) },
      }),
    },
    args: ["spec.yaml"],
    code: 2,
    message: "no tensor named acts",
    location: "a.safetensors",
  },
  {
    name: "one row only",
    files: { ...spec(FILES("a.npy")), "a.npy": npy(rows(1, 8), [1, 8]) },
    args: ["spec.yaml"],
    code: 2,
    message: "1 rows give",
    location: "a.npy",
  },
  {
    name: "missing lm checkpoint",
    files: spec(
      "name: c\ndata: {source: lm, checkpoint: m.bin, tokenizer: t.bin, train_text: [a.txt], heldout_text: [a.txt]}\neval: {tokens: 256}\n",
    ),
    args: ["spec.yaml"],
    code: 2,
    message: "does not exist",
    location: "data.checkpoint: ",
  },
  {
    name: "garbage lm checkpoint",
    files: {
      ...spec(
        "name: c\ndata: {source: lm, checkpoint: m.bin, tokenizer: t.bin, train_text: [a.txt], heldout_text: [a.txt]}\neval: {tokens: 256}\n",
      ),
      "m.bin": "short",
      "t.bin": "x",
      "a.txt": "hello",
    },
    args: ["spec.yaml"],
    code: 2,
    message: "shorter than the 28-byte header",
    location: "data.checkpoint: ",
  },
  {
    name: "lm layer beyond the model",
    files: spec(LM(", layer: 9")),
    args: ["spec.yaml"],
    code: 2,
    message: "but the model has layers 0..4",
    location: "data.layer = 9",
  },
  {
    name: "garbled lm tokenizer",
    files: { ...spec(LM("", "tok.bin")), "tok.bin": new Uint8Array([1, 0, 0, 0, 9, 9, 9]) },
    args: ["spec.yaml"],
    code: 2,
    message: "tok.bin",
    location: "data.tokenizer: ",
  },
  // Flags.
  {
    name: "--jobs 0",
    files: spec(GOOD),
    args: ["spec.yaml", "--jobs", "0"],
    code: 2,
    message: "--jobs expects an integer >= 1",
    location: "--jobs",
  },
  {
    name: "--jobs not a number",
    files: spec(GOOD),
    args: ["spec.yaml", "--jobs", "two"],
    code: 2,
    message: 'got "two"',
    location: "--jobs",
  },
  {
    name: "--out is a file",
    files: { ...spec(GOOD), "out.txt": "x" },
    args: ["spec.yaml", "--out", "out.txt", "--dry-run"],
    code: 2,
    message: "is a file, not a directory",
    location: "--out out.txt",
  },
  {
    name: "--out where Deno may not write",
    files: spec(GOOD),
    args: ["spec.yaml", "--out", "/proc/saesweep-runs"],
    code: 2,
    message: "cannot use /proc/saesweep-runs",
    location: "--out /proc/saesweep-runs",
  },
  {
    name: "--out below a file",
    files: { ...spec(GOOD), "out.txt": "x" },
    args: ["spec.yaml", "--out", "out.txt/runs"],
    code: 2,
    message: "cannot use",
    location: "--out out.txt/runs",
  },
  {
    name: "--filter matches nothing",
    files: spec(GOOD),
    args: ["spec.yaml", "--filter", "seed=7"],
    code: 2,
    message: "matches none of the 1 runs",
    location: "--filter seed=7",
  },
  {
    name: "--filter unknown key",
    files: spec(GOOD),
    args: ["spec.yaml", "--filter", "widht=3"],
    code: 2,
    message: "did you mean `width`",
    location: "--filter key `widht`",
  },
  {
    name: "--filter without =",
    files: spec(GOOD),
    args: ["spec.yaml", "--filter", "topk"],
    code: 2,
    message: "expects key=value",
    location: "--filter",
  },
  {
    name: "--restart unknown run",
    files: spec(GOOD),
    args: ["spec.yaml", "--restart", "nope"],
    code: 2,
    message: "no such run in this sweep",
    location: "--restart nope",
  },
  {
    name: "--backend unknown",
    files: spec(GOOD),
    args: ["spec.yaml", "--backend", "tpu"],
    code: 2,
    message: "tpu",
    location: "--backend",
  },
  {
    name: "unknown flag",
    files: spec(GOOD),
    args: ["spec.yaml", "--job", "2"],
    code: 2,
    message: "unknown option",
    location: "--job",
  },
  {
    name: "absurd width",
    files: spec(GOOD.replace("width: 32", "width: 2000000000")),
    args: ["spec.yaml"],
    code: 2,
    message: "of memory; this machine has",
    location: "sae.width 2000000000",
  },
  {
    name: "absurd d_model",
    files: spec(GOOD.replace("d_model: 8", "d_model: 50000000")),
    args: ["spec.yaml"],
    code: 2,
    message: "of memory; this machine has",
    location: "--force",
  },
  // Checkpoints (both latest.json and previous.json unusable): exit 1 with a way forward.
  {
    name: "latest.json is null",
    checkpoint: () => Promise.resolve({ "latest.json": "null" }),
    task: "run",
    args: [],
    code: 1,
    message: "latest.json does not hold a checkpoint record",
    location: "checkpoint",
  },
  {
    name: "latest.json truncated",
    checkpoint: async (g) => ({
      "latest.json": JSON.stringify(await g.sign(g.record)).slice(0, 50),
    }),
    task: "run",
    args: [],
    code: 1,
    message: "latest.json is not valid JSON",
    location: "--restart",
  },
  {
    name: "tensorsFile outside the run",
    checkpoint: async (g) => ({
      "latest.json": JSON.stringify(
        await g.sign({ ...g.record, tensorsFile: "../../../../etc/passwd" }),
      ),
    }),
    task: "run",
    args: [],
    code: 1,
    message: 'names "../../../../etc/passwd", not a state file',
    location: "latest.json",
  },
  {
    name: "step beyond the run",
    checkpoint: async (g) => ({
      "latest.json": JSON.stringify(await g.sign({ ...g.record, step: 999 })),
      [g.tensorsFile]: g.tensors,
    }),
    task: "run",
    args: [],
    code: 1,
    message: "is at step 999, outside 0..40",
    location: "latest.json",
  },
  {
    name: "step edited without re-signing",
    checkpoint: (g) =>
      Promise.resolve({
        "latest.json": JSON.stringify({ ...g.record, step: 40 }),
        [g.tensorsFile]: g.tensors,
      }),
    task: "run",
    args: [],
    code: 1,
    message: "was modified after it was written",
    location: "latest.json",
  },
  {
    name: "truncated tensors",
    checkpoint: (g) =>
      Promise.resolve({
        "latest.json": JSON.stringify(g.record),
        [g.tensorsFile]: g.tensors.slice(0, 100),
      }),
    task: "run",
    args: [],
    code: 1,
    message: "does not match latest.json",
    location: "state-10.safetensors",
  },
  {
    name: "tensors missing",
    checkpoint: (g) => Promise.resolve({ "latest.json": JSON.stringify(g.record) }),
    task: "run",
    args: [],
    code: 1,
    message: "(named by latest.json) is missing",
    location: "state-10.safetensors",
  },
  {
    name: "checkpoint of another width",
    checkpoint: async (g) => ({
      "latest.json": JSON.stringify(await g.sign({ ...g.record, width: 64 })),
      [g.tensorsFile]: g.tensors,
    }),
    task: "run",
    args: [],
    code: 1,
    message: "was written for topk width 64 d_model 8; this run is topk width 32 d_model 8",
    location: "latest.json",
  },
  {
    name: "checkpoint of another architecture",
    checkpoint: async (g) => ({
      "latest.json": JSON.stringify(await g.sign({ ...g.record, architecture: "relu" })),
      [g.tensorsFile]: g.tensors,
    }),
    task: "run",
    args: [],
    code: 1,
    message: "was written for relu width 32",
    location: "latest.json",
  },
  {
    name: "previous.json garbled too",
    checkpoint: () => Promise.resolve({ "latest.json": "{", "previous.json": "[]" }),
    task: "run",
    args: [],
    code: 1,
    message: "previous.json does not hold a checkpoint record",
    location: "previous.json",
  },
  // Issue 28: cases a new round of probing found.
  {
    name: "spec name over 255 characters",
    files: spec(GOOD.replace("name: c", `name: ${"n".repeat(300)}`)),
    args: ["spec.yaml", "--dry-run"],
    code: 2,
    message: "is 300 characters long; at most 128",
    location: "spec.yaml:1:7: name",
  },
  {
    name: "--out with its value forgotten",
    files: spec(GOOD),
    args: ["spec.yaml", "--out", "--dry-run"],
    code: 2,
    message: "--out expects a path",
    location: '"--dry-run"',
  },
  {
    name: "run --out with its value forgotten",
    files: spec(GOOD),
    task: "run",
    args: ["--out", "--progress"],
    code: 2,
    message: "--out expects a path",
    location: '"--progress"',
  },
  {
    name: "sweep of data.source across variants",
    files: spec(GOOD + "sweep:\n  data.source: [synthetic, files]\n"),
    args: ["spec.yaml"],
    code: 2,
    message: "with this value, data: missing required key `path`",
    location: "spec.yaml:7:28: sweep.data.source[1]",
  },
  {
    name: "swept section with a bad key",
    files: spec(GOOD + "sweep:\n  sae: [{width: 64}, {widht: 8}]\n"),
    args: ["spec.yaml"],
    code: 2,
    message: "unknown key; did you mean `width`?",
    location: "spec.yaml:7:23: sweep.sae[1].widht",
  },
  {
    name: "eval.tokens beyond the held-out rows of the files",
    files: {
      "spec.yaml": FILES("x.npy").replace("eval: {tokens: 256}", "eval: {tokens: 2048}"),
      "x.npy": npy(rows(3000, 8), [3000, 8]),
    },
    args: ["spec.yaml"],
    code: 2,
    message: "2048 held-out vectors asked for, but data.path",
    location: "eval.tokens",
  },
  {
    name: "eval.tokens beyond lm heldout_tokens",
    files: spec(LM(", heldout_tokens: 100")),
    args: ["spec.yaml"],
    code: 2,
    message: "eval.tokens 256 must be <= data.heldout_tokens 100",
    location: "spec.yaml:5:16: eval.tokens",
  },
  {
    name: "eval.tokens beyond memory",
    files: spec(GOOD.replace("eval: {tokens: 256}", "eval: {tokens: 500000000}")),
    args: ["spec.yaml"],
    code: 2,
    message: "of memory; this machine has",
    location: "eval.tokens 500000000",
  },
  {
    name: "--backend tensorflow not installed",
    files: spec(GOOD),
    args: ["spec.yaml", "--backend", "tensorflow", "--out", "new"],
    code: 2,
    message: "backend tensorflow requested but not installed",
    location: "tensorflow",
  },
  {
    name: "train.backend tensorflow not installed",
    files: spec(GOOD.replace("lr_warmup_steps: 5}", "lr_warmup_steps: 5, backend: tensorflow}")),
    args: ["spec.yaml"],
    code: 2,
    message: "backend tensorflow requested but not installed",
    location: "tensorflow",
  },
  {
    name: "a sweep beyond any --max-runs",
    files: spec(
      GOOD + "sweep:\n" +
        ["train.seed", "train.log_every", "train.checkpoint_every", "eval.tokens"]
          .map((k) => `  ${k}: [${Array.from({ length: 1000 }, (_, i) => i + 1).join(", ")}]\n`)
          .join(""),
    ),
    args: ["spec.yaml", "--max-runs", "1000000000000", "--dry-run"],
    code: 2,
    message: "expands to 1000000000000 runs (1000 x 1000 x 1000 x 1000), more than saesweep",
    location: "spec.yaml:6:1: sweep",
  },
];
