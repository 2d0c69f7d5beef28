// `npm run example <name>` runs examples/<name>/main.ts; with no name, lists the examples.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";

const available = readdirSync("examples", { withFileTypes: true })
  .filter((e) => e.isDirectory() && existsSync(join("examples", e.name, "main.ts")))
  .map((e) => e.name)
  .sort();
const name = process.argv[2];
if (!name || !available.includes(name)) {
  console.error(`usage: npm run example <name>\nexamples: ${available.join(", ")}`);
  process.exit(name ? 1 : 0);
}
const result = spawnSync(
  process.execPath,
  ["--import", "tsx", join("examples", name, "main.ts"), ...process.argv.slice(3)],
  {
    stdio: "inherit",
  },
);
process.exit(result.status ?? 1);
