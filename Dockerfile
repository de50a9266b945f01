# qstash-emulator: a local, offline emulator of Upstash QStash.
#   docker build -t qstash-emulator .
#   docker run --rm -p 8080:8080 --add-host=host.docker.internal:host-gateway qstash-emulator
# Configure it only through QSTASH_EMULATOR_* variables, for example
#   docker run --rm -p 8080:8080 -e QSTASH_EMULATOR_CLOCK=virtual qstash-emulator
# or keep state in Redis (the client library is installed with the package):
#   docker run --rm -p 8080:8080 -e QSTASH_EMULATOR_STORE=redis://redis:6379/0 qstash-emulator
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin qstash

WORKDIR /src
COPY pyproject.toml README.md ./
COPY emulator/ emulator/
COPY client/ client/
COPY pytest_plugin/ pytest_plugin/
RUN pip install --no-cache-dir . && rm -rf /src

WORKDIR /home/qstash
USER qstash

# Container mode: destinations on localhost/127.0.0.1 are delivered to the host, which
# `docker run --add-host=host.docker.internal:host-gateway` names (Docker Desktop names it
# already); set QSTASH_EMULATOR_LOCALHOST_ALIAS= (empty) with --network host.
ENV QSTASH_EMULATOR_HOST=0.0.0.0 \
    QSTASH_EMULATOR_PORT=8080 \
    QSTASH_EMULATOR_CLOCK=real \
    QSTASH_EMULATOR_LOCALHOST_ALIAS=host.docker.internal

EXPOSE 8080

HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; port = os.environ.get('QSTASH_EMULATOR_PORT', '8080'); urllib.request.urlopen(f'http://127.0.0.1:{port}/__emulator__/health', timeout=2)"]

CMD ["qstash-emulator", "--host", "0.0.0.0"]
