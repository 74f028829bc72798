// What every step of the composition root needs: a place to register how to undo it (run in
// reverse order on close), and listening on a port.
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";

export class Closers {
  private readonly closers: Array<() => Promise<void> | void> = [];

  push(closer: () => Promise<void> | void): void {
    this.closers.push(closer);
  }

  /** Runs every closer, the last registered first. */
  async closeAll(): Promise<void> {
    for (const closer of this.closers.splice(0).reverse()) await closer();
  }
}

export function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

export const displayHost = (host: string) => (host === "0.0.0.0" || host === "::" ? "localhost" : host);
