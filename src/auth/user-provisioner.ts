import { DomainError, Errors } from "../domain/errors.js";
import type { UserCommand } from "../domain/phone-decider.js";
import type { Logger } from "../logger.js";
import type { AuthenticatedCaller } from "./authenticator.js";

/**
 * What provisioning needs of the command side (UserCommands): run AddHumanUser for a user in an organisation.
 * A user that exists already, or that a concurrent call created first, is refused with Errors.userExists.
 */
export interface HumanUserCommands {
  execute(userId: string, command: Extract<UserCommand, { type: "AddHumanUser" }>, owner: string): Promise<unknown>;
}

/** User ids remembered as existing; beyond this the oldest are forgotten (and checked again on their next call). */
const MAX_REMEMBERED_USERS = 10_000;

/**
 * Creates the human user of a verified token on its first call (MYPHONE_AUTH_PROVISION_USERS). The append expects
 * `no_stream`, so racing calls in any process write exactly one `user.human.added`.
 */
export class UserProvisioner {
  private readonly known = new Set<string>();
  private readonly pending = new Map<string, Promise<void>>();

  constructor(
    private readonly commands: HumanUserCommands,
    /** The organisation of users whose token names none. */
    private readonly defaultOwner: () => string,
    private readonly logger?: Logger,
  ) {}

  /** Resolves once the caller's user exists (created now, earlier, or by a concurrent call). */
  ensureUser(caller: AuthenticatedCaller): Promise<void> {
    if (this.known.has(caller.userId)) return Promise.resolve();
    let pending = this.pending.get(caller.userId);
    if (!pending) {
      pending = this.create(caller).finally(() => this.pending.delete(caller.userId));
      this.pending.set(caller.userId, pending);
    }
    return pending;
  }

  private async create(caller: AuthenticatedCaller): Promise<void> {
    const owner = caller.orgId ?? this.defaultOwner();
    try {
      await this.commands.execute(
        caller.userId,
        { type: "AddHumanUser", userName: caller.userName ?? caller.userId },
        owner,
      );
      this.logger?.info({ userId: caller.userId, owner }, "user provisioned from token");
    } catch (error) {
      // Someone else created the user (or it is a machine or removed user, which later commands refuse as usual).
      if (!(error instanceof DomainError && error.id === Errors.userExists.id)) throw error;
    }
    this.known.add(caller.userId);
    if (this.known.size > MAX_REMEMBERED_USERS) this.known.delete(this.known.values().next().value!);
  }
}
