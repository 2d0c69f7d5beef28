// Type-checks the code blocks of the docs that are marked runnable: ```ts runnable (optionally
// `file=name.ts`, so a later block of the same doc can import it as "./name.js"). Every block
// becomes a module in a temp dir inside the repo, where `jetroute` and `jetroute/testing` map to
// src/ (as examples import ../../src), and one TypeScript program checks them all.
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import ts from "typescript";

/** One marked block of a markdown file. */
export interface DocBlock {
  /** The markdown file, relative to the repo root (`docs/production.md`). */
  readonly doc: string;
  /** 1-based among the doc's runnable blocks. */
  readonly index: number;
  /** 1-based line in the doc of the block's first code line. */
  readonly line: number;
  /** The module's file name in the doc's dir (`file=` or `block-<index>.ts`). */
  readonly file: string;
  readonly code: string;
}

/** A type error in a block, where the doc has it. */
export interface DocProblem {
  readonly doc: string;
  readonly block: number;
  /** 1-based line in the doc. */
  readonly line: number;
  readonly code: number;
  readonly message: string;
}

const FENCE = /^( {0,3})(`{3,}|~{3,})(.*)$/;
const FILE_NAME = /^[A-Za-z0-9_.-]+\.ts$/;

/**
 * The runnable blocks of one markdown text. Throws on a mark it cannot honour: `runnable` on a
 * block that is not TypeScript, a bad or repeated `file=`, or an unclosed fence.
 */
export function extractRunnableBlocks(doc: string, markdown: string): DocBlock[] {
  const lines = markdown.split("\n");
  const blocks: DocBlock[] = [];
  const files = new Set<string>();
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i] ?? "");
    if (open === null) continue;
    const [, indent = "", fence = "", info = ""] = open;
    const words = info.trim().split(/\s+/);
    const start = i + 1;
    let end = start;
    while (end < lines.length && !isClose(lines[end] ?? "", fence)) end++;
    if (end >= lines.length) throw new Error(`${doc}:${i + 1}: code fence never closed`);
    i = end;
    if (!words.includes("runnable")) continue;
    const lang = words[0] ?? "";
    if (lang !== "ts" && lang !== "typescript") {
      throw new Error(`${doc}:${start}: "runnable" on a ${lang || "plain"} block (ts only)`);
    }
    const index = blocks.length + 1;
    const named = words.find((w) => w.startsWith("file="))?.slice("file=".length);
    if (named !== undefined && !FILE_NAME.test(named)) {
      throw new Error(`${doc}:${start}: file=${named} is not a plain .ts file name`);
    }
    const file = named ?? `block-${index}.ts`;
    if (files.has(file)) throw new Error(`${doc}:${start}: two blocks are ${file}`);
    files.add(file);
    const code = lines
      .slice(start, end)
      .map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l.trimStart()))
      .join("\n");
    blocks.push({ doc, index, line: start + 1, file, code: `${code}\n` });
  }
  return blocks;
}

function isClose(line: string, fence: string): boolean {
  const t = line.trim();
  return t.startsWith(fence) && /^(`+|~+)$/.test(t) && t[0] === fence[0];
}

/**
 * Writes the blocks under `<root>/.tmp/docs-code-*` (one dir per doc) and type-checks them in
 * one program with the repo's compiler options, `jetroute` and `jetroute/testing` mapped to
 * src/. Unused locals are allowed: a doc shows values it does not use. Returns the problems
 * and the dir (the caller deletes it).
 */
export function checkBlocks(
  root: string,
  blocks: readonly DocBlock[],
): { readonly problems: DocProblem[]; readonly dir: string } {
  mkdirSync(join(root, ".tmp"), { recursive: true });
  const dir = mkdtempSync(join(root, ".tmp", "docs-code-"));
  const byFile = new Map<string, DocBlock>();
  for (const b of blocks) {
    const path = join(dir, b.doc.replace(/\.md$/, "").replace(/[/\\]/g, "__"), b.file);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, b.code);
    byFile.set(path, b);
  }
  const base = ts.readConfigFile(join(root, "tsconfig.json"), ts.sys.readFile);
  if (base.error !== undefined) throw new Error(flatten(base.error.messageText));
  const parsed = ts.parseJsonConfigFileContent(
    {
      compilerOptions: {
        ...base.config.compilerOptions,
        noEmit: true,
        noUnusedLocals: false,
        noUnusedParameters: false,
        paths: {
          jetroute: [join(root, "src/index.ts")],
          "jetroute/testing": [join(root, "src/testing/index.ts")],
        },
      },
      files: [...byFile.keys()],
    },
    ts.sys,
    dir,
  );
  const program = ts.createProgram({ rootNames: parsed.fileNames, options: parsed.options });
  const problems: DocProblem[] = [];
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const message = flatten(d.messageText);
    const block = d.file === undefined ? undefined : byFile.get(d.file.fileName);
    if (d.file === undefined || block === undefined) {
      // Not in a block (the options, or src itself): name where, so it is not taken for a doc's.
      const where = d.file === undefined ? "options" : relative(root, d.file.fileName);
      problems.push({ doc: where, block: 0, line: 0, code: d.code, message });
      continue;
    }
    const { line } = d.file.getLineAndCharacterOfPosition(d.start ?? 0);
    problems.push({
      doc: block.doc,
      block: block.index,
      line: block.line + line,
      code: d.code,
      message,
    });
  }
  return { problems, dir };
}

/** `docs/production.md:120 (block 3): TS2304 Cannot find name 'x'.` */
export function describeProblem(p: DocProblem): string {
  return `${p.doc}:${p.line} (block ${p.block}): TS${p.code} ${p.message}`;
}

function flatten(text: string | ts.DiagnosticMessageChain): string {
  return ts.flattenDiagnosticMessageText(text, " ");
}
