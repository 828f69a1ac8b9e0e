//! A connection of one's own: one HTTP/1.1 connection to the client's current endpoint, driven
//! by the task that sends on it, for a caller that sends one request at a time from each of
//! many tasks (the load generator's workers).
//!
//! The pooled client hands every request to a task of its own per connection, through a channel,
//! and back: two task wake-ups per request, which on one machine shared with the server cost
//! the load generator more CPU than the HTTP itself. Here the caller's task polls the
//! connection while it waits for its answer, so a request is a write and a read on one socket.
//!
//! Anything but a plain answer (a redirect to the leader, a broken connection, a `5xx`, the
//! time limit) drops the connection and sends the request again through the [`Client`], with
//! its redirects, retries and fail-over; the next request opens a new connection to the
//! client's current endpoint, which that may have moved.

use std::pin::Pin;

use bytes::Bytes;
use http::header::HOST;
use http::{HeaderValue, Method, StatusCode};
use http_body_util::Full;
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use url::Url;

use super::{Call, Client, ClientError, Subject, http_error, join, read_body};

/// A [`Client`] that keeps one connection of its own; see the module documentation.
///
/// ```no_run
/// # async fn demo() -> Result<(), qed_agents::client::ClientError> {
/// use qed_agents::client::{Client, ClientOptions, Subject};
///
/// let client = Client::new(&["http://127.0.0.1:8800"], ClientOptions::default())?;
/// let mut connection = client.connection();
/// for i in 0..10u32 {
///     let digest = qed_core::hash::digest(&i.to_be_bytes());
///     let (_url, json) = connection.membership_json(Subject::Digest(digest), None).await?;
///     println!("{}", String::from_utf8_lossy(&json));
/// }
/// # Ok(()) }
/// ```
pub struct Connection {
    client: Client,
    link: Option<Link>,
}

/// The open connection: hyper's two halves, both kept in the owner's task.
struct Link {
    base: Url,
    host: HeaderValue,
    sender: http1::SendRequest<Full<Bytes>>,
    conn: Pin<Box<http1::Connection<TokioIo<TcpStream>, Full<Bytes>>>>,
}

impl Client {
    /// A [`Connection`] over this client (it opens its socket at its first request).
    pub fn connection(&self) -> Connection {
        Connection {
            client: self.clone(),
            link: None,
        }
    }
}

impl Connection {
    /// [`Client::add_json`] on this connection.
    pub async fn add_json(&mut self, subject: Subject<'_>) -> Result<(String, Bytes), ClientError> {
        self.send(Call::add(subject)?).await
    }

    /// [`Client::membership_json`] on this connection.
    pub async fn membership_json(
        &mut self,
        subject: Subject<'_>,
        version: Option<u64>,
    ) -> Result<(String, Bytes), ClientError> {
        self.send(Call::membership(subject, version)?).await
    }

    /// [`Client::incremental_json`] on this connection.
    pub async fn incremental_json(
        &mut self,
        start: u64,
        end: u64,
    ) -> Result<(String, Bytes), ClientError> {
        self.send(Call::incremental(start, end)?).await
    }

    async fn send(&mut self, call: Call) -> Result<(String, Bytes), ClientError> {
        match self.direct(&call).await {
            Some(answer) => answer,
            None => self.client.send(call).await,
        }
    }

    /// `call` on the connection (opened first if needed): `None` when the client has to send it
    /// instead, with the connection dropped.
    async fn direct(&mut self, call: &Call) -> Option<Result<(String, Bytes), ClientError>> {
        if self.link.is_none() {
            self.link = Link::open(self.client.current(), &self.client).await;
        }
        let link = self.link.as_mut()?;
        let limit = self.client.inner.opts.timeout;
        match tokio::time::timeout(limit, link.send(&self.client, call)).await {
            Ok(Ok((url, status, body))) if status.is_success() => Some(Ok((url.to_string(), body))),
            // The pooled client would get the same refusal: it is the answer.
            Ok(Ok((url, status, body))) if status.is_client_error() => {
                Some(Err(http_error(status, &url, &body)))
            }
            Ok(Err(e)) if !e.is_retryable() => {
                self.link = None;
                Some(Err(e))
            }
            _ => {
                self.link = None;
                None
            }
        }
    }
}

impl Link {
    /// Connects to `base` (plain HTTP only; `None` sends the caller to the pooled client).
    async fn open(base: Url, client: &Client) -> Option<Link> {
        if base.scheme() != "http" {
            return None;
        }
        let authority = format!("{}:{}", base.host_str()?, base.port_or_known_default()?);
        let host = HeaderValue::from_str(&authority).ok()?;
        let limit = client.inner.opts.connect_timeout;
        let stream = tokio::time::timeout(limit, TcpStream::connect(authority.as_str()))
            .await
            .ok()?
            .ok()?;
        stream.set_nodelay(true).ok()?;
        let (sender, conn) = http1::handshake(TokioIo::new(stream)).await.ok()?;
        Some(Link {
            base,
            host,
            sender,
            conn: Box::pin(conn),
        })
    }

    /// Sends `call` as `client` would and reads the whole answer: the URL, status and body.
    async fn send(
        &mut self,
        client: &Client,
        call: &Call,
    ) -> Result<(Url, StatusCode, Bytes), ClientError> {
        let url = join(&self.base, call.path)?;
        let mut req =
            client.request(Method::POST, url.path(), Some(call.body.clone()), call.kind)?;
        req.headers_mut().insert(HOST, self.host.clone());
        let (status, body) = self.exchange(req, &url).await?;
        Ok((url, status, body))
    }

    /// Sends `req` and reads the whole answer, polling the connection meanwhile.
    async fn exchange(
        &mut self,
        req: http::Request<Full<Bytes>>,
        url: &Url,
    ) -> Result<(StatusCode, Bytes), ClientError> {
        let transport = |source: Box<dyn std::error::Error + Send + Sync>| ClientError::Transport {
            url: url.to_string(),
            source,
        };
        let sender = &mut self.sender;
        let answer = async {
            sender.ready().await.map_err(|e| transport(e.into()))?;
            let resp = sender
                .send_request(req)
                .await
                .map_err(|e| transport(e.into()))?;
            let status = resp.status();
            Ok((status, read_body(resp.into_body(), url).await?))
        };
        tokio::select! {
            // An answer complete as the server closes the connection is still the answer.
            biased;
            answer = answer => answer,
            closed = self.conn.as_mut() => Err(transport(match closed {
                Ok(()) => "the server closed the connection".into(),
                Err(e) => e.into(),
            })),
        }
    }
}
