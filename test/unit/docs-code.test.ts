// The docs' code blocks marked runnable (```ts runnable) type-check against the library.
import assert from "node:assert/strict";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  checkBlocks,
  type DocBlock,
  type DocProblem,
  describeProblem,
  extractRunnableBlocks,
} from "../helpers/docs-code.js";

const root = join(import.meta.dirname, "..", "..");

/** README.md and every docs/*.md, relative to the repo root. */
function docs(): string[] {
  const guides = readdirSync(join(root, "docs"))
    .filter((f) => f.endsWith(".md"))
    .sort()
    .map((f) => `docs/${f}`);
  return ["README.md", ...guides];
}

// A doc with a known mistake, checked in the same program: proves problems are found and
// reported with the doc, the block and the line.
const BROKEN_DOC = "broken-fixture.md";
const BROKEN = [
  "# A guide",
  "",
  "```ts runnable file=names.ts",
  'export const stream = "ORDERS";',
  "```",
  "",
  "```ts runnable",
  'import { withConcurrency } from "jetroute";',
  'import { stream } from "./names.js";',
  "",
  'withConcurrency("four");',
  "console.log(stream);",
  "```",
  "",
].join("\n");

describe("runnable code blocks in the docs", () => {
  const blocks: DocBlock[] = [];
  let problems: DocProblem[] = [];
  let tmp: string | undefined;

  before(() => {
    for (const doc of docs()) {
      blocks.push(...extractRunnableBlocks(doc, readFileSync(join(root, doc), "utf8")));
    }
    const result = checkBlocks(root, [...blocks, ...extractRunnableBlocks(BROKEN_DOC, BROKEN)]);
    problems = result.problems;
    tmp = result.dir;
  });
  after(() => {
    if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
  });

  it("type-check: every marked block in README.md and docs/*.md compiles", () => {
    const real = problems.filter((p) => p.doc !== BROKEN_DOC);
    assert.deepEqual(real.map(describeProblem), []);
  });

  it("are found in the README quick start, getting started and production guides", () => {
    const count = (doc: string) => blocks.filter((b) => b.doc === doc).length;
    assert.ok(count("README.md") >= 1, "README.md has a runnable block");
    assert.ok(count("docs/getting-started.md") >= 3, "getting-started.md has runnable blocks");
    assert.ok(count("docs/production.md") >= 1, "production.md has a runnable block");
  });

  it("report a block that does not compile with its doc, block number, line and tsc message", () => {
    const broken = problems.filter((p) => p.doc === BROKEN_DOC);
    assert.equal(broken.length, 1);
    const [p] = broken;
    assert.equal(p?.block, 2);
    assert.equal(p?.line, 11);
    assert.equal(p?.code, 2345); // argument of the wrong type
    assert.match(describeProblem(p as DocProblem), /^broken-fixture\.md:11 \(block 2\): TS2345 /);
  });
});

describe("runnable block marks", () => {
  it("a plain ts block is not checked; ts runnable is, with its first code line", () => {
    const md = "text\n```ts\nnot checked(\n```\n```ts runnable\nconst a = 1;\n```\n";
    const blocks = extractRunnableBlocks("x.md", md);
    assert.deepEqual(
      blocks.map((b) => [b.index, b.line, b.file, b.code]),
      [[1, 6, "block-1.ts", "const a = 1;\n"]],
    );
  });

  it("runnable on a block that is not TypeScript is refused", () => {
    assert.throws(() => extractRunnableBlocks("x.md", "```sh runnable\nls\n```\n"), /ts only/);
  });

  it("two blocks with one file= name are refused", () => {
    const md = "```ts runnable file=a.ts\n```\n```ts runnable file=a.ts\n```\n";
    assert.throws(() => extractRunnableBlocks("x.md", md), /two blocks are a\.ts/);
  });

  it("a fence that is never closed is refused", () => {
    assert.throws(
      () => extractRunnableBlocks("x.md", "```ts runnable\nconst a = 1;\n"),
      /never closed/,
    );
  });

  it("blocks indented in a list lose their indent", () => {
    const md = "- step\n\n  ```ts runnable\n  const a = 1;\n  ```\n";
    assert.equal(extractRunnableBlocks("x.md", md)[0]?.code, "const a = 1;\n");
  });
});
