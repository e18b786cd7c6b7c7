# chatlab:dev built from source, for `docker compose up` on a machine with
# internet access and no `make images` run: a Go stage compiles the static
# binary, the image itself is the same scratch image as chatlab.Dockerfile.
# The context is the repository root.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /out/chatlab ./cmd/chatlab

FROM scratch
COPY --from=build /out/chatlab /chatlab
USER 65534:65534
EXPOSE 8080 9090 7070
ENTRYPOINT ["/chatlab"]
CMD ["--help"]
