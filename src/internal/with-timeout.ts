import { BackendError } from "../errors.js";

/** `promise`, or a `BackendError` (code ERR_TRAFFIK_BACKEND_TIMEOUT) once `ms` have passed. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new BackendError(`${what} did not answer within ${ms} ms.`, {
            code: "ERR_TRAFFIK_BACKEND_TIMEOUT",
          }),
        ),
      ms,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
