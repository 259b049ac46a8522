import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext, type Interceptor } from "@connectrpc/connect";
import { AuthService, GetMyPhoneResponseSchema } from "../../gen/zitadel/auth_pb.js";
import { CALL_COMPLETE, createCallContext, invokeUnary, unarySpecsOf, type CallRequest } from "../../src/api/unary-method.js";

/** The fast paths' call context makes its AbortController only when asked; it must behave like connect's anyway. */

const getMyPhone = AuthService.method.getMyPhone;
const request = (): CallRequest => ({ method: "POST", url: "http://localhost/zitadel.auth.v1.AuthService/GetMyPhone", header: new Headers({ authorization: "Bearer x" }) });
const contextOf = (timeoutMs?: number) => createCallContext({ method: getMyPhone, protocolName: "connect", request: request(), timeoutMs, responseHeader: {} });

test("a signal read before the call ends aborts with the call's reason", () => {
  const context = contextOf();
  const signal = context.signal;
  expect(signal.aborted).toBe(false);
  context.abort(CALL_COMPLETE);
  expect(signal.aborted).toBe(true);
  expect(signal.reason).toBe(CALL_COMPLETE);
  expect(context.signal).toBe(signal);
});

test("a signal read after the call ended is already aborted, with the first reason only", () => {
  const context = contextOf();
  const gone = new ConnectError("the client closed the request", Code.Canceled);
  context.abort(gone);
  context.abort(CALL_COMPLETE);
  expect(context.signal.aborted).toBe(true);
  expect(context.signal.reason).toBe(gone);
  expect(context.abortReason).toBe(gone);
});

test("an abort without a reason gives an AbortError, as AbortController does", () => {
  const context = contextOf();
  context.abort();
  expect(context.signal.reason).toBeInstanceOf(DOMException);
  expect((context.signal.reason as DOMException).name).toBe("AbortError");
});

test("the deadline aborts with DeadlineExceeded and tells the body read once; a passed deadline aborts at once", async () => {
  const context = contextOf(20);
  const reasons: unknown[] = [];
  context.onAbort((reason) => reasons.push(reason));
  expect(context.timeoutMs()).toBeGreaterThan(0);
  await new Promise((resolve) => setTimeout(resolve, 60));
  expect(reasons).toHaveLength(1);
  expect(reasons[0]).toMatchObject({ code: Code.DeadlineExceeded });
  context.abort(CALL_COMPLETE);
  expect(reasons).toHaveLength(1);

  const late = contextOf(0);
  expect(late.aborted).toBe(true);
  expect(late.signal.reason).toMatchObject({ code: Code.DeadlineExceeded });
});

test("a removed abort listener is not called", () => {
  const context = contextOf();
  const listener = jest.fn();
  const remove = context.onAbort(listener);
  remove();
  context.abort(CALL_COMPLETE);
  expect(listener).not.toHaveBeenCalled();
});

test("interceptors and the implementation see connect's request and context, and one signal that aborts with the call", async () => {
  const seen: { interceptorSignal?: AbortSignal; implementation?: HandlerContext } = {};
  const spreading: Interceptor = (next) => async (req) => {
    seen.interceptorSignal = req.signal;
    const response = await next({ ...req, header: new Headers([...headerPairs(req.header), ["x-added", "1"]]) });
    response.header.set("x-answer", "yes");
    return response;
  };
  const [spec] = unarySpecsOf(AuthService, {
    getMyPhone: (_message: unknown, context: HandlerContext) => {
      seen.implementation = context;
      return { phone: { phone: "+41791234567" } };
    },
  }).filter((s) => s.method === getMyPhone);
  const context = contextOf(60_000);
  const output = await invokeUnary(spec!, context, create(AuthService.method.getMyPhone.input), [spreading]);
  expect(output).toEqual(create(GetMyPhoneResponseSchema, { phone: { phone: "+41791234567" } }));
  const implementation = seen.implementation!;
  expect(implementation.requestHeader.get("x-added")).toBe("1");
  expect(implementation.requestHeader.get("authorization")).toBe("Bearer x");
  expect(implementation.method).toBe(getMyPhone);
  expect(implementation.service).toBe(AuthService);
  expect(implementation.protocolName).toBe("connect");
  expect(implementation.timeoutMs()).toBeGreaterThan(50_000);
  expect(implementation.signal).toBe(seen.interceptorSignal);
  expect(context.responseHeader.get("x-answer")).toBe("yes");
  context.abort(CALL_COMPLETE);
  expect(implementation.signal.aborted).toBe(true);
});

function headerPairs(headers: Headers): [string, string][] {
  const pairs: [string, string][] = [];
  headers.forEach((value, name) => pairs.push([name, value]));
  return pairs;
}
