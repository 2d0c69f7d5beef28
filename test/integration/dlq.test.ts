import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { headers as natsHeaders } from "@nats-io/nats-core";
import {
  type DeadLetterFilter,
  getDeadLetter,
  iterateDeadLetters,
  type ListDeadLettersOptions,
  listDeadLetters,
  type PurgeOptions,
  purgeDeadLetters,
  redriveDeadLetters,
} from "../../src/dlq/index.js";
import { ErrorCode, ErrStreamOperationRefused, isJetrouteError } from "../../src/errors/index.js";
import { ensureStream, withRetention, withSubjects } from "../../src/stream/index.js";
import { checkLeaksAfterAll, useServer } from "../helpers/index.js";
import { deadLetterSetup, deniedDeadLetterStream, messageCount } from "./dlq-support.js";
import { unique, useConnection } from "./engine-support.js";

checkLeaksAfterAll();

function code(err: unknown): string | undefined {
  return (err as { code?: string }).code;
}

describe("Dead-letter operations: list, show, purge", { timeout: 60_000 }, async () => {
  const server = await useServer();
  const conn = await useConnection(server.url);

  it("listing a DLQ gives each dead letter with its headers decoded", async () => {
    const s = await deadLetterSetup(conn);
    const [seq] = await s.publish("billing", 1);
    await s.deadLettered(1);
    const [letter, ...rest] = await listDeadLetters(conn, s.dlqStream);
    assert.equal(rest.length, 0);
    assert.ok(letter);
    assert.equal(letter.subject, s.dlq);
    assert.equal(letter.originalSubject, s.subject("billing"));
    assert.equal(letter.stream, s.stream);
    assert.equal(letter.sequence, seq);
    assert.equal(letter.deliveryCount, 1);
    assert.equal(letter.error, "billing cannot handle billing-1");
    assert.equal(letter.route, "billing");
    assert.equal(letter.durable, "billing");
    assert.ok(letter.time instanceof Date && letter.storedAt instanceof Date);
    assert.ok(Math.abs(letter.time.getTime() - letter.storedAt.getTime()) < 5_000);
    assert.deepEqual([...letter.headers], [["X-Trace", ["t1"]]]);
    assert.equal(new TextDecoder().decode(letter.data), "billing-1");
    assert.equal(letter.payloadTruncated, undefined);
    assert.deepEqual(letter.problems, []);
  });

  it("an empty DLQ lists nothing and returns at once", async () => {
    const dlqStream = unique("DLQ");
    await ensureStream(conn, dlqStream, withSubjects(`${dlqStream.toLowerCase()}.dead`));
    const started = performance.now();
    assert.deepEqual(await listDeadLetters(conn, dlqStream), []);
    assert.ok(performance.now() - started < 1_000);
  });

  it("listing filters by route, durable, original subject, reason and age", async () => {
    const s = await deadLetterSetup(conn, ["billing", "shipping"]);
    await s.publish("billing", 2);
    await s.publish("shipping", 3);
    await s.deadLettered(5);
    const count = async (filter: Parameters<typeof listDeadLetters>[2]) =>
      (await listDeadLetters(conn, s.dlqStream, filter)).length;
    assert.equal(await count({ filter: { route: "billing" } }), 2);
    assert.equal(await count({ filter: { durable: "shipping" } }), 3);
    assert.equal(await count({ filter: { subject: s.subject("shipping") } }), 3);
    assert.equal(await count({ filter: { subject: `${s.subject("x").split(".")[0]}.>` } }), 5);
    assert.equal(await count({ filter: { reason: "HANDLE SHIPPING-2" } }), 1);
    assert.equal(await count({ filter: { reason: /billing-[12]$/ } }), 2);
    assert.equal(await count({ filter: { since: "1h" } }), 5);
    assert.equal(await count({ filter: { before: "1h" } }), 0);
    assert.equal(await count({ filter: { since: new Date(Date.now() + 500) } }), 0);
    assert.equal(await count({ filter: { route: "billing", reason: "shipping" } }), 0);
    assert.equal(await count({ limit: 4 }), 4);
  });

  it("listing streams letters one by one, oldest first", async () => {
    const s = await deadLetterSetup(conn);
    await s.publish("billing", 3);
    await s.deadLettered(3);
    const seqs: number[] = [];
    for await (const letter of iterateDeadLetters(conn, s.dlqStream)) seqs.push(letter.seq);
    assert.deepEqual(seqs, [1, 2, 3]);
  });

  it("listing leaves no consumer behind on the DLQ stream", async () => {
    const s = await deadLetterSetup(conn);
    await s.publish("billing", 2);
    await s.deadLettered(2);
    await listDeadLetters(conn, s.dlqStream, { limit: 1 });
    const jsm = await conn.jetstreamManager();
    assert.equal((await jsm.streams.info(s.dlqStream)).state.consumer_count, 0);
  });

  it("a work-queue DLQ stream is listed and purged by route too", async () => {
    const s = await deadLetterSetup(conn, ["billing", "shipping"], [withRetention("workqueue")]);
    await s.publish("billing", 2);
    await s.publish("shipping", 1);
    await s.deadLettered(3);
    assert.equal((await listDeadLetters(conn, s.dlqStream, { filter: { since: "1h" } })).length, 3);
    const result = await purgeDeadLetters(conn, s.dlqStream, { filter: { route: "billing" } });
    assert.equal(result.purged, 2);
    const left = await listDeadLetters(conn, s.dlqStream);
    assert.deepEqual(
      left.map((l) => l.route),
      ["shipping"],
    );
  });

  it("showing a dead letter by sequence gives it, and a missing one is ERR_DEAD_LETTER_NOT_FOUND", async () => {
    const s = await deadLetterSetup(conn);
    await s.publish("billing", 2);
    await s.deadLettered(2);
    const letter = await getDeadLetter(conn, s.dlqStream, 2);
    assert.equal(letter.seq, 2);
    assert.equal(new TextDecoder().decode(letter.data), "billing-2");
    await assert.rejects(
      getDeadLetter(conn, s.dlqStream, 99),
      (err) => code(err) === ErrorCode.DeadLetterNotFound,
    );
  });

  it("a letter written by something else is listed with its problems instead of failing", async () => {
    const dlqStream = unique("DLQ");
    const subject = `${dlqStream.toLowerCase()}.dead`;
    await ensureStream(conn, dlqStream, withSubjects(subject));
    const h = natsHeaders();
    h.set("Jetroute-Sequence", "not a number");
    await conn.jetstream.publish(subject, "raw", { headers: h });
    await conn.jetstream.publish(subject, "no headers at all");
    const letters = await listDeadLetters(conn, dlqStream);
    assert.equal(letters.length, 2);
    assert.ok(letters.every((l) => l.problems.length > 0 && l.originalSubject === undefined));
    assert.ok(letters[0]?.problems.some((p) => p.includes("Jetroute-Sequence")));
  });

  it("an unknown DLQ stream is ERR_STREAM_NOT_FOUND for list, show, redrive and purge", async () => {
    const isNotFound = (err: unknown) => code(err) === ErrorCode.StreamNotFound;
    await assert.rejects(listDeadLetters(conn, "NO_SUCH_DLQ"), isNotFound);
    await assert.rejects(getDeadLetter(conn, "NO_SUCH_DLQ", 1), isNotFound);
    await assert.rejects(redriveDeadLetters(conn, "NO_SUCH_DLQ"), isNotFound);
    await assert.rejects(purgeDeadLetters(conn, "NO_SUCH_DLQ"), isNotFound);
    await assert.rejects(
      purgeDeadLetters(conn, "NO_SUCH_DLQ", { filter: { route: "x" } }),
      isNotFound,
    );
  });

  it("a bad filter is refused with ERR_INVALID_OPTION before anything is read", async () => {
    await assert.rejects(
      listDeadLetters(conn, "NO_SUCH_DLQ", { filter: { since: "yesterday" } }),
      (err) =>
        isJetrouteError(err, ErrorCode.InvalidOption) &&
        /filter\.since/.test((err as Error).message),
    );
  });

  it("a misspelt option key is refused with ERR_INVALID_OPTION and purges or lists nothing", async () => {
    const s = await deadLetterSetup(conn, ["billing", "refund"]);
    await s.publish("billing", 1);
    await s.publish("refund", 2);
    await s.deadLettered(3);
    const namesKey = (key: string) => (err: unknown) =>
      code(err) === ErrorCode.InvalidOption && (err as Error).message.includes(`"${key}"`);
    const typo = { Filter: { route: "refund" } } as unknown as PurgeOptions;
    await assert.rejects(purgeDeadLetters(conn, s.dlqStream, typo), namesKey("Filter"));
    await assert.rejects(
      purgeDeadLetters(conn, s.dlqStream, { filters: { route: "refund" } } as PurgeOptions),
      namesKey("filters"),
    );
    const listTypo = { filter: { route: "refund" }, limt: 1 } as ListDeadLettersOptions;
    await assert.rejects(listDeadLetters(conn, s.dlqStream, listTypo), namesKey("limt"));
    assert.throws(() => iterateDeadLetters(conn, s.dlqStream, listTypo), namesKey("limt"));
    // purge's own option is not a listing option
    await assert.rejects(
      listDeadLetters(conn, s.dlqStream, { throughSeq: 1 } as ListDeadLettersOptions),
      namesKey("throughSeq"),
    );
    assert.equal(await messageCount(conn, s.dlqStream), 3);
  });

  it("a filter field set to undefined (an unset variable) is refused, never read as every letter", async () => {
    const s = await deadLetterSetup(conn, ["billing", "refund"]);
    await s.publish("billing", 1);
    await s.publish("refund", 1);
    await s.deadLettered(2);
    const unset = process.env.JETROUTE_TEST_VARIABLE_THAT_IS_NOT_SET;
    const filter = { route: unset } as DeadLetterFilter;
    const isUndefinedField = (err: unknown) =>
      code(err) === ErrorCode.InvalidOption && (err as Error).message.includes("filter.route");
    await assert.rejects(purgeDeadLetters(conn, s.dlqStream, { filter }), isUndefinedField);
    await assert.rejects(listDeadLetters(conn, s.dlqStream, { filter }), isUndefinedField);
    assert.throws(() => iterateDeadLetters(conn, s.dlqStream, { filter }), isUndefinedField);
    await assert.rejects(redriveDeadLetters(conn, s.dlqStream, { filter }), isUndefinedField);
    assert.equal(await messageCount(conn, s.dlqStream), 2);
    assert.equal(await messageCount(conn, s.stream), 2);
  });

  it("purge by route leaves the other routes' dead letters", async () => {
    const s = await deadLetterSetup(conn, ["billing", "shipping"]);
    await s.publish("billing", 2);
    await s.publish("shipping", 3);
    await s.deadLettered(5);
    const result = await purgeDeadLetters(conn, s.dlqStream, { filter: { route: "billing" } });
    assert.deepEqual(result, { purged: 2, interrupted: false });
    const left = await listDeadLetters(conn, s.dlqStream);
    assert.deepEqual(
      left.map((l) => l.route),
      ["shipping", "shipping", "shipping"],
    );
  });

  it("purge without a filter removes every dead letter", async () => {
    const s = await deadLetterSetup(conn, ["billing", "shipping"]);
    await s.publish("billing", 2);
    await s.publish("shipping", 1);
    await s.deadLettered(3);
    assert.deepEqual(await purgeDeadLetters(conn, s.dlqStream), { purged: 3, interrupted: false });
    assert.equal(await messageCount(conn, s.dlqStream), 0);
  });

  it("a purge aborted before it starts removes nothing and says it was interrupted", async () => {
    const s = await deadLetterSetup(conn);
    await s.publish("billing", 2);
    await s.deadLettered(2);
    const result = await purgeDeadLetters(conn, s.dlqStream, {
      filter: { route: "billing" },
      signal: AbortSignal.abort(),
    });
    assert.deepEqual(result, { purged: 0, interrupted: true });
    assert.equal(await messageCount(conn, s.dlqStream), 2);
  });
  it("purge with throughSeq keeps the dead letters stored after that sequence", async () => {
    const s = await deadLetterSetup(conn, ["billing", "shipping"]);
    await s.publish("billing", 2);
    await s.publish("shipping", 2);
    await s.deadLettered(4);
    const letters = await listDeadLetters(conn, s.dlqStream);
    const second = letters[1]?.seq as number;
    assert.deepEqual(await purgeDeadLetters(conn, s.dlqStream, { throughSeq: second }), {
      purged: 2,
      interrupted: false,
    });
    assert.deepEqual(
      (await listDeadLetters(conn, s.dlqStream)).map((l) => l.seq),
      letters.slice(2).map((l) => l.seq),
    );
  });

  it("a throughSeq set to undefined (a failed lookup) is refused and purges nothing", async () => {
    const s = await deadLetterSetup(conn);
    await s.publish("billing", 2);
    await s.deadLettered(2);
    const unset: number | undefined = undefined;
    await assert.rejects(purgeDeadLetters(conn, s.dlqStream, { throughSeq: unset } as never), {
      code: ErrorCode.InvalidOption,
    });
    assert.equal((await listDeadLetters(conn, s.dlqStream)).length, 2);
  });

  it("a filtered purge with throughSeq keeps matching dead letters stored after it", async () => {
    const s = await deadLetterSetup(conn);
    await s.publish("billing", 3);
    await s.deadLettered(3);
    const letters = await listDeadLetters(conn, s.dlqStream);
    const result = await purgeDeadLetters(conn, s.dlqStream, {
      filter: { route: "billing" },
      throughSeq: letters[0]?.seq as number,
    });
    assert.deepEqual(result, { purged: 1, interrupted: false });
    assert.equal(await messageCount(conn, s.dlqStream), 2);
  });

  it("purge refuses a throughSeq that is not an integer >= 1 with ERR_INVALID_OPTION", async () => {
    const s = await deadLetterSetup(conn);
    for (const throughSeq of [0, -1, 1.5, Number.NaN]) {
      await assert.rejects(
        purgeDeadLetters(conn, s.dlqStream, { throughSeq }),
        (err) => code(err) === ErrorCode.InvalidOption && /throughSeq/.test((err as Error).message),
      );
    }
  });

  it("purging a DLQ stream that denies purges is ERR_STREAM_OPERATION_REFUSED naming deny_purge; a filtered purge still works", async () => {
    const dlqStream = await deniedDeadLetterStream(conn, { deny_purge: true }, ["a", "b"], "x");
    await assert.rejects(
      purgeDeadLetters(conn, dlqStream),
      (err) =>
        err instanceof ErrStreamOperationRefused &&
        err.code === ErrorCode.StreamOperationRefused &&
        err.setting === "deny_purge" &&
        err.stream === dlqStream,
    );
    assert.equal(await messageCount(conn, dlqStream), 2);
    // What the error advises: a filtered purge deletes the letters one at a time.
    assert.deepEqual(await purgeDeadLetters(conn, dlqStream, { filter: { route: "a" } }), {
      purged: 1,
      interrupted: false,
    });
  });

  it("a filtered purge of a DLQ stream that denies deletes is ERR_STREAM_OPERATION_REFUSED naming deny_delete", async () => {
    const dlqStream = await deniedDeadLetterStream(conn, { deny_delete: true }, ["a", "b"], "x");
    await assert.rejects(
      purgeDeadLetters(conn, dlqStream, { filter: { route: "b" } }),
      (err) =>
        code(err) === ErrorCode.StreamOperationRefused &&
        (err as InstanceType<typeof ErrStreamOperationRefused>).setting === "deny_delete",
    );
    assert.equal(await messageCount(conn, dlqStream), 2);
  });
});
