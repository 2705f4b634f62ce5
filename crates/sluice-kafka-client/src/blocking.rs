//! The same client over `std::net`, for tests and tools that have no async runtime. Besides
//! whole calls it exposes frames, so a test can send what no well-behaved client would.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::protocol::{Request, StrBytes};

use crate::frame;
use crate::{ClientError, DEFAULT_MAX_RESPONSE};

/// One blocking connection to a broker.
#[derive(Debug)]
pub struct Connection {
    addr: SocketAddr,
    stream: TcpStream,
    client_id: StrBytes,
    next_correlation: i32,
}

impl Connection {
    /// Connects to `addr`; reads give up after `read_timeout`.
    pub fn connect(
        addr: SocketAddr,
        client_id: impl Into<String>,
        read_timeout: Duration,
    ) -> Result<Connection, ClientError> {
        let io = |source| ClientError::Io {
            addr: addr.to_string(),
            source,
        };
        let stream = TcpStream::connect(addr).map_err(io)?;
        stream.set_read_timeout(Some(read_timeout)).map_err(io)?;
        let _ = stream.set_nodelay(true);
        Ok(Connection {
            addr,
            stream,
            client_id: StrBytes::from_string(client_id.into()),
            next_correlation: 0,
        })
    }

    /// The socket, for writing or reading raw bytes.
    pub fn stream(&mut self) -> &mut TcpStream {
        &mut self.stream
    }

    /// Sends a typed request at `version` and waits for its response.
    pub fn call<R: Request>(&mut self, version: i16, req: &R) -> Result<R::Response, ClientError> {
        let key = frame::api_key::<R>().map_err(|e| e.at(&self.addr.to_string()))?;
        self.next_correlation = self.next_correlation.wrapping_add(1);
        let correlation = self.next_correlation;
        let out = frame::encode(key, version, correlation, Some(self.client_id.clone()), req)
            .map_err(|e| e.at(&self.addr.to_string()))?;
        self.stream.write_all(&out).map_err(|e| self.io(e))?;
        let body = read_frame(&mut self.stream, DEFAULT_MAX_RESPONSE)
            .map_err(|e| self.io(e))?
            .ok_or_else(|| {
                self.io(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "connection closed",
                ))
            })?;
        frame::decode_answer(key, version, correlation, body)
            .map_err(|e| e.at(&self.addr.to_string()))
    }

    fn io(&self, source: std::io::Error) -> ClientError {
        ClientError::Io {
            addr: self.addr.to_string(),
            source,
        }
    }
}

/// Reads one frame's body from `r`: `None` when the peer closed the connection before a new
/// frame began.
pub fn read_frame(r: &mut impl Read, max: usize) -> std::io::Result<Option<Bytes>> {
    let mut prefix = [0u8; 4];
    match r.read_exact(&mut prefix) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = frame::body_len(prefix, max)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?;
    let mut body = vec![0u8; len];
    r.read_exact(&mut body)?;
    Ok(Some(Bytes::from(body)))
}
