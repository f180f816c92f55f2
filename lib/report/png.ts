// Converts report SVGs to PNG with @resvg/resvg-wasm, using DejaVu fonts read from disk. Returns
// null fonts when none are found, so callers can skip PNGs and say why.
import { initWasm, Resvg } from "@resvg/resvg-wasm";
import { join } from "node:path";

/** Where Debian's fonts-dejavu-core puts its fonts. */
export const DEFAULT_FONTS_DIR = "/usr/share/fonts/truetype/dejavu";
const FONT_FILES = ["DejaVuSans.ttf", "DejaVuSans-Bold.ttf"];

let wasmReady: Promise<void> | null = null;

/** Font files for rendering, or null when `DejaVuSans.ttf` is not in `dir`. */
export async function loadFonts(dir: string = DEFAULT_FONTS_DIR): Promise<Uint8Array[] | null> {
  const fonts: Uint8Array[] = [];
  for (const name of FONT_FILES) {
    try {
      fonts.push(await Deno.readFile(join(dir, name)));
    } catch {
      if (fonts.length === 0) return null;
    }
  }
  return fonts;
}

/** Renders `svg` to a PNG `scale` times its own size, on white, with the given fonts. */
export async function svgToPng(
  svg: string,
  options: { fonts: Uint8Array[]; scale?: number },
): Promise<Uint8Array> {
  wasmReady ??= Deno.readFile(new URL(import.meta.resolve("@resvg/resvg-wasm/index_bg.wasm")))
    .then((bytes) => initWasm(bytes));
  await wasmReady;
  const resvg = new Resvg(svg, {
    background: "white",
    fitTo: { mode: "zoom", value: options.scale ?? 2 },
    font: {
      fontBuffers: options.fonts,
      loadSystemFonts: false,
      defaultFontFamily: "DejaVu Sans",
      sansSerifFamily: "DejaVu Sans",
    },
  });
  const image = resvg.render();
  const png = image.asPng();
  image.free();
  resvg.free();
  return png;
}
