import { readFileSync } from "node:fs";
import { nkeys } from "@nats-io/nats-core";
import { ErrInvalidOption, invalidValueMessage } from "../errors/index.js";
import type { ConnDraft } from "./options.js";

/** Credentials in the shape nats.js authenticators take. */
export type ConnAuth =
  | { kind: "none" }
  | { kind: "token"; token: string }
  | { kind: "userPass"; user: string; pass: string }
  | { kind: "nkey"; seed: Uint8Array }
  | { kind: "creds"; creds: Uint8Array };

export function nonEmpty(option: string, value: unknown): string {
  if (typeof value !== "string" || value.length === 0) {
    throw new ErrInvalidOption(invalidValueMessage(option, value, "a non-empty string"));
  }
  return value;
}

export function checkAuth(d: ConnDraft): ConnAuth {
  const given = [
    d.token !== undefined && "withToken",
    d.userPass !== undefined && "withUserPass",
    d.nkeySeed !== undefined && "withNkeySeed",
    d.credsFile !== undefined && "withCredsFile",
  ].filter((x): x is string => typeof x === "string");
  if (given.length > 1) {
    // nats.js would silently pick one; two credentials is always a configuration mistake.
    throw new ErrInvalidOption(
      invalidValueMessage("authentication", given, "at most one of these options"),
    );
  }
  if (d.token !== undefined) return { kind: "token", token: nonEmpty("withToken", d.token) };
  if (d.userPass !== undefined) {
    const user = nonEmpty("withUserPass user", d.userPass.user);
    if (typeof d.userPass.pass !== "string") {
      throw new ErrInvalidOption(
        invalidValueMessage("withUserPass pass", d.userPass.pass, "a string"),
      );
    }
    return { kind: "userPass", user, pass: d.userPass.pass };
  }
  if (d.nkeySeed !== undefined) return { kind: "nkey", seed: checkSeed(d.nkeySeed) };
  if (d.credsFile !== undefined) return { kind: "creds", creds: readCreds(d.credsFile) };
  return { kind: "none" };
}

function checkSeed(value: unknown): Uint8Array {
  const expected = 'a user nkey seed starting with "SU"';
  if (typeof value !== "string" || !value.startsWith("SU")) {
    throw new ErrInvalidOption(invalidValueMessage("withNkeySeed", "<redacted>", expected));
  }
  const seed = new TextEncoder().encode(value);
  try {
    nkeys.fromSeed(seed);
  } catch (cause) {
    // never echo a seed into an error message
    throw new ErrInvalidOption(invalidValueMessage("withNkeySeed", "<redacted>", expected), {
      cause,
    });
  }
  return seed;
}

function readCreds(path: unknown): Uint8Array {
  const file = nonEmpty("withCredsFile", path);
  try {
    return new Uint8Array(readFileSync(file));
  } catch (cause) {
    throw new ErrInvalidOption(
      invalidValueMessage("withCredsFile", file, "the path of a readable .creds file"),
      { cause },
    );
  }
}
