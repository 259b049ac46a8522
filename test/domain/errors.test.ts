import { DomainError, Errors, type ErrorDefinition, type ErrorKind } from "../../src/domain/errors.js";

const KINDS: readonly ErrorKind[] = [
  "InvalidArgument",
  "FailedPrecondition",
  "NotFound",
  "PermissionDenied",
  "Unauthenticated",
  "ResourceExhausted",
  "Unavailable",
  "Internal",
];

const entries = Object.entries(Errors) as [string, ErrorDefinition][];

describe("Errors", () => {
  it("has entries", () => {
    expect(entries.length).toBeGreaterThanOrEqual(26);
  });

  it.each(entries)("%s has an id, a known kind and a message", (name, definition) => {
    // ZITADEL's one refusal without an id (a missing authorization header) has none here either.
    if (name === "authHeaderMissing") expect(definition.id).toBe("");
    else expect(definition.id).toMatch(/^[A-Z]+-[A-Za-z0-9]+$/);
    expect(KINDS).toContain(definition.kind);
    expect(typeof definition.message).toBe("string");
    expect(definition.message.trim()).toBe(definition.message);
    expect(definition.message.length).toBeGreaterThan(0);
    expect(Object.isFrozen(definition)).toBe(true);
  });

  it.each(entries)("%s survives grpc-js's decodeURI(encodeURIComponent(...)) exactly", (_name, { id, message }) => {
    const wire = `${message} (${id})`;
    expect(decodeURI(encodeURIComponent(wire))).toBe(wire);
  });

  it("the check above would catch a character decodeURI leaves encoded", () => {
    const bad = "Phone is invalid: too short (X-1)";
    expect(decodeURI(encodeURIComponent(bad))).not.toBe(bad);
  });

  it("ids shared by several errors keep one kind, except COMMAND-Rsj8c and COMMAND-ieJ2e (as in ZITADEL)", () => {
    const kindsById = new Map<string, Set<ErrorKind>>();
    for (const [, { id, kind }] of entries) {
      kindsById.set(id, (kindsById.get(id) ?? new Set()).add(kind));
    }
    const mixed = [...kindsById].filter(([, kinds]) => kinds.size > 1).map(([id]) => id);
    expect(mixed.sort()).toEqual(["COMMAND-Rsj8c", "COMMAND-ieJ2e"]);
    expect(kindsById.get("AUTH-7fs1e")).toEqual(new Set(["Unauthenticated"]));
  });

  it("COMMAND-Rsj8c is FailedPrecondition for a missing user and NotFound for a missing code", () => {
    expect(Errors.userNotFoundOnVerify).toEqual({
      id: "COMMAND-Rsj8c",
      kind: "FailedPrecondition",
      message: "User could not be found",
    });
    expect(Errors.codeNotFound).toEqual({ id: "COMMAND-Rsj8c", kind: "NotFound", message: "Code not found" });
  });

  it.each<[keyof typeof Errors, string, ErrorKind, string]>([
    ["phoneInvalid", "PHONE-so0wa", "InvalidArgument", "Phone is invalid"],
    ["userNotFoundOnSet", "COMMAND-3M0fs", "FailedPrecondition", "User could not be found"],
    ["phoneNotChanged", "COMMAND-wF94r", "FailedPrecondition", "Phone not changed"],
    ["codeInvalid", "COMMAND-sM0cs", "InvalidArgument", "Code is invalid"],
    ["userNotFoundOnResend", "COMMAND-2M0fs", "FailedPrecondition", "User could not be found"],
    ["phoneNotFoundOnResend", "COMMAND-2b7Hf", "NotFound", "Phone not found"],
    ["phoneAlreadyVerified", "COMMAND-2M9sf", "FailedPrecondition", "Phone already verified"],
    ["userNotFoundOnRemove", "COMMAND-3M9fs", "FailedPrecondition", "User could not be found"],
    ["phoneNotFoundOnRemove", "COMMAND-p6rsc", "NotFound", "Phone not found"],
    ["userNotFoundOnGet", "QUERY-DAvb3", "NotFound", "User could not be found"],
    ["userNotHuman", "QUERY-hliQl", "FailedPrecondition", "The User must be personal"],
    ["orgNotFound", "AUTH-Bs7Ds", "PermissionDenied", "Organisation doesn't exist"],
    // internal/api/grpc/server/middleware/auth_interceptor.go and internal/api/authz/context.go at a97999e5.
    ["authHeaderMissing", "", "Unauthenticated", "auth header missing"],
    ["authHeaderInvalid", "AUTH-toLo1", "Unauthenticated", "invalid auth header"],
    // ZITADEL sends the untranslated key Errors.Token.Invalid here; its en.yaml text is this.
    ["tokenInvalid", "AUTH-7fs1e", "Unauthenticated", "Token is invalid"],
    // v2 (internal/command/user_v2_phone.go:192,217,225,111,272; internal/api/authz/permissions.go:46,60)
    ["v2UserNotFound", "COMMAND-ieJ2e", "NotFound", "Phone not found"],
    ["v2PhoneNotChanged", "COMMAND-Uch5e", "FailedPrecondition", "Phone not changed"],
    ["v2PhoneNotFound", "COMMAND-ieJ2e", "FailedPrecondition", "Phone not found"],
    ["v2CodeEmpty", "PHONE-5xrra88eq8", "FailedPrecondition", "Code is empty"],
    ["v2CodeInvalid", "COMMAND-eis9R", "InvalidArgument", "Code is invalid"],
    ["membershipNotFound", "AUTHZ-cdgFk", "NotFound", "membership not found"],
    ["permissionDenied", "AUTH-AWfge", "PermissionDenied", "No matching permissions found"],
  ])("%s is ZITADEL's %s", (name, id, kind, message) => {
    expect(Errors[name]).toEqual({ id, kind, message });
  });
});

describe("DomainError", () => {
  it("carries id, kind and message of its definition", () => {
    const error = new DomainError(Errors.phoneNotChanged);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe("DomainError");
    expect({ id: error.id, kind: error.kind, message: error.message }).toEqual({
      id: "COMMAND-wF94r",
      kind: "FailedPrecondition",
      message: "Phone not changed",
    });
    expect(error.retryAfterSeconds).toBeUndefined();
  });

  it("takes an overriding message and a retry delay", () => {
    const error = new DomainError(Errors.internal, { message: "custom", retryAfterSeconds: 30 });
    expect({ id: error.id, message: error.message, retry: error.retryAfterSeconds }).toEqual({
      id: "MYPHONE-Inter",
      message: "custom",
      retry: 30,
    });
  });
});
