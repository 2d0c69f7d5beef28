import { ErrInvalidSubject, invalidValueMessage } from "../errors/index.js";
import { validateFilterSubject, validatePublishSubject } from "../subject/index.js";

/**
 * Checks a route's subject (wildcards allowed) or DLQ subject (literal) with the shared subject
 * rules, and rethrows ErrInvalidSubject with the route named, keeping the original as cause.
 */
export function checkRouteSubject(
  value: unknown,
  option: string,
  wildcards: boolean,
  route: string,
): string {
  try {
    if (wildcards) validateFilterSubject(value, option);
    else validatePublishSubject(value, option);
    return value as string;
  } catch (cause) {
    const expected = wildcards ? "a valid subject" : "a literal subject (no wildcards)";
    throw new ErrInvalidSubject(value, invalidValueMessage(option, value, expected, route), {
      cause,
    });
  }
}

/** nats-server's limit on stream and consumer names (JSMaxNameLen). */
const MAX_NAME_LENGTH = 255;

/** Why `name` is not a valid stream or consumer name; undefined if valid. */
export function nameProblem(name: string): string | undefined {
  if (name === "") return "is empty";
  if (name.length > MAX_NAME_LENGTH) return `is longer than ${MAX_NAME_LENGTH} characters`;
  if (/[\s.*>/\\]/.test(name)) return "contains whitespace, '.', '*', '>', '/' or '\\'";
  return undefined;
}
