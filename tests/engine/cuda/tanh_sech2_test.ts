// The tanh penalty's tanh(x) and sech^2(x) in CUDA C (lib/engine/cuda/tanh_sech2.ts), compiled as
// host C++ (the float functions the statements call have host versions), against float64 as the
// WGSL ones are (tests/engine/_tanh_cases.ts). Needs a C++ compiler (CI installs g++).
import assert from "node:assert/strict";
import { tanhSech2 } from "../../../lib/engine/cuda/tanh_sech2.ts";
import { cf } from "../../../lib/engine/cuda/cuda_c.ts";
import { assertTanhSech2, TANH_XS } from "../_tanh_cases.ts";

const CI = Boolean(Deno.env.get("CI"));

async function hasCxx(): Promise<boolean> {
  try {
    return (await new Deno.Command("c++", { args: ["--version"], stdout: "null" }).output())
      .success;
  } catch {
    return false;
  }
}
const HAS_CXX = await hasCxx();

Deno.test({
  name: "tanhSech2() gives tanh(x) and sech^2(x) to a few float32 ulps",
  ignore: !HAS_CXX && !CI,
  async fn() {
    assert.ok(HAS_CXX, "CI needs a C++ compiler (c++): apt-get install g++");
    const dir = await Deno.makeTempDir({ prefix: "saesweep-tanh-" });
    try {
      const xs = TANH_XS.map(cf).join(", ");
      await Deno.writeTextFile(
        `${dir}/t.cpp`,
        `#include <math.h>
#include <stdio.h>
int main() {
  const float xs[] = {${xs}};
  for (float x : xs) {
    ${tanhSech2("x")}
    printf("%.9g %.9g\\n", tt, ts2);
  }
}
`,
      );
      const cc = await new Deno.Command("c++", {
        args: ["-std=c++17", "-O1", "-o", `${dir}/t`, `${dir}/t.cpp`],
        stderr: "piped",
      }).output();
      assert.ok(cc.success, new TextDecoder().decode(cc.stderr));
      const run = await new Deno.Command(`${dir}/t`, { stdout: "piped" }).output();
      const have = new TextDecoder().decode(run.stdout).trim().split(/\s+/).map(Number);
      assert.equal(have.length, 2 * TANH_XS.length);
      assertTanhSech2(have, "CUDA C");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
