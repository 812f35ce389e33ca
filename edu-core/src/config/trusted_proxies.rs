//! `EDU_TRUSTED_PROXIES`: the reverse proxies whose forwarding headers are believed.
//!
//! Behind nginx or a load balancer every request comes from the proxy's address, so the login
//! throttle would count every user as one. Headers that name the client can be written by anyone,
//! though, so they count only when the connection comes from a proxy listed here, and even then
//! only the part of the chain our proxies wrote: the right-most address that is not one of them.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// One network: an address and how many leading bits must match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    address: IpAddr,
    prefix: u8,
}

impl Network {
    /// `10.0.0.0/8`, `2001:db8::/32`, or a bare address (all its bits).
    pub fn parse(text: &str) -> Result<Network, String> {
        let text = text.trim();
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let address = IpAddr::from_str(addr)
            .map_err(|_| format!("{text:?} is not an IP address or a network such as 10.0.0.0/8"))?
            .to_canonical();
        let width = if address.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => width,
            Some(p) => match p.parse::<u8>() {
                Ok(n) if n <= width => n,
                _ => {
                    return Err(format!(
                        "{text:?}: the prefix length must be a number from 0 to {width}"
                    ));
                }
            },
        };
        Ok(Network { address, prefix })
    }

    /// Whether `ip` is in this network (an IPv4-mapped IPv6 address counts as its IPv4 address).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.address, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                same_prefix(u32::from(net).into(), u32::from(ip).into(), self.prefix, 32)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => same_prefix(u128::from(net), u128::from(ip), self.prefix, 128),
            _ => false,
        }
    }
}

fn same_prefix(a: u128, b: u128, prefix: u8, width: u32) -> bool {
    if prefix == 0 {
        return true;
    }
    let shift = width - u32::from(prefix);
    (a >> shift) == (b >> shift)
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix)
    }
}

/// The proxies in front of the server. Empty (the default) trusts no forwarding header at all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<Network>);

impl TrustedProxies {
    /// A comma-separated list of networks and addresses; blanks between commas are skipped.
    pub fn parse(list: &str) -> Result<TrustedProxies, String> {
        list.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(Network::parse)
            .collect::<Result<Vec<_>, _>>()
            .map(TrustedProxies)
    }

    /// Whether no proxy is trusted, so that forwarding headers are ignored.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `ip` belongs to a trusted proxy.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|n| n.contains(ip))
    }

    /// Which hop of a forwarding chain is the client, for a connection from `peer`.
    ///
    /// `chain` is the list as the headers give it, the original client first and the latest proxy
    /// last; `None` is an entry that is not an address (`unknown`, an obfuscated `_name`, garbage).
    /// Walking from the right, entries that are our own proxies are skipped; the first one that is
    /// not is the client, as everything left of it may have been written by the client. An entry
    /// that is not an address at that point leaves the peer. When every entry is ours, the
    /// left-most is the client (a machine inside the trusted network).
    pub fn client(&self, peer: IpAddr, chain: &[Option<IpAddr>]) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.contains(peer) {
            return peer;
        }
        for hop in chain.iter().rev() {
            match hop {
                None => return peer,
                Some(ip) if self.contains(*ip) => continue,
                Some(ip) => return ip.to_canonical(),
            }
        }
        chain.first().copied().flatten().map_or(peer, |ip| ip.to_canonical())
    }
}

impl fmt::Display for TrustedProxies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, n) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{n}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use proptest::prelude::*;

    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("an address")
    }

    #[test]
    fn networks_and_bare_addresses_of_both_families() {
        let t = TrustedProxies::parse(" 10.0.0.0/8, 192.168.1.7 ,, ::1, fd00::/8 ").expect("valid");
        assert!(t.contains(ip("10.200.3.4")));
        assert!(!t.contains(ip("11.0.0.1")));
        assert!(t.contains(ip("192.168.1.7")));
        assert!(!t.contains(ip("192.168.1.8")));
        assert!(t.contains(ip("::1")));
        assert!(t.contains(ip("fd12:3456::1")));
        assert!(!t.contains(ip("fe80::1")));
        // An IPv4 peer seen through a dual-stack socket is the IPv4 address.
        assert!(t.contains(ip("::ffff:10.1.2.3")));
        assert!(TrustedProxies::parse("").expect("empty").is_empty());
        assert!(TrustedProxies::parse("0.0.0.0/0").expect("all").contains(ip("8.8.8.8")));
    }

    #[test]
    fn bad_entries_are_named() {
        for bad in [
            "10.0.0.0/33",
            "::/129",
            "nginx",
            "10.0.0.0/",
            "10.0.0.0/x",
            "1.2.3.4:80",
            "10.0.0/8",
        ] {
            let err = TrustedProxies::parse(&format!("127.0.0.1, {bad}")).expect_err(bad);
            assert!(err.contains(bad.trim()), "{bad}: {err}");
        }
    }

    #[test]
    fn right_most_untrusted_hop_is_the_client() {
        let t = TrustedProxies::parse("10.0.0.0/8").expect("valid");
        let proxy = ip("10.0.0.1");
        let chain = |s: &[&str]| s.iter().map(|h| h.parse().ok()).collect::<Vec<Option<IpAddr>>>();
        // A client that writes its own header gets it extended, and only the appended hop counts.
        assert_eq!(t.client(proxy, &chain(&["6.6.6.6", "1.2.3.4"])), ip("1.2.3.4"));
        assert_eq!(
            t.client(proxy, &chain(&["6.6.6.6", "1.2.3.4", "10.0.0.2"])),
            ip("1.2.3.4")
        );
        assert_eq!(t.client(proxy, &chain(&["10.0.0.3", "10.0.0.2"])), ip("10.0.0.3"));
        assert_eq!(t.client(proxy, &chain(&[])), proxy);
        assert_eq!(t.client(proxy, &chain(&["1.2.3.4", "unknown"])), proxy);
        assert_eq!(t.client(proxy, &chain(&["unknown", "1.2.3.4"])), ip("1.2.3.4"));
        // From anywhere else, the chain is not read at all.
        assert_eq!(t.client(ip("1.1.1.1"), &chain(&["2.2.2.2"])), ip("1.1.1.1"));
        assert_eq!(TrustedProxies::default().client(proxy, &chain(&["2.2.2.2"])), proxy);
    }

    fn any_ip() -> impl Strategy<Value = IpAddr> {
        prop_oneof![
            any::<u32>().prop_map(|n| IpAddr::V4(Ipv4Addr::from(n))),
            any::<u128>().prop_map(|n| IpAddr::V6(Ipv6Addr::from(n)).to_canonical()),
        ]
    }

    fn any_network() -> impl Strategy<Value = Network> {
        (any_ip(), any::<u8>()).prop_map(|(address, p)| {
            let width = if address.is_ipv4() { 33 } else { 129 };
            Network {
                address,
                prefix: p % width,
            }
        })
    }

    proptest! {
        #[test]
        fn a_written_list_reads_back_the_same(nets in proptest::collection::vec(any_network(), 0..6)) {
            let list = TrustedProxies(nets);
            let again = TrustedProxies::parse(&list.to_string()).expect("its own output parses");
            prop_assert_eq!(again, list);
        }

        #[test]
        fn a_network_holds_its_address_and_a_full_prefix_only_it(net in any_network(), other in any_ip()) {
            prop_assert!(net.contains(net.address));
            let exact = Network { address: net.address, prefix: if net.address.is_ipv4() { 32 } else { 128 } };
            prop_assert_eq!(exact.contains(other), other == net.address);
        }

        #[test]
        fn parsing_never_panics(text in "\\PC{0,40}") {
            let _ = TrustedProxies::parse(&text);
        }

        /// Whatever a client puts in front, the answer is the right-most hop that is not a proxy
        /// of ours, or the peer itself when it is not one.
        #[test]
        fn spoofed_hops_never_win(
            spoofed in proptest::collection::vec(proptest::option::of(any_ip()), 0..5),
            client in any_ip(),
            proxies in proptest::collection::vec(any::<u8>(), 0..4),
            peer_trusted in any::<bool>(),
        ) {
            let t = TrustedProxies::parse("10.0.0.0/8,fd00::/8").expect("valid");
            prop_assume!(!t.contains(client));
            let mut chain = spoofed.clone();
            chain.push(Some(client));
            chain.extend(proxies.iter().map(|n| Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, *n)))));
            let peer = if peer_trusted { ip("10.9.9.9") } else { client };
            prop_assert_eq!(t.client(peer, &chain), client);
            let outsider = ip("203.0.113.5");
            prop_assert_eq!(t.client(outsider, &chain), outsider);
        }
    }
}
