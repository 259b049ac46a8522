import {
  create,
  fromBinary,
  toBinary,
  type MessageInitShape,
  type DescEnum,
  type DescExtension,
  type DescFile,
  type DescMessage,
  type DescService,
} from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { Code, type ServiceImpl, type ServiceImplSpec } from "@connectrpc/connect";
import {
  ServerReflection,
  ServerReflectionRequestSchema,
  ServerReflectionResponseSchema,
  type ServerReflectionRequest,
  type ServerReflectionResponse,
} from "../../gen/grpc/reflection/v1/reflection_pb.js";
import * as v1alpha from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { serviceRegistration } from "../transport/rpc-transport.js";

/**
 * The files of the served services and their imports, by name, symbol and extended type; built from the
 * descriptors embedded in gen/, so it always matches what the server decodes.
 */
export class DescriptorIndex {
  readonly serviceNames: readonly string[];
  private readonly files = new Map<string, DescFile>();
  private readonly symbols = new Map<string, DescFile>();
  private readonly extensions = new Map<string, Map<number, DescFile>>();

  constructor(services: readonly DescService[]) {
    this.serviceNames = services.map((service) => service.typeName);
    for (const service of services) this.addFile(service.file);
  }

  /** The file called `name` (e.g. "zitadel/auth.proto"). */
  fileByName(name: string): DescFile | undefined {
    return this.files.get(name);
  }

  /** The file declaring a fully-qualified symbol, e.g. "zitadel.auth.v1.AuthService.SetMyPhone". */
  fileContainingSymbol(symbol: string): DescFile | undefined {
    return this.symbols.get(symbol.replace(/^\./, ""));
  }

  /** The file declaring extension `number` of message type `extendee`. */
  fileContainingExtension(extendee: string, number: number): DescFile | undefined {
    return this.extensions.get(extendee.replace(/^\./, ""))?.get(number);
  }

  /** Field numbers of the known extensions of `extendee`, or undefined when the type is unknown. */
  extensionNumbersOf(extendee: string): number[] | undefined {
    const name = extendee.replace(/^\./, "");
    if (!this.symbols.has(name)) return undefined;
    return [...(this.extensions.get(name)?.keys() ?? [])].sort((a, b) => a - b);
  }

  /** `file` first, then its transitive imports, leaving out files in `alreadySent` (and adding the rest to it). */
  withDependencies(file: DescFile, alreadySent: Set<string>): DescFile[] {
    const out: DescFile[] = [];
    const visit = (f: DescFile) => {
      const name = f.proto.name;
      if (alreadySent.has(name)) return;
      alreadySent.add(name);
      out.push(f);
      f.dependencies.forEach(visit);
    };
    visit(file);
    return out;
  }

  private addFile(file: DescFile): void {
    if (this.files.has(file.proto.name)) return;
    this.files.set(file.proto.name, file);
    file.dependencies.forEach((dependency) => this.addFile(dependency));
    file.messages.forEach((message) => this.addMessage(message));
    file.enums.forEach((e) => this.addSymbol(e, file));
    file.extensions.forEach((extension) => this.addExtension(extension));
    for (const service of file.services) {
      this.addSymbol(service, file);
      for (const method of service.methods) this.symbols.set(`${service.typeName}.${method.name}`, file);
    }
  }

  private addMessage(message: DescMessage): void {
    this.addSymbol(message, message.file);
    message.nestedMessages.forEach((nested) => this.addMessage(nested));
    message.nestedEnums.forEach((e) => this.addSymbol(e, message.file));
    message.nestedExtensions.forEach((extension) => this.addExtension(extension));
  }

  private addExtension(extension: DescExtension): void {
    this.addSymbol(extension, extension.file);
    const byNumber = this.extensions.get(extension.extendee.typeName) ?? new Map<number, DescFile>();
    byNumber.set(extension.number, extension.file);
    this.extensions.set(extension.extendee.typeName, byNumber);
  }

  private addSymbol(desc: DescMessage | DescEnum | DescService | DescExtension, file: DescFile): void {
    this.symbols.set(desc.typeName, file);
  }
}

/** Answers one reflection question; `sent` holds the file names this stream has already delivered. */
export function answerReflectionRequest(
  index: DescriptorIndex,
  request: ServerReflectionRequest,
  sent: Set<string>,
): ServerReflectionResponse {
  const answer = (messageResponse: MessageInitShape<typeof ServerReflectionResponseSchema>["messageResponse"]) =>
    create(ServerReflectionResponseSchema, { validHost: request.host, originalRequest: request, messageResponse });
  const notFound = (what: string) =>
    answer({ case: "errorResponse", value: { errorCode: Code.NotFound, errorMessage: `${what} not found` } });
  const files = (file: DescFile | undefined, what: string) =>
    file
      ? answer({
          case: "fileDescriptorResponse",
          value: {
            fileDescriptorProto: index
              .withDependencies(file, sent)
              .map((f) => toBinary(FileDescriptorProtoSchema, f.proto)),
          },
        })
      : notFound(what);

  const { case: kind, value } = request.messageRequest;
  switch (kind) {
    case "listServices":
      return answer({ case: "listServicesResponse", value: { service: index.serviceNames.map((name) => ({ name })) } });
    case "fileByFilename":
      return files(index.fileByName(value), `file ${value}`);
    case "fileContainingSymbol":
      return files(index.fileContainingSymbol(value), `symbol ${value}`);
    case "fileContainingExtension":
      return files(
        index.fileContainingExtension(value.containingType, value.extensionNumber),
        `extension ${value.extensionNumber} of ${value.containingType}`,
      );
    case "allExtensionNumbersOfType": {
      const numbers = index.extensionNumbersOf(value);
      if (numbers === undefined) return notFound(`type ${value}`);
      return answer({
        case: "allExtensionNumbersResponse",
        value: { baseTypeName: value.replace(/^\./, ""), extensionNumber: numbers },
      });
    }
    case undefined:
      return answer({
        case: "errorResponse",
        value: { errorCode: Code.InvalidArgument, errorMessage: "empty reflection request" },
      });
  }
}

/** grpc.reflection.v1.ServerReflection over `index`. */
export function createReflectionService(index: DescriptorIndex): ServiceImpl<typeof ServerReflection> {
  return {
    async *serverReflectionInfo(requests) {
      const sent = new Set<string>();
      for await (const request of requests) yield answerReflectionRequest(index, request, sent);
    },
  };
}

/** grpc.reflection.v1alpha.ServerReflection: v1's messages on the wire, so each is converted through its bytes. */
export function createV1alphaReflectionService(index: DescriptorIndex): ServiceImpl<typeof v1alpha.ServerReflection> {
  return {
    async *serverReflectionInfo(requests) {
      const sent = new Set<string>();
      for await (const request of requests) {
        const v1Request = fromBinary(
          ServerReflectionRequestSchema,
          toBinary(v1alpha.ServerReflectionRequestSchema, request),
        );
        const v1Response = answerReflectionRequest(index, v1Request, sent);
        yield fromBinary(v1alpha.ServerReflectionResponseSchema, toBinary(ServerReflectionResponseSchema, v1Response));
      }
    },
  };
}

/** Reflection v1 and v1alpha, describing `services` plus the reflection services themselves. */
export function reflectionServices(services: readonly DescService[]): ServiceImplSpec[] {
  const index = new DescriptorIndex([...services, ServerReflection, v1alpha.ServerReflection]);
  return [
    serviceRegistration(ServerReflection, createReflectionService(index)),
    serviceRegistration(v1alpha.ServerReflection, createV1alphaReflectionService(index)),
  ];
}
