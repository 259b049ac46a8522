import type { DescMethodUnary, DescService } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";

/** A unary method and the function that implements it (connect's MethodImplSpec for the unary kind). */
export interface UnaryMethodSpec {
  readonly kind: "unary";
  readonly method: DescMethodUnary;
  readonly impl: (request: never, context: never) => unknown;
}

/** The unary method specs of one service implementation, as connect's router builds them. */
export function unarySpecsOf(service: DescService, implementation: Record<string, unknown>): UnaryMethodSpec[] {
  const specs: UnaryMethodSpec[] = [];
  for (const method of service.methods) {
    if (method.methodKind !== "unary") continue;
    const fn = implementation[method.localName];
    const impl =
      typeof fn === "function"
        ? (fn.bind(implementation) as UnaryMethodSpec["impl"])
        : () => {
            throw new ConnectError(`${service.typeName}.${method.name} is not implemented`, Code.Unimplemented);
          };
    specs.push({ kind: "unary", method: method as DescMethodUnary, impl });
  }
  return specs;
}

/**
 * The reason a finished call's context is aborted with. connect aborts every context when its call ends, so that
 * deadline timers and the listeners on the request and shutdown signals go; it does so without a reason, and an
 * AbortSignal then builds a DOMException (with a stack trace) per call. One shared reason costs nothing; it is a
 * plain Error, not a ConnectError with Code.Canceled, so work still tied to the signal can tell a finished call
 * from a client that went away (that one aborts with Canceled, see universalRequestOf).
 */
export const CALL_COMPLETE = new Error("the call is complete");
