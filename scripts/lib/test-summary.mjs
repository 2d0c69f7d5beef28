// Reads node's test runner output. Node 20 and 22 print TAP when stdout is not a terminal
// (`# pass 12`, `not ok 3 - name`), Node 24 prints its spec reporter (`ℹ pass 12`, `✖ name`):
// both are understood, so a leg reads the same on every Node.

const COUNTS = ["tests", "pass", "fail", "cancelled", "skipped", "todo"];

/**
 * The closing counts, `{ tests, pass, fail, cancelled, skipped, todo }`, or undefined when the run
 * printed no summary (it crashed or was killed). The last summary wins.
 */
export function parseSummary(output) {
  const counts = {};
  for (const key of COUNTS) {
    const all = [...output.matchAll(new RegExp(`^(?:#|ℹ) ${key} (\\d+)\\s*$`, "gm"))];
    const last = all.at(-1);
    if (last?.[1] !== undefined) counts[key] = Number(last[1]);
  }
  return "pass" in counts && "fail" in counts ? { ...zero(), ...counts } : undefined;
}

function zero() {
  return Object.fromEntries(COUNTS.map((k) => [k, 0]));
}

/**
 * What to show of a failing run: each failed test with its error block (TAP), or the spec
 * reporter's own "failing tests" section. Capped, since a broken server fails hundreds of tests.
 */
export function failureDetails(output, maxLines = 200) {
  const lines = output.split("\n");
  const spec = lines.findIndex((l) => /^✖ failing tests:/.test(l));
  let picked = [];
  if (spec >= 0) {
    picked = lines.slice(spec).filter((l) => !/^ℹ /.test(l));
  } else {
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i] ?? "";
      const m = /^(\s*)not ok \d+ - /.exec(line);
      if (!m) continue;
      // The YAML block after it ends with `...` indented two more spaces.
      const end = `${m[1]}  ...`;
      let j = i + 1;
      while (j < lines.length && lines[j] !== end && j - i < 60) j++;
      picked.push(...lines.slice(i, j + 1));
      i = j;
    }
  }
  if (picked.length <= maxLines) return picked.join("\n");
  return [...picked.slice(0, maxLines), `... (${picked.length - maxLines} more lines)`].join("\n");
}

/** The names of the failed tests (leaves and their suites), in order, without repeats. */
export function failedTests(output) {
  const names = new Set();
  for (const m of output.matchAll(/^\s*not ok \d+ - (.*)$/gm)) {
    // A failing `todo` test is not a failure.
    if (m[1] && !/ # TODO\b/.test(m[1])) names.add(m[1]);
  }
  for (const m of output.matchAll(/^\s*✖ (.*?) \([\d.]+m?s\)$/gm)) {
    if (m[1]) names.add(m[1]);
  }
  return [...names];
}
