# corral with llama.cpp's llama-server, in two stages. The build stage installs every dependency (npm ci also runs
# `prepare`: the threadpool shim, the TypeScript, the web UI) and compiles llama-server (CPU backend) from the
# llama.cpp source node-llama-cpp bundles, so the binary matches the library and the build needs no extra download.
# The runtime stage carries only what serving needs.
#
#   docker build -t corral .
#   docker run -p 8080:8080 -e LLAMA_API_KEY=change-me -v "$PWD/models:/data/models" corral
#
# For a GPU image, build llama-server with `--backend cuda` on a CUDA development base and run on its runtime base.

FROM node:20-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends cmake g++ gcc make git \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY . .
RUN npm ci
# the build lands in corral's cache folder; it is copied out to a fixed path for the runtime stage
ENV XDG_CACHE_HOME=/build-cache
RUN bin/corral engine build --backend cpu --quiet \
 && mkdir -p /opt/llama \
 && cp "$(find /build-cache/corral/llama-server -type f -name llama-server -perm -u+x | head -n 1)" /opt/llama/llama-server \
 && /opt/llama/llama-server --version
RUN npm prune --omit=dev && rm -rf dist/test dist/bench dist/tools

FROM node:20-bookworm-slim
# llama-server is linked statically against llama.cpp but uses the system's OpenMP runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgomp1 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /data/models /data/cache \
 && chown -R node:node /data
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/bin ./bin
COPY --from=build /app/dist ./dist
COPY --from=build /app/native/build ./native/build
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /opt/llama/llama-server /opt/llama/llama-server
# LLAMA_SERVER_BIN: the engine binary; XDG_CACHE_HOME: corral's cache and the Hugging Face cache, under /data
ENV LLAMA_SERVER_BIN=/opt/llama/llama-server \
    CORRAL_ENGINE=llama-server \
    XDG_CACHE_HOME=/data/cache \
    NODE_ENV=production
USER node
EXPOSE 8080
VOLUME ["/data"]
ENTRYPOINT ["bin/corral"]
# listening on every address needs an API key (LLAMA_API_KEY or --api-key-file) or --allow-public
CMD ["--host", "0.0.0.0", "--port", "8080", "--models-dir", "/data/models"]
