import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import { ErrNatsServerMissing } from "../errors/index.js";

/** Debian installs nats-server to /usr/sbin, which is not on a non-root PATH. */
const EXTRA_DIRS = ["/usr/sbin", "/usr/local/sbin", "/usr/local/bin", "/usr/bin"];

export const INSTALL_HINT =
  "install it with `sudo apt-get install nats-server` (Debian/Ubuntu), or run `npm run setup` as root, " +
  "or set NATS_SERVER_BIN to the path of a nats-server binary";

/** The nats-server binary: `NATS_SERVER_BIN`, else PATH, else Debian's /usr/sbin. */
export function findNatsServer(): string {
  const fromEnv = process.env.NATS_SERVER_BIN;
  if (fromEnv) {
    if (isExecutable(fromEnv)) return fromEnv;
    throw new ErrNatsServerMissing(
      `NATS_SERVER_BIN=${fromEnv} is not an executable file; ${INSTALL_HINT}`,
    );
  }
  const dirs = [...(process.env.PATH ?? "").split(delimiter).filter(Boolean), ...EXTRA_DIRS];
  for (const dir of dirs) {
    const candidate = join(dir, "nats-server");
    if (isExecutable(candidate)) return candidate;
  }
  throw new ErrNatsServerMissing(
    `nats-server was not found on PATH or in /usr/sbin; ${INSTALL_HINT}`,
  );
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
