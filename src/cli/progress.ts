// Progress of a long operation, on stderr. A bar (cli-progress) only when stderr is a terminal;
// otherwise nothing, unless JETROUTE_PROGRESS=lines asks for a plain line per update (at most
// a few a second), for logs and tests.
import { SingleBar } from "cli-progress";
import type { Io } from "./output.js";

export interface Progress {
  /** `done` of `total` (total unknown: 0); `detail` is a short text after the numbers. */
  update(done: number, total: number, detail?: string): void;
  /** Removes the bar (a terminal keeps the last line); idempotent. */
  stop(): void;
}

const LINE_INTERVAL_MS = 250;

export function startProgress(io: Io, label: string): Progress {
  if (io.stderr.isTTY) return barProgress(io, label);
  if (io.env.JETROUTE_PROGRESS === "lines") return lineProgress(io, label);
  return { update() {}, stop() {} };
}

function barProgress(io: Io, label: string): Progress {
  const bar = new SingleBar({
    stream: io.stderr as NodeJS.WritableStream,
    format: `${label} [{bar}] {value}/{total} {percentage}% {detail}`,
    barsize: 30,
    hideCursor: true,
    clearOnComplete: false,
    etaBuffer: 50,
  });
  let started = false;
  let stopped = false;
  // cli-progress redraws on a timer until stop(): every command stops its bar in a finally
  return {
    update(done, total, detail = "") {
      if (stopped) return;
      const t = Math.max(total, done, 1);
      if (!started) {
        started = true;
        bar.start(t, done, { detail });
      } else {
        bar.setTotal(t);
        bar.update(done, { detail });
      }
    },
    stop() {
      if (stopped) return;
      stopped = true;
      if (started) bar.stop();
    },
  };
}

function lineProgress(io: Io, label: string): Progress {
  let last = 0;
  let pending: string | undefined;
  const write = (text: string): void => {
    io.stderr.write(`${label}: ${text}\n`);
    last = Date.now();
    pending = undefined;
  };
  return {
    update(done, total, detail) {
      const text = `${done}/${total || "?"}${detail ? ` ${detail}` : ""}`;
      if (Date.now() - last >= LINE_INTERVAL_MS) write(text);
      else pending = text;
    },
    stop() {
      if (pending !== undefined) write(pending);
    },
  };
}
