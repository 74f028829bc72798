// Layering rules (npm run lint). The domain (src/sessions) owns its ports; adapters depend on it,
// never the other way round. oicp/wire is the protocol's vocabulary (identifiers, codes, wire
// shapes) and depends on nothing of the gateway's.
const ADAPTERS = "^src/(oicp/(client|inbound)|datasources|evse-status|operator|store|pubsub|server|resolvers|schema|federation|simulator|app-page|app|jobs|observability|config/(config|env))";
module.exports = {
  forbidden: [
    { name: "no-circular", severity: "error", from: {}, to: { circular: true } },
    {
      name: "domain-imports-no-adapter",
      comment: "The domain (src/sessions, src/identifications) declares the ports it needs; adapters implement them (README, layout).",
      severity: "error",
      from: { path: "^src/(sessions|identifications)/" },
      to: { path: ADAPTERS },
    },
    {
      name: "oicp-wire-stands-alone",
      comment: "The protocol's vocabulary imports nothing of the gateway but the stand-alone helpers of src/lib.",
      severity: "error",
      from: { path: "^src/oicp/wire/" },
      to: { path: "^src/", pathNot: "^src/(oicp/wire|lib)/" },
    },
    {
      name: "oicp-knows-no-graphql-server",
      comment: "The OICP client and listener do not reach into the GraphQL side.",
      severity: "error",
      from: { path: "^src/oicp/" },
      to: { path: "^src/(server|resolvers|schema|federation|app)/" },
    },
    {
      name: "simulator-speaks-only-oicp",
      comment: "The simulator plays Hubject and a CPO: it may use the protocol's vocabulary, not the gateway.",
      severity: "error",
      from: { path: "^src/simulator/" },
      to: { path: "^src/", pathNot: "^src/(simulator|oicp/wire|lib|config/defaults\\.ts|logger\\.ts|observability/request-context\\.ts)" },
    },
    {
      name: "lib-stands-alone",
      comment: "src/lib holds small helpers (HTTP bodies, JSON readers) that know nothing of the gateway.",
      severity: "error",
      from: { path: "^src/lib/" },
      to: { path: "^src/", pathNot: "^src/lib/" },
    },
    {
      name: "resolvers-stay-thin",
      comment: "Resolvers call use cases; they never reach a store, a pub/sub or the Hubject client directly.",
      severity: "error",
      from: { path: "^src/resolvers/" },
      to: { path: "^src/(store|pubsub|oicp/(client|inbound))/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { extensions: [".ts", ".js"] },
    exclude: { path: "^src/client/generated/" },
  },
};
