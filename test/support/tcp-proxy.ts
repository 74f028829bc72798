// A TCP proxy a fault test owns: the gateway connects to it instead of the real server, and the
// test cuts every connection at once (a failover, a network blip) or refuses new ones for a while
// (a server that is down), without touching the server other tests share.
import net from "node:net";

export interface TcpProxy {
  /** "127.0.0.1:PORT" of the proxy. */
  readonly host: string;
  readonly port: number;
  /** Connections open through the proxy right now. */
  readonly open: number;
  /** Destroys every proxied connection (both sides). New ones are accepted. */
  cut(): void;
  /** Cuts, then refuses connections (closes the listener) until accept() is called. */
  refuse(): Promise<void>;
  /** Listens again on the same port. */
  accept(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  const handle = (client: net.Socket) => {
    const upstream = net.connect(target.port, target.host);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => undefined);
    }
    client.pipe(upstream);
    upstream.pipe(client);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  };
  let server = net.createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  const cut = () => {
    for (const socket of sockets) socket.destroy();
    sockets.clear();
  };
  const stop = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return {
    host: "127.0.0.1",
    port,
    get open() {
      return Math.floor(sockets.size / 2);
    },
    cut,
    async refuse() {
      const closed = stop();
      cut();
      await closed;
    },
    async accept() {
      if (server.listening) return;
      server = net.createServer(handle);
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, "127.0.0.1", () => resolve());
      });
    },
    async close() {
      cut();
      if (server.listening) await stop();
    },
  };
}
