# syntax=docker/dockerfile:1
#
# flight-app, the reference application, as a container image.
#
#   docker build -t flight-app .
#   docker compose up            (compose.yaml: nginx, the app, PostgreSQL, Redis)
#
# Two stages: "build" resolves nothing (uv.lock is the only source of versions) and
# installs the workspace into /opt/venv as ordinary, non-editable wheels; "runtime"
# gets that one folder and no build tools, no uv, no source tree.
#
# The base image is pinned by exact tag AND by the digest of its multi-architecture
# index, so a rebuild gets the same bytes; update both together (the tag says what
# the digest is). Checked statically by hadolint in `nox -s containers`.

# --- build --------------------------------------------------------------------------
FROM python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d AS build

# uv, the exact version that wrote uv.lock (its lock format revision must be known to
# the uv that reads it). It is needed only here; the runtime stage never sees it.
RUN pip install --no-cache-dir --disable-pip-version-check uv==0.13.9

# Bytecode compiled at build time (the runtime filesystem may be read-only); copies,
# not hard links, out of the cache mount; never download a Python: use the image's.
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.11 \
    UV_PROJECT_ENVIRONMENT=/opt/venv

WORKDIR /src

# First the third-party dependencies alone, from the lock and the project files: this
# layer is reused until uv.lock or a pyproject.toml changes.
COPY uv.lock pyproject.toml ./
COPY packages/authkit/pyproject.toml packages/authkit/
COPY packages/authkit-flask/pyproject.toml packages/authkit-flask/
COPY examples/flight_app/pyproject.toml examples/flight_app/
# The workspace root depends on authkit-core, authkit-flask and flight-app[postgres]
# (the PostgreSQL driver); --no-dev leaves out every development tool.
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-workspace

# Then the three workspace packages, installed as wheels (not editable): /opt/venv is
# complete on its own, templates, static files, migrations and config/*.toml included.
COPY packages/authkit packages/authkit
COPY packages/authkit-flask packages/authkit-flask
COPY examples/flight_app examples/flight_app
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable

# --- runtime ------------------------------------------------------------------------
FROM python:3.11.14-slim-bookworm@sha256:65a93d69fa75478d554f4ad27c85c1e69fa184956261b4301ebaf6dbb0a3543d AS runtime

LABEL org.opencontainers.image.title="flight-app" \
      org.opencontainers.image.description="authkit's reference application, served by gunicorn" \
      org.opencontainers.image.licenses="MIT"

# A fixed, unprivileged uid/gid (numeric, so runAsNonRoot can check it) and the only
# folders the app writes: its instance folder (key ring, metrics scratch) and its logs.
RUN groupadd --system --gid 10001 flight \
    && useradd --system --uid 10001 --gid flight --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin flight \
    && install -d -o flight -g flight -m 0700 /var/lib/flight-app /var/log/flight-app

COPY --from=build /opt/venv /opt/venv

# Production settings by default; secrets never come from the image or its
# environment: mount them as files and point FLIGHT_APP_SECRETS_DIR at them
# (compose.yaml does, with /run/secrets).
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    APP_ENV=prod \
    FLIGHT_APP_HOST=0.0.0.0 \
    FLIGHT_APP_PORT=8000 \
    FLIGHT_APP_INSTANCE_PATH=/var/lib/flight-app \
    FLIGHT_APP_LOG_DIR=/var/log/flight-app

# Everything else is read-only: run with `--read-only` (compose: read_only: true) and
# a tmpfs on /tmp for gunicorn's worker heartbeat files.
VOLUME ["/var/lib/flight-app", "/var/log/flight-app"]
WORKDIR /var/lib/flight-app
USER 10001:10001
EXPOSE 8000

# SIGTERM: `flight-app serve` execs gunicorn, so gunicorn is PID 1 and gets the
# signal itself; it stops accepting and lets requests finish within its
# graceful_timeout (20 s, flight_app/gunicorn_conf.py). Give the container longer
# than that to stop (compose: stop_grace_period: 30s; docker stop -t 30).
STOPSIGNAL SIGTERM

# Ready = the database (and Redis, when configured) answer: GET /health/ready is 200.
# slim has no curl; Python's urllib raises on anything but 2xx, so the exit status is
# 1 for 503 or no answer. No proxy: the check talks to this container only.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as r; r.build_opener(r.ProxyHandler({})).open('http://127.0.0.1:' + os.environ.get('FLIGHT_APP_PORT', '8000') + '/health/ready', timeout=4)"]

ENTRYPOINT ["flight-app"]
CMD ["serve"]
