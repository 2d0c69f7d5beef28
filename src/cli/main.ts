#!/usr/bin/env node
// The `jetroute` command (package.json "bin"). Not part of the library's API.
import { processIo } from "./output.js";
import { run } from "./program.js";

process.exitCode = await run(process.argv.slice(2), processIo());
