import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { headers as natsHeaders } from "@nats-io/nats-core";
import { DeadLetterHeader } from "../../src/consumer/index.js";
import {
  listDeadLetters,
  RedriveHeader,
  type RedriveOptions,
  redriveDeadLetters,
  redriveMsgId,
} from "../../src/dlq/index.js";
import { ErrorCode } from "../../src/errors/index.js";
import { withMaxMsgSize } from "../../src/stream/index.js";
import { checkLeaksAfterAll, useServer } from "../helpers/index.js";
import { deadLetterSetup, deniedDeadLetterStream, messageCount } from "./dlq-support.js";
import { makeStream, unique, until, useConnection } from "./engine-support.js";

checkLeaksAfterAll();

describe("Dead-letter operations: redrive", { timeout: 60_000 }, async () => {
  const server = await useServer();
  const conn = await useConnection(server.url);

  it("a dead-lettered message is processed once after the handler is fixed and it is redriven", async () => {
    const s = await deadLetterSetup(conn);
    await s.publish("billing", 1);
    await s.deadLettered(1);
    s.fix("billing");
    const summary = await redriveDeadLetters(conn, s.dlqStream);
    assert.deepEqual(summary, {
      matched: 1,
      published: 1,
      duplicates: 0,
      removed: 1,
      kept: 0,
      failed: [],
      interrupted: false,
    });
    await until(() => s.handled("billing").length === 1);
    const [handled] = s.handled("billing");
    assert.equal(handled?.data, "billing-1");
    assert.equal(handled?.headers["X-Trace"], "t1");
    assert.equal(handled?.headers[RedriveHeader.RedrivenFrom], `${s.dlqStream}:1`);
    assert.equal(
      handled?.headers["Nats-Msg-Id"],
      redriveMsgId(s.dlqStream, 1, s.subject("billing")),
    );
    assert.equal(await messageCount(conn, s.dlqStream), 0);
  });

  it("running the same redrive twice publishes once", async () => {
    const s = await deadLetterSetup(conn);
    await s.publish("billing", 2);
    await s.deadLettered(2);
    s.fix("billing");
    const first = await redriveDeadLetters(conn, s.dlqStream, { keep: true });
    const second = await redriveDeadLetters(conn, s.dlqStream);
    assert.deepEqual([first.published, first.duplicates, first.kept], [2, 0, 2]);
    assert.deepEqual([second.published, second.duplicates, second.removed], [0, 2, 2]);
    await until(() => s.handled("billing").length === 2);
    // The two originals and one redrive of each.
    assert.equal(await messageCount(conn, s.stream), 4);
  });

  it("keep leaves the dead letters in the DLQ after their publish", async () => {
    const s = await deadLetterSetup(conn);
    await s.publish("billing", 2);
    await s.deadLettered(2);
    s.fix("billing");
    const summary = await redriveDeadLetters(conn, s.dlqStream, { keep: true });
    assert.deepEqual([summary.published, summary.kept, summary.removed], [2, 2, 0]);
    assert.equal(await messageCount(conn, s.dlqStream), 2);
  });

  it("a dry run publishes nothing and shows what would be sent", async () => {
    const s = await deadLetterSetup(conn);
    await s.publish("billing", 2);
    await s.deadLettered(2);
    const summary = await redriveDeadLetters(conn, s.dlqStream, { dryRun: true });
    assert.equal(summary.published, 0);
    assert.equal(summary.planned?.length, 2);
    const [plan] = summary.planned ?? [];
    assert.equal(plan?.subject, s.subject("billing"));
    assert.equal(plan?.msgId, `redrive:${s.dlqStream}:1:${s.subject("billing")}`);
    assert.deepEqual(plan?.headers, {
      "X-Trace": ["t1"],
      [RedriveHeader.RedrivenFrom]: [`${s.dlqStream}:1`],
      [RedriveHeader.RedriveDurable]: ["billing"],
    });
    assert.equal(new TextDecoder().decode(plan?.data), "billing-1");
    assert.equal(await messageCount(conn, s.stream), 2);
    assert.equal(await messageCount(conn, s.dlqStream), 2);
  });

  it("a redrive to another subject sends every letter there", async () => {
    const s = await deadLetterSetup(conn, ["billing", "audit"]);
    await s.publish("billing", 2);
    await s.deadLettered(2);
    s.fix("audit");
    const summary = await redriveDeadLetters(conn, s.dlqStream, { to: s.subject("audit") });
    assert.equal(summary.published, 2);
    await until(() => s.handled("audit").length === 2);
  });

  it("an interrupted redrive stops between letters and a re-run publishes each once", async () => {
    const s = await deadLetterSetup(conn);
    await s.publish("billing", 5);
    await s.deadLettered(5);
    s.fix("billing");
    const stop = new AbortController();
    const first = await redriveDeadLetters(conn, s.dlqStream, {
      signal: stop.signal,
      onProgress: (e) => {
        if (e.kind === "published" && e.seq === 2) stop.abort(new Error("Ctrl-C"));
      },
    });
    assert.deepEqual([first.published, first.removed, first.interrupted], [2, 2, true]);
    const second = await redriveDeadLetters(conn, s.dlqStream);
    assert.deepEqual([second.published, second.duplicates, second.interrupted], [3, 0, false]);
    await until(() => s.handled("billing").length === 5);
    assert.deepEqual(
      s
        .handled("billing")
        .map((h) => h.data)
        .sort(),
      ["billing-1", "billing-2", "billing-3", "billing-4", "billing-5"],
    );
    assert.equal(await messageCount(conn, s.dlqStream), 0);
  });

  it("a redriven message that fails again is dead-lettered once more, saying where it was redriven from", async () => {
    const s = await deadLetterSetup(conn);
    await s.publish("billing", 1);
    await s.deadLettered(1);
    const summary = await redriveDeadLetters(conn, s.dlqStream);
    assert.deepEqual([summary.matched, summary.published, summary.removed], [1, 1, 1]);
    await s.deadLettered(1);
    const [again] = await listDeadLetters(conn, s.dlqStream);
    assert.equal(again?.seq, 2);
    assert.equal(again?.redrivenFrom, `${s.dlqStream}:1`);
    assert.equal(again?.headers.has(RedriveHeader.RedrivenFrom), false);
  });

  it("a redrive aborted before it starts publishes nothing", async () => {
    const s = await deadLetterSetup(conn);
    await s.publish("billing", 1);
    await s.deadLettered(1);
    const summary = await redriveDeadLetters(conn, s.dlqStream, { signal: AbortSignal.abort() });
    assert.deepEqual([summary.matched, summary.published, summary.interrupted], [0, 0, true]);
    assert.equal(await messageCount(conn, s.stream), 1);
  });

  it("a letter whose original subject has no stream fails with a reason while the others are redriven", async () => {
    const s = await deadLetterSetup(conn);
    await s.publish("billing", 1);
    await s.deadLettered(1);
    const h = natsHeaders();
    h.set(DeadLetterHeader.OriginalSubject, "nowhere.at.all");
    h.set(DeadLetterHeader.Route, "billing");
    await conn.jetstream.publish(s.dlq, "lost", { headers: h });
    s.fix("billing");
    const summary = await redriveDeadLetters(conn, s.dlqStream);
    assert.equal(summary.published, 1);
    assert.deepEqual(
      summary.failed.map((f) => [f.seq, f.kind]),
      [[2, "no-stream"]],
    );
    assert.match(summary.failed[0]?.reason ?? "", /nowhere\.at\.all/);
    const left = await listDeadLetters(conn, s.dlqStream);
    assert.deepEqual(
      left.map((l) => l.seq),
      [2],
    );
  });

  it("a letter without an original subject fails unless a target subject is given", async () => {
    const s = await deadLetterSetup(conn, ["billing"]);
    await conn.jetstream.publish(s.dlq, "from elsewhere");
    const summary = await redriveDeadLetters(conn, s.dlqStream);
    assert.deepEqual(
      summary.failed.map((f) => f.kind),
      ["no-subject"],
    );
    s.fix("billing");
    const again = await redriveDeadLetters(conn, s.dlqStream, { to: s.subject("billing") });
    assert.equal(again.published, 1);
    await until(() => s.handled("billing").length === 1);
  });

  it("a letter stored without its payload is redriven with the original's payload read from its stream", async () => {
    const s = await deadLetterSetup(conn, ["billing"], [withMaxMsgSize(2048)]);
    const payload = new Uint8Array(4096).fill(120);
    await conn.jetstream.publish(s.subject("billing"), payload);
    await s.deadLettered(1);
    const [letter] = await listDeadLetters(conn, s.dlqStream);
    assert.equal(letter?.payloadTruncated, 4096);
    s.fix("billing");
    const summary = await redriveDeadLetters(conn, s.dlqStream);
    assert.equal(summary.published, 1);
    await until(() => s.handled("billing").length === 1);
    assert.equal(s.handled("billing")[0]?.data.length, 4096);
  });

  it("a letter stored without its payload whose original is gone is refused, never sent empty", async () => {
    const s = await deadLetterSetup(conn, ["billing"], [withMaxMsgSize(2048)]);
    const { seq } = await conn.jetstream.publish(s.subject("billing"), new Uint8Array(4096));
    await s.deadLettered(1);
    const jsm = await conn.jetstreamManager();
    await jsm.streams.deleteMessage(s.stream, seq);
    const summary = await redriveDeadLetters(conn, s.dlqStream);
    assert.deepEqual(
      summary.failed.map((f) => f.kind),
      ["payload-missing"],
    );
    assert.equal(summary.published, 0);
    assert.equal(await messageCount(conn, s.dlqStream), 1);
  });

  it("a redrive filtered by route leaves the other routes' letters alone", async () => {
    const s = await deadLetterSetup(conn, ["billing", "shipping"]);
    await s.publish("billing", 1);
    await s.publish("shipping", 2);
    await s.deadLettered(3);
    s.fix("shipping");
    const summary = await redriveDeadLetters(conn, s.dlqStream, { filter: { route: "shipping" } });
    assert.deepEqual([summary.matched, summary.published], [2, 2]);
    const left = await listDeadLetters(conn, s.dlqStream);
    assert.deepEqual(
      left.map((l) => l.route),
      ["billing"],
    );
  });

  it("a redrive with a misspelt option key is refused with ERR_INVALID_OPTION and redrives nothing", async () => {
    const s = await deadLetterSetup(conn, ["billing", "refund"]);
    await s.publish("billing", 1);
    await s.publish("refund", 1);
    await s.deadLettered(2);
    s.fix("billing");
    s.fix("refund");
    for (const typo of [
      { filters: { route: "refund" } },
      { filter: { route: "refund" }, dryrun: true },
    ]) {
      await assert.rejects(
        redriveDeadLetters(conn, s.dlqStream, typo as RedriveOptions),
        (err) =>
          (err as { code?: string }).code === ErrorCode.InvalidOption &&
          (err as Error).message.includes(`"${Object.keys(typo).at(-1)}"`),
      );
    }
    assert.equal(await messageCount(conn, s.dlqStream), 2);
    assert.equal(await messageCount(conn, s.stream), 2);
  });

  it("a letter redriven to a wrong subject with keep, then to its own subject, is processed there", async () => {
    const s = await deadLetterSetup(conn);
    await s.publish("billing", 1);
    await s.deadLettered(1);
    const wrong = await redriveDeadLetters(conn, s.dlqStream, {
      to: s.subject("typo"),
      keep: true,
    });
    assert.deepEqual([wrong.published, wrong.kept], [1, 1]);
    s.fix("billing");
    const right = await redriveDeadLetters(conn, s.dlqStream);
    assert.deepEqual([right.published, right.duplicates, right.removed], [1, 0, 1]);
    await until(() => s.handled("billing").length === 1);
    // the original, the one sent to the wrong subject, the one sent to the right subject
    assert.equal(await messageCount(conn, s.stream), 3);
  });

  it("re-running a redrive to the same target subject publishes once", async () => {
    const s = await deadLetterSetup(conn, ["billing", "audit"]);
    await s.publish("billing", 1);
    await s.deadLettered(1);
    s.fix("audit");
    const to = s.subject("audit");
    const first = await redriveDeadLetters(conn, s.dlqStream, { to, keep: true });
    const second = await redriveDeadLetters(conn, s.dlqStream, { to });
    assert.deepEqual([first.published, first.kept], [1, 1]);
    assert.deepEqual([second.published, second.duplicates, second.removed], [0, 1, 1]);
    await until(() => s.handled("audit").length === 1);
    assert.equal(await messageCount(conn, s.stream), 2);
  });

  it("redriving from a DLQ stream that denies deletes publishes each letter and says why it stays: ERR_STREAM_OPERATION_REFUSED", async () => {
    const target = await makeStream(conn, unique("ORDERS"));
    const dlqStream = await deniedDeadLetterStream(conn, { deny_delete: true }, ["a", "b"], target);
    const summary = await redriveDeadLetters(conn, dlqStream);
    assert.deepEqual([summary.published, summary.removed], [2, 0]);
    assert.deepEqual(
      summary.failed.map((f) => [f.seq, f.kind, (f.cause as { code?: string }).code]),
      [
        [1, "remove", ErrorCode.StreamOperationRefused],
        [2, "remove", ErrorCode.StreamOperationRefused],
      ],
    );
    assert.ok(summary.failed.every((f) => f.reason.includes("deny_delete")));
    assert.equal(await messageCount(conn, dlqStream), 2);
  });
});
