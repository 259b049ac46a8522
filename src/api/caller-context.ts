import { createContextKey, type Interceptor } from "@connectrpc/connect";
import { authenticate, type AuthenticatedCaller, type Authenticator } from "../auth/authenticator.js";
import type { OrganisationDirectory } from "../auth/organisation-directory.js";
import type { UserProvisioner } from "../auth/user-provisioner.js";
import { DomainError, Errors } from "../domain/errors.js";

/** The authenticated caller of the current RPC, set by `authInterceptor`. */
export const callerKey = createContextKey<AuthenticatedCaller | undefined>(undefined, {
  description: "authenticated caller",
});

/** The address of the client behind the current RPC, set by the transport (undefined when the socket has none). */
export const clientAddressKey = createContextKey<string | undefined>(undefined, { description: "client address" });

/** ZITADEL's header naming the organisation a call is about; the phone methods only check that it exists. */
export const ORG_ID_HEADER = "x-zitadel-orgid";

export interface AuthInterceptorOptions {
  readonly authenticator: Authenticator;
  /** Services whose calls need a token (health and reflection stay public). */
  readonly protectedServices: ReadonlySet<string>;
  /** Answers whether an `x-zitadel-orgid` names a known organisation. */
  readonly organisations: OrganisationDirectory;
  /** Creates the caller's user on first use (MYPHONE_AUTH_PROVISION_USERS); absent = users must exist. */
  readonly provisioner?: UserProvisioner;
}

/** Protected calls: authenticate, provision the user, refuse an unknown org id (AUTH-Bs7Ds), in ZITADEL's order. */
export function authInterceptor(options: AuthInterceptorOptions): Interceptor {
  return (next) => async (request) => {
    if (options.protectedServices.has(request.service.typeName)) {
      const caller = await authenticate(request.header.get("authorization"), options.authenticator, {
        clientAddress: request.contextValues.get(clientAddressKey),
      });
      await options.provisioner?.ensureUser(caller);
      const orgId = request.header.get(ORG_ID_HEADER)?.trim();
      if (orgId && !(await options.organisations.exists(orgId))) throw new DomainError(Errors.orgNotFound);
      request.contextValues.set(callerKey, caller);
    }
    return next(request);
  };
}
