// What every command's action gets: the streams to write to, its flags, Ctrl-C, and one
// connection opened on demand (after the arguments are checked) and always closed by `run`.
import type { Command } from "commander";
import type { Connection } from "../conn/index.js";
import { type ConnectionFlags, openConnection } from "./connection.js";
import type { Io } from "./output.js";
import type { Interrupts } from "./signals.js";

export interface CommandContext {
  readonly io: Io;
  /** Print machine-readable JSON on stdout. */
  readonly json: boolean;
  readonly interrupts: Interrupts;
  /** Connects with the global flags (once); `run` closes it whatever happens. */
  connect(): Promise<Connection>;
}

/** Owns the connection a command opens. */
export class ConnectionSlot {
  #conn: Promise<Connection> | undefined;

  open(flags: ConnectionFlags, env: NodeJS.ProcessEnv): Promise<Connection> {
    this.#conn ??= openConnection(flags, env);
    return this.#conn;
  }

  async close(): Promise<void> {
    const pending = this.#conn;
    this.#conn = undefined;
    if (!pending) return;
    const conn = await pending.catch(() => undefined);
    await conn?.close();
  }
}

export function makeContext(
  command: Command,
  io: Io,
  interrupts: Interrupts,
  slot: ConnectionSlot,
): CommandContext {
  const flags = command.optsWithGlobals<ConnectionFlags & { json?: boolean }>();
  return {
    io,
    json: flags.json === true,
    interrupts,
    connect: () => slot.open(flags, io.env),
  };
}
