// Calls SetMyPhone and GetMyPhone with @grpc/grpc-js and @grpc/proto-loader, straight from the .proto files.
// Usage: MYPHONE_URL=127.0.0.1:8080 MYPHONE_TOKEN=... node examples/grpc-js-set-my-phone.js +41791234567
const grpc = require("@grpc/grpc-js");
const protoLoader = require("@grpc/proto-loader");
const path = require("node:path");

const root = path.join(__dirname, "..");
const definition = protoLoader.loadSync("zitadel/auth.proto", {
  includeDirs: [path.join(root, "proto"), path.join(root, "third_party")],
  longs: String, // uint64 sequence as a string, like the JSON APIs
});
const { AuthService } = grpc.loadPackageDefinition(definition).zitadel.auth.v1;
const client = new AuthService(process.env.MYPHONE_URL ?? "127.0.0.1:8080", grpc.credentials.createInsecure());

const metadata = new grpc.Metadata();
metadata.set("authorization", `Bearer ${process.env.MYPHONE_TOKEN}`);

client.SetMyPhone({ phone: process.argv[2] ?? "+41 79 123 45 67" }, metadata, (error, response) => {
  if (error) {
    // error.details is the exact message, e.g. "Phone not changed (COMMAND-wF94r)"; error.code the gRPC code.
    console.error(JSON.stringify({ code: error.code, message: error.details }));
    process.exitCode = 1;
    return client.close();
  }
  client.GetMyPhone({}, metadata, (getError, phone) => {
    console.log(JSON.stringify({ set: response, get: phone }));
    client.close();
  });
});
