// On shutdown, websocket clients are told to reconnect (1012 "service restart", to another
// replica) before Apollo drains the HTTP server; apps resume as the README describes.
import type { ApolloServerPlugin, BaseContext } from "@apollo/server";
import type { WebSocketServer } from "ws";

export function websocketDrainPlugin(wsServer: WebSocketServer, dispose: () => Promise<void> | void): ApolloServerPlugin<BaseContext> {
  return {
    async serverWillStart() {
      return {
        async drainServer() {
          for (const socket of wsServer.clients) socket.close(1012, "Service restart: reconnect");
          await dispose();
        },
      };
    },
  };
}
