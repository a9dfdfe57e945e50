// --path for the model server: the directory's files are answered before any route (GET and HEAD), as
// llama-server's mount point does; anything else goes on to the API.
import type { FastifyInstance } from "fastify";
import { checkStaticDir, staticFile } from "../../util/static-files.js";

export function installStaticFiles(app: FastifyInstance, dir: string | undefined): void {
  if (dir === undefined) return;
  const root = checkStaticDir(dir);
  app.addHook("onRequest", async (req, reply) => {
    if (req.method !== "GET" && req.method !== "HEAD") return;
    const file = staticFile(root, req.url.split("?", 1)[0]!);
    if (file) return reply.type(file.type).send(file.body);
  });
}
