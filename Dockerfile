# A slim image of the bot: `docker build -t onion-rsv360 .` then `docker run -p 8080:8080 onion-rsv360`.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot bot
COPY channels channels
COPY intents intents
COPY actions actions
COPY prompts prompts
COPY locales locales
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    RSV_HOST=0.0.0.0 \
    RSV_PORT=8080 \
    RSV_DATA_DIR=/data
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels \
    && useradd --system --home-dir /data --create-home rsv360
USER rsv360
WORKDIR /data
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2)"
CMD ["rsv360", "serve"]
