import { readdirSync } from "node:fs";
import { delimiter, join } from "node:path";
import { ErrPostgresMissing } from "../../errors/index.js";
import { isExecutable } from "../binary.js";

/** Debian's `postgresql-<major>` packages keep the server binaries here, off every PATH. */
const DEBIAN_ROOT = "/usr/lib/postgresql";
const NEEDED = ["initdb", "postgres", "pg_isready"] as const;

export const POSTGRES_INSTALL_HINT =
  "install it with `sudo apt-get install postgresql` (Debian/Ubuntu), or run `npm run setup` as root, " +
  "or set JETROUTE_PG_BIN to a folder holding initdb, postgres and pg_isready";

/**
 * The folder with PostgreSQL's server binaries (`initdb`, `postgres`, `pg_isready`):
 * `JETROUTE_PG_BIN`, else the newest `/usr/lib/postgresql/<major>/bin`, else a PATH entry.
 * @throws ErrPostgresMissing when none of them has all three.
 * @example
 * findPostgresBin(); // "/usr/lib/postgresql/15/bin"
 */
export function findPostgresBin(): string {
  const fromEnv = process.env.JETROUTE_PG_BIN;
  if (fromEnv) {
    if (hasServer(fromEnv)) return fromEnv;
    throw new ErrPostgresMissing(
      `JETROUTE_PG_BIN=${fromEnv} does not hold ${NEEDED.join(", ")}; ${POSTGRES_INSTALL_HINT}`,
    );
  }
  for (const dir of [...debianBins(), ...(process.env.PATH ?? "").split(delimiter)]) {
    if (dir && hasServer(dir)) return dir;
  }
  throw new ErrPostgresMissing(
    `PostgreSQL server binaries were not found under ${DEBIAN_ROOT}/<major>/bin or on PATH; ${POSTGRES_INSTALL_HINT}`,
  );
}

/** `/usr/lib/postgresql/<major>/bin`, newest major first. */
function debianBins(): string[] {
  try {
    return readdirSync(DEBIAN_ROOT)
      .filter((v) => /^\d+(\.\d+)?$/.test(v))
      .sort((a, b) => Number(b) - Number(a))
      .map((v) => join(DEBIAN_ROOT, v, "bin"));
  } catch {
    return [];
  }
}

function hasServer(dir: string): boolean {
  return NEEDED.every((name) => isExecutable(join(dir, name)));
}
