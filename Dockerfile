# A slim image: migrations on start, then daphne. Configure it with the environment variables
# in README "Settings"; DJANGO_SECRET_KEY and CHATAPP_ENCRYPTION_KEYS are required.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PORT=8000
WORKDIR /app

COPY pyproject.toml README.md ./
COPY chatapp ./chatapp
RUN pip install . && useradd --system --home /app chatapp

COPY manage.py ./
COPY templates ./templates
COPY static ./static
# collectstatic needs settings, not secrets: throwaway values for the build step only.
RUN DJANGO_SECRET_KEY=build CHATAPP_ENCRYPTION_KEYS=$(python -c "import base64;print(base64.urlsafe_b64encode(b'0'*32).decode())") \
    python manage.py collectstatic --noinput --verbosity 0 && chown -R chatapp /app

USER chatapp
EXPOSE 8000
CMD ["sh", "-c", "python manage.py migrate --noinput && exec daphne -b 0.0.0.0 -p ${PORT} --proxy-headers chatapp.asgi:application"]
