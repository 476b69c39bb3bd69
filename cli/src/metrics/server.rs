//! The HTTP server of `--metrics` (issue 16): hyper's HTTP/1.1 server on a current-thread tokio
//! runtime in one thread of its own.
//!
//! Why this shape: the server used to be a loop serving one connection at a time with a 2 s read
//! timeout, so one idle or slow client delayed every scrape. Here every connection is its own
//! task, so a client that sends nothing (or half a request) never delays another; each connection
//! gets [`HEADER_TIMEOUT`] to send its request head and [`CONNECTION_TIMEOUT`] in all (a client
//! that stops reading the response is dropped then). One request per connection
//! (`Connection: close`, as before). The listener is bound by [`serve`] before it returns (a bind
//! error is the command's error), and dropping the [`MetricsServer`] stops the thread: the
//! accept loop ends and open connections are closed.
//!
//! Routes: `GET` (or `HEAD`) `/metrics` is the exposition text of [`Metrics::render`]; another
//! method on `/metrics` is 405 with `Allow: GET, HEAD`; any other path is 404.

use super::Metrics;
use anyhow::{Context, Result};
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{ALLOW, CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::oneshot;

/// Time a connection has to send its request head.
pub(crate) const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
/// Time a connection may stay open in all (request, response written and read).
pub(crate) const CONNECTION_TIMEOUT: Duration = Duration::from_secs(10);
/// The content type of the exposition (prometheus-client writes OpenMetrics text).
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// A running metrics server; dropping it shuts the server down and joins its thread.
#[derive(Debug)]
#[must_use = "the server stops when this is dropped"]
pub(crate) struct MetricsServer {
    #[cfg(test)]
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

#[cfg(test)]
impl MetricsServer {
    /// The address bound (port 0 resolved to the port picked).
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take()
            && t.join().is_err()
        {
            tracing::warn!("the metrics server thread panicked");
        }
    }
}

/// Binds `addr` and serves `metrics` from a background thread until the returned server is
/// dropped. Port 0 picks a free port ([`MetricsServer::addr`]).
pub(crate) fn serve(addr: SocketAddr, metrics: Arc<Metrics>) -> Result<MetricsServer> {
    let std_listener = std::net::TcpListener::bind(addr)
        .with_context(|| format!("--metrics: cannot listen on {addr}"))?;
    let local = std_listener.local_addr()?;
    if !local.ip().is_loopback() {
        tracing::warn!("metrics served on {local}, beyond loopback (as asked)");
    }
    std_listener
        .set_nonblocking(true)
        .context("--metrics: making the listener non-blocking")?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .context("--metrics: starting the server's runtime")?;
    let listener = {
        let _in_runtime = rt.enter();
        tokio::net::TcpListener::from_std(std_listener)
            .context("--metrics: registering the listener")?
    };
    let (tx, rx) = oneshot::channel();
    let thread = std::thread::Builder::new()
        .name("daedalus-metrics".into())
        .spawn(move || rt.block_on(accept_loop(listener, metrics, rx)))
        .context("starting the metrics thread")?;
    tracing::info!("metrics on http://{local}/metrics");
    Ok(MetricsServer {
        #[cfg(test)]
        addr: local,
        stop: Some(tx),
        thread: Some(thread),
    })
}

/// Accepts connections until `stop`, each served by its own task.
async fn accept_loop(
    listener: tokio::net::TcpListener,
    metrics: Arc<Metrics>,
    mut stop: oneshot::Receiver<()>,
) {
    loop {
        tokio::select! {
            _ = &mut stop => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    tokio::spawn(connection(stream, metrics.clone()));
                }
                Err(e) => {
                    // Out of descriptors and the like: pause rather than spin.
                    tracing::debug!("metrics: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
}

/// Serves one connection: one request, within the timeouts.
async fn connection(stream: tokio::net::TcpStream, metrics: Arc<Metrics>) {
    let service = service_fn(move |req| {
        let response = respond(&req, &metrics);
        async move { Ok::<_, std::convert::Infallible>(response) }
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .keep_alive(false)
        .serve_connection(TokioIo::new(stream), service);
    match tokio::time::timeout(CONNECTION_TIMEOUT, conn).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::debug!("metrics: connection ended: {e}"),
        Err(_) => tracing::debug!("metrics: connection dropped after {CONNECTION_TIMEOUT:?}"),
    }
}

/// The response to one request.
fn respond(req: &Request<Incoming>, metrics: &Metrics) -> Response<Full<Bytes>> {
    if req.uri().path() != "/metrics" {
        return plain(
            StatusCode::NOT_FOUND,
            "not found: metrics are at /metrics\n",
        );
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut r = plain(
            StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed: GET /metrics\n",
        );
        r.headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    let mut r = Response::new(Full::new(Bytes::from(metrics.render())));
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(OPENMETRICS));
    r
}

/// A plain-text response with `status`.
fn plain(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}
