// The text steps of a tokenizer.json around its BPE model, built from their JSON: normalizers,
// pre-tokenizers (byte-level, regex split, digits, Metaspace) and decoders. Only the components
// llama-family tokenizers use; any other is refused through `fail`.

type Json = Record<string, unknown>;

/** Reports an unsupported or malformed component (throws). */
export type Fail = (what: string) => never;

export type Normalize = (text: string) => string;
/** Splits pieces further; `first` is true for the segment that starts the input. */
export type PreTokenize = (pieces: string[], first: boolean) => string[];
/** Turns token strings into text pieces (joined at the end). */
export type Decode = (tokens: string[], options: { strip: boolean }) => string[];

/** GPT-2's pre-tokenizer regex (ByteLevel with use_regex). */
const GPT2_REGEX =
  "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

/** GPT-2's bijection of bytes to printable characters, and its inverse. */
export const BYTE_TO_CHAR: string[] = (() => {
  const printable = (b: number) =>
    (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const out: string[] = [];
  let n = 0;
  for (let b = 0; b < 256; b++) out[b] = String.fromCharCode(printable(b) ? b : 256 + n++);
  return out;
})();
const CHAR_TO_BYTE = new Map(BYTE_TO_CHAR.map((c, b) => [c, b]));

const utf8 = new TextEncoder();

function pattern(spec: unknown, fail: Fail): RegExp {
  const p = (spec ?? {}) as Json;
  if (typeof p.String === "string") {
    return new RegExp(p.String.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), "gu");
  }
  if (typeof p.Regex === "string") {
    try {
      return new RegExp(p.Regex, "gu");
    } catch (err) {
      fail(`regex ${JSON.stringify(p.Regex)} (${(err as Error).message})`);
    }
  }
  return fail(`pattern ${JSON.stringify(spec)}`);
}

/** Splits `text` around the matches of `re`, by HF's SplitDelimiterBehavior. */
function splitBy(text: string, re: RegExp, behavior: string): string[] {
  const out: string[] = [];
  let at = 0;
  let carry = ""; // MergedWithNext: a match waiting for the text after it
  for (const m of text.matchAll(re)) {
    if (m[0].length === 0) continue;
    const gap = text.slice(at, m.index);
    const match = m[0];
    at = m.index! + match.length;
    if (behavior === "Isolated") out.push(gap, match);
    else if (behavior === "Removed") out.push(gap);
    else if (behavior === "MergedWithPrevious") out.push(gap + match);
    else {
      out.push(carry + gap);
      carry = match;
    }
  }
  out.push(carry + text.slice(at));
  return out.filter((s) => s.length > 0);
}

export function buildNormalizer(spec: unknown, fail: Fail): Normalize {
  if (spec == null) return (s) => s;
  const n = spec as Json;
  switch (n.type) {
    case "Sequence": {
      const steps = ((n.normalizers ?? []) as unknown[]).map((x) => buildNormalizer(x, fail));
      return (s) => steps.reduce((acc, f) => f(acc), s);
    }
    case "NFC":
    case "NFD":
    case "NFKC":
    case "NFKD":
      return (s) => s.normalize(n.type as string);
    case "Prepend":
      return (s) => (s.length > 0 ? String(n.prepend) + s : s);
    case "Replace": {
      const re = pattern(n.pattern, fail);
      return (s) => s.replace(re, String(n.content));
    }
    default:
      return fail(`normalizer ${JSON.stringify(n.type)}`);
  }
}

export function buildPreTokenizer(spec: unknown, fail: Fail): PreTokenize {
  if (spec == null) return (pieces) => pieces;
  const p = spec as Json;
  switch (p.type) {
    case "Sequence": {
      const steps = ((p.pretokenizers ?? []) as unknown[]).map((x) => buildPreTokenizer(x, fail));
      return (pieces, first) => steps.reduce((acc, f) => f(acc, first), pieces);
    }
    case "ByteLevel": {
      const re = p.use_regex === false ? null : new RegExp(GPT2_REGEX, "gu");
      return (pieces) =>
        pieces.flatMap((piece) => {
          const prefixed = p.add_prefix_space === true && !piece.startsWith(" ")
            ? " " + piece
            : piece;
          const parts = re ? splitBy(prefixed, re, "Isolated") : [prefixed];
          return parts.map((s) => Array.from(utf8.encode(s), (b) => BYTE_TO_CHAR[b]).join(""));
        });
    }
    case "Split": {
      if (p.invert === true) fail("Split pre-tokenizer with invert");
      const behavior = String(p.behavior);
      if (!["Isolated", "Removed", "MergedWithPrevious", "MergedWithNext"].includes(behavior)) {
        fail(`Split behavior ${JSON.stringify(p.behavior)}`);
      }
      const re = pattern(p.pattern, fail);
      return (pieces) => pieces.flatMap((s) => splitBy(s, re, behavior));
    }
    case "Digits": {
      const re = p.individual_digits === true ? /\p{N}/gu : /\p{N}+/gu;
      return (pieces) => pieces.flatMap((s) => splitBy(s, re, "Isolated"));
    }
    case "Metaspace": {
      const rep = String(p.replacement ?? "\u2581");
      const scheme = p.prepend_scheme ?? (p.add_prefix_space === false ? "never" : "always");
      const split = p.split !== false;
      return (pieces, first) =>
        pieces.flatMap((s, i) => {
          let t = s.replaceAll(" ", rep);
          const prepend = scheme === "always" || (scheme === "first" && first && i === 0);
          if (prepend && !t.startsWith(rep)) t = rep + t;
          return split ? splitBy(t, new RegExp(rep, "gu"), "MergedWithNext") : [t];
        });
    }
    default:
      return fail(`pre_tokenizer ${JSON.stringify(p.type)}`);
  }
}

/** Bytes of `text` with byte pieces decoded as UTF-8 (invalid sequences become U+FFFD). */
function bytesToText(bytes: number[]): string {
  return new TextDecoder().decode(new Uint8Array(bytes));
}

export function buildDecoder(spec: unknown, fail: Fail): Decode {
  if (spec == null) return (tokens) => tokens;
  const d = spec as Json;
  switch (d.type) {
    case "Sequence": {
      const steps = ((d.decoders ?? []) as unknown[]).map((x) => buildDecoder(x, fail));
      return (tokens, o) => steps.reduce((acc, f) => f(acc, o), tokens);
    }
    case "ByteLevel":
      return (tokens) => {
        const bytes: number[] = [];
        for (const c of tokens.join("")) {
          const b = CHAR_TO_BYTE.get(c);
          if (b !== undefined) bytes.push(b);
          else bytes.push(...utf8.encode(c));
        }
        return [bytesToText(bytes)];
      };
    case "Replace": {
      const re = pattern(d.pattern, fail);
      return (tokens) => tokens.map((t) => t.replace(re, String(d.content)));
    }
    case "ByteFallback":
      return (tokens) => {
        const out: string[] = [];
        let run: number[] = [];
        for (const t of tokens) {
          const byte = /^<0x([0-9A-Fa-f]{2})>$/.exec(t);
          if (byte) {
            run.push(parseInt(byte[1], 16));
            continue;
          }
          if (run.length > 0) out.push(bytesToText(run));
          run = [];
          out.push(t);
        }
        if (run.length > 0) out.push(bytesToText(run));
        return out;
      };
    case "Fuse":
      return (tokens) => [tokens.join("")];
    case "Strip": {
      const content = String(d.content);
      const start = Number(d.start ?? 0), stop = Number(d.stop ?? 0);
      return (tokens, o) =>
        o.strip
          ? tokens.map((t) => {
            let a = 0, b = t.length;
            for (let i = 0; i < start && t.startsWith(content, a); i++) a += content.length;
            for (let i = 0; i < stop && b - content.length >= a && t.endsWith(content, b); i++) {
              b -= content.length;
            }
            return t.slice(a, b);
          })
          : tokens;
    }
    case "Metaspace": {
      const rep = String(d.replacement ?? "\u2581");
      const scheme = d.prepend_scheme ?? (d.add_prefix_space === false ? "never" : "always");
      return (tokens, o) =>
        tokens.map((t, i) => {
          const s = t.replaceAll(rep, " ");
          return o.strip && i === 0 && scheme !== "never" && s.startsWith(" ") ? s.slice(1) : s;
        });
    }
    default:
      return fail(`decoder ${JSON.stringify(d.type)}`);
  }
}
