//! One async connection to a broker's Kafka listener.

use bytes::BytesMut;
use kafka_protocol::messages::ApiKey;
use kafka_protocol::protocol::{Decodable, Encodable, Request, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::frame;
use crate::tls::{ClientTls, Stream};
use crate::{ClientError, DEFAULT_MAX_RESPONSE};

/// One connection to a broker: one request in flight at a time, correlation ids counted up.
#[derive(Debug)]
pub struct Connection {
    addr: String,
    stream: Stream,
    client_id: StrBytes,
    next_correlation: i32,
    max_response: usize,
    buf: BytesMut,
}

impl Connection {
    /// Connects to `addr` (`host:port`), naming itself `client_id` in every request.
    pub async fn connect(
        addr: &str,
        client_id: impl Into<String>,
    ) -> Result<Connection, ClientError> {
        Self::connect_with(addr, client_id, None).await
    }

    /// Like [`Connection::connect`], over TLS when `tls` is given (the handshake completes
    /// before this returns).
    pub async fn connect_with(
        addr: &str,
        client_id: impl Into<String>,
        tls: Option<&ClientTls>,
    ) -> Result<Connection, ClientError> {
        let io = |source| ClientError::Io {
            addr: addr.to_owned(),
            source,
        };
        let stream = TcpStream::connect(addr).await.map_err(io)?;
        // Requests are small and answered one at a time: Nagle would only add latency.
        let _ = stream.set_nodelay(true);
        let stream = match tls {
            None => Stream::Plain(stream),
            Some(tls) => Stream::Tls(Box::new(tls.handshake(addr, stream).await.map_err(io)?)),
        };
        Ok(Connection {
            addr: addr.to_owned(),
            stream,
            client_id: StrBytes::from_string(client_id.into()),
            next_correlation: 0,
            max_response: DEFAULT_MAX_RESPONSE,
            buf: BytesMut::with_capacity(64 * 1024),
        })
    }

    /// Refuses responses larger than `bytes` from now on.
    pub fn with_max_response(mut self, bytes: usize) -> Connection {
        self.max_response = bytes;
        self
    }

    /// The peer's address as given to [`Connection::connect`].
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Sends a typed request at `version` and waits for its response.
    pub async fn call<R: Request>(
        &mut self,
        version: i16,
        req: &R,
    ) -> Result<R::Response, ClientError> {
        let key = frame::api_key::<R>().map_err(|e| e.at(&self.addr))?;
        self.send(key, version, req).await
    }

    /// Sends `req` as `key` at `version` and waits for the response.
    pub async fn send<Req: Encodable, Resp: Decodable>(
        &mut self,
        key: ApiKey,
        version: i16,
        req: &Req,
    ) -> Result<Resp, ClientError> {
        self.next_correlation = self.next_correlation.wrapping_add(1);
        let correlation = self.next_correlation;
        let out = frame::encode(key, version, correlation, Some(self.client_id.clone()), req)
            .map_err(|e| e.at(&self.addr))?;
        self.stream.write_all(&out).await.map_err(|e| self.io(e))?;

        let mut prefix = [0u8; 4];
        self.stream
            .read_exact(&mut prefix)
            .await
            .map_err(|e| self.io(e))?;
        let len = frame::body_len(prefix, self.max_response).map_err(|e| e.at(&self.addr))?;
        self.buf.clear();
        self.buf.resize(len, 0);
        self.stream
            .read_exact(&mut self.buf)
            .await
            .map_err(|e| self.io(e))?;
        let body = self.buf.split().freeze();
        frame::decode_answer(key, version, correlation, body).map_err(|e| e.at(&self.addr))
    }

    fn io(&self, source: std::io::Error) -> ClientError {
        ClientError::Io {
            addr: self.addr.clone(),
            source,
        }
    }
}
