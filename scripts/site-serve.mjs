// `npm run docs:serve`: serve site/ (built by `npm run docs`) on http://127.0.0.1:PORT/ (default
// 8080; `--port N`, 0 for any free port). Static files only; it never writes. The pages also open
// from the file system, except that browsers refuse ES modules from file:// URLs, so the widgets
// need this server (or any static one).
import { createReadStream, existsSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { dirname, extname, join, normalize, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const TYPES = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
  ".map": "application/json", ".json": "application/json", ".svg": "image/svg+xml", ".png": "image/png",
  ".woff2": "font/woff2", ".woff": "font/woff", ".ttf": "font/ttf",
};

/** Serve `dir` on 127.0.0.1:`port`; resolves to the server once it listens. */
export function serveSite(dir, port = 8080) {
  const root = resolve(dir);
  const server = createServer((req, res) => {
    let path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    if (path.endsWith("/")) path += "index.html";
    const file = normalize(join(root, path));
    if (!file.startsWith(root + sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { "content-type": "text/plain" }).end(`not found: ${path}\n`);
      return;
    }
    res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream", "cache-control": "no-store" });
    createReadStream(file).pipe(res);
  });
  return new Promise((done) => server.listen(port, "127.0.0.1", () => done(server)));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf("--port");
  const dir = join(ROOT, "site");
  if (!existsSync(join(dir, "index.html"))) {
    console.error("docs:serve: site/index.html is missing; run npm run docs first");
    process.exit(1);
  }
  const server = await serveSite(dir, i > 0 ? Number(process.argv[i + 1]) : 8080);
  console.log(`serving site/ on http://127.0.0.1:${server.address().port}/ (Ctrl-C stops)`);
}
