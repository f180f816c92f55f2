// Renders the self-contained HTML of a run's feature page (every latent: search, sort, lazy cards)
// and of a blind rating page (sampled latents of several runs, no run named). Pure: returns text.
import { FEATURE_CSS, FEATURE_SCRIPT } from "./_feature_client.ts";
import type { LatentPayload } from "./_feature_payload.ts";
import { scriptJson } from "./_feature_payload.ts";
import { num } from "./_format.ts";

/** What the feature page's heading says about its run. */
export interface FeaturePageRun {
  runId: string;
  experiment: string;
  architecture: string;
  l0: number | null;
  targetL0: number | null;
  /** summary.json measures (null or absent when not computed). */
  measures: Record<string, number | null | undefined>;
}

function esc(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(
    /"/g,
    "&quot;",
  );
}

function page(title: string, body: string, payload: LatentPayload, pageInfo: unknown): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${FEATURE_CSS}</style></head>
<body>
${body}
<div id="list"></div>
<button id="more" type="button" hidden>show more</button>
<script type="application/json" id="payload">${scriptJson(payload)}</script>
<script type="application/json" id="page">${scriptJson(pageInfo)}</script>
<script>${FEATURE_SCRIPT}</script>
</body></html>
`;
}

/** The feature page of one run; `back` is the relative link to the report's index.html. */
export function renderFeaturePage(
  run: FeaturePageRun,
  payload: LatentPayload,
  options: { back: string },
): string {
  const m = run.measures;
  const facts = [
    `${run.architecture}`,
    `target L0 ${num(run.targetL0)}, achieved ${num(run.l0)}`,
    `${payload.ids?.length ?? 0} latents`,
    `statistics over ${payload.rows} held-out tokens`,
    `top-token entropy ${num(m.top_token_entropy)} bits`,
    `same-token fraction ${num(m.same_token_frac)}`,
    `decoder MMCS ${num(m.decoder_mmcs)}`,
  ];
  const body = `<p class="meta"><a href="${esc(options.back)}">&larr; report</a></p>
<h1>Latents of ${esc(run.runId)}</h1>
<p class="meta">${esc(facts.join(" · "))}</p>
<p class="meta">Each card: the ${payload.topK} highest-activating held-out contexts (activating
token outlined, shading = the latent's activation on each token), then random contexts from
${payload.bands} lower rank bands, the activation histogram, and the tokens the decoder direction
promotes and suppresses through the final RMSNorm and unembedding (logit lens).</p>
<div class="controls">
<input id="q" type="search" placeholder="token at the top activations" aria-label="search token">
<label>sort <select id="sort">
<option value="freq-desc">frequency, high first</option>
<option value="freq-asc">frequency, low first</option>
<option value="max-desc">max activation</option>
<option value="entropy-asc">top-token entropy, low first</option>
<option value="index">latent index</option>
</select></label>
<label><input id="alive" type="checkbox" checked> hide dead latents</label>
<span id="count" class="meta"></span>
</div>`;
  return page(`Latents of ${run.runId}`, body, payload, { mode: "features" });
}

/** A blind rating page: items in random order, ratings kept locally and saved as JSON. */
export function renderRatingPage(
  info: { title: string; session: string; name: string; fileName: string; ratingsDir: string },
  payload: LatentPayload,
  options: { back: string },
): string {
  const body = `<p class="meta"><a href="${esc(options.back)}">&larr; report</a></p>
<h1>${esc(info.title)}</h1>
<p class="meta">Blind rating: each item is a latent from one of the compared SAEs, in random
order, without saying which. For each, answer: does it respond to one thing a person can name?
<b>yes</b> (clear single concept), <b>maybe</b> (mostly, with exceptions), <b>no</b>. Ratings are
kept in this browser as you go; <b>Save ratings</b> writes them to a JSON file (in Chromium, later
ratings update the same file). Put the file in <code>${esc(info.ratingsDir)}</code> and run
<code>deno task report</code> again: the report summarises the ratings per architecture.</p>
<div class="controls">
<label>rater <input id="rater" type="text" size="12"></label>
<button id="save" type="button">Save ratings</button>
<span id="count" class="meta"></span>
<span class="meta">session ${esc(info.session)}</span>
</div>`;
  return page(info.title, body, payload, {
    mode: "rate",
    session: info.session,
    name: info.name,
    fileName: info.fileName,
  });
}
