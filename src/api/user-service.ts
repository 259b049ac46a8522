import { create } from "@bufbuild/protobuf";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { DetailsSchema, type Details } from "../../gen/zitadel/object/v2/object_pb.js";
import { UserService, type SetPhoneRequest } from "../../gen/zitadel/user/v2/user_service_pb.js";
import type { CommandResult, UserCommands } from "../commands/user-commands.js";
import type { UserWriteGrant } from "../auth/user-write-permission.js";
import type { AuthenticatedCaller } from "../auth/authenticator.js";
import {
  validateUserId,
  type CallerAccess,
  type PhoneVerification,
  type UserCommand,
} from "../domain/phone-decider.js";
import { clientAddressKey } from "./caller-context.js";
import { authenticatedCaller, changeFields } from "./phone-service.js";

/** Answers whether a caller holds ZITADEL's `user.write` (myphone's stand-in: src/auth/user-write-permission.ts). */
export interface UserWriteCheck {
  of(caller: AuthenticatedCaller): UserWriteGrant;
}

/**
 * zitadel.user.v2.UserService's four phone methods on v1's commands. The user is the request's `user_id`; the decider
 * (phone-decider.ts) judges the caller's access computed here.
 */
export function createUserService(commands: UserCommands, userWrite: UserWriteCheck): ServiceImpl<typeof UserService> {
  const run = async (ctx: HandlerContext, userId: string, command: (access: CallerAccess) => UserCommand) => {
    // user_id is the request's first field, so it is checked before the command's own fields.
    const invalid = validateUserId(userId);
    if (invalid) throw invalid;
    const caller = authenticatedCaller(ctx);
    const access: CallerAccess = { self: caller.userId === userId, userWrite: userWrite.of(caller) };
    return commands.execute(userId, command(access), undefined, { clientAddress: ctx.values.get(clientAddressKey) });
  };
  return {
    async setPhone(request, ctx) {
      const verification = verificationOf(request.verification);
      const result = await run(ctx, request.userId, (access) => ({
        type: "SetPhone",
        api: "user.v2",
        phone: request.phone,
        verification,
        access,
      }));
      return { details: changeDetails(result), verificationCode: result.returnedCode };
    },
    async resendPhoneCode(request, ctx) {
      const verification =
        request.verification.case === "returnCode"
          ? ({ case: "returnCode" } as const)
          : ({ case: "sendCode" } as const);
      const result = await run(ctx, request.userId, (access) => ({
        type: "ResendPhoneCode",
        api: "user.v2",
        verification,
        access,
      }));
      return { details: changeDetails(result), verificationCode: result.returnedCode };
    },
    async verifyPhone(request, ctx) {
      const result = await run(ctx, request.userId, () => ({
        type: "VerifyPhone",
        api: "user.v2",
        code: request.verificationCode,
      }));
      return { details: changeDetails(result) };
    },
    async removePhone(request, ctx) {
      const result = await run(ctx, request.userId, (access) => ({ type: "RemovePhone", api: "user.v2", access }));
      return { details: changeDetails(result) };
    },
  };
}

/** SetPhoneRequest's `verification` oneof as the command's; none set means send_code (ZITADEL's SetPhone). */
function verificationOf(verification: SetPhoneRequest["verification"]): PhoneVerification {
  switch (verification.case) {
    case "returnCode":
      return { case: "returnCode" };
    case "isVerified":
      return { case: "isVerified", value: verification.value };
    default:
      return { case: "sendCode" };
  }
}

function changeDetails(result: CommandResult): Details {
  return create(DetailsSchema, changeFields(result));
}
