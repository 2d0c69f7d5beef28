// `jetroute dlq ls|show|redrive|purge` as a subprocess against a real server. Needs the dlq
// module (src/dlq): until it is merged every test here fails with "not merged yet" (exit 1).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { headers } from "@nats-io/nats-core";
import { type Connection, connect, withServers } from "../../src/conn/index.js";
import { DeadLetterHeader } from "../../src/consumer/index.js";
import { ensureStream, withSubjects } from "../../src/stream/index.js";
import { checkLeaksAfterAll, useServer } from "../helpers/index.js";
import { errorLines, runCli, runCliInTerminal, show } from "./cli-support.js";

checkLeaksAfterAll();

interface Letter {
  route: string;
  durable: string;
  subject: string;
  seq: number;
  error: string;
  data: string;
}

/** Stores dead letters the way the engine does (payload + Jetroute-* headers). */
async function seed(conn: Connection, dlqSubject: string, stream: string, letters: Letter[]) {
  await Promise.all(
    letters.map(async (l) => {
      const h = headers();
      h.set(DeadLetterHeader.OriginalSubject, l.subject);
      h.set(DeadLetterHeader.Stream, stream);
      h.set(DeadLetterHeader.Sequence, String(l.seq));
      h.set(DeadLetterHeader.DeliveryCount, "3");
      h.set(DeadLetterHeader.Error, l.error);
      h.set(DeadLetterHeader.Route, l.route);
      h.set(DeadLetterHeader.Durable, l.durable);
      h.set(DeadLetterHeader.Time, new Date().toISOString());
      await conn.jetstream.publish(dlqSubject, l.data, {
        headers: h,
        msgID: `${stream}:${l.seq}:${l.durable}`,
      });
    }),
  );
}

async function messages(conn: Connection, stream: string): Promise<number> {
  const jsm = await conn.jetstreamManager();
  return (await jsm.streams.info(stream)).state.messages;
}

let counter = 0;
/** A fresh DLQ stream `<name>` on `dlq.<name>.>` and a target stream on `orders.<name>.>`. */
async function streams(conn: Connection, prefix: string) {
  counter++;
  const name = `${prefix}${counter}`;
  const dlq = `DLQ_${name}`;
  const orders = `ORDERS_${name}`;
  await ensureStream(conn, dlq, withSubjects(`dlq.${name}.>`));
  await ensureStream(conn, orders, withSubjects(`orders.${name}.>`));
  return { dlq, orders, dlqSubject: `dlq.${name}.dead`, subject: `orders.${name}.created` };
}

function letters(subject: string, n: number, from = 1): Letter[] {
  return Array.from({ length: n }, (_, i) => ({
    route: i % 2 === 0 ? "billing" : "shipping",
    durable: i % 2 === 0 ? "billing" : "shipping",
    subject,
    seq: from + i,
    error: i % 2 === 0 ? "card declined" : "warehouse refuses",
    data: JSON.stringify({ order: from + i }),
  }));
}

describe("jetroute dlq", { concurrency: 2, timeout: 120_000 }, async () => {
  const server = await useServer();
  let conn: Connection;
  before(async () => {
    conn = await connect(withServers(server.url));
  });
  after(() => conn.close());
  const cli = (...args: string[]) => runCli([...args, "--server", server.url]);

  it("dlq ls lists each dead letter with its route, durable, subject, deliveries and error", async () => {
    const s = await streams(conn, "ls");
    await seed(conn, s.dlqSubject, s.orders, letters(s.subject, 4));
    const run = await cli("dlq", "ls", s.dlq);
    assert.equal(run.code, 0, show(run));
    const lines = run.stdout.trimEnd().split("\n");
    assert.match(lines[0] ?? "", /^SEQ\s+STORED\s+ROUTE\s+DURABLE\s+SUBJECT\s+DELIVERIES\s+ERROR$/);
    assert.equal(lines.length, 5);
    assert.match(
      lines[1] ?? "",
      new RegExp(
        `^1\\s+\\d+s ago\\s+billing\\s+billing\\s+${s.subject.replaceAll(".", "\\.")}\\s+3\\s+card declined$`,
      ),
    );
  });

  it("dlq ls --json gives one object per dead letter", async () => {
    const s = await streams(conn, "json");
    await seed(conn, s.dlqSubject, s.orders, letters(s.subject, 3));
    const run = await cli("dlq", "ls", s.dlq, "--json");
    assert.equal(run.code, 0, show(run));
    const rows = JSON.parse(run.stdout) as Array<Record<string, unknown>>;
    assert.equal(rows.length, 3);
    assert.deepEqual(
      {
        seq: rows[0]?.seq,
        route: rows[0]?.route,
        originalSubject: rows[0]?.originalSubject,
        sequence: rows[0]?.sequence,
        error: rows[0]?.error,
      },
      { seq: 1, route: "billing", originalSubject: s.subject, sequence: 1, error: "card declined" },
    );
  });

  it("dlq ls --route keeps only that route's dead letters", async () => {
    const s = await streams(conn, "route");
    await seed(conn, s.dlqSubject, s.orders, letters(s.subject, 6));
    const run = await cli("dlq", "ls", s.dlq, "--route", "shipping", "--json");
    assert.equal(run.code, 0, show(run));
    const rows = JSON.parse(run.stdout) as Array<Record<string, unknown>>;
    assert.deepEqual(
      rows.map((r) => r.route),
      ["shipping", "shipping", "shipping"],
    );
  });

  it("dlq ls --before 1h matches nothing: says so on stderr and exits 0", async () => {
    const s = await streams(conn, "before");
    await seed(conn, s.dlqSubject, s.orders, letters(s.subject, 2));
    const run = await cli("dlq", "ls", s.dlq, "--before", "1h");
    assert.equal(run.code, 0, show(run));
    assert.equal(run.stdout, "");
    assert.match(run.stderr, /no dead letters in "DLQ_before\d+" match --before 1h/);
  });

  it('dlq ls of an unknown stream exits 1 with `stream "X" not found`', async () => {
    const run = await cli("dlq", "ls", "NO_SUCH_DLQ");
    assert.equal(run.code, 1, show(run));
    assert.deepEqual(errorLines(run), ['jetroute: stream "NO_SUCH_DLQ" not found']);
  });

  it("dlq ls piped into `head` exits 0 quietly when the reader stops early", async () => {
    const s = await streams(conn, "epipe");
    for (let i = 0; i < 2000; i += 500)
      await seed(conn, s.dlqSubject, s.orders, letters(s.subject, 500, i + 1));
    for (const extra of [[], ["--json"]]) {
      const run = await runCli(["dlq", "ls", s.dlq, ...extra, "--server", server.url], {
        stdoutBytes: 10,
      });
      assert.equal(run.code, 0, show(run));
      assert.equal(run.stderr, "", "no EPIPE stack trace");
    }
  });

  it("dlq show prints the trace headers, the error and the payload", async () => {
    const s = await streams(conn, "show");
    await seed(conn, s.dlqSubject, s.orders, letters(s.subject, 2));
    const run = await cli("dlq", "show", s.dlq, "2");
    assert.equal(run.code, 0, show(run));
    assert.match(run.stdout, /^route:\s+shipping$/m);
    assert.match(run.stdout, /^error:\s+warehouse refuses$/m);
    assert.ok(
      run.stdout.includes(`original:   ${s.orders} seq 2 on ${s.subject}\n`),
      "the original's stream, sequence and subject are shown",
    );
    assert.match(run.stdout, /^\{"order":2\}$/m);
    const json = await cli("dlq", "show", s.dlq, "2", "--json");
    const letter = JSON.parse(json.stdout) as Record<string, unknown>;
    assert.equal(letter.data, '{"order":2}');
    assert.equal(letter.seq, 2);
  });

  it("dlq ls and dlq show print terminal escape codes in a dead letter as text, --json exactly", async () => {
    const s = await streams(conn, "esc");
    const red = "\u001b[31m";
    const [letter] = letters(s.subject, 1);
    await seed(conn, s.dlqSubject, s.orders, [
      {
        ...(letter as Letter),
        route: `bill${red}ing`,
        error: `boom\u001b]0;pwned\u0007\u009b2J`,
        data: `line 1\n${red}line 2\u007f`,
      },
    ]);
    const ls = await cli("dlq", "ls", s.dlq);
    const showRun = await cli("dlq", "show", s.dlq, "1");
    for (const run of [ls, showRun]) {
      assert.equal(run.code, 0, show(run));
      assert.doesNotMatch(
        run.stdout,
        // biome-ignore lint/suspicious/noControlCharactersInRegex: what must not be printed
        /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/,
        "no raw control characters",
      );
      assert.ok(run.stdout.includes("bill\\x1b[31ming"), run.stdout);
    }
    assert.ok(showRun.stdout.includes("boom\\x1b]0;pwned\\x07\\x9b2J"), showRun.stdout);
    assert.ok(showRun.stdout.includes("line 1\n\\x1b[31mline 2\\x7f\n"), showRun.stdout);
    const json = JSON.parse((await cli("dlq", "show", s.dlq, "1", "--json")).stdout) as Record<
      string,
      unknown
    >;
    assert.equal(json.route, `bill${red}ing`);
    assert.equal(json.data, `line 1\n${red}line 2\u007f`);
  });

  it("dlq show of a dead letter without headers of its own says (none)", async () => {
    const s = await streams(conn, "nohdr");
    await seed(conn, s.dlqSubject, s.orders, letters(s.subject, 1));
    const run = await cli("dlq", "show", s.dlq, "1");
    assert.equal(run.code, 0, show(run));
    assert.match(run.stdout, /^headers:\s+\(none\)$/m);
  });

  it("dlq show of a sequence with no dead letter exits 1 naming it", async () => {
    const s = await streams(conn, "showmissing");
    await seed(conn, s.dlqSubject, s.orders, letters(s.subject, 1));
    const run = await cli("dlq", "show", s.dlq, "999");
    assert.equal(run.code, 1, show(run));
    assert.deepEqual(errorLines(run), [`jetroute: no dead letter at seq 999 in "${s.dlq}"`]);
  });

  it("dlq redrive --dry-run reports what it would publish and changes nothing", async () => {
    const s = await streams(conn, "dry");
    await seed(conn, s.dlqSubject, s.orders, letters(s.subject, 4));
    const run = await cli("dlq", "redrive", s.dlq, "--dry-run", "--json");
    assert.equal(run.code, 0, show(run));
    const r = JSON.parse(run.stdout) as Record<string, unknown>;
    assert.equal(r.matched, 4);
    assert.equal(r.dryRun, true);
    assert.equal(await messages(conn, s.orders), 0);
    assert.equal(await messages(conn, s.dlq), 4);
  });

  it("dlq redrive --dry-run lists each dead letter it would send: seq, subject and size", async () => {
    const s = await streams(conn, "drylist");
    await seed(conn, s.dlqSubject, s.orders, letters(s.subject, 2));
    const run = await cli("dlq", "redrive", s.dlq, "--dry-run");
    assert.equal(run.code, 0, show(run));
    const lines = run.stdout.trimEnd().split("\n");
    assert.match(lines[0] ?? "", /^SEQ\s+SUBJECT\s+BYTES$/);
    assert.match(lines[1] ?? "", new RegExp(`^1\\s+${s.subject.replaceAll(".", "\\.")}\\s+11 B$`));
    assert.match(lines.at(-1) ?? "", /^would redrive 2 of 2 matched dead letters/);
    assert.equal(await messages(conn, s.orders), 0);
  });

  it("a dead letter without a valid original subject: redrive says to use --to", async () => {
    const s = await streams(conn, "nosubj");
    const [letter] = letters("orders..bad", 1);
    await seed(conn, s.dlqSubject, s.orders, [letter as Letter]);
    const run = await cli("dlq", "redrive", s.dlq);
    assert.equal(run.code, 1, show(run));
    assert.match(run.stderr, /seq 1 \(no-subject\): .*redrive it with --to$/m);
    assert.doesNotMatch(run.stderr, /`to`/);
  });

  it("dlq ls --before a future time lists every dead letter; --since a future time none", async () => {
    const s = await streams(conn, "future");
    await seed(conn, s.dlqSubject, s.orders, letters(s.subject, 2));
    const before = await cli("dlq", "ls", s.dlq, "--before", "2999-01-01", "--json");
    assert.equal(before.code, 0, show(before));
    assert.equal((JSON.parse(before.stdout) as unknown[]).length, 2);
    const since = await cli("dlq", "ls", s.dlq, "--since", "2999-01-01T00:00:00Z");
    assert.equal(since.code, 0, show(since));
    assert.match(since.stderr, /no dead letters in .* match --since 2999-01-01T00:00:00Z/);
  });

  it("dlq redrive --route publishes that route's dead letters to their subject and removes them", async () => {
    const s = await streams(conn, "redrive");
    await seed(conn, s.dlqSubject, s.orders, letters(s.subject, 6));
    const run = await cli("dlq", "redrive", s.dlq, "--route", "billing");
    assert.equal(run.code, 0, show(run));
    assert.match(run.stdout, /^redrove 3 of 3 matched dead letters from "DLQ_redrive\d+"/);
    assert.equal(await messages(conn, s.orders), 3);
    assert.equal(await messages(conn, s.dlq), 3);
  });

  it("dlq redrive --to publishes to another subject; --keep leaves the dead letters", async () => {
    const s = await streams(conn, "to");
    await seed(conn, s.dlqSubject, s.orders, letters(s.subject, 2));
    const target = `${s.subject.replace(/created$/, "retry")}`;
    const run = await cli("dlq", "redrive", s.dlq, "--to", target, "--keep", "--json");
    assert.equal(run.code, 0, show(run));
    const r = JSON.parse(run.stdout) as Record<string, unknown>;
    assert.deepEqual([r.published, r.kept, r.removed], [2, 2, 0]);
    const jsm = await conn.jetstreamManager();
    const info = await jsm.streams.info(s.orders, { subjects_filter: ">" });
    assert.deepEqual(info.state.subjects, { [target]: 2 });
    assert.equal(await messages(conn, s.dlq), 2);
  });

  it("dlq redrive that matches nothing exits 1 with `nothing matched`", async () => {
    const s = await streams(conn, "nothing");
    await seed(conn, s.dlqSubject, s.orders, letters(s.subject, 2));
    const run = await cli("dlq", "redrive", s.dlq, "--route", "nobody");
    assert.equal(run.code, 1, show(run));
    assert.match(
      errorLines(run)[0] ?? "",
      /^jetroute: nothing matched: no dead letters in .* match --route nobody$/,
    );
  });

  it("a redrive interrupted with Ctrl-C exits 130, and re-running it publishes each dead letter once", async () => {
    const s = await streams(conn, "ctrlc");
    const n = 3000;
    for (let i = 0; i < n; i += 500)
      await seed(conn, s.dlqSubject, s.orders, letters(s.subject, 500, i + 1));
    let sent = false;
    const first = await runCli(["dlq", "redrive", s.dlq, "--server", server.url], {
      env: { JETROUTE_PROGRESS: "lines" },
      onStderr: (chunk, child) => {
        if (!sent && /^redriving: \d+/m.test(chunk)) {
          sent = true;
          child.kill("SIGINT");
        }
      },
    });
    assert.equal(first.code, 130, show(first));
    assert.match(first.stderr, /stopping after the current step/);
    assert.match(
      first.stdout,
      /^interrupted: redrove \d+ of the \d+ matched dead letters reached in .*; the rest were not reached$/m,
    );
    const published = await messages(conn, s.orders);
    assert.ok(published < n, `interrupted before the end (published ${published})`);
    const second = await cli("dlq", "redrive", s.dlq);
    assert.equal(second.code, 0, show(second));
    assert.equal(await messages(conn, s.orders), n, "each dead letter published exactly once");
    assert.equal(await messages(conn, s.dlq), 0);
  });

  it("a redrive on a terminal shows a progress bar on stderr", async () => {
    const s = await streams(conn, "bar");
    await seed(conn, s.dlqSubject, s.orders, letters(s.subject, 200));
    const run = await runCliInTerminal(["dlq", "redrive", s.dlq, "--server", server.url]);
    assert.equal(run.code, 0, show(run));
    assert.match(run.stdout, /redriving \[[=-]+\] \d+\/200/);
  });

  it("dlq purge --yes deletes the matching dead letters only", async () => {
    const s = await streams(conn, "purge");
    await seed(conn, s.dlqSubject, s.orders, letters(s.subject, 6));
    const run = await cli("dlq", "purge", s.dlq, "--route", "shipping", "--yes");
    assert.equal(run.code, 0, show(run));
    assert.equal(run.stdout, `purged 3 dead letters from "${s.dlq}"\n`);
    assert.equal(await messages(conn, s.dlq), 3);
  });

  it("dlq purge on a terminal asks first and purges on y", async () => {
    const s = await streams(conn, "ask");
    await seed(conn, s.dlqSubject, s.orders, letters(s.subject, 2));
    const run = await runCliInTerminal(["dlq", "purge", s.dlq, "--server", server.url], {
      input: "y\n",
    });
    assert.equal(run.code, 0, show(run));
    assert.match(
      run.stdout,
      /Purge 2 dead letters \(seq 1\.\.2\) from "DLQ_ask\d+" matching \(no filter\)\? .*\[y\/N\]/,
    );
    assert.equal(await messages(conn, s.dlq), 0);
  });

  it("dlq purge deletes only the dead letters it asked about, not those stored while it asked", async () => {
    const s = await streams(conn, "race");
    await seed(conn, s.dlqSubject, s.orders, letters(s.subject, 2));
    const run = await runCliInTerminal(["dlq", "purge", s.dlq, "--server", server.url], {
      input: "y\n",
      beforeAnswer: () => seed(conn, s.dlqSubject, s.orders, letters(s.subject, 3, 100)),
    });
    assert.equal(run.code, 0, show(run));
    assert.match(
      run.stdout,
      /Purge 2 dead letters \(seq 1\.\.2\) from .*stored after seq 2 are kept/,
    );
    assert.match(run.stdout, /purged 2 dead letters/);
    assert.equal(await messages(conn, s.dlq), 3, "the 3 stored during the prompt are kept");
  });

  it("dlq purge with a filter deletes only the matching dead letters it asked about", async () => {
    const s = await streams(conn, "racef");
    await seed(conn, s.dlqSubject, s.orders, letters(s.subject, 4));
    const run = await runCliInTerminal(
      ["dlq", "purge", s.dlq, "--route", "billing", "--server", server.url],
      {
        input: "y\n",
        beforeAnswer: () => seed(conn, s.dlqSubject, s.orders, letters(s.subject, 4, 100)),
      },
    );
    assert.equal(run.code, 0, show(run));
    assert.match(run.stdout, /Purge 2 dead letters/);
    assert.match(run.stdout, /purged 2 dead letters/);
    assert.equal(await messages(conn, s.dlq), 6);
  });

  it("dlq purge on a terminal answered with n deletes nothing and exits 1", async () => {
    const s = await streams(conn, "no");
    await seed(conn, s.dlqSubject, s.orders, letters(s.subject, 2));
    const run = await runCliInTerminal(["dlq", "purge", s.dlq, "--server", server.url], {
      input: "n\n",
    });
    assert.equal(run.code, 1, show(run));
    assert.match(run.stdout, /jetroute: purge not confirmed; nothing was deleted/);
    assert.equal(await messages(conn, s.dlq), 2);
  });

  it("dlq purge --yes that matches nothing exits 1 with `nothing matched`", async () => {
    const s = await streams(conn, "purgenone");
    await seed(conn, s.dlqSubject, s.orders, letters(s.subject, 2));
    const run = await cli("dlq", "purge", s.dlq, "--reason", "no such reason", "--yes");
    assert.equal(run.code, 1, show(run));
    assert.match(errorLines(run)[0] ?? "", /^jetroute: nothing matched/);
  });
});
