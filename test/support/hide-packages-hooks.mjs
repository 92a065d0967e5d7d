const hidden = new Set((process.env.TRAFFIK_HIDE ?? "").split(",").filter(Boolean));

export async function resolve(specifier, context, next) {
  if (hidden.has(specifier)) {
    const error = new Error(`Cannot find package '${specifier}' (hidden by the test)`);
    error.code = "ERR_MODULE_NOT_FOUND";
    throw error;
  }
  return next(specifier, context);
}
