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
COPY meetings meetings
COPY recordings recordings
COPY sessions sessions
COPY uplink uplink
COPY web web
COPY gateway gateway
COPY simulator simulator
RUN pip install --no-cache-dir .
ENV GATEWAY_DATA_DIR=/data GATEWAY_HTTP_HOST=0.0.0.0 GATEWAY_HTTP_PORT=8080
VOLUME /data
# Web UI/API 8080 (workers 8081+), GB/T 28181 SIP 5060 UDP+TCP, RTSP restream 8554; live
# view and talk-back use UDP ports picked per session: run with host networking on a LAN
# (docker-compose.yml) rather than publishing ports.
EXPOSE 8080 5060/udp 5060/tcp 8554
# Migrating on start is idempotent: a new image upgrades the schema before serving.
# The first administrator: `python -m gateway init …` once (see docker-compose.yml).
CMD ["python", "-m", "gateway", "serve", "--migrate"]
