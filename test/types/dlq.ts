// Compile-time specifications of the dead-letter operations (checked by `npm run typecheck`).
import {
  type Connection,
  type DeadLetter,
  ErrorCode,
  isJetrouteError,
  listDeadLetters,
  type RedriveEvent,
  redriveDeadLetters,
} from "../../src/index.js";

export async function deadLetterTypes(conn: Connection): Promise<void> {
  const letters: DeadLetter[] = await listDeadLetters(conn, "ORDERS_DLQ", {
    filter: { route: "billing", subject: "orders.>", reason: /timeout/i, since: "2h" },
    limit: 10,
  });
  // decoded fields may be missing on a letter something else wrote
  // @ts-expect-error originalSubject is string | undefined
  const subject: string = letters[0]?.originalSubject;
  void subject;
  // @ts-expect-error an unknown filter field does not compile (it is also refused at run time)
  await listDeadLetters(conn, "ORDERS_DLQ", { filter: { rout: "billing" } });
  // @ts-expect-error a sequence is not an age
  await listDeadLetters(conn, "ORDERS_DLQ", { filter: { since: 42 } });

  const onProgress = (e: RedriveEvent): string => {
    switch (e.kind) {
      case "published":
      case "duplicate":
        return `${e.seq} -> ${e.subject} (removed: ${e.removed})`;
      case "planned":
        return e.plan.msgId;
      case "failed":
        return `${e.failure.seq}: ${e.failure.kind} ${e.failure.reason}`;
    }
  };
  const summary = await redriveDeadLetters(conn, "ORDERS_DLQ", { dryRun: true, onProgress });
  summary.planned?.map((p) => p.subject);
  try {
    await listDeadLetters(conn, "NOPE");
  } catch (err) {
    if (isJetrouteError(err, ErrorCode.StreamNotFound)) return;
    if (isJetrouteError(err, ErrorCode.DeadLetterNotFound)) return;
  }
}
