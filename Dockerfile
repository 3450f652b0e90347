# Coulisse as a container: `docker build -t coulisse .`, then see compose.yaml and docs/DEPLOY.md.
# The same steps as the README's, without the development tools: install the package into a
# virtual environment, then `coulisse db upgrade` (the compose file's one-shot service) and
# `coulisse serve`. Base images are pinned to an exact version; pin the digest as well in your
# registry (docker buildx imagetools inspect python:3.11.11-slim-bookworm) and let your
# dependency bot move both.

ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

# --- build: the package and its dependencies, at the versions of deploy/requirements.lock -----
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
RUN python -m venv /opt/coulisse
COPY deploy/requirements.lock ./
RUN /opt/coulisse/bin/pip install --no-deps -r requirements.lock
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY prompts ./prompts
COPY storage ./storage
RUN /opt/coulisse/bin/pip install --no-deps . \
    && /opt/coulisse/bin/pip check

# --- run: what `coulisse serve` needs, as a user without rights -------------------------------
FROM ${PYTHON_IMAGE} AS run
# Graphviz draws the causal maps; fonts and text shaping for the PDF and the pictures: the
# Makefile's runtime Debian packages (the others there are for the tests only). Not pinned to a version:
# the base image fixes the Debian release, and its security updates should come in.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        graphviz libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 coulisse \
    && useradd --system --uid 10001 --gid coulisse --home-dir /app --shell /usr/sbin/nologin coulisse
COPY --from=build /opt/coulisse /opt/coulisse
WORKDIR /app
ENV PATH=/opt/coulisse/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    COULISSE_LOG_FORMAT=json
USER 10001:10001
EXPOSE 3000
# Ready means: the database answers and is at this code's migrations (bot/health.py).
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request as u; sys.exit(u.urlopen('http://127.0.0.1:3000/readyz', timeout=2).status != 200)"]
ENTRYPOINT ["coulisse"]
CMD ["serve", "--host", "0.0.0.0", "--port", "3000"]
