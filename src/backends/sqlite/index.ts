/**
 * The SQLite backend: `SQLiteBackend`, on `better-sqlite3` (an optional peer dependency), for
 * several processes on one machine sharing limits through one file, with no server.
 *
 * @module
 */
export { SQLiteBackend, type SQLiteBackendOptions } from "./backend.js";
