// npm run schema:subgraph: prints this subgraph's SDL (with @link and @key) for a router or a
// schema registry, e.g. `npm run --silent schema:subgraph > emp.graphql` then
// `rover subgraph publish … --schema emp.graphql` / `hive schema:publish emp.graphql`.
import { printSubgraphSdl } from "../federation/subgraph-schema.js";
import { buildGatewaySchema } from "../schema/build-schema.js";

process.stdout.write(`${printSubgraphSdl(await buildGatewaySchema())}\n`);
