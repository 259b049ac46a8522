import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary, type DescMessage } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import http from "node:http";
import { AuthService } from "../gen/zitadel/auth_pb.js";
import { ObjectDetailsSchema } from "../gen/zitadel/object_pb.js";
import { PhoneSchema } from "../gen/zitadel/user_pb.js";
import { DualProtocolListener } from "../src/transport/dual-protocol-listener.js";
import { createRpcTransport, serviceRegistration } from "../src/transport/rpc-transport.js";

/**
 * Baseline servers for the benchmark: they answer the AuthService methods with a constant response and do no
 * work, so they show what the HTTP stack and RPC framework alone cost. Usage: node noop-servers.js KIND PORT,
 * KIND = raw-http | grpc-js | connect | myphone-adapter. Prints "listening PORT" when ready.
 */

const details = () =>
  create(ObjectDetailsSchema, { sequence: 3n, changeDate: timestampNow(), resourceOwner: "200000000000000001" });

async function main(kind: string, port: number): Promise<void> {
  if (kind === "raw-http") {
    const server = http.createServer((request, response) => {
      request.on("data", () => {});
      request.on("end", () => {
        response.writeHead(200, { "content-type": "application/json" });
        response.end('{"details":{"sequence":"3"}}');
      });
    });
    await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  } else if (kind === "grpc-js") {
    const server = new grpc.Server();
    const definition: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
    const implementation: grpc.UntypedServiceImplementation = {};
    for (const method of AuthService.methods) {
      const codec = <T extends DescMessage>(schema: T) => ({
        serialize: (value: unknown) => Buffer.from(toBinary(schema, value as never)),
        deserialize: (bytes: Buffer) => fromBinary(schema, bytes),
      });
      const input = codec(method.input);
      const output = codec(method.output);
      definition[method.name] = {
        path: `/${AuthService.typeName}/${method.name}`,
        requestStream: false,
        responseStream: false,
        requestSerialize: input.serialize,
        requestDeserialize: input.deserialize,
        responseSerialize: output.serialize,
        responseDeserialize: output.deserialize,
      };
      implementation[method.name] = ((_call: unknown, callback: grpc.sendUnaryData<unknown>) =>
        callback(
          null,
          create(
            method.output,
            method.name === "GetMyPhone"
              ? { details: details(), phone: create(PhoneSchema, { phone: "+41791234567" }) }
              : { details: details() },
          ),
        )) as grpc.handleUnaryCall<unknown, unknown>;
    }
    server.addService(definition as grpc.ServiceDefinition, implementation);
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (error) =>
        error ? reject(error) : resolve(),
      ),
    );
  } else if (kind === "connect" || kind === "myphone-adapter") {
    const noop: ServiceImpl<typeof AuthService> = {
      getMyPhone: async () => ({ details: details(), phone: { phone: "+41791234567" } }),
      setMyPhone: async () => ({ details: details() }),
      verifyMyPhone: async () => ({ details: details() }),
      resendMyPhoneVerification: async () => ({ details: details() }),
      removeMyPhone: async () => ({ details: details() }),
    };
    // connect-node's own adapter, or myphone's transport around it (src/transport/rpc-transport.ts: REST, guards).
    const handler =
      kind === "connect"
        ? connectNodeAdapter({ routes: (router) => router.service(AuthService, noop) })
        : createRpcTransport({
            services: [serviceRegistration(AuthService, noop)],
            router: {},
            fallback: (_request, response) => {
              response.writeHead(404);
              response.end();
            },
          }).handler;
    await new DualProtocolListener(handler).listen(port, "127.0.0.1");
  } else {
    throw new Error(`unknown server kind ${kind}`);
  }
  process.stdout.write(`listening ${port}\n`);
}

main(process.argv[2] ?? "", Number(process.argv[3])).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
