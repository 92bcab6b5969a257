// Builds the page's bundle into runner/ui/static (committed, so that `pip install` needs no
// node). `node build.mjs --check` builds into a temporary folder and fails when the committed
// files differ from a build of these sources.
import { build } from "esbuild";
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const committed = join(here, "..", "runner", "ui", "static");
const FILES = ["app.js", "app.css", "index.html"];

async function bundle(out) {
  await build({
    entryPoints: [join(here, "src", "main.js")],
    bundle: true,
    minify: true,
    format: "iife",
    target: ["es2020"],
    legalComments: "eof",
    outfile: join(out, "app.js"),
    logLevel: "warning",
  });
  copyFileSync(join(here, "src", "app.css"), join(out, "app.css"));
  copyFileSync(join(here, "src", "index.html"), join(out, "index.html"));
}

if (process.argv.includes("--check")) {
  const scratch = mkdtempSync(join(tmpdir(), "runner-ui-build-"));
  try {
    await bundle(scratch);
    const stale = FILES.filter(
      (name) => !readFileSync(join(scratch, name)).equals(readFileSync(join(committed, name))),
    );
    if (stale.length) {
      console.error(`stale: ${stale.join(", ")} in runner/ui/static; run: npm --prefix ui run build`);
      process.exit(1);
    }
    console.log("runner/ui/static matches a build of ui/src");
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
} else {
  await bundle(committed);
  console.log(`built ${FILES.join(", ")} into runner/ui/static`);
}
