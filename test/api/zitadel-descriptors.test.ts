import {
  getOption,
  hasOption,
  type DescExtension,
  type DescField,
  type DescMessage,
  type DescMethod,
  type DescService,
} from "@bufbuild/protobuf";
import { http as zitadelHttp } from "@zitadel/proto/google/api/annotations_pb.js";
import { UserService as ZitadelUserService } from "@zitadel/proto/zitadel/user/v2/user_service_pb.js";
import { http as ourHttp } from "../../gen/google/api/annotations_pb.js";
import { UserService } from "../../gen/zitadel/user/v2/user_service_pb.js";

/**
 * Our hand-written zitadel.user.v2 protos against ZITADEL's published descriptors (npm @zitadel/proto, generated from
 * ZITADEL's proto/zitadel/user/v2/*.proto): for every method we serve, the method, its request and response messages
 * and every message they reach must have ZITADEL's names, files, field numbers, JSON names, types, oneofs and
 * google.api.http routes. The expected side is ZITADEL's package, never our own code.
 */

type HttpExtension = typeof ourHttp;

/** What a client can observe of a field on the wire (binary and JSON) and in generated code. */
function fieldShape(field: DescField) {
  return {
    name: field.name,
    number: field.number,
    jsonName: field.jsonName,
    kind: field.fieldKind,
    scalar: field.scalar,
    message: field.message?.typeName,
    enum: field.enum?.typeName,
    oneof: field.oneof?.name,
    // proto3 `optional`: presence on the wire and in JSON (a synthetic oneof, which protobuf-es hides from `oneof`).
    optional: field.proto.proto3Optional,
  };
}

function messageShape(message: DescMessage) {
  return {
    typeName: message.typeName,
    file: message.file.name,
    fields: message.fields.map(fieldShape).sort((a, b) => a.number - b.number),
    oneofs: message.oneofs.map((oneof) => ({ name: oneof.name, fields: oneof.fields.map((field) => field.name) })),
  };
}

/** Every message a method's request or response reaches, except google.protobuf's well-known types. */
function reachableMessages(method: DescMethod): DescMessage[] {
  const seen = new Map<string, DescMessage>();
  const visit = (message: DescMessage) => {
    if (seen.has(message.typeName) || message.typeName.startsWith("google.protobuf.")) return;
    seen.set(message.typeName, message);
    for (const field of message.fields) if (field.message) visit(field.message);
  };
  visit(method.input);
  visit(method.output);
  return [...seen.values()].sort((a, b) => a.typeName.localeCompare(b.typeName));
}

function routeOf(method: DescMethod, extension: HttpExtension | typeof zitadelHttp) {
  const ext = extension as unknown as DescExtension;
  if (!hasOption(method, ext)) return undefined;
  const rule = getOption(method, extension as HttpExtension);
  const binding = (r: typeof rule) => ({
    verb: r.pattern.case,
    path: r.pattern.value,
    body: r.body,
    responseBody: r.responseBody,
  });
  return { ...binding(rule), additionalBindings: rule.additionalBindings.map(binding) };
}

function methodShape(method: DescMethod, extension: HttpExtension | typeof zitadelHttp) {
  return {
    name: method.name,
    kind: method.methodKind,
    input: method.input.typeName,
    output: method.output.typeName,
    route: routeOf(method, extension),
    messages: reachableMessages(method).map(messageShape),
  };
}

function theirMethod(service: DescService, name: string): DescMethod {
  const method = service.methods.find((m) => m.name === name);
  if (!method) throw new Error(`@zitadel/proto has no ${service.typeName}/${name}`);
  return method;
}

describe("zitadel.user.v2.UserService against @zitadel/proto", () => {
  test("the service has ZITADEL's name, package and file", () => {
    expect({
      typeName: UserService.typeName,
      file: UserService.file.name,
      package: UserService.file.proto.package,
    }).toEqual({
      typeName: ZitadelUserService.typeName,
      file: ZitadelUserService.file.name,
      package: ZitadelUserService.file.proto.package,
    });
  });

  test("we serve exactly the four phone methods", () => {
    expect(UserService.methods.map((m) => m.name).sort()).toEqual([
      "RemovePhone",
      "ResendPhoneCode",
      "SetPhone",
      "VerifyPhone",
    ]);
  });

  test.each(UserService.methods.map((method) => [method.name, method] as const))(
    "%s: method, messages (names, files, numbers, JSON names, types, oneofs) and route are ZITADEL's",
    (name, method) => {
      expect(methodShape(method, ourHttp)).toEqual(methodShape(theirMethod(ZitadelUserService, name), zitadelHttp));
    },
  );

  test("the routes are the ones ZITADEL documents (a check that the comparison sees them at all)", () => {
    const routes = Object.fromEntries(UserService.methods.map((m) => [m.name, routeOf(m, ourHttp)]));
    expect(routes).toEqual({
      SetPhone: expect.objectContaining({ verb: "post", path: "/v2/users/{user_id}/phone", body: "*" }),
      RemovePhone: expect.objectContaining({ verb: "delete", path: "/v2/users/{user_id}/phone", body: "*" }),
      ResendPhoneCode: expect.objectContaining({ verb: "post", path: "/v2/users/{user_id}/phone/resend", body: "*" }),
      VerifyPhone: expect.objectContaining({ verb: "post", path: "/v2/users/{user_id}/phone/verify", body: "*" }),
    });
  });
});
