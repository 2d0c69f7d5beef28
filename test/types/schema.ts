// Compile-time specifications of validated() and enveloped() (checked by `npm run typecheck`):
// the handler's first argument is the schema's output type, for every Standard Schema vendor,
// with and without an envelope; a schema's input type is not what the handler gets.
import { type } from "arktype";
import * as v from "valibot";
import { z } from "zod";
import {
  type Envelope,
  envelope,
  enveloped,
  type Handler,
  route,
  validated,
  withStream,
  withSubject,
} from "../../src/index.js";

type Equal<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<T extends true>(_ok: T): void {}

const Zod = z.object({
  id: z.string(),
  amount: z.coerce.number(),
  tags: z.array(z.string()).default([]),
});
const Valibot = v.object({
  id: v.string(),
  amount: v.number(),
  tags: v.optional(v.array(v.string()), []),
});
const Ark = type({ id: "string", amount: "number", "tags?": "string[]" });

export const zodRoute = route(
  "charge",
  validated(Zod, async (order, msg, ctx) => {
    expectType<Equal<typeof order, { id: string; amount: number; tags: string[] }>>(true);
    ctx.logger.info({ subject: msg.subject }, order.id);
    // @ts-expect-error the output has no such field
    order.total;
  }),
  withStream("ORDERS"),
  withSubject("orders.created"),
);

export const valibotHandler: Handler = validated(Valibot, async (order) => {
  expectType<Equal<typeof order, { id: string; amount: number; tags: string[] }>>(true);
});

export const arkHandler: Handler = validated(Ark, async (order) => {
  expectType<Equal<typeof order.id, string>>(true);
  expectType<Equal<typeof order.tags, string[] | undefined>>(true);
});

// A request-reply handler's reply value is typed too.
export const replying: Handler<{ total: number }> = validated(Zod, async (order) => ({
  total: order.amount,
}));

export const envelopedWithSchema: Handler = enveloped(Zod, async (event) => {
  expectType<Equal<typeof event, Envelope<{ id: string; amount: number; tags: string[] }>>>(true);
  expectType<Equal<typeof event.eventId, string>>(true);
  expectType<
    Equal<typeof event.resource, { readonly type: string; readonly id: string } | undefined>
  >(true);
});

export const envelopedArk: Handler = enveloped(Ark, async (event) => {
  expectType<Equal<typeof event.payload.amount, number>>(true);
});

export const envelopedWithout: Handler = enveloped(async (event) => {
  expectType<Equal<typeof event.payload, unknown>>(true);
});

export const built = envelope({ type: "order.created", producer: "orders", payload: { n: 1 } });
expectType<Equal<typeof built.payload, { n: number }>>(true);

// @ts-expect-error a schema is not a handler
route("r", Zod);
// @ts-expect-error validated needs a handler
validated(Zod);
// @ts-expect-error not a Standard Schema
validated({ parse: () => 1 }, async () => {});
// @ts-expect-error envelope() needs a producer (or use envelopeFactory)
envelope({ type: "t", payload: 1 });
