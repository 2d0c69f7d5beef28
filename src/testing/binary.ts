import { accessSync, constants, readdirSync, statSync } from "node:fs";
import { delimiter, join, resolve } from "node:path";
import { ErrNatsServerMissing } from "../errors/index.js";

/** Debian installs nats-server to /usr/sbin, which is not on a non-root PATH. */
const EXTRA_DIRS = ["/usr/sbin", "/usr/local/sbin", "/usr/local/bin", "/usr/bin"];

export const INSTALL_HINT =
  "install it with `sudo apt-get install nats-server` (Debian/Ubuntu), or run `npm run setup` as root, " +
  "or set NATS_SERVER_BIN to the path of a nats-server binary";

/** A version (2.10.27), a major.minor (2.10) or a Debian suite (trixie): one path segment. */
const VERSION_NAME = /^[0-9A-Za-z][0-9A-Za-z.+~_-]*$/;

/**
 * The nats-server binary: `NATS_SERVER_BIN` (a path), else `NATS_SERVER_VERSION` (a name
 * resolved in the cache that `scripts/nats-server.mjs` fills), else PATH, else Debian's /usr/sbin.
 * @example
 * // NATS_SERVER_VERSION=2.15.1 -> .cache/nats-server/2.15.1/nats-server
 * const bin = findNatsServer();
 */
export function findNatsServer(): string {
  const fromEnv = process.env.NATS_SERVER_BIN;
  if (fromEnv) {
    if (isExecutable(fromEnv)) return fromEnv;
    throw new ErrNatsServerMissing(
      `NATS_SERVER_BIN=${fromEnv} is not an executable file; ${INSTALL_HINT}`,
    );
  }
  const version = process.env.NATS_SERVER_VERSION;
  if (version) return cachedNatsServer(version);
  const dirs = [...(process.env.PATH ?? "").split(delimiter).filter(Boolean), ...EXTRA_DIRS];
  for (const dir of dirs) {
    const candidate = join(dir, "nats-server");
    if (isExecutable(candidate)) return candidate;
  }
  throw new ErrNatsServerMissing(
    `nats-server was not found on PATH or in /usr/sbin; ${INSTALL_HINT}`,
  );
}

/**
 * The folder `scripts/nats-server.mjs` caches Debian's builds in: `JETROUTE_CACHE_DIR`, else
 * `.cache` in the working directory (the repo root under every npm script).
 */
export function natsServerCacheDir(): string {
  return join(resolve(process.env.JETROUTE_CACHE_DIR || ".cache"), "nats-server");
}

function cachedNatsServer(name: string): string {
  if (!VERSION_NAME.test(name) || name.includes("..")) {
    throw new ErrNatsServerMissing(
      `NATS_SERVER_VERSION=${name} is not a version name: use a version (2.10.27), a major.minor (2.10) or a Debian suite (trixie)`,
    );
  }
  const dir = natsServerCacheDir();
  const bin = join(dir, name, "nats-server");
  if (isExecutable(bin)) return bin;
  const cached = listCached(dir);
  throw new ErrNatsServerMissing(
    `NATS_SERVER_VERSION=${name}: no nats-server at ${bin}; fetch it with \`node scripts/nats-server.mjs ${name}\`` +
      ` (Debian's 2.9.10, 2.10.27 or 2.15.1), or set NATS_SERVER_BIN to a nats-server binary` +
      (cached.length > 0 ? `; cached: ${cached.join(", ")}` : ""),
  );
}

function listCached(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((v) => isExecutable(join(dir, v, "nats-server")))
      .sort();
  } catch {
    return [];
  }
}

/** An executable regular file (X_OK alone also passes a directory). */
export function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
