# Multi-stage build of a static Tangerine binary (PocketBase's SQLite is pure Go).
FROM golang:1.27 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /out/tangerine .

FROM alpine:3
# CA certificates for S3, Pulsar TLS, Milvus and OAuth2 providers
RUN apk add --no-cache ca-certificates
COPY --from=build /out/tangerine /app/tangerine
COPY pb_public /app/pb_public
WORKDIR /app
ENV TANGERINE_PUBLIC_DIR=/app/pb_public
VOLUME /app/pb_data
EXPOSE 8090
CMD ["/app/tangerine", "serve", "--http=0.0.0.0:8090", "--dir=/app/pb_data"]
