// Entry point for GraphQL Code Generator (codegen.yml): the schema exactly as the gateway builds it.
// Synchronous on purpose: codegen's loader require()s this module, and require() of ESM cannot
// wait for top-level await.
import { buildGatewaySchemaSync } from "./build-schema.js";

export const schema = buildGatewaySchemaSync();
export default schema;
