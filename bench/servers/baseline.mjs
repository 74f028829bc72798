// The servers people would pick instead, serving the gateway's own schema SDL and the same
// 20 sessions from memory (no auth, no store): node bench/servers/baseline.mjs <kind> <port> <data.json>
// kind: apollo | yoga | jit | raw
import { readFileSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { buildSchema, parse } from "graphql";
import { HOST, ROOT } from "../lib.mjs";

const [kind, portArg, dataFile] = process.argv.slice(2);
const port = Number(portArg);
const data = JSON.parse(readFileSync(dataFile, "utf8"));
const connection = data.chargingSessions; // { nodes, pageInfo } as the gateway answered it

// The SDL the gateway publishes (schema.graphql, printed from the same type-graphql classes).
const sdl = readFileSync(path.join(ROOT, "schema.graphql"), "utf8");
function makeSchema() {
  const schema = buildSchema(sdl, { assumeValidSDL: true });
  schema.getQueryType().getFields().chargingSessions.resolve = () => connection;
  return schema;
}

const healthz = (req, res) => {
  if (req.url === "/healthz") {
    res.writeHead(200, { "content-type": "text/plain" });
    res.end("ok");
    return true;
  }
  return false;
};

async function readBody(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return Buffer.concat(chunks).toString("utf8");
}

if (kind === "apollo") {
  const { ApolloServer } = await import("@apollo/server");
  const { startStandaloneServer } = await import("@apollo/server/standalone");
  const server = new ApolloServer({ schema: makeSchema() });
  await startStandaloneServer(server, { listen: { port, host: HOST } });
} else if (kind === "yoga") {
  const { createYoga } = await import("graphql-yoga");
  const yoga = createYoga({ schema: makeSchema(), logging: false });
  http.createServer((req, res) => (healthz(req, res) ? undefined : yoga(req, res))).listen(port, HOST);
} else if (kind === "jit") {
  const { compileQuery, isCompiledQuery } = await import("graphql-jit");
  const schema = makeSchema();
  const cache = new Map();
  http
    .createServer(async (req, res) => {
      if (healthz(req, res)) return;
      const { query, variables } = JSON.parse(await readBody(req));
      let compiled = cache.get(query);
      if (!compiled) {
        compiled = compileQuery(schema, parse(query));
        if (!isCompiledQuery(compiled)) throw new Error(JSON.stringify(compiled));
        cache.set(query, compiled);
      }
      const result = await compiled.query(undefined, {}, variables ?? {});
      const out = compiled.stringify(result);
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(out) });
      res.end(out);
    })
    .listen(port, HOST);
} else if (kind === "raw") {
  const bytes = Buffer.from(JSON.stringify({ data }));
  http
    .createServer(async (req, res) => {
      if (healthz(req, res)) return;
      await readBody(req);
      res.writeHead(200, { "content-type": "application/json", "content-length": bytes.length });
      res.end(bytes);
    })
    .listen(port, HOST);
} else {
  console.error(`unknown kind ${kind}`);
  process.exit(2);
}
process.on("SIGTERM", () => process.exit(0));
