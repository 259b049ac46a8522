import { createContextKey, type Interceptor } from "@connectrpc/connect";
import { authenticate, type AuthenticatedCaller, type Authenticator } from "../auth/authenticator.js";

/** The authenticated caller of the current RPC, set by `authInterceptor`. */
export const callerKey = createContextKey<AuthenticatedCaller | undefined>(undefined, { description: "authenticated caller" });

/** Authenticates every call of the services in `protectedServices` (health and reflection stay public). */
export function authInterceptor(authenticator: Authenticator, protectedServices: ReadonlySet<string>): Interceptor {
  return (next) => async (request) => {
    if (protectedServices.has(request.service.typeName)) {
      const caller = await authenticate(request.header.get("authorization"), authenticator);
      request.contextValues.set(callerKey, caller);
    }
    return next(request);
  };
}
