// nats.js errors never reach the user raw: each becomes a one-line OperationError that names
// what is wrong in the user's terms (the stream, the consumer), with the original as `cause`.
import { JetStreamApiCodes, JetStreamApiError } from "@nats-io/jetstream";
import { PermissionViolationError, TimeoutError } from "@nats-io/nats-core";
import { ErrorCode, findJetrouteError, JetrouteError } from "../errors/index.js";
import { InterruptedError, OperationError, UsageError } from "./exit.js";

/** What the command was working on, to name it in the message. */
export interface FailureContext {
  readonly stream?: string;
  readonly consumer?: string;
}

const { StreamNotFound, ConsumerNotFound, JetStreamNotEnabledForAccount } = JetStreamApiCodes;

export function streamNotFound(stream: string, cause?: unknown): OperationError {
  return new OperationError(`stream "${stream}" not found`, { cause });
}

/** Maps any error from a NATS or jetroute call to what the CLI reports. */
export function toFailure(err: unknown, context: FailureContext = {}): Error {
  if (
    err instanceof OperationError ||
    err instanceof UsageError ||
    err instanceof InterruptedError
  ) {
    return err;
  }
  if (context.stream !== undefined) {
    const missing =
      (err instanceof JetStreamApiError && err.code === StreamNotFound) ||
      findJetrouteError(err, ErrorCode.StreamNotFound) !== undefined ||
      (err as { code?: unknown } | null)?.code === ErrorCode.StreamNotFound;
    if (missing) return streamNotFound(context.stream, err);
  }
  if (
    context.consumer !== undefined &&
    err instanceof JetStreamApiError &&
    err.code === ConsumerNotFound
  ) {
    return new OperationError(
      `durable "${context.consumer}" not found on stream "${context.stream}"`,
      { cause: err },
    );
  }
  if (err instanceof JetrouteError) return err;
  // nats.js does not export the JetStreamNotEnabled class; its name is stable
  const notEnabled =
    (err instanceof Error && err.name === "JetStreamNotEnabled") ||
    (err instanceof JetStreamApiError && err.code === JetStreamNotEnabledForAccount);
  if (notEnabled) {
    return new OperationError("JetStream is not enabled on the server for this account", {
      cause: err,
    });
  }
  if (err instanceof PermissionViolationError) {
    return new OperationError(`permission denied: ${err.message}`, { cause: err });
  }
  if (err instanceof TimeoutError) {
    return new OperationError("the server did not answer in time", { cause: err });
  }
  if (err instanceof JetStreamApiError) {
    return new OperationError(`the server refused: ${err.message} (error ${err.code})`, {
      cause: err,
    });
  }
  if (err instanceof Error && err.name === "AbortError") return new InterruptedError();
  const message = err instanceof Error ? err.message : String(err);
  return new OperationError(message, { cause: err });
}
