# zongzhi-gateway: one asyncio process; media tools from Debian.
FROM python:3.11-slim-bookworm
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ffmpeg fonts-noto-cjk \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY core core
COPY media media
COPY camera_registry camera_registry
COPY cases cases
COPY recordings recordings
COPY sessions sessions
COPY uplink uplink
COPY web web
COPY gateway gateway
COPY simulator simulator
RUN pip install --no-cache-dir .
ENV GATEWAY_DATA_DIR=/data GATEWAY_HTTP_HOST=0.0.0.0 GATEWAY_HTTP_PORT=8080
VOLUME /data
EXPOSE 8080
# Migrating on start is idempotent: a new image upgrades the schema before serving.
CMD ["python", "-m", "gateway", "serve", "--migrate"]
