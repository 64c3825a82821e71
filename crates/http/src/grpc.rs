//! OTLP over gRPC: `opentelemetry.proto.collector.metrics.v1.MetricsService/Export`.
//!
//! tonic does the HTTP/2 framing, gRPC message framing and gzip; the message bytes go to the
//! same decoder and ingest path as OTLP/HTTP protobuf, so no prost type crosses into this crate
//! (a pass-through codec hands tonic raw bytes both ways).

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, BufMut, Bytes};
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::server::{Grpc, NamedService, UnaryService};
use tonic::{Code, Request, Response, Status};
use vigil_codec::Protocol;
use vigil_model::ErrorKind;

use crate::ingest::ingest_bytes;
use crate::AppState;

const EXPORT_PATH: &str = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";

/// The tonic service for OTLP metrics over gRPC; add it to a `tonic::transport::Server`.
pub fn otlp_grpc_service(state: AppState) -> MetricsService {
    MetricsService { state }
}

/// See [`otlp_grpc_service`].
#[derive(Clone)]
pub struct MetricsService {
    state: AppState,
}

impl NamedService for MetricsService {
    const NAME: &'static str = "opentelemetry.proto.collector.metrics.v1.MetricsService";
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

impl<B> tower_service::Service<http::Request<B>> for MetricsService
where
    B: http_body::Body + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let state = self.state.clone();
        Box::pin(async move {
            if req.uri().path() != EXPORT_PATH {
                return Ok(
                    Status::unimplemented(format!("unknown method {}", req.uri().path()))
                        .into_http(),
                );
            }
            let max =
                usize::try_from(state.limits().decode.max_decompressed_bytes).unwrap_or(usize::MAX);
            let mut grpc = Grpc::new(RawCodec)
                .accept_compressed(CompressionEncoding::Gzip)
                .send_compressed(CompressionEncoding::Gzip)
                .max_decoding_message_size(max);
            Ok(grpc.unary(Export { state }, req).await)
        })
    }
}

struct Export {
    state: AppState,
}

impl UnaryService<Bytes> for Export {
    type Response = Bytes;
    type Future = BoxFuture<Result<Response<Bytes>, Status>>;

    fn call(&mut self, request: Request<Bytes>) -> Self::Future {
        let state = self.state.clone();
        Box::pin(async move {
            let body = request.into_inner();
            match ingest_bytes(&state, Protocol::OtlpProtobuf, body, None, None, Vec::new()).await {
                Ok(r) => {
                    let msg = r.message();
                    let bytes = vigil_codec::otlp::encode_partial_success(
                        r.rejected_total(),
                        msg.as_deref(),
                        false,
                    );
                    Ok(Response::new(Bytes::from(bytes)))
                }
                Err(e) => Err(Status::new(code_for(e.kind), e.message)),
            }
        })
    }
}

fn code_for(kind: ErrorKind) -> Code {
    Code::from_i32(vigil_codec::otlp::grpc_code(kind))
}

/// Hands message bytes through unchanged; decoding happens in vigil-codec.
#[derive(Debug, Clone, Copy, Default)]
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = RawCodec;
    type Decoder = RawCodec;
    fn encoder(&mut self) -> Self::Encoder {
        RawCodec
    }
    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Bytes;
    type Error = Status;
    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Bytes;
    type Error = Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}
