// Option builders shared by several architectures' schemas. Private to lib/sae/.
import { z } from "zod";

/** Adam beta2 with the usual default. */
export function adamBeta2() {
  return z.number().min(0).lt(1).default(0.999).describe("Adam beta2 (second-moment decay)");
}

/** The L0 controller's gain for penalty architectures. */
export function controllerGain() {
  return z.number().min(0).default(0.1).describe(
    "L0 controller gain: change of log(lambda) per unit of log(L0 / target) per update",
  );
}
