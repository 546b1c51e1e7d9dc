# Production image: gunicorn for the web, the same image for Celery worker and beat.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY requirements.txt .
RUN pip install -r requirements.txt

# The build context leaves out development tools, tests and benchmarks (.dockerignore).
COPY . .
# Settings load without DATABASE_URL / REDIS_URL (the web app and the worker refuse to start without them);
# SECRET_KEY is checked on settings load, so the build step gives one it never uses.
RUN DEBUG=0 SECRET_KEY=build-only python manage.py collectstatic --noinput

RUN useradd --system --uid 1000 portal && mkdir -p /app/var /app/media && chown -R portal /app/var /app/media
USER portal
EXPOSE 8000
CMD ["gunicorn", "-c", "portal/gunicorn_conf.py", "portal.wsgi:application"]
