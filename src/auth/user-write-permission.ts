import type { CallerAccess } from "../domain/phone-decider.js";
import type { AuthenticatedCaller } from "./authenticator.js";

/** Whether a caller holds `user.write`, and if not, whether it has any roles (which picks ZITADEL's error). */
export type UserWriteGrant = CallerAccess["userWrite"];

export interface UserWritePermissionOptions {
  /** The role in the token's roles claim that grants user.write (MYPHONE_AUTH_USER_WRITE_ROLE); unset = none. */
  readonly role?: string;
  /** Users granted user.write whatever their token says, e.g. service accounts (MYPHONE_AUTH_USER_WRITE_USERS). */
  readonly userIds?: readonly string[];
}

/**
 * Stand-in for ZITADEL's `user.write`, which comes from memberships myphone does not have: a token role or a listed
 * user id grants it for every organisation. Otherwise a caller with roles counts as one with memberships but not
 * this permission, one without roles as one with no memberships (the two get different ZITADEL errors).
 */
export class UserWritePermission {
  private readonly userIds: ReadonlySet<string>;

  constructor(private readonly options: UserWritePermissionOptions) {
    this.userIds = new Set(options.userIds ?? []);
  }

  /** The grant `caller` holds. */
  of(caller: AuthenticatedCaller): UserWriteGrant {
    if (this.userIds.has(caller.userId)) return "granted";
    if (caller.roles === undefined || caller.roles.length === 0) return "no_memberships";
    return this.options.role !== undefined && caller.roles.includes(this.options.role) ? "granted" : "denied";
  }
}
