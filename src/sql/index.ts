// Internal: what the PostgreSQL stores (the inbox, the outbox) share: table-name parsing.
export { parseTableName, quoteIdent, type TableName } from "./table.js";
