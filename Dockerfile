# The pushcert image: the static binary and the CA bundle, on nothing (FROM scratch), so that no
# registry is needed to build it. `make image` builds the binary first and puts both in the
# build context (build/image/); `docker build` alone has nothing to copy.
#
#   make image
#   docker run --rm --network host pushcert serve --demo          # 127.0.0.1:6001
#   pushcert check --target-image pushcert --app-id 1 --key k --secret s
FROM scratch
COPY pushcert /pushcert
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
USER 65534:65534
ENTRYPOINT ["/pushcert"]
CMD ["serve"]
