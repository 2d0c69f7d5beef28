// The `jetroute` command as a user runs it: a subprocess, its exit code and its output.
// The dlq, replay and durable commands' operations are in cli-dlq.test.ts / cli-replay.test.ts;
// their argument checks (which run before anything is dialled) are here.
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { AckPolicy } from "@nats-io/jetstream";
import { type Connection, connect, withServers } from "../../src/conn/index.js";
import { ensureStream, withSubjects } from "../../src/stream/index.js";
import { checkLeaksAfterAll, useServer } from "../helpers/index.js";
import { blackHole, closedPort, errorLines, REPO_ROOT, runCli, show } from "./cli-support.js";

checkLeaksAfterAll();

const LEAF_COMMANDS = [
  ["streams", "ls"],
  ["consumers", "ls"],
  ["dlq", "ls"],
  ["dlq", "show"],
  ["dlq", "redrive"],
  ["dlq", "purge"],
  ["replay"],
  ["durable", "reset"],
] as const;

/** Asserts exit code 2 and exactly one `jetroute:` line on stderr matching `pattern`. */
function assertUsage(run: Awaited<ReturnType<typeof runCli>>, pattern: RegExp): void {
  assert.equal(run.code, 2, show(run));
  const lines = errorLines(run);
  assert.equal(lines.length, 1, show(run));
  assert.match(lines[0] ?? "", pattern);
  assert.equal(run.stdout, "", "nothing on stdout for bad usage");
}

describe("jetroute: help and bad usage (no server needed)", { concurrency: 4 }, () => {
  // nothing listens here: a command that got as far as dialling would fail with exit 1
  let nowhere: string;
  before(async () => {
    nowhere = `nats://127.0.0.1:${await closedPort()}`;
  });

  it("--help lists every command and exits 0", async () => {
    const run = await runCli(["--help"]);
    assert.equal(run.code, 0, show(run));
    for (const command of ["streams", "consumers", "dlq", "replay", "durable"]) {
      assert.match(run.stdout, new RegExp(`^  ${command}\\b`, "m"));
    }
    assert.match(run.stdout, /Exit codes: 0 success, 1 the operation failed, 2 bad usage/);
  });

  for (const command of LEAF_COMMANDS) {
    it(`jetroute ${command.join(" ")} --help shows its usage and the connection flags, exit 0`, async () => {
      const run = await runCli([...command, "--help"]);
      assert.equal(run.code, 0, show(run));
      assert.match(run.stdout, new RegExp(`^Usage: jetroute ${command.join(" ")} `, "m"));
      assert.match(run.stdout, /--server <url>/);
      assert.equal(run.stderr, "");
    });
  }

  it("--version prints the version and exits 0", async () => {
    const run = await runCli(["--version"]);
    assert.equal(run.code, 0, show(run));
    assert.match(run.stdout, /^\d+\.\d+\.\d+\n$/);
  });

  it("no command at all is bad usage: help on stderr and exit 2", async () => {
    const run = await runCli([]);
    assert.equal(run.code, 2, show(run));
    assert.match(run.stderr, /Usage: jetroute/);
    assert.deepEqual(errorLines(run), ["jetroute: a command is required (see the list above)"]);
  });

  it("an unknown command exits 2 naming it and suggesting the closest one", async () => {
    const run = await runCli(["strems", "ls"]);
    assertUsage(run, /^jetroute: unknown command 'strems' \(Did you mean streams\?\)$/);
  });

  it("an unknown option exits 2 naming the option", async () => {
    const run = await runCli(["streams", "ls", "--bogus", "--server", nowhere]);
    assertUsage(run, /^jetroute: unknown option '--bogus'$/);
  });

  it("a missing argument exits 2 naming the argument", async () => {
    const run = await runCli(["consumers", "ls", "--server", nowhere]);
    assertUsage(run, /^jetroute: missing required argument 'stream'$/);
  });

  it("an extra argument exits 2", async () => {
    const run = await runCli(["streams", "ls", "EXTRA", "--server", nowhere]);
    assertUsage(run, /too many arguments/);
  });

  it("a stream name with a dot exits 2 saying what a stream name may contain", async () => {
    const run = await runCli(["consumers", "ls", "orders.created", "--server", nowhere]);
    assertUsage(run, /^jetroute: <stream> must be a stream name .*got "orders\.created"$/);
  });

  it("dlq show with a sequence that is not a number exits 2 naming <seq>", async () => {
    const run = await runCli(["dlq", "show", "DLQ", "abc", "--server", nowhere]);
    assertUsage(run, /^jetroute: <seq> must be a stream sequence \(an integer >= 1\), got "abc"$/);
  });

  it("dlq show with sequence 0 exits 2", async () => {
    const run = await runCli(["dlq", "show", "DLQ", "0", "--server", nowhere]);
    assertUsage(run, /<seq> must be a stream sequence/);
  });

  it("dlq ls with a bad --since exits 2 naming --since and what it accepts", async () => {
    const run = await runCli(["dlq", "ls", "DLQ", "--since", "yesterday", "--server", nowhere]);
    assertUsage(
      run,
      /^jetroute: --since must be an ISO 8601 time .* or a duration .*got "yesterday"$/,
    );
  });

  it("replay --from a time in the future exits 2 saying it is in the future", async () => {
    const args = [
      "replay",
      "ORDERS",
      "--from",
      "2999-01-01",
      "--exec",
      "x.ts",
      "--server",
      nowhere,
    ];
    assertUsage(
      await runCli(args),
      /^jetroute: --from must not be in the future \(now is .*\), got "2999-01-01"$/,
    );
  });

  it("replay --from 7 --to 5 exits 2: --from must not be after --to", async () => {
    const args = ["replay", "ORDERS", "--from", "7", "--to", "5", "--exec", "x.ts"];
    const run = await runCli([...args, "--server", nowhere]);
    assertUsage(run, /^jetroute: --from must not be after --to, got --from 7 --to 5$/);
    const times = ["--from", "1h", "--to", "2h", "--exec", "x.ts", "--server", nowhere];
    assertUsage(await runCli(["replay", "ORDERS", ...times]), /--from must not be after --to/);
  });

  it("replay --from new exits 2 listing only what --from accepts", async () => {
    for (const from of ["new", "last-per-subject"]) {
      const args = ["replay", "ORDERS", "--from", from, "--exec", "x.ts", "--server", nowhere];
      const run = await runCli(args);
      assertUsage(run, /^jetroute: --from must be a stream sequence .* or "all", got "/);
      const accepted = (errorLines(run)[0] ?? "").split(", got ")[0] ?? "";
      assert.doesNotMatch(accepted, /new|last-per-subject|replay from|on route/);
    }
  });

  it('replay --to all exits 2 listing what --to accepts ("end", not "all")', async () => {
    const args = ["replay", "ORDERS", "--from", "1", "--to", "all", "--exec", "x.ts"];
    const run = await runCli([...args, "--server", nowhere]);
    assertUsage(run, /^jetroute: --to must be a stream sequence .* or "end", got "all"$/);
  });

  it("durable reset --to new exits 2 naming --to, not the library's option", async () => {
    const args = ["durable", "reset", "ORDERS", "billing", "--to", "new", "--yes"];
    const run = await runCli([...args, "--server", nowhere]);
    assertUsage(run, /^jetroute: --to must be a stream sequence .* or "all", got "new"$/);
  });

  it("--creds naming a directory exits 2 naming --creds, not the library's option", async () => {
    const run = await runCli(["streams", "ls", "--creds", "/tmp", "--server", nowhere]);
    assertUsage(run, /^jetroute: --creds "\/tmp": no such readable file$/);
  });

  it("jetroute help dlq redrive shows the help of dlq redrive", async () => {
    const run = await runCli(["help", "dlq", "redrive"]);
    assert.equal(run.code, 0, show(run));
    assert.match(run.stdout, /^Usage: jetroute dlq redrive /m);
  });

  it("dlq ls with --limit 0 exits 2 naming --limit", async () => {
    const run = await runCli(["dlq", "ls", "DLQ", "--limit", "0", "--server", nowhere]);
    assertUsage(run, /^jetroute: --limit must be an integer >= 1, got "0"$/);
  });

  it("dlq redrive with --since not before --before exits 2", async () => {
    const args = ["dlq", "redrive", "DLQ", "--since", "1h", "--before", "2h", "--server", nowhere];
    const run = await runCli(args);
    assertUsage(run, /^jetroute: --since must be earlier than --before/);
  });

  it("dlq redrive --to with a wildcard exits 2 naming --to", async () => {
    const run = await runCli(["dlq", "redrive", "DLQ", "--to", "orders.*", "--server", nowhere]);
    assertUsage(run, /^jetroute: --to must be a subject without wildcards, got "orders\.\*"$/);
  });

  it("dlq purge without --yes and without a terminal refuses at once with exit 2", async () => {
    const run = await runCli(["dlq", "purge", "DLQ", "--server", nowhere]);
    assertUsage(run, /^jetroute: refusing to purge .* stdin is not a terminal; pass --yes$/);
  });

  it("durable reset without --yes and without a terminal refuses at once with exit 2", async () => {
    const args = ["durable", "reset", "ORDERS", "billing", "--to", "1", "--server", nowhere];
    const run = await runCli(args);
    assertUsage(run, /^jetroute: refusing to reset durable "billing" .* pass --yes$/);
  });

  it("durable reset without --to exits 2 naming --to", async () => {
    const run = await runCli(["durable", "reset", "ORDERS", "billing", "--server", nowhere]);
    assertUsage(run, /^jetroute: required option '--to <position>' not specified$/);
  });

  it("durable reset with a bad --to exits 2 listing the positions accepted", async () => {
    const args = [
      "durable",
      "reset",
      "ORDERS",
      "billing",
      "--to",
      "-3",
      "--yes",
      "--server",
      nowhere,
    ];
    const run = await runCli(args);
    assertUsage(
      run,
      /^jetroute: --to must be a stream sequence \(integer >= 1\), an ISO 8601 time/,
    );
  });

  it("replay with a bad --from exits 2 naming --from", async () => {
    const args = [
      "replay",
      "ORDERS",
      "--from",
      "last tuesday",
      "--exec",
      "x.ts",
      "--server",
      nowhere,
    ];
    const run = await runCli(args);
    assertUsage(run, /^jetroute: --from must be .*got "last tuesday"$/);
  });

  it("replay without --exec exits 2 naming --exec", async () => {
    const run = await runCli(["replay", "ORDERS", "--from", "1", "--server", nowhere]);
    assertUsage(run, /required option '--exec <module#export>' not specified/);
  });

  it("replay --exec of a module that does not exist exits 2 naming the module", async () => {
    const args = ["replay", "ORDERS", "--from", "1", "--exec", "./nope.ts#h", "--server", nowhere];
    const run = await runCli(args);
    assertUsage(run, /^jetroute: --exec: no such module "\.\/nope\.ts"/);
  });

  it("--user without --password exits 2", async () => {
    const run = await runCli(["streams", "ls", "--user", "me", "--server", nowhere]);
    assertUsage(run, /^jetroute: --user and --password go together$/);
  });

  it("two ways to authenticate exit 2 naming both", async () => {
    const args = [
      "streams",
      "ls",
      "--token",
      "t",
      "--user",
      "u",
      "--password",
      "p",
      "--server",
      nowhere,
    ];
    const run = await runCli(args);
    assertUsage(run, /^jetroute: use one way to authenticate, got --token and --user\/--password$/);
  });

  it("a --creds file that does not exist exits 2 naming the flag and the path", async () => {
    const run = await runCli(["streams", "ls", "--creds", "/no/such.creds", "--server", nowhere]);
    assertUsage(run, /^jetroute: --creds "\/no\/such\.creds": no such readable file$/);
  });

  it("--tls-cert without --tls-key exits 2", async () => {
    const run = await runCli(["streams", "ls", "--tls-cert", "c.pem", "--server", nowhere]);
    assertUsage(run, /^jetroute: --tls-cert and --tls-key go together$/);
  });

  it("a bad --timeout exits 2 naming --timeout", async () => {
    const run = await runCli(["streams", "ls", "--timeout", "soon", "--server", nowhere]);
    assertUsage(
      run,
      /^jetroute: --timeout must be a duration such as "500ms", "5s" or "1m", got "soon"$/,
    );
  });

  it("an empty --server exits 2 instead of dialling the default server", async () => {
    const run = await runCli(["streams", "ls", "--server", ""]);
    assertUsage(run, /^jetroute: --server must be a server URL .*, got ""$/);
  });

  it("a malformed --server URL with a password exits 2 without showing the password", async () => {
    const run = await runCli(["streams", "ls", "--server", "nats://ann:pw-s3cret@bad host"]);
    assertUsage(
      run,
      /^jetroute: --server must be a server URL .*, got "nats:\/\/\*\*\*@bad host"$/,
    );
  });

  it("a malformed --server URL exits 2", async () => {
    const run = await runCli(["streams", "ls", "--server", "nats://bad host:4222"]);
    assertUsage(
      run,
      /^jetroute: --server must be a server URL such as nats:\/\/127\.0\.0\.1:4222, got "nats:\/\/bad host:4222"$/,
    );
  });
});

describe("jetroute: connecting", { concurrency: 2 }, () => {
  it("a server that refuses the connection exits 1 with `could not connect to <url>`", async () => {
    const url = `nats://127.0.0.1:${await closedPort()}`;
    const run = await runCli(["streams", "ls", "--server", url]);
    assert.equal(run.code, 1, show(run));
    assert.deepEqual(errorLines(run), [
      `jetroute: could not connect to ${url}: connection refused`,
    ]);
    assert.equal(run.stdout, "");
  });

  it("without --server the command connects to NATS_URL", async () => {
    const url = `nats://127.0.0.1:${await closedPort()}`;
    const run = await runCli(["streams", "ls"], { env: { NATS_URL: url } });
    assert.equal(run.code, 1, show(run));
    assert.deepEqual(errorLines(run), [
      `jetroute: could not connect to ${url}: connection refused`,
    ]);
  });

  it("an error prints no stack trace, unless --debug asks for one", async () => {
    const url = `nats://127.0.0.1:${await closedPort()}`;
    const quiet = await runCli(["streams", "ls", "--server", url]);
    assert.doesNotMatch(quiet.stderr, /\n\s+at /);
    const debug = await runCli(["streams", "ls", "--server", url, "--debug"]);
    assert.equal(debug.code, 1, show(debug));
    assert.match(debug.stderr, /^jetroute: could not connect/);
    assert.match(debug.stderr, /\n\s+at /);
    assert.match(debug.stderr, /caused by:/);
  });

  it("Ctrl-C while the server does not answer exits 130 at once, not after the timeout", async () => {
    const hole = await blackHole();
    try {
      const started = Date.now();
      const run = await runCli(["streams", "ls", "--server", hole.url, "--timeout", "20s"], {
        // Ctrl-C once the CLI is dialling (a fixed delay raced its start on a loaded machine).
        onSpawn: (child) => {
          void hole.connected.then(() => child.kill("SIGINT"));
        },
      });
      assert.equal(run.code, 130, show(run));
      assert.deepEqual(errorLines(run), ["jetroute: interrupted"]);
      assert.ok(Date.now() - started < 10_000, "exited long before the 20 s timeout");
    } finally {
      await hole.close();
    }
  });

  it("a connect that times out exits 1 saying so", async () => {
    const hole = await blackHole();
    try {
      const run = await runCli(["streams", "ls", "--server", hole.url, "--timeout", "500ms"]);
      assert.equal(run.code, 1, show(run));
      assert.deepEqual(errorLines(run), [`jetroute: could not connect to ${hole.url}: timed out`]);
    } finally {
      await hole.close();
    }
  });
});

describe("jetroute streams ls and consumers ls", { concurrency: 3 }, async () => {
  const server = await useServer();
  const empty = await useServer();
  let conn: Connection;

  before(async () => {
    conn = await connect(withServers(server.url));
    await ensureStream(conn, "CLI_ORDERS", withSubjects("cli.orders.>"));
    await ensureStream(conn, "CLI_EMPTY", withSubjects("cli.empty.>"));
    for (let i = 0; i < 10; i++) await conn.jetstream.publish("cli.orders.created", `order ${i}`);
    const jsm = await conn.jetstreamManager();
    await jsm.consumers.add("CLI_ORDERS", {
      durable_name: "billing",
      filter_subject: "cli.orders.created",
      ack_policy: AckPolicy.Explicit,
    });
    await jsm.consumers.add("CLI_ORDERS", {
      durable_name: "audit",
      ack_policy: AckPolicy.Explicit,
    });
    // billing: 4 delivered and not acked, one of them nak'd and delivered again
    const billing = await conn.jetstream.consumers.get("CLI_ORDERS", "billing");
    let first = true;
    for await (const m of await billing.fetch({ max_messages: 4, expires: 2000 })) {
      if (first) m.nak();
      first = false;
    }
    // the nak is fire-and-forget: a round trip makes sure the server has it before the fetch
    await conn.nats.flush();
    const again = await billing.fetch({ max_messages: 1, expires: 2000 });
    for await (const m of again) assert.equal(m.info.deliveryCount, 2);
  });
  after(() => conn.close());

  it("streams ls shows each stream with its subjects, messages, consumers and sequences", async () => {
    const run = await runCli(["streams", "ls", "--server", server.url]);
    assert.equal(run.code, 0, show(run));
    const lines = run.stdout.trimEnd().split("\n");
    assert.match(
      lines[0] ?? "",
      /^STREAM\s+SUBJECTS\s+MESSAGES\s+BYTES\s+CONSUMERS\s+FIRST SEQ\s+LAST SEQ$/,
    );
    const orders = lines.find((l) => l.startsWith("CLI_ORDERS "));
    assert.ok(orders, show(run));
    assert.deepEqual(orders.split(/\s{2,}/), [
      "CLI_ORDERS",
      "cli.orders.>",
      "10",
      orders.split(/\s{2,}/)[3],
      "2",
      "1",
      "10",
    ]);
    assert.match(orders, /\d+ B/);
    assert.ok(
      lines.some((l) => /^CLI_EMPTY\s+cli\.empty\.>\s+0\s+0 B\s+0\s+0\s+0$/.test(l)),
      show(run),
    );
    assert.equal(run.stderr, "");
  });

  it("streams ls --json prints a JSON array and nothing else on stdout", async () => {
    const run = await runCli(["streams", "ls", "--json", "--server", server.url]);
    assert.equal(run.code, 0, show(run));
    const rows = JSON.parse(run.stdout) as Array<Record<string, unknown>>;
    const orders = rows.find((r) => r.name === "CLI_ORDERS");
    assert.ok(orders);
    assert.deepEqual(
      {
        subjects: orders.subjects,
        messages: orders.messages,
        consumers: orders.consumers,
        firstSeq: orders.firstSeq,
        lastSeq: orders.lastSeq,
      },
      { subjects: ["cli.orders.>"], messages: 10, consumers: 2, firstSeq: 1, lastSeq: 10 },
    );
    assert.equal(typeof orders.bytes, "number");
    assert.equal(typeof orders.lastTime, "string");
    assert.equal(rows.find((r) => r.name === "CLI_EMPTY")?.firstTime, null);
  });

  it("the connection flags work after the command too, and --server takes a comma list", async () => {
    const dead = `nats://127.0.0.1:${await closedPort()}`;
    const run = await runCli(["streams", "ls", "--json", "-s", `${dead},${server.url}`]);
    assert.equal(run.code, 0, show(run));
    assert.ok(Array.isArray(JSON.parse(run.stdout)));
  });

  it("streams ls on a server with no streams says so on stderr and exits 0 (--json: [])", async () => {
    const run = await runCli(["streams", "ls", "--server", empty.url]);
    assert.equal(run.code, 0, show(run));
    assert.equal(run.stdout, "");
    assert.equal(run.stderr, "no streams\n");
    const json = await runCli(["streams", "ls", "--json", "--server", empty.url]);
    assert.equal(json.code, 0, show(json));
    assert.deepEqual(JSON.parse(json.stdout), []);
  });

  it("consumers ls shows pending, ack pending and redelivered for each durable", async () => {
    const run = await runCli(["consumers", "ls", "CLI_ORDERS", "--server", server.url]);
    assert.equal(run.code, 0, show(run));
    const lines = run.stdout.trimEnd().split("\n");
    assert.match(
      lines[0] ?? "",
      /^CONSUMER\s+FILTER\s+PENDING\s+ACK PENDING\s+REDELIVERED\s+WAITING\s+LAST ACTIVE$/,
    );
    // sorted by name
    assert.deepEqual(
      lines.slice(1).map((l) => l.split(/\s{2,}/)),
      [
        ["audit", "(all)", "10", "0", "0", "0", "never"],
        ["billing", "cli.orders.created", "6", "4", "1", "0", lines[2]?.split(/\s{2,}/)[6]],
      ],
    );
    assert.match(lines[2] ?? "", /\d+s ago$/);
  });

  it("consumers ls --json gives the counts as numbers", async () => {
    const run = await runCli(["consumers", "ls", "CLI_ORDERS", "--json", "--server", server.url]);
    assert.equal(run.code, 0, show(run));
    const rows = JSON.parse(run.stdout) as Array<Record<string, unknown>>;
    const billing = rows.find((r) => r.name === "billing");
    assert.deepEqual(
      {
        durable: billing?.durable,
        filter: billing?.filter,
        numPending: billing?.numPending,
        numAckPending: billing?.numAckPending,
        numRedelivered: billing?.numRedelivered,
        deliveredStreamSeq: billing?.deliveredStreamSeq,
      },
      {
        durable: true,
        filter: ["cli.orders.created"],
        numPending: 6,
        numAckPending: 4,
        numRedelivered: 1,
        deliveredStreamSeq: 4,
      },
    );
    assert.equal(rows.find((r) => r.name === "audit")?.lastActive, null);
  });

  it('consumers ls of an unknown stream exits 1 with `stream "X" not found`', async () => {
    const run = await runCli(["consumers", "ls", "NOPE", "--server", server.url]);
    assert.equal(run.code, 1, show(run));
    assert.deepEqual(errorLines(run), ['jetroute: stream "NOPE" not found']);
    assert.equal(run.stdout, "");
  });

  it("consumers ls of a stream without consumers says so and exits 0", async () => {
    const run = await runCli(["consumers", "ls", "CLI_EMPTY", "--server", server.url]);
    assert.equal(run.code, 0, show(run));
    assert.equal(run.stderr, 'no consumers on stream "CLI_EMPTY"\n');
    const json = await runCli(["consumers", "ls", "CLI_EMPTY", "--json", "--server", server.url]);
    assert.deepEqual(JSON.parse(json.stdout), []);
  });
});

describe("jetroute: authentication", { concurrency: 2 }, async () => {
  const server = await useServer({ extraConfig: 'authorization { token: "s3cret" }' });

  it("--token with the right token lists streams", async () => {
    const run = await runCli([
      "streams",
      "ls",
      "--json",
      "--token",
      "s3cret",
      "--server",
      server.url,
    ]);
    assert.equal(run.code, 0, show(run));
    assert.deepEqual(JSON.parse(run.stdout), []);
  });

  it("a wrong token exits 1 with `authorization violation`", async () => {
    const run = await runCli(["streams", "ls", "--token", "wrong", "--server", server.url]);
    assert.equal(run.code, 1, show(run));
    assert.deepEqual(errorLines(run), [
      `jetroute: could not connect to ${server.url}: authorization violation`,
    ]);
  });
});

describe("jetroute: server URLs with credentials and tls://", { concurrency: 2 }, async () => {
  const server = await useServer({
    extraConfig: 'authorization { user: "ann", password: "pw-s3cret" }',
  });
  const hostPort = server.url.replace(/^nats:\/\//, "");

  it("a user and password in the --server URL log in", async () => {
    const url = `nats://ann:pw-s3cret@${hostPort}`;
    const run = await runCli(["streams", "ls", "--json", "--server", url]);
    assert.equal(run.code, 0, show(run));
    assert.deepEqual(JSON.parse(run.stdout), []);
  });

  it("a wrong password in the --server URL exits 1 without showing the password", async () => {
    const run = await runCli(["streams", "ls", "--server", `nats://ann:wrong-pw@${hostPort}`]);
    assert.equal(run.code, 1, show(run));
    assert.deepEqual(errorLines(run), [
      `jetroute: could not connect to nats://***@${hostPort}: authorization violation`,
    ]);
    assert.doesNotMatch(run.stderr, /wrong-pw/);
  });

  it("a tls:// URL to a server without TLS exits 1 instead of logging in in plain text", async () => {
    const args = ["streams", "ls", "--user", "ann", "--password", "pw-s3cret"];
    const run = await runCli([...args, "--server", `tls://${hostPort}`]);
    assert.equal(run.code, 1, show(run));
    assert.deepEqual(errorLines(run), [
      `jetroute: could not connect to tls://${hostPort}: the server does not offer TLS (a tls:// URL requires it)`,
    ]);
    assert.equal(run.stdout, "");
  });
});

describe("the built jetroute bin (tsc output)", async () => {
  // built inside the repo so `commander` and `@nats-io/*` resolve from its node_modules
  const outDir = join(REPO_ROOT, ".cache", `cli-dist-${process.pid}`);
  const server = await useServer();

  before(async () => {
    const build = await runTsc(outDir);
    assert.equal(build.code, 0, show(build));
  });
  after(() => rmSync(outDir, { recursive: true, force: true }));

  it("dist/cli/main.js starts with a node shebang and runs without tsx", async () => {
    const { readFileSync } = await import("node:fs");
    const main = join(outDir, "cli", "main.js");
    assert.match(readFileSync(main, "utf8"), /^#!\/usr\/bin\/env node\n/);
    const run = await runCli(["streams", "ls", "--json", "--server", server.url], { entry: main });
    assert.equal(run.code, 0, show(run));
    assert.deepEqual(JSON.parse(run.stdout), []);
  });
});

function runTsc(outDir: string) {
  return runCli(
    [
      "-p",
      "tsconfig.build.json",
      "--outDir",
      outDir,
      "--declaration",
      "false",
      "--sourceMap",
      "false",
    ],
    { entry: join(REPO_ROOT, "node_modules", "typescript", "bin", "tsc") },
  );
}
