import { ErrInvalidOption, invalidValueMessage } from "../errors/index.js";
import { checkKeys } from "../options/index.js";

/**
 * A NATS micro service made of the broker's request-reply routes (ADR-32, the protocol
 * `nats micro` and the nats.go / nats.js service clients speak).
 */
export interface ServiceOptions {
  /**
   * The service's name: its kind, shared by every instance. `A-Z a-z 0-9 - _` only (the micro
   * protocol's rule); it is a token of the `$SRV.<verb>.<name>` subjects.
   */
  readonly name: string;
  /** A SemVer 2.0 version (`1.4.0`, `2.0.0-rc.1+build.5`), as the protocol requires. */
  readonly version: string;
  /** Shown by `nats micro info`. @default "" */
  readonly description?: string;
  /** Free-form string pairs about this instance (region, commit). @default {} */
  readonly metadata?: Readonly<Record<string, string>>;
  /**
   * Per request-reply route, by route name: `false` leaves the route out of the service, an
   * object gives the endpoint's metadata. Routes not named here are endpoints without metadata.
   * A name that is not a registered request-reply route makes `run()` reject (ErrInvalidOption).
   * @default {}
   */
  readonly endpoints?: Readonly<Record<string, ServiceEndpointOptions | false>>;
}

/** One endpoint's settings in {@link ServiceOptions.endpoints}. */
export interface ServiceEndpointOptions {
  /** @default {} */
  readonly metadata?: Readonly<Record<string, string>>;
}

/** The validated, frozen service settings. */
export interface ServiceConfig {
  readonly name: string;
  readonly version: string;
  readonly description: string;
  readonly metadata: Readonly<Record<string, string>>;
  readonly endpoints: ReadonlyMap<string, Readonly<Record<string, string>> | false>;
}

const OPTION = "withService";
/** The micro protocol's name rule (nats.go `nameRegexp`, nats.js `validName`). */
export const SERVICE_NAME = /^[A-Za-z0-9_-]+$/;
// semver.org's suggested expression, the one nats.go's micro package checks versions with.
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;

/** Checks {@link ServiceOptions} once; throws ErrInvalidOption naming the field and the fix. */
export function resolveServiceConfig(options: unknown): ServiceConfig {
  if (!isRecord(options)) {
    throw invalid(OPTION, options, "an object { name, version, description?, metadata? }");
  }
  checkKeys(options, ["name", "version", "description", "metadata", "endpoints"], OPTION);
  const { name, version, description, metadata, endpoints } = options;
  if (typeof name !== "string" || !SERVICE_NAME.test(name)) {
    throw invalid(`${OPTION} name`, name, "a non-empty string of A-Z a-z 0-9 - _ only");
  }
  if (typeof version !== "string" || !SEMVER.test(version)) {
    throw invalid(`${OPTION} version`, version, 'a SemVer version such as "1.0.0"');
  }
  if (description !== undefined && typeof description !== "string") {
    throw invalid(`${OPTION} description`, description, "a string");
  }
  return Object.freeze({
    name,
    version,
    description: description ?? "",
    metadata: checkMetadata(`${OPTION} metadata`, metadata),
    endpoints: checkEndpoints(endpoints),
  });
}

function checkEndpoints(value: unknown): ServiceConfig["endpoints"] {
  const out = new Map<string, Readonly<Record<string, string>> | false>();
  if (value === undefined) return out;
  if (!isRecord(value)) {
    throw invalid(`${OPTION} endpoints`, value, "an object { [routeName]: { metadata? } | false }");
  }
  for (const [route, v] of Object.entries(value)) {
    const where = `${OPTION} endpoints[${JSON.stringify(route)}]`;
    if (v === false) out.set(route, false);
    else if (isRecord(v)) {
      checkKeys(v, ["metadata"], where);
      out.set(route, checkMetadata(`${where}.metadata`, v.metadata));
    } else throw invalid(where, v, "{ metadata? } or false (leaves the route out)");
  }
  return out;
}

function checkMetadata(option: string, value: unknown): Readonly<Record<string, string>> {
  if (value === undefined) return Object.freeze({});
  if (!isRecord(value)) throw invalid(option, value, "an object of string values");
  for (const [k, v] of Object.entries(value)) {
    if (k === "") throw invalid(option, value, "an object without an empty key");
    if (typeof v !== "string") {
      throw invalid(`${option}[${JSON.stringify(k)}]`, v, "a string (metadata values are strings)");
    }
  }
  // A copy: the protocol wants metadata immutable once the service is created.
  return Object.freeze({ ...(value as Record<string, string>) });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function invalid(option: string, value: unknown, expected: string): Error {
  return new ErrInvalidOption(invalidValueMessage(option, value, expected));
}
