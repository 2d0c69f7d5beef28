import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { AttachmentHandle, BrokerAttachment, BrokerView } from "../broker/attachment.js";
import { causeText, ErrHttpListen } from "../errors/index.js";
import type { HttpAddress, HttpAddressSource } from "./types.js";

/** Where the endpoint listens, validated. */
export interface HttpEndpointSettings {
  readonly port: number;
  /** undefined: every interface (Node's default, `::` or `0.0.0.0`). */
  readonly host: string | undefined;
}

/**
 * The broker's HTTP endpoint for probes and scrapes, living as long as one `run()`:
 * `/healthz` (liveness: the broker has not failed), `/readyz` (readiness: connected and every
 * route running; 503 with what is not), `/metrics` (the `withMetrics` registry). Node's
 * `node:http`, no framework; every socket is closed when the run ends.
 */
export class HttpEndpoint implements BrokerAttachment, HttpAddressSource {
  readonly name = "http endpoint";
  readonly #settings: HttpEndpointSettings;
  #address: HttpAddress | undefined;

  constructor(settings: HttpEndpointSettings) {
    this.#settings = settings;
  }

  address(): HttpAddress | undefined {
    return this.#address;
  }

  async start(view: BrokerView): Promise<AttachmentHandle> {
    const log = view.logger.child({ component: "http" });
    const server = createServer((req, res) => {
      respond(view, req, res).catch((err: unknown) => {
        log.warn({ err, path: req.url }, "http endpoint request failed");
        if (!res.headersSent) send(res, 500, "text/plain", `internal error: ${causeText(err)}\n`);
        else res.destroy();
      });
    });
    await listen(server, this.#settings);
    server.on("error", (err) => log.error({ err }, "http endpoint error"));
    this.#address = addressOf(server);
    log.info({ url: this.#address.url }, "http endpoint listening");
    return {
      stop: async () => {
        this.#address = undefined;
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        // Keep-alive sockets (a scraper's, a probe's) would hold close() open until they idle out.
        server.closeAllConnections();
        await closed;
      },
    };
  }
}

/** Listens, or rejects with ErrHttpListen naming the port and the fix. */
function listen(server: Server, s: HttpEndpointSettings): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off("listening", onListening);
      reject(listenError(err, s));
    };
    const onListening = () => {
      server.off("error", onError);
      resolve();
    };
    server.once("error", onError);
    server.once("listening", onListening);
    server.listen(s.port, s.host);
  });
}

function listenError(err: NodeJS.ErrnoException, s: HttpEndpointSettings): Error {
  const where = `port ${s.port} on ${s.host ?? "every interface"}`;
  const fix =
    err.code === "EADDRINUSE"
      ? `is already in use: stop what listens there, or give withHttpEndpoint({ port }) a free port (0 lets the OS choose)`
      : err.code === "EACCES"
        ? "needs privileges this process lacks: use a port above 1023 in withHttpEndpoint({ port })"
        : err.code === "EADDRNOTAVAIL" || err.code === "ENOTFOUND"
          ? "is not an address of this machine: fix withHttpEndpoint({ host })"
          : `could not be listened on (${causeText(err)}): check withHttpEndpoint({ port, host })`;
  return new ErrHttpListen(`the HTTP endpoint's ${where} ${fix}`, { cause: err });
}

function addressOf(server: Server): HttpAddress {
  const a = server.address() as AddressInfo;
  const wildcard = a.address === "::" || a.address === "0.0.0.0";
  const host = wildcard ? "127.0.0.1" : a.family === "IPv6" ? `[${a.address}]` : a.address;
  return Object.freeze({ host: a.address, port: a.port, url: `http://${host}:${a.port}` });
}

const JSON_TYPE = "application/json; charset=utf-8";
const TEXT_TYPE = "text/plain; charset=utf-8";

async function respond(view: BrokerView, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.setHeader("Allow", "GET, HEAD");
    send(res, 405, TEXT_TYPE, `method ${req.method ?? "?"} not allowed: use GET\n`);
    return;
  }
  const path = (req.url ?? "/").split("?", 1)[0];
  switch (path) {
    case "/healthz": {
      const state = view.state();
      const live = state !== "failed";
      send(res, live ? 200 : 503, JSON_TYPE, json({ live, state }));
      return;
    }
    case "/readyz": {
      const h = await view.health();
      const body = { ready: h.ready, state: h.state, notReady: h.notReady };
      send(res, h.ready ? 200 : 503, JSON_TYPE, json(body));
      return;
    }
    case "/metrics": {
      const registry = view.metricsRegistry;
      if (registry === undefined) {
        send(res, 404, TEXT_TYPE, "metrics are off: add withMetrics() to the Broker's options\n");
        return;
      }
      const text = await registry.metrics();
      send(res, 200, registry.contentType, text);
      return;
    }
    default:
      send(res, 404, TEXT_TYPE, "not found: the endpoint serves /healthz, /readyz and /metrics\n");
  }
}

function json(body: unknown): string {
  return `${JSON.stringify(body)}\n`;
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, {
    "Content-Type": type,
    "Content-Length": Buffer.byteLength(body),
    "Cache-Control": "no-store",
  });
  res.end(body);
}
