//! The client's address behind trusted reverse proxies
//! (`LIFEOS_TRUSTED_PROXIES`): the connection's `ConnectInfo` is replaced by
//! the address the proxies report, so rate limits and the audit log see
//! clients, not the proxy. Only proxies on the list are believed, and only
//! for the hops they added: the answer is the last address in
//! `X-Forwarded-For` that is not a trusted proxy (anything to its left was
//! written by the client and may be forged).

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::AppState;
use crate::config::Network;

/// Rewrites `ConnectInfo` for requests that came through a trusted proxy.
pub(super) async fn layer(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let trusted = &state.config.trusted_proxies;
    if !trusted.is_empty()
        && let Some(ConnectInfo(peer)) = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .copied()
        && let Some(client) = client_behind(trusted, peer.ip(), request.headers())
    {
        request
            .extensions_mut()
            .insert(ConnectInfo(SocketAddr::new(client, peer.port())));
    }
    next.run(request).await
}

/// The client behind `peer`, if `peer` is a trusted proxy that says who it is.
fn client_behind(
    trusted: &[Network],
    peer: IpAddr,
    headers: &axum::http::HeaderMap,
) -> Option<IpAddr> {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(peer) {
        return None;
    }
    // Every X-Forwarded-For header, in order, as one list.
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut last_trusted = None;
    for hop in hops.iter().rev() {
        // A malformed hop ends what can be believed; use the last good one.
        let Ok(ip) = hop.parse::<IpAddr>() else {
            return last_trusted;
        };
        let ip = ip.to_canonical();
        if !is_trusted(ip) {
            return Some(ip);
        }
        last_trusted = Some(ip);
    }
    last_trusted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(list: &str) -> Vec<Network> {
        list.split(',').map(|s| s.parse().unwrap()).collect()
    }

    fn headers(values: &[&str]) -> axum::http::HeaderMap {
        let mut map = axum::http::HeaderMap::new();
        for v in values {
            map.append("x-forwarded-for", v.parse().unwrap());
        }
        map
    }

    #[test]
    fn only_trusted_proxies_are_believed_and_only_for_their_own_hops() {
        let trusted = nets("127.0.0.1,10.0.0.0/8");
        let proxy: IpAddr = "10.0.0.5".parse().unwrap();
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        // The usual case: one proxy, one client.
        assert_eq!(
            client_behind(&trusted, proxy, &headers(&["203.0.113.9"])),
            ip("203.0.113.9")
        );
        // A client forging a header: the proxy appended the real address last.
        assert_eq!(
            client_behind(&trusted, proxy, &headers(&["1.1.1.1, 203.0.113.9"])),
            ip("203.0.113.9")
        );
        // Two proxies: skip the trusted hops, across several headers.
        assert_eq!(
            client_behind(&trusted, proxy, &headers(&["198.51.100.7", "10.0.0.9"])),
            ip("198.51.100.7")
        );
        // Not from a trusted proxy: the header is ignored.
        assert_eq!(
            client_behind(
                &trusted,
                "192.0.2.1".parse().unwrap(),
                &headers(&["1.1.1.1"])
            ),
            None
        );
        // No header, or garbage: nothing better than the peer.
        assert_eq!(client_behind(&trusted, proxy, &headers(&[])), None);
        assert_eq!(
            client_behind(&trusted, proxy, &headers(&["not an address"])),
            None
        );
        assert_eq!(
            client_behind(&trusted, proxy, &headers(&["garbage, 10.0.0.7"])),
            ip("10.0.0.7")
        );
    }
}
