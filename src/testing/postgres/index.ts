// A throw-away PostgreSQL server for tests (initdb + postgres on a temp dir and a free port).
export { findPostgresBin, POSTGRES_INSTALL_HINT } from "./binary.js";
export {
  livePostgresPids,
  startPostgres,
  type TestPostgres,
  type TestPostgresOptions,
} from "./server.js";
