// What the ensure-* scripts share: telling an executable file, and installing a missing Debian
// package with apt-get when running as root (else exiting with how to install it).
import { execFileSync } from "node:child_process";
import { accessSync, constants } from "node:fs";

export function executable(path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Installs Debian's `pkg` with apt-get and returns `find()` after it. Not root: prints how to
 * install it (and `otherwise`, another way) and exits 1; likewise when `find()` still fails.
 */
export function aptInstall(pkg, { what, otherwise, find, stillMissing }) {
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  if (!isRoot) {
    console.error(
      `${what} is not installed and this script is not running as root.\n` +
        `Install it with:  sudo apt-get update && sudo apt-get install -y ${pkg}\n` +
        `or ${otherwise}.`,
    );
    process.exit(1);
  }
  console.error(`${what} not found; installing Debian's ${pkg} with apt-get ...`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  execFileSync("apt-get", ["update", "-q"], { stdio: "inherit", env });
  execFileSync("apt-get", ["install", "-y", "-q", pkg], { stdio: "inherit", env });
  const found = find();
  if (!found) {
    console.error(`apt-get finished but ${stillMissing}.`);
    process.exit(1);
  }
  return found;
}
