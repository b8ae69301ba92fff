//! Finding the best place for VMs: ranking specs by filters and priorities
//! ([`recommend`]), estimating round-trip times between regions ([`latency`]), and the exact
//! optimum for a whole group of VMs under a bound on pairwise RTT ([`group`]). Everything here
//! is a pure function of the catalog and the measurements it is given.

pub mod group;
pub mod latency;
pub mod recommend;
