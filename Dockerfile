# The Vireo controller image (`vireo controller`; any other command works too: `docker run IMAGE --help`).
#
#   docker build -t ghcr.io/vireo-dev/vireo:0.1.0 .
#
# The image name is a placeholder, as in manifests/ and charts/vireo. No container engine runs on the
# development machine, so this file is not built there; install.test.ts checks the part that can be
# checked without one: the production dependencies alone run the built CLI (docs/adr/0015).

# Build: all dependencies, TypeScript to dist/.
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would build before the sources are copied; the build runs below.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/chmod-bin.mjs scripts/
COPY src/ src/
RUN npm run build

# Runtime: production dependencies and the compiled code only (no TypeScript, test or lint tools).
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /src/dist/ dist/
COPY manifests/ manifests/
# A numeric non-root uid (distroless's "nonroot"), so the kubelet can check runAsNonRoot; the manifests
# set the same uid. The files stay root-owned: the process only reads them.
USER 65532:65532
EXPOSE 8080 8090
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["controller"]
