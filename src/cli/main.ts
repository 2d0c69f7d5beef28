#!/usr/bin/env node
// The `jetroute` command (package.json "bin"). Not part of the library's API.
import { processIo } from "./output.js";
import { run } from "./program.js";

// Output piped into a reader that stops early (`jetroute dlq ls X | head -1`): a write then
// fails with EPIPE. The reader has what it wanted: exit quietly, as `cat` does.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code === "EPIPE") process.exit(0);
    throw err;
  });
}

const code = await run(process.argv.slice(2), processIo());
process.exitCode = code;
// The command is done and its connection closed. Nothing else may keep the process alive:
// nats.js leaves its socket open after a dial timeout (measured with nats.js 3.4: a connect to
// a server that accepts TCP but never answers). stdout and stderr are synchronous for files,
// and for pipes on Linux; elsewhere 200 ms is ample to flush the few lines a command prints.
setTimeout(() => process.exit(code), 200).unref();
