//! One client connection: its [`Session`], the TLS handshake on SSL listeners, the limits on
//! how many connections there are (per broker and per client IP), and the request loop with
//! its idle and write timeouts.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use kafka_protocol::messages::ApiKey;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

use crate::api::{api_versions, dispatch, DispatchError};
use crate::broker::Broker;
use crate::codec::{decode_header, encode_response, Decoded, RawRequest};
use crate::config::{ConnectionLimits, ListenerConfig, SecurityProtocol};
use crate::frame::parse_frame;
use crate::sasl::{SaslConnection, Step};
use crate::tls::{ListenerTls, TlsClientIdentity};

/// Responses are written once this much is buffered even if more pipelined requests wait.
const WRITE_THRESHOLD: usize = 1 << 20;
/// Longest a TLS handshake may take (a client that connects and says nothing is closed).
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Who is on the other end of a connection, as request handlers (and later ACL checks) see it.
#[derive(Debug, Clone)]
pub struct Session {
    /// Name of the listener the client connected to (upper case).
    pub listener: String,
    /// That listener's security protocol.
    pub security_protocol: SecurityProtocol,
    /// The client's address.
    pub peer: SocketAddr,
    /// The client certificate's identity on TLS listeners, when one was presented and
    /// verified (`ssl.client.auth=required|requested`).
    pub tls_client: Option<TlsClientIdentity>,
    /// Whether the client may send requests other than ApiVersions and the SASL exchange: true
    /// on listeners without SASL, and once the client has authenticated on SASL ones.
    pub authenticated: bool,
    /// Who the client is for authorization: `User:ANONYMOUS` until a TLS client certificate
    /// (through `ssl.principal.mapping.rules`) or SASL authentication says otherwise.
    pub principal: sluice_auth::KafkaPrincipal,
}

tokio::task_local! {
    /// The session whose request is being handled.
    pub static SESSION: Arc<Session>;
    /// Address of the client whose request is being handled (DescribeGroups reports it).
    pub static PEER: SocketAddr;
}

/// The session of the request being handled, if any (internal callers have none).
pub fn current_session() -> Option<Arc<Session>> {
    SESSION.try_with(Arc::clone).ok()
}

/// The listener whose addresses the current request is answered with: the client's own, else
/// (internal callers) the inter-broker listener.
pub fn current_listener(broker: &Broker) -> String {
    current_session().map_or_else(
        || broker.config.inter_broker_listener_name.clone(),
        |s| s.listener.clone(),
    )
}

/// Open connections, overall and per client IP.
#[derive(Debug, Default)]
pub struct ConnectionCounts {
    inner: Mutex<(usize, HashMap<IpAddr, usize>)>,
}

/// Holds one connection's place in [`ConnectionCounts`] until dropped.
#[derive(Debug)]
pub struct ConnectionPermit {
    counts: Arc<ConnectionCounts>,
    ip: IpAddr,
}

impl ConnectionCounts {
    /// Counts a new connection from `ip`, or says which limit it would cross.
    pub fn admit(
        self: &Arc<Self>,
        ip: IpAddr,
        limits: &ConnectionLimits,
    ) -> Result<ConnectionPermit, &'static str> {
        let mut inner = self.inner.lock().expect("poisoned");
        if inner.0 >= limits.max_connections {
            return Err("max_connections");
        }
        let mine = inner.1.get(&ip).copied().unwrap_or(0);
        if mine >= limits.limit_for(ip) {
            return Err("max_connections_per_ip");
        }
        inner.0 += 1;
        inner.1.insert(ip, mine + 1);
        Ok(ConnectionPermit {
            counts: self.clone(),
            ip,
        })
    }
}

impl Drop for ConnectionPermit {
    fn drop(&mut self) {
        let mut inner = self.counts.inner.lock().expect("poisoned");
        inner.0 = inner.0.saturating_sub(1);
        if let Some(n) = inner.1.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                inner.1.remove(&self.ip);
            }
        }
    }
}

/// Serves one accepted connection of `listener` until the client leaves, a limit closes it,
/// or `stop`.
pub(crate) async fn serve(
    broker: Arc<Broker>,
    listener: Arc<ListenerConfig>,
    tls: Option<Arc<ListenerTls>>,
    tcp: TcpStream,
    peer: SocketAddr,
    stop: watch::Receiver<bool>,
) {
    let _ = tcp.set_nodelay(true);
    let mut session = Session {
        listener: listener.name.clone(),
        security_protocol: listener.protocol,
        peer,
        tls_client: None,
        authenticated: !listener.protocol.uses_sasl(),
        principal: sluice_auth::KafkaPrincipal::anonymous(),
    };
    let served = match tls {
        None => run(&broker, session, tcp, stop).await,
        Some(tls) => {
            let handshake = tls.acceptor().accept(tcp);
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await {
                Ok(Ok(stream)) => {
                    session.tls_client = crate::tls::client_identity(stream.get_ref().1);
                    let dn = session.tls_client.as_ref().map(|c| c.subject_dn.as_str());
                    tracing::debug!(%peer, listener = %listener.name, client_dn = ?dn, "TLS session established");
                    session.principal = crate::authz::tls_principal(
                        &broker.config.security,
                        session.tls_client.as_ref(),
                    );
                    run(&broker, session, stream, stop).await
                }
                Ok(Err(e)) => {
                    broker.metrics.connection_refused("tls_handshake");
                    Err(format!("TLS handshake failed: {e}"))
                }
                Err(_) => {
                    broker.metrics.connection_refused("tls_handshake");
                    Err("TLS handshake timed out".into())
                }
            }
        }
    };
    if let Err(reason) = served {
        tracing::info!(%peer, listener = %listener.name, %reason, "closing connection");
    }
}

async fn run<S: AsyncRead + AsyncWrite + Unpin + Send + 'static>(
    broker: &Arc<Broker>,
    session: Session,
    stream: S,
    stop: watch::Receiver<bool>,
) -> Result<(), String> {
    let peer = session.peer;
    let sasl = session
        .security_protocol
        .uses_sasl()
        .then(|| SaslConnection::new(broker, &session.listener));
    // Boxed and type-erased: the request loop's future (every handler's state inside) is deep
    // enough that nesting it once per stream type overflows the compiler's layout queries.
    let requests: std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<(), String>> + Send + '_>,
    > = Box::pin(serve_requests(
        broker,
        Arc::new(session),
        sasl,
        stream,
        stop,
    ));
    PEER.scope(peer, requests).await
}

/// Requests that may wait; responses queued before them are written first.
fn may_block(frame: &[u8]) -> bool {
    let key = i16::from_be_bytes([frame[0], frame[1]]);
    [ApiKey::Fetch, ApiKey::JoinGroup, ApiKey::SyncGroup]
        .iter()
        .any(|k| *k as i16 == key)
}

/// Writes `out` within the write timeout (a client that stopped reading is closed).
async fn write_out<S: AsyncWrite + Unpin>(
    broker: &Broker,
    stream: &mut S,
    out: &mut BytesMut,
) -> Result<(), String> {
    let limit = Duration::from_millis(broker.config.limits.write_timeout_ms);
    let written = async {
        stream.write_all(out).await?;
        stream.flush().await
    };
    match tokio::time::timeout(limit, written).await {
        Ok(Ok(())) => {
            out.clear();
            Ok(())
        }
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => {
            broker.metrics.connection_refused("write_timeout");
            Err(format!(
                "response not written within {limit:?}; the client stopped reading"
            ))
        }
    }
}

/// Carries out a SASL [`Step`]: the request to dispatch, `None` when answered, an error to
/// close the connection.
async fn sasl_step<S: AsyncWrite + Unpin>(
    broker: &Broker,
    step: Step,
    session: &mut Arc<Session>,
    stream: &mut S,
    out: &mut BytesMut,
) -> Result<Option<RawRequest>, String> {
    match step {
        Step::Dispatch(raw) => Ok(Some(raw)),
        Step::Answered => Ok(None),
        Step::Authenticated(user) => {
            tracing::debug!(peer = %session.peer, listener = %session.listener, %user, "SASL authentication succeeded");
            *session = Arc::new(Session {
                authenticated: true,
                principal: sluice_auth::KafkaPrincipal::user(user),
                ..(**session).clone()
            });
            Ok(None)
        }
        Step::Close { reason, delay } => {
            // The answer (the client's error) goes out first; the delay slows guessing.
            write_out(broker, stream, out).await?;
            tokio::time::sleep(delay).await;
            Err(reason)
        }
    }
}

async fn serve_requests<S: AsyncRead + AsyncWrite + Unpin>(
    broker: &Arc<Broker>,
    mut session: Arc<Session>,
    mut sasl: Option<SaslConnection>,
    mut stream: S,
    mut stop: watch::Receiver<bool>,
) -> Result<(), String> {
    let request_max = broker.config.socket_request_max_bytes;
    let idle = Duration::from_millis(broker.config.limits.idle_ms);
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let mut out = BytesMut::with_capacity(64 * 1024);
    loop {
        loop {
            // Until a SASL client has authenticated, frames are held to
            // `sasl.server.max.receive.size`.
            let max = sasl
                .as_ref()
                .map_or(request_max, |s| s.max_frame(request_max));
            let frame = match parse_frame(&mut buf, max) {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) => return Err(e.to_string()),
            };
            if !out.is_empty() && (may_block(&frame) || out.len() >= WRITE_THRESHOLD) {
                write_out(broker, &mut stream, &mut out).await?;
            }
            if let Some(auth) = sasl.as_mut().filter(|s| s.expects_raw_token()) {
                let step = auth.raw_token(broker, &frame, &mut out);
                // A raw token is answered or closes the connection; never dispatched.
                sasl_step(broker, step, &mut session, &mut stream, &mut out).await?;
                continue;
            }
            match decode_header(frame).map_err(|e| e.to_string())? {
                Decoded::ApiVersionsTooNew(header) => {
                    encode_response(
                        ApiKey::ApiVersions,
                        0,
                        header.correlation_id,
                        &api_versions::unsupported_version(),
                        &mut out,
                    )
                    .map_err(|e| e.to_string())?;
                }
                Decoded::Request(raw) => {
                    let started = Instant::now();
                    let raw = match sasl.as_mut() {
                        None => raw,
                        Some(auth) => {
                            let step = auth
                                .request(broker, raw, started, &mut out)
                                .map_err(|e| e.to_string())?;
                            match sasl_step(broker, step, &mut session, &mut stream, &mut out)
                                .await?
                            {
                                Some(raw) => raw,
                                None => continue,
                            }
                        }
                    };
                    let key = raw.api_key;
                    match SESSION
                        .scope(session.clone(), dispatch(broker, raw, &mut out))
                        .await
                    {
                        Ok(_) => {}
                        Err(DispatchError::Decode(e)) => return Err(e.to_string()),
                        Err(DispatchError::Broker(e)) => {
                            tracing::error!(error = %e, "failed to encode response");
                            return Err(e.to_string());
                        }
                    }
                    tracing::trace!(api = ?key, took = ?started.elapsed(), peer = ?PEER.try_with(|p| *p).ok(), "handled");
                }
            }
        }
        if !out.is_empty() {
            write_out(broker, &mut stream, &mut out).await?;
        }
        if *stop.borrow() {
            return Ok(());
        }
        tokio::select! {
            read = stream.read_buf(&mut buf) => match read {
                Ok(0) if buf.is_empty() => return Ok(()),
                Ok(0) => return Err(format!("connection closed inside a frame ({} bytes pending)", buf.len())),
                Ok(_) => {}
                Err(e) => return Err(e.to_string()),
            },
            _ = tokio::time::sleep(idle) => {
                broker.metrics.connection_refused("idle");
                return Err(format!("idle for {idle:?} (connections.max.idle.ms)"));
            }
            _ = stop.changed() => return Ok(()),
        }
    }
}
