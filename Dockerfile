# Fleetpulse: `serve`, `agent` and `simulate` from one image. Node 20 on Debian (better-sqlite3
# compiles from source; influxd is not needed: compose points at its InfluxDB service).
FROM node:20.19-bookworm-slim AS deps
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --omit=dev

FROM node:20.19-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY collector ./collector
COPY plugins ./plugins
COPY api ./api
RUN mkdir -p /app/data && chown node:node /app/data
USER node
VOLUME ["/app/data"]
EXPOSE 8080
ENTRYPOINT ["node_modules/.bin/tsx", "bin/fleetpulse.ts"]
CMD ["serve"]
