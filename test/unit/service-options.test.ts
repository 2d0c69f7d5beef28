// withService's options are checked once, when `new Broker(...)` applies them.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Broker } from "../../src/broker/index.js";
import { ErrorCode, isJetrouteError } from "../../src/errors/index.js";
import { resolveServiceConfig } from "../../src/service/config.js";
import { type ServiceOptions, withService } from "../../src/service/index.js";

/** The ErrInvalidOption message `new Broker(withService(options))` throws. */
function refusal(options: unknown): string {
  try {
    new Broker(withService(options as ServiceOptions));
  } catch (err) {
    assert.ok(isJetrouteError(err, ErrorCode.InvalidOption), String(err));
    return err.message;
  }
  assert.fail("withService accepted the options");
}

describe("withService options", () => {
  it("refuses a name outside A-Z a-z 0-9 - _, naming the option", () => {
    for (const name of ["", "prices.v1", "prices v1", "$SRV", "prix*", undefined, 42]) {
      assert.match(refusal({ name, version: "1.0.0" }), /withService name must be/);
    }
  });

  it("refuses a version that is not SemVer", () => {
    for (const version of ["1.0", "v1.0.0", "1.0.0.0", "01.0.0", "latest", "", undefined]) {
      assert.match(refusal({ name: "prices", version }), /withService version must be a SemVer/);
    }
  });

  it("accepts SemVer pre-release and build versions, and names with dash and underscore", () => {
    for (const version of ["0.0.1", "1.2.3-rc.1", "1.2.3-rc.1+build.5", "10.20.30+meta"]) {
      assert.equal(resolveServiceConfig({ name: "price-quotes_2", version }).version, version);
    }
  });

  it("refuses metadata whose values are not strings, naming the key", () => {
    assert.match(
      refusal({ name: "prices", version: "1.0.0", metadata: { region: "eu", replicas: 3 } }),
      /withService metadata\["replicas"\] must be a string/,
    );
    assert.match(refusal({ name: "p", version: "1.0.0", metadata: ["eu"] }), /metadata must be/);
  });

  it("refuses a description that is not a string", () => {
    assert.match(
      refusal({ name: "p", version: "1.0.0", description: 7 }),
      /withService description must be a string/,
    );
  });

  it("refuses an unknown option key, suggesting the nearest", () => {
    assert.match(
      refusal({ name: "p", version: "1.0.0", descripton: "x" }),
      /did you mean "description"/,
    );
  });

  it("refuses endpoint settings other than { metadata } or false", () => {
    assert.match(
      refusal({ name: "p", version: "1.0.0", endpoints: { quote: true } }),
      /withService endpoints\["quote"\] must be/,
    );
    assert.match(
      refusal({ name: "p", version: "1.0.0", endpoints: { quote: { metadata: { a: 1 } } } }),
      /endpoints\["quote"\]\.metadata\["a"\] must be a string/,
    );
    assert.match(
      refusal({ name: "p", version: "1.0.0", endpoints: { quote: { metdata: {} } } }),
      /did you mean "metadata"/,
    );
  });

  it("refuses options that are not an object", () => {
    for (const options of [undefined, null, "prices", []]) refusal(options);
  });

  it("keeps a frozen copy of the metadata: changing the caller's object changes nothing", () => {
    const metadata: Record<string, string> = { region: "eu" };
    const config = resolveServiceConfig({ name: "p", version: "1.0.0", metadata });
    metadata.region = "us";
    assert.deepEqual(config.metadata, { region: "eu" });
    assert.ok(Object.isFrozen(config.metadata));
    assert.equal(config.description, "");
  });
});
