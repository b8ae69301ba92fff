//! Round-trip time to a host, as `ping -c 10` measures it for Milkyway: ICMP echo when this
//! process may send it (an unprivileged `SOCK_DGRAM` ping socket when `net.ipv4.ping_group_range`
//! admits our group, else a raw socket, which needs root or `CAP_NET_RAW`), otherwise the time
//! a TCP connection takes to be answered (port 22, or the port given as `host:port`). A refused
//! connection still counts: the RST comes back after one round trip.

use std::io::{self, Read};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

/// How the round trips were measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RttMethod {
    Icmp,
    Tcp { port: u16 },
}

impl std::fmt::Display for RttMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RttMethod::Icmp => write!(f, "ICMP echo"),
            RttMethod::Tcp { port } => write!(f, "TCP connect to port {port}"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RttParams {
    /// Probes to send (`ping -c`).
    pub count: u32,
    /// Pause between probes (ping's default is one second).
    pub interval: Duration,
    /// How long to wait for each answer.
    pub timeout: Duration,
    /// TCP port when ICMP is not permitted and the target names none.
    pub tcp_port: u16,
}

impl Default for RttParams {
    fn default() -> Self {
        RttParams { count: 10, interval: Duration::from_secs(1), timeout: Duration::from_secs(1), tcp_port: 22 }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct RttReport {
    pub addr: IpAddr,
    pub method: RttMethod,
    pub sent: u32,
    pub received: u32,
    pub min: Duration,
    pub avg: Duration,
    pub max: Duration,
}

impl RttReport {
    pub fn avg_ms(&self) -> f64 {
        self.avg.as_secs_f64() * 1000.0
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RttError {
    #[error("no host given")]
    EmptyHost,
    #[error("cannot resolve {host}: {source}")]
    Resolve { host: String, source: io::Error },
    #[error("{host} has no address")]
    NoAddress { host: String },
    #[error("no answer from {addr} by {method} ({sent} probes sent{})", last_error.as_ref().map(|e| format!(", last error: {e}")).unwrap_or_default())]
    NoAnswer { addr: IpAddr, method: RttMethod, sent: u32, last_error: Option<io::Error> },
    #[error("ICMP socket: {0}")]
    Socket(io::Error),
}

/// Measures the round-trip time to `host` (`name`, `ip`, `name:port`, `ip:port`, `[v6]:port`).
/// Blocks for about `count * interval`.
pub fn measure(host: &str, params: &RttParams) -> Result<RttReport, RttError> {
    let (addr, port) = resolve(host)?;
    if let Some(port) = port {
        return probe_tcp(SocketAddr::new(addr, port), params);
    }
    match IcmpPinger::open(addr) {
        Ok(pinger) => pinger.probe(params),
        Err(err) if icmp_not_permitted(&err) => probe_tcp(SocketAddr::new(addr, params.tcp_port), params),
        Err(err) => Err(RttError::Socket(err)),
    }
}

/// Whether this process may send ICMP echo requests to `addr`'s family.
pub fn icmp_permitted(addr: IpAddr) -> bool {
    IcmpPinger::open(addr).is_ok()
}

fn icmp_not_permitted(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::PermissionDenied
        || matches!(err.raw_os_error(), Some(libc::EPERM | libc::EACCES | libc::EPROTONOSUPPORT | libc::EAFNOSUPPORT))
}

/// Splits a target into an address and an optional port.
fn resolve(host: &str) -> Result<(IpAddr, Option<u16>), RttError> {
    let host = host.trim();
    if host.is_empty() {
        return Err(RttError::EmptyHost);
    }
    if let Ok(ip) = host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
        return Ok((ip, None));
    }
    if let Ok(addr) = host.parse::<SocketAddr>() {
        return Ok((addr.ip(), Some(addr.port())));
    }
    let (name, port) = match host.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') => match port.parse::<u16>() {
            Ok(port) => (name, Some(port)),
            Err(_) => (host, None),
        },
        _ => (host, None),
    };
    let mut addrs = (name, port.unwrap_or(0))
        .to_socket_addrs()
        .map_err(|source| RttError::Resolve { host: name.to_owned(), source })?;
    let addr = addrs.next().ok_or_else(|| RttError::NoAddress { host: name.to_owned() })?;
    Ok((addr.ip(), port))
}

/// Sends `params.count` probes `params.interval` apart; `probe(seq)` answers the round trip,
/// `Ok(None)` when the answer did not come in time.
fn run_probes(
    addr: IpAddr,
    method: RttMethod,
    params: &RttParams,
    mut probe: impl FnMut(u16) -> io::Result<Option<Duration>>,
) -> Result<RttReport, RttError> {
    let count = params.count.max(1);
    let mut samples = Vec::with_capacity(count as usize);
    let mut last_error = None;
    for seq in 0..count {
        let began = Instant::now();
        match probe(seq as u16) {
            Ok(Some(rtt)) => samples.push(rtt),
            Ok(None) => {}
            Err(err) => last_error = Some(err),
        }
        if seq + 1 < count {
            std::thread::sleep(params.interval.saturating_sub(began.elapsed()));
        }
    }
    if samples.is_empty() {
        return Err(RttError::NoAnswer { addr, method, sent: count, last_error });
    }
    let total: Duration = samples.iter().sum();
    Ok(RttReport {
        addr,
        method,
        sent: count,
        received: samples.len() as u32,
        min: samples.iter().copied().min().unwrap_or_default(),
        avg: total / samples.len() as u32,
        max: samples.iter().copied().max().unwrap_or_default(),
    })
}

fn probe_tcp(target: SocketAddr, params: &RttParams) -> Result<RttReport, RttError> {
    let method = RttMethod::Tcp { port: target.port() };
    run_probes(target.ip(), method, params, |_| {
        let began = Instant::now();
        match TcpStream::connect_timeout(&target, params.timeout) {
            Ok(stream) => {
                let rtt = began.elapsed();
                drop(stream);
                Ok(Some(rtt))
            }
            Err(err) if err.kind() == io::ErrorKind::ConnectionRefused => Ok(Some(began.elapsed())),
            Err(err) if err.kind() == io::ErrorKind::TimedOut => Ok(None),
            Err(err) => Err(err),
        }
    })
}

/// Echo identifiers for raw sockets, which see every ICMP reply the host receives: each
/// measurement gets its own so that parallel measurements (mrtt) do not take each other's.
static NEXT_IDENT: AtomicU16 = AtomicU16::new(0);

struct IcmpPinger {
    socket: Socket,
    addr: IpAddr,
    /// Raw sockets deliver the IPv4 header and do not filter by identifier; ping sockets do both.
    raw: bool,
    ident: u16,
}

impl IcmpPinger {
    fn open(addr: IpAddr) -> io::Result<Self> {
        let (domain, protocol) = match addr {
            IpAddr::V4(_) => (Domain::IPV4, Protocol::ICMPV4),
            IpAddr::V6(_) => (Domain::IPV6, Protocol::ICMPV6),
        };
        let (socket, raw) = match Socket::new(domain, Type::DGRAM, Some(protocol)) {
            Ok(socket) => (socket, false),
            Err(dgram_err) => match Socket::new(domain, Type::RAW, Some(protocol)) {
                Ok(socket) => (socket, true),
                // The ping socket's refusal says why ICMP is unavailable.
                Err(_) => return Err(dgram_err),
            },
        };
        // Connecting makes the kernel deliver only this host's packets to the socket.
        socket.connect(&SockAddr::from(SocketAddr::new(addr, 0)))?;
        let ident = (std::process::id() as u16) ^ NEXT_IDENT.fetch_add(1, Ordering::Relaxed).wrapping_mul(0x9E37);
        Ok(IcmpPinger { socket, addr, raw, ident })
    }

    fn probe(&self, params: &RttParams) -> Result<RttReport, RttError> {
        let mut token = [0u8; 8];
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        token.copy_from_slice(&(nanos.as_nanos() as u64 ^ u64::from(self.ident)).to_be_bytes());
        run_probes(self.addr, RttMethod::Icmp, params, |seq| self.echo(seq, &token, params.timeout))
    }

    fn echo(&self, seq: u16, token: &[u8; 8], timeout: Duration) -> io::Result<Option<Duration>> {
        let v4 = self.addr.is_ipv4();
        let request = echo_request(v4, self.ident, seq, token);
        let began = Instant::now();
        self.socket.send(&request)?;
        let deadline = began + timeout;
        let mut buf = [0u8; 1500];
        loop {
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            // At least 1 ms: a timeout that rounds down to zero would mean "no timeout".
            self.socket.set_read_timeout(Some((deadline - now).max(Duration::from_millis(1))))?;
            let n = match (&self.socket).read(&mut buf) {
                Ok(n) => n,
                Err(err) if matches!(err.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                    return Ok(None);
                }
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(err),
            };
            let mut packet = &buf[..n];
            if self.raw && v4 {
                let header = usize::from(packet.first().copied().unwrap_or(0) & 0x0f) * 4;
                packet = packet.get(header..).unwrap_or(&[]);
            }
            if is_echo_reply(packet, v4, self.raw.then_some(self.ident), seq, token) {
                return Ok(Some(began.elapsed()));
            }
        }
    }
}

const ECHO_REQUEST_V4: u8 = 8;
const ECHO_REPLY_V4: u8 = 0;
const ECHO_REQUEST_V6: u8 = 128;
const ECHO_REPLY_V6: u8 = 129;
/// ping's default payload: 56 bytes.
const PAYLOAD: usize = 56;

fn echo_request(v4: bool, ident: u16, seq: u16, token: &[u8; 8]) -> Vec<u8> {
    let mut packet = vec![0u8; 8 + PAYLOAD];
    packet[0] = if v4 { ECHO_REQUEST_V4 } else { ECHO_REQUEST_V6 };
    packet[4..6].copy_from_slice(&ident.to_be_bytes());
    packet[6..8].copy_from_slice(&seq.to_be_bytes());
    packet[8..16].copy_from_slice(token);
    // The kernel computes ICMPv6 checksums itself (it needs the pseudo-header).
    if v4 {
        let sum = checksum(&packet);
        packet[2..4].copy_from_slice(&sum.to_be_bytes());
    }
    packet
}

/// Whether `packet` (an ICMP message, no IP header) answers our request `seq`; `ident` is
/// checked only when given (ping sockets rewrite it to their own and filter by it).
fn is_echo_reply(packet: &[u8], v4: bool, ident: Option<u16>, seq: u16, token: &[u8; 8]) -> bool {
    if packet.len() < 16 {
        return false;
    }
    let reply_type = if v4 { ECHO_REPLY_V4 } else { ECHO_REPLY_V6 };
    packet[0] == reply_type
        && packet[1] == 0
        && ident.is_none_or(|id| packet[4..6] == id.to_be_bytes())
        && packet[6..8] == seq.to_be_bytes()
        && packet[8..16] == token[..]
}

/// The Internet checksum (RFC 1071).
fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data.chunks(2).map(|pair| u32::from(pair[0]) << 8 | u32::from(*pair.get(1).unwrap_or(&0))).sum();
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_of_a_known_header() {
        // RFC 1071's example words 0x0001 0xf203 0xf4f5 0xf6f7 sum to 0xddf2.
        assert_eq!(checksum(&[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]), !0xddf2);
        // A packet carrying its checksum sums to zero.
        let packet = echo_request(true, 0x1234, 7, &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(checksum(&packet), 0);
    }

    #[test]
    fn reply_matching_checks_type_sequence_and_token() {
        let token = [9u8; 8];
        let mut reply = echo_request(true, 42, 3, &token);
        reply[0] = ECHO_REPLY_V4;
        assert!(is_echo_reply(&reply, true, Some(42), 3, &token));
        assert!(is_echo_reply(&reply, true, None, 3, &token));
        assert!(!is_echo_reply(&reply, true, Some(43), 3, &token));
        assert!(!is_echo_reply(&reply, true, None, 4, &token));
        assert!(!is_echo_reply(&reply, true, None, 3, &[0u8; 8]));
        assert!(!is_echo_reply(&reply, false, None, 3, &token));
        let request = echo_request(true, 42, 3, &token);
        assert!(!is_echo_reply(&request, true, Some(42), 3, &token), "our own request is not a reply");
        assert!(!is_echo_reply(&reply[..10], true, None, 3, &token));
    }

    #[test]
    fn targets_split_into_address_and_port() {
        let v4: IpAddr = "127.0.0.1".parse().unwrap();
        let v6: IpAddr = "::1".parse().unwrap();
        assert_eq!(resolve("127.0.0.1").unwrap(), (v4, None));
        assert_eq!(resolve(" 127.0.0.1:2222 ").unwrap(), (v4, Some(2222)));
        assert_eq!(resolve("::1").unwrap(), (v6, None));
        assert_eq!(resolve("[::1]").unwrap(), (v6, None));
        assert_eq!(resolve("[::1]:80").unwrap(), (v6, Some(80)));
        assert_eq!(resolve("localhost:22").unwrap().1, Some(22));
        assert!(resolve("localhost:22").unwrap().0.is_loopback());
        assert!(matches!(resolve(""), Err(RttError::EmptyHost)));
    }

    #[test]
    fn tcp_probe_to_a_closed_port_counts_the_refusal() {
        // Bind then drop: the port is very likely closed right after.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let params = RttParams { count: 2, interval: Duration::from_millis(1), ..RttParams::default() };
        let report = measure(&format!("127.0.0.1:{port}"), &params).unwrap();
        assert_eq!(report.method, RttMethod::Tcp { port });
        assert_eq!(report.received, 2);
        assert!(report.avg > Duration::ZERO && report.avg < Duration::from_secs(1));
    }

    #[test]
    fn icmp_to_loopback_when_permitted() {
        let addr: IpAddr = "127.0.0.1".parse().unwrap();
        let params = RttParams { count: 3, interval: Duration::from_millis(5), ..RttParams::default() };
        let report = measure("127.0.0.1", &params);
        if icmp_permitted(addr) {
            let report = report.unwrap();
            assert_eq!(report.method, RttMethod::Icmp);
            assert_eq!(report.received, 3);
            assert!(report.min <= report.avg && report.avg <= report.max);
        } else {
            // Falls back to TCP port 22, which answers (accept or refuse) on loopback.
            assert_eq!(report.unwrap().method, RttMethod::Tcp { port: 22 });
        }
    }

    #[test]
    fn parallel_measurements_do_not_steal_replies() {
        let icmp = icmp_permitted("127.0.0.1".parse().unwrap());
        let params = RttParams { count: 20, interval: Duration::from_millis(1), ..RttParams::default() };
        let handles: Vec<_> = (0..4).map(|_| std::thread::spawn(move || measure("127.0.0.1", &params))).collect();
        for handle in handles {
            let report = handle.join().unwrap().unwrap();
            assert_eq!(report.received, 20);
            assert_eq!(report.method == RttMethod::Icmp, icmp);
        }
    }
}
