//! How each CSP behaves: the native words an operation passes through and how long each takes
//! (nominal seconds at time factor 1), call latencies, id formats and root-disk defaults.
//!
//! Failure after boot, per CSP (the state a running VM falls into):
//! - aws: the instance is lost (host failure): `shutting-down` → `terminated` → gone;
//! - gcp: `REPAIRING` (maps to Undefined), and it stays there;
//! - azure: `failed/running` (ProvisioningState failed) → Failed;
//! - alibaba: stopped by the platform: `Stopping` → `Stopped` (it can be started again);
//! - tencent: `LAUNCH_FAILED` → Failed;
//! - ibm: `failed` → Failed;
//! - ncp: stopped by the platform: `shutting down` → `stopped` (it can be started again);
//! - openstack, nhn, kt: `ERROR` → Failed;
//! - other providers (CB-Spider words): `Failed` (maps to Undefined, as through Spider).

use rand::RngExt;
use rand::rngs::Xoshiro256PlusPlus;
use tb_model::native::{alibaba, aws, azure, gcp, ibm, ncp, openstack, tencent};

use super::track::{Phase, State, Step, Track};

/// The CSP whose behaviour a connection follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Csp {
    Aws,
    Gcp,
    Azure,
    Alibaba,
    Tencent,
    Ibm,
    Ncp,
    OpenStack,
    Nhn,
    Kt,
    /// Any other provider: the CB-Spider normalised words.
    Spider,
}

/// An operation that moves a VM along its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    Create,
    Stop,
    Start,
    Reboot,
    Terminate,
    /// The platform fails a running VM.
    Fail,
}

/// Kinds of objects that get a CSP id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Vm,
    VNet,
    Subnet,
    SecurityGroup,
    KeyPair,
}

/// AWS lists terminated instances for about an hour before they disappear.
const AWS_TERMINATED_LISTED_SECS: f64 = 3600.0;
/// How long CB-Spider-style clouds keep showing `Terminated`.
const SPIDER_TERMINATED_LISTED_SECS: f64 = 600.0;

type Plan = (Vec<(Phase, &'static str, f64, f64)>, Option<(Phase, &'static str)>);

impl Csp {
    pub fn of(provider: &str) -> Csp {
        match provider {
            "aws" => Csp::Aws,
            "gcp" => Csp::Gcp,
            "azure" => Csp::Azure,
            "alibaba" => Csp::Alibaba,
            "tencent" => Csp::Tencent,
            "ibm" => Csp::Ibm,
            "ncp" => Csp::Ncp,
            "openstack" => Csp::OpenStack,
            "nhn" => Csp::Nhn,
            "kt" => Csp::Kt,
            _ => Csp::Spider,
        }
    }

    /// Nominal seconds a VM create call takes before it answers.
    pub fn create_call_secs(self) -> (f64, f64) {
        match self {
            Csp::Aws | Csp::Alibaba | Csp::Tencent => (1.0, 2.0),
            Csp::Azure | Csp::Ncp => (2.0, 3.0),
            _ => (1.0, 3.0),
        }
    }

    /// Nominal seconds any other call takes.
    pub fn call_secs(self) -> (f64, f64) {
        (0.1, 0.4)
    }

    /// Whether stopping a VM gives back its ephemeral public IP (a new one comes on start).
    pub fn releases_public_ip_on_stop(self) -> bool {
        matches!(self, Csp::Aws | Csp::Gcp)
    }

    /// Default root disk type and the image's size in GB (the minimum a VM may ask for).
    pub fn root_disk(self) -> (&'static str, u32) {
        match self {
            Csp::Aws => ("gp3", 8),
            Csp::Gcp => ("pd-balanced", 10),
            Csp::Azure => ("Premium_LRS", 30),
            Csp::Alibaba => ("cloud_essd", 20),
            Csp::Tencent => ("CLOUD_BSSD", 50),
            Csp::Ibm => ("general-purpose", 100),
            Csp::Ncp => ("SSD", 50),
            Csp::OpenStack | Csp::Nhn | Csp::Kt | Csp::Spider => ("default", 20),
        }
    }

    /// The steps of `op` for a VM currently in `from`, with their nominal durations drawn
    /// from `rng` and multiplied by `factor`.
    pub fn track(self, op: Op, from: &State, start_ms: u64, factor: f64, rng: &mut Xoshiro256PlusPlus) -> Track {
        let (steps, end) = self.plan(op, from);
        let steps = steps
            .into_iter()
            .map(|(phase, word, lo, hi)| Step {
                state: State { phase, word: word.to_string() },
                ms: scaled_ms(between(rng, lo, hi), factor),
            })
            .collect();
        Track { start_ms, steps, end: end.map(|(phase, word)| State { phase, word: word.to_string() }) }
    }

    fn plan(self, op: Op, from: &State) -> Plan {
        use Phase::*;
        let stopped = from.phase == Stopped;
        match self {
            Csp::Aws => match op {
                Op::Create => (vec![(Creating, aws::PENDING, 20.0, 40.0)], Some((Running, aws::RUNNING))),
                Op::Stop => (vec![(Stopping, aws::STOPPING, 15.0, 30.0)], Some((Stopped, aws::STOPPED))),
                Op::Start => (vec![(Starting, aws::PENDING, 10.0, 20.0)], Some((Running, aws::RUNNING))),
                // EC2 reboots in place: the state stays `running` throughout.
                Op::Reboot => (vec![], Some((Running, aws::RUNNING))),
                Op::Terminate => (
                    vec![
                        (Terminating, aws::SHUTTING_DOWN, 10.0, 25.0),
                        (Terminated, aws::TERMINATED, AWS_TERMINATED_LISTED_SECS, AWS_TERMINATED_LISTED_SECS),
                    ],
                    None,
                ),
                Op::Fail => (
                    vec![
                        (Terminating, aws::SHUTTING_DOWN, 5.0, 10.0),
                        (Terminated, aws::TERMINATED, AWS_TERMINATED_LISTED_SECS, AWS_TERMINATED_LISTED_SECS),
                    ],
                    None,
                ),
            },
            Csp::Gcp => match op {
                Op::Create => (
                    vec![(Creating, gcp::PROVISIONING, 5.0, 15.0), (Creating, gcp::STAGING, 10.0, 25.0)],
                    Some((Running, gcp::RUNNING)),
                ),
                Op::Stop => (vec![(Stopping, gcp::STOPPING, 10.0, 30.0)], Some((Stopped, gcp::TERMINATED))),
                Op::Start => (
                    vec![(Starting, gcp::PROVISIONING, 2.0, 5.0), (Starting, gcp::STAGING, 8.0, 15.0)],
                    Some((Running, gcp::RUNNING)),
                ),
                // `reset` is immediate: the instance stays RUNNING.
                Op::Reboot => (vec![], Some((Running, gcp::RUNNING))),
                Op::Terminate if stopped => (vec![(Terminating, gcp::TERMINATED, 3.0, 8.0)], None),
                Op::Terminate => (vec![(Terminating, gcp::STOPPING, 10.0, 30.0)], None),
                Op::Fail => (vec![], Some((Failed, gcp::REPAIRING))),
            },
            Csp::Azure => match op {
                Op::Create => (vec![(Creating, azure::CREATING, 30.0, 60.0)], Some((Running, azure::RUNNING))),
                Op::Stop => (vec![(Stopping, azure::STOPPING, 15.0, 30.0)], Some((Stopped, azure::STOPPED))),
                Op::Start => (vec![(Starting, azure::STARTING, 15.0, 30.0)], Some((Running, azure::RUNNING))),
                Op::Reboot => (vec![(Rebooting, azure::STARTING, 10.0, 20.0)], Some((Running, azure::RUNNING))),
                Op::Terminate if stopped => (vec![(Terminating, azure::DELETING_STOPPED, 20.0, 40.0)], None),
                Op::Terminate => (vec![(Terminating, azure::DELETING, 20.0, 40.0)], None),
                Op::Fail => (vec![], Some((Failed, azure::FAILED))),
            },
            Csp::Alibaba => match op {
                Op::Create => (
                    vec![(Creating, alibaba::PENDING, 5.0, 15.0), (Creating, alibaba::STARTING, 10.0, 30.0)],
                    Some((Running, alibaba::RUNNING)),
                ),
                Op::Stop => (vec![(Stopping, alibaba::STOPPING, 10.0, 30.0)], Some((Stopped, alibaba::STOPPED))),
                Op::Start => (vec![(Starting, alibaba::STARTING, 10.0, 30.0)], Some((Running, alibaba::RUNNING))),
                Op::Reboot => (
                    vec![(Rebooting, alibaba::STOPPING, 5.0, 10.0), (Rebooting, alibaba::STARTING, 10.0, 20.0)],
                    Some((Running, alibaba::RUNNING)),
                ),
                Op::Terminate if stopped => (vec![(Terminating, alibaba::STOPPED, 2.0, 5.0)], None),
                Op::Terminate => (vec![(Terminating, alibaba::STOPPING, 5.0, 15.0)], None),
                Op::Fail => (vec![(Stopping, alibaba::STOPPING, 5.0, 10.0)], Some((Stopped, alibaba::STOPPED))),
            },
            Csp::Tencent => match op {
                Op::Create => (vec![(Creating, tencent::PENDING, 20.0, 40.0)], Some((Running, tencent::RUNNING))),
                Op::Stop => (vec![(Stopping, tencent::STOPPING, 10.0, 30.0)], Some((Stopped, tencent::STOPPED))),
                Op::Start => (vec![(Starting, tencent::STARTING, 10.0, 30.0)], Some((Running, tencent::RUNNING))),
                Op::Reboot => (vec![(Rebooting, tencent::REBOOTING, 10.0, 30.0)], Some((Running, tencent::RUNNING))),
                Op::Terminate => (vec![(Terminating, tencent::TERMINATING, 10.0, 30.0)], None),
                Op::Fail => (vec![], Some((Failed, tencent::LAUNCH_FAILED))),
            },
            Csp::Ibm => match op {
                Op::Create => (
                    vec![(Creating, ibm::PENDING, 10.0, 20.0), (Creating, ibm::STARTING, 20.0, 40.0)],
                    Some((Running, ibm::RUNNING)),
                ),
                Op::Stop => (vec![(Stopping, ibm::STOPPING, 10.0, 30.0)], Some((Stopped, ibm::STOPPED))),
                Op::Start => (vec![(Starting, ibm::STARTING, 10.0, 30.0)], Some((Running, ibm::RUNNING))),
                Op::Reboot => (vec![(Rebooting, ibm::RESTARTING, 10.0, 30.0)], Some((Running, ibm::RUNNING))),
                Op::Terminate => (vec![(Terminating, ibm::DELETING, 20.0, 40.0)], None),
                Op::Fail => (vec![], Some((Failed, ibm::FAILED))),
            },
            Csp::Ncp => match op {
                Op::Create => (
                    vec![
                        (Creating, ncp::INIT, 5.0, 10.0),
                        (Creating, ncp::CREATING, 20.0, 40.0),
                        (Creating, ncp::BOOTING, 20.0, 40.0),
                        (Creating, ncp::SETTING_UP, 10.0, 20.0),
                    ],
                    Some((Running, ncp::RUNNING)),
                ),
                Op::Stop => (vec![(Stopping, ncp::SHUTTING_DOWN, 20.0, 40.0)], Some((Stopped, ncp::STOPPED))),
                Op::Start => (vec![(Starting, ncp::BOOTING, 20.0, 40.0)], Some((Running, ncp::RUNNING))),
                Op::Reboot => (vec![(Rebooting, ncp::REBOOTING, 20.0, 40.0)], Some((Running, ncp::RUNNING))),
                Op::Terminate => (vec![(Terminating, ncp::TERMINATING, 20.0, 40.0)], None),
                Op::Fail => (vec![(Stopping, ncp::SHUTTING_DOWN, 10.0, 20.0)], Some((Stopped, ncp::STOPPED))),
            },
            Csp::OpenStack | Csp::Nhn | Csp::Kt => match op {
                Op::Create => (vec![(Creating, openstack::BUILD, 15.0, 45.0)], Some((Running, openstack::ACTIVE))),
                // Nova keeps the status while its task state says powering-off/on.
                Op::Stop => (vec![(Stopping, openstack::ACTIVE, 5.0, 15.0)], Some((Stopped, openstack::SHUTOFF))),
                Op::Start => (vec![(Starting, openstack::SHUTOFF, 5.0, 15.0)], Some((Running, openstack::ACTIVE))),
                Op::Reboot => (vec![(Rebooting, openstack::REBOOT, 10.0, 20.0)], Some((Running, openstack::ACTIVE))),
                Op::Terminate if stopped => (vec![(Terminating, openstack::SHUTOFF, 3.0, 10.0)], None),
                Op::Terminate => (vec![(Terminating, openstack::ACTIVE, 3.0, 10.0)], None),
                Op::Fail => (vec![], Some((Failed, openstack::ERROR))),
            },
            Csp::Spider => match op {
                Op::Create => (vec![(Creating, "Creating", 20.0, 40.0)], Some((Running, "Running"))),
                Op::Stop => (vec![(Stopping, "Suspending", 10.0, 30.0)], Some((Stopped, "Suspended"))),
                Op::Start => (vec![(Starting, "Resuming", 10.0, 30.0)], Some((Running, "Running"))),
                Op::Reboot => (vec![(Rebooting, "Rebooting", 10.0, 30.0)], Some((Running, "Running"))),
                Op::Terminate => (
                    vec![
                        (Terminating, "Terminating", 10.0, 30.0),
                        (Terminated, "Terminated", SPIDER_TERMINATED_LISTED_SECS, SPIDER_TERMINATED_LISTED_SECS),
                    ],
                    None,
                ),
                Op::Fail => (vec![], Some((Failed, "Failed"))),
            },
        }
    }

    /// A fresh CSP id for an object of `kind`, in the CSP's own format.
    pub fn new_id(self, kind: Kind, rng: &mut Xoshiro256PlusPlus) -> String {
        match self {
            Csp::Aws => {
                let prefix = match kind {
                    Kind::Vm => "i",
                    Kind::VNet => "vpc",
                    Kind::Subnet => "subnet",
                    Kind::SecurityGroup => "sg",
                    Kind::KeyPair => "key",
                };
                format!("{prefix}-0{}", chars(rng, HEX, 16))
            }
            Csp::Alibaba => {
                let prefix = match kind {
                    Kind::Vm => "i",
                    Kind::VNet => "vpc",
                    Kind::Subnet => "vsw",
                    Kind::SecurityGroup => "sg",
                    Kind::KeyPair => "kp",
                };
                format!("{prefix}-{}", chars(rng, BASE36, 20))
            }
            Csp::Tencent => {
                let prefix = match kind {
                    Kind::Vm => "ins",
                    Kind::VNet => "vpc",
                    Kind::Subnet => "subnet",
                    Kind::SecurityGroup => "sg",
                    Kind::KeyPair => "skey",
                };
                format!("{prefix}-{}", chars(rng, BASE36, 8))
            }
            Csp::Gcp => {
                // Numeric ids, never starting with 0.
                format!("{}{}", chars(rng, &DIGITS[1..], 1), chars(rng, DIGITS, 18))
            }
            Csp::Ncp => format!("{}{}", chars(rng, &DIGITS[1..], 1), chars(rng, DIGITS, 7)),
            Csp::Ibm => {
                let prefix = if kind == Kind::Vm { "0717" } else { "r006" };
                format!("{prefix}_{}", uuid(rng))
            }
            Csp::Azure | Csp::OpenStack | Csp::Nhn | Csp::Kt | Csp::Spider => uuid(rng),
        }
    }
}

const HEX: &[u8] = b"0123456789abcdef";
const BASE36: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
const DIGITS: &[u8] = b"0123456789";

fn chars(rng: &mut Xoshiro256PlusPlus, alphabet: &[u8], n: usize) -> String {
    (0..n).map(|_| char::from(alphabet[rng.random_range(0..alphabet.len())])).collect()
}

fn uuid(rng: &mut Xoshiro256PlusPlus) -> String {
    let h = chars(rng, HEX, 32);
    format!("{}-{}-4{}-{}-{}", &h[0..8], &h[8..12], &h[13..16], &h[16..20], &h[20..32])
}

/// A uniform draw in `lo..=hi` that never panics.
pub(crate) fn between(rng: &mut Xoshiro256PlusPlus, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo).max(0.0) * rng.random::<f64>()
}

/// Nominal seconds scaled by the time factor, in whole milliseconds.
pub(crate) fn scaled_ms(secs: f64, factor: f64) -> u64 {
    // `as` saturates and maps NaN to 0, which is what a bad product should become.
    (secs * factor * 1000.0).round() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    const ALL: [Csp; 11] = [
        Csp::Aws,
        Csp::Gcp,
        Csp::Azure,
        Csp::Alibaba,
        Csp::Tencent,
        Csp::Ibm,
        Csp::Ncp,
        Csp::OpenStack,
        Csp::Nhn,
        Csp::Kt,
        Csp::Spider,
    ];

    fn running(csp: Csp) -> State {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
        let from = State { phase: Phase::Creating, word: String::new() };
        csp.track(Op::Create, &from, 0, 1.0, &mut rng).end.unwrap()
    }

    #[test]
    fn every_csp_creates_into_running_and_terminates_out_of_sight() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
        for csp in ALL {
            let run = running(csp);
            assert_eq!(run.phase, Phase::Running, "{csp:?}");
            let t = csp.track(Op::Terminate, &run, 0, 1.0, &mut rng);
            assert!(t.end.is_none(), "{csp:?} terminated VMs eventually vanish");
            assert!(t.steps.iter().all(|s| matches!(s.state.phase, Phase::Terminating | Phase::Terminated)), "{csp:?}");
        }
    }

    #[test]
    fn durations_scale_with_the_time_factor() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
        let from = running(Csp::Aws);
        let real = Csp::Aws.track(Op::Stop, &from, 0, 1.0, &mut rng);
        assert!((15_000..=30_000).contains(&real.steps[0].ms));
        let fast = Csp::Aws.track(Op::Stop, &from, 0, 0.001, &mut rng);
        assert!((15..=30).contains(&fast.steps[0].ms));
        let instant = Csp::Aws.track(Op::Stop, &from, 0, 0.0, &mut rng);
        assert_eq!(instant.steps[0].ms, 0);
    }

    #[test]
    fn ids_follow_csp_formats() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(5);
        let id = Csp::Aws.new_id(Kind::Vm, &mut rng);
        assert!(id.starts_with("i-0") && id.len() == 19, "{id}");
        assert!(Csp::Aws.new_id(Kind::VNet, &mut rng).starts_with("vpc-"));
        let id = Csp::Gcp.new_id(Kind::Vm, &mut rng);
        assert!(id.len() == 19 && id.bytes().all(|b| b.is_ascii_digit()), "{id}");
        assert!(!id.starts_with('0'));
        let id = Csp::OpenStack.new_id(Kind::Vm, &mut rng);
        assert_eq!(id.len(), 36, "{id}");
        assert!(Csp::Tencent.new_id(Kind::Vm, &mut rng).starts_with("ins-"));
    }

    #[test]
    fn draws_never_panic_on_odd_bounds() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(9);
        assert_eq!(between(&mut rng, 5.0, 5.0), 5.0);
        assert_eq!(between(&mut rng, 5.0, 1.0), 5.0);
        assert_eq!(scaled_ms(f64::NAN, 1.0), 0);
        assert_eq!(scaled_ms(-3.0, 1.0), 0);
    }
}
