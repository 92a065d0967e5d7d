// Express 4, installed under an alias to test beside Express 5; its API is typed as Express's.
declare module "express4" {
  import express from "express";
  export default express;
}
