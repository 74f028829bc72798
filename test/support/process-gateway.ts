// A gateway in its own Node process (the built dist/), for tests that kill it mid-flight.
import { type ChildProcess, spawn } from "node:child_process";
import { dirname, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

export interface ProcessGateway {
  graphqlUrl: string;
  oicpUrl: string;
  child: ChildProcess;
  /** SIGKILL: no drain, no goodbye, like a crashed machine. */
  kill(): Promise<void>;
  /** SIGTERM: graceful shutdown; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Starts `node dist/src/main.js` (build first) and resolves once it logs "gateway ready". */
export async function spawnGateway(env: Record<string, string>): Promise<ProcessGateway> {
  const child = spawn(process.execPath, [resolve(root, "dist/src/main.js")], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? "",
      NODE_ENV: "test",
      LOG_LEVEL: "info",
      HOST: "127.0.0.1",
      OICP_HOST: "127.0.0.1",
      PORT: "0",
      OICP_PORT: "0",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<number | null>((resolveExit) => child.once("exit", (code) => resolveExit(code)));
  let stderr = "";
  child.stderr!.on("data", (chunk) => (stderr += String(chunk)));
  const ready = await new Promise<{ graphql: string; oicp: string }>((resolveReady, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL"); // never leave a half-started gateway behind
      reject(new Error(`gateway process did not start in 20 s\n${stderr}`));
    }, 20_000);
    child.once("exit", (code) => reject(new Error(`gateway process exited with ${code}\n${stderr}`)));
    createInterface({ input: child.stdout! }).on("line", (line) => {
      try {
        const entry = JSON.parse(line) as { graphql?: string; oicp?: string; msg?: string };
        if (entry.msg?.startsWith("gateway ready") && entry.graphql && entry.oicp) {
          clearTimeout(timer);
          resolveReady({ graphql: entry.graphql, oicp: entry.oicp });
        }
      } catch {
        // not a log line
      }
    });
  });
  return {
    graphqlUrl: ready.graphql,
    oicpUrl: ready.oicp,
    child,
    async kill() {
      child.kill("SIGKILL");
      await exited;
    },
    async stop() {
      child.kill("SIGTERM");
      return exited;
    },
  };
}
