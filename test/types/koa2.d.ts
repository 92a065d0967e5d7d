// Koa 2, installed under an alias to test beside Koa 3; its API is typed as Koa's.
declare module "koa2" {
  import Koa from "koa";
  export default Koa;
}
