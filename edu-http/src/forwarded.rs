//! Who the client is, behind the reverse proxies of `EDU_TRUSTED_PROXIES`.
//!
//! The login throttle counts failures per client address, HSTS is sent to clients that came over
//! HTTPS, and request logs name the client. Behind a proxy the connection comes from the proxy,
//! which names the client in `X-Forwarded-For` (or the standard `Forwarded`) and the scheme in
//! `X-Forwarded-Proto` (or `Forwarded: proto=`). Anyone can send those headers, so they are read
//! only on connections from a trusted proxy, and of the chain only what our proxies appended
//! ([`TrustedProxies::client`]). A header that cannot be read leaves the connection's own address:
//! it never fails the request.

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use edu_core::config::TrustedProxies;
use http::{HeaderMap, Request};
use tower::{Layer, Service};

use crate::extract::PeerAddr;

/// The client of a request as resolved once, before anything else looks at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr {
    /// The client's address: the peer's, or from a trusted proxy's forwarding headers.
    pub address: IpAddr,
    /// A trusted proxy says the client came over HTTPS.
    pub forwarded_https: bool,
}

/// The client for a connection from `peer` with these request headers.
pub fn resolve(peer: IpAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> ClientAddr {
    let peer = peer.to_canonical();
    if !trusted.contains(peer) {
        return ClientAddr {
            address: peer,
            forwarded_https: false,
        };
    }
    let forwarded = joined(headers, "forwarded").map(|v| parse_forwarded(&v));
    let (address, from_forwarded) = match (joined(headers, "x-forwarded-for"), &forwarded) {
        (Some(xff), _) => {
            let chain: Vec<Option<IpAddr>> = xff.split(',').map(parse_node).collect();
            (trusted.client(peer, &chain), false)
        }
        (None, Some(Some(elements))) => {
            let chain: Vec<Option<IpAddr>> = elements.iter().map(|e| e.node).collect();
            (trusted.client(peer, &chain), true)
        }
        (None, _) => (peer, false),
    };
    let forwarded_https = match joined(headers, "x-forwarded-proto") {
        // The last value is the one our own proxy wrote.
        Some(proto) => proto
            .rsplit(',')
            .next()
            .is_some_and(|p| p.trim().eq_ignore_ascii_case("https")),
        None => match forwarded {
            // The hop that names the client says how the client came; failing that, our proxy's.
            Some(Some(elements)) => {
                let hop = elements
                    .iter()
                    .rposition(|e| from_forwarded && e.node == Some(address))
                    .or(elements.len().checked_sub(1));
                hop.and_then(|i| elements[i].proto.as_deref())
                    .is_some_and(|p| p.eq_ignore_ascii_case("https"))
            }
            _ => false,
        },
    };
    ClientAddr {
        address,
        forwarded_https,
    }
}

/// Every value of a header, in order, as one comma-separated list; `None` when absent. A value
/// that is not text makes the whole list unreadable, which reads as a bad entry.
fn joined(headers: &HeaderMap, name: &str) -> Option<String> {
    let mut values = headers.get_all(name).iter().peekable();
    values.peek()?;
    let parts: Vec<&str> = values.map(|v| v.to_str().unwrap_or("\u{0}")).collect();
    Some(parts.join(","))
}

/// An address as proxies write it: `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1`,
/// `[2001:db8::1]:4711`, optionally quoted. Anything else (`unknown`, `_hidden`) is `None`.
fn parse_node(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    let text = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')).unwrap_or(text);
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Some(rest) = text.strip_prefix('[') {
        let (ip, after) = rest.split_once(']')?;
        if !(after.is_empty() || after.strip_prefix(':').is_some_and(is_port)) {
            return None;
        }
        return ip
            .parse::<std::net::Ipv6Addr>()
            .ok()
            .map(|ip| IpAddr::V6(ip).to_canonical());
    }
    let (ip, port) = text.split_once(':')?;
    if !is_port(port) {
        return None;
    }
    ip.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

fn is_port(text: &str) -> bool {
    !text.is_empty() && text.len() <= 5 && text.bytes().all(|b| b.is_ascii_digit())
}

/// One proxy's element of a `Forwarded` header.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Element {
    node: Option<IpAddr>,
    proto: Option<String>,
}

/// RFC 7239: elements separated by commas, `name=value` pairs by semicolons, values tokens or
/// quoted strings. `None` when the header does not follow that form.
fn parse_forwarded(header: &str) -> Option<Vec<Element>> {
    let mut elements = Vec::new();
    for element in split_unquoted(header, ',')? {
        let mut node = None;
        let mut proto = None;
        for pair in split_unquoted(&element, ';')? {
            let pair = pair.trim();
            if pair.is_empty() {
                continue;
            }
            let (name, value) = pair.split_once('=')?;
            let value = unquote(value.trim())?;
            match name.trim().to_ascii_lowercase().as_str() {
                "for" => node = parse_node(&value),
                "proto" => proto = Some(value),
                _ => {}
            }
        }
        elements.push(Element { node, proto });
    }
    Some(elements)
}

/// Splits at `sep` outside double quotes; `None` when a quote is left open.
fn split_unquoted(text: &str, sep: char) -> Option<Vec<String>> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut escaped = false;
    for c in text.chars() {
        if escaped {
            escaped = false;
        } else if quoted && c == '\\' {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        } else if c == sep && !quoted {
            parts.push(std::mem::take(&mut current));
            continue;
        }
        current.push(c);
    }
    if quoted {
        return None;
    }
    parts.push(current);
    Some(parts)
}

fn unquote(value: &str) -> Option<String> {
    match value.strip_prefix('"') {
        None if value.contains('"') => None,
        None => Some(value.to_owned()),
        Some(rest) => {
            let inner = rest.strip_suffix('"')?;
            let mut out = String::with_capacity(inner.len());
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                out.push(if c == '\\' { chars.next()? } else { c });
            }
            Some(out)
        }
    }
}

/// Resolves [`ClientAddr`] for every request from the connection's [`PeerAddr`].
#[derive(Debug, Clone, Default)]
pub struct ClientAddrLayer {
    trusted: Arc<TrustedProxies>,
}

impl ClientAddrLayer {
    /// A layer that reads forwarding headers only from peers in `trusted` (none: never).
    pub fn new(trusted: TrustedProxies) -> Self {
        Self {
            trusted: Arc::new(trusted),
        }
    }
}

impl<S> Layer<S> for ClientAddrLayer {
    type Service = ClientAddrService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        ClientAddrService {
            inner,
            trusted: self.trusted.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ClientAddrService<S> {
    inner: S,
    trusted: Arc<TrustedProxies>,
}

impl<S, B> Service<Request<B>> for ClientAddrService<S>
where
    S: Service<Request<B>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        if let Some(peer) = req.extensions().get::<PeerAddr>().copied() {
            let client = resolve(peer.0.ip(), req.headers(), &self.trusted);
            req.extensions_mut().insert(client);
        }
        Box::pin(self.inner.call(req))
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;
    use proptest::prelude::*;

    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("an address")
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.append(*name, HeaderValue::from_str(value).expect("header value"));
        }
        h
    }

    fn trusted() -> TrustedProxies {
        TrustedProxies::parse("127.0.0.1, 10.0.0.0/8, fd00::/8").expect("valid")
    }

    #[test]
    fn x_forwarded_for_from_a_trusted_proxy() {
        let proxy = ip("10.0.0.1");
        let at = |pairs: &[(&'static str, &str)]| resolve(proxy, &headers(pairs), &trusted()).address;
        assert_eq!(at(&[("x-forwarded-for", "203.0.113.7")]), ip("203.0.113.7"));
        assert_eq!(
            at(&[("x-forwarded-for", "6.6.6.6, 203.0.113.7, 10.0.0.2")]),
            ip("203.0.113.7")
        );
        // Several header lines are one list, in order.
        assert_eq!(
            at(&[("x-forwarded-for", "6.6.6.6"), ("x-forwarded-for", "203.0.113.7")]),
            ip("203.0.113.7")
        );
        assert_eq!(at(&[("x-forwarded-for", "[2001:db8::1]:443")]), ip("2001:db8::1"));
        assert_eq!(at(&[("x-forwarded-for", "203.0.113.7:5555")]), ip("203.0.113.7"));
        for bad in [
            "",
            "garbage",
            "1.2.3.4.5",
            "203.0.113.7, ???",
            "[::1",
            "1.2.3.4:99999999",
        ] {
            assert_eq!(at(&[("x-forwarded-for", bad)]), proxy, "{bad:?}");
        }
        assert_eq!(at(&[]), proxy);
    }

    #[test]
    fn forwarded_from_a_trusted_proxy() {
        let proxy = ip("10.0.0.1");
        let at = |value: &str| resolve(proxy, &headers(&[("forwarded", value)]), &trusted());
        assert_eq!(at("for=203.0.113.7").address, ip("203.0.113.7"));
        assert_eq!(at("For=\"[2001:db8::1]:4711\";proto=https").address, ip("2001:db8::1"));
        assert_eq!(
            at("for=6.6.6.6;proto=https, for=203.0.113.7;proto=http;by=10.0.0.1, for=10.0.0.2").address,
            ip("203.0.113.7")
        );
        assert!(!at("for=6.6.6.6;proto=https, for=203.0.113.7;proto=http").forwarded_https);
        assert!(at("for=203.0.113.7;proto=https").forwarded_https);
        for obfuscated in [
            "for=unknown",
            "for=_hidden",
            "for=\"_x:_y\"",
            "proto=https",
            "for=\"[::1\"",
        ] {
            assert_eq!(at(obfuscated).address, proxy, "{obfuscated}");
        }
        for malformed in ["for", "for=\"203.0.113.7", "for=1.2.3.4;x", "for=a\"b"] {
            let c = at(malformed);
            assert_eq!(c.address, proxy, "{malformed}");
            assert!(!c.forwarded_https, "{malformed}");
        }
        // X-Forwarded-For, which most proxies write, wins over a Forwarded passed along.
        let both = headers(&[("forwarded", "for=6.6.6.6"), ("x-forwarded-for", "203.0.113.7")]);
        assert_eq!(resolve(proxy, &both, &trusted()).address, ip("203.0.113.7"));
    }

    #[test]
    fn nothing_is_believed_from_anyone_else() {
        let outsider = ip("198.51.100.9");
        let h = headers(&[
            ("x-forwarded-for", "203.0.113.7"),
            ("forwarded", "for=203.0.113.8;proto=https"),
            ("x-forwarded-proto", "https"),
        ]);
        let c = resolve(outsider, &h, &trusted());
        assert_eq!(c.address, outsider);
        assert!(!c.forwarded_https);
        let c = resolve(ip("127.0.0.1"), &h, &TrustedProxies::default());
        assert_eq!(c.address, ip("127.0.0.1"));
        assert!(!c.forwarded_https);
    }

    #[test]
    fn https_as_the_trusted_proxy_says() {
        let proxy = ip("::ffff:127.0.0.1");
        let https = |pairs: &[(&'static str, &str)]| resolve(proxy, &headers(pairs), &trusted()).forwarded_https;
        assert!(https(&[("x-forwarded-proto", "https")]));
        assert!(https(&[("x-forwarded-proto", "HTTPS")]));
        assert!(!https(&[("x-forwarded-proto", "http")]));
        assert!(!https(&[("x-forwarded-proto", "https, http")]));
        assert!(https(&[("forwarded", "proto=https")]));
        assert!(!https(&[]));
    }

    proptest! {
        #[test]
        fn no_header_value_fails_or_escapes_the_rules(xff in "\\PC{0,60}", fwd in "\\PC{0,60}", peer_trusted in any::<bool>()) {
            let peer = if peer_trusted { ip("10.0.0.1") } else { ip("198.51.100.9") };
            let mut h = HeaderMap::new();
            if let Ok(v) = HeaderValue::from_str(&xff) { h.insert("x-forwarded-for", v); }
            if let Ok(v) = HeaderValue::from_str(&fwd) { h.insert("forwarded", v); }
            let c = resolve(peer, &h, &trusted());
            if !peer_trusted {
                prop_assert_eq!(c.address, peer);
            }
        }

        #[test]
        fn ipv6_clients_in_forwarded_come_through(segments in proptest::array::uniform8(any::<u16>()), port in 1u16..) {
            let client = IpAddr::V6(std::net::Ipv6Addr::from(segments)).to_canonical();
            prop_assume!(!trusted().contains(client));
            let value = match client {
                IpAddr::V6(v6) => format!("for=\"[{v6}]:{port}\""),
                IpAddr::V4(v4) => format!("for={v4}"),
            };
            let c = resolve(ip("10.0.0.1"), &headers(&[("forwarded", &value)]), &trusted());
            prop_assert_eq!(c.address, client);
        }
    }
}
