# Production image of the Cohort360 backend. docker-compose.yml runs it as web (uvicorn), worker, beat and init.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
# Dependencies first: this layer is rebuilt only when requirements.txt changes.
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
# var/ keeps beat's schedule; static_root/ receives collectstatic (a volume shared with the proxy).
RUN useradd --create-home --uid 1000 cohort \
    && mkdir -p var static_root \
    && chown cohort:cohort var static_root
USER cohort

EXPOSE 8000
CMD ["python", "-m", "admin_cohort.web_server", "--host", "0.0.0.0", "--port", "8000"]
