# Orchestra: one image for the web server (uvicorn), the Celery worker and beat,
# and the one-shot `migrate --seed` (see docker-compose.yml).

# --- build stage: dependencies into a virtualenv that the runtime stage copies ------
FROM python:3.11-slim AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/venv/bin:$PATH

WORKDIR /build
# psycopg[binary] and every other pin ship wheels: no compiler, no apt.
COPY requirements.txt .
RUN python -m venv /opt/venv \
    && pip install --no-cache-dir -r requirements.txt

# --- runtime stage -------------------------------------------------------------------
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    DJANGO_SETTINGS_MODULE=orchestra.settings \
    ORCHESTRA_VAR_DIR=/app/var

# A fixed uid/gid so volumes mounted on var/ can be given to it from the host.
RUN groupadd --system --gid 10001 orchestra \
    && useradd --system --uid 10001 --gid orchestra --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin orchestra

COPY --from=build /opt/venv /opt/venv

WORKDIR /app
# The code stays owned by root (read-only for the app user); see .dockerignore.
COPY . .

# Settings are imported for collectstatic. The dummy values exist for this RUN only:
# SECRET_KEY so that no per-checkout key gets generated into var/ and baked into
# the image, DATABASE_URL so that nothing points at the embedded server. Nothing
# connects to a database here. var/ is the only directory the app user writes.
RUN SECRET_KEY=collectstatic-build-only \
    DATABASE_URL=postgres://build:build@localhost:5432/build \
    python manage.py collectstatic --noinput \
    && mkdir -p /app/var \
    && chown orchestra:orchestra /app/var

# Numeric, so that Kubernetes' runAsNonRoot can verify it (hadolint DL3066).
USER 10001:10001

EXPOSE 8000

# /healthz only says the process answers (it checks no database). 127.0.0.1 is
# always an allowed host, whatever APP_URL is.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

# The web server alone (compose runs the worker and beat as their own services).
# Behind a reverse proxy, set FORWARDED_ALLOW_IPS to the proxy's address (default: none).
CMD ["python", "manage.py", "serve", "--host", "0.0.0.0", "--port", "8000", "--no-worker"]
