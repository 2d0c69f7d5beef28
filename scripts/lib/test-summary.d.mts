// Types for test-summary.mjs (scripts stay plain JS: they run before npm install).
export interface Summary {
  tests: number;
  pass: number;
  fail: number;
  cancelled: number;
  skipped: number;
  todo: number;
}
export function parseSummary(output: string): Summary | undefined;
export function failureDetails(output: string, maxLines?: number): string;
export function failedTests(output: string): string[];
