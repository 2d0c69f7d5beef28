import type { StandardSchemaV1 } from "@standard-schema/spec";
import { ErrInvalidOption, invalidValueMessage } from "../errors/index.js";
import { type SchemaIssue, toSchemaIssues } from "./issues.js";

/** What validating one value came to. */
export type SchemaResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly issues: readonly SchemaIssue[] };

/** True for a Standard Schema v1 (zod 3.24+, valibot 1+, arktype 2+, ...): `~standard.validate`. */
export function isStandardSchema(value: unknown): value is StandardSchemaV1 {
  if ((typeof value !== "object" && typeof value !== "function") || value === null) return false;
  const props = (value as { "~standard"?: unknown })["~standard"];
  return (
    typeof props === "object" &&
    props !== null &&
    (props as { version?: unknown }).version === 1 &&
    typeof (props as { validate?: unknown }).validate === "function"
  );
}

/**
 * Throws ErrInvalidOption naming `what` unless `schema` is a Standard Schema v1: a route's
 * schema is checked when the route is declared, not on its first message.
 */
export function requireStandardSchema(schema: unknown, what: string): StandardSchemaV1 {
  if (!isStandardSchema(schema)) {
    throw new ErrInvalidOption(
      invalidValueMessage(
        what,
        describeSchema(schema),
        'a Standard Schema v1 (an object with "~standard": { version: 1, validate }, e.g. a zod, valibot or arktype schema)',
      ),
    );
  }
  return schema;
}

function describeSchema(value: unknown): unknown {
  // A schema-like object can be huge or cyclic; its type says enough.
  if (typeof value === "object" && value !== null)
    return Array.isArray(value) ? "an array" : "an object without a valid ~standard";
  return value;
}

/**
 * Validates `value` with `schema`, awaiting an async validator (the spec allows a Promise
 * result). Issues come back as {@link SchemaIssue}s; a validator that throws or rejects is not a
 * verdict on the value: the error propagates (a handler error, retried by the route's policy).
 */
export async function validateWith<S extends StandardSchemaV1>(
  schema: S,
  value: unknown,
): Promise<SchemaResult<StandardSchemaV1.InferOutput<S>>> {
  const result = await schema["~standard"].validate(value);
  if (result.issues) return { ok: false, issues: toSchemaIssues(result.issues) };
  return {
    ok: true,
    value: (result as StandardSchemaV1.SuccessResult<unknown>)
      .value as StandardSchemaV1.InferOutput<S>,
  };
}
