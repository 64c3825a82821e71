//! OTLP over gRPC: `opentelemetry.proto.collector.metrics.v1.MetricsService/Export` and
//! `opentelemetry.proto.collector.logs.v1.LogsService/Export`.
//!
//! tonic does the HTTP/2 framing, gRPC message framing and gzip; the message bytes go to the
//! same decoders and ingest paths as OTLP/HTTP protobuf, so no prost type crosses into this
//! crate (a pass-through codec hands tonic raw bytes both ways). One generic service serves
//! both signals; a [`Signal`] says what is served where.

use std::convert::Infallible;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, BufMut, Bytes};
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::server::{Grpc, NamedService, UnaryService};
use tonic::{Code, Request, Response, Status};
use vigil_codec::Protocol;
use vigil_model::ErrorKind;

use crate::ingest::{ingest_bytes, IngestError};
use crate::ml::{ingest_events, Api};
use crate::AppState;

/// One OTLP signal served over gRPC.
pub trait Signal: Send + Sync + 'static {
    /// The gRPC service name.
    const SERVICE: &'static str;
    /// The one method's path.
    const PATH: &'static str;
    /// Stores one export request's message bytes and answers with the response message bytes.
    fn export(state: AppState, body: Bytes) -> BoxFuture<Result<Response<Bytes>, Status>>;
}

/// OTLP metrics (see [`Signal`]).
#[derive(Debug, Clone, Copy)]
pub struct Metrics;

/// OTLP logs: the ML prediction events among the records (see [`Signal`]).
#[derive(Debug, Clone, Copy)]
pub struct Logs;

impl Signal for Metrics {
    const SERVICE: &'static str = "opentelemetry.proto.collector.metrics.v1.MetricsService";
    const PATH: &'static str = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";

    fn export(state: AppState, body: Bytes) -> BoxFuture<Result<Response<Bytes>, Status>> {
        Box::pin(async move {
            let r =
                ingest_bytes(&state, Protocol::OtlpProtobuf, body, None, None, Vec::new()).await;
            answer(r.map(|r| r.otlp_response(false)))
        })
    }
}

impl Signal for Logs {
    const SERVICE: &'static str = "opentelemetry.proto.collector.logs.v1.LogsService";
    const PATH: &'static str = "/opentelemetry.proto.collector.logs.v1.LogsService/Export";

    fn export(state: AppState, body: Bytes) -> BoxFuture<Result<Response<Bytes>, Status>> {
        Box::pin(async move {
            let r = ingest_events(&state, Api::OtlpLogs, body, None, false).await;
            answer(r.map(|o| o.otlp_response(false)))
        })
    }
}

/// The tonic service for OTLP metrics over gRPC; add it to a `tonic::transport::Server`.
pub fn otlp_grpc_service(state: AppState) -> OtlpService<Metrics> {
    OtlpService {
        state,
        signal: PhantomData,
    }
}

/// The tonic service for OTLP logs over gRPC (ML prediction events in log records).
pub fn otlp_grpc_logs_service(state: AppState) -> OtlpService<Logs> {
    OtlpService {
        state,
        signal: PhantomData,
    }
}

/// See [`otlp_grpc_service`] and [`otlp_grpc_logs_service`].
pub struct OtlpService<S> {
    state: AppState,
    signal: PhantomData<S>,
}

impl<S> Clone for OtlpService<S> {
    fn clone(&self) -> Self {
        OtlpService {
            state: self.state.clone(),
            signal: PhantomData,
        }
    }
}

impl<S: Signal> NamedService for OtlpService<S> {
    const NAME: &'static str = S::SERVICE;
}

pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

impl<S, B> tower_service::Service<http::Request<B>> for OtlpService<S>
where
    S: Signal,
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
            if req.uri().path() != S::PATH {
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
            let export: Export<S> = Export {
                state,
                signal: PhantomData,
            };
            Ok(grpc.unary(export, req).await)
        })
    }
}

struct Export<S> {
    state: AppState,
    signal: PhantomData<S>,
}

impl<S: Signal> UnaryService<Bytes> for Export<S> {
    type Response = Bytes;
    type Future = BoxFuture<Result<Response<Bytes>, Status>>;

    fn call(&mut self, request: Request<Bytes>) -> Self::Future {
        S::export(self.state.clone(), request.into_inner())
    }
}

/// A gRPC answer: the export response message, or a status for a request that could not be
/// used at all.
fn answer(r: Result<Vec<u8>, IngestError>) -> Result<Response<Bytes>, Status> {
    r.map(|bytes| Response::new(Bytes::from(bytes)))
        .map_err(|e| Status::new(code_for(e.kind), e.message))
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
