import { create } from "@bufbuild/protobuf";
import { timestampFromDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { AuthService } from "../../gen/zitadel/auth_pb.js";
import { ObjectDetailsSchema, type ObjectDetails } from "../../gen/zitadel/object_pb.js";
import { PhoneSchema } from "../../gen/zitadel/user_pb.js";
import type { CommandResult, UserCommands } from "../commands/user-commands.js";
import type { AuthenticatedCaller } from "../auth/authenticator.js";
import { DomainError, Errors } from "../domain/errors.js";
import { readPhone, type UserCommand } from "../domain/phone-decider.js";
import { callerKey, clientAddressKey } from "./caller-context.js";

/** zitadel.auth.v1.AuthService's five phone methods, thin on purpose: the rules live in src/domain. */
export function createPhoneService(commands: UserCommands): ServiceImpl<typeof AuthService> {
  const run = async (ctx: HandlerContext, command: UserCommand) =>
    changeDetails(
      await commands.execute(callerOf(ctx), command, undefined, { clientAddress: ctx.values.get(clientAddressKey) }),
    );
  return {
    async getMyPhone(_request, ctx) {
      const state = await commands.load(callerOf(ctx));
      const { phone, verified } = readPhone(state);
      return {
        details: create(ObjectDetailsSchema, {
          sequence: BigInt(state.sequence),
          creationDate: state.createdAt ? timestampFromDate(state.createdAt) : undefined,
          changeDate: state.changedAt ? timestampFromDate(state.changedAt) : undefined,
          resourceOwner: state.owner,
        }),
        // Always present, empty when the user has no phone (ZITADEL answers "phone": {}).
        phone: create(PhoneSchema, { phone, isPhoneVerified: verified }),
      };
    },
    async setMyPhone(request, ctx) {
      return { details: await run(ctx, { type: "SetPhone", phone: request.phone }) };
    },
    async verifyMyPhone(request, ctx) {
      return { details: await run(ctx, { type: "VerifyPhone", code: request.code }) };
    },
    async resendMyPhoneVerification(_request, ctx) {
      return { details: await run(ctx, { type: "ResendPhoneCode" }) };
    },
    async removeMyPhone(_request, ctx) {
      return { details: await run(ctx, { type: "RemovePhone" }) };
    },
  };
}

/** The authenticated caller of a call. */
export function authenticatedCaller(ctx: HandlerContext): AuthenticatedCaller {
  const caller = ctx.values.get(callerKey);
  // The auth interceptor guarantees a caller; reaching here without one is a wiring bug, not a client error.
  if (!caller) throw new DomainError(Errors.internal, { message: "no authenticated caller" });
  return caller;
}

function callerOf(ctx: HandlerContext): string {
  return authenticatedCaller(ctx).userId;
}

/** A change's details, v1 and v2 alike: the last appended event's sequence and time, the org; never a creation date. */
export function changeFields(result: CommandResult): {
  sequence: bigint;
  changeDate: Timestamp;
  resourceOwner: string;
} {
  const last = result.appended.at(-1);
  return {
    sequence: BigInt(last?.sequence ?? result.state.sequence),
    changeDate: timestampFromDate(last?.createdAt ?? result.state.changedAt ?? new Date()),
    resourceOwner: result.state.owner,
  };
}

function changeDetails(result: CommandResult): ObjectDetails {
  return create(ObjectDetailsSchema, changeFields(result));
}
