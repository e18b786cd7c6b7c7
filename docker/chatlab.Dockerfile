# chatlab:dev — the static chatlab binary and nothing else. Built offline
# from bin/ by `make images` (which runs `make build` first: CGO_ENABLED=0,
# so the binary needs no libc). The context is bin/, so only the binary is
# sent to the daemon.
FROM scratch
COPY chatlab /chatlab
# No root inside: nobody's uid and gid.
USER 65534:65534
EXPOSE 8080 9090 7070
ENTRYPOINT ["/chatlab"]
CMD ["--help"]
