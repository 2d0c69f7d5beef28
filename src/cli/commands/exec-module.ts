// `--exec <module>#<export>`: the handler (or whole route) a replay runs. The module path is
// relative to the working directory; without `#export` the default export is used. A
// TypeScript module loads when the CLI runs under tsx; the built CLI loads .js / .mjs.
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Handler, Route } from "../../router/index.js";
import { OperationError, UsageError } from "../exit.js";

export type ExecTarget =
  | { readonly kind: "route"; readonly route: Route }
  | { readonly kind: "handler"; readonly handler: Handler };

/** `./handlers.ts#charge` -> { path: "./handlers.ts", exportName: "charge" }. */
export function parseExecSpec(spec: string): { path: string; exportName: string } {
  const hash = spec.lastIndexOf("#");
  const path = hash === -1 ? spec : spec.slice(0, hash);
  const exportName = hash === -1 ? "default" : spec.slice(hash + 1);
  if (path.length === 0 || exportName.length === 0) {
    throw new UsageError(
      `--exec must be <module>#<export> (or <module> for its default export), got ${JSON.stringify(spec)}`,
    );
  }
  return { path, exportName };
}

export function isRoute(value: unknown): value is Route {
  if (typeof value !== "object" || value === null) return false;
  const r = value as Record<string, unknown>;
  return typeof r.name === "string" && typeof r.handler === "function" && Array.isArray(r.options);
}

export async function loadExecTarget(spec: string, cwd: string): Promise<ExecTarget> {
  const { path, exportName } = parseExecSpec(spec);
  const file = resolve(cwd, path);
  if (!existsSync(file)) {
    throw new UsageError(`--exec: no such module ${JSON.stringify(path)} (looked for ${file})`);
  }
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    const hint =
      code === "ERR_UNKNOWN_FILE_EXTENSION"
        ? " (a TypeScript module needs the CLI run via tsx: npx tsx node_modules/jetroute/dist/cli/main.js ...)"
        : "";
    const why = err instanceof Error ? err.message.split("\n")[0] : String(err);
    throw new OperationError(`--exec: could not load ${JSON.stringify(path)}: ${why}${hint}`, {
      cause: err,
    });
  }
  if (!(exportName in mod)) {
    const names = Object.keys(mod).join(", ") || "none";
    throw new UsageError(
      `--exec: ${JSON.stringify(path)} has no export ${JSON.stringify(exportName)} (its exports: ${names})`,
    );
  }
  const value = mod[exportName];
  if (isRoute(value)) return { kind: "route", route: value };
  if (typeof value === "function") return { kind: "handler", handler: value as Handler };
  throw new UsageError(
    `--exec: export ${JSON.stringify(exportName)} of ${JSON.stringify(path)} must be a route (route(...)) or a handler function (msg, ctx) => ..., got ${typeof value}`,
  );
}
