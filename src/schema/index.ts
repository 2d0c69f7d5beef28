// Standard Schema validation for routes: `validated(schema, handler)` hands the handler the
// typed, validated payload; invalid payloads are rejected with their issues (dead letter
// header `Jetroute-Schema-Issues`, or a 400 reply).
export {
  invalidPayload,
  notJsonMessage,
  requireHandler,
  type ValidatedHandler,
  validated,
} from "./handler.js";
export {
  decodeIssuesHeader,
  describeIssue,
  encodeIssuesHeader,
  parseIssueList,
  SCHEMA_ISSUES_HEADER_MAX_CHARS,
  type SchemaIssue,
  SchemaIssuesHeader,
  summarizeIssues,
  toSchemaIssues,
} from "./issues.js";
export {
  isStandardSchema,
  requireStandardSchema,
  type SchemaResult,
  validateWith,
} from "./validate.js";
