import { deepStrictEqual, ok } from "node:assert/strict";
import fc from "fast-check";
import { paretoFrontier } from "../../lib/report/pareto.ts";

type P = { id: number; g: string; l0: number; fvu: number };

const dominates = (q: P, p: P) => q.l0 <= p.l0 && q.fvu <= p.fvu && (q.l0 < p.l0 || q.fvu < p.fvu);

// Small integer grids make ties and equal coordinates common, which is where frontiers go wrong.
const points = fc.array(
  fc.record({
    g: fc.constantFrom("jumprelu", "topk"),
    l0: fc.integer({ min: 1, max: 12 }),
    fvu: fc.integer({ min: 0, max: 12 }).map((v) => v / 12),
  }),
  { maxLength: 40 },
).map((rows) => rows.map((r, id) => ({ ...r, id })));

Deno.test("paretoFrontier() keeps a hand-computed frontier sorted by x", () => {
  const rows: P[] = [
    { id: 0, g: "a", l0: 8, fvu: 0.3 },
    { id: 1, g: "a", l0: 16, fvu: 0.31 }, // dominated by id 0
    { id: 2, g: "a", l0: 4, fvu: 0.5 },
    { id: 3, g: "a", l0: 32, fvu: 0.1 },
    { id: 4, g: "a", l0: 32, fvu: 0.2 }, // same x, worse y
    { id: 5, g: "b", l0: 16, fvu: 0.9 }, // alone in its group
  ];
  const ids = paretoFrontier(rows, { x: "l0", y: "fvu" }).map((r) => r.id);
  deepStrictEqual(ids, [2, 0, 3]); // id 5 is dominated by id 0 when the groups are pooled
  const grouped = paretoFrontier(rows, { x: "l0", y: "fvu", groupBy: "g" }).map((r) => r.id);
  deepStrictEqual(grouped, [2, 0, 3, 5]);
});

Deno.test("paretoFrontier() puts every frontier point out of reach of its group", () => {
  fc.assert(fc.property(points, (rows) => {
    const front = paretoFrontier(rows, { x: "l0", y: "fvu", groupBy: "g" });
    for (const p of front) {
      ok(!rows.some((q) => q.g === p.g && dominates(q, p)), `point ${p.id} is dominated`);
    }
  }));
});

Deno.test("paretoFrontier() leaves out only points that a frontier point dominates", () => {
  fc.assert(fc.property(points, (rows) => {
    const front = paretoFrontier(rows, { x: "l0", y: "fvu", groupBy: "g" });
    const kept = new Set(front.map((p) => p.id));
    for (const p of rows.filter((r) => !kept.has(r.id))) {
      ok(front.some((q) => q.g === p.g && dominates(q, p)), `point ${p.id} dropped undominated`);
    }
  }));
});

Deno.test("paretoFrontier() sorts each group's frontier by increasing x and decreasing y", () => {
  fc.assert(fc.property(points, (rows) => {
    const front = paretoFrontier(rows, { x: "l0", y: "fvu", groupBy: "g" });
    for (const g of ["jumprelu", "topk"]) {
      const f = front.filter((p) => p.g === g);
      for (let i = 1; i < f.length; i++) {
        ok(f[i].l0 >= f[i - 1].l0 && f[i].fvu <= f[i - 1].fvu, `group ${g} out of order at ${i}`);
      }
    }
  }));
});

Deno.test("paretoFrontier() with yOrder max keeps the highest y at each x", () => {
  const rows = [
    { l0: 8, ev: 0.7 },
    { l0: 16, ev: 0.6 }, // dominated: more latents, less explained
    { l0: 32, ev: 0.9 },
  ];
  deepStrictEqual(paretoFrontier(rows, { x: "l0", y: "ev", yOrder: "max" }), [rows[0], rows[2]]);
});

Deno.test("paretoFrontier() ignores rows with a missing or non-finite coordinate", () => {
  const rows = [{ l0: 8, fvu: null }, { l0: NaN, fvu: 0.1 }, { l0: 4, fvu: 0.2 }];
  deepStrictEqual(paretoFrontier(rows, { x: "l0", y: "fvu" }), [rows[2]]);
});
