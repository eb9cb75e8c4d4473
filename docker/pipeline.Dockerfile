# chaos-harness/pipeline:local — the reference pipeline's services (feature server,
# model server) and its one-shot setup job (fixtures/pipeline/docker/seed.py).
# The pipeline imports nothing from harness/, so only fixtures/pipeline is copied in.
ARG RUNTIME_IMAGE=chaos-harness/runtime:local
FROM ${RUNTIME_IMAGE}
ENV PYTHONPATH=/app MODEL_DIR=/model
COPY fixtures/ /app/fixtures/
# Warm the model cache for seed 0 (the default seed): most runs then skip training.
# A named volume mounted on /model starts as a copy of this directory.
# outputs: /model
RUN python /app/fixtures/pipeline/docker/seed.py --model-only --model-dir /model --seed 0
WORKDIR /app
EXPOSE 8000
ENTRYPOINT ["tini", "-s", "--"]
CMD ["python", "-m", "uvicorn", "--app-dir", "/app/fixtures/pipeline", "model_server:app", "--host", "0.0.0.0", "--port", "8000"]
