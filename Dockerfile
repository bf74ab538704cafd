# The compiled parts of ingestion (setup.py), built where a C compiler is, copied below.
FROM python:3.11-slim-bookworm AS compiled
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY setup.py .
COPY monitoring/_cingest.c monitoring/
RUN pip install --no-cache-dir setuptools==80.9.0 && python setup.py --quiet build_ext --inplace

# One image for web, worker and beat (docker-compose.yml picks the command).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 1000 dashbird
WORKDIR /app

COPY requirements.txt .
RUN pip install -r requirements.txt

COPY --chown=dashbird:dashbird . .
COPY --from=compiled /src/monitoring/*.so monitoring/
# collectstatic needs settings to load, not real services or secrets.
RUN SECRET_KEY=build-only DATABASE_URL=postgres://build@localhost/build \
    python manage.py collectstatic --noinput -v 0 \
 && mkdir -p var && chown -R dashbird:dashbird var

USER dashbird
EXPOSE 8000
CMD ["gunicorn", "dashbird_clone.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "4", "--access-logfile", "-"]
