/**
 * The PostgreSQL backend: `PostgresBackend`, on `pg` (an optional peer dependency).
 *
 * @module
 */
export {
  PostgresBackend,
  type PostgresBackendOptions,
  type PostgresClient,
  type PostgresPool,
  type PostgresQuery,
} from "./backend.js";
