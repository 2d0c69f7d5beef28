import {
  type AddressInfo,
  createConnection,
  createServer,
  type Server,
  type Socket,
} from "node:net";
import { ErrInvalidOption, invalidValueMessage } from "../errors/index.js";

/** Where a {@link TcpProxy} forwards to: a host and port, or a URL such as `nats://127.0.0.1:4222`. */
export type TcpProxyTarget = { readonly host: string; readonly port: number } | string;

/** A loopback TCP proxy for tests, able to make its open flows go silent. */
export interface TcpProxy {
  /** `nats://127.0.0.1:<port>`: dial this instead of the target. */
  readonly url: string;
  /** The loopback port the proxy listens on. */
  readonly port: number;
  /**
   * Every flow open now stops forwarding, both ways, without closing either socket: like a NAT
   * entry or a firewall dropping the flow, neither end sees an error or a FIN. Bytes sent
   * after this sit unread in the kernel buffers. Flows accepted later forward normally.
   */
  blackhole(): void;
  /** Blackholed flows forward again, starting with what queued while they were silent. */
  resume(): void;
  /** Closes the listener and destroys every socket, blackholed or not. Idempotent. */
  close(): Promise<void>;
}

/** One accepted client socket and its socket to the target. */
interface Flow {
  readonly client: Socket;
  readonly upstream: Socket;
  silent: boolean;
}

/**
 * Starts a TCP proxy on `127.0.0.1` (a free port) that forwards each accepted connection to
 * `target` over a connection of its own. Throws ErrInvalidOption for a target without a host
 * and port.
 * @example
 * const proxy = await startTcpProxy(server.url);
 * const conn = await connect(withServers(proxy.url));
 * proxy.blackhole(); // conn's socket stays open but nothing reaches either side
 * await proxy.close();
 */
export async function startTcpProxy(target: TcpProxyTarget): Promise<TcpProxy> {
  const { host, port: targetPort } = parseTarget(target);
  const flows = new Set<Flow>();
  const server = createServer((client) => {
    const upstream = createConnection(targetPort, host);
    const flow: Flow = { client, upstream, silent: false };
    flows.add(flow);
    forward(flow);
    const end = (): void => {
      // A silent flow carries no FIN either: its sockets live until close().
      if (flow.silent) return;
      flows.delete(flow);
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) {
      socket.on("error", end);
      socket.on("close", end);
    }
  });
  await listen(server);
  // a server listening on a TCP port always has an AddressInfo
  const address = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    url: `nats://127.0.0.1:${address.port}`,
    port: address.port,
    blackhole() {
      for (const flow of flows) silence(flow);
    },
    resume() {
      for (const flow of flows) {
        if (!flow.silent) continue;
        flow.silent = false;
        forward(flow);
        if (flow.client.destroyed || flow.upstream.destroyed) {
          flows.delete(flow);
          flow.client.destroy();
          flow.upstream.destroy();
        }
      }
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const flow of flows) {
          flow.client.destroy();
          flow.upstream.destroy();
        }
        flows.clear();
      });
      return closing;
    },
  };
}

function forward(flow: Flow): void {
  flow.client.pipe(flow.upstream);
  flow.upstream.pipe(flow.client);
}

function silence(flow: Flow): void {
  flow.silent = true;
  flow.client.unpipe(flow.upstream);
  flow.upstream.unpipe(flow.client);
  // stop reading: the peers' writes fill kernel buffers, as on a flow whose packets are dropped
  flow.client.pause();
  flow.upstream.pause();
}

function listen(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
}

function parseTarget(target: unknown): { host: string; port: number } {
  const expected = 'a URL such as "nats://127.0.0.1:4222" or { host, port }';
  let host: unknown;
  let port: unknown;
  if (typeof target === "string") {
    try {
      const url = new URL(target.includes("://") ? target : `nats://${target}`);
      host = url.hostname;
      port = Number(url.port);
    } catch (cause) {
      throw new ErrInvalidOption(invalidValueMessage("startTcpProxy", target, expected), {
        cause,
      });
    }
  } else if (typeof target === "object" && target !== null) {
    ({ host, port } = target as { host?: unknown; port?: unknown });
  }
  const validPort = Number.isInteger(port) && (port as number) > 0 && (port as number) < 65536;
  if (typeof host !== "string" || host.length === 0 || typeof port !== "number" || !validPort) {
    throw new ErrInvalidOption(invalidValueMessage("startTcpProxy", target, expected));
  }
  return { host: host.replace(/^\[(.*)\]$/, "$1"), port };
}
