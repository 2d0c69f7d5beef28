// Ctrl-C. The first one aborts the command's AbortSignal: a long operation (redrive, purge,
// replay) stops after the step in flight and the command closes the connection and exits 130;
// a second one exits at once. Before a command has reached a cancellable step (parsing,
// connecting, a quick read), the first Ctrl-C exits at once: nothing can be left half-done.
import { ExitCode, InterruptedError } from "./exit.js";
import type { Io } from "./output.js";

export interface Interrupts {
  /** Aborted (with an InterruptedError) on the first Ctrl-C or SIGTERM while cancellable. */
  readonly signal: AbortSignal;
  /** Marks the start of a step that watches `signal` and stops cleanly. */
  cancellable(): void;
  /** Removes the signal handlers. */
  dispose(): void;
}

export function installInterrupts(io: Io, exit: (code: number) => never): Interrupts {
  const controller = new AbortController();
  let cancellable = false;
  const onSignal = (): void => {
    if (!cancellable || controller.signal.aborted) {
      io.stderr.write(
        controller.signal.aborted
          ? "\njetroute: interrupted again; exiting now (re-running the command finishes the work)\n"
          : "\njetroute: interrupted\n",
      );
      exit(ExitCode.Interrupted);
    }
    io.stderr.write("\njetroute: stopping after the current step (Ctrl-C again to quit now)\n");
    controller.abort(new InterruptedError());
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return {
    signal: controller.signal,
    cancellable() {
      cancellable = true;
    },
    dispose() {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    },
  };
}
