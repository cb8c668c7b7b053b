# hookrelay: one image for every role (api, worker, dispatcher, start).
#   docker build -t hookrelay .
#   docker run --env-file .env hookrelay api        # or worker | dispatcher | start
# docker-compose.yml runs the production shape with MongoDB and Temporal.

ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: compile TypeScript to dist/ and prebuild the workflow bundle ----
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# npm ci applies patches/ to dependencies (postinstall: patch-package).
COPY patches ./patches
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY workflows ./workflows
COPY activities ./activities
COPY scripts/build-workflow-bundle.ts ./scripts/build-workflow-bundle.ts
# Writes dist/{src,workflows,activities} and dist/workflow-bundle.js, which workers load
# instead of bundling the workflow code at start-up.
RUN npm run build

# ---- runtime: production dependencies, the compiled code, a non-root user ----
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
COPY patches ./patches
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY bin ./bin
# Without src/, bin/hookrelay.js runs dist/ (the package root is found by dist/workflows).
# In a container the API must listen on every interface; PORT is the default 3000.
# 9464: HOOKRELAY_METRICS_PORT of a worker or dispatcher run on its own (docker-compose.yml).
ENV HOST=0.0.0.0
EXPOSE 3000 9464
USER node
ENTRYPOINT ["node", "bin/hookrelay.js"]
CMD ["start"]
