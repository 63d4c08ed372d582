# The monitor service: `monitor run` on the shipped baselines, watchlists and feeds
# (docker-compose also runs `monitor serve` from the same image).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY monitor ./monitor
COPY storage ./storage
RUN pip install .

# Runs as an unprivileged user that owns the data directory (created before VOLUME:
# changes to a volume path after its declaration would be discarded).
RUN useradd --system --uid 10001 --home-dir /app monitor \
    && mkdir -p /app/data && chown monitor /app/data
# Watchlists and feeds are read from the working directory, so people can mount their own;
# owned by the service's user so `monitor baseline add` can write there.
COPY --chown=monitor watchlists ./watchlists
USER monitor

# The database, digests and feeds live here; docker-compose mounts a named volume on it.
ENV MONITOR_DATA_DIR=/app/data
VOLUME ["/app/data"]

# SIGTERM (docker stop) lets the job in hand finish, then the service exits.
STOPSIGNAL SIGTERM
CMD ["monitor", "run"]
