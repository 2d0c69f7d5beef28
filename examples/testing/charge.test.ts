// Tests of the charge route, as a service would write them with jetroute/testing:
// - runHandler: the handler alone, no broker, no server: what would happen to one message;
// - a TestBackend: the route running, in memory and on a real nats-server, one test for both.
//
//   node --import tsx --test examples/testing/charge.test.ts   (NATS_URL: use that server)
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DeadLetterHeader } from "../../src/index.js";
import {
  memoryBackend,
  runHandler,
  serverBackend,
  type TestBackend,
} from "../../src/testing/index.js";
import { type ChargeNames, chargeRoute, type Gateway } from "./charge.js";

/** A gateway that answers from a script, card by card. */
function fakeGateway(answers: Record<string, Array<"ok" | "declined" | "unavailable">>): Gateway {
  return {
    async charge(card) {
      return answers[card]?.shift() ?? "ok";
    },
  };
}

const request = (orderId: number, card: string) => ({ data: { orderId, card, cents: 500 } });

describe("charge: the handler alone (runHandler)", () => {
  it("acks a charged payment and announces it", async () => {
    const r = await runHandler(chargeRoute(fakeGateway({})), request(1, "visa"));
    assert.deepEqual(r.kind === "jetstream" && r.settlement, { kind: "ack" });
    assert.deepEqual(
      r.published.map((p) => [p.subject, p.payload]),
      [["payments.charged", { orderId: 1 }]],
    );
    console.log("runHandler: charged -> ack, announced on payments.charged");
  });

  it("retries after 100 ms while the gateway is down, then dead-letters on the third delivery", async () => {
    const route = chargeRoute(fakeGateway({ visa: ["unavailable", "unavailable"] }));
    const first = await runHandler(route, request(2, "visa"));
    assert.deepEqual(first.kind === "jetstream" && first.settlement, { kind: "nak", delayMs: 100 });
    const last = await runHandler(chargeRoute(fakeGateway({ visa: ["unavailable"] })), {
      ...request(2, "visa"),
      deliveryCount: 3,
    });
    assert.equal(last.kind === "jetstream" && last.settlement.kind, "dead-letter");
    console.log("runHandler: gateway down -> nak 100 ms; on delivery 3 -> dead-letter");
  });

  it("dead-letters a declined card at once", async () => {
    const r = await runHandler(
      chargeRoute(fakeGateway({ amex: ["declined"] })),
      request(3, "amex"),
    );
    assert.deepEqual(r.kind === "jetstream" && r.settlement, {
      kind: "dead-letter",
      reason: "card declined for order 3",
    });
    console.log("runHandler: declined -> dead-letter");
  });
});

let run = 0;
function uniqueNames(): ChargeNames {
  run++;
  const id = `${process.pid}_${run}`;
  return {
    stream: `PAYMENTS_${id}`,
    subject: `payments_${id}.requested`,
    dlq: `dlq_${id}.payments`,
    charged: `payments_${id}.charged`,
  };
}

// The one line that picks where the route runs. NATS_URL unset: serverBackend starts its own.
const backends: Record<string, () => TestBackend> = {
  memory: () => memoryBackend(),
  "nats-server": () => serverBackend(process.env.NATS_URL ? { url: process.env.NATS_URL } : {}),
};

for (const [name, make] of Object.entries(backends)) {
  describe(`charge: the route running (${name})`, () => {
    it("charges good cards, retries through an outage and dead-letters the declined one", async () => {
      const names = uniqueNames();
      const gateway = fakeGateway({ visa: ["unavailable"], amex: ["declined"] });
      const backend = make();
      try {
        backend.register(chargeRoute(gateway, names));
        await backend.start();
        for (const [i, card] of ["visa", "amex", "mastercard"].entries()) {
          await backend.publish(names.subject, { orderId: i, card, cents: 500 });
        }
        await backend.settled();
        const stats = backend.stats("charge");
        const dead = await backend.deadLetters();
        assert.equal(stats.acked, 2);
        assert.equal(stats.nakd, 1);
        assert.equal(dead.length, 1);
        const reason = dead[0]?.header(DeadLetterHeader.Error);
        assert.equal(reason, "card declined for order 1");
        console.log(
          `${name}: ${stats.acked} charged, ${stats.nakd} retried, ${dead.length} dead-lettered (${reason})`,
        );
      } finally {
        await backend.dispose();
      }
    });
  });
}
