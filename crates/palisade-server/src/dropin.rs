//! Drop-in mode: a plain-HTTP proxy port (`HTTPS_PROXY=http://host:port`) that answers
//! `CONNECT login.microsoftonline.com:443` (and the other Microsoft host names on Palisade's
//! certificate) by terminating TLS itself and serving Palisade inside the tunnel. Clients keep their
//! hard-coded Microsoft URLs — MSAL even skips instance discovery, since the host is well known —
//! and need only the proxy variable and Palisade's CA (`real-clients.md` §1.3).
//!
//! Nothing is forwarded anywhere: a CONNECT to a host Palisade does not serve gets a 502 that says
//! to add it to `NO_PROXY`.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tower::ServiceExt;

/// Largest CONNECT request head accepted.
const MAX_HEAD: usize = 8 * 1024;

/// Host names served inside tunnels: the certificate's names.
#[derive(Clone)]
pub struct ServedHosts(Arc<Vec<String>>);

impl ServedHosts {
    pub fn new(extra: &[String]) -> Self {
        let mut v: Vec<String> = palisade_crypto::tls::MICROSOFT_HOSTS.iter().map(|s| s.to_string()).collect();
        v.extend(["localhost", "127.0.0.1"].map(String::from));
        v.extend(extra.iter().map(|s| s.to_ascii_lowercase()));
        Self(Arc::new(v))
    }
    fn contains(&self, host: &str) -> bool {
        self.0.iter().any(|h| h.eq_ignore_ascii_case(host))
    }
}

/// Accepts proxy connections until `stop` turns true.
pub async fn serve(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    app: crate::App,
    hosts: ServedHosts,
    mut stop: watch::Receiver<bool>,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    loop {
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "drop-in proxy accept failed");
                    continue;
                }
            },
            _ = stop.changed() => break,
        };
        let (acceptor, app, hosts) = (acceptor.clone(), app.clone(), hosts.clone());
        tokio::spawn(async move {
            if let Err(e) = tunnel(stream, peer, acceptor, app, hosts).await {
                tracing::debug!(error = %e, %peer, "drop-in tunnel ended");
            }
        });
    }
}

async fn reply(stream: &mut TcpStream, status: &str, message: &str) -> std::io::Result<()> {
    let body = format!("{message}\n");
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.shutdown().await
}

async fn tunnel(
    mut stream: TcpStream,
    peer: SocketAddr,
    acceptor: tokio_rustls::TlsAcceptor,
    app: crate::App,
    hosts: ServedHosts,
) -> std::io::Result<()> {
    // Read the request head byte by byte: the TLS ClientHello may follow it immediately and must
    // stay in the socket for the TLS acceptor.
    let mut head = Vec::with_capacity(256);
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() >= MAX_HEAD {
            return reply(&mut stream, "431 Request Header Fields Too Large", "CONNECT request head too large").await;
        }
        head.push(stream.read_u8().await?);
    }
    let head = String::from_utf8_lossy(&head);
    let mut parts = head.lines().next().unwrap_or("").split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    if !method.eq_ignore_ascii_case("CONNECT") {
        return reply(
            &mut stream,
            "405 Method Not Allowed",
            "This is Palisade's drop-in port: it only answers CONNECT (use it as HTTPS_PROXY).",
        )
        .await;
    }
    let host = target.rsplit_once(':').map(|(h, _)| h).unwrap_or(target).trim_matches(['[', ']']);
    if !hosts.contains(host) {
        tracing::info!(%host, "drop-in CONNECT refused: host not served");
        return reply(
            &mut stream,
            "502 Bad Gateway",
            &format!("Palisade does not serve '{host}' and forwards nothing; add it to NO_PROXY."),
        )
        .await;
    }
    stream.write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n").await?;
    let tls = acceptor.accept(stream).await?;
    tracing::debug!(%host, %peer, "drop-in tunnel open");
    let service = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        app.clone().oneshot(req)
    });
    Builder::new(TokioExecutor::new())
        .serve_connection(TokioIo::new(tls), service)
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))
}
