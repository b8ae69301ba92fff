//! IPv4 blocks for vNets and subnets, and the addresses the sim hands out. Public addresses
//! come from the shared address space 100.64.0.0/10, which nothing on the internet answers
//! and which is not loopback, so no test can ever reach a real host through them.

use std::net::Ipv4Addr;

use rand::RngExt;
use rand::rngs::Xoshiro256PlusPlus;

/// An IPv4 block `a.b.c.d/len`, normalised to its network address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cidr {
    pub network: u32,
    pub len: u8,
}

impl Cidr {
    pub fn parse(s: &str) -> Result<Cidr, String> {
        let (addr, len) =
            s.trim().split_once('/').ok_or_else(|| format!("{s:?} is not an IPv4 CIDR block (a.b.c.d/n)"))?;
        let addr: Ipv4Addr = addr.parse().map_err(|_| format!("{s:?} is not an IPv4 CIDR block (a.b.c.d/n)"))?;
        let len: u8 =
            len.parse().ok().filter(|l| *l <= 32).ok_or_else(|| format!("{s:?} has an invalid prefix length"))?;
        Ok(Cidr { network: u32::from(addr) & mask(len), len })
    }

    fn size(&self) -> u64 {
        1u64 << (32 - u32::from(self.len))
    }

    fn last(&self) -> u32 {
        // size >= 1, so this cannot underflow; it stays within u32 because network is aligned.
        (u64::from(self.network) + self.size() - 1) as u32
    }

    pub fn contains(&self, other: &Cidr) -> bool {
        other.len >= self.len && (other.network & mask(self.len)) == self.network
    }

    pub fn overlaps(&self, other: &Cidr) -> bool {
        self.contains(other) || other.contains(self)
    }

    /// The addresses VMs may get: clouds keep the first few and the last for themselves.
    pub fn hosts(&self) -> (u32, u32) {
        let (reserved_low, reserved_high) = if self.size() >= 16 { (4, 1) } else { (0, 0) };
        (self.network + reserved_low, self.last() - reserved_high)
    }
}

fn mask(len: u8) -> u32 {
    if len == 0 { 0 } else { u32::MAX << (32 - u32::from(len)) }
}

/// A free address of `block`, drawn at random, or `None` when every host address is used.
pub(crate) fn draw_host(block: &Cidr, rng: &mut Xoshiro256PlusPlus, used: impl Fn(u32) -> bool) -> Option<u32> {
    let (first, last) = block.hosts();
    for _ in 0..32 {
        let ip = rng.random_range(first..=last);
        if !used(ip) {
            return Some(ip);
        }
    }
    // A nearly full block: look for the gaps in order.
    (first..=last).find(|ip| !used(*ip))
}

/// The block public addresses come from.
pub(crate) fn public_block() -> Cidr {
    Cidr { network: u32::from(Ipv4Addr::new(100, 64, 0, 0)), len: 10 }
}

pub(crate) fn to_string(ip: u32) -> String {
    Ipv4Addr::from(ip).to_string()
}

pub(crate) fn from_string(s: &str) -> Option<u32> {
    s.parse::<Ipv4Addr>().ok().map(u32::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn parses_and_normalises() {
        let c = Cidr::parse("10.0.1.7/24").unwrap();
        assert_eq!(to_string(c.network), "10.0.1.0");
        assert_eq!(c.len, 24);
        assert!(Cidr::parse("10.0.0.0").is_err());
        assert!(Cidr::parse("10.0.0.0/33").is_err());
        assert!(Cidr::parse("fd00::/8").is_err());
        assert_eq!(Cidr::parse("0.0.0.0/0").unwrap().network, 0);
    }

    #[test]
    fn containment_and_overlap() {
        let vnet = Cidr::parse("10.0.0.0/16").unwrap();
        let a = Cidr::parse("10.0.1.0/24").unwrap();
        let b = Cidr::parse("10.0.1.128/25").unwrap();
        let c = Cidr::parse("10.1.0.0/24").unwrap();
        assert!(vnet.contains(&a));
        assert!(!vnet.contains(&c));
        assert!(!a.contains(&vnet));
        assert!(a.overlaps(&b) && b.overlaps(&a));
        assert!(!a.overlaps(&c));
    }

    #[test]
    fn hosts_skip_reserved_addresses() {
        let (first, last) = Cidr::parse("10.0.1.0/24").unwrap().hosts();
        assert_eq!(to_string(first), "10.0.1.4");
        assert_eq!(to_string(last), "10.0.1.254");
        let (first, last) = Cidr::parse("10.0.0.8/31").unwrap().hosts();
        assert_eq!((to_string(first), to_string(last)), ("10.0.0.8".into(), "10.0.0.9".into()));
        let (first, last) = Cidr::parse("0.0.0.0/0").unwrap().hosts();
        assert_eq!((first, last), (4, u32::MAX - 1));
    }

    #[test]
    fn draws_free_addresses_until_full() {
        let block = Cidr::parse("192.168.0.0/28").unwrap();
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
        let mut used = std::collections::HashSet::new();
        while let Some(ip) = draw_host(&block, &mut rng, |ip| used.contains(&ip)) {
            assert!(used.insert(ip));
        }
        assert_eq!(used.len(), 11, "16 addresses minus 4 low and 1 high");
    }

    #[test]
    fn public_addresses_are_shared_space() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(2);
        let ip = draw_host(&public_block(), &mut rng, |_| false).unwrap();
        let s = to_string(ip);
        assert!(s.starts_with("100."), "{s}");
        assert!(public_block().contains(&Cidr { network: ip, len: 32 }));
        assert_eq!(from_string(&s), Some(ip));
    }
}
