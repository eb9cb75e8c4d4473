# chaos-harness/proxy:local — our Toxiproxy-API server (python -m harness.proxy) laid out
# like ghcr.io/shopify/toxiproxy: ENTRYPOINT /toxiproxy with Go-style flags (-host=...,
# -port=...), and /toxiproxy-cli whose `list` is the compose health check. Either image
# can be named by TOXIPROXY_IMAGE without changing a compose file.
ARG RUNTIME_IMAGE=chaos-harness/runtime:local
FROM ${RUNTIME_IMAGE}
COPY docker/proxy/toxiproxy docker/proxy/toxiproxy-cli /
COPY harness/ /app/harness/
ENV PYTHONPATH=/app LOG_LEVEL=info
WORKDIR /app
EXPOSE 8474
ENTRYPOINT ["/toxiproxy"]
CMD ["-host=0.0.0.0"]
