// Address ranges (CIDR) of the proxies the desk trusts, and the client address of a
// request: the TCP peer, unless the peer is a trusted proxy, in which case the last
// address in `X-Forwarded-For` that is not itself a trusted proxy.

use std::net::IpAddr;

/// An address range such as `10.0.0.0/8`, `192.0.2.7` (one address) or `fd00::/8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    bits: u8,
}

impl Cidr {
    pub fn parse(s: &str) -> Result<Cidr, String> {
        let s = s.trim();
        let (addr, bits) = match s.split_once('/') {
            Some((a, b)) => (a, Some(b)),
            None => (s, None),
        };
        let net: IpAddr = addr
            .parse()
            .map_err(|_| format!("'{s}' is not an address range such as 10.0.0.0/8"))?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let bits = match bits {
            None => max,
            Some(b) => match b.parse::<u8>() {
                Ok(n) if n <= max => n,
                _ => {
                    return Err(format!(
                        "'{s}': the prefix length must be a number from 0 to {max}"
                    ));
                }
            },
        };
        Ok(Cidr { net, bits })
    }

    /// Parses a comma-separated list; empty entries are skipped.
    pub fn parse_list(s: &str) -> Result<Vec<Cidr>, String> {
        s.split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(Cidr::parse)
            .collect()
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        // An IPv4 address seen as IPv6 (`::ffff:10.0.0.1`) is the IPv4 address.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.net, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.bits)).unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.bits))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.net, self.bits)
    }
}

/// The client's address: `peer` itself unless it is trusted; then the rightmost
/// address of the `X-Forwarded-For` values that is not trusted (each proxy appends
/// the address it received from, so anything left of that was written by the client
/// and proves nothing). A header that does not parse is ignored: the peer is
/// the client.
pub fn client_address<'a>(
    peer: IpAddr,
    forwarded_for: impl Iterator<Item = &'a str>,
    trusted: &[Cidr],
) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|c| c.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let mut hops = Vec::new();
    for value in forwarded_for {
        for part in value.split(',') {
            match parse_hop(part.trim()) {
                Some(ip) => hops.push(ip),
                None => return peer,
            }
        }
    }
    let mut client = peer;
    for ip in hops.into_iter().rev() {
        client = ip;
        if !is_trusted(ip) {
            break;
        }
    }
    client
}

/// One `X-Forwarded-For` entry: an address, maybe with a port (`[2001:db8::1]:443`,
/// `192.0.2.1:5000`).
fn parse_hop(s: &str) -> Option<IpAddr> {
    if let Ok(ip) = s.parse() {
        return Some(ip);
    }
    if let Some(rest) = s.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok();
    }
    s.parse::<std::net::SocketAddr>().ok().map(|a| a.ip())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ranges() {
        let c = Cidr::parse("10.0.0.0/8").unwrap();
        assert!(c.contains(ip("10.200.1.1")));
        assert!(!c.contains(ip("11.0.0.1")));
        assert!(c.contains(ip("::ffff:10.1.2.3")));
        assert!(Cidr::parse("192.0.2.7").unwrap().contains(ip("192.0.2.7")));
        assert!(!Cidr::parse("192.0.2.7").unwrap().contains(ip("192.0.2.8")));
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        assert!(Cidr::parse("fd00::/8").unwrap().contains(ip("fd12::1")));
        assert!(!Cidr::parse("fd00::/8").unwrap().contains(ip("10.0.0.1")));
        assert!(Cidr::parse("10.0.0.0/33").is_err());
        assert!(Cidr::parse("ten/8").is_err());
        assert_eq!(Cidr::parse_list(" 10.0.0.0/8, ::1 ,").unwrap().len(), 2);
    }

    #[test]
    fn the_client_is_the_first_untrusted_hop_from_the_right() {
        let trusted = Cidr::parse_list("10.0.0.0/8,127.0.0.1").unwrap();
        let xff = |v: &'static str| std::iter::once(v);
        // An untrusted peer's header is ignored.
        assert_eq!(
            client_address(ip("203.0.113.9"), xff("1.2.3.4"), &trusted),
            ip("203.0.113.9")
        );
        // Through the balancer: the address it saw.
        assert_eq!(
            client_address(ip("10.0.0.2"), xff("198.51.100.7"), &trusted),
            ip("198.51.100.7")
        );
        // A client that forges a header gets its forgery ignored.
        assert_eq!(
            client_address(ip("10.0.0.2"), xff("6.6.6.6, 198.51.100.7"), &trusted),
            ip("198.51.100.7")
        );
        // Two trusted proxies in a row.
        assert_eq!(
            client_address(ip("127.0.0.1"), xff("198.51.100.7, 10.0.0.3"), &trusted),
            ip("198.51.100.7")
        );
        // Headers in several lines, ports and brackets.
        assert_eq!(
            client_address(
                ip("10.0.0.2"),
                ["198.51.100.7:5000", "[2001:db8::1]:443"].into_iter(),
                &trusted
            ),
            ip("2001:db8::1")
        );
        // Garbage: the peer.
        assert_eq!(
            client_address(ip("10.0.0.2"), xff("not an address"), &trusted),
            ip("10.0.0.2")
        );
        // No header: the peer.
        assert_eq!(
            client_address(ip("10.0.0.2"), std::iter::empty(), &trusted),
            ip("10.0.0.2")
        );
    }
}
