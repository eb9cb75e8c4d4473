# chaos-harness/runtime:local — the Python venv every harness image shares.
# The wheels were built on the host (harness.images.ensure_wheelhouse); nothing here
# reaches a network: pip only reads /tmp/wheels, which is gone before the commit.
ARG BASE_IMAGE=chaos-harness/base:local
FROM ${BASE_IMAGE}
COPY wheels/ /tmp/wheels/
RUN python3 -m venv /opt/venv \
 && /opt/venv/bin/pip install --disable-pip-version-check --no-cache-dir --no-index \
        --find-links /tmp/wheels -r /tmp/wheels/requirements.txt \
 && rm -rf /tmp/wheels
ENV PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    LANG=C.UTF-8
WORKDIR /app
